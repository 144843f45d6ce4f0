//! `delegate_to` over SSH: two accounts of the test sshd are two inventory hosts; a task of
//! `web` delegated to `lb` runs as `lb`'s account (its connection), with `web`'s variables, while
//! `lb` runs the same play itself, so both applies take `lb`'s lock in turn.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::harness::accounts::ensure_user;

use crate::harness::sshd::Sshd;
use crate::harness::Project;
use crate::ssh::host_entry;

/// The uid that owns `path`.
fn owner(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .uid()
}

/// The two accounts of the test sshd that play `web` and `lb`.
const WEB: &str = "recontestdg_web";
const LB: &str = "recontestdg_lb";

/// A project whose inventory has `web` and `lb` as two accounts of `sshd` (each with its
/// `home` and a `colour`), with each home's `dir` removed: returns it and the two homes.
fn web_and_lb(sshd: &Sshd, dir: &str) -> (Project, PathBuf, PathBuf) {
    let web_home = ensure_user(WEB);
    let lb_home = ensure_user(LB);
    sshd.authorize(WEB);
    sshd.authorize(LB);
    for home in [&web_home, &lb_home] {
        let _ = std::fs::remove_dir_all(home.join(dir));
    }
    let p = Project::new();
    let entry = |name: &str, user: &str, home: &Path| {
        let own = format!(", home: {}, colour: {name}-colour", home.display());
        host_entry(sshd, name, user, &sshd.known_hosts, &own)
    };
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n{}{}",
            entry("web", WEB, &web_home),
            entry("lb", LB, &lb_home)
        ),
    );
    (p, web_home, lb_home)
}

#[test]
fn a_task_delegated_to_another_account_runs_over_its_connection_with_the_hosts_variables() {
    let sshd = Sshd::start();
    let (p, web_home, lb_home) = web_and_lb(&sshd, "dg");
    p.file(
        "site.yml",
        &format!(
            r#"- hosts: all
  tasks:
    - directory: {{ path: "{{{{ home }}}}/dg" }}
    - name: tell the lb
      file:
        path: "{{{{ hostvars['lb'].home }}}}/dg/from-{{{{ inventory_hostname }}}}"
        content: "{{{{ colour }}}}\n"
      delegate_to: lb
    - name: who runs it at the lb
      command: id -un
      changed_when: false
      register: who
      delegate_to: lb
    - file:
        path: "{{{{ home }}}}/dg/lb-account"
        content: "{{{{ who.stdout }}}}\n"
    - local_action: command touch {}/local-{{{{ inventory_hostname }}}} creates={}/local-{{{{ inventory_hostname }}}}
"#,
            p.host_root().display(),
            p.host_root().display()
        ),
    );
    std::fs::create_dir_all(p.host_root()).expect("host root");
    let run = p.recon(&["apply", "site.yml", "--stats"]);
    run.expect_code(0);
    let lb_uid = owner(&lb_home);
    for from in ["web", "lb"] {
        let told = lb_home.join(format!("dg/from-{from}"));
        // Written over lb's connection (its account), with each host's own variables.
        assert_eq!(owner(&told), lb_uid);
        assert_eq!(
            std::fs::read_to_string(&told).expect("read"),
            format!("{from}-colour\n")
        );
    }
    assert!(!web_home.join("dg/from-web").exists());
    // The query ran as lb's account; web's file is web's.
    let web_file = web_home.join("dg/lb-account");
    assert_eq!(
        std::fs::read_to_string(&web_file).expect("read"),
        format!("{LB}\n")
    );
    assert_eq!(owner(&web_file), owner(&web_home));
    // `local_action`: on the control machine, once per host.
    assert!(p.host("local-web").exists() && p.host("local-lb").exists());
    // lb's connection has its own row: web's delegated rounds went over it.
    assert!(
        run.stdout.lines().any(|l| l.starts_with("lb ")),
        "{}",
        run.stdout
    );
    // Converged: every round is probed (the delegated ones on lb) and nothing changes.
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
    std::fs::remove_file(lb_home.join("dg/from-web")).expect("remove");
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(2)
        .stdout_has("dg/from-web (delegated to lb)");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(owner(&lb_home.join("dg/from-web")), lb_uid);
}

#[test]
fn a_handler_a_delegated_task_notifies_runs_as_the_delegating_hosts_account() {
    let sshd = Sshd::start();
    let (p, web_home, lb_home) = web_and_lb(&sshd, "dgh");
    p.file(
        "site.yml",
        r#"- hosts: web
  tasks:
    - directory: { path: "{{ home }}/dgh" }
    - name: pool at the lb
      file:
        path: "{{ hostvars['lb'].home }}/dgh-pool"
        content: "server {{ inventory_hostname }}\n"
      delegate_to: lb
      notify: note the reload
  handlers:
    - name: note the reload
      command: sh -c 'id -un >> "{{ home }}/dgh/reloaded-by"'
"#,
    );
    let _ = std::fs::remove_file(lb_home.join("dgh-pool"));
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(owner(&lb_home.join("dgh-pool")), owner(&lb_home));
    // The handler ran on web (its account, its folder), once; nothing of it on lb.
    let noted = web_home.join("dgh/reloaded-by");
    assert_eq!(
        std::fs::read_to_string(&noted).expect("read"),
        format!("{WEB}\n")
    );
    assert_eq!(owner(&noted), owner(&web_home));
    assert!(!lb_home.join("dgh").exists());
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(
        std::fs::read_to_string(&noted).expect("read"),
        format!("{WEB}\n")
    );
}
