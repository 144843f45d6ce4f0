//! Capistrano-style releases on a real sshd: `shared` paths linked before the switch,
//! `prepare` commands that run in the new release before it goes live (and keep a failing
//! release from ever going live), archives that ship a shared path refused at plan time,
//! GitHub-style tarballs unpacked with `strip_components`, and `git:` sources given as URLs
//! (mirrored on the control machine, SSH host keys verified).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::accounts::ensure_user;
use crate::harness::sshd::Sshd;
use crate::harness::{Project, Run};

/// This file's own account, so concurrent suites never share its home.
const USER: &str = "recon_capistrano";

/// The playbook: one release whose source, shared paths and prepare commands come from vars.
const SITE: &str = r#"- hosts: all
  tasks:
    - name: release
      release:
        root: "{{ app }}"
        version: "{{ version }}"
        src: "{{ version }}.tar.gz"
        strip_components: "{{ strip | default(0) }}"
        shared: [.env, uploads/, storage/cache/]
        shared_replace: "{{ replace | default(false) }}"
        env: { GREETING: "hello {{ version }}", FAIL: "{{ fail | default('') }}" }
        prepare:
          - 'for p in .env uploads storage/cache; do test -L "$p" && echo "$p -> $(readlink "$p")"; done > links-seen'
          - 'readlink "$RECON_SHARED_DIR/../current" > current-seen || echo none > current-seen; echo "$GREETING" > greeting; pwd -P > pwd-seen'
          - 'if [ -n "$FAIL" ]; then echo "compiling assets failed" >&2; exit 3; fi'
"#;

struct Stage {
    project: Project,
    sshd: Sshd,
    app: PathBuf,
}

/// A gzipped tarball `name` in the project made from `files` (path, content) under `top`.
fn tarball(p: &Project, name: &str, top: &str, files: &[(&str, &str)]) {
    let src = p.dir().join(format!("src-{name}"));
    for (path, content) in files {
        let file = src.join(top).join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, content).expect("write");
    }
    let dir = if top.is_empty() { "." } else { top };
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(p.dir().join(name))
        .arg("-C")
        .arg(&src)
        .arg(dir)
        .status()
        .expect("tar");
    assert!(ok.success());
}

impl Stage {
    fn new(app_dir: &str) -> Self {
        let home = ensure_user(USER);
        let app = home.join(app_dir);
        let _ = std::fs::remove_dir_all(&app);
        let sshd = Sshd::start();
        sshd.authorize(USER);
        let project = Project::new();
        project
            .file(
                "inventory/hosts.yml",
                &format!(
                    "all:\n  hosts:\n    cap: {{ ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: {USER}, ansible_ssh_private_key_file: {}, recon_known_hosts_file: {}, app: {} }}\n",
                    sshd.port,
                    sshd.client_key.display(),
                    sshd.known_hosts.display(),
                    app.display()
                ),
            )
            .file("site.yml", SITE);
        Self { project, sshd, app }
    }

