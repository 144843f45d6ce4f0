//! A real, throwaway nginx and supervisord on 127.0.0.1, shared by the squads (Unix accounts)
//! of one end-to-end deploy test: each squad drops its site file and program file where an
//! include glob picks them up, then reloads nginx (through sudo) and runs `supervisorctl`
//! itself, exactly as on the production server. Both daemons run as root children of the test
//! with everything they write (logs, pid files, temp paths, socket) in their own temp dir, so
//! the system instances and /etc/nginx, /etc/supervisor and /var/lib/nginx are never touched.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::free_port;

/// Absolute, so a `PATH` without `sbin` (a non-login root shell, CI, sudo's secure_path) still
/// finds it; the sudoers rule names this exact path too.
const NGINX: &str = "/usr/sbin/nginx";
const SUPERVISORD: &str = "/usr/bin/supervisord";
const SUPERVISORCTL: &str = "/usr/bin/supervisorctl";

/// How long `start` waits for a daemon; both are up in well under a second, the rest is slack
/// for a loaded 2-core machine (supervisorctl alone is a ~0.2 s Python start-up per probe).
const STARTUP: Duration = Duration::from_secs(20);

/// How long `Drop` lets a daemon shut down before SIGKILL. supervisord waits up to a program's
/// `stopwaitsecs` (default 10 s) for it to exit, so this must exceed that.
const SHUTDOWN: Duration = Duration::from_secs(15);

/// Free-port races (another test binding the port between our probe and nginx's bind) are
/// rare but possible; a few fresh ports make them harmless.
const PORT_ATTEMPTS: usize = 3;

