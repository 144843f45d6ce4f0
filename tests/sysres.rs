//! System resources against the real components of this machine (run as root): accounts and
//! groups (getent, useradd …), crontabs (`crontab -l`), `authorized_keys` honoured by a real
//! sshd, Debian packages (apt), an init.d service, and `state: absent` for paths. Each test
//! uses its own `recon_t_*` names and puts everything back.

use std::process::Command;

use crate::harness::accounts::ensure_user;

use crate::harness::sshd::Sshd;
use crate::harness::{mode, Project};

/// Runs a command, returns stdout (empty on failure).
fn out(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Runs `sh -c script` for setup or cleanup, ignoring failures.
fn sh(script: &str) {
    let _ = Command::new("sh").args(["-c", script]).status();
}

/// Runs its script when dropped: cleanup even when an assertion fails.
struct Cleanup(&'static str);

impl Drop for Cleanup {
    fn drop(&mut self) {
        sh(self.0);
    }
}

fn project(playbook: &str) -> Project {
    let p = Project::new();
    p.file("site.yml", playbook);
    p
}

#[test]
fn accounts_and_groups_are_created_changed_and_removed_exactly() {
    let _cleanup = Cleanup(
        "userdel -r recon_t_usr 2>/dev/null; groupdel recon_t_grp 2>/dev/null; groupdel recon_t_grp2 2>/dev/null",
    );
    sh("userdel -r recon_t_usr 2>/dev/null; groupdel recon_t_grp 2>/dev/null; groupdel recon_t_grp2 2>/dev/null");
    let play = |shell: &str, groups: &str, append: bool| {
        format!(
            "- hosts: all\n  tasks:\n    - group: {{ name: recon_t_grp, gid: 4711 }}\n    - group: {{ name: recon_t_grp2 }}\n    - user: {{ name: recon_t_usr, shell: {shell}, groups: [{groups}], append: {append} }}\n"
        )
    };
    let p = project(&play("/bin/sh", "recon_t_grp", false));
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("+ group recon_t_grp")
        .stdout_has("gid: 4711")
        .stdout_has("+ user recon_t_usr")
        .stdout_has("groups: recon_t_grp")
        .stdout_has("Plan: 3 to add");
    let passwd = out("getent", &["passwd", "recon_t_usr"]);
    assert!(passwd.ends_with(":/home/recon_t_usr:/bin/sh\n"), "{passwd}");
    assert!(
        std::path::Path::new("/home/recon_t_usr").is_dir(),
        "home created"
    );
    assert_eq!(
        out("getent", &["group", "recon_t_grp"]),
        "recon_t_grp:x:4711:recon_t_usr\n"
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");

    // Exact membership: one group swapped for another; the plan says from what to what.
    p.file("site.yml", &play("/bin/bash", "recon_t_grp2", false));
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("~ user recon_t_usr")
        .stdout_has("shell: /bin/sh -> /bin/bash")
        .stdout_has("groups: recon_t_grp -> recon_t_grp2");
    assert_eq!(
        out("id", &["-Gn", "recon_t_usr"]),
        "recon_t_usr recon_t_grp2\n"
    );
    // Append keeps what is there.
    p.file("site.yml", &play("/bin/bash", "recon_t_grp", true));
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("groups: recon_t_grp2 -> recon_t_grp, recon_t_grp2");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");

    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - user: { name: recon_t_usr, state: absent, remove: true }\n    - group: { name: recon_t_grp, state: absent }\n",
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("- user recon_t_usr")
        .stdout_has("- group recon_t_grp")
        .stdout_has("0 to add, 0 to change, 2 to remove");
    assert_eq!(out("getent", &["passwd", "recon_t_usr"]), "");
    assert_eq!(out("getent", &["group", "recon_t_grp"]), "");
    assert!(!std::path::Path::new("/home/recon_t_usr").exists());

    // The connecting account (root here) is never removed.
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - user: { name: root, state: absent }\n",
    );
    let refused = p.recon(&["plan", "site.yml"]);
    assert_ne!(refused.code, 0);
    assert!(
        (refused.stdout.clone() + &refused.stderr).contains("refusing to remove account `root`"),
        "{refused:?}"
    );
}

#[test]
fn cron_entries_are_named_blocks_with_an_exact_diff() {
    let user = "recon_t_cron";
    ensure_user(user);
    let _cleanup = Cleanup("crontab -u recon_t_cron -r 2>/dev/null");
    sh("printf 'MAILTO=ops\\n0 1 * * * /usr/bin/true # mine\\n' | crontab -u recon_t_cron -");
    let play = |hour: &str, extra: &str| {
        format!(
            "- hosts: all\n  tasks:\n    - cron: {{ name: renew, user: {user}, minute: '17', hour: '{hour}', job: certbot renew -q, env: {{ PATH: /usr/bin:/bin }} }}\n{extra}    - cron: {{ name: sweep, user: {user}, special_time: daily, job: 'rm -f /tmp/x', disabled: true }}\n    - cron: {{ name: tab, user: root, cron_file: '{{{{ root }}}}/cron.d/recon', job: echo hi, weekday: '1-5' }}\n"
        )
    };
    let p = project(&play("2", ""));
    std::fs::create_dir_all(p.host("cron.d")).expect("mkdir");
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("+ cron renew (crontab of recon_t_cron)")
        .stdout_has("entry: 17 2 * * * certbot renew -q")
        .stdout_has("+# recon: renew")
        .stdout_has("Plan: 3 to add");
    assert_eq!(
        out("crontab", &["-u", user, "-l"]),
        "MAILTO=ops\n0 1 * * * /usr/bin/true # mine\n# recon: renew\nPATH=/usr/bin:/bin\n17 2 * * * certbot renew -q\n#Ansible: sweep\n#@daily rm -f /tmp/x\n"
    );
    assert_eq!(
        p.read_host("cron.d/recon"),
        "#Ansible: tab\n* * * * 1-5 root echo hi\n"
    );
    assert_eq!(mode(&p.host("cron.d/recon")), 0o644);
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");

    // A schedule change is an update of that block, in place.
    p.file("site.yml", &play("3", ""));
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("~ cron renew")
        .stdout_has("entry: 17 2 * * * certbot renew -q -> 17 3 * * * certbot renew -q")
        .stdout_has("-17 2 * * * certbot renew -q")
        .stdout_has("+17 3 * * * certbot renew -q")
        .stdout_has("0 to add, 1 to change");
    assert!(out("crontab", &["-u", user, "-l"])
        .contains("\n17 3 * * * certbot renew -q\n#Ansible: sweep\n"));

    // Removal plans and applies exactly that removal; the user's own lines stay.
    p.file(
        "site.yml",
        &format!("- hosts: all\n  tasks:\n    - cron: {{ name: renew, user: {user}, state: absent }}\n    - cron: {{ name: sweep, user: {user}, state: absent }}\n"),
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("- cron renew")
        .stdout_has("0 to add, 0 to change, 2 to remove");
    assert_eq!(
        out("crontab", &["-u", user, "-l"]),
        "MAILTO=ops\n0 1 * * * /usr/bin/true # mine\n"
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");

    // Not root: the account edits its own crontab over SSH (no `crontab -u`, which needs root).
    let sshd = Sshd::start();
    sshd.authorize(user);
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    me: {{ ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: {user}, ansible_ssh_private_key_file: {}, recon_known_hosts_file: {} }}\n",
            sshd.port,
            sshd.client_key.display(),
            sshd.known_hosts.display()
        ),
    );
    p.file(
        "site.yml",
        &format!(
            "- hosts: all\n  tasks:\n    - cron: {{ name: own, user: {user}, job: 'true' }}\n"
        ),
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("+ cron own");
    assert!(out("crontab", &["-u", user, "-l"]).ends_with("#Ansible: own\n* * * * * true\n"));
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");
}

#[test]
fn an_authorized_key_with_command_restricts_the_ssh_login() {
    let user = "recon_t_akey";
    let home = ensure_user(user);
    let _cleanup = Cleanup("rm -rf /home/recon_t_akey/.ssh");
    sh("rm -rf /home/recon_t_akey/.ssh");
    let sshd = Sshd::start();
    let public = std::fs::read_to_string(sshd.client_key.with_extension("pub")).expect("pub");
    let public = public.trim();
    let play = |comment: &str| {
        format!(
            "- hosts: all\n  tasks:\n    - authorized_key:\n        user: {user}\n        key: \"{public} {comment}\\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOther1 other\"\n        key_options: 'command=\"echo restricted\",no-pty'\n"
        )
    };
    let p = project(&play("ci"));
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("+ authorized_key ~recon_t_akey/.ssh/authorized_keys");
    assert_eq!(mode(&home.join(".ssh")), 0o700);
    assert_eq!(mode(&home.join(".ssh/authorized_keys")), 0o600);
    assert_eq!(
        out(
            "stat",
            &[
                "-c",
                "%U %G",
                home.join(".ssh/authorized_keys").to_str().expect("utf8")
            ]
        ),
        format!("{user} {user}\n")
    );
    let login = sshd.ssh(user).arg("echo hello").output().expect("ssh runs");
    assert_eq!(
        String::from_utf8_lossy(&login.stdout),
        "restricted\n",
        "the forced command ran instead: {}",
        String::from_utf8_lossy(&login.stderr)
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");

    // A new comment updates the line in place; no duplicate.
    p.file("site.yml", &play("ci-renamed"));
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("~ authorized_key")
        .stdout_has("0 to add, 1 to change");
    let text = std::fs::read_to_string(home.join(".ssh/authorized_keys")).expect("read");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(" ci-renamed\n"), "{text}");

    // Removing the key locks the login out.
    p.file(
        "site.yml",
        &format!("- hosts: all\n  tasks:\n    - authorized_key: {{ user: {user}, key: '{public}', state: absent }}\n"),
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let login = sshd.ssh(user).arg("echo hello").output().expect("ssh runs");
    assert!(!login.status.success(), "the key was removed");
}

#[test]
fn packages_of_a_host_change_in_one_apt_call() {
    let cleanup = Cleanup(
        "DEBIAN_FRONTEND=noninteractive apt-get remove -y -q -o DPkg::Lock::Timeout=120 sl tree >/dev/null 2>&1",
    );
    let installed =
        |name: &str| out("dpkg-query", &["-W", "-f=${db:Status-Abbrev}", name]).starts_with("ii");
    // The test owns these two packages on the test machine (its cleanup removes them): start
    // from neither installed, whatever an earlier run left, so it always tests the install.
    sh(cleanup.0);
    assert!(
        !installed("sl") && !installed("tree"),
        "sl and tree could not be removed before the test"
    );
    let p = project(
        "- hosts: all\n  tasks:\n    - package: { name: sl }\n    - directory: { path: '{{ root }}' }\n    - package: { name: [tree], state: latest }\n",
    );
    let plan = p.recon(&["plan", "site.yml"]);
    plan.expect_code(0)
        .stdout_has("+ package sl")
        .stdout_has("package: tree 2.")
        .stdout_has("one apt call for all 2 package change(s)")
        .stdout_has("Plan: 2 to add");
    assert!(
        !plan.stdout.contains("package tree\n"),
        "the second package task has nothing left: {}",
        plan.stdout
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert!(installed("sl") && installed("tree"));
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");

    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - package: { name: [sl, tree], state: absent }\n",
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("- package sl, tree")
        .stdout_has("package: sl 5.")
        .stdout_has("0 to add, 0 to change, 1 to remove");
    assert!(!installed("sl") && !installed("tree"));
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");
}

/// A tiny LSB-style init script: a `sleep` daemon with a pid file, counting its starts.
const INIT_SCRIPT: &str = r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          recon-t-svc
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: recon test service
### END INIT INFO
pid=/run/recon-t-svc.pid
running() { [ -f $pid ] && kill -0 "$(cat $pid)" 2>/dev/null; }
case "$1" in
  start) running || { sleep 1000 >/dev/null 2>&1 & echo $! > $pid; echo start >> /run/recon-t-svc.log; } ;;
  stop) running && kill "$(cat $pid)"; rm -f $pid ;;
  restart) "$0" stop; "$0" start ;;
  reload) echo reload >> /run/recon-t-svc.log ;;
  status) running ;;
  *) exit 2 ;;
