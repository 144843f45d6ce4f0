//! SSH against a real OpenSSH server on a loopback port (see harness/sshd.rs).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::harness::accounts::ensure_user;
use crate::harness::agent::Agent;
use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// One inventory entry for the fixture's sshd.
pub(crate) fn host_entry(
    sshd: &Sshd,
    name: &str,
    user: &str,
    known_hosts: &Path,
    extra: &str,
) -> String {
    format!(
        "    {name}: {{ ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: {user}, ansible_ssh_private_key_file: {}, recon_known_hosts_file: {}{extra} }}\n",
        sshd.port,
        sshd.client_key.display(),
        known_hosts.display()
    )
}

fn inventory(p: &Project, hosts: &str) {
    p.file("inventory/hosts.yml", &format!("all:\n  hosts:\n{hosts}"));
}

/// A project whose one host `sq` is root on the fixture, managing `root` = the project's host dir.
fn root_project(sshd: &Sshd) -> Project {
    sshd.authorize("root");
    let p = Project::new();
    let extra = format!(", root: {}", p.host_root().display());
    inventory(
        &p,
        &host_entry(sshd, "sq", "root", &sshd.known_hosts, &extra),
    );
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - directory: { path: "{{ root }}/app" }
    - template: { src: conf.j2, dest: "{{ root }}/app/app.conf", mode: "0600" }
    - symlink: { path: "{{ root }}/app/current", target: app.conf }
    - line: { path: "{{ root }}/app/profile", line: "export X=1" }
    - command: { cmd: "touch {{ root }}/app/ran", creates: "{{ root }}/app/ran" }
"#,
    )
    .file("templates/conf.j2", "host={{ inventory_hostname }}\n");
    p
}

/// `HOST CONNECTIONS CHANNELS ...` row of `--stats`.
fn stats_row(stdout: &str, host: &str) -> (u32, u32) {
    let line = stdout
        .lines()
        .skip_while(|l| !l.starts_with("HOST  CONNECTIONS"))
        .find(|l| l.split_whitespace().next() == Some(host))
        .unwrap_or_else(|| panic!("no stats row for {host} in\n{stdout}"));
    let cols: Vec<u32> = line
        .split_whitespace()
        .skip(1)
        .map(|c| c.parse().expect("number"))
        .collect();
    (cols[0], cols[1])
}

#[test]
fn key_file_auth_converges_and_a_converged_host_costs_one_connection_and_one_channel() {
    let sshd = Sshd::start();
    let p = root_project(&sshd);
    let first = p.recon(&["apply", "site.yml", "--stats"]);
    first
        .expect_code(0)
        .stdout_has("Plan: 4 to add, 0 to change, 0 to remove, 1 to run");
    assert_eq!(
        stats_row(&first.stdout, "sq"),
        (1, 2),
        "cold: one connection, probe + apply channels"
    );
    assert_eq!(p.read_host("app/app.conf"), "host=sq\n");
    assert_eq!(crate::harness::mode(&p.host("app/app.conf")), 0o600);

    let (logins, sessions) = (sshd.logins(), sshd.sessions());
    let second = p.recon(&["apply", "site.yml", "--stats"]);
    second
        .expect_code(0)
        .stdout_has("No changes. 1 host converged.");
    assert_eq!(
        stats_row(&second.stdout, "sq"),
        (1, 1),
        "converged: one connection, one channel"
    );
    assert_eq!(sshd.logins() - logins, 1, "sshd saw exactly one login");
    assert_eq!(
        sshd.sessions() - sessions,
        1,
        "sshd saw exactly one session channel"
    );
}

#[test]
fn agent_auth_works_without_any_key_file() {
    let sshd = Sshd::start();
    sshd.authorize("root");
    let agent = Agent::start(&sshd.client_key);
    let p = Project::new();
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    sq: {{ ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: root, recon_known_hosts_file: {} }}\n",
            sshd.port,
            sshd.known_hosts.display()
        ),
    )
    .file("site.yml", &format!("- hosts: all\n  tasks:\n    - file: {{ path: {}/f, content: agent }}\n", p.host_root().display()));
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.recon_with(&["apply", "site.yml"], |c| {
        c.env("SSH_AUTH_SOCK", &agent.socket);
    })
    .expect_code(0);
    assert_eq!(p.read_host("f"), "agent");
    // Without the agent and without keys, authentication fails clearly.
    p.recon_with(&["plan", "site.yml"], |c| {
        c.env_remove("SSH_AUTH_SOCK");
    })
    .expect_code(1)
    .stdout_has("authentication failed for root@127.0.0.1");
}

