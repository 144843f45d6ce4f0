//! `recon apply` on the local connection: creation, idempotence, atomic writes, failures.

use std::fmt::Write as _;
use std::os::unix::process::CommandExt;

use crate::harness::{mode, Project};

const SITE: &str = r#"- name: app
  hosts: all
  vars:
    app: "{{ root }}/app"
  tasks:
    - name: app config
      template: { src: app.conf.j2, dest: "{{ app }}/conf/app.conf", mode: "0640" }
    - name: app dir
      directory: { path: "{{ app }}", mode: "0750" }
    - directory: { path: "{{ app }}/conf" }
    - symlink: { path: "{{ app }}/current", target: conf }
    - line: { path: "{{ app }}/profile", line: "export A=1" }
    - line: { path: "{{ app }}/profile", line: "export B=2" }
    - file: { path: "{{ app }}/motd", content: "hello {{ inventory_hostname }}\n" }
    - command: { cmd: "echo ran >> {{ app }}/ran.log", creates: "{{ app }}/ran.log" }
"#;

fn project() -> Project {
    let p = Project::new();
    p.file("site.yml", SITE).file(
        "templates/app.conf.j2",
        "listen {{ port | default(8080) }};\nroot {{ app }};\n",
    );
    p
}

#[test]
fn first_apply_creates_everything_and_second_changes_nothing() {
    let p = project();
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("Plan: 6 to add, 1 to change, 0 to remove, 1 to run");
    assert_eq!(mode(&p.host("app")), 0o750);
    assert_eq!(mode(&p.host("app/conf/app.conf")), 0o640);
    assert_eq!(
        p.read_host("app/conf/app.conf"),
        format!("listen 8080;\nroot {}/app;\n", p.host_root().display())
    );
    assert_eq!(
        std::fs::read_link(p.host("app/current"))
            .expect("link")
            .to_str(),
        Some("conf")
    );
    assert_eq!(p.read_host("app/profile"), "export A=1\nexport B=2\n");
    assert_eq!(p.read_host("app/motd"), "hello box\n");
    assert_eq!(p.read_host("app/ran.log"), "ran\n");

    let second = p.recon(&["apply", "site.yml"]);
    second
        .expect_code(0)
        .stdout_has("No changes. 1 host converged.");
    assert_eq!(
        p.read_host("app/ran.log"),
        "ran\n",
        "creates guard kept the command from running twice"
    );
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
}

#[test]
fn no_temporary_files_are_left_behind() {
    let p = project();
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let leftovers: Vec<String> = p
        .host_listing()
        .into_iter()
        .filter(|f| f.contains(".recon-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_failed_step_skips_only_its_dependents() {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - name: broken dir
      command: { cmd: "exit 3", creates: "{{ root }}/never" }
    - name: dependent
      command: { cmd: "touch {{ root }}/dependent", chdir: "{{ root }}/never" }
      after: [broken dir]
    - name: independent
      file: { path: "{{ root }}/independent", content: "x" }
"#,
    );
    std::fs::create_dir_all(p.host_root()).expect("root");
    let run = p.recon(&["apply", "site.yml"]);
    run.expect_code(1)
        .stdout_has("task `broken dir` (command exit 3) failed on host `box` (exit 3)")
        .stdout_has("site.yml:3:7");
    assert!(p.host("independent").exists(), "independent step still ran");
    assert!(!p.host("dependent").exists(), "dependent step was skipped");
    assert!(
        run.stdout.contains("box      0        1       1        1"),
        "{}",
        run.stdout
    );
    // The same failure in `--json` points at the task too.
    std::fs::remove_file(p.host("independent")).expect("reset");
    let json = p.recon(&["apply", "site.yml", "--json"]);
    json.expect_code(1);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let failed = &value["report"][0]["steps"][0];
    assert_eq!(failed["status"], "failed", "{value}");
    assert_eq!(failed["at"]["file"], "site.yml", "{value}");
    assert_eq!(failed["at"]["line"], 3, "{value}");
}

#[test]
fn a_replaced_file_keeps_its_mode_unless_one_is_given() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    std::fs::write(p.host("script"), "old").expect("write");
    std::fs::set_permissions(
        p.host("script"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - file: { path: \"{{ root }}/script\", content: new }\n",
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("script"), "new");
    assert_eq!(mode(&p.host("script")), 0o755);
}

#[test]
fn validate_failure_leaves_the_live_file_untouched() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    std::fs::write(p.host("site.conf"), "good\n").expect("write");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - template: { src: site.conf.j2, dest: "{{ root }}/site.conf", validate: "grep -q good %s" }
"#,
    )
    .file("templates/site.conf.j2", "bad\n");
    let run = p.recon(&["apply", "site.yml"]);
    run.expect_code(1)
        .stdout_has("validation failed; the live file was not touched");
    assert_eq!(p.read_host("site.conf"), "good\n");
    assert!(
        p.host_listing().iter().all(|f| !f.contains(".recon-")),
        "candidate removed"
    );

    p.file("templates/site.conf.j2", "good and new\n");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("site.conf"), "good and new\n");
}

