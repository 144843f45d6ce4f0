//! `scope: user` on a booted node: a root play enables lingering for a squad account the
//! Ansible way (`command: loginctl enable-linger` with `creates:`); the squad's own play (no
//! sudo) installs a user unit and runs it under its user manager, a changed unit file is
//! reloaded before exactly one restart, and a re-plan is empty. An account without lingering
//! gets a located error naming the fix, and nothing changes for it.
//!
//! The nodes have no `pam_systemd`, so an SSH command session has no `XDG_RUNTIME_DIR` and no
//! session of its own: recon finds the manager by itself, and only lingering keeps one running.

use crate::harness::nodes::{range, Node, Nodes};
use crate::harness::Project;

/// The root play: lingering for the squad (again: nothing to do).
const LINGER: &str = "- hosts: nodes
  tasks:
    - name: squad lingers
      command: loginctl enable-linger squad
      args: { creates: /var/lib/systemd/linger/squad }
";

/// The squad's play: a user unit counting its starts in `~/starts`.
const SQUAD: &str = "- hosts: nodes
  tasks:
    - file: { path: ~/.config/systemd/user, state: directory }
    - name: hello unit
      copy:
        dest: ~/.config/systemd/user/hello.service
        content: |
          [Unit]
          Description=hello
          [Service]
          ExecStartPre=/bin/sh -c 'echo start >> %h/starts'
          ExecStart=/usr/bin/python3 -m http.server {{ port }} --bind 127.0.0.1 --directory /etc
          [Install]
          WantedBy=default.target
      notify: restart hello
    - name: hello runs
      ansible.builtin.systemd: { name: hello, scope: user, state: started, enabled: true }
  handlers:
    - name: restart hello
      systemd_service: { name: hello, scope: user, state: restarted }
";

