//! A private ssh-agent holding one key, so agent authentication is tested without touching
//! (or depending on) whatever agent the developer's session runs.

use std::fs::{self, File};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long `start` waits for the socket to accept; the agent listens almost at once.
const STARTUP: Duration = Duration::from_secs(15);

/// An `ssh-agent -D` child listening on `socket`, killed when dropped. Point clients at it with
/// `SSH_AUTH_SOCK` set on their `Command` (never `std::env::set_var`: tests run in parallel).
pub(crate) struct Agent {
    pub(crate) socket: PathBuf,
    /// Holds the socket's folder until the agent is dropped.
    _dir: tempfile::TempDir,
    child: Child,
}

impl Agent {
    /// Starts the agent, waits (bounded) for its socket and adds `key` (no passphrase, mode 0600).
    pub(crate) fn start(key: &Path) -> Self {
        let dir = tempfile::tempdir().expect("agent temp dir");
        let socket = dir.path().join("agent.sock");
        let stderr = dir.path().join("agent.stderr");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            // -D prints the shell snippet exporting SSH_AUTH_SOCK; we already know the path.
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).expect("create agent stderr file"))
            .spawn()
            .expect("spawn ssh-agent (run scripts/install-deps.sh?)");
        // Built before waiting so that Drop reaps the child if anything below panics.
        let mut agent = Self {
            socket,
            _dir: dir,
            child,
        };
        agent.wait_for_socket(&stderr);

        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &agent.socket)
            // Never try to ask for a passphrase: fail instead of hanging the test.
            .env_remove("SSH_ASKPASS")
            .env_remove("DISPLAY")
            .stdin(Stdio::null())
            .output()
            .expect("run ssh-add");
        assert!(
            out.status.success(),
            "ssh-add {}: {}",
            key.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        agent
    }

    fn wait_for_socket(&mut self, stderr: &Path) {
        let deadline = Instant::now() + STARTUP;
        loop {
            // The socket file appears at bind(), before the agent listens: only a connection
            // that succeeds says it is ready (else ssh-add may meet "connection refused").
            if fs::symlink_metadata(&self.socket).is_ok_and(|m| m.file_type().is_socket())
                && std::os::unix::net::UnixStream::connect(&self.socket).is_ok()
            {
                return;
            }
            let exited = self.child.try_wait().expect("poll ssh-agent");
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "ssh-agent socket {} did not appear (exit: {exited:?})\n--- stderr\n{}",
                self.socket.display(),
                fs::read_to_string(stderr).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

mod tests {
    use std::process::{Command, Stdio};

    use super::Agent;
    use crate::harness::sshd::Sshd;

    #[test]
    fn agent_lists_its_key_and_logs_in_with_it() {
        let sshd = Sshd::start();
        sshd.authorize("root");
        let agent = Agent::start(&sshd.client_key);

        let listed = Command::new("ssh-add")
            .arg("-l")
            .env("SSH_AUTH_SOCK", &agent.socket)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh-add -l");
        let expected = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(&sshd.client_key)
            .output()
            .expect("run ssh-keygen -lf");
        let fingerprint = String::from_utf8_lossy(&expected.stdout)
            .split_whitespace()
            .nth(1)
            .expect("fingerprint field")
            .to_owned();
        let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
        assert_eq!(listed.lines().count(), 1, "{listed}");
        assert!(
            listed.contains(&fingerprint),
            "{listed} lacks {fingerprint}"
        );

        // Only the agent offers the key: no -i, and no config files naming one.
        let out = Command::new("ssh")
            .args(["-F", "/dev/null", "-o"])
            .arg(format!("IdentityAgent={}", agent.socket.display()))
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", sshd.known_hosts.display()))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-p",
            ])
            .arg(sshd.port.to_string())
            .args(["root@127.0.0.1", "echo", "via-agent"])
            .stdin(Stdio::null())
            .output()
            .expect("run ssh");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "via-agent\n",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(sshd.logins(), 1);
    }
}