#[test]
fn a_second_apply_waits_for_the_lock_then_names_its_holder() {
    let p = project();
    std::fs::write(
        p.dir().join(".recon.lock.info"),
        "recon someone@elsewhere pid 42 since 2026-01-01T00:00:00Z\n",
    )
    .expect("info");
    // Hold the account's lock from outside, as an apply by an older recon (which takes the whole
    // account) would: this recon shares it, so it waits for it too.
    let mut holder = std::process::Command::new("flock")
        .arg(p.dir().join(".recon.lock"))
        .args(["sleep", "30"])
        .process_group(0)
        .spawn()
        .expect("flock");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let run = p.recon(&["apply", "site.yml", "--lock-timeout", "1"]);
    // flock's `sleep` child holds the lock too: end the whole group.
    let _ = std::process::Command::new("kill")
        .args(["--", &format!("-{}", holder.id())])
        .status();
    let _ = holder.wait();
    run.expect_code(1)
        .stdout_has("host is locked by recon someone@elsewhere pid 42");
    assert!(!p.host("app").exists(), "nothing written while locked");
    p.recon(&["apply", "site.yml"]).expect_code(0);
}

/// Targets of one account (the local connection), sharing `root` = the project's
/// host folder.
fn one_account(targets: &[&str]) -> Project {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    let mut hosts = format!(
        "all:\n  vars: {{ ansible_connection: local, root: {} }}\n  hosts:\n",
        p.host_root().display()
    );
    for target in targets {
        let _ = writeln!(hosts, "    {target}: {{}}");
    }
    p.file("inventory/hosts.yml", &hosts);
    p
}

/// A command that marks its target (`{{ root }}/NAME.up`) and then waits, up to 20 s, until
/// `count` targets have: it passes only while that many targets apply at the same time.
pub(crate) fn meet(count: usize) -> String {
    format!(
        "    - name: meet\n      command:\n        cmd: \"touch {{{{ root }}}}/{{{{ inventory_hostname }}}}.up; i=0; while [ $(ls {{{{ root }}}}/*.up | wc -l) -lt {count} ]; do i=$((i + 1)); [ $i -le 200 ] || exit 1; sleep 0.1; done\"\n        creates: \"{{{{ root }}}}/{{{{ inventory_hostname }}}}.up\"\n"
    )
}

#[test]
fn targets_of_one_account_apply_at_once_each_under_its_own_lock() {
    let targets = ["t1", "t2", "t3", "t4"];
    let p = one_account(&targets);
    p.file("site.yml", &format!("- hosts: all\n  tasks:\n{}", meet(4)));
    let run = p.recon(&["apply", "site.yml", "--forks", "4"]);
    run.expect_code(0);
    for target in targets {
        assert!(p.host(&format!("{target}.up")).exists(), "{}", run.stdout);
        // Each target has its own lock file, private to the account.
        let lock = p.dir().join(format!(".recon/locks/{target}.lock"));
        assert_eq!(mode(&lock), 0o600, "{}", lock.display());
    }
    assert_eq!(mode(&p.dir().join(".recon/locks")), 0o700);
    p.plans_nothing(&["site.yml"]);
}

