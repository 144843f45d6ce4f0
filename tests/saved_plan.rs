//! `recon plan -o FILE` then `recon apply FILE`: exactly that plan, or nothing.

use crate::harness::Project;

fn project() -> Project {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - directory: { path: "{{ root }}" }
    - file: { path: "{{ root }}/one", content: "1\n" }
    - file: { path: "{{ root }}/two", content: "2\n" }
"#,
    );
    std::fs::create_dir_all(p.host_root()).expect("root");
    p
}

#[test]
fn a_saved_plan_applies_exactly() {
    let p = project();
    p.recon(&["plan", "site.yml", "-o", "plan.json"])
        .expect_code(0)
        .stdout_has("Saved the plan to plan.json");
    assert!(!p.host("one").exists());
    // The playbook changes after planning: the saved plan still applies what was shown.
    p.file("site.yml", "- hosts: all\n  tasks: []\n");
    p.recon(&["apply", "plan.json"]).expect_code(0);
    assert_eq!(p.read_host("one"), "1\n");
    assert_eq!(p.read_host("two"), "2\n");
}

#[test]
fn a_stale_saved_plan_is_refused_and_changes_nothing() {
    let p = project();
    p.recon(&["plan", "site.yml", "-o", "plan.json"])
        .expect_code(0);
    std::fs::write(p.host("two"), "drift\n").expect("drift");
    let run = p.recon(&["apply", "plan.json"]);
    run.expect_code(1)
        .stdout_has("plan is stale: `")
        .stdout_has("/two` changed since the plan was made; nothing was applied");
    assert!(!p.host("one").exists(), "no step ran");
    assert_eq!(p.read_host("two"), "drift\n");
}

#[test]
fn a_corrupt_plan_file_is_a_clear_error() {
    let p = project();
    p.file("plan.json", "{\"format\":\"recon-plan/1\",\"plays\":[{]}");
    p.recon(&["apply", "plan.json"])
        .expect_code(1)
        .stderr_has("is not a valid saved plan");
}
