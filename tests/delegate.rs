//! `delegate_to` and `local_action`: a task runs on another inventory host's connection (or the
//! control machine's) with the delegating host's variables, as a round of its own between the
//! host's rounds. Here both hosts are local connections with their own folders; the heavy test
//! in `ssh_delegate.rs` delegates between two accounts of the test sshd.

use std::fmt::Write as _;

use crate::harness::Project;

/// `recon plan` finds every round of the play converged (the delegated ones on their delegate).
fn plans_no_changes(p: &Project) {
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
}

/// `file` (under the host root) made stale: the plan shows `shown` changing, and apply puts
/// it back as it was.
fn restores(p: &Project, file: &str, shown: &str) {
    let before = p.read_host(file);
    std::fs::write(p.host(file), "stale\n").expect("write");
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(2)
        .stdout_has(shown);
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host(file), before);
}

/// `web` (the play's host) and `lb` (only delegated to), each with its own folder and
/// `greeting`.
fn two_hosts() -> Project {
    let p = Project::new();
    let root = p.host_root();
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  vars: {{ ansible_connection: local }}\n  hosts:\n    web: {{ root: {r}/web, greeting: from web }}\n    lb: {{ root: {r}/lb, greeting: from lb }}\n",
            r = root.display()
        ),
    );
    std::fs::create_dir_all(p.host("lb")).expect("lb folder");
    p
}

const SITE: &str = r#"- hosts: web
  tasks:
    - directory: { path: "{{ root }}" }
    - name: drain web at the lb
      file:
        path: "{{ hostvars['lb'].root }}/drained-{{ inventory_hostname }}"
        content: "{{ greeting }} ({{ inventory_hostname }})\n"
      delegate_to: lb
    - name: ask the control machine
      command: echo "local {{ inventory_hostname }}"
      changed_when: false
      register: asked
      delegate_to: localhost
    - file:
        path: "{{ root }}/asked"
        content: "{{ asked.stdout }}\n"
    - local_action:
        module: command
        cmd: touch "{{ root }}/local-action"
        creates: "{{ root }}/local-action"
    - file: { path: "{{ root }}/last", content: "done\n" }
"#;

#[test]
fn a_delegated_task_runs_on_the_delegate_with_the_hosts_variables() {
    let p = two_hosts();
    p.file("site.yml", SITE);
    // The first step changes web: the delegated task is known after apply.
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("directory")
        .stdout_has("it is delegated to `lb`");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("lb/drained-web"), "from web (web)\n");
    assert_eq!(p.read_host("web/asked"), "local web\n");
    assert!(p.host("web/local-action").exists());
    assert_eq!(p.read_host("web/last"), "done\n");
    assert!(!p.host("web/drained-web").exists());
    // Converged: the plan probes the delegated task on the delegate and finds nothing to do.
    plans_no_changes(&p);
    // Only the delegated file differs: the plan shows it under web, delegated to lb.
    restores(&p, "lb/drained-web", "drained-web (delegated to lb)");
    plans_no_changes(&p);
}

#[test]
fn a_delegated_first_task_and_its_result_reach_the_tasks_after_it() {
    let p = two_hosts();
    p.file(
        "site.yml",
        r#"- hosts: web
  tasks:
    - name: write at the lb
      copy:
        dest: "{{ hostvars['lb'].root }}/first"
        content: "{{ greeting }}\n"
      register: first
      delegate_to: "{{ groups['all'] | select('ne', inventory_hostname) | first }}"
    - directory: { path: "{{ root }}" }
    - file:
        path: "{{ root }}/changed"
        content: "{{ first.changed }}\n"
"#,
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("lb/first"), "from web\n");
    assert_eq!(p.read_host("web/changed"), "True\n");
    // Now the delegated file is there: `first.changed` is false, and web's file says so.
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("web/changed"), "False\n");
}

