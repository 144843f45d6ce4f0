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

/// Targets sharing a node share its locks and stamps (`serialize`, `stamp`): a neighbour that
/// creates or takes them between this host's plan and its apply changes nothing this host's
/// plan was made from, so the saved plan still applies (only the folders' reach is probed).
#[test]
fn a_lock_or_stamp_a_neighbour_creates_after_the_plan_does_not_make_it_stale() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    let node = p.dir().join("node");
    std::fs::create_dir_all(&node).expect("node folder");
    let node = node.display();
    p.file(
        "site.yml",
        &format!(
            r#"- hosts: all
  tasks:
    - file: {{ path: "{{{{ root }}}}/site.conf", content: "a\n", serialize: "{node}/conf.lock" }}
    - command: touch "{{{{ root }}}}/reloaded"
      args: {{ serialize: "{node}/reload.lock", stamp: "{node}/reload.stamp", since: ["{{{{ root }}}}/site.conf"] }}
"#
        ),
    );
    p.recon(&["plan", "site.yml", "-o", "plan.json"])
        .expect_code(0);
    // The neighbour's run: its locks and stamp now exist, and were taken and touched.
    for name in ["conf.lock", "reload.lock", "reload.stamp"] {
        std::fs::write(p.dir().join("node").join(name), "").expect("neighbour");
    }
    p.recon(&["apply", "plan.json"]).expect_code(0);
    assert_eq!(p.read_host("site.conf"), "a\n");
    assert!(p.host("reloaded").exists(), "the command ran");
}

/// A kind's own plan attribute (`sysctl`'s `value`, declared in its file) reads back from a
/// saved plan, and the plan applies.
#[test]
fn a_kinds_own_attribute_reads_back_from_a_saved_plan() {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - sysctl: { name: vm.swappiness, value: "10", sysctl_file: "{{ root }}/99-recon.conf", reload: false }
"#,
    );
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.recon(&["plan", "site.yml", "-o", "plan.json"])
        .expect_code(0);
    let saved = std::fs::read_to_string(p.dir().join("plan.json")).expect("plan.json");
    assert!(saved.contains(r#""field":"value""#), "{saved}");
    p.recon(&["apply", "plan.json"]).expect_code(0);
    assert_eq!(p.read_host("99-recon.conf"), "vm.swappiness=10\n");
}

/// A saved plan naming an attribute no kind of this recon declares (a plan of another version)
/// is refused before anything runs, saying why.
#[test]
fn a_saved_plan_with_an_unknown_attribute_is_refused() {
    let p = project();
    p.recon(&["plan", "site.yml", "-o", "plan.json"])
        .expect_code(0);
    let saved = std::fs::read_to_string(p.dir().join("plan.json")).expect("plan.json");
    assert!(saved.contains(r#""field":"content""#), "{saved}");
    let renamed = saved.replace(r#""field":"content""#, r#""field":"colour""#);
    std::fs::write(p.dir().join("plan.json"), renamed).expect("rewrite");
    p.recon(&["apply", "plan.json"])
        .expect_code(1)
        .stderr_has("is not a valid saved plan")
        .stderr_has("the attribute `colour`, which no resource kind")
        .stderr_has("plan again");
    assert!(!p.host("one").exists(), "no step ran");
}
