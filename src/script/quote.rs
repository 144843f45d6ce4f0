//! The only place where values become POSIX shell text. Everything recon runs on a host is a
//! script built from these functions, so quoting mistakes can only live here.

/// Quotes `s` as one shell word: `'...'`, with `'` written as `'\''`. Newlines, `$`, backticks,
/// globs and `;` are all inert inside single quotes.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Quotes a remote path; a leading `~/` (or a bare `~`) becomes the account's `$HOME`, so
/// `~/digicam` means the same thing for every squad.
pub(super) fn quote_path(path: &str) -> String {
    if path == "~" {
        "\"$HOME\"".to_owned()
    } else if let Some(rest) = path.strip_prefix("~/") {
        format!("\"$HOME\"/{}", quote(rest))
    } else {
        quote(path)
    }
}

/// `VAR=value` pairs for `env`, each quoted; names must be valid shell identifiers.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `printf %s WORD` through a real `sh` and returns what it printed.
    fn round_trip(word: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote(word)))
            .output()
            .expect("sh runs");
        String::from_utf8(out.stdout).expect("utf8")
    }

    #[test]
    fn hostile_strings_round_trip_and_run_nothing() {
        for s in [
            "plain",
            "with space",
            "it's",
            "'''",
            "$(touch /tmp/recon-pwned)",
            "`id`",
            "*",
            "a;b && c | d",
            "line1\nline2",
            "ünïcødé ✓",
            "\\back\\slash",
            "\"double\"",
            "-n",
            "",
        ] {
            assert_eq!(round_trip(s), s);
        }
        assert!(!std::path::Path::new("/tmp/recon-pwned").exists());
    }

    #[test]
    fn tilde_paths_use_home() {
        assert_eq!(quote_path("~/a b"), "\"$HOME\"/'a b'");
        assert_eq!(quote_path("~"), "\"$HOME\"");
        assert_eq!(quote_path("/x/~y"), "'/x/~y'");
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("PORT_1"));
        assert!(!is_identifier("1X"));
        assert!(!is_identifier("A-B"));
        assert!(!is_identifier("A=B"));
    }
}
