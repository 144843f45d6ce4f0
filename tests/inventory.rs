//! Ansible inventories as Ansible reads them: INI and YAML files mixed in a folder, connection
//! variables under Ansible's names only, `ansible.cfg`, the implicit localhost.

use std::path::Path;

use serde_json::{json, Value};

use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// The INI file of the mixed folder: every construct Ansible's ini plugin knows.
const HOSTS_INI: &str = r#"# hosts outside any section are `ungrouped`
; both comment markers
solo1
solo2:2201   # host:port sets ansible_port
typed a=1 b=True c="1" d="'1'" e="[1,'x']" f="{'k': 2}" g=None h=1.5 i=yes j=010 k=a\ b

[web:children]   # children named before they are defined
apache
nginx

[apache]
tomcat[1:3] app_port=9001
tomcat2 secret="'03#pa33w0rd'"

[nginx]
ng-[a:b]
db[00:10:5]:2200 ansible_port=2300

[web:vars]
http_port=8080
greeting = hello # not a Python literal: kept whole
flag = FALSE

[nginx:vars]
has_java = True

[all:vars]
has_java = False
"#;

/// The mixed folder: INI, YAML adding to an INI group, an extensionless INI file, files Ansible
/// ignores, and `group_vars/`.
fn mixed_folder(p: &Project) {
    std::fs::remove_dir_all(p.dir().join("inventory")).expect("rm default inventory");
    p.file("inventory/01-hosts.ini", HOSTS_INI)
        .file(
            "inventory/02-more.yml",
            "web:\n  children:\n    extra:\n      hosts:\n        x1: { port: 9001 }\n",
        )
        .file("inventory/03-static", "[extra]\nx2\n")
        .file("inventory/README.md", "not: [an inventory\n")
        .file("inventory/old.ini~", "[[[ garbage\n")
        .file("inventory/hosts.bak", "[[[ garbage\n")
        .file("inventory/group_vars/web.yml", "from_group_vars: yes\n");
}

fn recon_inventory(p: &Project, args: &[&str]) -> Value {
    let mut all = vec!["inventory", "--json"];
    all.extend_from_slice(args);
    let run = p.recon(&all);
    run.expect_code(0);
    serde_json::from_str(&run.stdout).expect("json")
}

/// A host's variables without recon's built-ins.
fn vars(json: &Value, host: &str) -> Value {
    let mut vars = json["hosts"][host].clone();
    if let Some(map) = vars.as_object_mut() {
        map.remove("inventory_hostname");
        map.remove("inventory_dir");
    }
    vars
}

#[test]
fn an_ini_and_yaml_folder_loads_as_ansible_reads_it() {
    let p = Project::new();
    mixed_folder(&p);
    let json = recon_inventory(&p, &[]);
    let groups = &json["groups"];
    assert_eq!(groups["ungrouped"], json!(["solo1", "solo2", "typed"]));
    assert_eq!(groups["apache"], json!(["tomcat1", "tomcat2", "tomcat3"]));
    assert_eq!(
        groups["nginx"],
        json!(["ng-a", "ng-b", "db00", "db05", "db10"])
    );
    assert_eq!(groups["extra"], json!(["x1", "x2"]));
    assert_eq!(
        groups["web"],
        json!([
            "tomcat1", "tomcat2", "tomcat3", "ng-a", "ng-b", "db00", "db05", "db10", "x1", "x2"
        ])
    );
    assert_eq!(groups["all"].as_array().map(Vec::len), Some(13));
    assert_eq!(
        vars(&json, "solo2"),
        json!({"ansible_port": 2201, "has_java": false})
    );
    assert_eq!(
        vars(&json, "typed"),
        json!({"a": 1, "b": true, "c": 1, "d": "1", "e": [1, "x"], "f": {"k": 2}, "g": null,
               "h": 1.5, "i": "yes", "j": "010", "k": "a b", "has_java": false})
    );
    let web = json!({"http_port": 8080, "greeting": "hello # not a Python literal: kept whole",
                     "flag": "FALSE", "from_group_vars": true});
    let with = |extra: Value| {
        let mut v = web.clone();
        for (k, x) in extra.as_object().expect("object") {
            v[k] = x.clone();
        }
        v
    };
    assert_eq!(
        vars(&json, "tomcat2"),
        with(json!({"app_port": 9001, "secret": "03#pa33w0rd", "has_java": false}))
    );
    assert_eq!(
        vars(&json, "db05"),
        with(json!({"ansible_port": 2300, "has_java": true}))
    );
    assert_eq!(
        vars(&json, "x1"),
        with(json!({"port": 9001, "has_java": false}))
    );
    compare_with_ansible(&p, &json);
}

