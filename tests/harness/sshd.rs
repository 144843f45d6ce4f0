//! A real, throwaway OpenSSH server on 127.0.0.1 for one test: its own host key, config,
//! `authorized_keys` folder and log file, so SSH tests run against the daemon users will meet
//! rather than a mock, and can count from its log what recon actually did on the wire.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Absolute, so a `PATH` without `sbin` (a non-login root shell, CI) still finds it.
const SSHD: &str = "/usr/sbin/sshd";

/// How long `start` waits for "Server listening"; sshd is up in well under a second, the rest
/// is slack for a loaded 2-core machine.
const STARTUP: Duration = Duration::from_secs(15);

/// Free-port races (another test binding the port between our probe and sshd's bind) are rare
/// but possible; a few fresh ports make them harmless.
const PORT_ATTEMPTS: usize = 3;

/// One sshd listening on `127.0.0.1:port`, killed when dropped.
pub(crate) struct Sshd {
    pub(crate) port: u16,
    /// Private ed25519 key without passphrase, mode 0600 (ssh refuses looser keys).
    pub(crate) client_key: PathBuf,
    /// A `known_hosts` file holding exactly `host_key_line()`.
    pub(crate) known_hosts: PathBuf,
    /// Config, keys and log; `sshd_log.rs` reads it too.
    pub(crate) dir: tempfile::TempDir,
    child: Child,
}

impl Sshd {
    /// Starts sshd on 127.0.0.1:<free port> and waits (bounded) until it listens; panics with
    /// the sshd log when it does not.
    pub(crate) fn start() -> Self {
        Self::start_logging("VERBOSE")
    }

    /// Like `start`, with sshd's `LogLevel` set to `level` (e.g. `DEBUG1`, which logs every
    /// global request, so keepalives can be counted).
    pub(crate) fn start_logging(level: &str) -> Self {
        Self::start_under(level, &[])
    }

