//! `blockinfile` and `cron` side by side: `ansible-playbook` applies
//! `side_by_side_blocks/site.yml` to one fresh account and recon to another (files seeded the
//! same way in both), then the files, modes and crontabs they leave are compared, and each
//! finds nothing to change on the account the other converged. recon's account also starts
//! with an entry in recon's old `# recon: NAME` form, which must migrate in place to Ansible's
//! marker exactly where Ansible adopts the same unmarked job.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::side_by_side::{ansible_playbook, each_accepts_the_others_work, inventory, tree};
use crate::harness::accounts::ensure_user;
use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// The accounts this test owns (no other test uses them).
const ACCOUNTS: [&str; 2] = ["recon_sbs2_ansible", "recon_sbs2_recon"];

/// Files both accounts start with: one without a final newline, one with blocks to replace and
/// remove, one with a block that an empty `block` removes.
const SEEDS: &[(&str, &str)] = &[
    ("existing.conf", "[server]\nport=80\n[client]\nname=x"),
    (
        "withblocks.conf",
        "top\n# BEGIN OLD\nold line\n# END OLD\nmiddle\n# BEGIN ANSIBLE MANAGED BLOCK\nstale\n# END ANSIBLE MANAGED BLOCK\nbottom\n",
    ),
    ("empty.conf", "a\n# BEGIN E\nx\n# END E\nb\n"),
    (
        "lines.conf",
        "[a]\nkey=1\n[b]\nkey=2\n# port 80\nlast\nno newline at the end",
    ),
];

/// The crontab each account starts with: a variable, the job of `legacy` (unmarked for
/// Ansible, which adopts it; in recon's old form for recon), and an entry Ansible made that
/// the playbook removes.
fn seed_crontab(i: usize) -> String {
    let legacy = if i == 0 { "" } else { "# recon: legacy\n" };
    format!("MAILTO=\"\"\n{legacy}* 4 * * * echo legacy\n#Ansible: gone\n@daily echo gone\n")
}

fn run(cmd: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn crontab(user: &str) -> String {
    run("crontab", &["-u", user, "-l"], None)
}

/// A fresh `base` folder with the seed files, owned by `user`, and its seeded crontab.
fn seed(i: usize, home: &Path) -> PathBuf {
    let user = ACCOUNTS[i];
    let base = home.join("sbs2");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("base");
    for (name, text) in SEEDS {
        std::fs::write(base.join(name), text).expect("seed");
    }
    std::fs::create_dir_all(base.join("cron.d")).expect("cron.d");
    run(
        "chmod",
        &["-R", "u=rwX,go=rX", &base.display().to_string()],
        None,
    );
    run(
        "chown",
        &["-R", &format!("{user}:{user}"), &base.display().to_string()],
        None,
    );
    run("crontab", &["-u", user, "-"], Some(&seed_crontab(i)));
    base
}

#[test]
fn blockinfile_and_cron_entries_match_ansible_and_each_accepts_the_other() {
    let sshd = Sshd::start();
    let homes: Vec<PathBuf> = ACCOUNTS.iter().map(|u| ensure_user(u)).collect();
    let bases: Vec<PathBuf> = homes
        .iter()
        .enumerate()
        .map(|(i, home)| {
            sshd.authorize(ACCOUNTS[i]);
            seed(i, home)
        })
        .collect();
    let p = Project::new();
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ansible_compat/side_by_side_blocks");
    p.file(
        "site.yml",
        &std::fs::read_to_string(src.join("site.yml")).expect("site.yml"),
    )
    .file(
        "inventory/hosts.yml",
        &inventory(&sshd, &ACCOUNTS, &homes, "sbs2"),
    );

    ansible_playbook(&p, ACCOUNTS[0]);
    let applied = p.recon(&["apply", "site.yml", "--limit", ACCOUNTS[1]]);
    applied
        .expect_code(0)
        .stdout_has("-# recon: legacy")
        .stdout_has("+#Ansible: legacy");

    let normalised = |i: usize, lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| {
                l.replace(&homes[i].display().to_string(), "HOME")
                    .replace(ACCOUNTS[i], "USER")
            })
            .collect()
    };
    let (by_ansible, by_recon) = (
        normalised(0, tree(&bases[0])),
        normalised(1, tree(&bases[1])),
    );
    assert!(by_ansible.len() >= 7, "{by_ansible:#?}");
    assert_eq!(by_ansible, by_recon);
    let tabs: Vec<String> = (0..2)
        .map(|i| normalised(i, vec![crontab(ACCOUNTS[i])]).concat())
        .collect();
    assert_eq!(
        tabs[0],
        "MAILTO=\"\"\n#Ansible: legacy\n* 4 * * * echo legacy\n#Ansible: backup\n0 2 * * * /usr/local/bin/backup\n#Ansible: boot\n@reboot echo up\n#Ansible: paused\n#*/5 * * * * echo paused\n"
    );
    assert_eq!(tabs[0], tabs[1]);

    each_accepts_the_others_work(&p, ACCOUNTS);
}

/// What recon cannot do as Ansible does is a located error, never a silent difference; a task
/// `block:` with a list is still Ansible's task block beside recon's `block` resource.
#[test]
fn blockinfile_and_cron_refuse_what_they_cannot_match() {
    let p = Project::new();
    let root = p.host_root();
    std::fs::create_dir_all(&root).expect("root");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - cron: name=PATH env=yes job=/usr/bin
    - blockinfile: { path: "{{ root }}/a", block: x, insertafter: EOF, insertbefore: BOF }
    - blockinfile: { path: "{{ root }}/a", block: x, insertafter: "(?<=a)b" }
    - blockinfile: { path: "{{ root }}/a", block: x, marker_begin: 'B\1' }
"#,
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("4 errors")
        .stderr_has("`cron` with `env: yes` (a crontab variable) has no recon equivalent")
        .stderr_has("`insertafter` and `insertbefore` are mutually exclusive")
        .stderr_has("invalid regex")
        .stderr_has("`marker_begin` must not contain a backslash");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - block:
        - blockinfile: { path: "{{ root }}/missing", block: x }
    - block: { path: "{{ root }}/made", block: "x", create: true, validate: "grep -q x %s" }
"#,
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stdout_has("does not exist (Ansible's blockinfile fails here too; set `create: true`");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - block:
        - blockinfile: { path: "{{ root }}/made", block: x, create: yes }
    - block: { path: "{{ root }}/made", block: "y", marker: '# {mark} two', validate: "grep -q y %s" }
"#,
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(
        p.read_host("made"),
        "# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n# BEGIN two\ny\n# END two\n"
    );
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
}
