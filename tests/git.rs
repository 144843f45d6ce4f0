//! The `git` resource against a bare repository served by a real sshd on loopback, read with a
//! deploy key and a pinned host key: clone, re-plan, update after a push, local changes refused
//! without `force`, an unknown host key refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::accounts::ensure_user;
use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// The Unix account that owns the served repositories (its own, so no other test collides).
const SERVER: &str = "recon_gitsrv";

fn git(dir: &Path, args: &[&str]) -> String {
    git_with(dir, args, None)
}

/// `git -C dir ARGS`, over SSH with the fixture's client key when `sshd` is given.
fn git_with(dir: &Path, args: &[&str], sshd: Option<&Sshd>) -> String {
    let mut command = Command::new("git");
    if let Some(sshd) = sshd {
        command.env(
            "GIT_SSH_COMMAND",
            format!(
                "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} -o BatchMode=yes",
                sshd.client_key.display(),
                sshd.known_hosts.display()
            ),
        );
    }
    let out = command
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A bare repository in the server account's home plus a work tree (root's) to push from.
struct Upstream {
    bare: PathBuf,
    work: tempfile::TempDir,
}

impl Upstream {
    fn new(home: &Path, sshd: &Sshd) -> Self {
        let work = tempfile::tempdir().expect("work");
        let bare = home.join(format!(
            "app-{}-{}.git",
            std::process::id(),
            work.path()
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("x")
        ));
        git(
            home,
            &[
                "init",
                "-q",
                "--bare",
                "-b",
                "main",
                &bare.display().to_string(),
            ],
        );
        git(work.path(), &["init", "-q", "-b", "main"]);
        git(work.path(), &["remote", "add", "origin", &url(sshd, &bare)]);
        let chown = Command::new("chown")
            .args(["-R", SERVER])
            .arg(&bare)
            .status()
            .expect("chown");
        assert!(chown.success());
        Self { bare, work }
    }

    /// Commits `content` as `app.txt` and pushes it; returns the commit id.
    fn push(&self, sshd: &Sshd, content: &str) -> String {
        std::fs::write(self.work.path().join("app.txt"), content).expect("write");
        git(self.work.path(), &["add", "app.txt"]);
        git(self.work.path(), &["commit", "-q", "-m", content]);
        git_with(
            self.work.path(),
            &["push", "-q", "origin", "main"],
            Some(sshd),
        );
        git(self.work.path(), &["rev-parse", "HEAD"])
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.bare);
    }
}

fn url(sshd: &Sshd, bare: &Path) -> String {
    format!("ssh://{SERVER}@127.0.0.1:{}{}", sshd.port, bare.display())
}

fn project(sshd: &Sshd, upstream: &Upstream, known_hosts: &Path) -> Project {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.file("site.yml", &site(sshd, upstream, known_hosts, false));
    p
}

fn site(sshd: &Sshd, upstream: &Upstream, known_hosts: &Path, force: bool) -> String {
    format!(
            "- hosts: all\n  tasks:\n    - git:\n        repo: \"ssh://{SERVER}@127.0.0.1:{}{}\"\n        dest: \"{{{{ root }}}}/app\"\n        version: main\n        key_file: {}\n        known_hosts: {}\n        force: {force}\n",
            sshd.port,
            upstream.bare.display(),
            sshd.client_key.display(),
        known_hosts.display()
    )
}

fn short(commit: &str) -> &str {
    &commit[..12]
}

