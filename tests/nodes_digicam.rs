//! The digicam seed system on booted machines, as a team runs it: recon first provisions each
//! node as root (`playbooks/digicam-node.yml`: the squads' accounts, nginx and supervisord under
//! systemd, the sudo rule), then deploys the app as each squad (`playbooks/digicam.yml`, blue/
//! green under supervisord). Every squad must answer through its own node's nginx with its own
//! identity and the deployed version, and a plan afterwards finds nothing to do on any node.
//! The systemd variant (`playbooks/digicam-systemd.yml`) runs each squad's app as a unit of its
//! own, restarted exactly once per release change.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::harness::nodes::{range, Node, Nodes};
use crate::harness::Project;

const SQUADS: [&str; 3] = ["alpha", "bravo", "charlie"];

/// Booted nodes and a project holding the repository's playbooks, roles and the release
/// tarballs, with an inventory of the nodes (as root, group `digicam_nodes`) and of every squad
/// on every node (group `squads`, `<node>-<squad>`).
pub(crate) struct Fleet {
    pub(crate) nodes: Nodes,
    pub(crate) project: Project,
}

impl Fleet {
    /// Boots `range` and writes the inventory; `squad_vars` are added to the squads' group vars
    /// (YAML lines, indented for it). The squads' targets log in as the squad, or as root when
    /// `as_root` (their `app_user` names the squad's account either way).
    pub(crate) fn new(range: (u8, u8), squad_vars: &str, as_root: bool) -> Self {
        let nodes = Nodes::boot(range);
        let project = Project::new();
        let releases = project.digicam();
        let public = std::fs::read_to_string(nodes.key.with_extension("pub")).expect("key.pub");
        let mut roots = String::new();
        let mut squads = String::new();
        for node in &nodes.all {
            let _ = writeln!(
                roots,
                "        {}: {{ {} }}",
                node.name,
                nodes.connection(node, "root")
            );
            for (i, squad) in SQUADS.iter().enumerate() {
                let account = format!("squad_{squad}");
                let user = if as_root { "root" } else { account.as_str() };
                let _ = writeln!(
                    squads,
                    "        {}: {{ {}, app_user: {account}, home: /home/{account}, app_port: {}, domain: api.digicam.{squad}.test }}",
                    target(node, squad),
                    nodes.connection(node, user),
                    9101 + i
                );
            }
        }
        project.file(
            "inventory/hosts.yml",
            &format!(
                "all:\n  children:\n    digicam_nodes:\n      vars:\n        squad_key: \"{}\"\n      hosts:\n{roots}    squads:\n      vars:\n        nginx_port: 8088\n        nginx_conf: /etc/nginx/nginx.conf\n        supervisorctl: supervisorctl -c /etc/supervisor/supervisord.conf\n        release_dir: {}\n        health_timeout: 15\n{squad_vars}      hosts:\n{squads}",
                public.trim(),
                releases.display()
            ),
        );
        Self { nodes, project }
    }

    /// `recon <verb> playbooks/<playbook> -i inventory/hosts.yml <more>`.
    pub(crate) fn recon(&self, verb: &str, playbook: &str, more: &[&str]) -> crate::harness::Run {
        let playbook = format!("playbooks/{playbook}");
        let mut args = vec![verb, playbook.as_str(), "-i", "inventory/hosts.yml"];
        args.extend_from_slice(more);
        self.project.recon(&args)
    }

    /// Applies `playbook` (exit 0 expected); how long it took.
    pub(crate) fn apply(&self, playbook: &str, more: &[&str]) -> Duration {
        let started = Instant::now();
        let run = self.recon("apply", playbook, more);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        started.elapsed()
    }

    /// A plan of `playbook` finds nothing to do on any node.
    pub(crate) fn plans_nothing(&self, playbook: &str, more: &[&str]) {
        let playbook = format!("playbooks/{playbook}");
        let mut args = vec![playbook.as_str(), "-i", "inventory/hosts.yml"];
        args.extend_from_slice(more);
        self.project.plans_nothing(&args);
    }