    /// Like `start`, with sshd run through `prefix` (`ip netns exec NS`: an sshd inside a
    /// network namespace, whose loopback the test has brought up).
    pub(crate) fn start_under(level: &str, prefix: &[&str]) -> Self {
        ensure_privsep_dir();
        let dir = tempfile::tempdir().expect("sshd temp dir");
        // sshd reads authorized_keys *as the target user* (temporarily_use_uid), so non-root
        // accounts must be able to traverse the temp dir, which tempfile creates as 0700.
        chmod(dir.path(), 0o755);
        keygen(&dir.path().join("host_ed25519"));
        let client_key = dir.path().join("client_ed25519");
        keygen(&client_key);
        let keys = dir.path().join("authorized_keys");
        fs::create_dir(&keys).expect("create authorized_keys dir");
        chmod(&keys, 0o755);

        let config = dir.path().join("sshd_config");
        let log = dir.path().join("sshd.log");
        let stderr = dir.path().join("sshd.stderr");
        let mut failures = String::new();
        for attempt in 1..=PORT_ATTEMPTS {
            let port = free_port();
            fs::write(&config, config_text(dir.path(), port, level)).expect("write sshd_config");
            // Each attempt gets a fresh log so "Server listening" cannot come from a previous one.
            File::create(&log).expect("truncate sshd log");
            // `-E` redirects all logging (also the re-exec'd per-connection children) into the
            // file; `-e` would send it to stderr instead, but sshd applies `-E` last, so stderr
            // only ever sees what happens before option parsing. It is kept for the panic message.
            let mut command = match prefix.split_first() {
                Some((program, args)) => {
                    let mut c = Command::new(program);
                    c.args(args).arg(SSHD);
                    c
                }
                None => Command::new(SSHD),
            };
            let child = command
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .arg("-E")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&stderr).expect("create sshd stderr file"))
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {SSHD} (run scripts/install-deps.sh?): {e}"));
            match wait_listening(child, &log, port) {
                Ok(child) => {
                    let sshd = Self {
                        port,
                        client_key,
                        known_hosts: dir.path().join("known_hosts"),
                        dir,
                        child,
                    };
                    fs::write(&sshd.known_hosts, format!("{}\n", sshd.host_key_line()))
                        .expect("write known_hosts");
                    return sshd;
                }
                Err(why) => {
                    let text = fs::read_to_string(&log).unwrap_or_default();
                    let err = fs::read_to_string(&stderr).unwrap_or_default();
                    let _ = write!(
                        failures,
                        "--- attempt {attempt}, port {port}: {why}\n--- sshd log\n{text}--- sshd stderr\n{err}"
                    );
                    if !text.contains("Address already in use") {
                        break;
                    }
                }
            }
        }
        panic!("sshd did not start\n{failures}");
    }

    /// Lets Unix account `user` log in with `client_key` by writing
    /// `<dir>/authorized_keys/<user>` (the config says `AuthorizedKeysFile <dir>/authorized_keys/%u`).
    /// World-readable because sshd opens it with the user's uid; `StrictModes no` allows that.
    pub(crate) fn authorize(&self, user: &str) {
        let public = fs::read_to_string(self.client_key.with_extension("pub"))
            .expect("read client public key");
        let path = self.dir.path().join("authorized_keys").join(user);
        fs::write(&path, public).expect("write authorized_keys");
        chmod(&path, 0o644);
    }

    /// The `known_hosts` line for this server: `[127.0.0.1]:PORT ssh-ed25519 AAAA...`.
    pub(crate) fn host_key_line(&self) -> String {
        self.known_hosts_line(&self.dir.path().join("host_ed25519.pub"))
    }

    /// The whole sshd log (LogLevel VERBOSE unless started with another).
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).expect("read sshd log")
    }

    pub(crate) fn known_hosts_line(&self, public_key: &Path) -> String {
        let text = fs::read_to_string(public_key).expect("read public key");
        let mut fields = text.split_whitespace();
        let kind = fields.next().expect("public key type");
        let blob = fields.next().expect("public key blob");
        format!("[127.0.0.1]:{} {kind} {blob}", self.port)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Kills the listener only; per-connection children end with their clients.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // The failing test's captured output is where someone will look first.
            eprintln!(
                "--- sshd log ({})\n{}",
                self.port,
                fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
            );
        }
    }
}

/// Generates an ed25519 key pair at `path` / `path.pub`, no passphrase, no comment.
pub(crate) fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("run ssh-keygen (run scripts/install-deps.sh?)");
    assert!(
        out.status.success(),
        "ssh-keygen {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // ssh-keygen already writes 0600; make it explicit since ssh and sshd refuse looser keys.
    chmod(path, 0o600);
}

/// sshd refuses to start without its privilege-separation directory, which only the packaged
/// service normally creates.
fn ensure_privsep_dir() {
    let dir = Path::new("/run/sshd");
    fs::create_dir_all(dir).expect("create /run/sshd");
    chmod(dir, 0o755);
}

/// A port nothing listens on right now (the kernel's pick for port 0), released for sshd.
fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local address")
        .port()
}

fn config_text(dir: &Path, port: u16, level: &str) -> String {
    let dir = dir.display();
    format!(
        "Port {port}
ListenAddress 127.0.0.1
HostKey {dir}/host_ed25519
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys/%u .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp internal-sftp
PrintMotd no
LogLevel {level}
"
    )
}

/// Waits until the log says sshd listens (it logs that right after `listen()`), so tests never
/// see a refused connection; polling the log rather than connecting keeps probes out of it.
fn wait_listening(mut child: Child, log: &Path, port: u16) -> Result<Child, String> {
    let ready = format!("Server listening on 127.0.0.1 port {port}.");
    let deadline = Instant::now() + STARTUP;
    loop {
        if fs::read_to_string(log).is_ok_and(|text| text.contains(&ready)) {
            return Ok(child);
        }
        if let Some(status) = child.try_wait().expect("poll sshd") {
            return Err(format!("sshd exited with {status}"));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("not listening after {STARTUP:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}
