//! The module bridge over the test sshd: modules recon has no resource for (a built-in one and
//! one from a collection beside the playbook) run through the control machine's ansible-core.
//! The plan is their check mode with diff, the apply runs them, results register in Ansible's
//! shape, and ansible-playbook then finds nothing to change on the host recon converged.

use std::process::Command;

use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// Where scripts/install-deps.sh installs ansible-core.
const ANSIBLE_BIN: &str = "/opt/recon-test/ansible/bin";

/// A module with check mode and diff: sets a file's text.
const SETTING_MODULE: &str = r"#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule
import os

def main():
    m = AnsibleModule(argument_spec=dict(path=dict(type='str', required=True), value=dict(type='str', required=True)),
                      supports_check_mode=True)
    p, value = m.params['path'], m.params['value']
    old = open(p).read() if os.path.exists(p) else ''
    if old == value:
        m.exit_json(changed=False, value=value)
    if not m.check_mode:
        with open(p, 'w') as f:
            f.write(value)
    m.exit_json(changed=True, value=value, diff=dict(before=old, after=value))

main()
";

/// A module without check mode: counts its runs in a file.
const COUNTING_MODULE: &str = r"#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule
import os

def main():
    m = AnsibleModule(argument_spec=dict(path=dict(type='str', required=True)))
    p = m.params['path']
    n = int(open(p).read()) if os.path.exists(p) else 0
    with open(p, 'w') as f:
        f.write(str(n + 1))
    m.exit_json(changed=True, runs=n + 1)

main()
";

const KEY: &str =
    "example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

/// A project whose host `sq` is root on the fixture (for recon and ansible-playbook alike).
fn project(sshd: &Sshd) -> Project {
    sshd.authorize("root");
    let p = Project::new();
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    sq:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n      ansible_user: root\n      ansible_ssh_private_key_file: {key}\n      ansible_ssh_common_args: '-o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes'\n      ansible_python_interpreter: /usr/bin/python3\n      recon_known_hosts_file: {kh}\n      root: {root}\n",
            port = sshd.port,
            key = sshd.client_key.display(),
            kh = sshd.known_hosts.display(),
            root = p.host_root().display(),
        ),
    )
    .file(
        "collections/ansible_collections/acme/demo/plugins/modules/setting.py",
        SETTING_MODULE,
    )
    .file(
        "collections/ansible_collections/acme/demo/plugins/modules/counting.py",
        COUNTING_MODULE,
    )
    .file(
        "site.yml",
        &format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - file: {{ path: "{{{{ root }}}}", state: directory }}
    - name: trust example.org
      ansible.builtin.known_hosts:
        path: "{{{{ root }}}}/known_hosts"
        name: example.org
        key: "{KEY}"
    - name: mode
      acme.demo.setting:
        path: "{{{{ root }}}}/mode"
        value: "blue"
      register: mode
    - name: seen
      copy:
        dest: "{{{{ root }}}}/seen"
        content: "{{{{ mode.value }}}}\n"
"#
        ),
    );
    p
}

fn recon(p: &Project, args: &[&str]) -> crate::harness::Run {
    p.recon_with(args, |c| {
        c.env("RECON_ANSIBLE_PYTHON", format!("{ANSIBLE_BIN}/python"));
    })
}