/// Every host of `group` in `ansible-inventory --list` output, through children.
fn members(list: &Value, group: &str, out: &mut Vec<String>) {
    for h in list[group]["hosts"].as_array().into_iter().flatten() {
        let h = h.as_str().expect("name").to_owned();
        if !out.contains(&h) {
            out.push(h);
        }
    }
    for c in list[group]["children"].as_array().into_iter().flatten() {
        members(list, c.as_str().expect("name"), out);
    }
}

/// ansible-inventory (installed by `scripts/install-deps.sh`) must list the same folder
/// identically; a machine without it fails the test rather than skipping the comparison.
fn compare_with_ansible(p: &Project, json: &Value) {
    let ansible = Path::new("/opt/recon-test/ansible/bin/ansible-inventory");
    assert!(
        ansible.exists(),
        "{} is missing: run scripts/install-deps.sh",
        ansible.display()
    );
    let out = std::process::Command::new(ansible)
        .args(["-i", "inventory", "--list"])
        .current_dir(p.dir())
        .env("HOME", p.dir())
        .output()
        .expect("ansible-inventory runs");
    assert!(
        out.status.success(),
        "ansible-inventory failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).expect("ansible json");
    for (host, their_vars) in theirs["_meta"]["hostvars"].as_object().expect("hostvars") {
        assert_eq!(&vars(json, host), their_vars, "variables of {host}");
    }
    for group in json["groups"].as_object().expect("groups").keys() {
        let mut theirs_members = Vec::new();
        members(&theirs, group, &mut theirs_members);
        theirs_members.sort();
        let mut ours: Vec<String> = json["groups"][group]
            .as_array()
            .expect("members")
            .iter()
            .map(|h| h.as_str().expect("name").to_owned())
            .collect();
        ours.sort();
        assert_eq!(ours, theirs_members, "members of {group}");
    }
}

#[test]
fn ini_errors_name_file_line_and_column() {
    let p = Project::new();
    p.file("bad.ini", "[web]\nok1\nh1 novalue\n");
    p.recon(&["inventory", "-i", "bad.ini"])
        .expect_code(1)
        .stderr_has("expected a `key=value` host variable, got `novalue`")
        .stderr_has("bad.ini:3:4");
    p.file("bad2.ini", "[web:children]\nmissing\n");
    p.recon(&["inventory", "-i", "bad2.ini"])
        .expect_code(1)
        .stderr_has("[web:children] names group `missing`, which is never defined")
        .stderr_has("bad2.ini:2:1");
}

/// Squads on the fixture's sshd as root, from an INI inventory.
fn ssh_ini(sshd: &Sshd, p: &Project, extra: &str) -> String {
    format!(
        "[squads]\nsq ansible_host=127.0.0.1 ansible_port={} ansible_user=root ansible_ssh_private_key_file={} recon_known_hosts_file={} root={}{extra}\n",
        sshd.port,
        sshd.client_key.display(),
        sshd.known_hosts.display(),
        p.host_root().display()
    )
}

#[test]
fn a_plain_port_variable_is_app_data_while_ansible_port_dials() {
    let sshd = Sshd::start();
    sshd.authorize("root");
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    // Before, recon dialled `port`/`host`/`user`; now they are the app's own variables.
    p.file(
        "hosts.ini",
        &ssh_ini(&sshd, &p, " port=9001 user=app host=10.255.255.1"),
    )
    .file(
        "site.yml",
        "- hosts: squads\n  tasks:\n    - file: { path: \"{{ root }}/app.conf\", content: \"{{ user }}@{{ host }}:{{ port }}\" }\n",
    );
    p.recon(&["apply", "site.yml", "-i", "hosts.ini"])
        .expect_code(0);
    assert_eq!(p.read_host("app.conf"), "app@10.255.255.1:9001");
    assert_eq!(sshd.logins(), 1, "apply logged in once, on ansible_port");
}

#[test]
fn ansible_cfg_supplies_inventory_user_key_roles_and_host_key_policy() {
    let sshd = Sshd::start();
    sshd.authorize("root");
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    // No key, no user and no known_hosts in the inventory: ansible.cfg provides them.
    p.file(
        "ansible.cfg",
        &format!(
            "[defaults]\ninventory = hosts.ini\nremote_user = recon-no-such-user\nprivate_key_file = {}\nroles_path = shared/roles\nhost_key_checking = False\nvault_password_file = .vault\n",
            sshd.client_key.display()
        ),
    )
    .file(
        "hosts.ini",
        &format!(
            "sq ansible_host=127.0.0.1 ansible_port={} root={}\n",
            sshd.port,
            p.host_root().display()
        ),
    )
    .file(
        "shared/roles/stamp/tasks.yml",
        "- file: { path: \"{{ root }}/stamp\", content: from-roles-path }\n",
    )
    .file("site.yml", "- hosts: sq\n  roles: [stamp]\n");
    // ansible.cfg's remote_user is used ...
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("authentication failed for recon-no-such-user@127.0.0.1");
    // ... below the play's `remote_user`; the unknown host key was accepted and recorded
    // (host_key_checking = False), the role found through roles_path.
    p.file(
        "site.yml",
        "- hosts: sq\n  remote_user: root\n  roles: [stamp]\n",
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("stamp"), "from-roles-path");
    let known = std::fs::read_to_string(p.dir().join(".ssh/known_hosts")).expect("recorded");
    assert!(
        known.contains(&format!("[127.0.0.1]:{}", sshd.port)),
        "{known}"
    );
    // `-i` still wins over ansible.cfg's inventory.
    let json = recon_inventory(&p, &["-i", "inventory"]);
    assert!(json["hosts"]["box"].is_object(), "{json}");
}

#[test]
fn hosts_localhost_works_without_any_inventory_and_stays_out_of_all() {
    let p = Project::new();
    let out = p.host("out");
    p.file(
        "site.yml",
        &format!(
            "- hosts: localhost\n  tasks:\n    - file: {{ path: {}, content: \"{{{{ ansible_connection }}}}\" }}\n",
            out.display()
        ),
    );
    std::fs::create_dir_all(p.host_root()).expect("root");
    // With an inventory that does not name it, `all` does not include the implicit localhost.
    p.recon(&["check", "site.yml"]).expect_code(0);
    p.file("all.yml", "- hosts: all\n  tasks: []\n");
    p.recon(&["check", "all.yml"])
        .expect_code(0)
        .stdout_has("compiled for 1 host");
    let json = recon_inventory(&p, &[]);
    assert!(json["hosts"].get("localhost").is_none(), "{json}");
    // Without any inventory at all, `hosts: localhost` plans and applies locally.
    std::fs::remove_dir_all(p.dir().join("inventory")).expect("rm inventory");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("localhost\n  + file");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("out"), "local");
    // As under Ansible, a play whose pattern matches no host is skipped with a warning.
    p.recon(&["check", "all.yml"])
        .expect_code(0)
        .stderr_has("Could not match supplied host pattern, ignoring: all");
}
