//! SSH on libssh2 (the ssh2 crate): one session per target for the whole run, host keys checked
//! against known_hosts, public-key auth (explicit identity file, then ssh-agent, then the usual
//! `~/.ssh/id_*`), and invocations run on one exec channel each (see ssh_channel.rs).

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use ssh2::{CheckResult, HashType, HostKeyType, KnownHostFileKind, MethodType, Session};

use super::feed::Feed;
use super::known_hosts::KnownHostsFile;
use super::ssh_channel::{pump, Link};
use super::ssh_config::{self, expand_tilde, HostConfig};
use super::{Invocation, Output, Stats, Target, Transport, TransportError, TransportErrorKind};
use crate::script::Script;

/// Fast, still-secure key exchange first: the post-quantum hybrid default costs ~3x per
/// connection here, and a new connection is the dominant cost of a converged host.
const KEX: &str = "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group16-sha512,diffie-hellman-group14-sha256";
/// A peer that vanished (powered off, partitioned) is given up after this long without an
/// answer: TCP keepalive probes while the link is idle (first after `DEAD_PEER_IDLE`, then every
/// `DEAD_PEER_PROBE`, 3 unanswered end it) and `TCP_USER_TIMEOUT` while data (an SSH keepalive,
/// a script) waits unacknowledged. So a lost host ends in an error within about 30 s, never a hang.
const DEAD_PEER_IDLE: Duration = Duration::from_secs(15);
const DEAD_PEER_PROBE: Duration = Duration::from_secs(5);
const DEAD_PEER_UNACKED_MS: u32 = 30_000;

const HOST_KEYS: &str = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,ssh-rsa";

/// Settings that apply to every SSH connection of a run.
#[derive(Debug, Clone)]
pub(crate) struct ConnectOptions {
    /// Record unknown host keys (changed keys are still refused).
    pub(crate) accept_new_host_keys: bool,
    pub(crate) connect_timeout: Duration,
    /// How often an SSH keepalive is sent while a command runs (whole seconds, at least 2 as
    /// libssh2 raises 1 to 2; zero: never), so a step that prints nothing for minutes is not
    /// cut by a NAT, a firewall or sshd's `ClientAliveInterval`.
    pub(crate) keepalive_interval: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(15),
        }
    }
}

/// One authenticated SSH session.
pub(crate) struct Ssh {
    session: Session,
    stats: Stats,
    /// Keeps the socket alive as long as the session, and is what we poll(2) on.
    tcp: TcpStream,
    keepalive: Duration,
    /// `type base64` of the key that was accepted, when known (see `public_key.rs`).
    public_key: Option<String>,
}

/// Where and as whom, after `~/.ssh/config` filled the gaps the inventory left.
struct Resolved {
    alias: String,
    address: String,
    port: u16,
    user: String,
    identity_files: Vec<PathBuf>,
    known_hosts: PathBuf,
}

fn resolve(target: &Target) -> Resolved {
    let config: HostConfig = ssh_config::for_host(&target.address);
    let home = ssh_config::home().unwrap_or_else(|| PathBuf::from("/"));
    let user = target
        .user
        .clone()
        .or(config.user)
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .unwrap_or_else(|| "root".to_owned());
    let mut identity_files: Vec<PathBuf> = target
        .identity_file
        .iter()
        .map(|f| expand_tilde(f, &home))
        .collect();
    identity_files.extend(config.identity_files);
    Resolved {
        alias: target.address.clone(),
        address: config.hostname.unwrap_or_else(|| target.address.clone()),
        port: target.port.or(config.port).unwrap_or(22),
        user,
        identity_files,
        known_hosts: target
            .known_hosts_file
            .as_deref()
            .map(|f| expand_tilde(f, &home))
            .or(config.known_hosts)
            .unwrap_or_else(|| home.join(".ssh/known_hosts")),
    }
}

/// Bounds how long a connection to a host that stopped answering can block (see `DEAD_PEER_*`).
fn detect_dead_peer(tcp: &TcpStream) -> std::io::Result<()> {
    use rustix::net::sockopt;
    sockopt::set_socket_keepalive(tcp, true)?;
    sockopt::set_tcp_keepidle(tcp, DEAD_PEER_IDLE)?;
    sockopt::set_tcp_keepintvl(tcp, DEAD_PEER_PROBE)?;
    sockopt::set_tcp_keepcnt(tcp, 3)?;
    sockopt::set_tcp_user_timeout(tcp, DEAD_PEER_UNACKED_MS)?;
    Ok(())
}

fn error(kind: TransportErrorKind, message: String) -> TransportError {
    TransportError::new(kind, message)
}

