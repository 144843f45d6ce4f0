//! How recon reaches a host. Everything recon does on a host is a recon-built command line fed
//! a stream on stdin (a POSIX sh script, then any attachment files) on one channel, so a
//! transport only has to run invocations: `local` runs them here, `ssh` on one SSH session per
//! target.

mod feed;
mod invocation;
mod known_hosts;
mod local;
mod pool;
mod public_key;
mod ssh;
mod ssh_channel;
mod ssh_config;
mod target;
// They start a real sshd: the heavy test tier (`--features heavy-tests`, scripts/test.sh).
#[cfg(all(test, feature = "heavy-tests"))]
mod tests;

use std::sync::atomic::AtomicBool;

pub(crate) use invocation::script_with_attachments;
pub(crate) use invocation::{Attachment, Invocation, Watch};
pub(crate) use local::Local;
pub(crate) use pool::Pool;
pub(crate) use ssh::ConnectOptions;
pub(crate) use target::{ConnectionDefaults, ConnectionKind, Target};

/// What a script printed and how it ended.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub(crate) status: i32,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

/// Connection counters, for `--stats` (the one-connection, one-round-trip promise is checkable).
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct Stats {
    pub(crate) connections: u32,
    pub(crate) channels: u32,
    pub(crate) bytes_sent: u64,
    pub(crate) bytes_received: u64,
}

/// A failure to reach or talk to a host (never a failing step: those are script results).
#[derive(Debug, Clone)]
pub(crate) struct TransportError {
    pub(crate) kind: TransportErrorKind,
    pub(crate) message: String,
    /// What the command had printed before the link was lost: an apply's report of the steps
    /// the host did finish, so the recap tells what really happened.
    pub(crate) partial: Vec<u8>,
}

/// Why a host could not be used; decides the recap column (`unreachable` vs `failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportErrorKind {
    Unreachable,
    Auth,
    HostKey,
    Io,
}

impl TransportError {
    pub(crate) fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            partial: Vec::new(),
        }
    }

    /// The same error, carrying the output received before it.
    pub(crate) fn with_partial(mut self, stdout: Vec<u8>) -> Self {
        self.partial = stdout;
        self
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// One live connection to one target, owned by that target's worker.
pub(crate) trait Transport: Send {
    /// Runs `invocation.command`, feeding it `stdin` and then each attachment, while draining
    /// stdout and stderr so no pipe or window can fill and deadlock. When `stop` turns true
    /// while it runs, the script that printed `@@pid N` (else the command itself) is sent
    /// SIGINT, which apply scripts trap to stop between steps; the kill runs under `sudo -n`
    /// when the command does (it starts with `sudo `).
    fn run(
        &mut self,
        invocation: &Invocation<'_>,
        stop: &AtomicBool,
    ) -> Result<Output, TransportError>;

    /// Runs `script` with `sh -s` (under `sudo -n` when `become_`): the common case, kept so
    /// callers need not build an invocation.
    fn run_script(
        &mut self,
        script: &[u8],
        become_: bool,
        stop: &AtomicBool,
    ) -> Result<Output, TransportError> {
        self.run(
            &Invocation {
                command: if become_ { "sudo -n sh -s" } else { "sh -s" },
                stdin: script,
                attachments: &[],
                watch: None,
            },
            stop,
        )
    }

    fn stats(&self) -> Stats;

    /// The SSH session scripts run in, for the door checks (`door/`); `None` for a transport
    /// that is no way in (local).
    fn session(&self) -> Option<Session> {
        None
    }
}

/// What the transport knows of the session the probe came in by: only an SSH session is a door
/// recon could shut behind itself (see `door/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Session {
    /// `type base64` of the public key it authenticated with, when known.
    pub(crate) public_key: Option<String>,
}

/// Opens a transport for `target`.
pub(crate) fn connect(
    target: &Target,
    options: &ConnectOptions,
) -> Result<Box<dyn Transport>, TransportError> {
    match target.connection {
        ConnectionKind::Local => Ok(Box::new(Local::default())),
        ConnectionKind::Ssh => Ok(Box::new(ssh::Ssh::connect(target, options)?)),
    }
}
