//! A real Docker engine for the `docker_compose` tests: the one already answering on this machine,
//! or a `dockerd` this harness starts (root, its own data-root under /tmp, loopback only). No
//! registry is reachable, so the test image is built here: a static busybox root filesystem,
//! `docker import`ed and tagged locally.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The locally built image every compose test uses.
pub(crate) const IMAGE: &str = "recon-test/busybox:1";

/// Where a harness-started dockerd keeps its state (shared by test runs: one engine per machine).
const STATE: &str = "/tmp/recon-test-docker";

/// How long the engine may take to answer after it is started (a loaded 2-core machine).
const STARTUP: Duration = Duration::from_secs(60);

/// Makes sure an engine answers and the test image exists; panics with dockerd's log otherwise.
/// Once per test binary.
pub(crate) fn ensure() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        if !answers() {
            start_dockerd();
        }
        ensure_image();
    });
}

fn answers() -> bool {
    Command::new("docker")
        .args(["version", "-f", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts dockerd in the background, left running for later tests and runs (a second start
/// while one runs fails on dockerd's own pidfile, and then the running one answers).
fn start_dockerd() {
    std::fs::create_dir_all(STATE).expect("docker state dir");
    // Detached (its own session, reparented when `sh` exits): the engine outlives this binary.
    let started = Command::new("sh")
        .arg("-c")
        .arg("setsid dockerd --data-root \"$1/data\" --exec-root \"$1/exec\" --pidfile \"$1/dockerd.pid\" </dev/null >/dev/null 2>\"$1/dockerd.log\" &")
        .arg("sh")
        .arg(STATE)
        .status()
        .expect("sh runs");
    assert!(
        started.success(),
        "could not start dockerd (run scripts/install-deps.sh?)"
    );
    let deadline = Instant::now() + STARTUP;
    while !answers() {
        assert!(
            Instant::now() < deadline,
            "dockerd did not answer within {STARTUP:?}\n--- dockerd log\n{}",
            std::fs::read_to_string(Path::new(STATE).join("dockerd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `IMAGE` from /bin/busybox (static) with a few applet links, unless it is already there.
fn ensure_image() {
    let have = Command::new("docker")
        .args(["image", "inspect", IMAGE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if have {
        return;
    }
    let root = tempfile::tempdir().expect("image root");
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    std::fs::copy("/bin/busybox", bin.join("busybox")).expect("copy busybox (busybox-static)");
    for applet in ["sh", "echo", "sleep", "true", "cat", "httpd"] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("applet link");
    }
    let import = Command::new("sh")
        .arg("-c")
        .arg("tar -C \"$1\" -c . | docker import - \"$2\" >/dev/null")
        .arg("sh")
        .arg(root.path())
        .arg(IMAGE)
        .status()
        .expect("docker import");
    assert!(
        import.success(),
        "docker import of the busybox image failed"
    );
}

/// Tags a new image as `tag`: the test image plus a file `/variant` holding `marker`, so each
/// marker gives a different image id (what a pull of a new release does to a tag).
pub(crate) fn tag_variant(tag: &str, marker: &str) {
    let script = "set -e; d=$(mktemp -d); trap 'rm -rf \"$d\"' EXIT; \
                  mkdir \"$d/bin\"; cp /bin/busybox \"$d/bin/\"; \
                  for a in sh sleep true httpd; do ln -s busybox \"$d/bin/$a\"; done; \
                  printf %s \"$2\" > \"$d/variant\"; \
                  tar -C \"$d\" -c . | docker import - \"$1\" >/dev/null";
    let status = Command::new("sh")
        .args(["-c", script, "sh", tag, marker])
        .status()
        .expect("sh");
    assert!(status.success(), "docker import {tag}");
}

/// Removes image `tag` when dropped.
pub(crate) struct CleanImage(pub(crate) String);

impl Drop for CleanImage {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rmi", "-f", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Removes everything of compose project `name` (containers, networks, volumes) when dropped.
pub(crate) struct CleanProject(pub(crate) String);

impl CleanProject {
    /// `docker ps` of the project: `service id` lines, sorted.
    pub(crate) fn containers(&self) -> Vec<(String, String)> {
        let out = Command::new("docker")
            .args(["ps", "-a", "--no-trunc", "--filter"])
            .arg(format!("label=com.docker.compose.project={}", self.0))
            .args([
                "--format",
                "{{.Label \"com.docker.compose.service\"}} {{.ID}} {{.State}}",
            ])
            .output()
            .expect("docker ps");
        let mut rows: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut w = l.split(' ');
                Some((w.next()?.to_owned(), w.next()?.to_owned()))
            })
            .collect();
        rows.sort();
        rows
    }

    /// Networks labelled with the project.
    pub(crate) fn networks(&self) -> usize {
        let out = Command::new("docker")
            .args(["network", "ls", "-q", "--filter"])
            .arg(format!("label=com.docker.compose.project={}", self.0))
            .output()
            .expect("docker network ls");
        String::from_utf8_lossy(&out.stdout).lines().count()
    }
}

impl Drop for CleanProject {
    fn drop(&mut self) {
        let label = format!("label=com.docker.compose.project={}", self.0);
        let script = "docker ps -aq --filter \"$1\" | xargs -r docker rm -f; \
                      docker network ls -q --filter \"$1\" | xargs -r docker network rm; \
                      docker volume ls -q --filter \"$1\" | xargs -r docker volume rm";
        let _ = Command::new("sh")
            .args(["-c", script, "sh", &label])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