/// Steps that edit something all of an account's targets share (here: one cron file holding an
/// entry of each) run one at a time under the account's lock, reading it as they find it: four
/// targets editing it at the same moment keep every entry.
#[test]
fn account_wide_steps_of_targets_applying_at_once_take_turns() {
    let targets = ["c1", "c2", "c3", "c4"];
    let p = one_account(&targets);
    std::fs::create_dir_all(p.host("cron.d")).expect("cron.d");
    p.file(
        "site.yml",
        &format!(
            "- hosts: all\n  tasks:\n{}    - cron: {{ name: \"{{{{ inventory_hostname }}}}\", job: \"true {{{{ inventory_hostname }}}}\", cron_file: \"{{{{ root }}}}/cron.d/jobs\", user: root }}\n",
            meet(4)
        ),
    );
    p.recon(&["apply", "site.yml", "--forks", "4"])
        .expect_code(0);
    let table = p.read_host("cron.d/jobs");
    for target in targets {
        assert!(
            table.contains(&format!("#Ansible: {target}\n"))
                && table.contains(&format!("root true {target}\n")),
            "{target}'s entry was lost:\n{table}"
        );
    }
    p.plans_nothing(&["site.yml"]);
}

#[test]
fn ctrl_c_lets_the_step_in_flight_finish_and_starts_no_more() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - name: slow
      command: "sleep 2 && touch {{ root }}/slow-done"
    - name: next
      file: { path: "{{ root }}/next", content: x }
      after: [slow]
"#,
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_recon"))
        .args(["apply", "site.yml"])
        .current_dir(p.dir())
        .env("HOME", p.dir())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("apply");
    // Wait until the slow step is running, then press Ctrl-C once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::process::Command::new("pgrep")
        .args(["-f", "sleep 2 && touch"])
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow step never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(p.host("slow-done").exists(), "the step in flight finished");
    assert!(!p.host("next").exists(), "no step started after Ctrl-C");
    assert!(
        stdout.contains("Interrupted: steps in flight finished; no further steps were started."),
        "{stdout}"
    );
}

/// Four local hosts in a play with `rollout` (its `serial:` and more keys, one per line);
/// tasks fail on the hosts listed in `fail`.
fn fleet(rollout: &str, fail: &str) -> Project {
    let p = Project::new();
    let mut hosts = String::new();
    for i in 1..=4 {
        let _ = writeln!(
            hosts,
            "    h{i}: {{ root: {}/h{i} }}",
            p.host_root().display()
        );
    }
    let rollout = rollout.replace('\n', "\n  ");
    p.file("inventory/hosts.yml", &format!("all:\n  vars: {{ ansible_connection: local }}\n  hosts:\n{hosts}"))
        .file(
            "site.yml",
            &format!(
                "- hosts: all\n  {rollout}\n  tasks:\n    - directory: {{ path: \"{{{{ root }}}}\" }}\n    - command: \"exit 1\"\n      when: inventory_hostname in {fail}\n"
            ),
        );
    p
}

#[test]
fn a_wholly_failed_serial_batch_stops_the_batches_after_it() {
    let p = fleet("serial: 2", "['h1', 'h2']");
    let run = p.recon(&["apply", "site.yml"]);
    run.expect_code(1).stdout_has(
        "host `h3`: not attempted: an earlier batch failed (batch 1: 2 of 2 hosts failed)",
    );
    assert!(
        p.host("h1").is_dir() && p.host("h2").is_dir(),
        "the first batch ran"
    );
    assert!(
        !p.host("h3").exists() && !p.host("h4").exists(),
        "the second batch did not"
    );
}

#[test]
fn a_partly_failed_serial_batch_goes_on_as_in_ansible() {
    let p = fleet("serial: 2", "['h2']");
    p.recon(&["apply", "site.yml"]).expect_code(1);
    assert!(
        p.host("h3").is_dir() && p.host("h4").is_dir(),
        "one of two failed: not the whole batch, the rollout goes on"
    );
}

