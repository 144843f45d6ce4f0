//! Registered results side by side: `ansible-playbook` applies
//! `side_by_side_registered/site.yml` to one fresh account and recon to another; the summaries
//! they write from `stdout`, `rc`, `stdout_lines`, loop `results`, ignored failures,
//! `failed_when`, `changed_when` and skipped tasks are identical, and each then finds nothing to
//! change on the account the other converged (recon's queries run while planning).

use std::path::{Path, PathBuf};

use super::side_by_side::{ansible_playbook, each_accepts_the_others_work, inventory, tree};
use crate::harness::accounts::ensure_user;
use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// The accounts this test owns (no other test uses them).
const ACCOUNTS: [&str; 2] = ["recon_sbs3_ansible", "recon_sbs3_recon"];

#[test]
fn registered_results_match_ansible_and_each_accepts_the_other() {
    let sshd = Sshd::start();
    let homes: Vec<PathBuf> = ACCOUNTS.iter().map(|u| ensure_user(u)).collect();
    for (user, home) in ACCOUNTS.iter().zip(&homes) {
        sshd.authorize(user);
        let _ = std::fs::remove_dir_all(home.join("sbs3"));
    }
    let p = Project::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ansible_compat/side_by_side_registered/site.yml");
    p.file("site.yml", &std::fs::read_to_string(src).expect("site.yml"))
        .file(
            "inventory/hosts.yml",
            &inventory(&sshd, &ACCOUNTS, &homes, "sbs3"),
        );

    ansible_playbook(&p, ACCOUNTS[0]);
    p.recon(&["apply", "site.yml", "--limit", ACCOUNTS[1]])
        .expect_code(0)
        .stdout_has("known after apply");

    let normalised = |i: usize| -> Vec<String> {
        tree(&homes[i].join("sbs3"))
            .into_iter()
            .map(|l| {
                l.replace(&homes[i].display().to_string(), "HOME")
                    .replace(ACCOUNTS[i], "USER")
            })
            .collect()
    };
    let (by_ansible, by_recon) = (normalised(0), normalised(1));
    assert!(
        by_ansible.iter().any(|l| l.starts_with("summary.txt")),
        "{by_ansible:#?}"
    );
    assert_eq!(by_ansible, by_recon);

    each_accepts_the_others_work(&p, ACCOUNTS);
}
