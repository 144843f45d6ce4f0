//! What the integration tests read from a throwaway sshd beyond starting it: its log counts
//! (logins, sessions), a system `ssh` client aimed at it, and a changed host key. Kept
//! apart from `sshd.rs`, which the transport's unit tests include too and use none of this.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::sshd::{keygen, Sshd};

impl Sshd {
    /// A `known_hosts` line for the same `[127.0.0.1]:PORT` but a freshly generated, different
    /// ed25519 key: what a client remembers after the server was reinstalled (or impersonated).
    pub(crate) fn other_host_key_line(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let key = self.dir.path().join(format!(
            "other_host_{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        keygen(&key);
        self.known_hosts_line(&key.with_extension("pub"))
    }

    /// Successful logins so far: the monitor logs `Accepted publickey for USER from ...` once
    /// per authenticated connection (the similar `Accepted key ... found at` lines are per
    /// key check and not counted).
    pub(crate) fn logins(&self) -> usize {
        self.log().matches("Accepted publickey for ").count()
    }

    /// Exec, shell and subsystem requests started so far, across all connections.
    ///
    /// Counts `Starting session: ` lines: OpenSSH's `do_exec` logs
    /// `Starting session: {command|shell|subsystem 'sftp'|forced-command ...} for USER from ...`
    /// at VERBOSE once per session channel whose exec/shell/subsystem request it carries out
    /// (checked on OpenSSH 9.2). VERBOSE has no line for the request itself
    /// (`server_input_channel_req` is DEBUG1, and DEBUG1 also logs env/pty requests), so this
    /// is the precise per-request line. Not counted: channels that never get such a request,
    /// env/pty requests, and rejected requests such as an unknown subsystem.
    pub(crate) fn sessions(&self) -> usize {
        self.log().matches("Starting session: ").count()
    }

    /// The system `ssh` client pointed at this server as `user` with `client_key`, strict host
    /// key checking against `known_hosts`, no config files, agent or prompts; append the remote
    /// command with `.arg(...)`.
    pub(crate) fn ssh(&self, user: &str) -> Command {
        let mut command = Command::new("ssh");
        command
            .args(["-F", "/dev/null", "-i"])
            .arg(&self.client_key)
            .args(["-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
            .arg("-p")
            .arg(self.port.to_string())
            .arg(format!("{user}@127.0.0.1"))
            .stdin(Stdio::null());
        command
    }
}
