//! Release name order: semantic-version precedence (semver.org §11) so that `v1.0.0-rc1` is older
//! than `v1.0.0` and `v1.10.0` newer than `v1.9.9`. Pruning, rollback and `recon releases` all
//! sort with it, so a wrong order would prune or roll back to the wrong release.

use std::cmp::Ordering;

/// A release name read as a version: numeric core, pre-release identifiers (build metadata after
/// `+` is ignored for precedence, as semver says).
struct Version<'a> {
    core: Vec<u64>,
    pre: Vec<&'a str>,
}

/// Reads `v1.2.3-rc.1+build` (leading `v` optional; 1 to 3 core numbers so `v2` and `v1.4` are
/// versions too). `None` for names that are not versions (`latest`, `2024-05-01-a`...).
fn parse(name: &str) -> Option<Version<'_>> {
    let s = name.strip_prefix('v').unwrap_or(name);
    let s = s.split_once('+').map_or(s, |(v, _)| v);
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (s, None),
    };
    let core: Vec<u64> = core
        .split('.')
        .map(|p| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                p.parse().ok()
            }
        })
        .collect::<Option<_>>()?;
    if core.len() > 3 {
        return None;
    }
    let pre = match pre {
        Some(p) => {
            let ids: Vec<&str> = p.split('.').collect();
            if ids.iter().any(|i| i.is_empty()) {
                return None;
            }
            ids
        }
        None => Vec::new(),
    };
    Some(Version { core, pre })
}

/// Precedence of one pre-release identifier: numeric ones compare numerically and are lower
/// than alphanumeric ones, which compare as ASCII text.
fn compare_identifier(a: &str, b: &str) -> Ordering {
    let num = |s: &str| {
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse::<u64>().ok()
        } else {
            None
        }
    };
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Semantic-version precedence for release names. A release without a pre-release part is newer
/// than the same core with one (`v1.0.0` > `v1.0.0-rc.2` > `v1.0.0-rc.1` > `v1.0.0-alpha`).
/// Missing core parts count as 0 (`v2` = `v2.0.0` in precedence). Names that are not versions
/// sort before every version, among themselves by text; equal precedence falls back to text so
/// the order is total and stable.
pub(crate) fn compare_versions(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => {
            let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
            let core = (0..3)
                .map(|i| at(&x.core, i).cmp(&at(&y.core, i)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal);
            let pre = match (x.pre.is_empty(), y.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => x
                    .pre
                    .iter()
                    .zip(&y.pre)
                    .map(|(p, q)| compare_identifier(p, q))
                    .find(|o| o.is_ne())
                    .unwrap_or_else(|| x.pre.len().cmp(&y.pre.len())),
            };
            core.then(pre).then_with(|| a.cmp(b))
        }
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::compare_versions;
    use std::cmp::Ordering;

    #[test]
    fn semver_precedence_with_pre_releases() {
        // semver.org §11's example chain, plus the release name forms recon sees.
        let chain = [
            "v0.9.0",
            "v1.0.0-alpha",
            "v1.0.0-alpha.1",
            "v1.0.0-alpha.beta",
            "v1.0.0-beta",
            "v1.0.0-beta.2",
            "v1.0.0-beta.11",
            "v1.0.0-rc.1",
            "v1.0.0-rc1",
            "v1.0.0",
            "v1.0.1",
            "v1.9.9",
            "v1.10.0",
            "v2",
            "v10",
        ];
        for pair in chain.windows(2) {
            assert_eq!(
                compare_versions(pair[0], pair[1]),
                Ordering::Less,
                "{pair:?}"
            );
            assert_eq!(
                compare_versions(pair[1], pair[0]),
                Ordering::Greater,
                "{pair:?}"
            );
        }
        let mut shuffled = chain.to_vec();
        shuffled.reverse();
        shuffled.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(shuffled, chain);
    }

    #[test]
    fn build_metadata_and_non_versions() {
        assert_eq!(
            compare_versions("v1.0.0+b2", "v1.0.0-rc1"),
            Ordering::Greater
        );
        assert_eq!(compare_versions("1.2.3", "v1.2.4"), Ordering::Less);
        // Not versions: older than any version, text order among themselves.
        assert_eq!(compare_versions("latest", "v0.0.1"), Ordering::Less);
        assert_eq!(compare_versions("build-a", "build-b"), Ordering::Less);
        assert_eq!(compare_versions("v1.2.3.4", "v1.0.0"), Ordering::Less);
    }
}
