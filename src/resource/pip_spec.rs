//! Python requirement specifiers as far as `pip`'s plan needs them: a name (PEP 503
//! normalized), its version clauses (`==1.2`, `>=1,<2`, `~=1.4`, `==1.*`, `!=1.3`) and a PEP
//! 440-style order on release numbers. Anything else (URLs, paths, markers, options) is not a
//! plain requirement: the plan then lets pip decide.

use std::cmp::Ordering;

/// One requirement line, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    /// Normalized (`Flask_Login` → `flask-login`).
    pub(crate) name: String,
    /// As written, for the plan.
    pub(crate) text: String,
    clauses: Vec<(String, String)>,
}

/// PEP 503: lower case, runs of `-`, `_`, `.` as one `-`.
pub(crate) fn normalize(name: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

impl Requirement {
    /// `name[extras] clauses`; `None` for what is not a plain requirement.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() || text.contains([';', '@', '/', ':']) || text.starts_with('-') {
            return None;
        }
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(text.len());
        let (name, mut rest) = text.split_at(end);
        if name.is_empty() {
            return None;
        }
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('[') {
            rest = after.split_once(']')?.1;
        }
        let mut clauses = Vec::new();
        for clause in rest.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let op_len = clause
                .find(|c: char| !matches!(c, '=' | '<' | '>' | '!' | '~'))
                .unwrap_or(clause.len());
            let (op, version) = clause.split_at(op_len);
            if !matches!(op, "==" | "!=" | ">=" | "<=" | ">" | "<" | "~=" | "===")
                || version.trim().is_empty()
            {
                return None;
            }
            clauses.push((op.to_owned(), version.trim().to_owned()));
        }
        Some(Self {
            name: normalize(name),
            text: text.to_owned(),
            clauses,
        })
    }

    /// Whether the installed `version` satisfies every clause.
    pub(crate) fn allows(&self, version: &str) -> bool {
        self.clauses.iter().all(|(op, want)| {
            if let Some(prefix) = want.strip_suffix(".*") {
                let matches = version == prefix || version.starts_with(&format!("{prefix}."));
                return if op == "!=" { !matches } else { matches };
            }
            let order = compare(version, want);
            match op.as_str() {
                "==" => order == Ordering::Equal,
                "===" => version == want,
                "!=" => order != Ordering::Equal,
                ">=" => order != Ordering::Less,
                "<=" => order != Ordering::Greater,
                ">" => order == Ordering::Greater,
                "<" => order == Ordering::Less,
                // ~=1.4.2: >=1.4.2 and ==1.4.*
                _ => {
                    let parts: Vec<&str> = want.split('.').collect();
                    let prefix = parts[..parts.len().saturating_sub(1)].join(".");
                    order != Ordering::Less
                        && (version == prefix || version.starts_with(&format!("{prefix}.")))
                }
            }
        })
    }
}

/// Release numbers compared numerically (`1.10` > `1.9`, `1.0` == `1`); a pre-release part
/// (`1.0rc1`, `1.0.dev1`) sorts before its release; other text compares as text.
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    let split = |v: &str| -> (Vec<u64>, String) {
        let v = v.trim().trim_start_matches(['v', 'V']);
        let v = v.split('+').next().unwrap_or_default();
        let end = v
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(v.len());
        let (release, rest) = v.split_at(end);
        let mut nums: Vec<u64> = release
            .split('.')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        while nums.last() == Some(&0) {
            nums.pop();
        }
        (nums, rest.trim_start_matches('.').to_owned())
    };
    let (ra, pa) = split(a);
    let (rb, pb) = split(b);
    ra.cmp(&rb)
        .then_with(|| match (pa.is_empty(), pb.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) if pb.starts_with("post") => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if pa.starts_with("post") => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => pa.cmp(&pb),
        })
}

/// Shell-like words (`--index-url 'http://x y' -q`), as Ansible's `shlex.split` reads
/// `extra_args` and `virtualenv_command`.
pub(crate) fn split_words(text: &str) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(done) = word.take() {
                    out.push(done);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("unterminated ' quote"),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => w.push(c),
                            None => return Err("unterminated \" quote"),
                        },
                        Some(c) => w.push(c),
                        None => return Err("unterminated \" quote"),
                    }
                }
            }
            '\\' => {
                let w = word.get_or_insert_with(String::new);
                if let Some(c) = chars.next() {
                    w.push(c);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_follow_pep_440_for_release_numbers() {
        let r = Requirement::parse("Flask_Login[extra]>=1.9,<2,!=1.10.1").expect("plain");
        assert_eq!(r.name, "flask-login");
        assert!(r.allows("1.10"));
        assert!(!r.allows("1.10.1"));
        assert!(!r.allows("2.0"));
        assert!(!r.allows("1.8.9"));
        assert!(Requirement::parse("six==1.16.0")
            .expect("ok")
            .allows("1.16"));
        assert!(Requirement::parse("six~=1.4.2")
            .expect("ok")
            .allows("1.4.9"));
        assert!(!Requirement::parse("six~=1.4.2")
            .expect("ok")
            .allows("1.5.0"));
        assert!(Requirement::parse("six==1.*").expect("ok").allows("1.16.0"));
        assert!(!Requirement::parse("six>=1.0").expect("ok").allows("1.0rc1"));
        assert!(Requirement::parse("git+https://x/y.git").is_none());
        assert!(Requirement::parse("./local").is_none());
        assert!(Requirement::parse("x; python_version<'3'").is_none());
    }

    #[test]
    fn words_split_like_shlex() {
        assert_eq!(
            split_words(r#"--no-index --find-links '/tmp/a b' "c\"d" e\ f"#).expect("ok"),
            ["--no-index", "--find-links", "/tmp/a b", "c\"d", "e f"]
        );
        assert!(split_words("'open").is_err());
    }
}
