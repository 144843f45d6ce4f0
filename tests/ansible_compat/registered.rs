//! `register:` and what reads it: a plan shows the tasks that read a result this run changes as
//! known after apply, `apply` carries the play out in rounds, and a host where nothing changes
//! plans the whole play (its queries run while planning). `changed_when`, `failed_when` and
//! `ignore_errors` judge results as Ansible does.

use super::project;
use crate::harness::Project;

#[test]
fn registered_results_are_planned_in_rounds_and_converge() {
    let p = project("registered");
    // `recon check` compiles every task, registered results standing in for their values.
    p.recon(&["check", "site.yml"])
        .expect_code(0)
        .stdout_has("site.yml is valid: 1 play");
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(2)
        .stdout_has("? the tasks from `read the release file` (site.yml:12): known after apply")
        .stdout_has("more known after apply");
    // A saved plan holds exactly what will run: one that stops at a horizon is refused.
    p.recon(&["plan", "site.yml", "--out", "saved.plan"])
        .expect_code(1)
        .stderr_has("the plan was not saved");
    assert!(!p.dir().join("saved.plan").exists());

    let apply = p.recon(&["apply", "site.yml"]);
    apply.expect_code(0);
    assert_eq!(
        p.read_host("app/seen.txt"),
        "rc=0 out=1.4.2 lines=1 missing=1 False\n",
        "a query's stdout, rc and stdout_lines; `failed_when: false` clears `failed`"
    );
    assert_eq!(
        p.read_host("app/first-run.txt"),
        "initialised on the first run\n",
        "`when: init is changed` after the guarded command ran"
    );
    assert_eq!(
        p.read_host("app/sizes.txt"),
        "6,0 RELEASE,initialised\n",
        "a looped query registers `results` with each item"
    );
    assert_eq!(
        p.read_host("app/results.txt"),
        "True broken exit 3 False False\n",
        "ignore_errors keeps `failed`; `failed_when` reads the task's own result"
    );
    // Converged: every query runs while planning, so the whole play is planned and empty.
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0)
        .stdout_has("No changes.");
    // The guarded command did not run again: the note keyed on it is not rewritten.
    std::fs::remove_file(p.host("app/first-run.txt")).expect("rm");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert!(!p.host("app/first-run.txt").exists());
}

/// A project whose `site.yml` is `play`.
fn with_play(play: &str) -> Project {
    let p = Project::new();
    p.file("site.yml", play);
    p
}

#[test]
fn a_failing_query_stops_the_host_before_anything_after_it() {
    let p = with_play(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: folder
      file: path={{ root }}/app state=directory
    - name: the check
      shell: echo "no database" >&2; exit 4
      register: check
      changed_when: false
    - name: after the check
      copy: dest={{ root }}/app/after.txt content=x
"#,
    );
    let apply = p.recon(&["apply", "site.yml"]);
    apply
        .expect_code(1)
        .stdout_has("task `the check` failed (exit 4): no database")
        .stdout_has("site.yml:6:");
    assert!(p.host("app").is_dir(), "the round before the query ran");
    assert!(!p.host("app/after.txt").exists());
    // Converged before the query: `plan` runs it and reports the same failure.
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stdout_has("task `the check` failed (exit 4): no database");
}

