//! Classes 2 and 3: a full disk and a second account. A write that cannot complete fails its
//! step before anything goes live, and the next run converges once there is room; links another
//! account plants where recon once wrote predictable names redirect nothing.

use std::process::Command;

use crate::harness::Project;

/// A tmpfs of `size` mounted at `dir` for the test's life.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &std::path::Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount");
        assert!(ok.success(), "mount tmpfs at {}", dir.display());
        Self(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Incompressible bytes, so the archive's size is its unpacked size.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn a_full_disk_fails_the_release_before_it_goes_live_and_the_next_run_converges() {
    let p = Project::new();
    p.tarball("small.tar.gz", &[("run.sh", b"echo v1\n")]);
    p.tarball("big.tar.gz", &[("data.bin", &noise(3 * 1024 * 1024))]);
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - release: { root: \"{{ root }}/app\", version: \"{{ v }}\", src: \"{{ src }}\" }\n",
    );
    let app = p.host("app");
    let _disk = Tmpfs::mount(&app, "1m");
    p.recon(&["apply", "site.yml", "-e", "v=v1", "-e", "src=small.tar.gz"])
        .expect_code(0);
    // The disk is too small for v2: the step fails, v1 stays live, nothing half-there.
    let full = p.recon(&["apply", "site.yml", "-e", "v=v2", "-e", "src=big.tar.gz"]);
    full.expect_code(1);
    assert_eq!(
        std::fs::read_link(app.join("current")).expect("current"),
        std::path::Path::new("v1"),
        "{}",
        full.stdout
    );
    assert!(!app.join("v2").exists(), "no half-unpacked v2");
    assert!(!app.join(".recon-releases/v2").exists(), "no marker for v2");
    let leftovers: Vec<_> = std::fs::read_dir(&app)
        .expect("app")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp folders removed: {leftovers:?}");
    // Room again: the same deploy converges, and then nothing is left to do.
    let _ = Command::new("mount")
        .args(["-o", "remount,size=16m"])
        .arg(&app)
        .status();
    p.recon(&["apply", "site.yml", "-e", "v=v2", "-e", "src=big.tar.gz"])
        .expect_code(0);
    assert_eq!(
        std::fs::read_link(app.join("current")).expect("current"),
        std::path::Path::new("v2")
    );
    p.recon(&["plan", "site.yml", "-e", "v=v2", "-e", "src=big.tar.gz"])
        .expect_code(0)
        .stdout_has("No changes");
}

#[test]
fn links_planted_in_the_shared_tmp_redirect_nothing() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    // The victim's own private file, and links another account plants where an older recon
    // wrote step output and health-check bodies (`$TMPDIR/.recon-out.PID`, `.recon-http.PID`).
    let victim = p.host("victim");
    std::fs::write(&victim, "mine\n").expect("victim");
    let tmp = p.dir().join("shared-tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    for pid in 2..4000 {
        for name in [".recon-out", ".recon-http"] {
            let _ = std::os::unix::fs::symlink(&victim, tmp.join(format!("{name}.{pid}")));
        }
    }
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - command: { cmd: "echo step output; echo more >&2", creates: "{{ root }}/done" }
    - file: { path: "{{ root }}/secret", content: "s3cret\n", mode: "0600" }
"#,
    );
    p.recon_with(&["apply", "site.yml"], |c| {
        c.env("TMPDIR", &tmp);
    })
    .expect_code(0);
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "mine\n");
    assert_eq!(crate::harness::mode(&p.host("secret")), 0o600);
    let stray: Vec<_> = std::fs::read_dir(&tmp)
        .expect("tmp")
        .flatten()
        .filter(|e| !e.file_type().is_ok_and(|t| t.is_symlink()))
        .map(|e| e.file_name())
        .collect();
    assert!(
        stray.is_empty(),
        "recon left files in the shared tmp: {stray:?}"
    );
}

#[test]
fn a_release_whose_final_marker_hit_a_full_disk_is_redone_by_the_next_apply() {
    let p = Project::new();
    p.tarball("v1.tar.gz", &[("run.sh", b"echo v1\n")]);
    p.tarball("v2.tar.gz", &[("run.sh", b"echo v2\n")]);
    // The prepare command fills the disk (and succeeds): the write that records the release
    // as deployed is the one that fails, after the folder is in place.
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - release:
        root: "{{ root }}/app"
        version: "{{ v }}"
        src: "{{ v }}.tar.gz"
        prepare:
          - "head -c 4000000 /dev/zero > ../filler-{{ v }} || true"
"#,
    );
    let app = p.host("app");
    let _disk = Tmpfs::mount(&app, "2m");
    let first = p.recon(&["apply", "site.yml", "-e", "v=v1"]);
    first.expect_code(1);
    assert!(app.join("v1").is_dir(), "{}", first.stdout);
    assert!(
        !app.join("current").exists(),
        "never switched to: {}",
        first.stdout
    );
    let marker = std::fs::read_to_string(app.join(".recon-releases/v1")).expect("marker");
    assert!(marker.contains("status=unpacking"), "{marker}");
    // Room again: the next plan says what it redoes, and the apply heals without `force`.
    std::fs::remove_file(app.join("filler-v1")).expect("filler");
    let _ = Command::new("mount")
        .args(["-o", "remount,size=16m"])
        .arg(&app)
        .status();
    p.recon(&["plan", "site.yml", "-e", "v=v1"])
        .expect_code(0)
        .stdout_has("an interrupted deploy left it unfinished");
    p.recon(&["apply", "site.yml", "-e", "v=v1"]).expect_code(0);
    assert_eq!(
        std::fs::read_link(app.join("current")).expect("current"),
        std::path::Path::new("v1")
    );
    let marker = std::fs::read_to_string(app.join(".recon-releases/v1")).expect("marker");
    assert!(marker.contains("status=deployed"), "{marker}");
    p.recon(&["plan", "site.yml", "-e", "v=v1"])
        .expect_code(0)
        .stdout_has("No changes");
}