/// A root play acting as another account.
const AS_ACCOUNT: &str = "- hosts: nodes
  become: true
  become_user: \"{{ who }}\"
  tasks:
    - name: hello as the account
      systemd: { name: hello, scope: user, state: \"{{ state }}\" }
";

/// Creates `user` on the node with the test's key (as root, outside recon).
fn account(nodes: &Nodes, node: &Node, user: &str) {
    let key = std::fs::read_to_string(nodes.key.with_extension("pub")).expect("public key");
    nodes.sh(
        node,
        &format!(
            "useradd -m -s /bin/sh {user} && install -d -m700 -o {user} -g {user} /home/{user}/.ssh && printf '%s\\n' '{}' > /home/{user}/.ssh/authorized_keys && chown {user}: /home/{user}/.ssh/authorized_keys",
            key.trim()
        ),
    );
}

/// `systemctl --user` of `user` on the node, run by root as that user.
fn user_systemctl(nodes: &Nodes, node: &Node, user: &str, args: &str) -> String {
    nodes.sh(
        node,
        &format!("runuser -u {user} -- env XDG_RUNTIME_DIR=/run/user/$(id -u {user}) systemctl --user {args} || true"),
    )
}

/// An inventory of the node as `user`.
fn inventory(nodes: &Nodes, node: &Node, user: &str) -> String {
    format!(
        "all:\n  children:\n    nodes:\n      hosts:\n        {}: {{ {} }}\n",
        node.name,
        nodes.connection(node, user)
    )
}

#[test]
fn user_units_run_under_a_lingering_account_and_a_missing_manager_names_the_fix() {
    let nodes = Nodes::boot(range::USER_SCOPE);
    let node = nodes.all[0].clone();
    account(&nodes, &node, "squad");
    account(&nodes, &node, "lonely");
    let project = Project::new();
    project.file("root.yml", &inventory(&nodes, &node, "root"));
    project.file("squad.yml", &inventory(&nodes, &node, "squad"));
    project.file("lonely.yml", &inventory(&nodes, &node, "lonely"));
    project.file("linger.yml", LINGER);
    project.file("site.yml", SQUAD);

    linger(&nodes, &node, &project);

    let run = |verb: &str, inv: &str, port: &str| {
        let port = format!("port={port}");
        let mut args = vec![verb, "site.yml", "-i", inv, "-e", &port];
        if verb == "plan" {
            args.push("--detailed-exitcode");
        }
        project.recon(&args)
    };
    run("plan", "squad.yml", "8101")
        .expect_code(2)
        .stdout_has("known after apply");
    run("apply", "squad.yml", "8101").expect_code(0);
    assert_eq!(
        user_systemctl(&nodes, &node, "squad", "is-active hello"),
        "active"
    );
    assert_eq!(
        user_systemctl(&nodes, &node, "squad", "is-enabled hello"),
        "enabled"
    );
    let pid = user_systemctl(&nodes, &node, "squad", "show -p MainPID --value hello");
    assert_eq!(
        nodes.sh(&node, &format!("ps -o user= -p {pid}")),
        "squad",
        "it runs as the squad"
    );
    let answers = |port: u16| {
        nodes
            .run(
                &node,
                &format!("for i in $(seq 50); do curl -sf http://127.0.0.1:{port}/hostname && exit 0; sleep 0.2; done; exit 1"),
            )
            .status
            .success()
    };
    assert!(answers(8101));
    let starts = || -> u32 {
        let count = nodes.sh(&node, "grep -c start /home/squad/starts");
        count.parse().expect("a count")
    };
    // The first apply starts it, then runs the handler the new unit file notified (as
    // Ansible does); what follows counts from here.
    let before = starts();

    run("apply", "squad.yml", "8102").expect_code(0);
    assert!(answers(8102), "the new unit definition runs");
    assert_eq!(
        user_systemctl(
            &nodes,
            &node,
            "squad",
            "show -p NeedDaemonReload --value hello"
        ),
        "no"
    );
    assert_eq!(starts(), before + 1, "exactly one restart");
    run("plan", "squad.yml", "8102").expect_code(0);

    refusals(&nodes, &node, &project);
}

/// The root play lingers the squad (and finds nothing to do again); logind then starts the
/// squad's manager, whose socket is waited for.
fn linger(nodes: &Nodes, node: &Node, project: &Project) {
    project
        .recon(&["apply", "linger.yml", "-i", "root.yml"])
        .expect_code(0);
    assert_eq!(
        nodes.sh(node, "stat -c %n /var/lib/systemd/linger/squad"),
        "/var/lib/systemd/linger/squad"
    );
    project
        .recon(&[
            "plan",
            "linger.yml",
            "-i",
            "root.yml",
            "--detailed-exitcode",
        ])
        .expect_code(0);
    // logind starts the manager when lingering is enabled; wait for its socket.
    nodes.sh(
        node,
        "for i in $(seq 100); do [ -S /run/user/$(id -u squad)/systemd/private ] && exit 0; sleep 0.1; done; exit 1",
    );
}

/// Root acting as the squad (`sudo -u`: no session, no XDG_RUNTIME_DIR) reaches the same
/// manager, in the probe and in the steps; an account with no manager, or one only its session
/// keeps, is refused, located, naming the fix, and nothing is written for it.
fn refusals(nodes: &Nodes, node: &Node, project: &Project) {
    project.file("as.yml", AS_ACCOUNT);
    let as_account = |verb: &str, who: &str, state: &str| {
        let (who, state) = (format!("who={who}"), format!("state={state}"));
        let mut args = vec![verb, "as.yml", "-i", "root.yml", "-e", &who, "-e", &state];
        if verb == "plan" {
            args.push("--detailed-exitcode");
        }
        project.recon(&args)
    };
    as_account("plan", "squad", "started").expect_code(0);
    as_account("apply", "squad", "stopped").expect_code(0);
    assert_eq!(
        user_systemctl(nodes, node, "squad", "is-active hello"),
        "inactive"
    );
    as_account("apply", "squad", "started").expect_code(0);
    assert_eq!(
        user_systemctl(nodes, node, "squad", "is-active hello"),
        "active"
    );
    as_account("plan", "squad", "started").expect_code(0);
    // An account that never logged in and does not linger has no manager at all.
    account(nodes, node, "ghost");
    let ghost = as_account("plan", "ghost", "started");
    assert_ne!(ghost.code, 0, "{ghost:?}");
    let all = format!("{}{}", ghost.stdout, ghost.stderr);
    assert!(
        all.contains("`ghost` has no running systemd user manager")
            && all.contains("loginctl enable-linger ghost"),
        "names the fix:\n{all}"
    );

    // A session but no lingering: the manager would stop with the session. A located error
    // naming the fix, and nothing written.
    let lonely = project.recon(&["apply", "site.yml", "-i", "lonely.yml", "-e", "port=8103"]);
    assert_ne!(lonely.code, 0);
    let all = format!("{}{}", lonely.stdout, lonely.stderr);
    assert!(
        all.contains("loginctl enable-linger lonely"),
        "names the fix:\n{all}"
    );
    assert!(all.contains("hello runs"), "located at the task:\n{all}");
    assert_eq!(
        nodes.sh(
            node,
            "ls -A /home/lonely/.config 2>/dev/null; pgrep -u lonely -f http.server | wc -l"
        ),
        "0"
    );
}