#[test]
fn an_unknown_host_key_is_refused_unless_accepted_and_then_recorded() {
    let sshd = Sshd::start();
    sshd.authorize("root");
    let p = root_project(&sshd);
    let known = p.dir().join("known_hosts");
    let extra = format!(", root: {}", p.host_root().display());
    inventory(&p, &host_entry(&sshd, "sq", "root", &known, &extra));
    let run = p.recon(&["apply", "site.yml"]);
    run.expect_code(1)
        .stdout_has("host key for [127.0.0.1]:")
        .stdout_has("is unknown (ED25519 SHA256:");
    assert!(!p.host_root().exists(), "nothing written");

    p.recon(&["apply", "site.yml", "--accept-new-host-keys"])
        .expect_code(0);
    let recorded = std::fs::read_to_string(&known).expect("recorded");
    assert_eq!(recorded.trim(), sshd.host_key_line());
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
}

#[test]
fn a_changed_host_key_is_refused_even_with_accept_new() {
    let sshd = Sshd::start();
    let p = root_project(&sshd);
    let known = p.dir().join("known_hosts");
    std::fs::write(&known, format!("{}\n", sshd.other_host_key_line())).expect("write");
    let extra = format!(", root: {}", p.host_root().display());
    inventory(&p, &host_entry(&sshd, "sq", "root", &known, &extra));
    p.recon(&["apply", "site.yml", "--accept-new-host-keys"])
        .expect_code(1)
        .stdout_has("has CHANGED: the server offers ED25519 SHA256:")
        .stdout_has("man-in-the-middle");
    assert!(!p.host_root().exists());
}

#[test]
fn an_unreachable_host_fails_alone_while_the_others_converge() {
    let sshd = Sshd::start();
    sshd.authorize("root");
    let p = Project::new();
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let good = host_entry(
        &sshd,
        "good",
        "root",
        &sshd.known_hosts,
        &format!(", root: {}/good", p.host_root().display()),
    );
    let dead = format!(
        "    dead: {{ ansible_host: 127.0.0.1, ansible_port: {dead_port}, ansible_user: root, root: {}/dead }}\n",
        p.host_root().display()
    );
    inventory(&p, &format!("{good}{dead}"));
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n",
    );
    let run = p.recon(&["apply", "site.yml"]);
    run.expect_code(1)
        .stdout_has("dead\n  error: cannot connect to 127.0.0.1:");
    assert!(p.host("good").is_dir());
    assert!(
        run.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["dead", "0", "0", "0", "0", "1"]),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["good", "0", "1", "0", "0", "0"]),
        "{}",
        run.stdout
    );
}

#[test]
fn an_unreachable_host_is_dialled_once_for_plan_and_apply() {
    // A "server" that accepts and hangs up at once: each accept is one dial by recon.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let dials = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = dials.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let p = Project::new();
    inventory(
        &p,
        &format!(
            "    dead: {{ ansible_host: 127.0.0.1, ansible_port: {port}, ansible_user: root, root: {} }}\n",
            p.host_root().display()
        ),
    );
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}/again\" }\n",
    );
    let run = p.recon(&["apply", "site.yml"]);
    run.expect_code(1)
        .stdout_has("error: cannot connect to 127.0.0.1:");
    // Every dial was accepted before recon could fail, so the count is final once it exits.
    assert_eq!(
        dials.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "two plays, each planned and applied: one dial\n{}",
        run.stdout
    );
}

const SQUADS: [&str; 3] = ["recontest1", "recontest2", "recontest3"];

/// Three squads as three Unix accounts on one sshd, each with its own app port.
fn squads_project(sshd: &Sshd, dir: &str, ports: [u16; 3]) -> Project {
    let p = Project::new();
    let mut hosts = String::new();
    for (user, port) in SQUADS.iter().zip(ports) {
        let home = ensure_user(user);
        let _ = std::fs::remove_dir_all(home.join(dir));
        sshd.authorize(user);
        hosts.push_str(&host_entry(
            sshd,
            user,
            user,
            &sshd.known_hosts,
            &format!(", app_port: {port}"),
        ));
    }
    p.file("inventory/hosts.yml", &format!("all:\n  children:\n    squads:\n      hosts:\n{}", hosts.replace("\n    ", "\n        ").replacen("    ", "        ", 1)))
        .file(
            "site.yml",
            &format!(
                r#"- hosts: squads
  tasks:
    - directory: {{ path: "~/{dir}", mode: "0750" }}
    - file: {{ path: "~/{dir}/.env", content: "SQUAD={{{{ inventory_hostname }}}}\nPORT={{{{ app_port }}}}\n", mode: "0640" }}
      claims: {{ port: "{{{{ app_port }}}}" }}
    - line: {{ path: "~/.profile", line: "export {dir}_HOME=$HOME/{dir}" }}
"#
            ),
        );
    p
}

