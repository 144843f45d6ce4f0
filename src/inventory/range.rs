//! Host patterns as Ansible's file inventories read them: an optional `:port` suffix
//! (`parse_address`) and ranges `web[01:20]`, `db[a:f]`, `x[0:10:2]`, several per name
//! (`expand_hostname_range`).

use crate::error::{Error, Result};

/// More hosts than this from one pattern is a typo, not an inventory.
const MAX_HOSTS: usize = 100_000;

/// Splits `pattern` into host names and the port it names, or says why it is invalid.
pub(crate) fn expand_hostpattern(pattern: &str) -> Result<(Vec<String>, Option<u16>)> {
    let (host, port) = split_port(pattern)?;
    if pattern.trim().ends_with(':') && port.is_none() {
        return Err(Error::bad_value(format!(
            "invalid host pattern `{pattern}`: ending in `:` is not allowed, `:` introduces a port"
        )));
    }
    let mut out = Vec::new();
    if host.contains('[') {
        expand(host, &mut out)?;
    } else {
        out.push(host.to_owned());
    }
    if out.iter().any(|h| h.trim() == "---") {
        return Err(Error::bad_value(format!(
            "invalid host pattern `{pattern}`: `---` is normally a sign this is a YAML file"
        )));
    }
    Ok((out, port))
}

/// `[host]:port`, `host:port` (a colon outside brackets, digits after it), else no port: an IPv6
/// address such as `fe80::1` keeps its colons.
fn split_port(pattern: &str) -> Result<(&str, Option<u16>)> {
    let port = |digits: &str| -> Result<u16> {
        digits.parse().map_err(|_| {
            Error::bad_value(format!(
                "invalid port `{digits}` in host pattern `{pattern}`"
            ))
        })
    };
    if let Some(rest) = pattern.strip_prefix('[') {
        if let Some((inner, digits)) = rest.rsplit_once("]:") {
            if !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && inner.contains(':')
            {
                return Ok((inner, Some(port(digits)?)));
            }
        }
    }
    let mut depth = 0usize;
    let mut colons = Vec::new();
    for (i, c) in pattern.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => colons.push(i),
            _ => {}
        }
    }
    if let [at] = colons[..] {
        let digits = &pattern[at + 1..];
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Ok((&pattern[..at], Some(port(digits)?)));
        }
    }
    Ok((pattern, None))
}

/// Expands the first `[a:b(:step)]` of `name`, then recurses for the next one.
fn expand(name: &str, out: &mut Vec<String>) -> Result<()> {
    let bad = |why: &str| Error::bad_value(format!("invalid host range in `{name}`: {why}"));
    let (Some(open), Some(close)) = (name.find('['), name.find(']')) else {
        return Err(bad("expected `[begin:end]`"));
    };
    if close < open {
        return Err(bad("expected `[begin:end]`"));
    }
    let (head, inner, tail) = (&name[..open], &name[open + 1..close], &name[close + 1..]);
    let bounds: Vec<&str> = inner.split(':').collect();
    let (begin, end, step) = match bounds[..] {
        [b, e] => (b, e, "1"),
        [b, e, s] => (b, e, s),
        _ => return Err(bad("a range must be begin:end or begin:end:step")),
    };
    let begin = if begin.is_empty() { "0" } else { begin };
    if end.is_empty() {
        return Err(bad("a range must specify its end"));
    }
    let step: usize = step
        .trim()
        .parse()
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| bad("the step must be a positive number"))?;
    let width = if begin.len() > 1 && begin.starts_with('0') {
        if begin.len() != end.len() {
            return Err(bad("begin and end must have the same width"));
        }
        begin.len()
    } else {
        0
    };
    let letters: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
    let letter = |s: &str| {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => letters.iter().position(|l| *l == c),
            _ => None,
        }
    };
    let items: Vec<String> = if let (Some(b), Some(e)) = (letter(begin), letter(end)) {
        if b > e {
            return Err(bad("begin must not be after end"));
        }
        letters[b..=e]
            .iter()
            .step_by(step)
            .map(char::to_string)
            .collect()
    } else {
        let number = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| bad(&format!("`{s}` is neither a number nor a letter")))
        };
        let (b, e) = (number(begin)?, number(end)?);
        let count = usize::try_from(e.saturating_sub(b)).unwrap_or(usize::MAX);
        if e >= b && count / step > MAX_HOSTS {
            return Err(bad("too many hosts"));
        }
        (b..=e)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect()
    };
    for item in items {
        let host = format!("{head}{item}{tail}");
        if host.contains('[') {
            expand(&host, out)?;
        } else {
            out.push(host);
        }
        if out.len() > MAX_HOSTS {
            return Err(bad("too many hosts"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::expand_hostpattern;

    fn hosts(p: &str) -> String {
        expand_hostpattern(p).expect("pattern").0.join(" ")
    }

    #[test]
    fn ranges_expand_as_ansible_does() {
        assert_eq!(hosts("web[01:03]"), "web01 web02 web03");
        assert_eq!(hosts("web[1:3].x"), "web1.x web2.x web3.x");
        assert_eq!(hosts("x[0:10:5]"), "x0 x5 x10");
        assert_eq!(hosts("db-[a:c]"), "db-a db-b db-c");
        assert_eq!(hosts("n[y:B]"), "ny nz nA nB");
        assert_eq!(hosts("r[1:2]c[a:b]"), "r1ca r1cb r2ca r2cb");
        assert_eq!(hosts("h[:2]"), "h0 h1 h2");
    }

    #[test]
    fn ports_split_off_but_ipv6_colons_stay() {
        assert_eq!(
            expand_hostpattern("web[1:2]:2222").expect("p"),
            (vec!["web1".to_owned(), "web2".to_owned()], Some(2222))
        );
        assert_eq!(expand_hostpattern("db:22").expect("p").1, Some(22));
        assert_eq!(
            expand_hostpattern("fe80::1").expect("p"),
            (vec!["fe80::1".to_owned()], None)
        );
        assert_eq!(
            expand_hostpattern("[::1]:2200").expect("p"),
            (vec!["::1".to_owned()], Some(2200))
        );
    }

    #[test]
    fn bad_ranges_say_why() {
        let err = |p: &str| expand_hostpattern(p).expect_err(p).to_string();
        assert!(err("web[01:3]").contains("same width"));
        assert!(err("web[1]").contains("begin:end"));
        assert!(err("web[1:]").contains("end"));
        assert!(err("web[3:1:0]").contains("step"));
        assert!(err("web:").contains("ending in `:`"));
        assert!(err("db:99999").contains("invalid port"));
        assert!(err("x[0:999999999]").contains("too many"));
    }
}
