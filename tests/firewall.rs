//! The `firewall` resource driving the real ufw, confined: recon runs under `ip netns exec NS`,
//! so every iptables change lands in a network namespace this test creates, and `ip netns exec`
//! bind-mounts `/etc/netns/NS/{ufw,default}` over `/etc/ufw` and `/etc/default`, so ufw's own
//! files are copies too. The root namespace's firewall is never touched. The kernel's refusal
//! is real as well: the same run without `CAP_NET_ADMIN` (`setpriv`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::{Project, Run};

/// A network namespace with its own copy of ufw's configuration; removed when dropped.
struct Confined {
    name: String,
    etc: PathBuf,
}

impl Confined {
    fn new(tag: &str) -> Self {
        let name = format!("recon_fw_{tag}_{}", std::process::id());
        let etc = Path::new("/etc/netns").join(&name);
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let added = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip netns add");
        assert!(added.success(), "ip netns add {name}");
        std::fs::create_dir_all(&etc).expect("/etc/netns/NS");
        for dir in ["ufw", "default"] {
            let copied = Command::new("cp")
                .arg("-a")
                .arg(Path::new("/etc").join(dir))
                .arg(etc.join(dir))
                .status()
                .expect("cp");
            assert!(copied.success());
        }
        // A pristine ufw whatever the machine's own says: off, no user rules, stock policies.
        std::fs::write(etc.join("ufw/ufw.conf"), "ENABLED=no\nLOGLEVEL=low\n").expect("ufw.conf");
        for rules in ["user.rules", "user6.rules"] {
            std::fs::copy(
                Path::new("/usr/share/ufw/iptables").join(rules),
                etc.join("ufw").join(rules),
            )
            .expect("stock ufw rules");
        }
        let defaults = std::fs::read_to_string(etc.join("default/ufw")).expect("default/ufw");
        let defaults: String = defaults
            .lines()
            .map(|l| match l.split('=').next() {
                Some("DEFAULT_INPUT_POLICY") => "DEFAULT_INPUT_POLICY=\"DROP\"\n".to_owned(),
                Some("DEFAULT_OUTPUT_POLICY") => "DEFAULT_OUTPUT_POLICY=\"ACCEPT\"\n".to_owned(),
                _ => format!("{l}\n"),
            })
            .collect();
        std::fs::write(etc.join("default/ufw"), defaults).expect("default/ufw");
        Self { name, etc }
    }

