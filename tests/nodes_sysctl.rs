//! `sysctl` on a booted node's kernel: a network parameter of the node's own namespace
//! (writable there, as nspawn leaves `/proc/sys/net` to a node with its own network) is written
//! to a sysctl file and loaded with `sysctl -p`; a running value someone changed by hand is
//! planned as exactly that and put back; `sysctl_set` sets it with `sysctl -w`.

use crate::harness::nodes::{range, Nodes};
use crate::harness::Project;

#[test]
fn sysctl_writes_the_file_loads_it_and_puts_back_a_running_value() {
    let nodes = Nodes::boot(range::SYSCTL);
    let node = nodes.all[0].clone();
    let running = || {
        nodes
            .sh(&node, "cat /proc/sys/net/ipv4/ip_forward")
            .trim()
            .to_owned()
    };
    nodes.sh(&node, "echo 0 > /proc/sys/net/ipv4/ip_forward");
    let project = Project::new();
    project.file("inventory/hosts.yml", &nodes.inventory("root"));
    project.file(
        "site.yml",
        "- hosts: nodes\n  tasks:\n    - ansible.posix.sysctl: { name: net.ipv4.ip_forward, value: \"1\", sysctl_file: /etc/sysctl.d/90-recon.conf }\n",
    );
    let recon = |verb: &str| project.recon(&[verb, "site.yml", "-i", "inventory/hosts.yml"]);

    recon("plan")
        .expect_code(0)
        .stdout_has("+net.ipv4.ip_forward=1");
    assert_eq!(running(), "0", "a plan changes nothing");
    recon("apply").expect_code(0);
    assert_eq!(
        nodes.sh(
            &node,
            "wc -c < /etc/sysctl.d/90-recon.conf; cat /etc/sysctl.d/90-recon.conf"
        ),
        "22\nnet.ipv4.ip_forward=1",
        "exactly one line"
    );
    assert_eq!(running(), "1", "reloaded from the file");
    recon("plan").expect_code(0).stdout_has("No changes");

    // Changed by hand: the file still says 1, the kernel runs 0.
    nodes.sh(&node, "echo 0 > /proc/sys/net/ipv4/ip_forward");
    recon("plan")
        .expect_code(0)
        .stdout_has("`net.ipv4.ip_forward` runs with 0 and the file says 1");
    recon("apply").expect_code(0);
    assert_eq!(running(), "1");

    // `sysctl_set` without `reload`: set with `sysctl -w`, the file written too.
    project.file(
        "site.yml",
        "- hosts: nodes\n  tasks:\n    - sysctl: { name: net.ipv4.ip_forward, value: \"0\", sysctl_file: /etc/sysctl.d/90-recon.conf, reload: false, sysctl_set: true }\n",
    );
    recon("apply").expect_code(0);
    assert_eq!(running(), "0");
    recon("plan").expect_code(0).stdout_has("No changes");
}