esac
"#;

#[test]
fn a_service_through_its_init_script_restarts_once_when_notified() {
    let _cleanup = Cleanup(
        "/etc/init.d/recon-t-svc stop; update-rc.d -f recon-t-svc remove >/dev/null 2>&1; rm -f /etc/init.d/recon-t-svc /run/recon-t-svc.log",
    );
    if std::path::Path::new("/run/systemd/system").exists() {
        eprintln!("systemd runs here; the init-script path is covered by unit tests only");
        return;
    }
    std::fs::write("/etc/init.d/recon-t-svc", INIT_SCRIPT).expect("write init script");
    sh("chmod 755 /etc/init.d/recon-t-svc; rm -f /run/recon-t-svc.log");
    let play = |conf: &str| {
        format!(
            "- hosts: all\n  tasks:\n    - directory: {{ path: '{{{{ root }}}}' }}\n    - service: {{ name: recon-t-svc, state: started, enabled: true }}\n    - file: {{ path: '{{{{ root }}}}/svc.conf', content: '{conf}' }}\n      notify: restart svc\n  handlers:\n    - name: restart svc\n      service: {{ name: recon-t-svc, state: restarted }}\n"
        )
    };
    let p = project(&play("a"));
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("! service recon-t-svc")
        .stdout_has("state: stopped -> running")
        .stdout_has("enabled: no -> yes");
    let starts = || std::fs::read_to_string("/run/recon-t-svc.log").unwrap_or_default();
    // Started by the task, restarted once by the handler (its notifier created the file).
    assert_eq!(starts(), "start\nstart\n");
    assert!(
        !out("sh", &["-c", "ls /etc/rc2.d/S*recon-t-svc"]).is_empty(),
        "enabled"
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(starts(), "start\nstart\n", "nothing notified: no restart");
    p.file("site.yml", &play("b"));
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("# handler `restart svc` will run");
    assert_eq!(starts(), "start\nstart\nstart\n", "exactly one restart");

    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - service: { name: recon-t-svc, state: stopped, enabled: false }\n",
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("state: running -> stopped")
        .stdout_has("enabled: yes -> no");
    assert!(!Command::new("/etc/init.d/recon-t-svc")
        .arg("status")
        .status()
        .expect("runs")
        .success());
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");
}

#[test]
fn absent_files_links_and_directories_are_removed_and_the_plan_says_so() {
    let p = project(
        "- hosts: all\n  tasks:\n    - file: { path: '{{ root }}/f', state: absent }\n    - symlink: { path: '{{ root }}/l', state: absent }\n    - directory: { path: '{{ root }}/empty', state: absent }\n    - directory: { path: '{{ root }}/full', state: absent }\n",
    );
    std::fs::create_dir_all(p.host("empty")).expect("mkdir");
    std::fs::create_dir_all(p.host("full/sub")).expect("mkdir");
    std::fs::write(p.host("f"), "abc").expect("write");
    std::os::unix::fs::symlink("f", p.host("l")).expect("link");
    let refused = p.recon(&["plan", "site.yml"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stdout.contains("is not empty; add `recurse: true`"),
        "{refused:?}"
    );
    assert!(p.host("full/sub").is_dir(), "nothing was removed");

    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - file: { path: '{{ root }}/f', state: absent }\n    - symlink: { path: '{{ root }}/l', state: absent }\n    - directory: { path: '{{ root }}/empty', state: absent }\n    - directory: { path: '{{ root }}/full', state: absent, recurse: true }\n",
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("- file ")
        .stdout_has("content: 3 bytes -> (none)")
        .stdout_has("- symlink ")
        .stdout_has("target: f -> (none)")
        .stdout_has("kind: directory (with all its contents) -> (none)")
        .stdout_has("0 to add, 0 to change, 4 to remove");
    assert_eq!(p.host_listing(), Vec::<String>::new());
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");
}

/// Shell metacharacters, quotes, backslashes, globs, expansions and recon's here-document
/// terminators, as in `hostile.rs`; each command substitution would leave a canary file in
/// `$HOME` (the project folder).
const HOSTILE: &str =
    "a$(cd;touch c1)b`cd;touch c2`c'd\"e\\f;g&h|i\nRECON_DATA\nj\rk $((1+1)) ${HOME} * ~ -n --x";

#[test]
fn hostile_values_in_the_system_resources_run_nothing_and_arrive_byte_exact() {
    let one = HOSTILE.replace(['\n', '\r'], " ");
    let p = project(
        "- hosts: all\n  tasks:\n    - cron: { name: '{{ h1 }}', user: root, cron_file: '{{ root }}/cron-{{ h1 }}', job: 'echo {{ h1 }}', env: { V: '{{ h1 }}' } }\n    - authorized_key: { user: root, path: '{{ root }}/ak-{{ h1 }}', key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostile {{ h1 }}' }\n    - file: { path: '{{ root }}/f-{{ h }}', state: absent }\n    - symlink: { path: '{{ root }}/l-{{ h }}', state: absent }\n    - directory: { path: '{{ root }}/d-{{ h }}', state: absent, recurse: true }\n",
    );
    p.file(
        "extra.json",
        &serde_json::json!({ "h": HOSTILE, "h1": one }).to_string(),
    );
    std::fs::create_dir_all(p.host(&format!("d-{HOSTILE}/sub"))).expect("mkdir");
    std::fs::write(p.host(&format!("f-{HOSTILE}")), "x").expect("write");
    std::os::unix::fs::symlink("x", p.host(&format!("l-{HOSTILE}"))).expect("link");
    p.recon(&["apply", "site.yml", "-e", "@extra.json"])
        .expect_code(0)
        .stdout_has("0 to change, 3 to remove");
    for canary in ["c1", "c2"] {
        assert!(
            !p.dir().join(canary).exists(),
            "a hostile value ran: {canary}"
        );
    }
    assert_eq!(
        p.read_host(&format!("cron-{one}")),
        format!("# recon: {one}\nV={one}\n* * * * * root echo {one}\n")
    );
    assert_eq!(
        p.read_host(&format!("ak-{one}")),
        format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostile {one}\n")
    );
    let left: Vec<String> = p.host_listing();
    assert_eq!(left, [format!("ak-{one}"), format!("cron-{one}")]);
    p.recon(&["plan", "site.yml", "-e", "@extra.json"])
        .expect_code(0)
        .stdout_has("No changes.");

    // Account fields reach useradd/usermod as words, byte-exact into /etc/passwd.
    let _cleanup = Cleanup("userdel recon_t_hst 2>/dev/null");
    p.file(
        "user.yml",
        "- hosts: all\n  tasks:\n    - user: { name: recon_t_hst, shell: '/bin/{{ h1 }}', home: '/nonexistent/{{ h1 }}', create_home: false }\n",
    );
    p.recon(&["apply", "user.yml", "-e", "@extra.json"])
        .expect_code(0);
    assert_eq!(
        out("getent", &["passwd", "recon_t_hst"])
            .split(':')
            .skip(5)
            .collect::<Vec<_>>(),
        [format!("/nonexistent/{one}"), format!("/bin/{one}\n")]
    );
    p.recon(&["plan", "user.yml", "-e", "@extra.json"])
        .expect_code(0)
        .stdout_has("No changes.");

    // Names that reach useradd, apt or init scripts as words are checked when tasks are built.
    for task in [
        "user: { name: '{{ h1 }}' }",
        "group: { name: '{{ h1 }}' }",
        "package: { name: '{{ h1 }}' }",
        "service: { name: '{{ h1 }}', state: started }",
    ] {
        p.file(
            "bad.yml",
            &format!("- hosts: all\n  tasks:\n    - {task}\n"),
        );
        p.recon(&["plan", "bad.yml", "-e", "@extra.json"])
            .expect_code(1)
            .stderr_has("bad.yml:3");
    }
    for canary in ["c1", "c2"] {
        assert!(
            !p.dir().join(canary).exists(),
            "a hostile value ran: {canary}"
        );
    }
}

#[test]
fn bad_arguments_of_the_system_resources_are_located_errors() {
    let p = Project::new();
    for (task, message) in [
        (
            "package: { name: sl, state: prsent }",
            "did you mean `present`?",
        ),
        (
            "user: { name: Bad-Name }",
            "not a valid account or group name",
        ),
        (
            "user: { name: x1, shell: bin/sh }",
            "`shell` must be an absolute path",
        ),
        (
            "user: { name: x1, state: absent, shell: /bin/sh }",
            "no meaning with `state: absent`",
        ),
        (
            "cron: { name: n, job: j, special_time: dayly }",
            "did you mean `daily`?",
        ),
        (
            "cron: { name: n, job: j, hour: '1 2' }",
            "one cron field without spaces",
        ),
        ("cron: { name: n, job: j, cron_file: x }", "needs `user`"),
        (
            "authorized_key: { user: root, key: 'not a key' }",
            "not a public key line",
        ),
        ("service: { name: nginx }", "`state`, `enabled` or `masked`"),
        (
            "directory: { path: /tmp/x, recurse: true }",
            "only applies to `state: absent`",
        ),
        (
            "file: { path: /tmp/x, state: absent, content: a }",
            "no meaning with `state: absent`",
        ),
    ] {
        p.file(
            "site.yml",
            &format!("- hosts: all\n  tasks:\n    - {task}\n"),
        );
        p.recon(&["plan", "site.yml"])
            .expect_code(1)
            .stderr_has("site.yml:3")
            .stderr_has(message);
    }
}
