//! The fetch playbook (`get_url`, `unarchive`, `uri`, `wait_for`, `pip`) applied by
//! `ansible-playbook` to one fresh account and by recon to another, over the test sshd: the
//! files, modes and extracted trees are identical, both virtualenvs import the wheel, and each
//! finds nothing to change on the account the other converged.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::fetch::{build_www, sha256, Http, PLAYBOOK};
use crate::harness::sshd::{ensure_user, Sshd};
use crate::harness::Project;

/// Where scripts/install-deps.sh installs ansible-core.
const ANSIBLE_PLAYBOOK: &str = "/opt/recon-test/ansible/bin/ansible-playbook";

/// The accounts this test owns (no other test uses them).
const ACCOUNTS: [&str; 2] = ["recon_fetch_ansible", "recon_fetch_recon"];

fn inventory(sshd: &Sshd, homes: &[PathBuf], port: u16, a_sha: &str) -> String {
    let mut out = String::from("all:\n  hosts:\n");
    for (user, home) in ACCOUNTS.iter().zip(homes) {
        let _ = write!(
            out,
            "    {user}:\n      ansible_host: 127.0.0.1\n      ansible_port: {sshd_port}\n      ansible_user: {user}\n      ansible_ssh_private_key_file: {key}\n      ansible_ssh_common_args: '-o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes'\n      ansible_python_interpreter: /usr/bin/python3\n      recon_known_hosts_file: {kh}\n      base: {home}/fetch\n      web: http://127.0.0.1:{port}\n      a_sha: {a_sha}\n",
            sshd_port = sshd.port,
            key = sshd.client_key.display(),
            kh = sshd.known_hosts.display(),
            home = home.display(),
        );
    }
    out
}

fn ansible_playbook(p: &Project, limit: &str) -> String {
    assert!(
        Path::new(ANSIBLE_PLAYBOOK).is_file(),
        "{ANSIBLE_PLAYBOOK} is missing: run scripts/install-deps.sh"
    );
    let out = Command::new(ANSIBLE_PLAYBOOK)
        .args(["-i", "inventory/hosts.yml", "site.yml", "--limit", limit])
        .current_dir(p.dir())
        .env("HOME", p.dir())
        .env("ANSIBLE_LOCAL_TEMP", p.dir().join(".ansible-tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .output()
        .expect("ansible-playbook runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ansible-playbook failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every path under `dir` but the virtualenv's insides: name, type, mode and content hash.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let rel = path
                .strip_prefix(base)
                .expect("prefix")
                .display()
                .to_string();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
            if meta.is_dir() {
                out.push(format!("{rel}/ {mode:o}"));
                if rel != "venv" {
                    walk(base, &path, out);
                }
            } else {
                out.push(format!("{rel} {mode:o} {}", sha256(&path)));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
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

    // recon finds nothing to do where Ansible converged ...
    p.recon(&[
        "plan",
        "site.yml",
        "--limit",
        ACCOUNTS[0],
        "--detailed-exitcode",
    ])
    .expect_code(0);
    // ... and Ansible changes nothing where recon converged.
    let recap = ansible_playbook(&p, ACCOUNTS[1]);
    assert!(recap.contains("changed=0"), "{recap}");
    assert!(recap.contains("failed=0"), "{recap}");
    drop(http);
}
