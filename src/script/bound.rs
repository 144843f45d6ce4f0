//! Time limits for the commands recon runs on a host on its own behalf. A probe command that
//! never ends (a git remote that never answers, a guard that waits on a lock) would otherwise
//! hang `recon plan` for ever, and an apt or compose call that hangs would hold the account's
//! lock for ever. `_bounded SECS CMD ARGS...` runs CMD with `timeout` when the host has it
//! (coreutils: TERM to the command's whole process group, KILL 5 s later) and otherwise with a
//! POSIX-sh fallback that TERMs (then KILLs) the command itself (not its children: a child
//! that keeps running keeps the command's output open; hosts without coreutils' `timeout`
//! are rare, Debian always has it); either way the status is 124
//! once the limit has passed. `_timed_out RC START SECS` tells a stop by the limit from a
//! command's own status 124.

/// How long one probe command (a guard, a `git ls-remote`, a `docker compose config`) may run
/// while planning, unless `RECON_PROBE_TIMEOUT` says otherwise.
pub(crate) const PROBE_LIMIT_SECS: u64 = 120;

/// How long one long apply-side command recon runs itself (`apt-get`, `pip`, `docker compose
/// pull`/`up`, a download, `git fetch`) may run, unless `RECON_COMMAND_TIMEOUT` says otherwise.
pub(crate) const APPLY_LIMIT_SECS: u64 = 3600;

/// The shell helpers, defined in every probe and apply script (and under `sudo`).
pub(crate) const BOUND_FUNCTIONS: &str = r#"_bounded() {
  _bl=$1; shift
  if command -v timeout >/dev/null 2>&1; then timeout -k 5 "$_bl" "$@"; return; fi
  _bt=$(date +%s)
  "$@" &
  _bp=$!
  ( sleep "$_bl"; kill -TERM "$_bp" 2>/dev/null; sleep 5; kill -KILL "$_bp" 2>/dev/null ) </dev/null >/dev/null 2>&1 &
  _bk=$!
  wait "$_bp"; _brc=$?
  kill "$_bk" 2>/dev/null
  if [ $(( $(date +%s) - _bt )) -ge "$_bl" ]; then return 124; fi
  return "$_brc"
}
_timed_out() {
  case $1 in 124|137) [ $(( $(date +%s) - $2 )) -ge "$3" ];; *) return 1;; esac
}
"#;

/// The bound on probe commands for this run: `RECON_PROBE_TIMEOUT` (whole seconds, at least
/// 1) or `PROBE_LIMIT_SECS`.
pub(crate) fn probe_limit() -> u64 {
    limit_from("RECON_PROBE_TIMEOUT", PROBE_LIMIT_SECS)
}

/// The bound on long apply-side commands: `RECON_COMMAND_TIMEOUT` or `APPLY_LIMIT_SECS`.
/// Read when the plan is made: a saved plan keeps the bound it was made with.
pub(crate) fn apply_limit() -> u64 {
    limit_from("RECON_COMMAND_TIMEOUT", APPLY_LIMIT_SECS)
}

fn limit_from(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|secs| *secs > 0)
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::n;
    use std::time::{Duration, Instant};

    /// Runs `_bounded SECS COMMAND...` (with or without `timeout` on PATH) and returns the
    /// status `_bounded` gave, whether `_timed_out` said the limit stopped it, and how long it
    /// took.
    fn bounded(secs: u64, command: &[&str], with_timeout: bool) -> (i32, bool, Duration) {
        let bin = tempfile::tempdir().expect("tempdir");
        // A PATH with only what the helpers need, `timeout` left out for the fallback.
        let mut tools = vec!["sh", "sleep", "date", "kill"];
        if with_timeout {
            tools.push("timeout");
        }
        for tool in tools {
            let found = ["/usr/bin", "/bin"]
                .iter()
                .map(|d| std::path::Path::new(d).join(tool))
                .find(|p| p.exists())
                .expect("tool installed");
            std::os::unix::fs::symlink(found, bin.path().join(tool)).expect("link");
        }
        let mut s = crate::script::Script::of(BOUND_FUNCTIONS);
        s.fill("_st=$(date +%s)\n_bounded {}", [n(secs)])
            .words(command.iter().copied())
            .fill(
                "\n_rc=$?\nif _timed_out \"$_rc\" \"$_st\" {}; then echo timed-out; fi\nexit \"$_rc\"\n",
                [n(secs)],
            );
        let started = Instant::now();
        let out = std::process::Command::new(bin.path().join("sh"))
            .args(["-c", s.as_str()])
            .env("PATH", bin.path())
            .output()
            .expect("sh runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).contains("timed-out"),
            started.elapsed(),
        )
    }

    #[test]
    fn a_command_that_never_ends_is_stopped_with_or_without_timeout() {
        for with_timeout in [true, false] {
            let (rc, timed_out, took) = bounded(1, &["sleep", "600"], with_timeout);
            assert_eq!(rc, 124, "with timeout: {with_timeout}");
            assert!(timed_out, "with timeout: {with_timeout}");
            // Generous: the point is that it does not wait the 600 s.
            assert!(took < Duration::from_secs(300), "{took:?}");
        }
    }

    #[test]
    fn a_command_that_ends_keeps_its_own_status() {
        for with_timeout in [true, false] {
            // A limit well above the command's run time: `date +%s` counts whole seconds.
            let (rc, timed_out, _) = bounded(30, &["sh", "-c", "exit 124"], with_timeout);
            assert_eq!(rc, 124);
            assert!(!timed_out, "its own 124 is not the limit");
            let (rc, timed_out, _) = bounded(30, &["sh", "-c", "exit 3"], with_timeout);
            assert_eq!((rc, timed_out), (3, false));
        }
    }
}
