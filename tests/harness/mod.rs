//! A throwaway recon project: files in a temp dir, a `local` inventory whose `root` variable
//! points at a per-test "host" folder, and a runner for the real binary.

// The fast tier builds without `heavy-tests`, and then the helpers only heavy tests use are
// unused; the heavy build (what clippy checks with -D warnings) still reports any that no test
// uses. Helpers panic by design (a failed setup fails the test), so they document no panics.
#![cfg_attr(not(feature = "heavy-tests"), allow(dead_code))]
#![allow(clippy::missing_panics_doc)]

pub(crate) mod accounts;
pub(crate) mod agent;
pub(crate) mod docker;
pub(crate) mod load;
pub(crate) mod nodes;
pub(crate) mod pebble;
pub(crate) mod sshd;
pub(crate) mod sshd_log;
#[cfg(feature = "heavy-tests")]
mod sshd_selftest;
pub(crate) mod timing;
pub(crate) mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one recon run did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Panics with both streams when the exit code differs.
    pub(crate) fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub(crate) fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub(crate) fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }
}

/// A temp project directory with a `host/` folder standing in for the managed machine.
pub(crate) struct Project {
    dir: tempfile::TempDir,
    /// Times the test that made it (every test of a feature makes one).
    _timing: timing::Timing,
}

impl Project {
    /// An empty project with a one-host local inventory (`box`, variable `root` = `host/`).
    pub(crate) fn new() -> Self {
        let project = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            _timing: timing::Timing::start(),
        };
        let root = project.host_root();
        project.file(
            "inventory/hosts.yml",
            &format!(
                "all:\n  hosts:\n    box:\n      ansible_connection: local\n      root: {}\n",
                root.display()
            ),
        );
        project
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The folder the playbooks manage (everything under `{{ root }}`).
    pub(crate) fn host_root(&self) -> PathBuf {
        self.dir.path().join("host")
    }

    pub(crate) fn host(&self, rel: &str) -> PathBuf {
        self.host_root().join(rel)
    }

    /// The repository's digicam sample in this project: `playbooks/` and `roles/` copied, the
    /// release tarballs built into `releases/` (its path returned).
    pub(crate) fn digicam(&self) -> PathBuf {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_tree(&repo.join("playbooks"), &self.dir().join("playbooks"));
        copy_tree(&repo.join("roles"), &self.dir().join("roles"));
        let releases = self.dir().join("releases");
        make_releases(&releases);
        releases
    }

    /// A plan of `args` (a playbook, `-i`, ...) finds nothing to do (`--detailed-exitcode` 0).
    pub(crate) fn plans_nothing(&self, args: &[&str]) {
        let mut all = vec!["plan"];
        all.extend_from_slice(args);
        all.push("--detailed-exitcode");
        let run = self.recon(&all);
        assert_eq!(run.code, 0, "not converged\n{}{}", run.stdout, run.stderr);
    }

    pub(crate) fn file(&self, rel: &str, content: &str) -> &Self {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
        self
    }

    /// `files/NAME`: a gzipped tarball of `files` (path, content) built by the real `tar`, for
    /// `release` tasks. Returns its size.
    pub(crate) fn tarball(&self, name: &str, files: &[(&str, &[u8])]) -> u64 {
        let src = self.dir.path().join(format!(".src-{name}"));
        for (path, content) in files {
            let path = src.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, content).expect("write");
        }
        let archive = self.dir.path().join("files").join(name);
        std::fs::create_dir_all(archive.parent().expect("parent")).expect("mkdir");
        let ok = Command::new("tar")
            .arg("-czf")
            .arg(&archive)
            .arg("-C")
            .arg(&src)
            .arg(".")
            .status()
            .expect("tar runs");
        assert!(ok.success(), "tar failed");
        std::fs::metadata(&archive).expect("archive").len()
    }

    /// Encrypts the project file `rel` in place with `recon vault encrypt`, the password in the
    /// project's `pw` file.
    pub(crate) fn encrypt(&self, rel: &str) -> &Self {
        self.recon(&["vault", "encrypt", "--vault-password-file", "pw", rel])
            .expect_code(0);
        self
    }

    pub(crate) fn read_host(&self, rel: &str) -> String {
        std::fs::read_to_string(self.host(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Runs `recon ARGS` in the project folder, with HOME there too (the apply lock lives in HOME).
    pub(crate) fn recon(&self, args: &[&str]) -> Run {
        self.recon_with(args, |_| {})
    }

    pub(crate) fn recon_with(&self, args: &[&str], tweak: impl FnOnce(&mut Command)) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_recon"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        tweak(&mut command);
        let out = command.output().expect("recon runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `recon_with`, but a run still going after `limit` is killed (code -1, `stderr` says
    /// so): for tests that prove recon does not hang, without hanging the suite when it does.
    pub(crate) fn recon_within(
        &self,
        limit: std::time::Duration,
        args: &[&str],
        tweak: impl FnOnce(&mut Command),
    ) -> Run {
        let out_file = tempfile::NamedTempFile::new().expect("temp");
        let err_file = tempfile::NamedTempFile::new().expect("temp");
        let mut command = Command::new(env!("CARGO_BIN_EXE_recon"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out_file.reopen().expect("reopen"))
            .stderr(err_file.reopen().expect("reopen"));
        tweak(&mut command);
        let mut child = command.spawn().expect("recon runs");
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break Some(status);
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        let read = |f: &tempfile::NamedTempFile| {
            String::from_utf8_lossy(&std::fs::read(f.path()).expect("read")).into_owned()
        };
        let mut stderr = read(&err_file);
        if status.is_none() {
            stderr = format!("{stderr}\n(killed: still running after {limit:?})");
        }
        Run {
            code: status.and_then(|s| s.code()).unwrap_or(-1),
            stdout: read(&out_file),
            stderr,
        }
    }

    /// Every path under the host root (relative, sorted), to prove "nothing was written".
    pub(crate) fn host_listing(&self) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let p = e.path();
                out.push(
                    p.strip_prefix(base)
                        .expect("under base")
                        .display()
                        .to_string(),
                );
                if p.is_dir() && !p.is_symlink() {
                    walk(base, &p, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.host_root(), &self.host_root(), &mut out);
        out.sort();
        out
    }
}

/// A loopback port nothing listens on right now (the kernel's pick for port 0), released for a
/// server the test starts. (`sshd.rs` keeps its own copy: it is also compiled, alone, into the
/// unit tests.)
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local address")
        .port()
}

/// Builds the digicam release tarballs into `out` (`scripts/make-releases.sh`).
pub(crate) fn make_releases(out: &Path) {
    let built = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-releases.sh"))
        .arg(out)
        .output()
        .expect("make-releases");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
}

/// Copies the folder `from` into `to` (created), files and sub-folders.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Mode bits of a path on the host.
pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode()
        & 0o7777
}
