//! The same playbook and inventory applied by `ansible-playbook` to one fresh account and by
//! recon to another, over the test sshd: the files, modes and links they leave are identical, and
//! then each finds nothing to change on the account the other converged.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::accounts::ensure_user;

use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// Where scripts/install-deps.sh installs ansible-core.
const ANSIBLE_PLAYBOOK: &str = "/opt/recon-test/ansible/bin/ansible-playbook";

/// The accounts this test owns (no other test uses them).
const ACCOUNTS: [&str; 2] = ["recon_sbs_ansible", "recon_sbs_recon"];

/// An inventory of `accounts` on the test sshd, each with `base` = its home's `folder`.
pub(super) fn inventory(sshd: &Sshd, accounts: &[&str], homes: &[PathBuf], folder: &str) -> String {
    inventory_with(sshd, accounts, homes, folder, "")
}

/// `inventory` with more host variables (`extra`: YAML lines indented by six spaces).
pub(super) fn inventory_with(
    sshd: &Sshd,
    accounts: &[&str],
    homes: &[PathBuf],
    folder: &str,
    extra: &str,
) -> String {
    let mut out = String::from("all:\n  hosts:\n");
    for (user, home) in accounts.iter().zip(homes) {
        let _ = write!(
            out,
            "    {user}:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n      ansible_user: {user}\n      ansible_ssh_private_key_file: {key}\n      ansible_ssh_common_args: '-o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes'\n      ansible_python_interpreter: /usr/bin/python3\n      recon_known_hosts_file: {kh}\n      base: {home}/{folder}\n      port: 8123\n{extra}",
            port = sshd.port,
            key = sshd.client_key.display(),
            kh = sshd.known_hosts.display(),
            home = home.display(),
        );
    }
    out
}

/// recon plans nothing on the account Ansible converged (`accounts[0]`), and Ansible changes
/// nothing on the one recon converged (`accounts[1]`).
pub(super) fn each_accepts_the_others_work(p: &Project, accounts: [&str; 2]) {
    p.recon(&[
        "plan",
        "site.yml",
        "--limit",
        accounts[0],
        "--detailed-exitcode",
    ])
    .expect_code(0);
    let recap = ansible_playbook(p, accounts[1]);
    assert!(recap.contains("changed=0"), "{recap}");
    assert!(recap.contains("failed=0"), "{recap}");
}

/// Runs `ansible-playbook site.yml` on host `limit`; its output (the recap).
pub(super) fn ansible_playbook(p: &Project, limit: &str) -> String {
    ansible_playbook_with(p, limit, &[])
}

/// `ansible_playbook` with `more` arguments (`--check`, `--diff`).
pub(crate) fn ansible_playbook_with(p: &Project, limit: &str, more: &[&str]) -> String {
    assert!(
        Path::new(ANSIBLE_PLAYBOOK).is_file(),
        "{ANSIBLE_PLAYBOOK} is missing: run scripts/install-deps.sh"
    );
    let out = Command::new(ANSIBLE_PLAYBOOK)
        .args(["-i", "inventory/hosts.yml", "site.yml", "--limit", limit])
        .args(more)
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

/// Every path under `dir`: relative name, type, mode and content or link target.
pub(super) fn tree(dir: &Path) -> Vec<String> {
    tree_except(dir, &[], |path| {
        format!("{:?}", std::fs::read_to_string(path).expect("read"))
    })
}

/// `tree` without descending into the folders named in `skip` (relative names), each file
/// shown by `content`.
pub(super) fn tree_except(dir: &Path, skip: &[&str], content: fn(&Path) -> String) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&folder)
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        let mut inner = Vec::new();
        for path in entries {
            let rel = path
                .strip_prefix(dir)
                .expect("prefix")
                .display()
                .to_string();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                out.push(format!("{rel} -> {}", target.display()));
            } else if meta.is_dir() {
                out.push(format!("{rel}/ {mode:o}"));
                if !skip.contains(&rel.as_str()) {
                    inner.push(path);
                }
            } else {
                out.push(format!("{rel} {mode:o} {}", content(&path)));
            }
        }
        pending.extend(inner.into_iter().rev());
    }
    out.sort();
    out
}

#[test]
fn ansible_and_recon_leave_the_same_files_and_accept_each_others_work() {
    let sshd = Sshd::start();
    let homes: Vec<PathBuf> = ACCOUNTS.iter().map(|u| ensure_user(u)).collect();
    for (user, home) in ACCOUNTS.iter().zip(&homes) {
        sshd.authorize(user);
        let _ = std::fs::remove_dir_all(home.join("sbs"));
    }
    let p = Project::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ansible_compat/side_by_side");
    p.file(
        "site.yml",
        &std::fs::read_to_string(src.join("site.yml")).expect("site.yml"),
    )
    .file(
        "templates/site.conf.j2",
        &std::fs::read_to_string(src.join("templates/site.conf.j2")).expect("template"),
    )
    .file(
        "inventory/hosts.yml",
        &inventory(&sshd, &ACCOUNTS, &homes, "sbs"),
    );

    ansible_playbook(&p, ACCOUNTS[0]);
    p.recon(&["apply", "site.yml", "--limit", ACCOUNTS[1]])
        .expect_code(0);

    // Paths differ only by the account's home: compare with it replaced.
    let normalised = |i: usize| -> Vec<String> {
        tree(&homes[i].join("sbs"))
            .into_iter()
            .map(|l| {
                l.replace(&homes[i].display().to_string(), "HOME")
                    .replace(ACCOUNTS[i], "USER")
            })
            .collect()
    };
    let (by_ansible, by_recon) = (normalised(0), normalised(1));
    assert!(by_ansible.len() >= 9, "{by_ansible:#?}");
    assert_eq!(by_ansible, by_recon);

    each_accepts_the_others_work(&p, ACCOUNTS);
}
