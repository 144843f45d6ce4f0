//! Delegation side by side: `ansible-playbook` applies `side_by_side_delegate/site.yml` to one
//! web account that delegates to its lb account, recon to another pair. The files they leave on
//! the web and on the lb (made over the lb's connection, from the web's variables) are the same,
//! a handler a delegated task notifies runs on the web for both, a loop whose items delegate to
//! the lb and to the web registers the same result, and then each finds nothing to change where
//! the other converged.

use std::path::{Path, PathBuf};

use super::side_by_side::{ansible_playbook, each_accepts_the_others_work, inventory, tree};
use crate::harness::accounts::ensure_user;
use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// The accounts this test owns (no other test uses them): Ansible's web and lb, recon's.
const WEBS: [&str; 2] = ["recon_sbsd_aweb", "recon_sbsd_rweb"];
const LBS: [&str; 2] = ["recon_sbsd_alb", "recon_sbsd_rlb"];

#[test]
fn delegated_tasks_match_ansible_and_each_accepts_the_other() {
    let sshd = Sshd::start();
    let accounts: Vec<&str> = WEBS.iter().chain(&LBS).copied().collect();
    let homes: Vec<PathBuf> = accounts.iter().map(|u| ensure_user(u)).collect();
    for (user, home) in accounts.iter().zip(&homes) {
        sshd.authorize(user);
        let _ = std::fs::remove_dir_all(home.join("sbsd"));
    }
    let p = Project::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ansible_compat/side_by_side_delegate/site.yml");
    p.file("site.yml", &std::fs::read_to_string(src).expect("site.yml"))
        .file(
            "inventory/hosts.yml",
            &inventory(&sshd, &accounts, &homes, "sbsd"),
        );
    for (web, lb) in WEBS.iter().zip(LBS) {
        p.file(
            &format!("inventory/host_vars/{web}.yml"),
            &format!("lb: {lb}\ncolour: blue\n"),
        )
        .file(&format!("inventory/host_vars/{lb}.yml"), "colour: red\n");
    }

    ansible_playbook(&p, WEBS[0]);
    p.recon(&["apply", "site.yml", "--limit", WEBS[1]])
        .expect_code(0)
        .stdout_has("(delegated to recon_sbsd_rlb)");

    // Side `i`'s tree under `home`, its account names and homes made generic.
    let normalised = |i: usize, home: &Path| -> Vec<String> {
        tree(&home.join("sbsd"))
            .into_iter()
            .map(|l| {
                l.replace(&homes[i].display().to_string(), "WEBHOME")
                    .replace(&homes[i + 2].display().to_string(), "LBHOME")
                    .replace(WEBS[i], "WEB")
                    .replace(LBS[i], "LB")
            })
            .collect()
    };
    for (web_or_lb, side) in [(0, "web"), (2, "lb")] {
        let by_ansible = normalised(0, &homes[web_or_lb]);
        let by_recon = normalised(1, &homes[web_or_lb + 1]);
        assert!(!by_ansible.is_empty(), "nothing on Ansible's {side}");
        assert_eq!(by_ansible, by_recon, "the {side}s differ");
    }
    let told = std::fs::read_to_string(homes[3].join("sbsd/from-web.txt")).expect("read");
    assert_eq!(
        told,
        format!("colour=blue base={}/sbsd\n", homes[1].display())
    );
    let who = std::fs::read_to_string(homes[1].join("sbsd/who.txt")).expect("read");
    assert_eq!(who, format!("{} 0\n", LBS[1]));
    // The handler the delegated task notified ran on the web, as the web's account.
    let reloaded = std::fs::read_to_string(homes[1].join("sbsd/reloaded.txt")).expect("read");
    assert_eq!(reloaded, format!("{}\n", WEBS[1]));
    // A loop whose items delegate to the lb and to the web itself: one file on each.
    let looped = std::fs::read_to_string(homes[1].join("sbsd/looped.txt")).expect("read");
    assert_eq!(looped, format!("{},{} 2\n", LBS[1], WEBS[1]));

    each_accepts_the_others_work(&p, WEBS);
}