impl Ssh {
    /// Connects, verifies the host key and authenticates.
    pub(crate) fn connect(
        target: &Target,
        options: &ConnectOptions,
    ) -> Result<Self, TransportError> {
        let r = resolve(target);
        let place = format!("{}:{}", r.address, r.port);
        let unreachable = |e: String| {
            error(
                TransportErrorKind::Unreachable,
                format!("cannot connect to {place}: {e}"),
            )
        };
        let addrs: Vec<_> = (r.address.as_str(), r.port)
            .to_socket_addrs()
            .map_err(|e| unreachable(e.to_string()))?
            .collect();
        let mut last = String::from("no address");
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, options.connect_timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = e.to_string(),
            }
        }
        let tcp = tcp.ok_or_else(|| unreachable(last))?;
        // Without TCP_NODELAY every exec waits ~40 ms for Nagle's algorithm.
        tcp.set_nodelay(true)
            .map_err(|e| unreachable(e.to_string()))?;
        detect_dead_peer(&tcp).map_err(|e| unreachable(e.to_string()))?;
        let mut session = Session::new().map_err(|e| unreachable(e.to_string()))?;
        session.set_tcp_stream(tcp.try_clone().map_err(|e| unreachable(e.to_string()))?);
        let _ = session.method_pref(MethodType::Kex, KEX);
        let _ = session.method_pref(MethodType::HostKey, HOST_KEYS);
        session.set_timeout(u32::try_from(options.connect_timeout.as_millis()).unwrap_or(u32::MAX));
        session
            .handshake()
            .map_err(|e| unreachable(format!("SSH handshake failed: {e}")))?;
        verify_host_key(&session, &r, options.accept_new_host_keys)?;
        let public_key = authenticate(&session, &r)?;
        session.set_timeout(0);
        // No reply wanted: libssh2 would queue the server's answers unread for the whole run.
        let keepalive = Duration::from_secs(options.keepalive_interval.as_secs());
        session.set_keepalive(
            false,
            u32::try_from(keepalive.as_secs()).unwrap_or(u32::MAX),
        );
        Ok(Self {
            session,
            stats: Stats {
                connections: 1,
                ..Stats::default()
            },
            tcp,
            keepalive,
            public_key,
        })
    }
}

/// Opens an exec channel running `command` (blocking mode, as channel setup is one exchange).
fn exec(session: &Session, command: &str) -> Result<ssh2::Channel, TransportError> {
    session.set_blocking(true);
    let io = |e: ssh2::Error| error(TransportErrorKind::Io, format!("SSH channel failed: {e}"));
    let mut channel = session.channel_session().map_err(io)?;
    channel.exec(command).map_err(io)?;
    Ok(channel)
}

/// Sends SIGINT to the remote script, whose pid it printed first (`@@pid N`), on a channel
/// of its own; returns whether a channel was opened.
fn interrupt(session: &Session, stdout: &[u8], sudo: bool) -> bool {
    let Some(pid) = super::invocation::printed_pid(stdout) else {
        return false;
    };
    let mut kill = Script::new();
    kill.code(if sudo {
        "sudo -n kill -INT "
    } else {
        "kill -INT "
    })
    .num(u64::from(pid));
    match exec(session, kill.as_str()) {
        Ok(mut channel) => {
            let _ = channel.wait_close();
            true
        }
        Err(_) => false,
    }
}

