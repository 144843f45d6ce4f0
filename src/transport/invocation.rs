//! What a transport runs: a recon-built command line and the byte stream on its stdin. Files
//! ride along as attachments after the script, so content reaches the host on the same channel
//! as the script that places it, without a second round trip and without being held in memory.

use std::path::PathBuf;

use crate::script::{n, Script};

/// A command line (recon-built) to run on the host, fed `stdin` and then each attachment file's
/// bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Invocation<'a> {
    pub(crate) command: &'a str,
    pub(crate) stdin: &'a [u8],
    pub(crate) attachments: &'a [Attachment],
    /// Sees stdout while the command runs, as it arrives (the apply's deliveries: an artifact
    /// the host stored frees the targets waiting for it before the apply ends).
    pub(crate) watch: Option<Watch<'a>>,
}

/// A function handed each piece of a command's stdout as it arrives, from the thread that
/// drains it.
#[derive(Clone, Copy)]
pub(crate) struct Watch<'a>(pub(crate) &'a (dyn Fn(&[u8]) + Sync));

impl std::fmt::Debug for Watch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watch")
    }
}

/// A control-machine file streamed after stdin; `size` must match at send time (else an error,
/// the channel is closed so the remote side sees a short read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attachment {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
}

/// The command line that runs a script of `script_len` bytes read from the front of stdin,
/// leaving the rest of stdin (the attachments, in order) for the script to read, e.g. with
/// `head -c SIZE > file`. The script is first stored in a private temp dir because `sh -s`
/// would read ahead into the attachments; GNU `head -c N` reads exactly N bytes from a pipe.
/// The script runs with `sh` and the invoking user's umask, the temp dir is removed, and the
/// command exits with the script's status (125, distinct from sh's 126/127, when the temp dir
/// cannot be made or the script arrived short). `become_` runs the whole thing under
/// `sudo -n`. Everything is wrapped in `sh -c` so the account's login shell (bash, zsh,
/// fish...) does not matter.
pub(crate) fn script_with_attachments(script_len: usize, become_: bool) -> Script {
    let len = u64::try_from(script_len).unwrap_or(u64::MAX);
    let mut inner = Script::new();
    inner.fill(
        "d=$(umask 077 && mktemp -d) || exit 125; \
         head -c {} > \"$d/script\"; n=$(wc -c < \"$d/script\"); \
         if [ $n -eq {} ]; then sh \"$d/script\"; s=$?; \
         else echo 'recon: the script arrived short on stdin' >&2; s=125; fi; \
         rm -rf \"$d\"; exit $s",
        [n(len), n(len)],
    );
    let mut command = Script::new();
    if become_ {
        command.code("sudo -n ");
    }
    command.code("sh -c ").word(inner.as_str());
    command
}

/// The pid a running script announced with a `@@pid N` line (apply scripts print it first),
/// which is whom a Ctrl-C must reach: the script traps SIGINT to stop between steps.
pub(crate) fn printed_pid(stdout: &[u8]) -> Option<u32> {
    String::from_utf8_lossy(stdout)
        .lines()
        .find_map(|l| l.strip_prefix("@@pid "))
        .and_then(|p| p.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use super::script_with_attachments;

    /// Runs the wrapper in a real `sh` with `stdin` piped in, returning (status, stdout).
    fn run(command: &str, stdin: &[u8]) -> (i32, String) {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh runs");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin).expect("write stdin");
        drop(input);
        let out = child.wait_with_output().expect("sh ends");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    #[test]
    fn the_script_sees_exactly_the_bytes_after_it_and_its_status_is_kept() {
        let script = b"head -c 3 > /dev/null; cat; echo; umask; exit 7\n";
        let mut stdin = script.to_vec();
        stdin.extend_from_slice(b"abcREST");
        let (status, out) = run(
            script_with_attachments(script.len(), false).as_str(),
            &stdin,
        );
        assert_eq!(status, 7);
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("REST"));
        let own_umask = run("umask", b"").1;
        assert_eq!(lines.next(), Some(own_umask.trim()), "umask is not leaked");
    }

    #[test]
    fn a_short_script_is_not_run_and_the_temp_dir_is_removed() {
        let script = b"echo ran\n";
        let (status, out) = run(
            &format!(
                "export TMPDIR=$(mktemp -d); {}; s=$?; ls -A \"$TMPDIR\"; exit $s",
                script_with_attachments(script.len() + 5, false).as_str()
            ),
            script,
        );
        assert_eq!(status, 125);
        assert_eq!(out, "", "nothing ran, nothing left behind");
    }

    #[test]
    fn become_wraps_everything_in_sudo() {
        let command = script_with_attachments(10, true);
        assert!(
            command.as_str().starts_with("sudo -n sh -c '"),
            "{command:?}"
        );
    }
}