#[test]
fn max_fail_percentage_stops_after_a_batch_that_exceeds_it() {
    let p = fleet("serial: 2\nmax_fail_percentage: 40", "['h2']");
    p.recon(&["apply", "site.yml"]).expect_code(1).stdout_has(
        "host `h3`: not attempted: an earlier batch failed (batch 1: 1 of 2 hosts failed, more than max_fail_percentage 40%)",
    );
    assert!(!p.host("h3").exists() && !p.host("h4").exists());
    let p = fleet("serial: 2\nmax_fail_percentage: 50", "['h2']");
    p.recon(&["apply", "site.yml"]).expect_code(1);
    assert!(
        p.host("h3").is_dir() && p.host("h4").is_dir(),
        "one of two (50%) is not more than 50%: the rollout goes on"
    );
}

#[test]
fn max_fail_percent_overrides_the_play() {
    let p = fleet("serial: 2\nmax_fail_percentage: 50", "['h2']");
    p.recon(&["apply", "site.yml", "--max-fail-percent", "40"])
        .expect_code(1)
        .stdout_has("host `h4`: not attempted: an earlier batch failed");
    assert!(!p.host("h3").exists() && !p.host("h4").exists());
}

#[test]
fn a_max_fail_percentage_that_is_not_a_percentage_is_refused() {
    let p = fleet("serial: 2\nmax_fail_percentage: lots", "[]");
    let run = p.recon(&["plan", "site.yml"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("`max_fail_percentage` must be a whole number from 0 to 100"),
        "{}",
        run.stderr
    );
    assert!(!p.host("h1").exists());
}

#[test]
fn a_failed_check_puts_the_previous_file_back() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    std::fs::write(p.host("site.conf"), "good old\n").expect("write");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - template: { src: site.conf.j2, dest: "{{ root }}/site.conf", check: "grep -q good {{ root }}/site.conf", serialize: "{{ root }}/lock" }
"#,
    )
    .file("templates/site.conf.j2", "bad new\n");
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("check failed; the previous file was restored");
    assert_eq!(p.read_host("site.conf"), "good old\n");
    p.file("templates/site.conf.j2", "good new\n");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("site.conf"), "good new\n");
    assert!(
        !p.host_listing().iter().any(|f| f.contains(".recon-")),
        "no backup left behind"
    );
}

#[test]
fn a_stamped_command_is_skipped_when_another_run_already_did_it_since_the_change() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    std::fs::write(p.host("site.conf"), "x").expect("site");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - command: { cmd: "echo reload >> {{ root }}/events", stamp: "{{ root }}/reloaded", since: "{{ root }}/site.conf" }
"#,
    );
    let touch = |path: &std::path::Path, when: &str| {
        assert!(std::process::Command::new("touch")
            .args(["-d", when])
            .arg(path)
            .status()
            .expect("touch")
            .success());
    };
    // Another target reloaded after this site file changed: nothing to do.
    touch(&p.host("site.conf"), "2026-01-01 10:00:00");
    std::fs::write(p.host("reloaded"), "").expect("stamp");
    touch(&p.host("reloaded"), "2026-01-01 10:00:05");
    let run = p.recon(&["apply", "site.yml"]);
    run.expect_code(0)
        .stdout_has("box      1        0       0        0            0");
    assert!(!p.host("events").exists(), "skipped");
    // The site file changed after the last reload: run, and stamp.
    touch(&p.host("site.conf"), "2026-01-01 10:00:09");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("events"), "reload\n");
    assert!(
        std::fs::metadata(p.host("reloaded"))
            .expect("stamp")
            .modified()
            .expect("mtime")
            > std::fs::metadata(p.host("site.conf"))
                .expect("site")
                .modified()
                .expect("mtime")
    );
}