#[test]
fn three_squads_converge_in_parallel_then_plan_no_changes() {
    let sshd = Sshd::start();
    let p = squads_project(&sshd, "recon_squads", [19101, 19102, 19103]);
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("on 3 hosts");
    for (user, port) in SQUADS.iter().zip([19101, 19102, 19103]) {
        let home = ensure_user(user);
        let env = std::fs::read_to_string(home.join("recon_squads/.env")).expect("env");
        assert_eq!(env, format!("SQUAD={user}\nPORT={port}\n"));
        let owner = std::process::Command::new("stat")
            .args(["-c", "%U %a"])
            .arg(home.join("recon_squads/.env"))
            .output()
            .expect("stat");
        assert_eq!(
            String::from_utf8_lossy(&owner.stdout).trim(),
            format!("{user} 640"),
            "written as the squad's own account"
        );
    }
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0)
        .stdout_has("No changes. 3 hosts converged.");
}

#[test]
fn a_port_clash_between_squads_on_one_node_is_refused_before_connecting() {
    let sshd = Sshd::start();
    let p = squads_project(&sshd, "recon_clash", [19201, 19202, 19201]);
    let logins = sshd.logins();
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stderr_has(
            "hosts `recontest1` and `recontest3` both claim port `19201` on node 127.0.0.1:",
        )
        .stderr_has("site.yml:4:7");
    assert_eq!(sshd.logins(), logins, "no host was contacted");
}

#[test]
fn hostile_strings_round_trip_exactly_over_ssh_and_run_nothing() {
    let sshd = Sshd::start();
    let p = root_project(&sshd);
    let hostile = "it's \"$(touch /tmp/recon-ssh-pwned)\" `id` ; *  \\ ünï\nline2";
    let run = p.recon(&["run", "all", "--json", "--", "printf", "%s", hostile]);
    run.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json[0]["stdout"], hostile);
    assert!(!Path::new("/tmp/recon-ssh-pwned").exists());

    let name = "we ird$(id);'x'*";
    p.file("site.yml", &format!("- hosts: all\n  tasks:\n    - directory: {{ path: \"{{{{ root }}}}\" }}\n    - file: {{ path: \"{{{{ root }}}}/{name}\", content: {} }}\n", serde_json::to_string(hostile).expect("json string")));
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host(name), hostile);
    assert!(!Path::new("/tmp/recon-ssh-pwned").exists());
}

#[test]
fn megabytes_on_stderr_and_stdout_do_not_hang() {
    let sshd = Sshd::start();
    let p = root_project(&sshd);
    let run = p.recon(&[
        "run",
        "all",
        "--json",
        "--",
        "head -c 3000000 /dev/zero | tr '\\0' e >&2; head -c 2500000 /dev/zero | tr '\\0' o",
    ]);
    run.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json[0]["stderr"].as_str().map(str::len), Some(3_000_000));
    assert_eq!(json[0]["stdout"].as_str().map(str::len), Some(2_500_000));
}

#[test]
fn a_concurrent_apply_is_refused_by_the_lock_and_a_killed_apply_does_not_block_the_next() {
    let sshd = Sshd::start();
    let p = root_project(&sshd);
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.file(
        "slow.yml",
        "- hosts: all\n  tasks:\n    - command: \"touch {{ root }}/slow-started; sleep 8\"\n",
    );
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_recon"))
        .args(["apply", "slow.yml"])
        .current_dir(p.dir())
        .env("HOME", p.dir())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("first apply");
    // The first apply holds the target's lock once its step runs (for 8 s: time enough for the
    // second to plan and reach the lock on a loaded machine; the killed one's remote step still
    // ends within the third's 20 s).
    wait_for(&p.host("slow-started"));
    p.recon(&["apply", "site.yml", "--lock-timeout", "1"])
        .expect_code(1)
        .stdout_has("host is locked by recon ");
    assert!(!p.host("app").exists());
    // Kill the first apply outright: its remote lock dies with its remote script.
    let _ = first.kill();
    let _ = first.wait();
    p.recon(&["apply", "site.yml", "--lock-timeout", "20"])
        .expect_code(0);
    assert!(p.host("app/app.conf").exists());
}

