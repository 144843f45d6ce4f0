//! Rollouts across booted machines: `serial` batches run in order and a failing batch stops the
//! rollout as Ansible decides it (a wholly failed batch, or one over `max_fail_percentage`), the
//! later batches' nodes untouched and reported; two control machines applying to the same node
//! and account at once take turns on its lock (never interleaved, or refused after
//! `--lock-timeout`), and both end converged.

use std::time::{Duration, Instant};

use crate::harness::nodes::{range, Node, Nodes};
use crate::harness::{Project, Run};

/// A project on `nodes` (as root) whose play, with `rollout` keys, marks each node it reaches
/// with `/etc/recon-<mark>` (the time it ran, in ns) unless the node is broken
/// (`/etc/recon-broken` exists there): one step, so a broken node changes nothing.
fn rollout_project(nodes: &Nodes, rollout: &str, mark: &str) -> Project {
    let project = Project::new();
    project.file("inventory/hosts.yml", &nodes.inventory("root"));
    project.file(
        "site.yml",
        &format!(
            "- hosts: nodes\n  {rollout}\n  tasks:\n    - command: sh -c 'test ! -e /etc/recon-broken && date +%s%N > /etc/recon-{mark}'\n      args: {{ creates: /etc/recon-{mark} }}\n"
        ),
    );
    project
}

/// When `node` was marked with `/etc/recon-<mark>` (ns), or none.
fn marked(nodes: &Nodes, node: &Node, mark: &str) -> Option<u128> {
    let out = nodes.run(node, &format!("cat /etc/recon-{mark}"));
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Applies `project`; the run's output (it must fail: a node is broken).
fn apply_failing(project: &Project) -> String {
    let run = project.recon(&["apply", "site.yml", "-i", "inventory/hosts.yml"]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 1, "{all}");
    all
}

#[test]
fn nodes_serial_batches_run_in_order_and_a_failing_batch_stops_the_rollout() {
    let nodes = Nodes::boot(range::SERIAL);
    let started = Instant::now();
    let names: Vec<&str> = nodes.all.iter().map(|n| n.name.as_str()).collect();
    let broken = &nodes.all[1];
    nodes.sh(broken, "touch /etc/recon-broken");

    // `serial: 1`, the second node broken: the first changed, the rollout stops after the
    // second; the third and fourth are untouched and reported.
    let all = apply_failing(&rollout_project(&nodes, "serial: 1", "one"));
    let times: Vec<Option<u128>> = nodes.all.iter().map(|n| marked(&nodes, n, "one")).collect();
    assert!(times[0].is_some(), "{all}");
    assert_eq!(&times[1..], [None, None, None], "{all}");
    for name in &names[2..] {
        assert!(
            all.contains(&format!(
                "host `{name}`: not attempted: an earlier batch failed (batch 2: 1 of 1 host failed)"
            )),
            "{all}"
        );
    }

    // `serial: 2`, no percentage: one failure of two is not the whole batch, so Ansible goes on;
    // the batches ran in order (every node of the first before any of the second).
    apply_failing(&rollout_project(&nodes, "serial: 2", "two"));
    let times: Vec<Option<u128>> = nodes.all.iter().map(|n| marked(&nodes, n, "two")).collect();
    assert!(times[1].is_none(), "the broken node changed nothing");
    let (first, second) = (times[0].expect("rn47"), [times[2], times[3]]);
    for t in second {
        assert!(t.expect("second batch ran") > first, "{times:?}");
    }

    // `serial: 2` with `max_fail_percentage: 40`: 1 of 2 is over it, the rollout stops after the
    // first batch.
    let all = apply_failing(&rollout_project(
        &nodes,
        "serial: 2\n  max_fail_percentage: 40",
        "pct",
    ));
    let times: Vec<Option<u128>> = nodes.all.iter().map(|n| marked(&nodes, n, "pct")).collect();
    assert!(times[0].is_some(), "{all}");
    assert_eq!(&times[1..], [None, None, None], "{all}");
    assert!(
        all.contains(&format!("host `{}`: not attempted: an earlier batch failed (batch 1: 1 of 2 hosts failed, more than max_fail_percentage 40%)", names[3])),
        "{all}"
    );

    // Repaired, the same rollout converges every node, and a plan after it is empty.
    nodes.sh(broken, "rm /etc/recon-broken");
    let project = rollout_project(&nodes, "serial: 2\n  max_fail_percentage: 40", "pct");
    project
        .recon(&["apply", "site.yml", "-i", "inventory/hosts.yml"])
        .expect_code(0);
    assert!(nodes.all.iter().all(|n| marked(&nodes, n, "pct").is_some()));
    project.plans_nothing(&["site.yml", "-i", "inventory/hosts.yml"]);
    eprintln!(
        "serial rollouts: boot {:.1?}, runs {:.1?}",
        nodes.boot_time,
        started.elapsed()
    );
}

/// A control machine of its own (its own HOME and project) whose play runs a 3 s step on the
/// node as root, logging `start <name>`/`end <name>` around it to `/run/recon-lock.log`, once
/// (it creates `/etc/recon-lock-<name>`).
fn controller(nodes: &Nodes, name: &str) -> Project {
    let project = Project::new();
    project.file("inventory/hosts.yml", &nodes.inventory("root"));
    project.file(
        "site.yml",
        &format!(
            "- hosts: nodes\n  tasks:\n    - command: sh -c 'echo start {name} >> /run/recon-lock.log; sleep 3; echo end {name} >> /run/recon-lock.log; touch /etc/recon-lock-{name}'\n      args: {{ creates: /etc/recon-lock-{name} }}\n"
        ),
    );
    project
}

/// Starts `recon apply` in `project` (its own HOME) with `args` added, in a thread of `scope`.
fn apply_in<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    project: &'s Project,
    args: &'s [&'s str],
) -> std::thread::ScopedJoinHandle<'s, Run> {
    scope.spawn(move || {
        let mut all = vec!["apply", "site.yml", "-i", "inventory/hosts.yml"];
        all.extend_from_slice(args);
        project.recon(&all)
    })
}

