//! `recon plan`: exact diffs, exit codes, JSON, and planning against predicted state.

use crate::harness::Project;

fn converged() -> Project {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - directory: { path: "{{ root }}/etc" }
    - file: { path: "{{ root }}/etc/app.conf", content: "a\nb\nc\n", mode: "0644" }
"#,
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    p
}

#[test]
fn a_hand_edit_shows_as_exactly_that_diff_with_exit_2() {
    let p = converged();
    std::fs::write(p.host("etc/app.conf"), "a\nB\nc\n").expect("edit");
    let run = p.recon(&["plan", "site.yml", "--detailed-exitcode"]);
    run.expect_code(2);
    let expected = format!(
        "recon will make these changes:   ~ update\n\nbox\n  ~ file {root}/etc/app.conf\n      content: 6 bytes -> 6 bytes\n        @@ -1,3 +1,3 @@\n         a\n        -B\n        +b\n         c\n  box: 0 to add, 1 to change, 0 to remove, 0 to run\n\nPlan: 0 to add, 1 to change, 0 to remove, 0 to run, on 1 host (0 unchanged).\n",
        root = p.host_root().display()
    );
    assert_eq!(run.stdout, expected);
    assert_eq!(
        p.read_host("etc/app.conf"),
        "a\nB\nc\n",
        "plan never writes"
    );
}

#[test]
fn mode_drift_is_planned_as_a_mode_change() {
    let p = converged();
    std::fs::set_permissions(
        p.host("etc/app.conf"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("      mode: 0600 -> 0644\n");
}

#[test]
fn plan_without_detailed_exitcode_exits_0_with_changes() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n",
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("+ directory");
    assert!(!p.host_root().exists());
}

#[test]
fn json_plan_carries_the_same_data() {
    let p = converged();
    std::fs::write(p.host("etc/app.conf"), "x\n").expect("edit");
    let run = p.recon(&["plan", "site.yml", "--json"]);
    run.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json["format"], "recon-plan-view/1");
    let step = &json["hosts"][0]["steps"][0];
    assert_eq!(step["kind"], "file");
    assert_eq!(step["change"]["action"], "update");
    assert_eq!(step["change"]["fields"][0]["field"], "content");
    assert!(step["change"]["diff"]
        .as_str()
        .expect("diff")
        .contains("-x\n+a\n+b\n+c\n"));
    assert_eq!(json["hosts"][0]["unchanged"], 1);
}

#[test]
fn dependents_of_planned_changes_are_planned_not_errors() {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - symlink: { path: "{{ root }}/app/current", target: v2 }
    - directory: { path: "{{ root }}/app/v2" }
    - file: { path: "{{ root }}/app/v2/VERSION", content: "2\n" }
    - command: { cmd: "pwd -P > ../where", chdir: "{{ root }}/app/current" }
"#,
    );
    let run = p.recon(&["plan", "site.yml"]);
    run.expect_code(0)
        .stdout_has("Plan: 3 to add, 0 to change, 0 to remove, 1 to run");
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("  + ") || l.starts_with("  ! "))
        .collect();
    assert!(
        order[0].contains("directory") && order[0].ends_with("/app/v2"),
        "{order:?}"
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(
        p.read_host("app/where").trim_end(),
        p.host("app/v2")
            .canonicalize()
            .expect("v2")
            .display()
            .to_string()
    );
}

#[test]
fn limit_and_tags_narrow_the_plan() {
    let p = Project::new();
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  vars:\n    ansible_connection: local\n  children:\n    web:\n      hosts:\n        web1: {{ root: {r}/web1 }}\n        web2: {{ root: {r}/web2 }}\n",
            r = p.host_root().display()
        ),
    )
    .file(
        "site.yml",
        r#"- hosts: web
  tasks:
    - directory: { path: "{{ root }}" }
      tags: [base]
    - file: { path: "{{ root }}/f", content: x }
      tags: [files]
"#,
    );
    let run = p.recon(&["plan", "site.yml", "--limit", "web2", "--tags", "base"]);
    run.expect_code(0)
        .stdout_has("web2\n")
        .stdout_has("Plan: 1 to add");
    assert!(!run.stdout.contains("web1"), "{}", run.stdout);
    p.recon(&["plan", "site.yml", "--limit", "wbe2"])
        .expect_code(1)
        .stderr_has("no hosts match `wbe2`");
}

/// A probe command that never ends (a guard waiting for ever) is stopped by the probe bound:
/// the plan fails at its task, saying so, instead of hanging. The bound is made short through
/// `RECON_PROBE_TIMEOUT`; the outer limit only keeps a regression from hanging the suite.
#[test]
fn a_probe_command_that_never_ends_is_cut_by_the_bound() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - name: guarded\n      command: { cmd: \"true\", unless: \"sleep 600\" }\n",
    );
    let run = p.recon_within(
        std::time::Duration::from_secs(120),
        &["plan", "site.yml"],
        |c| {
            c.env("RECON_PROBE_TIMEOUT", "2");
        },
    );
    run.expect_code(1);
    assert!(
        run.stdout.contains("did not finish within 2 s") && run.stdout.contains("guarded"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stdout.contains("site.yml:3:"), "{}", run.stdout);
}
