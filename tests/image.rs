//! The container image (Dockerfile, scripts/build-image.sh): built FROM scratch without any
//! registry, it runs recon, which plans and applies over SSH to a real sshd from inside the
//! container. Needs a Docker engine: where none answers, the test says so and does nothing
//! (the static build itself is not exercised here: the image holds this test's own binary
//! with the libraries it links, which is what the script does for a dynamic binary).

use std::path::Path;
use std::process::Command;

use crate::harness::accounts::ensure_user;

use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// This file's own account.
const USER: &str = "recon_image";
const TAG: &str = "recon-test/recon:image-test";

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs")
}

#[test]
fn the_image_runs_recon_over_ssh_from_inside_the_container() {
    crate::harness::docker::ensure();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let built = Command::new("sh")
        .arg(repo.join("scripts/build-image.sh"))
        .arg(TAG)
        .env(
            "RECON_IMAGE_BIN",
            std::env::var_os("RECON_IMAGE_TEST_BIN")
                .unwrap_or_else(|| env!("CARGO_BIN_EXE_recon").into()),
        )
        .output()
        .expect("build-image runs");
    assert!(
        built.status.success(),
        "build-image failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let version = docker(&["run", "--rm", TAG, "--version"]);
    assert!(version.status.success(), "{version:?}");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("recon "));

    // A project mounted at /work, the sshd's key and known_hosts mounted at their own paths,
    // the host's loopback shared (--network host): plan, then apply, from the container.
    let home = ensure_user(USER);
    let target = home.join("from_container");
    let _ = std::fs::remove_file(&target);
    let sshd = Sshd::start();
    sshd.authorize(USER);
    let p = Project::new();
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    box: {{ ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: {USER}, ansible_ssh_private_key_file: {}, recon_known_hosts_file: {} }}\n",
            sshd.port,
            sshd.client_key.display(),
            sshd.known_hosts.display()
        ),
    )
    .file(
        "site.yml",
        &format!(
            "- hosts: all\n  tasks:\n    - file: {{ path: {}, content: \"from the container\\n\" }}\n",
            target.display()
        ),
    );
    let keys = sshd
        .client_key
        .parent()
        .expect("sshd dir")
        .display()
        .to_string();
    let work = format!("{}:/work", p.dir().display());
    let mount = format!("{keys}:{keys}:ro");
    let run = |args: &[&str]| {
        let mut all = vec![
            "run",
            "--rm",
            "--network",
            "host",
            "-e",
            "NO_COLOR=1",
            "-v",
            &work,
            "-v",
            &mount,
            TAG,
        ];
        all.extend(args);
        docker(&all)
    };
    let plan = run(&["plan", "site.yml", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(2),
        "changes pending\n{}\n{}",
        String::from_utf8_lossy(&plan.stdout),
        String::from_utf8_lossy(&plan.stderr)
    );
    let apply = run(&["apply", "site.yml"]);
    assert!(
        apply.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&apply.stdout),
        String::from_utf8_lossy(&apply.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&target).expect("written over ssh from the container"),
        "from the container\n"
    );
    let _ = docker(&["image", "rm", "-f", TAG]);
}