    /// The /health answer of `squad` on `node` through the node's nginx (as JSON), retried a
    /// few seconds.
    pub(crate) fn health(&self, node: &Node, squad: &str) -> serde_json::Value {
        let out = self.nodes.run(
            node,
            &format!("for i in $(seq 30); do curl -sf -H 'Host: api.digicam.{squad}.test' http://127.0.0.1:8088/health && exit 0; sleep 0.2; done; exit 1"),
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "{}/{squad} does not answer: {}{}",
                node.name,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Every squad on every node answers through its node's nginx, as itself, running `version`
    /// (the app reports it without its `v`).
    pub(crate) fn all_answer(&self, version: &str) {
        for node in &self.nodes.all {
            for squad in SQUADS {
                let health = self.health(node, squad);
                assert_eq!(health["squad"], target(node, squad), "{health}");
                assert_eq!(
                    health["version"],
                    version.trim_start_matches('v'),
                    "{health}"
                );
            }
        }
    }
}

/// The inventory name of `squad` on `node`.
pub(crate) fn target(node: &Node, squad: &str) -> String {
    format!("{}-{squad}", node.name)
}

#[test]
fn nodes_digicam_four_nodes_three_squads_each_provisioned_deployed_and_converged() {
    let fleet = Fleet::new(range::DIGICAM, "", false);
    let provision = fleet.apply("digicam-node.yml", &[]);
    for node in &fleet.nodes.all {
        assert_eq!(
            fleet.nodes.sh(node, "systemctl is-active nginx supervisor"),
            "active\nactive"
        );
    }
    let deploy = fleet.apply("digicam.yml", &["-e", "version=v1.0.1"]);
    fleet.all_answer("v1.0.1");
    for node in &fleet.nodes.all {
        let programs = fleet.nodes.sh(
            node,
            "supervisorctl -c /etc/supervisor/supervisord.conf status | grep -c RUNNING",
        );
        assert_eq!(programs, "3", "one live slot per squad on {}", node.name);
    }
    let started = Instant::now();
    fleet.plans_nothing("digicam-node.yml", &[]);
    fleet.plans_nothing("digicam.yml", &["-e", "version=v1.0.1"]);
    eprintln!(
        "digicam on 4 nodes x 3 squads: boot {:.1?}, provision {provision:.1?}, deploy {deploy:.1?}, re-plans {:.1?}",
        fleet.nodes.boot_time,
        started.elapsed()
    );
}

/// How many times systemd started `unit` on `node` (its journal's `Started` lines).
fn starts(fleet: &Fleet, node: &Node, unit: &str) -> usize {
    fleet
        .nodes
        .sh(
            node,
            &format!("journalctl -u {unit} -o cat | grep -c '^Started ' || true"),
        )
        .parse()
        .expect("a count")
}

#[test]
fn nodes_digicam_systemd_units_per_squad_restart_once_per_release_and_converge() {
    let fleet = Fleet::new(range::DIGICAM_SYSTEMD, "", true);
    let provision = fleet.apply("digicam-node.yml", &[]);
    let first = fleet.apply("digicam-systemd.yml", &["-e", "version=v1.0.0"]);
    fleet.all_answer("v1.0.0");
    let units: Vec<(Node, String)> = fleet
        .nodes
        .all
        .iter()
        .flat_map(|n| {
            SQUADS
                .iter()
                .map(|s| (n.clone(), format!("digicam-{}", target(n, s))))
        })
        .collect();
    let mut before = Vec::new();
    for (node, unit) in &units {
        assert_eq!(
            fleet.nodes.sh(
                node,
                &format!("systemctl is-enabled {unit}; systemctl is-active {unit}")
            ),
            "enabled\nactive"
        );
        let user = fleet.nodes.sh(
            node,
            &format!("ps -o user= -p $(systemctl show -p MainPID --value {unit})"),
        );
        assert!(user.starts_with("squad_"), "{unit} runs as {user}");
        before.push(starts(&fleet, node, unit));
    }
    fleet.plans_nothing("digicam-systemd.yml", &["-e", "version=v1.0.0"]);

    let upgrade = fleet.apply("digicam-systemd.yml", &["-e", "version=v1.0.1"]);
    fleet.all_answer("v1.0.1");
    for ((node, unit), was) in units.iter().zip(before) {
        assert_eq!(
            starts(&fleet, node, unit),
            was + 1,
            "{unit} restarted exactly once"
        );
    }
    let started = Instant::now();
    fleet.plans_nothing("digicam-node.yml", &[]);
    fleet.plans_nothing("digicam-systemd.yml", &["-e", "version=v1.0.1"]);
    eprintln!(
        "digicam as systemd units on 2 nodes x 3 squads: boot {:.1?}, provision {provision:.1?}, first deploy {first:.1?}, upgrade {upgrade:.1?}, re-plans {:.1?}",
        fleet.nodes.boot_time,
        started.elapsed()
    );
}
