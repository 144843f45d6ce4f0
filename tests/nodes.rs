//! The node harness itself (`tests/harness/nodes.rs`): a booted systemd machine answers recon
//! over SSH as a sudo account, and tearing it down leaves nothing behind.

use std::path::Path;

use crate::harness::nodes::{range, Nodes};
use crate::harness::Project;

#[test]
fn nodes_selftest_boots_deploys_and_leaves_nothing() {
    let nodes = Nodes::boot(range::SELFTEST);
    let node = nodes.all[0].clone();
    assert_eq!(nodes.sh(&node, "systemctl is-system-running"), "running");
    let project = Project::new();
    project.file("inventory/hosts.yml", &nodes.inventory("deploy"));
    project.file(
        "site.yml",
        "- hosts: nodes\n  become: true\n  tasks:\n    - copy: { dest: /etc/recon-hello, content: \"{{ ansible_hostname }}\\n\", mode: '0644' }\n",
    );
    project
        .recon(&["apply", "site.yml", "-i", "inventory/hosts.yml"])
        .expect_code(0);
    assert_eq!(
        nodes.sh(&node, "stat -c %U:%a /etc/recon-hello"),
        "root:644"
    );
    assert_eq!(nodes.sh(&node, "cat /etc/recon-hello"), node.name);
    project
        .recon(&[
            "plan",
            "site.yml",
            "-i",
            "inventory/hosts.yml",
            "--detailed-exitcode",
        ])
        .expect_code(0);
    let veth = node.veth();
    drop(nodes);
    let links = std::process::Command::new("ip")
        .args(["-o", "link"])
        .output()
        .expect("ip");
    assert!(!String::from_utf8_lossy(&links.stdout).contains(&format!("{veth}@")));
    let mounts = std::fs::read_to_string("/proc/mounts").expect("mounts");
    assert!(
        !mounts.contains(&format!("/{}/merged", node.name)),
        "{mounts}"
    );
    assert!(!Path::new("/var/tmp/recon-nodes/run")
        .join(&node.name)
        .exists());
    assert!(!Path::new("/sys/fs/cgroup/unified/recon-nodes")
        .join(&node.name)
        .exists());
}