/// Waits until `/run/recon-lock.log` on `node` has the line `line`.
fn wait_for_line(nodes: &Nodes, node: &Node, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !nodes
        .run(node, &format!("grep -qx '{line}' /run/recon-lock.log"))
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "`{line}` never logged");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn nodes_two_control_machines_take_turns_on_the_lock_and_both_converge() {
    let nodes = Nodes::boot(range::LOCK);
    let node = &nodes.all[0];
    let started = Instant::now();
    let (a, b) = (controller(&nodes, "a"), controller(&nodes, "b"));
    std::thread::scope(|scope| {
        let first = apply_in(scope, &a, &[]);
        wait_for_line(&nodes, node, "start a");
        // b plans while a holds the lock, then waits for it (default timeout 30 s).
        let second = apply_in(scope, &b, &[]);
        let (first, second) = (
            first.join().expect("a's thread"),
            second.join().expect("b's thread"),
        );
        first.expect_code(0);
        second.expect_code(0);
    });
    assert_eq!(
        nodes.sh(node, "cat /run/recon-lock.log"),
        "start a\nend a\nstart b\nend b",
        "the two applies never interleave"
    );

    // A third machine with a short `--lock-timeout` is refused while a fourth holds the lock,
    // naming the holder, and changes nothing; once free, it converges.
    let (c, d) = (controller(&nodes, "c"), controller(&nodes, "d"));
    std::thread::scope(|scope| {
        let holder = apply_in(scope, &c, &[]);
        wait_for_line(&nodes, node, "start c");
        let refused = d.recon(&[
            "apply",
            "site.yml",
            "-i",
            "inventory/hosts.yml",
            "--lock-timeout",
            "1",
        ]);
        refused
            .expect_code(1)
            .stdout_has("host is locked by recon ");
        holder.join().expect("c's thread").expect_code(0);
    });
    assert!(!nodes
        .run(node, "test -e /etc/recon-lock-d")
        .status
        .success());
    d.recon(&["apply", "site.yml", "-i", "inventory/hosts.yml"])
        .expect_code(0);
    assert_eq!(
        nodes.sh(node, "cat /run/recon-lock.log"),
        "start a\nend a\nstart b\nend b\nstart c\nend c\nstart d\nend d"
    );
    for project in [&a, &b, &c, &d] {
        project.plans_nothing(&["site.yml", "-i", "inventory/hosts.yml"]);
    }
    eprintln!(
        "two control machines: boot {:.1?}, runs {:.1?}",
        nodes.boot_time,
        started.elapsed()
    );
}
