//! Faults across booted machines: a node whose host key changed is refused while the others
//! proceed; a node powered off in the middle of an apply is reported (within the documented
//! dead-peer bound of the SSH transport, never a hang) while the others finish, and the next run
//! converges it; a node cut off by a partition, before the probe or during the apply, is
//! reported within the same bounds and converged once its link is back.

use std::time::{Duration, Instant};

use crate::harness::nodes::{range, Node, Nodes};
use crate::harness::Project;

#[test]
fn nodes_a_changed_host_key_is_refused_and_the_others_proceed() {
    let nodes = Nodes::boot(range::HOST_KEY);
    let (good, changed) = (&nodes.all[0], &nodes.all[1]);
    nodes.rekey(changed);
    let project = Project::new();
    project.file("inventory/hosts.yml", &nodes.inventory("root"));
    project.file(
        "site.yml",
        "- hosts: nodes\n  tasks:\n    - copy: { dest: /etc/recon-mark, content: \"ok\\n\" }\n",
    );
    let run = project.recon(&["apply", "site.yml", "-i", "inventory/hosts.yml"]);
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains(&changed.name) && all.to_lowercase().contains("host key"),
        "{all}"
    );
    assert_eq!(nodes.sh(good, "cat /etc/recon-mark"), "ok");
    let out = nodes.run(changed, "true");
    assert!(
        !out.status.success(),
        "the old key in known_hosts refuses the node"
    );
}

#[test]
fn nodes_a_node_powered_off_during_apply_is_reported_and_converges_next_run() {
    let nodes = Nodes::boot(range::POWER_OFF);
    let victim = nodes.all[1].clone();
    let project = slow_project(&nodes);
    cut_off_mid_apply(&nodes, &project, &victim, || victim.power_off());
    nodes.power_on(&victim);
    converges(&nodes, &project, &victim);
}

#[test]
fn nodes_a_partitioned_node_is_reported_within_bounds_during_plan_and_apply_and_converges_after() {
    let nodes = Nodes::boot(range::PARTITION);
    let (good, cut_off) = (nodes.all[0].clone(), nodes.all[1].clone());
    let project = slow_project(&nodes);

    // Partitioned before the probe: the connection attempt is bounded (10 s connect timeout),
    // the node is reported unreachable, the other one is planned.
    cut_off.link(false);
    let started = Instant::now();
    let plan = project.recon(&["plan", "site.yml", "-i", "inventory/hosts.yml"]);
    let waited = started.elapsed();
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert_ne!(plan.code, 0, "{all}");
    assert!(all.contains(&cut_off.name), "{all}");
    assert!(all.contains(&good.name), "{all}");
    assert!(waited < Duration::from_secs(60), "{waited:?}\n{all}");
    cut_off.link(true);

    // Partitioned in the middle of an apply: the others finish, the cut-off node is reported
    // within the transport's dead-peer bound (~30 s), never a hang.
    cut_off_mid_apply(&nodes, &project, &cut_off, || cut_off.link(false));

    // The link is back: the next run reads the node's real state and converges it.
    cut_off.link(true);
    converges(&nodes, &project, &cut_off);
}

/// A project on `nodes` (as root) whose play runs a 6 s step on every node (marking
/// `/run/recon-started` first) and then writes `/etc/recon-done`: time to cut a node off in
/// the middle of it.
fn slow_project(nodes: &Nodes) -> Project {
    let project = Project::new();
    project.file("inventory/hosts.yml", &nodes.inventory("root"));
    project.file(
        "site.yml",
        "- hosts: nodes\n  tasks:\n    - command: sh -c 'touch /run/recon-started; sleep 6'\n      args: { creates: /etc/recon-done }\n    - copy: { dest: /etc/recon-done, content: \"done\\n\" }\n",
    );
    project
}

/// Starts `recon apply` of `slow_project`'s play, waits until its step runs on `victim`, then
/// `cut`s the victim off. The run must fail naming the victim within 150 s of the cut (the
/// transport's dead-peer bound is ~30 s, src/transport/ssh.rs; generous for a busy CI), and
/// every other node must have finished.
fn cut_off_mid_apply(nodes: &Nodes, project: &Project, victim: &Node, cut: impl FnOnce()) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_recon"))
        .args(["apply", "site.yml", "-i", "inventory/hosts.yml"])
        .current_dir(project.dir())
        .env("HOME", project.dir())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("recon runs");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !nodes
        .run(victim, "test -e /run/recon-started")
        .status
        .success()
    {
        assert!(
            Instant::now() < deadline,
            "the apply never started on {}",
            victim.name
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let at = Instant::now();
    cut();
    let out = child.wait_with_output().expect("recon ends");
    let waited = at.elapsed();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(all.contains(&victim.name), "{all}");
    assert!(waited < Duration::from_secs(150), "{waited:?}\n{all}");
    for node in nodes.all.iter().filter(|n| n.name != victim.name) {
        assert_eq!(nodes.sh(node, "cat /etc/recon-done"), "done", "{all}");
    }
}

/// The next apply finishes `victim`, and a plan afterwards finds nothing to do.
fn converges(nodes: &Nodes, project: &Project, victim: &Node) {
    project
        .recon(&["apply", "site.yml", "-i", "inventory/hosts.yml"])
        .expect_code(0);
    assert_eq!(nodes.sh(victim, "cat /etc/recon-done"), "done");
    project
        .recon(&[
            "plan",
            "site.yml",
            "-i",
            "inventory/hosts.yml",
            "--detailed-exitcode",
        ])
        .expect_code(0);
}
