//! Booted systemd machines for one test (`scripts/nodes/`): Debian nodes with systemd as PID 1
//! under systemd-nspawn, each on its own veth, reachable over SSH as `root` and `deploy`
//! (NOPASSWD sudo) with a key of the test's own, their host keys in a known_hosts of the test's
//! own. The nodes are torn down when the guard drops, also when the test panics; a node left by a
//! killed run is torn down by the next boot of the same name.
//!
//! Tests run in parallel threads (and binaries), so every test boots its own index range from
//! the table below: names, veths and addresses never collide.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Node index ranges, one per test (first index, count). Index i is `rn<i>` at 169.254.i.2.
pub(crate) mod range {
    /// `nodes_selftest`: the harness itself.
    pub(crate) const SELFTEST: (u8, u8) = (10, 1);
    /// `tests/nodes_systemd.rs` (the rows after the first are reserved for more tests there).
    pub(crate) const SYSTEMD_UNITS: (u8, u8) = (20, 1);
    // 21 and 22 stay free for more systemd tests there.
    pub(crate) const SYSTEMD_MODULE: (u8, u8) = (23, 1);
    /// `tests/nodes_user_scope.rs`: user-level units (`scope: user`, lingering).
    pub(crate) const USER_SCOPE: (u8, u8) = (24, 1);
    /// Reserved: digicam on nodes (not written yet).
    pub(crate) const DIGICAM: (u8, u8) = (30, 4);
    pub(crate) const DIGICAM_SYSTEMD: (u8, u8) = (34, 2);
    /// `tests/nodes_faults.rs`.
    pub(crate) const POWER_OFF: (u8, u8) = (40, 3);
    pub(crate) const PARTITION: (u8, u8) = (43, 2);
    pub(crate) const HOST_KEY: (u8, u8) = (45, 2);
    /// `tests/nodes_rollout.rs`: `serial` batches, and two control machines on one lock.
    pub(crate) const SERIAL: (u8, u8) = (47, 4);
    pub(crate) const LOCK: (u8, u8) = (51, 1);
    /// `tests/nodes_apt.rs`: `apt: upgrade` against a local file repository.
    pub(crate) const APT_UPGRADE: (u8, u8) = (60, 1);
    /// `tests/nodes_sysctl.rs`: kernel parameters.
    pub(crate) const SYSCTL: (u8, u8) = (61, 1);
    /// `tests/public_roles.rs`: one node for recon, one for ansible-playbook.
    pub(crate) const PUBLIC_ROLES: (u8, u8) = (64, 2);
}

/// Name prefix: the veth is `ve-rn<i>`, within the 15 bytes of an interface name.
const PREFIX: &str = "rn";

/// One booted node.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) index: u8,
    /// 169.254.<index>.2
    pub(crate) ip: String,
}

impl Node {
    /// The machine-side end of the node's veth (down = the node is cut off).
    pub(crate) fn veth(&self) -> String {
        format!("ve-{}", self.name)
    }

    /// `type base64` of the node's current host key (read from its root file system).
    pub(crate) fn host_key(&self) -> String {
        let path = base()
            .join("run")
            .join(&self.name)
            .join("merged/etc/ssh/ssh_host_ed25519_key.pub");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        text.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Powers the node off at once (its PID 1 killed: no clean shutdown, like pulled power).
    pub(crate) fn power_off(&self) {
        let dir = base().join("run").join(&self.name);
        let init = std::fs::read_to_string(dir.join("init.pid")).expect("init.pid");
        let _ = Command::new("kill").args(["-KILL", init.trim()]).status();
    }

    /// Cuts (`false`) or restores (`true`) the node's link: its veth's machine side down/up.
    pub(crate) fn link(&self, up: bool) {
        let ok = Command::new("ip")
            .args(["link", "set", &self.veth(), if up { "up" } else { "down" }])
            .status()
            .expect("run ip");
        assert!(ok.success(), "ip link set {} failed", self.veth());
        if up {
            // Taking the link down drops its addresses' routes; put them back.
            let _ = Command::new("ip")
                .args([
                    "addr",
                    "replace",
                    &format!("169.254.{}.1/24", self.index),
                    "dev",
                    &self.veth(),
                ])
                .status();
        }
    }
}

/// The nodes of one test; dropping it tears them all down.
pub(crate) struct Nodes {
    pub(crate) all: Vec<Node>,
    /// Private key `root` and `deploy` accept on every node.
    pub(crate) key: PathBuf,
    /// One line per node: `169.254.i.2 ssh-ed25519 ...`.
    pub(crate) known_hosts: PathBuf,
    /// How long the boot took (all nodes in parallel, until each answers `running`).
    pub(crate) boot_time: Duration,
    /// Holds the key and known_hosts until the nodes are torn down.
    _dir: tempfile::TempDir,
}

/// `scripts/nodes/<name>`.
fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts/nodes")
        .join(name)
}