#[test]
fn delegating_to_a_host_the_inventory_does_not_know_is_a_located_error() {
    let p = two_hosts();
    p.file(
        "site.yml",
        "- hosts: web\n  tasks:\n    - file: { path: /tmp/x, content: x }\n      delegate_to: nowhere\n",
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stderr_has("`delegate_to: nowhere` is not a host of the inventory")
        .stderr_has("site.yml:4:20");
    assert!(!p.host("web").exists());
}

/// Three web hosts in batches of two, and `lb`.
fn three_webs() -> Project {
    let p = Project::new();
    let r = p.host_root();
    let mut hosts = String::from(
        "all:\n  vars: { ansible_connection: local }\n  children:\n    webs:\n      hosts:\n",
    );
    for name in ["web1", "web2", "web3"] {
        let _ = writeln!(hosts, "        {name}: {{ root: {}/{name} }}", r.display());
    }
    let _ = writeln!(hosts, "  hosts:\n    lb: {{ root: {}/lb }}", r.display());
    p.file("inventory/hosts.yml", &hosts);
    std::fs::create_dir_all(p.host("lb")).expect("lb folder");
    p
}

#[test]
fn run_once_runs_for_the_first_host_of_each_batch_and_a_blocks_delegate_reaches_its_tasks() {
    let p = three_webs();
    p.file(
        "site.yml",
        r#"- hosts: webs
  serial: 2
  tasks:
    - name: once per batch, at the lb
      file:
        path: "{{ hostvars['lb'].root }}/batch-led-by-{{ inventory_hostname }}"
        content: "{{ ansible_play_hosts | length }}\n"
      run_once: true
      delegate_to: lb
    - directory: { path: "{{ root }}" }
    - block:
        - file:
            path: "{{ hostvars['lb'].root }}/in-rotation-{{ inventory_hostname }}"
            content: "{{ inventory_hostname }}\n"
      delegate_to: lb
"#,
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert!(p.host("lb/batch-led-by-web1").exists());
    assert!(!p.host("lb/batch-led-by-web2").exists());
    assert!(p.host("lb/batch-led-by-web3").exists());
    for web in ["web1", "web2", "web3"] {
        assert_eq!(
            p.read_host(&format!("lb/in-rotation-{web}")),
            format!("{web}\n")
        );
        assert!(p.host(web).is_dir());
        assert!(!p.host(&format!("{web}/in-rotation-{web}")).exists());
    }
    plans_no_changes(&p);
}

/// web's play: a looped task delegated to lb and a task of web's own both notify `reload`,
/// which appends a line to web's `reloads` (it fails while web has no `ok` file).
const NOTIFYING: &str = r#"- hosts: web
  tasks:
    - directory: { path: "{{ root }}" }
    - name: configure the lb
      file:
        path: "{{ hostvars['lb'].root }}/{{ item }}.conf"
        content: "{{ greeting }}\n"
      loop: [a, b]
      delegate_to: lb
      notify: reload
    - name: own file
      file: { path: "{{ root }}/own", content: "x\n" }
      notify: reload
  handlers:
    - name: reload
      command: sh -c 'test -e ok && echo "{{ inventory_hostname }}" >> reloads'
      args: { chdir: "{{ root }}" }
"#;

#[test]
fn a_handler_a_delegated_task_notifies_runs_once_on_the_host() {
    let p = two_hosts();
    p.file("site.yml", NOTIFYING);
    std::fs::create_dir_all(p.host("web")).expect("web folder");
    std::fs::write(p.host("web/ok"), "").expect("ok");
    // Both the delegated items and web's own task change: `reload` runs once, on web (a step
    // of web's round, not of the round delegated to lb).
    let out = p.recon(&["apply", "site.yml"]);
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let runs: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("handler `reload`"))
        .collect();
    assert_eq!(runs.len(), 1, "{}", out.stdout);
    assert!(!lines[runs[0] + 1].contains("delegated"), "{}", out.stdout);
    assert_eq!(p.read_host("lb/a.conf"), "from web\n");
    assert_eq!(p.read_host("lb/b.conf"), "from web\n");
    assert_eq!(p.read_host("web/reloads"), "web\n");
    assert!(!p.host("lb/reloads").exists());
    // Converged: nothing notifies it.
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("web/reloads"), "web\n");
    plans_no_changes(&p);
    // Only the delegated task changes: its change alone runs web's handler, saying why.
    std::fs::write(p.host("lb/b.conf"), "stale\n").expect("write");
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("notified by `configure the lb");
    assert_eq!(p.read_host("web/reloads"), "web\nweb\n");
    plans_no_changes(&p);
}

#[test]
fn a_handler_a_delegated_task_owes_stays_pending_until_it_ran() {
    let p = two_hosts();
    p.file("site.yml", NOTIFYING);
    std::fs::create_dir_all(p.host("web")).expect("web folder");
    std::fs::write(p.host("web/own"), "x\n").expect("own");
    // Only the delegated task changes, and the handler it owes web fails (no `ok` yet).
    p.recon(&["apply", "site.yml"]).expect_code(1);
    assert_eq!(p.read_host("lb/a.conf"), "from web\n");
    assert!(!p.host("web/reloads").exists());
    // Nothing changes any more, but web still owes the handler: the next run shows and runs it.
    std::fs::write(p.host("web/ok"), "").expect("ok");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("pending from an interrupted run");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("web/reloads"), "web\n");
    plans_no_changes(&p);
}