fn fingerprint(session: &Session) -> String {
    let digest = session.host_key_hash(HashType::Sha256).unwrap_or_default();
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

fn key_names(kind: HostKeyType) -> (&'static str, &'static str) {
    match kind {
        HostKeyType::Rsa => ("RSA", "ssh-rsa"),
        HostKeyType::Dss => ("DSA", "ssh-dss"),
        HostKeyType::Ecdsa256 => ("ECDSA", "ecdsa-sha2-nistp256"),
        HostKeyType::Ecdsa384 => ("ECDSA", "ecdsa-sha2-nistp384"),
        HostKeyType::Ecdsa521 => ("ECDSA", "ecdsa-sha2-nistp521"),
        HostKeyType::Ed25519 => ("ED25519", "ssh-ed25519"),
        HostKeyType::Unknown => ("UNKNOWN", "unknown"),
    }
}

/// known_hosts writes by concurrent workers must not interleave.
static KNOWN_HOSTS_LOCK: Mutex<()> = Mutex::new(());

fn verify_host_key(
    session: &Session,
    r: &Resolved,
    accept_new: bool,
) -> Result<(), TransportError> {
    let host_key = |m: String| error(TransportErrorKind::HostKey, m);
    let (key, kind) = session
        .host_key()
        .ok_or_else(|| host_key("the server sent no host key".to_owned()))?;
    let (kind_name, key_type) = key_names(kind);
    let fp = fingerprint(session);
    let _guard = KNOWN_HOSTS_LOCK
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let mut known = session.known_hosts().map_err(|e| host_key(e.to_string()))?;
    let text = if r.known_hosts.exists() {
        std::fs::read_to_string(&r.known_hosts)
            .map_err(|e| host_key(format!("cannot read {}: {e}", r.known_hosts.display())))?
    } else {
        String::new()
    };
    let file = KnownHostsFile::parse(&text)
        .map_err(|e| host_key(format!("cannot read {}: {e}", r.known_hosts.display())))?;
    let entry = if r.port == 22 {
        r.address.clone()
    } else {
        format!("[{}]:{}", r.address, r.port)
    };
    if let Some(line) = file.revokes(key) {
        return Err(host_key(format!(
            "host key for {entry} ({kind_name} {fp}) is REVOKED (@revoked at {}:{line}); refusing to connect",
            r.known_hosts.display()
        )));
    }
    // Only plain lines reach libssh2: a `@cert-authority` key is never taken for a host key.
    for (number, line) in &file.plain {
        known
            .read_str(line, KnownHostFileKind::OpenSSH)
            .map_err(|e| {
                host_key(format!(
                    "cannot read {} line {number}: {e}",
                    r.known_hosts.display()
                ))
            })?;
    }
    let ca_note = if file.cert_authorities.is_empty() {
        ""
    } else {
        " (its @cert-authority lines are not used: recon does not verify host certificates)"
    };
    match known.check_port(&r.address, r.port, key) {
        CheckResult::Match => Ok(()),
        CheckResult::Mismatch => Err(host_key(format!(
            "host key for {entry} has CHANGED: the server offers {kind_name} {fp}, which is not the key recorded in {}. \
             This may be a man-in-the-middle attack; if the change is expected, remove the old entry (ssh-keygen -R '{entry}')",
            r.known_hosts.display()
        ))),
        CheckResult::NotFound if accept_new => {
            append_known_host(&r.known_hosts, &format!("{entry} {key_type} {}\n", base64::engine::general_purpose::STANDARD.encode(key)))
                .map_err(|e| host_key(format!("cannot record the host key in {}: {e}", r.known_hosts.display())))
        }
        CheckResult::NotFound => Err(host_key(format!(
            "host key for {entry} is unknown ({kind_name} {fp}); verify it and add it to {}{ca_note}, or run with --accept-new-host-keys",
            r.known_hosts.display()
        ))),
        CheckResult::Failure => Err(host_key(format!("cannot check the host key of {entry} against {}", r.known_hosts.display()))),
    }
}

fn append_known_host(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(line.as_bytes())
}

/// Authenticates with the first key the server accepts; returns that key's public half (`type
/// base64`) when it can be known.
fn authenticate(session: &Session, r: &Resolved) -> Result<Option<String>, TransportError> {
    let home = ssh_config::home().unwrap_or_default();
    let mut tried: Vec<String> = Vec::new();
    let mut files: Vec<PathBuf> = r.identity_files.clone();
    for file in &files {
        if file.is_file() {
            tried.push(file.display().to_string());
            if session
                .userauth_pubkey_file(&r.user, None, file, None)
                .is_ok()
                && session.authenticated()
            {
                return Ok(super::public_key::of_identity_file(file));
            }
        }
    }
    if std::env::var_os("SSH_AUTH_SOCK").is_some() {
        if let Ok(mut agent) = session.agent() {
            if agent.connect().is_ok() && agent.list_identities().is_ok() {
                for identity in agent.identities().unwrap_or_default() {
                    tried.push(format!("agent key {}", identity.comment()));
                    if agent.userauth(&r.user, &identity).is_ok() && session.authenticated() {
                        return Ok(super::public_key::of_blob(identity.blob()));
                    }
                }
            }
        }
    }
    for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
        let file = home.join(".ssh").join(name);
        if file.is_file() && !files.contains(&file) {
            tried.push(file.display().to_string());
            if session
                .userauth_pubkey_file(&r.user, None, &file, None)
                .is_ok()
                && session.authenticated()
            {
                return Ok(super::public_key::of_identity_file(&file));
            }
            files.push(file);
        }
    }
    let tried = if tried.is_empty() {
        "no keys found: set ansible_ssh_private_key_file or load ssh-agent".to_owned()
    } else {
        format!("tried {}", tried.join(", "))
    };
    Err(error(
        TransportErrorKind::Auth,
        format!(
            "authentication failed for {}@{}:{} (alias `{}`): {tried}",
            r.user, r.address, r.port, r.alias
        ),
    ))
}

impl Transport for Ssh {
    fn run(
        &mut self,
        invocation: &Invocation<'_>,
        stop: &AtomicBool,
    ) -> Result<Output, TransportError> {
        let mut channel = exec(&self.session, invocation.command)?;
        self.stats.channels += 1;
        let sudo = invocation.command.starts_with("sudo ");
        let mut feed = Feed::new(invocation);
        let link = Link {
            session: &self.session,
            socket: self.tcp.as_fd(),
            keepalive: self.keepalive,
        };
        let mut interrupts = 0;
        let drained = pump(
            &link,
            &mut channel,
            &mut feed,
            invocation.watch,
            stop,
            &mut |stdout| {
                interrupts += u32::from(interrupt(&self.session, stdout, sudo));
            },
        );
        self.stats.channels += interrupts;
        self.stats.bytes_sent += feed.sent();
        let drained = drained?;
        self.session.set_blocking(true);
        let _ = channel.wait_close();
        let status = channel.exit_status().unwrap_or(-1);
        self.stats.bytes_received += (drained.stdout.len() + drained.stderr.len()) as u64;
        Ok(Output {
            status,
            stdout: drained.stdout,
            stderr: drained.stderr,
        })
    }

    fn stats(&self) -> Stats {
        self.stats
    }

    fn session(&self) -> Option<super::Session> {
        Some(super::Session {
            public_key: self.public_key.clone(),
        })
    }
}