#[test]
fn become_runs_the_host_script_under_sudo() {
    let sshd = Sshd::start();
    let user = "recontestsudo";
    ensure_user(user);
    sshd.authorize(user);
    let _sudoers = SudoersRule::grant(user);
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root-owned dir");
    inventory(
        &p,
        &host_entry(
            &sshd,
            "sq",
            user,
            &sshd.known_hosts,
            &format!(", root: {}", p.host_root().display()),
        ),
    );
    let play = |become_: bool| {
        format!("- hosts: all\n  become: {become_}\n  tasks:\n    - file: {{ path: \"{{{{ root }}}}/owned\", content: x }}\n")
    };
    p.file("site.yml", &play(false));
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stdout_has("Permission denied");
    p.file("site.yml", &play(true));
    let run = p.recon(&["apply", "site.yml"]);
    run.expect_code(0)
        .stderr_has("sq: connecting and probing\n")
        .stderr_has("sq: planned 1 change\n");
    let owner = std::process::Command::new("stat")
        .args(["-c", "%U"])
        .arg(p.host("owned"))
        .output()
        .expect("stat");
    assert_eq!(String::from_utf8_lossy(&owner.stdout).trim(), "root");
}

#[test]
fn become_user_runs_tasks_as_that_user_with_their_files_and_home() {
    let sshd = Sshd::start();
    let (user, app) = ("recontestbu", "recontestbu_app");
    ensure_user(user);
    let app_home = ensure_user(app);
    sshd.authorize(user);
    let _sudoers = SudoersRule::grant(user);
    let site = app_home.join("bu_site");
    let _ = std::fs::remove_dir_all(&site);
    let who = Path::new("/tmp/recontestbu-who.txt");
    let _ = std::fs::remove_file(who);
    let p = Project::new();
    inventory(
        &p,
        &host_entry(
            &sshd,
            "sq",
            user,
            &sshd.known_hosts,
            &format!(", app_user: {app}, app_home: {}", app_home.display()),
        ),
    );
    // A file over 64 KiB travels as an artifact: it is handed to the app user for its step.
    let big: String = "0123456789abcdef\n".repeat(5000);
    p.file("files/big.txt", &big).file(
        "site.yml",
        r#"- hosts: all
  become: true
  become_user: "{{ app_user }}"
  tasks:
    - name: site folder
      file: path={{ app_home }}/bu_site state=directory mode=0750
    - name: small file
      copy: dest={{ app_home }}/bu_site/small.txt content="hi\n" mode=0640
    - name: big file
      copy: src=big.txt dest={{ app_home }}/bu_site/big.txt mode=0644
    - name: who am I
      command: id -un
      register: who
      changed_when: false
    - name: as root, whose home
      copy: dest=/tmp/recontestbu-who.txt content="{{ who.stdout }}\n" mode=0644
      become_user: root
"#,
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let owner = |path: &Path| {
        let out = std::process::Command::new("stat")
            .args(["-c", "%U %a"])
            .arg(path)
            .output()
            .expect("stat");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(owner(&site), format!("{app} 750"));
    assert_eq!(owner(&site.join("small.txt")), format!("{app} 640"));
    assert_eq!(owner(&site.join("big.txt")), format!("{app} 644"));
    assert_eq!(
        std::fs::read_to_string(site.join("big.txt")).expect("big"),
        big
    );
    assert_eq!(
        std::fs::read_to_string(who).expect("who"),
        format!("{app}\n")
    );
    assert_eq!(owner(who), "root 644");
    // Converged: the query runs as the app user while planning, nothing is left to do.
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
    let _ = std::fs::remove_file(who);
    // `~` would be a different home in the plan and in the step: refused, located.
    p.file(
        "site.yml",
        "- hosts: all\n  become: true\n  tasks:\n    - file: path=~/x state=directory\n      become_user: \"{{ app_user }}\"\n",
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stderr_has("`path` starts with `~` in a task that runs as `recontestbu_app`");
    // The host's `ansible_become_user` when no play, block or task names a user.
    inventory(
        &p,
        &host_entry(
            &sshd,
            "sq",
            user,
            &sshd.known_hosts,
            &format!(
                ", ansible_become_user: {app}, app_home: {}",
                app_home.display()
            ),
        ),
    );
    p.file(
        "site.yml",
        "- hosts: all\n  become: true\n  tasks:\n    - copy: dest={{ app_home }}/bu_site/hostvar.txt content=x\n",
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(owner(&site.join("hostvar.txt")), format!("{app} 644"));
}

/// A root-only folder holding a file and an archive of it (`app.tar.gz`), and an account's
/// `name` in its home replaced by a link to it (owned by the account, as the account itself
/// would make it). Returns the folder.
fn link_to_root_only(home: &Path, name: &str) -> tempfile::TempDir {
    let secret = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        secret.path().join("authorized_keys"),
        "ssh-ed25519 AAAArootonly rootsecret\n",
    )
    .expect("write");
    let tar = std::process::Command::new("tar")
        .args(["-czf", "app.tar.gz", "authorized_keys"])
        .current_dir(secret.path())
        .status()
        .expect("tar runs");
    assert!(tar.success());
    std::fs::set_permissions(secret.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let at = home.join(name);
    let _ = std::fs::remove_dir_all(&at);
    let _ = std::fs::remove_file(&at);
    std::os::unix::fs::symlink(secret.path(), &at).expect("link");
    let owner = std::fs::metadata(home).expect("home").uid();
    std::os::unix::fs::lchown(&at, Some(owner), None).expect("lchown");
    secret
}

/// `(owner uid, mode)` of a path, and the names in a folder: what must stay as it was.
fn untouched(dir: &Path) -> (u32, u32, Vec<String>, String) {
    let meta = std::fs::metadata(dir).expect("stat");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let key = std::fs::read_to_string(dir.join("authorized_keys")).unwrap_or_default();
    let key_owner = std::fs::metadata(dir.join("authorized_keys")).map_or(0, |m| m.uid());
    (meta.uid() + key_owner, meta.mode() & 0o7777, names, key)
}

#[test]
fn become_never_reads_or_writes_through_a_link_the_account_controls() {
    let sshd = Sshd::start();
    let (user, app) = ("recontestlk", "recontestlk_app");
    ensure_user(user);
    let app_home = ensure_user(app);
    sshd.authorize(user);
    let _sudoers = SudoersRule::grant(user);
    let p = Project::new();
    inventory(
        &p,
        &host_entry(
            &sshd,
            "sq",
            user,
            &sshd.known_hosts,
            &format!(", app: {app}"),
        ),
    );
    // The account swapped its `~/.ssh` for a link to a root-only folder.
    let secret = link_to_root_only(&app_home, ".ssh");
    let before = untouched(secret.path());
    p.file(
        "site.yml",
        "- hosts: all\n  become: true\n  tasks:\n    - authorized_key: { user: \"{{ app }}\", key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyKeyKey deploy' }\n",
    );
    for command in ["plan", "apply"] {
        let run = p.recon(&[command, "site.yml"]);
        run.expect_code(1)
            .stdout_has("which another account controls");
        assert!(
            !(run.stdout.clone() + &run.stderr).contains("rootsecret"),
            "the root-only file was printed: {run:?}"
        );
        assert!(
            (run.stdout.clone() + &run.stderr).contains("site.yml:4:"),
            "located at the task: {run:?}"
        );
    }
    assert_eq!(
        untouched(secret.path()),
        before,
        "the root-only folder changed"
    );
    let _ = std::fs::remove_file(app_home.join(".ssh"));
}

/// As root (`become`) on behalf of account `app`, `task` writes below `{{ folder }}`, a folder
/// in the account's home it owns. After a saved plan the account swaps that folder for a link
/// to a root-only folder: the saved plan is stale, a fresh plan and apply are located refusals,
/// and the root-only folder stays as it was.
fn a_folder_swapped_after_the_plan(user: &str, app: &str, task: &str, p: &Project) {
    let sshd = Sshd::start();
    ensure_user(user);
    let app_home = ensure_user(app);
    sshd.authorize(user);
    let _sudoers = SudoersRule::grant(user);
    let folder = app_home.join("lk_folder");
    let _ = std::fs::remove_file(&folder);
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir(&folder).expect("mkdir");
    let owner = std::fs::metadata(&app_home).expect("home").uid();
    std::os::unix::fs::lchown(&folder, Some(owner), None).expect("chown");
    inventory(
        p,
        &host_entry(
            &sshd,
            "sq",
            user,
            &sshd.known_hosts,
            &format!(", app: {app}, folder: {}", folder.display()),
        ),
    );
    p.file(
        "site.yml",
        &format!("- hosts: all\n  become: true\n  tasks:\n    - {task}\n"),
    );
    p.recon(&["plan", "site.yml", "-o", "plan.json"])
        .expect_code(0);
    let secret = link_to_root_only(&app_home, "lk_folder");
    let before = untouched(secret.path());
    p.recon(&["apply", "plan.json"])
        .expect_code(1)
        .stdout_has("plan is stale");
    assert_eq!(untouched(secret.path()), before, "written through the link");
    for command in ["plan", "apply"] {
        let run = p.recon(&[command, "site.yml"]);
        run.expect_code(1)
            .stdout_has("which another account controls");
        assert!(
            (run.stdout.clone() + &run.stderr).contains("site.yml:4:"),
            "located at the task: {run:?}"
        );
    }
    assert_eq!(untouched(secret.path()), before, "written through the link");
    let _ = std::fs::remove_file(&folder);
}

#[test]
fn a_parent_swapped_for_a_link_after_the_plan_makes_the_saved_plan_stale() {
    a_folder_swapped_after_the_plan(
        "recontestlk2",
        "recontestlk2_app",
        "file: { path: \"{{ folder }}/conf.txt\", content: x, owner: \"{{ app }}\", mode: '0644' }",
        &Project::new(),
    );
}

#[test]
fn a_release_root_the_account_swapped_for_a_link_is_neither_read_nor_written_as_root() {
    let p = Project::new();
    p.tarball("app.tar.gz", &[("run.sh", b"echo v1\n")]);
    a_folder_swapped_after_the_plan(
        "recontestlk3",
        "recontestlk3_app",
        "release: { root: \"{{ folder }}\", version: v1, src: app.tar.gz }",
        &p,
    );
}

#[test]
fn an_unpack_folder_the_account_swapped_for_a_link_is_neither_read_nor_extracted_into_as_root() {
    let p = Project::new();
    p.tarball("app.tar.gz", &[("run.sh", b"echo v1\n")]);
    let src = p.dir().join("files/app.tar.gz");
    a_folder_swapped_after_the_plan(
        "recontestlk4",
        "recontestlk4_app",
        &format!(
            "unpack: {{ src: \"{}\", dest: \"{{{{ folder }}}}\" }}",
            src.display()
        ),
        &p,
    );
}

#[test]
fn a_download_folder_the_account_swapped_for_a_link_is_neither_read_nor_written_as_root() {
    let p = Project::new();
    p.file("files/got.txt", "fetched\n");
    let src = p.dir().join("files/got.txt");
    a_folder_swapped_after_the_plan(
        "recontestlk5",
        "recontestlk5_app",
        &format!(
            "download: {{ url: \"file://{}\", path: \"{{{{ folder }}}}/got.txt\", mode: '0644' }}",
            src.display()
        ),
        &p,
    );
}

#[test]
fn a_cron_file_folder_the_account_swapped_for_a_link_is_neither_read_nor_written_as_root() {
    a_folder_swapped_after_the_plan(
        "recontestlk6",
        "recontestlk6_app",
        "cron: { name: lk, user: \"{{ app }}\", cron_file: \"{{ folder }}/tab\", job: echo hi }",
        &Project::new(),
    );
}

#[test]
fn a_serialize_lock_folder_the_account_swapped_for_a_link_is_neither_read_nor_written_as_root() {
    a_folder_swapped_after_the_plan(
        "recontestlk7",
        "recontestlk7_app",
        "command: { cmd: \"true\", serialize: \"{{ folder }}/lock\" }",
        &Project::new(),
    );
}

#[test]
fn a_command_stamp_folder_the_account_swapped_for_a_link_is_neither_read_nor_written_as_root() {
    a_folder_swapped_after_the_plan(
        "recontestlk11",
        "recontestlk11_app",
        "command: { cmd: \"true\", stamp: \"{{ folder }}/stamp\" }",
        &Project::new(),
    );
}

#[test]
fn a_command_chdir_the_account_swapped_for_a_link_is_not_run_in_as_root() {
    a_folder_swapped_after_the_plan(
        "recontestlk12",
        "recontestlk12_app",
        "command: { cmd: \"touch ran\", chdir: \"{{ folder }}\", creates: /nonexistent/recon }",
        &Project::new(),
    );
}

/// `a_folder_swapped_after_the_plan` for a task (`task` of root's folder) that reads from or
/// locks in the account's folder and writes into a root-owned folder no one swaps: `written`
/// never appears there.
fn swapped_before_writing_as_root(user: &str, app: &str, task: &str, written: &str) {
    let p = Project::new();
    let out = p.host_root();
    std::fs::create_dir_all(&out).expect("mkdir");
    let task = task.replace("ROOT", &out.display().to_string());
    a_folder_swapped_after_the_plan(user, app, &task, &p);
    assert!(!out.join(written).exists(), "{written} was written as root");
}

#[test]
fn an_unpack_archive_the_account_swapped_for_a_link_is_not_read_as_root() {
    swapped_before_writing_as_root(
        "recontestlk8",
        "recontestlk8_app",
        "unpack: { src: \"{{ folder }}/app.tar.gz\", dest: \"ROOT\" }",
        "authorized_keys",
    );
}

#[test]
fn a_file_serialize_lock_folder_the_account_swapped_for_a_link_makes_the_saved_plan_stale() {
    swapped_before_writing_as_root(
        "recontestlk9",
        "recontestlk9_app",
        "file: { path: \"ROOT/conf.txt\", content: x, serialize: \"{{ folder }}/lock\" }",
        "conf.txt",
    );
}

#[test]
fn a_git_checkout_folder_the_account_swapped_for_a_link_is_not_written_as_root() {
    let p = Project::new();
    let repo = p.dir().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    std::fs::write(repo.join("app.txt"), "v1\n").expect("write");
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "app.txt"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "v1",
        ],
    ] {
        let git = std::process::Command::new("git")
            .args(args)
            .current_dir(&repo)
            .status()
            .expect("git runs");
        assert!(git.success(), "git {args:?}");
    }
    a_folder_swapped_after_the_plan(
        "recontestlk10",
        "recontestlk10_app",
        &format!(
            "git: {{ repo: \"{}\", dest: \"{{{{ folder }}}}/src\", version: main }}",
            repo.display()
        ),
        &p,
    );
}

/// A passwordless-sudo rule for one test account, removed when the test ends (pass or fail).
struct SudoersRule(std::path::PathBuf);

impl SudoersRule {
    fn grant(user: &str) -> Self {
        let path = std::path::PathBuf::from(format!("/etc/sudoers.d/{user}"));
        std::fs::write(&path, format!("{user} ALL=(ALL) NOPASSWD: ALL\n")).expect("sudoers");
        Self(path)
    }
}

impl Drop for SudoersRule {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One Unix account (`recontestpar`) on the fixture's sshd with `count` targets of its own
/// (inventory names `t<pid>-<i>`, so runs of this file from other checkouts on the machine never
/// share a target's lock), all with `root` = a folder of this run in the account's home. Returns
/// the project, the account's home, the folder and the targets' names.
fn one_account(
    sshd: &Sshd,
    count: usize,
) -> (Project, std::path::PathBuf, std::path::PathBuf, Vec<String>) {
    let user = "recontestpar";
    let home = ensure_user(user);
    sshd.authorize(user);
    let dir = home.join(format!("par-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("run folder");
    let chown = std::process::Command::new("chown")
        .arg(format!("{user}:{user}"))
        .arg(&dir)
        .status()
        .expect("chown");
    assert!(chown.success());
    let p = Project::new();
    let names: Vec<String> = (1..=count)
        .map(|i| format!("t{}-{i}", std::process::id()))
        .collect();
    let extra = format!(", root: {}", dir.display());
    let hosts: String = names
        .iter()
        .map(|name| host_entry(sshd, name, user, &sshd.known_hosts, &extra))
        .collect();
    inventory(&p, &hosts);
    (p, home, dir, names)
}

/// Removes what `one_account` made in the account's home (its run folder, its targets' locks).
fn leave_account(home: &Path, dir: &Path, names: &[String]) {
    let _ = std::fs::remove_dir_all(dir);
    for name in names {
        let _ = std::fs::remove_file(home.join(format!(".recon/locks/{name}.lock")));
    }
}

/// Waits (at most 30 s) until `path` exists.
fn wait_for(path: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn targets_of_one_account_apply_at_once_and_a_target_still_excludes_itself() {
    let sshd = Sshd::start();
    let (p, home, dir, names) = one_account(&sshd, 4);
    // Four targets of the account in one run: each marks itself and waits (20 s at most) for
    // the other three; with one lock per account they would take turns and the first would give
    // up waiting.
    p.file(
        "site.yml",
        &format!("- hosts: all\n  tasks:\n{}", crate::apply::meet(4)),
    );
    let run = p.recon(&["apply", "site.yml", "--forks", "4"]);
    run.expect_code(0);
    for name in &names {
        assert!(dir.join(format!("{name}.up")).exists(), "{}", run.stdout);
        // Each target's lock is a file of its own in the account's home, private to it.
        let lock = home.join(format!(".recon/locks/{name}.lock"));
        assert_eq!(
            std::fs::metadata(&lock).expect("lock").mode() & 0o7777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(&lock).expect("lock").uid(),
            std::fs::metadata(&home).expect("home").uid()
        );
    }
    p.plans_nothing(&["site.yml"]);

    // Two control runs, each on another target of the account, at the same time: each target's
    // command waits (60 s at most: two runs plan independently) for the other's mark; with one
    // lock per account the second run would wait for the first (30 s at most) and give up.
    let (one, two) = (&names[0], &names[1]);
    p.file(
        "pair.yml",
        &format!(
            "- hosts: all\n  tasks:\n    - command:\n        cmd: \"touch {{{{ root }}}}/{{{{ inventory_hostname }}}}.pair; i=0; until [ -e {{{{ root }}}}/{one}.pair ] && [ -e {{{{ root }}}}/{two}.pair ]; do i=$((i + 1)); [ $i -le 600 ] || exit 1; sleep 0.1; done\"\n        creates: \"{{{{ root }}}}/{{{{ inventory_hostname }}}}.pair\"\n"
        ),
    );
    std::thread::scope(|scope| {
        let first = scope.spawn(|| p.recon(&["apply", "pair.yml", "-l", one]));
        let second = p.recon(&["apply", "pair.yml", "-l", two]);
        second.expect_code(0);
        first.join().expect("first run").expect_code(0);
    });

    // The same target from two runs still takes turns: the second, told to wait 1 s, is refused
    // naming the holder and changes nothing; meanwhile another target of the account applies.
    // (The holder's step lasts 10 s: time enough for the others to plan on a loaded machine.)
    let (held, free) = (&names[2], &names[3]);
    p.file(
        "slow.yml",
        "- hosts: all\n  tasks:\n    - command:\n        cmd: \"touch {{ root }}/{{ inventory_hostname }}.started; sleep 10; touch {{ root }}/{{ inventory_hostname }}.slow\"\n        creates: \"{{ root }}/{{ inventory_hostname }}.slow\"\n",
    );
    std::thread::scope(|scope| {
        let holder = scope.spawn(|| p.recon(&["apply", "slow.yml", "-l", held]));
        wait_for(&dir.join(format!("{held}.started")));
        p.recon(&["apply", "slow.yml", "-l", held, "--lock-timeout", "1"])
            .expect_code(1)
            .stdout_has("host is locked by recon ")
            .stdout_has("(see --lock-timeout)");
        let other = p.recon(&["apply", "slow.yml", "-l", free, "--lock-timeout", "1"]);
        holder.join().expect("holder").expect_code(0);
        other.expect_code(0);
    });
    assert!(dir.join(format!("{held}.slow")).exists());
    assert!(dir.join(format!("{free}.slow")).exists());
    p.plans_nothing(&["slow.yml", "-l", &format!("{held},{free}")]);
    leave_account(&home, &dir, &names);
}

#[test]
fn an_artifact_reaches_an_account_once_while_its_targets_apply_at_once() {
    let sshd = Sshd::start();
    let (p, home, dir, names) = one_account(&sshd, 4);
    let data = crate::artifacts::incompressible(2 * 1024 * 1024);
    let size = p.tarball("big.tar.gz", &[("blob.bin", &data)]);
    // Every target unpacks the same release, then meets the others: the first sends the
    // archive, the others wait for that archive only (not for its whole apply), so all four
    // are in their apply at once.
    p.file(
        "site.yml",
        &format!(
            "- hosts: all\n  tasks:\n    - release: {{ root: \"{{{{ root }}}}/{{{{ inventory_hostname }}}}\", version: v1, src: big.tar.gz }}\n{}",
            crate::apply::meet(4)
        ),
    );
    let run = p.recon(&["apply", "site.yml", "--forks", "4", "--stats"]);
    run.expect_code(0);
    for name in &names {
        let unpacked = std::fs::read(dir.join(format!("{name}/v1/blob.bin"))).expect("unpacked");
        assert!(unpacked == data, "{name}'s release is the archive's");
    }
    let sent = crate::artifacts::bytes_sent(&run.stdout);
    assert!(
        sent > size && sent < size + size / 2,
        "four targets of one account: the {size}-byte archive went once ({sent} bytes sent)\n{}",
        run.stdout
    );
    // The account's blob store holds it, checked by hash.
    let blob = home.join(".cache/recon/blobs").join(
        std::process::Command::new("sha256sum")
            .arg(p.dir().join("files/big.tar.gz"))
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split(' ')
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .expect("sha256sum"),
    );
    assert_eq!(std::fs::metadata(&blob).expect("blob").len(), size);
    p.plans_nothing(&["site.yml"]);
    leave_account(&home, &dir, &names);
}
