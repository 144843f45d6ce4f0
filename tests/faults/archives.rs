//! Release archives GNU tar would unpack differently from what recon checked (pax, GNU long
//! name and GNU sparse headers, global headers, NUL bytes), and archives that fail on every
//! host (empty, trailing garbage): all refused by `recon check` with a located error. The
//! archives are built by Python's tarfile (hostile_tars.py); GNU tar itself proves each hostile
//! one really writes the evil member as `run.sh`.

use std::path::Path;
use std::process::Command;

use super::stderr_says;
use crate::harness::Project;

/// A project with one local target deploying `files/ARCHIVE` (all archives built in `files/`).
fn project() -> Project {
    let p = Project::new();
    let root = p.host_root();
    std::fs::create_dir_all(&root).expect("root");
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  vars: {{ ansible_connection: local }}\n  hosts:\n    one: {{ root: {} }}\n",
            root.display()
        ),
    );
    let files = p.dir().join("files");
    std::fs::create_dir_all(&files).expect("files");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/faults/hostile_tars.py");
    let ok = Command::new("python3")
        .arg(script)
        .arg(&files)
        .status()
        .expect("python3 runs");
    assert!(ok.success(), "hostile_tars.py failed");
    p
}

fn use_archive(p: &Project, archive: &str) {
    p.file(
        "site.yml",
        &format!(
            "- hosts: all\n  tasks:\n    - release: {{ root: \"{{{{ root }}}}/app\", version: v1, src: {archive} }}\n"
        ),
    );
}

/// What GNU tar leaves in `run.sh` when it unpacks `archive`.
fn gnu_tar_run_sh(p: &Project, archive: &str) -> String {
    let out = tempfile::tempdir().expect("temp");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(out.path())
        .arg("-xf")
        .arg(p.dir().join("files").join(archive))
        .status()
        .expect("tar runs");
    assert!(ok.success(), "GNU tar unpacks {archive}");
    std::fs::read_to_string(out.path().join("run.sh")).expect("run.sh")
}

#[test]
fn members_gnu_tar_would_write_under_a_reviewed_name_are_refused() {
    let p = project();
    for (archive, why) in [
        (
            "pax-sparse.tar",
            "is described by GNU sparse headers (`GNU.sparse.",
        ),
        ("pax-two-paths.tar", "sets `path` twice"),
        (
            "longname-and-pax.tar",
            "has both a GNU long name and a pax `path` (`run.sh`)",
        ),
        ("global-path.tar", "a pax global header sets `path`"),
        ("pax-nul.tar", "has a NUL byte in its name"),
    ] {
        // The archive is really hostile: GNU tar writes the second member over the reviewed one.
        assert_eq!(
            gnu_tar_run_sh(&p, archive),
            "#!/bin/sh\necho evil\n",
            "{archive}"
        );
        use_archive(&p, archive);
        for command in ["check", "plan"] {
            let run = p.recon(&[command, "site.yml"]);
            run.expect_code(1);
            let head = format!("release archive `{archive}` is unsafe: ");
            stderr_says(&run, &[&head, why, "site.yml:3:"]);
        }
    }
    assert!(!p.host_root().join("app").exists(), "nothing written");
}

#[test]
fn empty_and_trailing_garbage_archives_are_refused_at_load() {
    let p = project();
    for (archive, why) in [
        ("zero-bytes.tar.gz", "is empty: it has no members"),
        ("no-members.tar", "is empty: it has no members"),
        ("no-members.tar.gz", "is empty: it has no members"),
        ("garbage.tar", "data after the end of the tar archive"),
        ("garbage.tar.gz", "after the end of the tar archive"),
    ] {
        use_archive(&p, archive);
        let run = p.recon(&["check", "site.yml"]);
        run.expect_code(1);
        let head = format!("release archive `{archive}` is ");
        stderr_says(&run, &[&head, why, "site.yml:3:"]);
    }
}

#[test]
fn pax_and_gnu_long_names_unpack_as_checked_and_converge() {
    let p = project();
    let long = format!("app/{}/{}.txt", "d".repeat(120), "f".repeat(110));
    for archive in ["pax-long.tar", "gnu-long.tar"] {
        use_archive(&p, archive);
        let _ = std::fs::remove_dir_all(p.host_root().join("app"));
        p.recon(&["check", "site.yml"]).expect_code(0);
        p.recon(&["apply", "site.yml"]).expect_code(0);
        assert_eq!(
            p.read_host("app/current/run.sh"),
            "#!/bin/sh\necho reviewed\n"
        );
        assert_eq!(p.read_host(&format!("app/current/{long}")), "x");
        p.recon(&["plan", "site.yml", "--detailed-exitcode"])
            .expect_code(0);
    }
}