/// Bounds every socket operation of `Nginx::get`, so a wedged server fails a test instead of
/// hanging it.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// One nginx master (run as root, so it can read every squad's site file, wherever its home
/// is) on a temp dir, stopped when dropped. Workers run as `nobody:nogroup`.
pub(crate) struct Nginx {
    /// The main nginx.conf (mode 0644 in a 0755 dir); what `nginx -c` takes.
    pub(crate) config: PathBuf,
    /// The file name under /etc/sudoers.d that `allow_reload` writes (and `Drop` removes).
    pub(crate) sudoers_name: String,
    /// The catch-all `default_server` port, which answers 404 to everything.
    pub(crate) port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Nginx {
    /// Starts nginx in the foreground (`-g 'daemon off;'`, so it is our child and `Drop` can
    /// reap it; the config file itself stays a normal, daemonizing one for squads' `nginx -t`)
    /// with `include <include_glob>;` inside `http {}`, e.g.
    /// "/home/recontest*/e2e_digicam/conf/nginx.conf". The glob may match nothing at first:
    /// nginx accepts a wildcard include without matches. Waits (bounded) until the master has
    /// bound its sockets; panics with nginx's output when it does not.
    pub(crate) fn start(include_glob: &str) -> Self {
        assert!(
            !include_glob.contains(|c: char| c.is_whitespace() || c == ';'),
            "include glob {include_glob:?} would need quoting in nginx.conf"
        );
        let dir = tempfile::tempdir().expect("nginx temp dir");
        // Workers (nobody) must traverse it to reach their temp paths; tempfile makes it 0700.
        chmod(dir.path(), 0o755);
        let config = dir.path().join("nginx.conf");
        let stderr = dir.path().join("nginx.stderr");
        let pid_file = dir.path().join("nginx.pid");
        let mut failures = String::new();
        for attempt in 1..=PORT_ATTEMPTS {
            let port = free_port();
            fs::write(&config, nginx_config(dir.path(), port, include_glob))
                .expect("write nginx.conf");
            chmod(&config, 0o644);
            // Fresh files per attempt so neither the pid nor an error is a previous attempt's.
            let _ = fs::remove_file(&pid_file);
            File::create(dir.path().join("error.log")).expect("truncate nginx error log");
            let child = Command::new(NGINX)
                .arg("-c")
                .arg(&config)
                .args(["-g", "daemon off;"])
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&stderr).expect("create nginx stderr file"))
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {NGINX} (run scripts/install-deps.sh?): {e}"));
            match wait_pid_file(child, &pid_file) {
                Ok(child) => {
                    return Self {
                        config,
                        sudoers_name: unique_sudoers_name(),
                        port,
                        dir,
                        child,
                    }
                }
                Err(why) => {
                    let log = fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                    let err = fs::read_to_string(&stderr).unwrap_or_default();
                    let _ = write!(
                        failures,
                        "--- attempt {attempt}, port {port}: {why}\n--- nginx error log\n{log}--- nginx stderr\n{err}"
                    );
                    if !log.contains("Address already in use")
                        && !err.contains("Address already in use")
                    {
                        break;
                    }
                }
            }
        }
        panic!("nginx did not start\n{failures}");
    }

    /// Lets `users` run exactly `sudo -n /usr/sbin/nginx -t -c <config>` and
    /// `sudo -n /usr/sbin/nginx -s reload -c <config>` without a password, as a squad does on
    /// the server after writing its site file. Writes /etc/sudoers.d/<sudoers_name> (mode 0440,
    /// validated with `visudo -cf` before it is moved into place, so a mistake can never break
    /// sudo for the whole machine); calling again replaces the list; removed on `Drop`.
    pub(crate) fn allow_reload(&self, users: &[&str]) {
        assert!(!users.is_empty(), "allow_reload needs at least one user");
        for user in users {
            assert!(
                !user.is_empty()
                    && user
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "user name {user:?} is not a plain account name"
            );
        }
        let config = self.config.to_str().expect("nginx.conf path is UTF-8");
        assert!(
            !config.contains(char::is_whitespace),
            "sudoers cannot match a path with whitespace: {config}"
        );
        // These four are special inside a sudoers command line; tempfile names never hold them.
        let config: String = config
            .chars()
            .flat_map(|c| {
                let escape = matches!(c, '\\' | ',' | ':' | '=');
                escape.then_some('\\').into_iter().chain(std::iter::once(c))
            })
            .collect();
        let rule = format!(
            "{} ALL=(root) NOPASSWD: {NGINX} -t -c {config}, {NGINX} -s reload -c {config}\n",
            users.join(", ")
        );
        // A name with a dot is ignored by sudo's @includedir, so the staging file is inert.
        let target = self.sudoers_path();
        let staging = target.with_extension("tmp");
        fs::write(&staging, rule).expect("write staged sudoers file");
        chmod(&staging, 0o440);
        let out = Command::new("/usr/sbin/visudo")
            .arg("-cf")
            .arg(&staging)
            .stdin(Stdio::null())
            .output()
            .expect("run visudo -cf");
        if !out.status.success() {
            let text = fs::read_to_string(&staging).unwrap_or_default();
            let _ = fs::remove_file(&staging);
            panic!(
                "visudo rejects the rule\n{text}--- visudo\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        fs::rename(&staging, &target).expect("move sudoers file into /etc/sudoers.d");
    }

    /// `GET http://127.0.0.1:<port><path>` with `Host: <host_header>` over a plain TcpStream
    /// (HTTP/1.0, `Connection: close`, so the body is everything up to EOF and no HTTP crate
    /// is needed). Returns (status, body); `None` when nothing answers in time or the reply is
    /// not HTTP, which tests polling after a reload treat as "not yet".
    pub(crate) fn get(port: u16, host_header: &str, path: &str) -> Option<(u16, String)> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT).ok()?;
        stream.set_read_timeout(Some(HTTP_TIMEOUT)).ok()?;
        stream.set_write_timeout(Some(HTTP_TIMEOUT)).ok()?;
        let request =
            format!("GET {path} HTTP/1.0\r\nHost: {host_header}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).ok()?;
        let reply = String::from_utf8_lossy(&reply);
        let (head, body) = reply.split_once("\r\n\r\n")?;
        let status_line = head.lines().next()?;
        let mut fields = status_line.split_whitespace();
        if !fields.next()?.starts_with("HTTP/") {
            return None;
        }
        let status = fields.next()?.parse().ok()?;
        Some((status, body.to_owned()))
    }

    /// Stops the master and its workers, as an outage would; `start_again` brings it back.
    pub(crate) fn stop(&mut self) {
        stop(&mut self.child, "nginx");
    }

    /// Starts nginx again on the same config (and so the same ports) after `stop`.
    pub(crate) fn start_again(&mut self) {
        let pid_file = self.dir.path().join("nginx.pid");
        let _ = fs::remove_file(&pid_file);
        let child = Command::new(NGINX)
            .arg("-c")
            .arg(&self.config)
            .args(["-g", "daemon off;"])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nginx again");
        self.child = wait_pid_file(child, &pid_file)
            .unwrap_or_else(|why| panic!("nginx did not start again: {why}\n{}", self.error_log()));
    }

    /// `nginx -s reload` on this instance, as root (for changes the test makes by hand).
    pub(crate) fn reload(&self) {
        let out = Command::new(NGINX)
            .arg("-s")
            .arg("reload")
            .arg("-c")
            .arg(&self.config)
            .output()
            .expect("nginx -s reload");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The whole error log (level `notice`, so reloads and worker restarts show up too).
    pub(crate) fn error_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("error.log")).expect("read nginx error log")
    }

    fn sudoers_path(&self) -> PathBuf {
        Path::new("/etc/sudoers.d").join(&self.sudoers_name)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM is nginx's fast shutdown: the master stops its workers, removes the pid file
        // and exits. SIGKILL (the fallback) would orphan the workers.
        stop(&mut self.child, "nginx");
        match fs::remove_file(self.sudoers_path()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!("remove {}: {e}", self.sudoers_path().display()),
        }
        if std::thread::panicking() {
            // The failing test's captured output is where someone will look first.
            eprintln!(
                "--- nginx error log ({})\n{}--- nginx stderr\n{}",
                self.port,
                fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default(),
                fs::read_to_string(self.dir.path().join("nginx.stderr")).unwrap_or_default()
            );
        }
    }
}

