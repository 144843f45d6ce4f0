//! Interrupted runs keep their reactions: a change whose handler never ran (recon and its
//! script killed, as when the link drops) leaves a marker on the host; the next plan shows the
//! handler as pending from the interrupted run, the next apply runs it, and then all is quiet.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::Project;

const PLAYBOOK: &str = r#"- hosts: all
  tasks:
    - name: switch
      command: { cmd: "touch {{ root }}/switched", creates: "{{ root }}/switched" }
      notify: restart
  handlers:
    - name: restart
      command: "sh {{ root }}/../restart.sh {{ root }}"
"#;

/// Records each restart; the first one hangs (the run is killed during it) unless `quick` exists.
/// Its pid goes to `handler.pid` first, so the test stops exactly this process's group.
const RESTART: &str = r#"echo $$ > "$1/handler.pid"
echo started >> "$1/started"
[ -e "$1/quick" ] || sleep 60
echo restarted >> "$1/restarts"
"#;

fn wait_for(path: &std::path::Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `recon apply site.yml` in `p`, in the background, its scripts' temp folders in `tmp`.
fn spawn_apply(p: &Project, tmp: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_recon"))
        .args(["apply", "site.yml"])
        .current_dir(p.dir())
        .env("HOME", p.dir())
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("recon starts")
}

/// How many script temp folders (`recon-run.*`) are in `tmp`.
fn recon_runs(tmp: &std::path::Path) -> usize {
    std::fs::read_dir(tmp)
        .expect("tmp")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("recon-run."))
        .count()
}

#[test]
fn a_handler_cut_off_by_a_killed_run_is_pending_and_runs_on_the_next_apply() {
    let p = Project::new();
    p.file("site.yml", PLAYBOOK).file("restart.sh", RESTART);
    std::fs::create_dir_all(p.host_root()).expect("root");
    let tmp = p.dir().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let mut child = spawn_apply(&p, &tmp);
    wait_for(&p.host("started"));
    // The link drops: recon and every process of the host's script die at once, mid-handler
    // (the local transport runs the script in its own process group).
    let handler = p.read_host("handler.pid").trim().to_owned();
    assert!(
        handler.parse::<u32>().is_ok(),
        "the handler's pid: {handler:?}"
    );
    let ps = Command::new("ps")
        .args(["-o", "pgid=", "-p", &handler])
        .output()
        .expect("ps");
    let group = String::from_utf8_lossy(&ps.stdout).trim().to_owned();
    child.kill().expect("kill recon");
    let _ = child.wait();
    let killed = Command::new("kill")
        .args(["-9", "--", &format!("-{group}")])
        .status()
        .expect("kill");
    assert!(killed.success(), "kill -9 -{group}");
    assert!(p.host("switched").exists());
    assert!(!p.host("restarts").exists(), "the handler was cut off");
    // A script killed outright cannot remove its temp folder; the next apply sweeps it.
    assert_eq!(recon_runs(&tmp), 1, "the killed script's temp folder");

    let plan = p.recon(&["plan", "site.yml"]);
    plan.expect_code(0)
        .stdout_has("restart")
        .stdout_has("pending from an interrupted run");
    assert!(!plan.stdout.contains("No changes"), "{}", plan.stdout);

    std::fs::write(p.host("quick"), "").expect("quick");
    p.recon_with(&["apply", "site.yml"], |c| {
        c.env("TMPDIR", &tmp);
    })
    .expect_code(0);
    assert_eq!(p.read_host("restarts"), "restarted\n");
    assert_eq!(recon_runs(&tmp), 0, "temp folders left behind");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes");
}

#[test]
fn a_change_that_does_not_happen_leaves_no_pending_reaction() {
    let p = Project::new();
    p.file("site.yml", PLAYBOOK).file("restart.sh", RESTART);
    std::fs::create_dir_all(p.host_root()).expect("root");
    std::fs::write(p.host("quick"), "").expect("quick");
    // `switched` appears between plan and apply: the guard re-checked at apply says done (100).
    p.recon(&["plan", "site.yml", "-o", "saved.plan"])
        .expect_code(0);
    std::fs::write(p.host("switched"), "").expect("switched");
    p.recon(&["apply", "saved.plan"]);
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes");
}

#[test]
fn a_dropped_link_reports_the_steps_the_host_finished() {
    use crate::harness::accounts::ensure_user;
    use crate::harness::sshd::Sshd;
    let user = "recon_droplink";
    let home = ensure_user(user);
    let sshd = Sshd::start();
    sshd.authorize(user);
    let p = Project::new();
    let dir = home.join("droplink");
    let _ = std::fs::remove_dir_all(&dir);
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    dl: {{ ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: {user}, ansible_ssh_private_key_file: {}, recon_known_hosts_file: {} }}\n",
            sshd.port,
            sshd.client_key.display(),
            sshd.known_hosts.display()
        ),
    )
    .file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - command: { cmd: "mkdir -p ~/droplink && touch ~/droplink/one", creates: "~/droplink/one" }
    - command: { cmd: "sleep 20; touch ~/droplink/two", creates: "~/droplink/two" }
