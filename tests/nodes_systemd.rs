//! `service` on real systemd (a booted node): a unit file the play writes is known after apply
//! on the first run, a changed unit file is reloaded (`daemon-reload`) before its notified
//! restart, which happens exactly once, and a failed start shows the unit's status and journal;
//! a masked unit is stopped first, cannot be started, and is unmasked before it starts again.

use crate::harness::nodes::{range, Nodes};
use crate::harness::Project;

const PLAY: &str = "- hosts: nodes
  tasks:
    - name: hello unit
      copy:
        dest: /etc/systemd/system/hello.service
        content: |
          [Unit]
          Description=hello
          [Service]
          ExecStart=/usr/bin/python3 -m http.server {{ port }} --bind 127.0.0.1 --directory /etc
          [Install]
          WantedBy=multi-user.target
      notify: restart hello
    - systemd: { name: hello, state: started, enabled: true }
  handlers:
    - name: restart hello
      ansible.builtin.systemd_service: { name: hello, state: restarted }
";

const BROKEN: &str = "- hosts: nodes
  tasks:
    - copy:
        dest: /etc/systemd/system/broken.service
        content: |
          [Service]
          Type=oneshot
          ExecStart=/bin/sh -c 'echo boom-from-the-unit; exit 3'
    - name: start broken
      service: { name: broken, state: started }
";

/// What `curl` on the node gets from the hello unit on `port` (retried: python needs a moment).
fn answers(nodes: &Nodes, node: &crate::harness::nodes::Node, port: u16) -> bool {
    let out = nodes.run(
        node,
        &format!("for i in $(seq 50); do curl -sf http://127.0.0.1:{port}/hostname && exit 0; sleep 0.2; done; exit 1"),
    );
    out.status.success()
}

#[test]
fn systemd_unit_changes_reload_before_one_restart_and_failures_show_the_journal() {
    let nodes = Nodes::boot(range::SYSTEMD_UNITS);
    let node = nodes.all[0].clone();
    let project = Project::new();
    project.file("inventory/hosts.yml", &nodes.inventory("root"));
    project.file("site.yml", PLAY);
    let inv = ["-i", "inventory/hosts.yml"];
    let run = |verb: &str, port: &str| {
        let mut args = vec![verb, "site.yml", inv[0], inv[1], "-e"];
        let port = format!("port={port}");
        args.push(&port);
        project.recon(&args)
    };
    run("plan", "8001")
        .expect_code(0)
        .stdout_has("known after apply");
    run("apply", "8001").expect_code(0);
    assert!(answers(&nodes, &node, 8001));
    assert_eq!(nodes.sh(&node, "systemctl is-enabled hello"), "enabled");
    let starts = || {
        nodes.sh(
            &node,
            "journalctl -u hello -o cat | grep -c '^Started hello.service' || true",
        )
    };
    let before: u32 = starts().parse().expect("a count");

    run("apply", "8002").expect_code(0);
    assert!(answers(&nodes, &node, 8002), "the new unit definition runs");
    assert_eq!(
        nodes.sh(&node, "systemctl show -p NeedDaemonReload --value hello"),
        "no"
    );
    let after: u32 = starts().parse().expect("a count");
    assert_eq!(after, before + 1, "exactly one restart");
    let mut args = vec!["plan", "site.yml", inv[0], inv[1], "-e", "port=8002"];
    args.push("--detailed-exitcode");
    project.recon(&args).expect_code(0);

    project.file("broken.yml", BROKEN);
    let failed = project.recon(&["apply", "broken.yml", inv[0], inv[1]]);
    assert_ne!(failed.code, 0);
    let all = format!("{}{}", failed.stdout, failed.stderr);
    assert!(all.contains("start broken"), "located at the task:\n{all}");
    assert!(all.contains("boom-from-the-unit"), "journal lines:\n{all}");
    assert!(all.contains("broken.service"), "systemctl status:\n{all}");
}

/// A unit as a package ships it (in `/usr/lib`, where `systemctl mask` can shadow it).
const MASKABLE: &str = "- hosts: nodes
  tasks:
    - copy:
        dest: /usr/lib/systemd/system/maskme.service
        content: |
          [Service]
          ExecStart=/bin/sleep infinity
    - ansible.builtin.systemd: { name: maskme, state: \"{{ state }}\", masked: \"{{ masked }}\" }
";

#[test]
fn systemd_masked_units_are_stopped_then_masked_and_unmasked_before_they_start() {
    let nodes = Nodes::boot(range::SYSTEMD_MODULE);
    let node = nodes.all[0].clone();
    let project = Project::new();
    project.file("inventory/hosts.yml", &nodes.inventory("root"));
    project.file("site.yml", MASKABLE);
    let run = |verb: &str, state: &str, masked: &str| {
        let (state, masked) = (format!("state={state}"), format!("masked={masked}"));
        let mut args = vec![verb, "site.yml", "-i", "inventory/hosts.yml"];
        args.extend(["-e", &state, "-e", &masked]);
        if verb == "plan" {
            args.push("--detailed-exitcode");
        }
        project.recon(&args)
    };
    run("apply", "started", "false").expect_code(0);
    assert_eq!(nodes.sh(&node, "systemctl is-active maskme"), "active");

    run("plan", "stopped", "true")
        .expect_code(2)
        .stdout_has("masked: no -> yes");
    run("apply", "stopped", "true").expect_code(0);
    assert_eq!(
        nodes.sh(&node, "systemctl is-enabled maskme || true"),
        "masked"
    );
    assert_eq!(
        nodes.sh(&node, "systemctl is-active maskme || true"),
        "inactive"
    );
    assert!(
        !nodes.run(&node, "systemctl start maskme").status.success(),
        "nothing starts a masked unit"
    );
    run("plan", "stopped", "true").expect_code(0);

    // Masked and running at once cannot hold: a located error, nothing changes.
    let both = run("plan", "started", "true");
    assert_ne!(both.code, 0);
    assert!(
        format!("{}{}", both.stdout, both.stderr).contains("site.yml:8:"),
        "{both:?}"
    );

    run("apply", "started", "false").expect_code(0);
    assert_eq!(nodes.sh(&node, "systemctl is-active maskme"), "active");
    run("plan", "started", "false").expect_code(0);
}
