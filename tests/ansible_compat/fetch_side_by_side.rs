//! The fetch playbook (`get_url`, `unarchive`, `uri`, `wait_for`, `pip`) applied by
//! `ansible-playbook` to one fresh account and by recon to another, over the test sshd: the
//! files, modes and extracted trees are identical, both virtualenvs import the wheel, and each
//! finds nothing to change on the account the other converged.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::fetch::{build_www, sha256, Http, PLAYBOOK};
use super::side_by_side::{
    ansible_playbook, each_accepts_the_others_work, inventory_with, tree_except,
};
use crate::harness::accounts::ensure_user;
use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// The accounts this test owns (no other test uses them).
const ACCOUNTS: [&str; 2] = ["recon_fetch_ansible", "recon_fetch_recon"];

/// The shared side-by-side inventory with the web server and the checksum of `a.txt`.
fn inventory(sshd: &Sshd, homes: &[PathBuf], port: u16, a_sha: &str) -> String {
    inventory_with(
        sshd,
        &ACCOUNTS,
        homes,
        "fetch",
        &format!("      web: http://127.0.0.1:{port}\n      a_sha: {a_sha}\n"),
    )
}

/// Every path under `dir` but the virtualenv's insides: name, type, mode and content hash.
fn tree(dir: &Path) -> Vec<String> {
    tree_except(dir, &["venv"], sha256)
}

#[test]
fn ansible_and_recon_fetch_unpack_and_pip_install_alike_and_accept_each_others_work() {
    let sshd = Sshd::start();
    let homes: Vec<PathBuf> = ACCOUNTS.iter().map(|u| ensure_user(u)).collect();
    for (user, home) in ACCOUNTS.iter().zip(&homes) {
        sshd.authorize(user);
        let _ = std::fs::remove_dir_all(home.join("fetch"));
    }
    let www = tempfile::tempdir().expect("tempdir");
    build_www(www.path());
    let http = Http::start(www.path());
    let p = Project::new();
    p.file("site.yml", PLAYBOOK).file(
        "inventory/hosts.yml",
        &inventory(&sshd, &homes, http.port, &sha256(&www.path().join("a.txt"))),
    );

    ansible_playbook(&p, ACCOUNTS[0]);
    p.recon(&["apply", "site.yml", "--limit", ACCOUNTS[1]])
        .expect_code(0);

    let (by_ansible, by_recon) = (tree(&homes[0].join("fetch")), tree(&homes[1].join("fetch")));
    assert!(by_ansible.len() >= 10, "{by_ansible:#?}");
    assert_eq!(by_ansible, by_recon);
    for home in &homes {
        let imported = Command::new(home.join("fetch/venv/bin/python"))
            .args(["-c", "import tinypkg; print(tinypkg.V)"])
            .output()
            .expect("venv python runs");
        assert_eq!(String::from_utf8_lossy(&imported.stdout), "1.0\n");
    }

    each_accepts_the_others_work(&p, ACCOUNTS);
    drop(http);
}
