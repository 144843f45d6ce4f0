//! Plans for many hosts: hosts whose changes differ only in their own inventory values are shown
//! once under the list of their names; the odd one in full; `--no-group` and `--json` per host.

use std::fmt::Write as _;

use crate::harness::Project;

/// Four local hosts with their own folder and port; `delta` also has an extra line.
fn four_hosts() -> Project {
    let p = Project::new();
    let root = p.host_root();
    let mut hosts = String::from("all:\n  vars: { ansible_connection: local }\n  hosts:\n");
    for (i, name) in ["alpha", "bravo", "charlie", "delta"].iter().enumerate() {
        let extra = if *name == "delta" {
            ", extra: debug=1"
        } else {
            ""
        };
        let _ = writeln!(
            hosts,
            "    {name}: {{ root: {}/{name}, port: {}{extra} }}",
            root.display(),
            9101 + i
        );
    }
    p.file("inventory/hosts.yml", &hosts).file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - directory: { path: "{{ root }}" }
    - file:
        path: "{{ root }}/app.conf"
        content: "name={{ inventory_hostname }}\nport={{ port }}\n{{ extra | default('') }}\n"
"#,
    );
    p
}

#[test]
fn hosts_with_the_same_changes_are_shown_once_and_the_odd_one_in_full() {
    let p = four_hosts();
    let run = p.recon(&["plan", "site.yml"]);
    run.expect_code(0)
        .stdout_has("alpha, bravo, charlie (3 hosts)\n")
        .stdout_has("  + directory {root}\n")
        .stdout_has("        +port={port}\n")
        .stdout_has("        +name={inventory_hostname}\n")
        .stdout_has("each of 3 hosts: 2 to add, 0 to change, 0 to remove, 0 to run")
        .stdout_has("\ndelta\n")
        .stdout_has("        +debug=1\n")
        .stdout_has("Plan: 8 to add, 0 to change, 0 to remove, 0 to run, on 4 hosts");
    assert!(
        !run.stdout.contains("9101"),
        "grouped hosts show placeholders, not one host's values:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("9104"), "delta is shown in full");
}

#[test]
fn no_group_shows_every_host_and_json_stays_per_host() {
    let p = four_hosts();
    let run = p.recon(&["plan", "site.yml", "--no-group"]);
    run.expect_code(0);
    for (name, port) in [("alpha", 9101), ("bravo", 9102), ("charlie", 9103)] {
        assert!(
            run.stdout.contains(&format!("\n{name}\n")) || run.stdout.starts_with(name),
            "{name} has its own section:\n{}",
            run.stdout
        );
        assert!(run.stdout.contains(&format!("+port={port}")));
    }
    assert!(!run.stdout.contains("(3 hosts)"));
    let json = p.recon(&["plan", "site.yml", "--json"]);
    json.expect_code(0);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let hosts: Vec<&str> = value["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .filter_map(|h| h["host"].as_str())
        .collect();
    assert_eq!(hosts, ["alpha", "bravo", "charlie", "delta"]);
}

#[test]
fn a_differing_mode_is_not_a_host_value_and_splits_the_group() {
    let p = four_hosts();
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - directory: { path: "{{ root }}", mode: "{{ '0700' if inventory_hostname == 'bravo' else '0755' }}" }
"#,
    );
    let run = p.recon(&["plan", "site.yml"]);
    run.expect_code(0)
        .stdout_has("alpha, charlie, delta (3 hosts)\n")
        .stdout_has("\nbravo\n")
        .stdout_has("mode: 0700");
}