/// One supervisord (root, so it can start every squad's programs as their own `user=`), with a
/// unix socket every squad may use (`chmod=0777`), stopped (with its programs) when dropped.
pub(crate) struct Supervisord {
    /// supervisord.conf (mode 0644 in a 0755 dir); also what `supervisorctl -c` takes, since
    /// its `[supervisorctl]` section points at the socket.
    pub(crate) config: PathBuf,
    dir: tempfile::TempDir,
    child: Child,
}

impl Supervisord {
    /// Starts supervisord in the foreground (`nodaemon=true`) with `[include] files =
    /// <include_glob>`, e.g. "/home/recontest*/e2e_digicam/conf/supervisor.conf" (no matches is
    /// fine: supervisord only warns). Waits (bounded) until `supervisorctl -c <config> status`
    /// gets an answer; panics with supervisord's log when it does not.
    pub(crate) fn start(include_glob: &str) -> Self {
        let dir = tempfile::tempdir().expect("supervisord temp dir");
        // Squads connect to the socket inside it; tempfile makes it 0700.
        chmod(dir.path(), 0o755);
        let config = dir.path().join("supervisord.conf");
        fs::write(&config, supervisord_config(dir.path(), include_glob))
            .expect("write supervisord.conf");
        // Squads' supervisorctl reads it (for serverurl) with their own uid.
        chmod(&config, 0o644);
        let child_logs = dir.path().join("children");
        fs::create_dir(&child_logs).expect("create childlogdir");
        let output = dir.path().join("supervisord.out");
        let out_file = File::create(&output).expect("create supervisord output file");
        let child = Command::new(SUPERVISORD)
            .arg("-c")
            .arg(&config)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out_file.try_clone().expect("clone output file"))
            .stderr(out_file)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {SUPERVISORD} (run scripts/install-deps.sh?): {e}"));
        let mut supervisord = Self { config, dir, child };
        let deadline = Instant::now() + STARTUP;
        loop {
            // 0: all running (or none configured); 3: some program is not running. Both mean
            // the server answered; 4 (upcheck failed) is what a missing socket gives.
            let status = supervisord.run_ctl(&["status"]);
            if matches!(status.status.code(), Some(0 | 3)) {
                return supervisord;
            }
            let why = if let Some(exit) = supervisord.child.try_wait().expect("poll supervisord") {
                format!("supervisord exited with {exit}")
            } else if Instant::now() >= deadline {
                format!("no answer after {STARTUP:?}")
            } else {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            // Drop stops the daemon; say why first, with everything it wrote.
            let text = format!(
                "supervisord did not start: {why}\n--- last supervisorctl status ({})\n{}{}--- supervisord log\n{}--- supervisord output\n{}",
                status.status,
                String::from_utf8_lossy(&status.stdout),
                String::from_utf8_lossy(&status.stderr),
                supervisord.log(),
                fs::read_to_string(&output).unwrap_or_default()
            );
            drop(supervisord);
            panic!("{text}");
        }
    }

