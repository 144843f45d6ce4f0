//! The parts of `~/.ssh/config` recon honours, so `Host intek.f4.mission` aliases work as they do
//! for `ssh`: `HostName`, `User`, `Port`, `IdentityFile`, `UserKnownHostsFile`. As in OpenSSH, the
//! first value found for a keyword wins, `Host` patterns take `*`, `?` and `!negation`, and
//! `Match` blocks are skipped (recon does not evaluate them).

use std::path::{Path, PathBuf};

use crate::glob::glob;

/// Settings found for one host alias.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct HostConfig {
    pub(crate) hostname: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) identity_files: Vec<PathBuf>,
    pub(crate) known_hosts: Option<PathBuf>,
}

/// Reads `~/.ssh/config` (missing file = no settings).
pub(crate) fn for_host(alias: &str) -> HostConfig {
    let Some(home) = home() else {
        return HostConfig::default();
    };
    match std::fs::read_to_string(home.join(".ssh/config")) {
        Ok(text) => parse(&text, alias, &home),
        Err(_) => HostConfig::default(),
    }
}

pub(crate) fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// `~/x` → `$HOME/x`.
pub(crate) fn expand_tilde(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(path),
    }
}

fn parse(text: &str, alias: &str, home: &Path) -> HostConfig {
    let mut config = HostConfig::default();
    let mut active = true;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
            Some((k, v)) => (
                k.to_ascii_lowercase(),
                v.trim_start_matches(|c: char| c.is_whitespace() || c == '=')
                    .trim(),
            ),
            None => continue,
        };
        let value = value.trim_matches('"');
        match key.as_str() {
            "host" => active = host_matches(value, alias),
            "match" => active = false,
            _ if !active => {}
            "hostname" if config.hostname.is_none() => {
                config.hostname = Some(value.replace("%h", alias));
            }
            "user" if config.user.is_none() => config.user = Some(value.to_owned()),
            "port" if config.port.is_none() => config.port = value.parse().ok(),
            "identityfile" => config.identity_files.push(expand_tilde(value, home)),
            "userknownhostsfile" if config.known_hosts.is_none() => {
                let first = value.split_whitespace().next().unwrap_or(value);
                config.known_hosts = Some(expand_tilde(first, home));
            }
            _ => {}
        }
    }
    config
}

/// OpenSSH semantics: any positive pattern matches and no negated pattern matches.
fn host_matches(patterns: &str, alias: &str) -> bool {
    let mut matched = false;
    for pattern in patterns.split_whitespace() {
        if let Some(negated) = pattern.strip_prefix('!') {
            if glob(negated, alias) {
                return false;
            }
        } else if glob(pattern, alias) {
            matched = true;
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "
# global defaults come last in OpenSSH files, but first match wins
Host intek.f4.mission
    HostName 10.0.0.7
    User deploy
    Port 2222
    IdentityFile ~/.ssh/intek

Host *.mission !secret.mission
    User other
    IdentityFile=~/.ssh/fleet

Match host foo
    User never

Host *
    UserKnownHostsFile ~/.ssh/kh_all ~/.ssh/kh2
";

    #[test]
    fn first_value_wins_and_identity_files_accumulate() {
        let c = parse(CONFIG, "intek.f4.mission", Path::new("/home/u"));
        assert_eq!(c.hostname.as_deref(), Some("10.0.0.7"));
        assert_eq!(c.user.as_deref(), Some("deploy"));
        assert_eq!(c.port, Some(2222));
        assert_eq!(
            c.identity_files,
            [
                PathBuf::from("/home/u/.ssh/intek"),
                PathBuf::from("/home/u/.ssh/fleet")
            ]
        );
        assert_eq!(c.known_hosts, Some(PathBuf::from("/home/u/.ssh/kh_all")));
    }

    #[test]
    fn negated_patterns_and_match_blocks() {
        let c = parse(CONFIG, "secret.mission", Path::new("/h"));
        assert_eq!(c.user, None);
        let c = parse(CONFIG, "foo", Path::new("/h"));
        assert_eq!(c.user, None, "Match blocks are not evaluated");
    }
}
