//! `apt: upgrade` on a real apt (a booted node): a dummy package built with `dpkg-deb` is
//! installed at 1.0 and a local file repository (the node's only apt source) offers newer
//! versions. The plan lists the upgrade from apt-get's simulation and changes nothing, the
//! apply upgrades it, and the next plan is converged. Nothing on this machine is upgraded:
//! only the node's apt runs.

use crate::harness::nodes::{range, Node, Nodes};
use crate::harness::Project;

/// Shell that builds `recon-dummy` VERSION (a control file, no contents) into `dir`.
fn build_deb(version: &str, dir: &str) -> String {
    format!(
        "mkdir -p /tmp/pkg-{version}/DEBIAN {dir} && printf 'Package: recon-dummy\\nVersion: {version}\\nArchitecture: all\\nMaintainer: recon tests <t@example.test>\\nDescription: a dummy package for apt upgrade tests\\n' > /tmp/pkg-{version}/DEBIAN/control && dpkg-deb -b /tmp/pkg-{version} {dir}/recon-dummy_{version}_all.deb >/dev/null"
    )
}

/// Adds `recon-dummy` VERSION to the node's file repository and refreshes apt's lists.
fn offer(nodes: &Nodes, node: &Node, version: &str) {
    nodes.sh(node, &build_deb(version, "/srv/repo"));
    nodes.sh(
        node,
        "cd /srv/repo && for f in *.deb; do dpkg-deb -f $f; printf 'Filename: ./%s\\nSize: %s\\nSHA256: %s\\n\\n' $f $(stat -c %s $f) $(sha256sum $f | cut -d' ' -f1); done > Packages && apt-get update -q >/dev/null",
    );
}

fn installed(nodes: &Nodes, node: &Node) -> String {
    nodes.sh(node, "dpkg-query -W -f='${Version}' recon-dummy")
}

#[test]
fn apt_upgrade_plans_from_the_simulation_applies_and_converges() {
    let nodes = Nodes::boot(range::APT_UPGRADE);
    let node = nodes.all[0].clone();
    nodes.sh(&node, &build_deb("1.0", "/tmp"));
    nodes.sh(&node, "dpkg -i /tmp/recon-dummy_1.0_all.deb >/dev/null");
    nodes.sh(
        &node,
        "rm -f /etc/apt/sources.list.d/* && echo 'deb [trusted=yes] file:/srv/repo ./' > /etc/apt/sources.list",
    );
    offer(&nodes, &node, "2.0");
    let project = Project::new();
    project.file("inventory/hosts.yml", &nodes.inventory("root"));
    let recon = |verb: &str| project.recon(&[verb, "site.yml", "-i", "inventory/hosts.yml"]);
    let play = |args: &str| {
        project.file(
            "site.yml",
            &format!("- hosts: nodes\n  tasks:\n    - apt: {{ {args} }}\n"),
        );
    };

    // `upgrade: no` is nothing to do; a name beside an upgrade is refused, located.
    play("upgrade: no");
    recon("plan").expect_code(0).stdout_has("No changes");
    play("upgrade: dist, name: recon-dummy");
    let refused = recon("plan");
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("site.yml:3:"), "{}", refused.stderr);

    play("upgrade: safe");
    recon("plan")
        .expect_code(0)
        .stdout_has("recon-dummy 1.0 -> recon-dummy 2.0");
    assert_eq!(installed(&nodes, &node), "1.0", "plan changes nothing");
    recon("apply").expect_code(0);
    assert_eq!(installed(&nodes, &node), "2.0");
    recon("plan").expect_code(0).stdout_has("No changes");

    offer(&nodes, &node, "3.0");
    play("upgrade: dist");
    recon("plan")
        .expect_code(0)
        .stdout_has("recon-dummy 2.0 -> recon-dummy 3.0");
    recon("apply").expect_code(0);
    assert_eq!(installed(&nodes, &node), "3.0");
    recon("plan").expect_code(0).stdout_has("No changes");
}
