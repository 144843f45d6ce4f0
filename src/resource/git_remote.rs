//! `release: { git: { repo: URL } }`: a remote repository is mirrored on the control machine
//! (`git clone --mirror`, then `git fetch` on later runs) into `$XDG_CACHE_HOME/recon/git/`, and
//! `git archive` reads the mirror. Hosts never talk to the repository: only the checked archive
//! reaches them, as with a local repository.
//!
//! SSH host keys are verified: git's ssh runs with `StrictHostKeyChecking=yes` and
//! `BatchMode=yes` (an unknown or changed key fails the fetch instead of prompting or being
//! trusted), inserted right after the program of a `GIT_SSH_COMMAND` the user set, so options
//! the user adds (`-i key`, `-o UserKnownHostsFile=...`) still apply but cannot turn the check
//! off (ssh keeps the first value given for an option).

use std::os::unix::fs::DirBuilderExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::facts::sha256_hex;
use crate::source::Span;

/// The URL schemes git may fetch from; anything else (`ext::`, `fd::`) is refused.
const SCHEMES: &[&str] = &["https://", "http://", "ssh://", "git://", "file://"];

/// `GIT_ALLOW_PROTOCOL` for every git command recon runs (here and on hosts): the same
/// transports as `SCHEMES`, so a URL that slips past the compile-time check (a submodule, a
/// redirect, an `insteadOf` in a config recon does not read) still cannot reach a remote helper
/// such as `ext::` (runs a command) or `fd::` (waits on a descriptor for ever).
pub(crate) const ALLOWED_PROTOCOLS: &str = "ssh:https:http:git:file";

/// `repo` names a remote repository (a URL, or scp-like `user@host:path`) rather than a local
/// path.
pub(crate) fn is_url(repo: &str) -> bool {
    if repo.contains("://") {
        return true;
    }
    // scp-like syntax, as git reads it: a colon before any slash, and something before it.
    match (repo.find(':'), repo.find('/')) {
        (Some(colon), slash) => colon > 0 && slash.is_none_or(|s| colon < s),
        (None, _) => false,
    }
}

/// Why `url` may not be fetched, if it may not: shared by `release: { git }` and the `git`
/// resource, so both accept the same transports.
pub(crate) fn refusal(url: &str) -> Option<&'static str> {
    if url.starts_with('-') {
        return Some("it starts with `-` (git would read it as an option)");
    }
    if url.contains("://") && !SCHEMES.iter().any(|s| url.starts_with(s)) {
        return Some("only https, http, ssh, git and file URLs are fetched");
    }
    if url.contains("::") {
        return Some("git remote helpers (`helper::address`) are not used");
    }
    None
}

/// The folder that holds the mirrors, private to the user.
fn cache_dir() -> std::io::Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|home| home.join(".cache"))
        })
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "neither XDG_CACHE_HOME nor HOME is set",
            )
        })?;
    let dir = base.join("recon").join("git");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    Ok(dir)
}

/// `GIT_SSH_COMMAND` with host key checking forced on.
fn ssh_command() -> String {
    ssh_command_from(std::env::var("GIT_SSH_COMMAND").ok().as_deref())
}

/// The user's `GIT_SSH_COMMAND` (if any) with the strict options right after its program.
fn ssh_command_from(user: Option<&str>) -> String {
    const STRICT: &str = "-o StrictHostKeyChecking=yes -o BatchMode=yes";
    match user {
        Some(user) if !user.trim().is_empty() => {
            let user = user.trim();
            match user.split_once(char::is_whitespace) {
                Some((program, rest)) => format!("{program} {STRICT} {rest}"),
                None => format!("{user} {STRICT}"),
            }
        }
        _ => format!("ssh {STRICT}"),
    }
}

/// Mirrors `url` into the cache (clone once, fetch afterwards) and returns the mirror's path.
pub(super) fn mirror(url: &str, span: &Span) -> Result<PathBuf> {
    if let Some(why) = refusal(url) {
        return Err(Error::invalid(
            format!("git repository `{url}` is refused: {why}"),
            span,
        ));
    }
    let cache = cache_dir()
        .map_err(|e| Error::invalid(format!("cannot open recon's git cache: {e}"), span))?;
    let key = sha256_hex(url.as_bytes());
    let dir = cache.join(format!("{}.git", &key[..32]));
    let git = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("git")
            .args(args)
            .env("GIT_SSH_COMMAND", ssh_command())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ALLOW_PROTOCOL", ALLOWED_PROTOCOLS)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| {
                Error::invalid(format!("cannot run `git` to fetch `{url}`: {e}"), span)
                    .with_help("`git` must be installed on the control machine")
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::invalid(
                format!(
                    "`git` failed to fetch `{url}`: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                span,
            )
            .with_label("fetch failed"))
        }
    };
    if dir.is_dir() {
        git(&[
            "-C".as_ref(),
            dir.as_os_str(),
            "fetch".as_ref(),
            "--quiet".as_ref(),
            "--prune".as_ref(),
            "--force".as_ref(),
            "origin".as_ref(),
        ])?;
    } else {
        // Clone beside the final name, then rename: a cut-off clone is never taken for a mirror.
        let partial = cache.join(format!("{}.tmp-{}", &key[..32], std::process::id()));
        let _ = std::fs::remove_dir_all(&partial);
        git(&[
            "clone".as_ref(),
            "--mirror".as_ref(),
            "--quiet".as_ref(),
            "--".as_ref(),
            url.as_ref(),
            partial.as_os_str(),
        ])
        .inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&partial);
        })?;
        if let Err(e) = std::fs::rename(&partial, &dir) {
            let _ = std::fs::remove_dir_all(&partial);
            if !dir.is_dir() {
                return Err(Error::invalid(
                    format!("cannot store the mirror of `{url}`: {e}"),
                    span,
                ));
            }
        }
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart() {
        for url in [
            "https://github.com/o/r.git",
            "ssh://git@host:22/r",
            "git@github.com:o/r.git",
            "file:///srv/r.git",
        ] {
            assert!(is_url(url), "{url}");
        }
        for path in ["repo", "../repo", "/srv/repo", "./a:b", "dir/x:y"] {
            assert!(!is_url(path), "{path}");
        }
    }

    #[test]
    fn dangerous_urls_are_refused() {
        assert!(refusal("-uhttps://x").is_some());
        assert!(refusal("ext::sh -c touch% /tmp/x").is_some());
        assert!(refusal("ftp://host/r").is_some());
        assert!(refusal("fd::17").is_some());
        assert!(refusal("foo::bar").is_some());
        assert!(refusal("/srv/r.git").is_none());
        assert!(refusal("https://host/r.git").is_none());
        assert!(refusal("git@host:o/r.git").is_none());
    }

    #[test]
    fn host_key_checking_cannot_be_turned_off() {
        assert_eq!(
            ssh_command_from(None),
            "ssh -o StrictHostKeyChecking=yes -o BatchMode=yes"
        );
        assert_eq!(
            ssh_command_from(Some("ssh -o StrictHostKeyChecking=no -i k")),
            "ssh -o StrictHostKeyChecking=yes -o BatchMode=yes -o StrictHostKeyChecking=no -i k"
        );
    }
}