/// Where the node scripts keep their rootfs and running nodes (their default, or the env's).
fn base() -> PathBuf {
    std::env::var_os("NODES_BASE")
        .map_or_else(|| PathBuf::from("/var/tmp/recon-nodes"), PathBuf::from)
}

impl Nodes {
    /// Boots `count` nodes from index `first` (a row of `range`), in parallel, and waits until
    /// each runs; panics with the script's output when one does not.
    pub(crate) fn boot((first, count): (u8, u8)) -> Self {
        let dir = tempfile::tempdir().expect("nodes temp dir");
        let key = dir.path().join("id_ed25519");
        crate::harness::sshd::keygen(&key);
        let nodes: Vec<Node> = (first..first + count)
            .map(|index| Node {
                name: format!("{PREFIX}{index}"),
                index,
                ip: format!("169.254.{index}.2"),
            })
            .collect();
        // Built before booting, so a failed boot still tears down what it started.
        let mut this = Self {
            all: nodes,
            known_hosts: dir.path().join("known_hosts"),
            key,
            boot_time: Duration::ZERO,
            _dir: dir,
        };
        let started = Instant::now();
        let out = Command::new("bash")
            .arg(script("up.sh"))
            .arg(first.to_string())
            .arg(count.to_string())
            .env("NODES_PREFIX", PREFIX)
            .env("NODES_KEY", &this.key)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/nodes/up.sh");
        this.boot_time = started.elapsed();
        assert!(
            out.status.success(),
            "nodes did not boot\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines = String::new();
        for node in &this.all {
            let _ = writeln!(lines, "{} {}", node.ip, node.host_key());
        }
        std::fs::write(&this.known_hosts, lines).expect("write known_hosts");
        eprintln!("nodes: {} booted in {:.1?}", this.all.len(), this.boot_time);
        this
    }

    /// `ansible_host`, `ansible_user`, key and known_hosts for `node`, as YAML flow-mapping
    /// entries (without braces), to splice into an inventory.
    pub(crate) fn connection(&self, node: &Node, user: &str) -> String {
        format!(
            "ansible_host: {}, ansible_user: {user}, ansible_ssh_private_key_file: {}, recon_known_hosts_file: {}",
            node.ip,
            self.key.display(),
            self.known_hosts.display()
        )
    }

    /// A YAML inventory: group `nodes` with every node as `root`, by node name.
    pub(crate) fn inventory(&self, user: &str) -> String {
        let mut hosts = String::new();
        for node in &self.all {
            let _ = writeln!(
                hosts,
                "        {}: {{ {} }}",
                node.name,
                self.connection(node, user)
            );
        }
        format!("all:\n  children:\n    nodes:\n      hosts:\n{hosts}")
    }

    /// The system `ssh` to `node` as `user`, strict host key checking, no prompts; append the
    /// remote command with `.arg(...)`.
    pub(crate) fn ssh(&self, node: &Node, user: &str) -> Command {
        let mut command = Command::new("ssh");
        command
            .args(["-F", "/dev/null", "-i"])
            .arg(&self.key)
            .args(["-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
            .args(["-o", "ConnectTimeout=10"])
            .arg(format!("{user}@{}", node.ip))
            .stdin(Stdio::null());
        command
    }

    /// Runs `sh_command` on `node` as root; its output (status not checked).
    pub(crate) fn run(&self, node: &Node, sh_command: &str) -> Output {
        self.ssh(node, "root")
            .arg(sh_command)
            .output()
            .expect("run ssh")
    }

    /// stdout of `sh_command` on `node` as root, trimmed; panics when it fails.
    pub(crate) fn sh(&self, node: &Node, sh_command: &str) -> String {
        let out = self.run(node, sh_command);
        assert!(
            out.status.success(),
            "{} on {}: {}{}",
            sh_command,
            node.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Boots `node` again after `power_off`, as it was (its files and host key kept).
    pub(crate) fn power_on(&self, node: &Node) {
        let out = Command::new("bash")
            .arg(script("up.sh"))
            .arg(node.index.to_string())
            .arg("1")
            .env("NODES_PREFIX", PREFIX)
            .env("NODES_KEY", &self.key)
            .env("NODES_KEEP", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/nodes/up.sh");
        assert!(
            out.status.success(),
            "{} did not boot again\n{}",
            node.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Gives `node` a new host key (sshd restarted with it), as a reinstall would; the test's
    /// known_hosts keeps the old one.
    pub(crate) fn rekey(&self, node: &Node) {
        self.sh(
            node,
            "rm -f /etc/ssh/ssh_host_ed25519_key* && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && systemctl restart ssh",
        );
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let names: Vec<&str> = self.all.iter().map(|n| n.name.as_str()).collect();
        if std::thread::panicking() {
            for node in &self.all {
                let log = base().join("run").join(&node.name).join("console.log");
                eprintln!(
                    "--- {} console\n{}",
                    node.name,
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        }
        let _ = Command::new("bash")
            .arg(script("down.sh"))
            .args(&names)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
    }
}
