//! A public role as its authors publish it (`tests/fixtures/public_roles/`: Grafana's `loki`
//! role), applied side by side on two fresh booted nodes: recon on the first, ansible-playbook on
//! the second. Both must leave the same files (content, mode, owner, group), account and
//! service, and each tool must then find nothing to change on the node the other converged.
//!
//! The role installs Loki's `.deb` with `apt: deb:` (recon has no resource for a package file:
//! it runs Ansible's own `apt` module through the bridge), reads a unit's state with a bare
//! `systemd: name:` (bridged too), writes `config.yml` from `to_nice_yaml | indent` sections,
//! makes nested directories owned by the package's account, and restarts the service from a
//! handler. Nodes have no network: the role's own `loki_download_url_deb` points at a stand-in
//! package built on each node (a `loki` that answers `--version` and `-verify-config`, its
//! unit, its account), so everything the role does runs for real.

use crate::ansible_compat::side_by_side::ansible_playbook_with;
use crate::harness::nodes::{range, Node, Nodes};
use crate::harness::{copy_tree, Project};
use std::fmt::Write as _;
use std::path::Path;

/// Where scripts/install-deps.sh installs ansible-core.
const ANSIBLE_BIN: &str = "/opt/recon-test/ansible/bin";

const SITE: &str = r#"- hosts: nodes
  roles:
    - role: loki
      vars:
        loki_version: "3.0.0"
        loki_download_url_deb: /root/loki_3.0.0_all.deb
"#;

/// Builds the stand-in for Loki's package into `/root/loki_3.0.0_all.deb` (on a node).
const STAND_IN_DEB: &str = r#"set -e
d=/tmp/loki-pkg; rm -rf $d; mkdir -p $d/DEBIAN $d/usr/bin $d/etc/loki $d/etc/systemd/system
printf 'Package: loki\nVersion: 3.0.0\nArchitecture: all\nMaintainer: recon tests <t@example.test>\nDescription: a stand-in for Grafana Loki\n' > $d/DEBIAN/control
printf '#!/bin/sh\nid loki >/dev/null 2>&1 || useradd --system --home-dir /var/lib/loki --no-create-home --shell /usr/sbin/nologin loki\n' > $d/DEBIAN/postinst
printf '#!/bin/sh\ncase "$1" in\n  --version) echo "loki, version 3.0.0 (branch: HEAD, revision: stand-in)"; exit 0 ;;\n  --verify-config) grep -q "^server:" "$3"; exit $? ;;\nesac\nexec sleep infinity\n' > $d/usr/bin/loki
chmod 755 $d/DEBIAN/postinst $d/usr/bin/loki
printf 'auth_enabled: false\n' > $d/etc/loki/config.yml
printf '[Unit]\nDescription=Loki (stand-in)\n[Service]\nUser=loki\nExecStart=/usr/bin/loki -config.file /etc/loki/config.yml\n[Install]\nWantedBy=multi-user.target\n' > $d/etc/systemd/system/loki.service
dpkg-deb --root-owner-group -b $d /root/loki_3.0.0_all.deb >/dev/null
"#;

/// What the role leaves on `node`: its files' mode, owner, group and checksum, the service's
/// state and the account, one line each.
fn state(nodes: &Nodes, node: &Node) -> String {
    nodes.sh(
        node,
        "for f in /etc/loki /etc/loki/config.yml /var/lib/loki /var/lib/loki/rules \
         /var/lib/loki/rules/fake /usr/bin/loki; do stat -c '%n %a %U %G %s' $f; done; \
         sha256sum /etc/loki/config.yml; echo loki $(systemctl is-active loki) \
         $(systemctl is-enabled loki); getent passwd loki | cut -d: -f1,6,7",
    )
}

/// The project: the vendored roles and collections, the play, and the nodes as root for both
/// tools (recon's known_hosts and ansible-playbook's through its SSH arguments).
fn project(nodes: &Nodes) -> Project {
    let p = Project::new();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/public_roles"),
        p.dir(),
    );
    let mut hosts = String::new();
    for node in &nodes.all {
        let _ = writeln!(
            hosts,
            "        {}: {{ {}, ansible_ssh_common_args: '-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes', ansible_python_interpreter: /usr/bin/python3 }}",
            node.name,
            nodes.connection(node, "root"),
            nodes.known_hosts.display()
        );
    }
    p.file("site.yml", SITE).file(
        "inventory/hosts.yml",
        &format!("all:\n  children:\n    nodes:\n      hosts:\n{hosts}"),
    );
    p
}

#[test]
fn grafanas_loki_role_leaves_the_same_host_with_recon_as_with_ansible_and_each_converges_the_other()
{
    let nodes = Nodes::boot(range::PUBLIC_ROLES);
    let (a, b) = (nodes.all[0].clone(), nodes.all[1].clone());
    for node in [&a, &b] {
        nodes.sh(node, STAND_IN_DEB);
    }
    let p = project(&nodes);
    let recon = |verb: &str, node: &Node| {
        p.recon_with(
            &[
                verb,
                "site.yml",
                "-i",
                "inventory/hosts.yml",
                "--limit",
                &node.name,
            ],
            |c| {
                c.env(
                    "RECON_ANSIBLE_PYTHON",
                    Path::new(ANSIBLE_BIN).join("python"),
                );
            },
        )
    };

    // The plan of a fresh node runs the bridged modules in check mode, nothing for real.
    recon("plan", &a)
        .expect_code(0)
        .stdout_has("~ ansible_module ansible.builtin.apt")
        .stdout_has("! service loki.service");
    assert!(
        nodes.sh(&a, "test -e /usr/bin/loki || echo absent") == "absent",
        "a plan installs nothing"
    );

    recon("apply", &a).expect_code(0);
    ansible_playbook_with(&p, &b.name, &[]);

    let (ours, theirs) = (state(&nodes, &a), state(&nodes, &b));
    assert!(
        ours.contains("loki active enabled") && ours.contains("/var/lib/loki/rules 750 loki root"),
        "{ours}"
    );
    let config = |node: &Node| nodes.sh(node, "cat /etc/loki/config.yml");
    assert_eq!(config(&a), config(&b), "config.yml, recon's then Ansible's");
    assert_eq!(ours, theirs, "recon's node, then Ansible's");

    // Each tool finds nothing to change where the other converged.
    recon("plan", &b)
        .expect_code(0)
        .stdout_has("No changes. 1 host converged.");
    let check = ansible_playbook_with(&p, &a.name, &["--check", "--diff"]);
    let recap = check
        .lines()
        .find(|l| l.starts_with(&format!("{} ", a.name)) && l.contains("changed="))
        .unwrap_or_default();
    assert!(
        recap.contains("changed=0") && recap.contains("failed=0"),
        "ansible-playbook would change recon's node:\n{check}"
    );
}