#[test]
fn a_host_state_that_refuses_a_task_is_located_at_the_task() {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - name: config
      file: { path: "{{ root }}/conf", content: "x" }
"#,
    );
    std::fs::create_dir_all(p.host("conf")).expect("a directory where the file goes");
    let run = p.recon(&["plan", "site.yml"]);
    run.expect_code(1)
        .stdout_has("exists and is a directory, not a regular file")
        .stdout_has("site.yml:3:7")
        .stdout_has("this task");
    let json = p.recon(&["plan", "site.yml", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(value["hosts"][0]["error_at"]["line"], 3, "{value}");
}

#[test]
fn a_serial_list_sizes_the_first_batches_and_its_last_size_repeats() {
    // `[1, "50%"]` of four hosts: h1, then h2+h3, then h4. Only h1 fails: its batch of one
    // failed wholly, so the rollout stops there (with `serial: 2` it would go on).
    let p = fleet("serial: [1, \"50%\"]", "['h1']");
    p.recon(&["apply", "site.yml"]).expect_code(1).stdout_has(
        "host `h2`: not attempted: an earlier batch failed (batch 1: 1 of 1 host failed)",
    );
    assert!(p.host("h1").is_dir() && !p.host("h2").exists() && !p.host("h4").exists());
    // h2 and h3 fail: the second batch is exactly them, so h4 is not attempted.
    let p = fleet("serial: [1, \"50%\"]", "['h2', 'h3']");
    p.recon(&["apply", "site.yml"]).expect_code(1).stdout_has(
        "host `h4`: not attempted: an earlier batch failed (batch 2: 2 of 2 hosts failed)",
    );
    assert!(p.host("h3").is_dir() && !p.host("h4").exists());
}

#[test]
fn a_serial_that_is_not_a_size_is_a_located_error() {
    let p = fleet("serial: [1, lots]", "[]");
    let run = p.recon(&["plan", "site.yml"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("`serial` must be a number, a percentage or a list of those, not `lots`")
            && run.stderr.contains("site.yml:2:"),
        "{}",
        run.stderr
    );
}

/// `fleet`'s play, then a second play on every host writing `second` in its root.
fn two_plays(rollout: &str, fail: &str) -> Project {
    let p = fleet(rollout, fail);
    let first = std::fs::read_to_string(p.dir().join("site.yml")).expect("site.yml");
    p.file(
        "site.yml",
        &format!(
            "{first}- name: second\n  hosts: all\n  tasks:\n    - file: {{ path: \"{{{{ root }}}}/second\", content: \"2\\n\" }}\n"
        ),
    );
    p
}

#[test]
fn a_host_that_failed_is_left_out_of_the_later_plays_as_in_ansible() {
    let p = two_plays("gather_facts: false", "['h2']");
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("host `h2`: not attempted: it failed in an earlier play");
    for h in ["h1", "h3", "h4"] {
        assert_eq!(p.read_host(&format!("{h}/second")), "2\n", "{h} went on");
    }
    assert!(!p.host("h2/second").exists(), "h2 stopped at its failure");
}

#[test]
fn a_play_whose_every_host_failed_ends_the_run_as_in_ansible() {
    let p = two_plays("gather_facts: false", "['h1', 'h2', 'h3', 'h4']");
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("not attempted: the run ended in play `all` (batch 1: 4 of 4 hosts failed)");
    assert!(!p.host("h1/second").exists());
    // A stopped rollout ends it too: the second play never starts.
    let p = two_plays("serial: 2", "['h1', 'h2']");
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("the run ended in play");
    assert!(!p.host("h3").exists() && !p.host("h1/second").exists());
}

/// Ansible's `file` without `state` (or with `state: file`) sets the attributes of what is
/// there, as roles do after a package installed it: never created, never written; a missing
/// path, or a folder under `state: file`, fails that task's plan; a second apply changes
/// nothing; `mode: 0600` unquoted is the octal mode.
#[test]
fn ansibles_attribute_only_file_sets_modes_of_what_is_there_and_creates_nothing() {
    let p = Project::new();
    std::fs::create_dir_all(p.host("etc")).expect("mkdir");
    std::fs::write(p.host("etc/shadow"), "secret\n").expect("write");
    std::fs::set_permissions(
        p.host("etc/shadow"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .expect("chmod");
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - file: path={{ root }}/etc/shadow mode=0640\n    - file: { path: \"{{ root }}/etc\", mode: 0750 }\n",
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("0 to add, 2 to change");
    assert_eq!(mode(&p.host("etc/shadow")), 0o640);
    assert_eq!(mode(&p.host("etc")), 0o750);
    assert_eq!(p.read_host("etc/shadow"), "secret\n");
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes");

    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - file: path={{ root }}/etc/gshadow mode=0640\n",
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("etc/gshadow` does not exist");
    assert!(!p.host("etc/gshadow").exists());
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - file: { path: \"{{ root }}/etc\", state: file, mode: \"0700\" }\n",
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("is a directory, not a file");
    assert_eq!(mode(&p.host("etc")), 0o750);
}