    /// Runs `supervisorctl -c <config> ARGS` as root and returns its stdout. The exit code is
    /// not checked: `status` exits 3 whenever any program is stopped, which tests often expect.
    pub(crate) fn ctl(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.run_ctl(args).stdout).into_owned()
    }

    /// The whole supervisord log (level info: spawns, exits, rereads).
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("supervisord.log")).unwrap_or_default()
    }

    fn run_ctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(SUPERVISORCTL)
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {SUPERVISORCTL} (run scripts/install-deps.sh?): {e}"))
    }
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        // SIGTERM makes supervisord stop every program (TERM, then KILL after stopwaitsecs)
        // before it exits; SIGKILL (the fallback) would leave them running.
        stop(&mut self.child, "supervisord");
        if std::thread::panicking() {
            eprintln!("--- supervisord log\n{}", self.log());
        }
    }
}

fn nginx_config(dir: &Path, port: u16, include_glob: &str) -> String {
    let dir = dir.display();
    // Every path is absolute: squads run `nginx -t -c <config>` without `-p`, so the compiled
    // prefix (/usr/share/nginx) must never matter, and nothing may land in /var/lib/nginx.
    format!(
        "user nobody nogroup;
worker_processes 1;
pid {dir}/nginx.pid;
lock_file {dir}/nginx.lock;
error_log {dir}/error.log notice;

events {{
    worker_connections 256;
}}

http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type text/plain;

    include {include_glob};

    server {{
        listen 127.0.0.1:{port} default_server;
        return 404;
    }}
}}
"
    )
}

fn supervisord_config(dir: &Path, include_glob: &str) -> String {
    let dir = dir.display();
    format!(
        "[unix_http_server]
file={dir}/supervisor.sock
chmod=0777

[supervisord]
logfile={dir}/supervisord.log
pidfile={dir}/supervisord.pid
childlogdir={dir}/children
nodaemon=true
user=root
loglevel=info

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{dir}/supervisor.sock

[include]
files = {include_glob}
"
    )
}