    /// `ip netns exec NS [PREFIX…] recon ARGS` in the project, like `Project::recon`.
    fn recon(&self, p: &Project, prefix: &[&str], args: &[&str]) -> Run {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(prefix)
            .arg(env!("CARGO_BIN_EXE_recon"))
            .args(args)
            .current_dir(p.dir())
            .env("HOME", p.dir())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("recon runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A command's stdout inside the namespace.
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
            .expect("ip netns exec");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Confined {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(&self.etc);
    }
}

/// Shell metacharacters and expansions (no `'` or line breaks: ufw refuses those in comments).
const HOSTILE_COMMENT: &str =
    "a$(cd;touch c1)b`cd;touch c2`c\"e\\f;g&h|i $((1+1)) ${HOME} * ~ -n --x";

fn site(delete_http: bool) -> String {
    format!(
        r#"- hosts: all
  vars:
    note: {}
  tasks:
    - firewall: {{ policy: deny, direction: incoming }}
    - firewall: {{ policy: deny, direction: outgoing }}
    - firewall: {{ rule: allow, port: "22", proto: tcp, comment: "{{{{ note }}}}" }}
    - firewall: {{ rule: allow, port: "80", proto: tcp, delete: {delete_http} }}
    - firewall: {{ rule: limit, port: "443", proto: tcp, from: 10.0.0.0/8 }}
    - firewall: {{ rule: allow, app: OpenSSH }}
    - firewall: {{ state: enabled }}
    - ufw: {{ logging: medium }}
    - ufw: {{ state: reloaded }}
"#,
        serde_json::to_string(HOSTILE_COMMENT).expect("json")
    )
}

#[test]
fn ufw_rules_policies_and_state_converge_inside_a_network_namespace() {
    let root_rules = std::fs::read("/etc/ufw/user.rules").ok();
    let root_conf = std::fs::read("/etc/ufw/ufw.conf").ok();
    let ns = Confined::new("rules");
    let p = Project::new();
    p.file("site.yml", &site(false));

    ns.recon(&p, &[], &["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("+ firewall allow in from any to any port 22 proto tcp comment")
        .stdout_has("+ firewall limit in from 10.0.0.0/8 to any port 443 proto tcp")
        .stdout_has("~ firewall default outgoing")
        .stdout_has("policy: allow -> deny")
        .stdout_has("state: inactive -> active")
        .stdout_has("+ firewall allow in from any to any app OpenSSH")
        .stdout_has("~ firewall logging")
        .stdout_has("logging: low -> medium")
        .stdout_has("Plan: 4 to add, 3 to change, 0 to remove");
    ns.recon(&p, &[], &["apply", "site.yml"]).expect_code(0);
    let conf = ns.run(&["cat", "/etc/ufw/ufw.conf"]);
    assert!(conf.contains("LOGLEVEL=medium"), "{conf}");
    ns.recon(&p, &[], &["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0)
        .stdout_has("No changes.");

    let rules = ns.run(&["iptables", "-S", "ufw-user-input"]);
    assert!(rules.contains("--dport 22"), "{rules}");
    assert!(rules.contains("--dport 80"), "{rules}");
    let apps = ns.run(&["ufw", "show", "added"]);
    assert!(apps.contains("ufw allow OpenSSH"), "{apps}");
    let added = ns.run(&["ufw", "show", "added"]);
    assert!(
        added.contains(HOSTILE_COMMENT),
        "comment arrives byte-exact: {added}"
    );
    for canary in ["c1", "c2"] {
        assert!(!p.dir().join(canary).exists(), "a hostile value ran");
    }

    // Deleting one rule plans and applies exactly that removal.
    p.file("site.yml", &site(true));
    ns.recon(&p, &[], &["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("- firewall allow in from any to any port 80 proto tcp")
        .stdout_has("Plan: 0 to add, 0 to change, 1 to remove");
    ns.recon(&p, &[], &["apply", "site.yml"]).expect_code(0);
    let rules = ns.run(&["iptables", "-S", "ufw-user-input"]);
    assert!(!rules.contains("--dport 80"), "{rules}");
    assert!(rules.contains("--dport 22"), "{rules}");

    assert_eq!(std::fs::read("/etc/ufw/user.rules").ok(), root_rules);
    assert_eq!(std::fs::read("/etc/ufw/ufw.conf").ok(), root_conf);
}

#[test]
fn without_iptables_permission_the_plan_says_the_kernel_refuses() {
    let ns = Confined::new("refused");
    let p = Project::new();
    p.file("site.yml", &site(false));
    let no_net_admin = [
        "setpriv",
        "--bounding-set",
        "-net_admin",
        "--inh-caps",
        "-net_admin",
    ];
    ns.recon(&p, &no_net_admin, &["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("the kernel refuses firewall changes");
    let conf = std::fs::read_to_string(ns.etc.join("ufw/ufw.conf")).expect("ufw.conf");
    assert!(conf.contains("ENABLED=no"), "nothing was changed: {conf}");
}

#[test]
fn enabling_ufw_without_a_rule_for_the_session_port_is_refused_over_ssh() {
    use crate::harness::sshd::Sshd;
    let ns = Confined::new("door");
    let up = Command::new("ip")
        .args(["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"])
        .status()
        .expect("ip link");
    assert!(up.success());
    let sshd = Sshd::start_under("VERBOSE", &["ip", "netns", "exec", &ns.name]);
    sshd.authorize("root");
    let p = Project::new();
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    door: {{ ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: root, ansible_ssh_private_key_file: {}, recon_known_hosts_file: {} }}\n",
            sshd.port,
            sshd.client_key.display(),
            sshd.known_hosts.display()
        ),
    );
    let play = |allow: bool| {
        format!(
            "- hosts: all\n  tasks:\n    - firewall: {{ rule: allow, port: \"80\", proto: tcp }}\n    - firewall: {{ state: enabled }}\n      allow_lockout: {allow}\n"
        )
    };
    p.file("site.yml", &play(false));
    let run = ns.recon(&p, &[], &["apply", "site.yml"]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, 0, "{all}");
    assert!(all.contains("site.yml:4:"), "located: {all}");
    assert!(all.contains(&format!("SSH port {}", sshd.port)), "{all}");
    let conf = std::fs::read_to_string(ns.etc.join("ufw/ufw.conf")).expect("ufw.conf");
    assert!(conf.contains("ENABLED=no"), "nothing was changed: {conf}");
    assert!(!ns.run(&["ufw", "show", "added"]).contains("80"));

    p.file("site.yml", &play(true));
    ns.recon(&p, &[], &["apply", "site.yml"]).expect_code(0);
    let conf = std::fs::read_to_string(ns.etc.join("ufw/ufw.conf")).expect("ufw.conf");
    assert!(conf.contains("ENABLED=yes"), "{conf}");
}
