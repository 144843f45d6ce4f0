//! `--shard I/N` and `recon report merge` on real sshds: three nodes with two targets each.
//! The shards cover every target exactly once, keep each node's targets together, and their
//! merged report equals the report of one unsharded run.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

use crate::harness::accounts::ensure_user;

use crate::harness::sshd::Sshd;
use crate::harness::{Project, Run};

/// This file's own account.
const USER: &str = "recon_shard";

const SITE: &str = r#"- name: fleet
  hosts: all
  tasks:
    - directory: { path: "{{ app }}" }
    - file: { path: "{{ app }}/id", content: "{{ inventory_hostname }}\n" }
    - command: { cmd: "echo built {{ inventory_hostname }}; touch {{ app }}/built", creates: "{{ app }}/built" }
- name: second play
  hosts: all
  tasks:
    - file: { path: "{{ app }}/second", content: "2\n" }
"#;

struct Fleet {
    project: Project,
    _nodes: Vec<Sshd>,
    apps: Vec<PathBuf>,
    /// Host names by node, in inventory order.
    by_node: Vec<Vec<String>>,
}

impl Fleet {
    fn new() -> Self {
        let home = ensure_user(USER);
        let nodes: Vec<Sshd> = (0..3).map(|_| Sshd::start()).collect();
        let project = Project::new();
        let mut hosts = String::new();
        let mut apps = Vec::new();
        let mut by_node = vec![Vec::new(); nodes.len()];
        // Interleaved, so the run order is not the shards' order.
        for copy in ["a", "b"] {
            for (i, sshd) in nodes.iter().enumerate() {
                sshd.authorize(USER);
                let name = format!("n{i}{copy}");
                let app = home.join(format!("shard_{name}"));
                let _ = writeln!(
                    hosts,
                    "    {name}: {{ ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: {USER}, ansible_ssh_private_key_file: {}, recon_known_hosts_file: {}, app: {} }}",
                    sshd.port,
                    sshd.client_key.display(),
                    sshd.known_hosts.display(),
                    app.display()
                );
                apps.push(app);
                by_node[i].push(name);
            }
        }
        project
            .file("inventory/hosts.yml", &format!("all:\n  hosts:\n{hosts}"))
            .file("site.yml", SITE);
        let fleet = Self {
            project,
            _nodes: nodes,
            apps,
            by_node,
        };
        fleet.reset();
        fleet
    }

    /// Every target back to nothing deployed.
    fn reset(&self) {
        for app in &self.apps {
            let _ = std::fs::remove_dir_all(app);
        }
    }

    fn apply(&self, shard: Option<&str>) -> (Run, Value) {
        let mut args = vec!["apply", "site.yml", "--json"];
        if let Some(shard) = shard {
            args.extend(["--shard", shard]);
        }
        let run = self.project.recon(&args);
        let value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("json: {e}\n{}\n{}", run.stdout, run.stderr));
        (run, value)
    }

    fn save(&self, name: &str, value: &Value) -> String {
        let path = self.project.dir().join(name);
        std::fs::write(&path, value.to_string()).expect("write report");
        path.display().to_string()
    }
}

/// The hosts a report covers, once per play.
fn hosts(report: &Value) -> Vec<(String, String)> {
    report["report"]
        .as_array()
        .expect("report")
        .iter()
        .map(|r| {
            (
                r["play"].as_str().expect("play").to_owned(),
                r["host"].as_str().expect("host").to_owned(),
            )
        })
        .collect()
}

/// The report without its transport counters (bytes include the applier's pid and timing).
fn without_stats(mut report: Value) -> Value {
    for r in report["report"].as_array_mut().expect("report") {
        r.as_object_mut().expect("object").remove("stats");
    }
    report
}

#[test]
fn shards_cover_every_target_once_by_node_and_merge_into_the_unsharded_report() {
    let fleet = Fleet::new();
    let (run, unsharded) = fleet.apply(None);
    run.expect_code(0);
    assert_eq!(hosts(&unsharded).len(), 12, "6 targets in 2 plays");
    fleet.reset();

    let (one, first) = fleet.apply(Some("1/2"));
    one.expect_code(0);
    let (two, second) = fleet.apply(Some("2/2"));
    two.expect_code(0);
    assert_eq!(first["shard"], "1/2");
    let a: BTreeSet<_> = hosts(&first).into_iter().collect();
    let b: BTreeSet<_> = hosts(&second).into_iter().collect();
    assert!(a.is_disjoint(&b), "no target in two shards: {a:?} {b:?}");
    let all: BTreeSet<_> = hosts(&unsharded).into_iter().collect();
    assert_eq!(
        a.union(&b).cloned().collect::<BTreeSet<_>>(),
        all,
        "every target in one shard"
    );
    for node in &fleet.by_node {
        let in_first = node
            .iter()
            .filter(|h| a.iter().any(|(_, x)| x == *h))
            .count();
        assert!(
            in_first == 0 || in_first == node.len(),
            "a node's targets share a shard: {node:?} {a:?}"
        );
    }
    assert!(!a.is_empty() && !b.is_empty(), "3 nodes over 2 shards");

    let f1 = fleet.save("shard-1.json", &first);
    let f2 = fleet.save("shard-2.json", &second);
    // Any order of files: the merge restores the run order.
    let merged = fleet
        .project
        .recon(&["report", "merge", &f2, &f1, "--json"]);
    merged.expect_code(0);
    let merged: Value = serde_json::from_str(&merged.stdout).expect("merged json");
    assert_eq!(without_stats(merged), without_stats(unsharded));

    // The human recap lists every target.
    let recap = fleet.project.recon(&["report", "merge", &f1, &f2]);
    recap.expect_code(0).stdout_has("HOST");
    for node in &fleet.by_node {
        for host in node {
            recap.stdout_has(&format!("\n{host} "));
        }
    }

    // A missing shard or one merged twice is an error, not a short recap.
    fleet
        .project
        .recon(&["report", "merge", &f1])
        .expect_code(1)
        .stderr_has("is in no report: is a shard missing?");
    fleet
        .project
        .recon(&["report", "merge", &f1, &f1])
        .expect_code(1)
        .stderr_has("is in two reports");

    // Three shards over three nodes: one node each.
    for i in 1..=3 {
        let run =
            fleet
                .project
                .recon(&["plan", "site.yml", "--json", "--shard", &format!("{i}/3")]);
        run.expect_code(0);
        let plan: Value = serde_json::from_str(&run.stdout).expect("plan json");
        let shown: BTreeSet<String> = plan["hosts"]
            .as_array()
            .expect("hosts")
            .iter()
            .map(|h| h["host"].as_str().expect("host").to_owned())
            .collect();
        assert_eq!(shown.len(), 2, "one node's two targets: {shown:?}");
        assert!(
            fleet
                .by_node
                .iter()
                .any(|n| n.iter().cloned().collect::<BTreeSet<_>>() == shown),
            "{shown:?}"
        );
    }
}