#[test]
fn a_module_recon_lacks_plans_by_check_mode_applies_and_converges_through_ansible() {
    let sshd = Sshd::start();
    let p = project(&sshd);

    let plan = recon(&p, &["plan", "site.yml"]);
    plan.expect_code(0)
        .stdout_has("~ ansible_module ansible.builtin.known_hosts")
        .stdout_has(&format!("+{KEY}"))
        .stdout_has("~ ansible_module acme.demo.setting")
        .stdout_has("+blue");
    assert!(
        !p.host("known_hosts").exists() && !p.host("mode").exists(),
        "a plan runs modules in check mode only"
    );

    recon(&p, &["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("known_hosts"), format!("{KEY}\n"));
    assert_eq!(p.read_host("mode"), "blue");
    assert_eq!(
        p.read_host("seen"),
        "blue\n",
        "the module's JSON result is the registered result"
    );

    let again = recon(&p, &["apply", "site.yml", "--stats"]);
    again
        .expect_code(0)
        .stdout_has("No changes. 1 host converged.");
    // The `--stats` table comes after the recap: its row is the host's last.
    let row = again
        .stdout
        .lines()
        .rev()
        .find(|l| l.split_whitespace().next() == Some("sq"))
        .unwrap_or_default()
        .to_owned();
    let counts: Vec<&str> = row.split_whitespace().skip(1).take(2).collect();
    assert_eq!(
        counts,
        ["1", "2"],
        "one connection; one probe channel per round (`seen` reads a result registered in \
         this run, so it is a second round), none per bridged module: {row}"
    );

    // Converged, the registered result is the module's check-mode result: `seen` holds.
    assert_eq!(p.read_host("seen"), "blue\n");

    // ansible-playbook finds nothing to change where recon converged.
    let ansible = Command::new(format!("{ANSIBLE_BIN}/ansible-playbook"))
        .args(["-i", "inventory/hosts.yml", "site.yml", "--check", "--diff"])
        .current_dir(p.dir())
        .env("HOME", p.dir())
        .env("ANSIBLE_LOCAL_TEMP", p.dir().join(".ansible-tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible-playbook runs");
    let out = String::from_utf8_lossy(&ansible.stdout);
    assert!(
        ansible.status.success(),
        "ansible-playbook failed:\n{out}\n{}",
        String::from_utf8_lossy(&ansible.stderr)
    );
    for task in ["trust example.org", "mode"] {
        let block = out
            .split("TASK [")
            .find(|b| b.starts_with(&format!("{task}]")))
            .unwrap_or_default();
        assert!(
            block.contains("ok: [sq]"),
            "ansible-playbook would change `{task}` after recon:\n{out}"
        );
    }
}

#[test]
fn a_module_without_check_mode_is_known_after_apply_and_its_failures_are_located() {
    let sshd = Sshd::start();
    let p = project(&sshd);
    p.file(
        "count.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - directory: { path: "{{ root }}" }
    - name: count
      acme.demo.counting: { path: "{{ root }}/runs" }
"#,
    );
    recon(&p, &["plan", "count.yml"])
        .expect_code(0)
        .stdout_has("! ansible_module acme.demo.counting")
        .stdout_has("known after apply: remote module")
        .stdout_has("does not support check mode");
    assert!(!p.host("runs").exists(), "the plan did not run it");
    recon(&p, &["apply", "count.yml"]).expect_code(0);
    assert_eq!(p.read_host("runs"), "1", "the apply ran it once");

    // Ansible's own argument check, in check mode: a located plan error, nothing applied.
    p.file(
        "bad.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: half a setting
      acme.demo.setting: { path: "{{ root }}/mode" }
"#,
    );
    let bad = recon(&p, &["apply", "bad.yml"]);
    bad.expect_code(1);
    let text = format!("{}{}", bad.stdout, bad.stderr);
    assert!(
        text.contains("failed in check mode: missing required arguments: value")
            && text.contains("bad.yml:4"),
        "{text}"
    );
    assert!(!p.host("mode").exists(), "nothing was applied");

    // A module no Ansible has, and no Ansible at all: errors before any host is contacted,
    // each saying what to install.
    p.file(
        "none.yml",
        "- hosts: all\n  tasks:\n    - acme.demo.nosuch: { a: 1 }\n",
    );
    let none = recon(&p, &["check", "none.yml"]);
    assert_ne!(none.code, 0);
    let said = none.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        said.contains("none.yml:3") && said.contains("has no module `acme.demo.nosuch`"),
        "{}",
        none.stderr
    );
    let without = p.recon_with(&["check", "count.yml"], |c| {
        c.env("RECON_ANSIBLE_PYTHON", "/nonexistent/python3");
    });
    assert_ne!(without.code, 0);
    let said = without
        .stderr
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        said.contains("cannot run Ansible's Python `/nonexistent/python3`"),
        "{}",
        without.stderr
    );
}

/// `collections:` on a play, and in a role's `meta/main.yml`, is where a module name without a
/// namespace is found (as in Ansible, the play's list does not reach into the role); without
/// it the short name is a located error.
#[test]
fn a_short_module_name_is_found_through_the_plays_or_the_roles_collections() {
    let sshd = Sshd::start();
    let p = project(&sshd);
    p.file(
        "short.yml",
        r#"- hosts: all
  gather_facts: false
  collections: [acme.demo]
  roles: [tint]
  tasks:
    - setting: { path: "{{ root }}/short", value: "play" }
"#,
    )
    .file("roles/tint/meta/main.yml", "collections:\n  - acme.demo\n")
    .file(
        "roles/tint/tasks/main.yml",
        "- file: { path: \"{{ root }}\", state: directory }\n- setting: { path: \"{{ root }}/tint\", value: \"role\" }\n",
    );
    recon(&p, &["plan", "short.yml"])
        .expect_code(0)
        .stdout_has("~ ansible_module acme.demo.setting");
    recon(&p, &["apply", "short.yml"]).expect_code(0);
    assert_eq!(p.read_host("short"), "play");
    assert_eq!(p.read_host("tint"), "role");
    recon(&p, &["apply", "short.yml"])
        .expect_code(0)
        .stdout_has("No changes.");

    // Without the role's own list, its short name is not found: the play's does not reach it.
    p.file("roles/tint/meta/main.yml", "dependencies: []\n");
    let run = recon(&p, &["plan", "short.yml"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("setting") && run.stderr.contains("roles/tint/tasks/main.yml:2:"),
        "{}",
        run.stderr
    );
}

/// An argument recon's own resource cannot honour (`lineinfile` `owner`) runs the task as
/// Ansible's module instead: planned by its check mode, applied, converged. Without an
/// Ansible it stays the located error it was.
#[test]
fn an_argument_recon_cannot_honour_runs_ansibles_module_instead() {
    let sshd = Sshd::start();
    let p = project(&sshd);
    p.file(
        "owned.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - file: { path: "{{ root }}", state: directory }
    - lineinfile: { path: "{{ root }}/owned.conf", line: "a = 1", create: true, owner: root }
"#,
    );
    recon(&p, &["plan", "owned.yml"])
        .expect_code(0)
        .stdout_has("~ ansible_module ansible.builtin.lineinfile");
    recon(&p, &["apply", "owned.yml"]).expect_code(0);
    assert_eq!(p.read_host("owned.conf"), "a = 1\n");
    recon(&p, &["plan", "owned.yml"])
        .expect_code(0)
        .stdout_has("No changes");
    let without = p.recon_with(&["plan", "owned.yml"], |c| {
        c.env("RECON_ANSIBLE_PYTHON", "/nonexistent/python3");
    });
    assert_ne!(without.code, 0);
    assert!(
        without
            .stderr
            .contains("`lineinfile` argument `owner` is not supported by recon"),
        "{}",
        without.stderr
    );
}
