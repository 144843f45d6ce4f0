//! Handlers run once, after their notifiers changed, in handler order.

use crate::harness::Project;

fn project() -> Project {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - directory: { path: "{{ root }}" }
    - file: { path: "{{ root }}/a.conf", content: "{{ a }}" }
      notify: restart
    - file: { path: "{{ root }}/b.conf", content: "{{ b }}" }
      notify: [restart, reload]
  handlers:
    - name: reload
      command: "echo reload >> {{ root }}/events"
    - name: restart
      command: "echo restart >> {{ root }}/events"
"#,
    );
    p
}

#[test]
fn a_handler_runs_once_per_triggering_apply() {
    let p = project();
    let run = p.recon(&["apply", "site.yml", "-e", "a=1", "-e", "b=1"]);
    run.expect_code(0)
        .stdout_has("# handler `restart` will run");
    assert_eq!(
        p.read_host("events"),
        "reload\nrestart\n",
        "each once, in handler order"
    );

    p.recon(&["apply", "site.yml", "-e", "a=1", "-e", "b=1"])
        .expect_code(0);
    assert_eq!(
        p.read_host("events"),
        "reload\nrestart\n",
        "converged apply triggers nothing"
    );

    let run = p.recon(&["apply", "site.yml", "-e", "a=2", "-e", "b=1"]);
    run.expect_code(0).stdout_has("# triggered by: ~ file");
    assert_eq!(
        p.read_host("events"),
        "reload\nrestart\nrestart\n",
        "only the notified handler"
    );
}

#[test]
fn a_handler_does_not_run_when_its_notifier_failed() {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - command: "exit 1"
      notify: after
  handlers:
    - name: after
      command: "touch {{ root }}/handler-ran"
"#,
    );
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.recon(&["apply", "site.yml"]).expect_code(1);
    assert!(!p.host("handler-ran").exists());
}