#[test]
fn failed_when_true_fails_the_host_after_its_step_and_before_the_next() {
    let p = with_play(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - file: path={{ root }} state=directory
    - name: migrate
      shell: echo "ERROR duplicate key"; exit 0
      register: migrate
      failed_when: "'ERROR' in migrate.stdout"
    - name: after the migration
      copy: dest={{ root }}/after.txt content=x
"#,
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("! command echo \"ERROR duplicate key\"; exit 0")
        .stdout_has("? the tasks after `migrate` (site.yml:5): known after apply");
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("the task failed: its `failed_when` is true");
    assert!(!p.host("after.txt").exists());
}

#[test]
fn a_task_skipped_by_when_registers_a_skipped_result_at_once() {
    let p = with_play(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - file: path={{ root }} state=directory
    - name: never
      command: "false"
      register: never
      when: false
    - name: uses it
      copy:
        dest: "{{ root }}/skipped.txt"
        content: "{{ never is skipped }} {{ never.changed }}\n"
"#,
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("+True False");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("skipped.txt"), "True False\n");
}

#[test]
fn a_failing_block_skips_its_rest_and_runs_its_rescue_then_always() {
    let p = with_play(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - file: path={{ root }} state=directory
    - name: deploy
      block:
        - name: step one
          copy: dest={{ root }}/one.txt content=one
        - name: migrate
          shell: "{{ 'echo migration failed; exit 5' if fail_it | bool else 'true' }}"
        - name: step three
          copy: dest={{ root }}/three.txt content=three
      rescue:
        - name: roll back
          copy: dest={{ root }}/rolled-back.txt content=rolled
      always:
        - name: always
          copy: dest={{ root }}/always.txt content=always
"#,
    );
    let apply = p.recon(&["apply", "site.yml", "-e", "fail_it=true"]);
    apply
        .expect_code(0)
        .stdout_has("? the tasks from `roll back` (site.yml:14): known after apply")
        .stdout_has("rescued: the rest of its block was skipped")
        .stdout_has("migration failed");
    assert!(p.host("one.txt").exists());
    assert!(
        !p.host("three.txt").exists(),
        "the block stops at its failure"
    );
    assert_eq!(p.read_host("rolled-back.txt"), "rolled");
    assert_eq!(p.read_host("always.txt"), "always");

    // Without a failure the rescue is skipped and the rest of the block runs.
    std::fs::remove_dir_all(p.host_root()).expect("rm");
    p.recon(&["apply", "site.yml", "-e", "fail_it=false"])
        .expect_code(0);
    assert!(p.host("three.txt").exists());
    assert!(!p.host("rolled-back.txt").exists());
    assert!(p.host("always.txt").exists());
}

#[test]
fn stat_and_a_registered_uri_are_queries_whose_results_plan_exactly() {
    let www = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        www.path().join("health.json"),
        r#"{"version": "1.2.3", "ok": true}"#,
    )
    .expect("health");
    let http = super::fetch::Http::start(www.path());
    let p = with_play(&format!(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - file: path={{{{ root }}}} state=directory
    - name: the app answers
      uri:
        url: http://127.0.0.1:{port}/health.json
        return_content: true
      register: health
    - name: is there a config
      stat: path={{{{ root }}}}/app.conf
      register: conf
    - name: default config
      copy: dest={{{{ root }}}}/app.conf content="version={{{{ health.json.version }}}}\n"
      when: not conf.stat.exists
    - name: what was seen
      copy:
        dest: "{{{{ root }}}}/seen.txt"
        content: "{{{{ health.status }}}} {{{{ health.json.ok }}}} {{{{ conf.stat.exists }}}}\n"
"#,
        port = http.port
    ));
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("app.conf"), "version=1.2.3\n");
    assert_eq!(p.read_host("seen.txt"), "200 True False\n");
    // The config exists now: the copy is skipped, and `seen.txt` says so (one change, planned
    // exactly because the queries ran while planning).
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("-200 True False")
        .stdout_has("+200 True True");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
    drop(http);
}

#[test]
fn check_compiles_past_registered_results_and_reports_what_is_wrong_there() {
    let p = with_play(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - command: cat /etc/hostname
      register: h
      changed_when: false
    - name: uses it
      copy: dest={{ root }}/x content="{{ h.stdout | int + 1 }}"
      when: h.rc == 0
    - name: a typo after it
      copy: dest={{ root }}/y content="{{ undefined_thing }}"
    - name: a bad argument after it
      file: path={{ root }}/z state=directory mdoe=0755
"#,
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("2 errors")
        .stderr_has("undefined variable `undefined_thing`")
        .stderr_has("did you mean `mode`?");
}

#[test]
fn a_query_with_until_is_run_again_until_it_holds() {
    let www = tempfile::tempdir().expect("tempdir");
    let http = super::fetch::Http::start(www.path());
    // The app comes up about two seconds after the run starts.
    let ready = www.path().join("health");
    let writer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(2));
        std::fs::write(ready, "up").expect("health");
    });
    let p = with_play(&format!(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - file: path={{{{ root }}}} state=directory
    - name: wait for the app
      uri: url=http://127.0.0.1:{port}/health return_content=yes
      register: health
      until: health.status == 200
      retries: 10
      delay: 1
    - copy: dest={{{{ root }}}}/seen.txt content="{{{{ health.content }}}}"
    - name: never up
      uri: url=http://127.0.0.1:{port}/never
      register: never
      until: never.status == 200
      retries: 1
      delay: 1
"#,
        port = http.port
    ));
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("task `never up` failed: its `until` did not hold after 2 attempts");
    assert_eq!(p.read_host("seen.txt"), "up");
    writer.join().expect("writer");
    drop(http);
}