"#,
    );
    let mut recon = Command::new(env!("CARGO_BIN_EXE_recon"));
    recon
        .args(["apply", "site.yml"])
        .current_dir(p.dir())
        .env("HOME", p.dir())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = recon.spawn().expect("recon starts");
    wait_for(&dir.join("one"));
    std::thread::sleep(Duration::from_millis(300));
    // The link drops: the sshd session serving the apply dies.
    let killed = Command::new("pkill")
        .args(["-9", "-f", &format!("sshd: {user}")])
        .status()
        .expect("pkill");
    assert!(killed.success(), "no sshd session to kill");
    let out = child.wait_with_output().expect("recon ends");
    let _ = Command::new("pkill").args(["-9", "-u", user]).status();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("the host reported 1 of 2 steps"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recap = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("dl") && l.split_whitespace().count() == 7)
        .unwrap_or_else(|| panic!("no recap row with an UNKNOWN column in\n{stdout}"));
    let cols: Vec<&str> = recap.split_whitespace().collect();
    assert_eq!(
        cols[2], "1",
        "CHANGED counts the step the host finished: {recap}"
    );
    // The step cut off may have run: unknown, never counted as skipped.
    assert_eq!((cols[4], cols[6]), ("0", "1"), "SKIPPED, UNKNOWN: {recap}");
}

#[test]
fn temp_folders_of_an_interrupted_unpack_are_removed_by_the_next_run() {
    let p = Project::new();
    p.tarball("app.tar.gz", &[("run.sh", b"echo app\n")]);
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - release: { root: \"{{ root }}/app\", version: v1, src: app.tar.gz }\n",
    );
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    // What a run killed mid-unpack leaves: a half-filled temp folder named after its script's
    // pid (one no process can have: above the kernel's largest), and one of an older recon.
    let leftover = p.host("app/.v2.tmp-99999999.AbCdEfGh");
    std::fs::create_dir_all(leftover.join("half")).expect("leftover");
    let older = p.host("app/.v3.tmp-AbCdEfGh");
    std::fs::create_dir_all(&older).expect("leftover");
    // Another target's apply unpacking into the same root right now (this test's own pid is
    // alive): not a leftover, left alone.
    let live = p.host(&format!("app/.v4.tmp-{}.AbCdEfGh", std::process::id()));
    std::fs::create_dir_all(live.join("half")).expect("live");
    let plan = p.recon(&["plan", "site.yml"]);
    plan.expect_code(0)
        .stdout_has(".v2.tmp-99999999.AbCdEfGh")
        .stdout_has(".v3.tmp-AbCdEfGh");
    assert!(!plan.stdout.contains(".v4.tmp-"), "{}", plan.stdout);
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert!(!leftover.exists(), "removed by the next apply");
    assert!(!older.exists(), "removed by the next apply");
    assert!(
        live.join("half").exists(),
        "a running unpack's folder is kept"
    );
    std::fs::remove_dir_all(&live).expect("done");
    assert!(
        p.host("app/v1/run.sh").exists(),
        "the live release is untouched"
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes");
}

#[test]
fn a_daemon_started_by_a_step_does_not_hold_the_accounts_lock() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - command: { cmd: "sleep 30 >/dev/null 2>&1 </dev/null & echo $! > {{ root }}/daemon", creates: "{{ root }}/daemon" }
    - command: { cmd: "touch {{ root }}/again", creates: "{{ root }}/again" }
"#,
    );
    p.recon(&["apply", "site.yml", "--lock-timeout", "2"])
        .expect_code(0);
    std::fs::remove_file(p.host("again")).expect("reset");
    // The daemon still runs; the next apply gets the lock at once.
    p.recon(&["apply", "site.yml", "--lock-timeout", "2"])
        .expect_code(0);
    assert!(p.host("again").exists());
    // Stop this test's daemon only, by the pid the step recorded.
    let pid = p.read_host("daemon").trim().to_owned();
    assert!(
        pid.parse::<u32>().is_ok(),
        "the step recorded a pid: {pid:?}"
    );
    let _ = Command::new("kill").arg(&pid).status();
}

#[test]
fn a_script_whose_recon_is_gone_stops_dispatching_and_leaves_no_temp_files() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - command: { cmd: "touch {{ root }}/started; sleep 2; touch {{ root }}/one", creates: "{{ root }}/one" }
    - command: { cmd: "touch {{ root }}/two", creates: "{{ root }}/two" }
"#,
    );
    let tmp = p.dir().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let mut child = spawn_apply(&p, &tmp);
    wait_for(&p.host("started"));
    // Only recon dies (its link to the script goes): the host's script lives on.
    child.kill().expect("kill recon");
    let _ = child.wait();
    // The step in flight finishes; its report line then meets a closed pipe, which stops the
    // dispatching like Ctrl-C, and the script ends through its EXIT trap.
    wait_for(&p.host("one"));
    let start = Instant::now();
    while recon_runs(&tmp) > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the script's temp folder stayed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !p.host("two").exists(),
        "no step is started once nobody reads the report"
    );
}