#[test]
fn git_clones_over_ssh_with_a_deploy_key_updates_after_a_push_and_keeps_local_changes() {
    let home = ensure_user(SERVER);
    let sshd = Sshd::start();
    sshd.authorize(SERVER);
    let upstream = Upstream::new(&home, &sshd);
    let first = upstream.push(&sshd, "one\n");
    let p = project(&sshd, &upstream, &sshd.known_hosts);

    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("+ git ")
        .stdout_has(&format!("commit: {}", short(&first)))
        .stdout_has("clone `ssh://");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("app/app.txt"), "one\n");
    assert_eq!(git(&p.host("app"), &["rev-parse", "HEAD"]), first);
    assert_eq!(git(&p.host("app"), &["branch", "--show-current"]), "main");
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0)
        .stdout_has("No changes.");

    // A push: the plan shows old -> new without fetching (the count is unknown until then).
    upstream.push(&sshd, "two\n");
    let third = upstream.push(&sshd, "three\n");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("~ git ")
        .stdout_has(&format!("commit: {} -> {}", short(&first), short(&third)))
        .stdout_has("number of commits unknown until fetched");
    assert_eq!(
        git(&p.host("app"), &["rev-parse", "HEAD"]),
        first,
        "planning fetched nothing"
    );
    // Once the objects are on the host (fetched by hand here), the plan counts the commits.
    git_with(&p.host("app"), &["fetch", "-q", "origin"], Some(&sshd));
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("2 new commit(s) on `main`");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("app/app.txt"), "three\n");
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);

    // Local changes are refused without force, and nothing is touched.
    std::fs::write(p.host("app/app.txt"), "local edit\n").expect("edit");
    let fourth = upstream.push(&sshd, "four\n");
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stdout_has("refusing to discard");
    p.recon(&["apply", "site.yml"]).expect_code(1);
    assert_eq!(p.read_host("app/app.txt"), "local edit\n");

    // With force they are discarded.
    p.file("site.yml", &site(&sshd, &upstream, &sshd.known_hosts, true));
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("discard local changes");
    assert_eq!(p.read_host("app/app.txt"), "four\n");
    assert_eq!(git(&p.host("app"), &["rev-parse", "HEAD"]), fourth);
}

#[test]
fn git_refuses_a_host_key_it_does_not_know() {
    let home = ensure_user(SERVER);
    let sshd = Sshd::start();
    sshd.authorize(SERVER);
    let upstream = Upstream::new(&home, &sshd);
    upstream.push(&sshd, "one\n");
    let wrong = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(wrong.path(), format!("{}\n", sshd.other_host_key_line())).expect("write");
    let p = project(&sshd, &upstream, wrong.path());
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stdout_has("Host key verification failed");
    assert!(!p.host("app").exists());
}

/// `fd::17` (a git remote helper that waits on a descriptor for ever) and other helpers are
/// refused when the playbook is compiled: the plan ends at once with a located error instead
/// of hanging in the probe.
#[test]
fn git_remote_helper_urls_are_located_errors_not_a_hang() {
    let home = ensure_user(SERVER);
    let sshd = Sshd::start();
    sshd.authorize(SERVER);
    let upstream = Upstream::new(&home, &sshd);
    upstream.push(&sshd, "one\n");
    let p = project(&sshd, &upstream, &sshd.known_hosts);
    for repo in [
        "fd::17",
        "ext::sh -c touch% /tmp/recon-ext-pwned",
        "foo::bar",
    ] {
        let site = site(&sshd, &upstream, &sshd.known_hosts, false).replace(
            &format!(
                "ssh://{SERVER}@127.0.0.1:{}{}",
                sshd.port,
                upstream.bare.display()
            ),
            repo,
        );
        p.file("site.yml", &site);
        let run = p.recon_within(
            std::time::Duration::from_secs(60),
            &["plan", "site.yml"],
            |_| {},
        );
        run.expect_code(1);
        assert!(
            run.stderr.contains("site.yml:4:") && run.stderr.contains("remote helpers"),
            "{repo}: {}",
            run.stderr
        );
        assert!(!p.host("app").exists());
    }
    assert!(!Path::new("/tmp/recon-ext-pwned").exists());
}

/// A checkout that belongs to another account: git refuses it as "dubious ownership", and the
/// plan says so instead of planning a clone over a folder it took for empty of history.
#[test]
fn git_reports_a_checkout_it_refuses_as_dubious_ownership() {
    let home = ensure_user(SERVER);
    let sshd = Sshd::start();
    sshd.authorize(SERVER);
    let upstream = Upstream::new(&home, &sshd);
    upstream.push(&sshd, "one\n");
    let p = project(&sshd, &upstream, &sshd.known_hosts);
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let chown = Command::new("chown")
        .args(["-R", SERVER])
        .arg(p.host("app"))
        .status()
        .expect("chown");
    assert!(chown.success());
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stdout_has("dubious ownership");
    p.recon(&["apply", "site.yml"]).expect_code(1);
    assert_eq!(p.read_host("app/app.txt"), "one\n");
}