#[test]
fn always_runs_after_a_failing_block_without_rescue_and_then_the_host_fails() {
    let p = with_play(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - file: path={{ root }} state=directory
    - block:
        - name: lock
          copy: dest={{ root }}/lock content=held
        - name: migrate
          shell: "{{ 'echo schema error; exit 3' if fail_it | bool else 'true' }}"
        - name: after migrate
          copy: dest={{ root }}/migrated content=yes
      always:
        - name: unlock
          file: path={{ root }}/lock state=absent
        - name: note
          copy: dest={{ root }}/always.txt content=ran
    - name: after the block
      copy: dest={{ root }}/after.txt content=yes
"#,
    );
    p.recon(&["apply", "site.yml", "-e", "fail_it=true"])
        .expect_code(1)
        .stdout_has(
            "the block failed and has no `rescue`: task `migrate` failed (exit 3): schema error",
        );
    assert!(!p.host("lock").exists(), "the always ran");
    assert_eq!(p.read_host("always.txt"), "ran");
    assert!(!p.host("migrated").exists());
    assert!(
        !p.host("after.txt").exists(),
        "the play stops after the always"
    );

    std::fs::remove_dir_all(p.host_root()).expect("rm");
    p.recon(&["apply", "site.yml", "-e", "fail_it=false"])
        .expect_code(0);
    assert!(p.host("migrated").exists() && p.host("after.txt").exists());
    assert!(!p.host("lock").exists());
}

#[test]
fn check_does_not_take_tasks_a_registered_result_decides_between_for_a_clash() {
    // Ansistrano's shape: remove `current` when it is a folder, then make it a link.
    let p = with_play(
        r"- hosts: all
  gather_facts: false
  tasks:
    - stat: path={{ root }}/current
      register: current
    - name: remove current when it is a folder
      file: path={{ root }}/current state=absent
      when: current.stat.isdir
    - name: current release
      file: src={{ root }}/releases/1 dest={{ root }}/current state=link
    - name: a bad argument under such a when is still found
      file: path={{ root }}/x state=directory mdoe=0755
      when: current.stat.exists
",
    );
    let check = p.recon(&["check", "site.yml"]);
    check.expect_code(1).stderr_has("unknown key `mdoe`");
    assert!(
        !check.stderr.contains("two tasks manage"),
        "{}",
        check.stderr
    );
}

#[test]
fn check_of_a_play_that_reads_facts_of_hosts_it_does_not_contact_passes() {
    let p = Project::new();
    p.file(
        "inventory/hosts.yml",
        "all:\n  hosts:\n    web1:\n      ansible_host: 192.0.2.200\n",
    )
    .file("vars/Debian.yml", "__nginx_user: www-data\n")
    .file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - name: OS variables (geerlingguy's roles start so)
      include_vars: "{{ ansible_os_family }}.yml"
    - name: uses one of them
      copy: dest=/srv/user.txt content="{{ __nginx_user }}"
    - name: Debian only
      copy: dest=/srv/{{ ansible_hostname }}.txt content="{{ ansible_eth0.ipv4.address }}"
      when: ansible_os_family == "Debian"
    - name: an error that does not depend on facts
      file: path=/srv/x state=directory mdoe=0755
"#,
    );
    let check = p.recon(&["check", "site.yml"]);
    check.expect_code(1).stderr_has("unknown key `mdoe`");
    assert!(!check.stderr.contains("undefined"), "{}", check.stderr);
    // Connection settings are never stood in for: a `become` task is still compiled.
    p.file(
        "site.yml",
        "- hosts: all\n  become: true\n  tasks:\n    - copy: dest=/srv/x content=\"{{ ansible_os_family }}\"\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(0)
        .stdout_has("1 play, 1 task compiled for 1 host");
}

#[test]
fn a_no_log_query_that_fails_says_so_without_its_output() {
    let p = with_play(
        r"- hosts: all
  gather_facts: false
  tasks:
    - name: token check
      shell: printf 's3cr3t%s rejected\n' -value >&2; exit 2
      register: token
      changed_when: false
      no_log: true
",
    );
    let plan = p.recon(&["plan", "site.yml"]);
    plan.expect_code(1)
        .stdout_has("task `token check` failed (exit 2)");
    assert!(!plan.stdout.contains("s3cr3t-value"), "{}", plan.stdout);
    assert!(!plan.stderr.contains("s3cr3t-value"), "{}", plan.stderr);
}

#[test]
fn a_handler_that_reads_a_result_registered_in_the_run_is_a_located_error() {
    let p = with_play(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - file: path={{ root }} state=directory
    - name: version
      command: echo 1.2
      register: version
      notify: record
  handlers:
    - name: record
      copy: dest={{ root }}/v content="{{ version.stdout }}"
"#,
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stderr_has("handler `record` reads a result registered in this run");
}

#[test]
fn facts_set_in_a_play_carry_to_the_next_and_an_earlier_plays_result_is_a_clear_error() {
    let p = with_play(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - set_fact: app_version=1.2.3
    - file: path={{ root }} state=directory
- hosts: all
  gather_facts: false
  tasks:
    - copy: dest={{ root }}/ver.txt content="{{ app_version }}"
"#,
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("ver.txt"), "1.2.3");
    p.file(
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - command: echo hi
      register: greeting
- hosts: all
  gather_facts: false
  tasks:
    - copy: dest={{ root }}/greet.txt content="{{ greeting.stdout }}"
"#,
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stderr_has("`greeting` is registered by an earlier play and known only after it is");
}
