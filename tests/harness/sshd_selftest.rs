//! The sshd fixture checked against the system `ssh` client, so a harness bug is not
//! mistaken for a recon bug.

use std::process::Output;

use super::accounts::ensure_user;
use super::sshd::Sshd;

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "ssh failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn root_runs_a_command_and_the_log_counts_it() {
    let sshd = Sshd::start();
    sshd.authorize("root");
    assert_eq!((sshd.logins(), sshd.sessions()), (0, 0));

    let out = sshd
        .ssh("root")
        .args(["echo", "hi"])
        .output()
        .expect("run ssh");
    assert_eq!(stdout_of(&out), "hi\n");
    assert_eq!((sshd.logins(), sshd.sessions()), (1, 1), "{}", sshd.log());

    // A subsystem request counts as a session too.
    let out = sshd
        .ssh("root")
        .args(["-s", "sftp"])
        .output()
        .expect("run ssh -s sftp");
    assert!(out.status.success(), "{out:?}");
    assert_eq!((sshd.logins(), sshd.sessions()), (2, 2), "{}", sshd.log());
}

#[test]
fn unprivileged_user_logs_in_with_its_own_identity() {
    let home = ensure_user("recontest1");
    assert!(home.is_dir(), "{} missing", home.display());
    let sshd = Sshd::start();
    sshd.authorize("recontest1");
    let out = sshd
        .ssh("recontest1")
        .args(["id", "-un"])
        .output()
        .expect("run ssh");
    assert_eq!(stdout_of(&out), "recontest1\n");
    assert_eq!(sshd.logins(), 1);
}

#[test]
fn unauthorized_user_is_refused() {
    let sshd = Sshd::start();
    let out = sshd.ssh("root").arg("true").output().expect("run ssh");
    assert!(!out.status.success());
    assert_eq!(sshd.logins(), 0);
}

#[test]
fn changed_host_key_is_refused() {
    let sshd = Sshd::start();
    sshd.authorize("root");
    let other = sshd.other_host_key_line();
    assert_ne!(other, sshd.host_key_line());
    assert!(other.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 AAAA", sshd.port)));
    std::fs::write(&sshd.known_hosts, format!("{other}\n")).expect("write known_hosts");
    let out = sshd.ssh("root").arg("true").output().expect("run ssh");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HOST IDENTIFICATION HAS CHANGED"),
        "{stderr}"
    );
    assert_eq!(sshd.logins(), 0);
}

#[test]
fn ensure_user_is_idempotent_under_concurrency() {
    let threads: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| ensure_user("recontest1")))
        .collect();
    let homes: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("ensure_user thread"))
        .collect();
    assert!(homes.windows(2).all(|w| w[0] == w[1]), "{homes:?}");
}