/// Waits until nginx wrote its pid file with the child's pid: `main()` writes it right after
/// `ngx_init_cycle` bound every listening socket, so from then on nothing is refused, and
/// waiting on a file keeps probe requests out of the access log.
fn wait_pid_file(mut child: Child, pid_file: &Path) -> Result<Child, String> {
    let expected = child.id().to_string();
    let deadline = Instant::now() + STARTUP;
    loop {
        if fs::read_to_string(pid_file).is_ok_and(|text| text.trim() == expected) {
            return Ok(child);
        }
        if let Some(status) = child.try_wait().expect("poll nginx") {
            return Err(format!("nginx exited with {status}"));
        }
        if Instant::now() >= deadline {
            stop(&mut child, "nginx");
            return Err(format!("no pid file after {STARTUP:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM, a bounded wait, then SIGKILL; always reaps. `kill(1)` because the crate forbids
/// unsafe code, hence no direct `libc::kill`.
fn stop(child: &mut Child, what: &str) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + SHUTDOWN;
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("{what} ignored SIGTERM for {SHUTDOWN:?}; killing it");
    let _ = child.kill();
    let _ = child.wait();
}

/// Unique per process and instance, and dot-free: sudo's @includedir skips names with a dot.
fn unique_sudoers_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "recon-test-nginx-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

mod tests {
    use std::process::{Command, Output, Stdio};
    use std::time::{Duration, Instant};

    use super::{free_port, Nginx, Supervisord, NGINX, SUPERVISORCTL};
    use crate::harness::accounts::ensure_user;

    /// Runs `command` through `su` as `user` (a non-login shell, from `/` so the test's cwd
    /// need not be readable by them).
    fn su(user: &str, command: &str) -> Output {
        Command::new("su")
            .args(["-s", "/bin/sh", user, "-c", command])
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .expect("run su")
    }

    fn describe(out: &Output) -> String {
        format!(
            "{}\n--- stdout\n{}--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Polls `probe` every 50 ms for up to 15 s; reloads and program starts are asynchronous.
    fn eventually(mut probe: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if probe() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        probe()
    }

    #[test]
    fn nginx_serves_an_included_site_after_reload() {
        let sites = tempfile::tempdir().expect("sites temp dir");
        let glob = format!("{}/sites/*.conf", sites.path().display());
        let nginx = Nginx::start(&glob);
        let (status, _) = Nginx::get(nginx.port, "x", "/").expect("default server answers");
        assert_eq!(status, 404, "{}", nginx.error_log());

        let port = free_port();
        std::fs::create_dir(sites.path().join("sites")).expect("mkdir sites");
        std::fs::write(
            sites.path().join("sites/a.conf"),
            format!(
                "server {{ listen 127.0.0.1:{port}; server_name a.test; location / {{ return 200 \"hi\"; }} }}\n"
            ),
        )
        .expect("write site file");
        let out = Command::new(NGINX)
            .args(["-s", "reload", "-c"])
            .arg(&nginx.config)
            .stdin(Stdio::null())
            .output()
            .expect("run nginx -s reload");
        assert!(out.status.success(), "reload: {}", describe(&out));
        assert!(
            eventually(|| Nginx::get(port, "a.test", "/") == Some((200, "hi".to_owned()))),
            "site never answered 200 \"hi\": {:?}\n{}",
            Nginx::get(port, "a.test", "/"),
            nginx.error_log()
        );
        // The site listens on its own port; the catch-all port still says 404, even to a.test.
        assert_eq!(
            Nginx::get(nginx.port, "a.test", "/").map(|r| r.0),
            Some(404)
        );
    }

    #[test]
    fn listed_user_may_test_and_reload_nginx_through_sudo() {
        ensure_user("recontest1");
        let sites = tempfile::tempdir().expect("sites temp dir");
        let nginx = Nginx::start(&format!("{}/*.conf", sites.path().display()));
        let config = nginx.config.display().to_string();
        let sudoers = std::path::Path::new("/etc/sudoers.d").join(&nginx.sudoers_name);

        // Not allowed yet: -n fails instead of prompting.
        let out = su("recontest1", &format!("sudo -n {NGINX} -t -c {config}"));
        assert!(!out.status.success(), "{}", describe(&out));

        nginx.allow_reload(&["recontest1"]);
        assert_eq!(crate::harness::mode(&sudoers), 0o440);
        for command in [
            format!("sudo -n {NGINX} -t -c {config}"),
            format!("sudo -n {NGINX} -s reload -c {config}"),
        ] {
            let out = su("recontest1", &command);
            assert!(out.status.success(), "{command}: {}", describe(&out));
        }
        // Exactly those commands: anything else still needs a password.
        let out = su(
            "recontest1",
            &format!("sudo -n {NGINX} -s stop -c {config}"),
        );
        assert!(!out.status.success(), "{}", describe(&out));
        assert_eq!(Nginx::get(nginx.port, "x", "/").map(|r| r.0), Some(404));

        drop(nginx);
        assert!(!sudoers.exists(), "{} left behind", sudoers.display());
    }

    #[test]
    fn supervisord_runs_an_included_program_after_reread_and_update() {
        let programs = tempfile::tempdir().expect("programs temp dir");
        let supervisord = Supervisord::start(&format!("{}/*.conf", programs.path().display()));
        std::fs::write(
            programs.path().join("t.conf"),
            "[program:t]\ncommand=sleep 1000\n",
        )
        .expect("write program file");
        let reread = supervisord.ctl(&["reread"]);
        assert!(reread.contains("t: available"), "{reread}");
        let update = supervisord.ctl(&["update"]);
        assert!(update.contains("t: added process group"), "{update}");
        assert!(
            eventually(|| supervisord.ctl(&["status", "t"]).contains("RUNNING")),
            "t never reached RUNNING: {}\n{}",
            supervisord.ctl(&["status"]),
            supervisord.log()
        );
    }

    #[test]
    fn non_root_user_can_use_supervisorctl() {
        ensure_user("recontest1");
        let programs = tempfile::tempdir().expect("programs temp dir");
        let supervisord = Supervisord::start(&format!("{}/*.conf", programs.path().display()));
        let out = su(
            "recontest1",
            &format!("{SUPERVISORCTL} -c {} status", supervisord.config.display()),
        );
        assert!(out.status.success(), "{}", describe(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("ermission denied") && !stdout.contains("no such file"),
            "{}",
            describe(&out)
        );
    }
}