    fn run(&self, command: &str, version: &str, extra: &[&str]) -> Run {
        let var = format!("version={version}");
        let mut args = vec![command, "site.yml", "-e", &var];
        for e in extra {
            args.extend(["-e", e]);
        }
        self.project.recon(&args)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.app.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    fn current(&self) -> String {
        std::fs::read_link(self.app.join("current"))
            .expect("current link")
            .display()
            .to_string()
    }
}

fn link(path: &Path) -> String {
    std::fs::read_link(path)
        .unwrap_or_else(|e| panic!("{} is not a link: {e}", path.display()))
        .display()
        .to_string()
}

#[test]
fn shared_paths_are_linked_and_prepare_runs_before_the_switch_and_a_failing_prepare_never_goes_live(
) {
    let stage = Stage::new("cap_shared");
    let p = &stage.project;
    tarball(p, "v1.tar.gz", "", &[("app.sh", "echo v1\n")]);
    tarball(p, "v2.tar.gz", "", &[("app.sh", "echo v2\n")]);
    tarball(p, "v3.tar.gz", "", &[("app.sh", "echo v3\n")]);

    // The plan shows the links and the prepare commands as part of the release.
    stage
        .run("plan", "v1", &[])
        .expect_code(0)
        .stdout_has("+ release ")
        .stdout_has("      shared: .env -> shared/.env\n")
        .stdout_has("      shared: uploads/ -> shared/uploads/\n")
        .stdout_has("      shared: storage/cache/ -> shared/storage/cache/\n")
        .stdout_has("      prepare: for p in .env uploads storage/cache;");

    stage.run("apply", "v1", &[]).expect_code(0);
    assert_eq!(stage.current(), "v1");
    // Relative links into the shared folder, created before prepare ran (it saw them).
    assert_eq!(link(&stage.app.join("v1/.env")), "../shared/.env");
    assert_eq!(link(&stage.app.join("v1/uploads")), "../shared/uploads");
    assert_eq!(
        link(&stage.app.join("v1/storage/cache")),
        "../../shared/storage/cache"
    );
    assert_eq!(
        stage.read("v1/links-seen"),
        ".env -> ../shared/.env\nuploads -> ../shared/uploads\nstorage/cache -> ../../shared/storage/cache\n"
    );
    // Missing shared paths were created: an empty private file, folders.
    let env = std::fs::metadata(stage.app.join("shared/.env")).expect("shared .env");
    assert!(env.is_file() && env.len() == 0);
    assert_eq!(env.permissions().mode() & 0o777, 0o600);
    assert!(stage.app.join("shared/uploads").is_dir());
    assert!(stage.app.join("shared/storage/cache").is_dir());
    // Prepare ran in the release's final folder, with the task's env, before any link existed.
    assert_eq!(stage.read("v1/greeting"), "hello v1\n");
    assert_eq!(
        stage.read("v1/pwd-seen").trim(),
        std::fs::canonicalize(stage.app.join("v1"))
            .expect("v1")
            .display()
            .to_string()
    );
    assert_eq!(stage.read("v1/current-seen"), "none\n");

    // Data written through the live release survives into the next one.
    std::fs::write(stage.app.join("v1/uploads/photo.jpg"), "jpeg").expect("upload");
    std::fs::write(stage.app.join("shared/.env"), "SECRET=1\n").expect("env");
    stage.run("apply", "v2", &[]).expect_code(0);
    assert_eq!(stage.current(), "v2");
    assert_eq!(stage.read("v2/uploads/photo.jpg"), "jpeg");
    assert_eq!(
        stage.read("v2/.env"),
        "SECRET=1\n",
        "an existing shared file is kept"
    );
    // When v2's prepare ran, `current` still pointed at v1: prepare happens before the switch.
    assert_eq!(stage.read("v2/current-seen"), "v1\n");
    stage
        .run("apply", "v2", &[])
        .expect_code(0)
        .stdout_has("No changes.");

    // A failing prepare: the step fails with the command's output, `current` stays on v2,
    // and the release is marked failed (never switched to, not deployed again by accident).
    let run = stage.run("apply", "v3", &["fail=1"]);
    run.expect_code(1)
        .stdout_has("compiling assets failed")
        .stdout_has("prepare command failed (exit 3)");
    assert_eq!(stage.current(), "v2");
    assert_eq!(
        stage.read(".recon-releases/v3"),
        format!(
            "sha256={}\nstatus=failed\nreason=prepare\n",
            sha256_of(&p.dir().join("v3.tar.gz"))
        )
    );
    stage
        .run("plan", "v3", &[])
        .expect_code(1)
        .stdout_has("release `v3` failed its prepare commands before");
    p.recon(&["releases", "site.yml", "-e", "version=v3"])
        .expect_code(0)
        .stdout_has("v3")
        .stdout_has("failed");
    // Forced once fixed: unpacked afresh, prepared again, then live.
    let path = p.dir().join("site.yml");
    let forced = SITE.replace("        prepare:", "        force: true\n        prepare:");
    std::fs::write(&path, forced).expect("write");
    stage.run("apply", "v3", &[]).expect_code(0);
    assert_eq!(stage.current(), "v3");
    assert_eq!(stage.read("v3/greeting"), "hello v3\n");
    assert_eq!(
        stage.read(".recon-releases/v3"),
        format!(
            "sha256={}\nstatus=deployed\n",
            sha256_of(&p.dir().join("v3.tar.gz"))
        )
    );
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("hash")
        .to_owned()
}

#[test]
fn an_archive_that_ships_a_shared_path_is_refused_at_plan_time_unless_replaced() {
    let stage = Stage::new("cap_refuse");
    let p = &stage.project;
    tarball(
        p,
        "v1.tar.gz",
        "",
        &[("app.sh", "echo v1\n"), ("uploads/.keep", "")],
    );
    let run = stage.run("plan", "v1", &[]);
    run.expect_code(1)
        .stderr_has("ships `uploads`, which is the shared path `uploads/`")
        .stderr_has("shared_replace: true");
    assert!(!stage.app.exists(), "nothing was written on the host");

    // With shared_replace the release's copy gives way to the link.
    stage.run("apply", "v1", &["replace=true"]).expect_code(0);
    assert_eq!(link(&stage.app.join("v1/uploads")), "../shared/uploads");
    assert!(!stage.app.join("shared/uploads/.keep").exists());
}

#[test]
fn a_github_style_archive_deploys_with_strip_components() {
    let stage = Stage::new("cap_strip");
    let p = &stage.project;
    tarball(
        p,
        "v1.tar.gz",
        "digicam-1.0.0",
        &[("app.sh", "echo v1\n"), ("lib/util.sh", "u\n")],
    );
    // Unstripped, the release would be one folder deep.
    stage
        .run("plan", "v1", &[])
        .expect_code(0)
        .stdout_has("content: 2 files");
    stage.run("apply", "v1", &["strip=1"]).expect_code(0);
    assert_eq!(stage.read("current/app.sh"), "echo v1\n");
    assert_eq!(stage.read("current/lib/util.sh"), "u\n");
    assert!(!stage.app.join("v1/digicam-1.0.0").exists());
}

/// `git` with a fixed identity and no signing.
fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

#[test]
fn git_urls_are_mirrored_on_the_control_machine_with_host_keys_verified() {
    let stage = Stage::new("cap_git");
    let p = &stage.project;
    // A bare repository owned by the account, served by the test's sshd (and as a file:// URL).
    let home = ensure_user(USER);
    let work = p.dir().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q"]);
    std::fs::write(work.join("app.sh"), "echo from git\n").expect("write");
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "one"]);
    git(&work, &["tag", "v1"]);
    let bare = home.join("cap_repo.git");
    let _ = std::fs::remove_dir_all(&bare);
    let ok = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(&work)
        .arg(&bare)
        .status()
        .expect("clone");
    assert!(ok.success());
    let ok = Command::new("chown")
        .args(["-R", &format!("{USER}:{USER}")])
        .arg(&bare)
        .status()
        .expect("chown");
    assert!(ok.success());
    let site = |url: &str| {
        format!(
            "- hosts: all\n  tasks:\n    - release:\n        root: \"{{{{ app }}}}\"\n        version: v1\n        git: {{ repo: \"{url}\" }}\n"
        )
    };

    // file:// URL (a copy the control machine's user owns): mirrored into the cache, archived
    // from there.
    let local = p.dir().join("local.git");
    let ok = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(&work)
        .arg(&local)
        .status()
        .expect("clone");
    assert!(ok.success());
    p.file("git.yml", &site(&format!("file://{}", local.display())));
    p.recon(&["apply", "git.yml"]).expect_code(0);
    assert_eq!(stage.read("current/app.sh"), "echo from git\n");
    let mirrors: Vec<_> = std::fs::read_dir(p.dir().join(".cache/recon/git"))
        .expect("git cache")
        .flatten()
        .collect();
    assert_eq!(mirrors.len(), 1, "one mirror per URL");

    // ssh:// URL to a server whose key the control machine does not know: refused, even when
    // GIT_SSH_COMMAND asks ssh to skip the check.
    let url = format!(
        "ssh://{USER}@127.0.0.1:{}{}",
        stage.sshd.port,
        bare.display()
    );
    p.file("ssh.yml", &site(&url));
    let lax = format!(
        "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -i {}",
        stage.sshd.client_key.display()
    );
    let run = p.recon_with(&["plan", "ssh.yml"], |c| {
        c.env("GIT_SSH_COMMAND", &lax);
    });
    run.expect_code(1)
        .stderr_has("Host key verification failed");
    // With the server's key pinned in known_hosts it works.
    let pinned = format!(
        "ssh -o UserKnownHostsFile={} -i {}",
        stage.sshd.known_hosts.display(),
        stage.sshd.client_key.display()
    );
    p.recon_with(&["plan", "ssh.yml"], |c| {
        c.env("GIT_SSH_COMMAND", &pinned);
    })
    .expect_code(0)
    .stdout_has("No changes.");
}
