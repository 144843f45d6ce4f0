//! Claims are node-wide whatever `--limit` and `--tags` select: a host left out of the run
//! still holds its server name on the node. Three targets on one node (the local connection).

use super::stderr_says;
use crate::harness::Project;

/// alpha and bravo both claim `shared.test`; charlie claims its own name.
fn project() -> Project {
    let p = Project::new();
    let root = p.host_root();
    std::fs::create_dir_all(&root).expect("root");
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  vars: {{ ansible_connection: local, root: {} }}\n  hosts:\n    alpha: {{ domain: shared.test }}\n    bravo: {{ domain: shared.test }}\n    charlie: {{ domain: charlie.test }}\n",
            root.display()
        ),
    )
    .file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - name: site
      directory: { path: "{{ root }}/{{ inventory_hostname }}" }
      claims: { server_name: "{{ domain }}" }
    - name: marker
      tags: [marker]
      file: { path: "{{ root }}/{{ inventory_hostname }}.marker", content: "{{ domain }}\n" }
"#,
    );
    p
}

#[test]
fn a_limited_run_cannot_take_a_name_held_by_a_host_it_does_not_select() {
    let p = project();
    for args in [
        &["check", "site.yml", "-l", "bravo"][..],
        &["plan", "site.yml", "-l", "bravo"][..],
        &["apply", "site.yml", "-l", "bravo"][..],
        // The tagged run does not include the claiming task, but bravo claims the name all the same.
        &["apply", "site.yml", "-l", "bravo", "--tags", "marker"][..],
    ] {
        let run = p.recon(args);
        run.expect_code(1);
        stderr_says(
            &run,
            &[
                "hosts `alpha` and `bravo` both claim server_name `shared.test` on node local",
                "host `alpha` claims it here (task `site`, a host this run does not select)",
            ],
        );
    }
    assert!(
        p.host_listing().is_empty(),
        "nothing written: {:?}",
        p.host_listing()
    );
}

#[test]
fn a_clash_between_hosts_outside_the_run_does_not_block_it_and_the_run_converges() {
    let p = project();
    p.recon(&["apply", "site.yml", "-l", "charlie"])
        .expect_code(0);
    assert!(p.host("charlie").is_dir());
    assert_eq!(p.read_host("charlie.marker").trim(), "charlie.test");
    assert!(!p.host("alpha").exists() && !p.host("bravo").exists());
    p.recon(&["plan", "site.yml", "-l", "charlie", "--detailed-exitcode"])
        .expect_code(0);
    // The whole inventory still refuses the clash.
    let run = p.recon(&["check", "site.yml"]);
    run.expect_code(1);
    stderr_says(&run, &["both claim server_name `shared.test`"]);
}