#[test]
fn a_delegated_task_notifying_no_handler_is_a_located_error() {
    let p = two_hosts();
    p.file(
        "site.yml",
        "- hosts: web\n  tasks:\n    - file: { path: \"{{ hostvars['lb'].root }}/x\", content: x }\n      delegate_to: lb\n      notify: relaod\n  handlers:\n    - name: reload\n      command: 'true'\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("relaod")
        .stderr_has("site.yml:5:");
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stderr_has("relaod")
        .stderr_has("site.yml:5:");
    assert!(!p.host("lb/x").exists());
}

#[test]
fn a_run_once_result_reaches_every_host_of_its_batch() {
    let p = three_webs();
    p.file(
        "site.yml",
        r#"- hosts: webs
  serial: 2
  tasks:
    - directory: { path: "{{ root }}" }
    - name: once per batch
      command: sh -c 'echo {{ inventory_hostname }} >> ran; echo led by {{ inventory_hostname }}'
      args: { chdir: "{{ root }}", creates: "{{ root }}/ran" }
      run_once: true
      register: once
    - name: ask once
      command: echo "asked {{ inventory_hostname }}"
      changed_when: false
      run_once: true
      register: asked
    - name: skipped on web1, so on web2 too
      command: echo never
      changed_when: false
      run_once: true
      when: inventory_hostname != 'web1'
      register: never
    - file:
        path: "{{ root }}/got"
        content: "{{ once.stdout | default('-') }} {{ once.changed }} {{ asked.stdout }} {{ never is skipped }}\n"
"#,
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    // Each batch's first host ran it; the batch's other hosts registered its result.
    assert_eq!(p.read_host("web1/ran"), "web1\n");
    assert_eq!(p.read_host("web3/ran"), "web3\n");
    assert!(!p.host("web2/ran").exists());
    assert_eq!(
        p.read_host("web1/got"),
        "led by web1 True asked web1 True\n"
    );
    assert_eq!(
        p.read_host("web2/got"),
        "led by web1 True asked web1 True\n"
    );
    assert_eq!(
        p.read_host("web3/got"),
        "led by web3 True asked web3 False\n"
    );
    // Found done (`creates`): while planning, web2 takes web1's results too.
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("web2/got"), p.read_host("web1/got"));
    assert!(!p.host("web2/ran").exists());
    plans_no_changes(&p);
}

#[test]
fn when_the_first_host_fails_before_a_run_once_task_the_batch_says_so() {
    let p = three_webs();
    p.file(
        "site.yml",
        r#"- hosts: webs
  tasks:
    - directory: { path: "{{ root }}" }
    - command: test "{{ inventory_hostname }}" != web1
    - name: once
      command: echo "from {{ inventory_hostname }}"
      run_once: true
      register: once
    - file: { path: "{{ root }}/got", content: "{{ once.stdout }}\n" }
"#,
    );
    // web1 fails before the task: the others do not wait for ever, and none runs it itself.
    p.recon(&["apply", "site.yml"]).expect_code(1).stdout_has(
        "task `once` runs once, on `web1`, the first host of the batch, which has not run it",
    );
    for web in ["web1", "web2", "web3"] {
        assert!(!p.host(&format!("{web}/got")).exists(), "{web}");
    }
}

#[test]
fn hosts_delegating_to_one_host_at_once_each_get_their_change_in() {
    let p = three_webs();
    // All three edit the lb's one pool file at the same time: a round planned before another
    // host's edit is refused as stale by the lb's lock-and-probe, then planned again.
    p.file(
        "site.yml",
        r#"- hosts: webs
  tasks:
    - line:
        path: "{{ hostvars['lb'].root }}/pool"
        line: "server {{ inventory_hostname }}"
      delegate_to: lb
    - directory: { path: "{{ root }}" }
"#,
    );
    for _ in 0..3 {
        let _ = std::fs::remove_file(p.host("lb/pool"));
        p.recon(&["apply", "site.yml"]).expect_code(0);
        let mut lines: Vec<String> = p.read_host("lb/pool").lines().map(str::to_owned).collect();
        lines.sort();
        assert_eq!(lines, ["server web1", "server web2", "server web3"]);
    }
    plans_no_changes(&p);
}

#[test]
fn a_delegated_task_that_fails_says_where_it_ran_and_stops_its_host() {
    let p = two_hosts();
    p.file(
        "site.yml",
        r#"- hosts: web
  tasks:
    - directory: { path: "{{ root }}" }
    - name: fails at the lb
      command: sh -c 'echo boom >&2; exit 3'
      delegate_to: lb
    - file: { path: "{{ root }}/after", content: "x\n" }
"#,
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("task `fails at the lb`")
        .stdout_has("failed on host `web`, delegated to `lb` (exit 3)")
        .stdout_has("boom");
    assert!(p.host("web").is_dir());
    assert!(!p.host("web/after").exists());
}

#[test]
fn a_loop_whose_items_delegate_to_several_hosts_runs_each_on_its_own_in_item_order() {
    let p = two_hosts();
    let root = p.host_root();
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  vars: {{ ansible_connection: local }}\n  hosts:\n    web: {{ root: {r}/web, greeting: from web }}\n    lb: {{ root: {r}/lb }}\n    db: {{ root: {r}/db }}\n",
            r = root.display()
        ),
    );
    for host in ["lb", "web", "db"] {
        std::fs::create_dir_all(p.host(host)).expect("folder");
    }
    p.file(
        "site.yml",
        &format!(
            r#"- hosts: web
  tasks:
    - file: {{ path: "{{{{ root }}}}/first", content: "x\n" }}
    - name: mark each
      file:
        path: "{{{{ hostvars[item].root }}}}/seen-by-{{{{ inventory_hostname }}}}"
        content: "{{{{ greeting }}}} at {{{{ item }}}}\n"
      delegate_to: "{{{{ item }}}}"
      loop: [lb, web, db]
      register: marked
    - name: log the order
      lineinfile: {{ path: "{order}", line: "{{{{ item }}}}", create: true }}
      delegate_to: "{{{{ item }}}}"
      loop: [lb, web, db]
    - file:
        path: "{{{{ root }}}}/results"
        content: "{{{{ marked.results | map(attribute='item') | join(',') }}}} {{{{ marked.results | map(attribute='changed') | join(',') }}}} {{{{ marked.changed }}}}\n"
"#,
            order = p.host("order").display()
        ),
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("it is delegated to `lb`");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    for host in ["lb", "web", "db"] {
        assert_eq!(
            p.read_host(&format!("{host}/seen-by-web")),
            format!("from web at {host}\n")
        );
    }
    assert_eq!(p.read_host("order"), "lb\nweb\ndb\n");
    assert_eq!(
        p.read_host("web/results"),
        "lb,web,db True,True,True True\n"
    );
    // Converged: every item's round is probed on its host and finds nothing to do; the
    // registered result says so, in Ansible's loop shape.
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(
        p.read_host("web/results"),
        "lb,web,db False,False,False False\n"
    );
    plans_no_changes(&p);
    restores(&p, "db/seen-by-web", "seen-by-web (delegated to db)");
    assert_eq!(
        p.read_host("web/results"),
        "lb,web,db False,False,True True\n"
    );
    assert_eq!(p.read_host("order"), "lb\nweb\ndb\n");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    plans_no_changes(&p);
}

#[test]
fn a_read_only_loop_whose_items_run_on_different_hosts_is_a_located_error() {
    let p = two_hosts();
    p.file(
        "site.yml",
        r#"- hosts: web
  tasks:
    - directory: { path: "{{ root }}" }
    - command: "true"
      changed_when: false
      delegate_to: "{{ item }}"
      loop: [lb, localhost]
"#,
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("this read-only task's items run on different hosts");
}

#[test]
fn a_rolling_deploy_drains_each_host_at_the_lb_while_it_is_deployed() {
    let p = three_webs();
    std::fs::write(p.host("lb/pool"), "server web1\nserver web2\nserver web3\n").expect("pool");
    p.file(
        "site.yml",
        r#"- hosts: webs
  serial: 1
  tasks:
    - name: drain
      lineinfile:
        path: "{{ hostvars['lb'].root }}/pool"
        line: "server {{ inventory_hostname }}"
        state: absent
      delegate_to: lb
    - directory: { path: "{{ root }}" }
    - name: what the lb serves while this host is deployed
      command: cp "{{ hostvars['lb'].root }}/pool" "{{ root }}/pool-seen"
    - file: { path: "{{ root }}/app", content: "v1\n" }
    - name: back in rotation
      lineinfile:
        path: "{{ hostvars['lb'].root }}/pool"
        line: "server {{ inventory_hostname }}"
      delegate_to: lb
"#,
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    for (web, others) in [
        ("web1", "server web2\nserver web3\n"),
        ("web2", "server web3\nserver web1\n"),
        ("web3", "server web1\nserver web2\n"),
    ] {
        assert_eq!(p.read_host(&format!("{web}/pool-seen")), others, "{web}");
        assert_eq!(p.read_host(&format!("{web}/app")), "v1\n");
    }
    assert_eq!(
        p.read_host("lb/pool"),
        "server web1\nserver web2\nserver web3\n"
    );
}
