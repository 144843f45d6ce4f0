//! The door stays open: over a real sshd, a task that would remove the key recon logged in
//! with is refused at plan time (located, nothing changed) unless it says `allow_lockout`.

use crate::harness::accounts::ensure_user;

use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// A project whose host `door` is `user` on `sshd`, logging in with the harness key that
/// `user`'s own `~/.ssh/authorized_keys` holds (written afresh); returns the file's path.
fn logged_in_by_own_file(sshd: &Sshd, user: &str) -> (Project, std::path::PathBuf) {
    let home = ensure_user(user);
    let ssh = home.join(".ssh");
    let _ = std::fs::remove_dir_all(&ssh);
    std::fs::create_dir_all(&ssh).expect("mkdir .ssh");
    let file = ssh.join("authorized_keys");
    let public = std::fs::read_to_string(sshd.client_key.with_extension("pub")).expect("pub");
    std::fs::write(&file, &public).expect("authorized_keys");
    let chown = std::process::Command::new("chown")
        .args(["-R", &format!("{user}:{user}")])
        .arg(&ssh)
        .status()
        .expect("chown");
    assert!(chown.success());
    let p = Project::new();
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    door: {{ ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: {user}, ansible_ssh_private_key_file: {}, recon_known_hosts_file: {} }}\n",
            sshd.port,
            sshd.client_key.display(),
            sshd.known_hosts.display()
        ),
    );
    (p, file)
}

#[test]
fn removing_the_session_key_is_refused_located_unless_allow_lockout() {
    let sshd = Sshd::start();
    let user = "recondoorkey";
    let (p, file) = logged_in_by_own_file(&sshd, user);
    let before = std::fs::read_to_string(&file).expect("read");
    let other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherOtherOtherOtherOtherOtherOther00 other";
    let play = |allow: bool| {
        format!(
            "- hosts: all\n  tasks:\n    - name: only the other key\n      authorized_key: {{ user: {user}, key: \"{other}\", exclusive: true }}\n      allow_lockout: {allow}\n"
        )
    };
    p.file("site.yml", &play(false));
    let run = p.recon(&["apply", "site.yml"]);
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("site.yml:3:"), "located: {all}");
    assert!(
        all.contains("removes the key this session logged in with"),
        "{all}"
    );
    assert!(all.contains("allow_lockout: true"), "{all}");
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        before,
        "unchanged"
    );

    p.file("site.yml", &play(true));
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("allow_lockout: true` lets it shut the way in");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let after = std::fs::read_to_string(&file).expect("read");
    assert_eq!(after.trim(), other, "the session's key is gone as asked");
    // And the door is really shut: the next run cannot log in.
    let locked = p.recon(&["plan", "site.yml"]);
    assert_ne!(locked.code, 0);
    assert!(
        format!("{}{}", locked.stdout, locked.stderr).contains("authentication failed"),
        "{locked:?}"
    );
}

/// A passwordless-sudo rule for every member of `group` (created), removed when dropped.
struct GroupSudo(std::path::PathBuf);

impl GroupSudo {
    fn grant(group: &str, member: &str) -> Self {
        let _ = std::process::Command::new("groupadd").arg(group).status();
        let added = std::process::Command::new("usermod")
            .args(["-a", "-G", group, member])
            .status()
            .expect("usermod");
        assert!(added.success());
        let path = std::path::PathBuf::from(format!("/etc/sudoers.d/{group}"));
        std::fs::write(&path, format!("%{group} ALL=(ALL) NOPASSWD: ALL\n")).expect("sudoers");
        Self(path)
    }
}

impl Drop for GroupSudo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn passwd_and_groups(user: &str) -> String {
    let out = |args: &[&str]| {
        let o = std::process::Command::new(args[0])
            .args(&args[1..])
            .output()
            .expect("run");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    out(&["getent", "passwd", user]) + &out(&["id", "-Gn", user])
}

#[test]
fn a_nologin_shell_or_leaving_the_sudo_group_is_refused_and_the_account_is_unchanged() {
    let sshd = Sshd::start();
    let user = "recondoorsh";
    let (p, _) = logged_in_by_own_file(&sshd, user);
    let _ = std::process::Command::new("usermod")
        .args(["-s", "/bin/sh", "-G", "", user])
        .status();
    let _sudo = GroupSudo::grant("recondoorsudo", user);
    let before = passwd_and_groups(user);
    assert!(before.contains("recondoorsudo"), "{before}");
    for (n, task) in [
        "user: { name: recondoorsh, shell: /usr/sbin/nologin }",
        "user: { name: recondoorsh, groups: [users], append: false }",
    ]
    .into_iter()
    .enumerate()
    {
        p.file(
            "site.yml",
            &format!("- hosts: all\n  become: true\n  tasks:\n    - {task}\n"),
        );
        let run = p.recon(&["apply", "site.yml"]);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert_ne!(run.code, 0, "case {n}: {all}");
        assert!(all.contains("site.yml:4:"), "case {n} located: {all}");
        assert!(all.contains("lock recon out"), "case {n}: {all}");
        assert_eq!(passwd_and_groups(user), before, "case {n}: unchanged");
    }
    p.file(
        "site.yml",
        "- hosts: all\n  become: true\n  tasks:\n    - user: { name: recondoorsh, groups: [users], append: false }\n      allow_lockout: true\n",
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let after = passwd_and_groups(user);
    assert!(
        !after.contains("recondoorsudo") && after.contains("users"),
        "{after}"
    );
}

/// The password field of `user`'s /etc/shadow entry.
fn shadow_field(user: &str) -> String {
    let out = std::process::Command::new("getent")
        .args(["shadow", user])
        .output()
        .expect("getent");
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    line.split(':').nth(1).unwrap_or_default().to_owned()
}

#[test]
fn a_password_hash_is_written_never_shown_and_locking_the_session_account_is_refused() {
    let sshd = Sshd::start();
    let user = "recondoorpw";
    let (p, _) = logged_in_by_own_file(&sshd, user);
    let reset = std::process::Command::new("usermod")
        .args(["-p", "*", user])
        .status()
        .expect("usermod");
    assert!(reset.success());
    let _sudo = GroupSudo::grant("recondoorpwsudo", user);
    let hash = "$6$reconsalt$Yq0d1xMhxW3nQk5vJ2uL8e7hF0cB9aR4tS6pZ1oE3iU5yG7wK2mN8bV0cX4zA6sD9fH1jL3qP5rT7uW9y";
    let play = |become_: bool, args: &str, allow: bool| {
        format!(
            "- hosts: all\n  become: {become_}\n  tasks:\n    - user: {{ name: {user}{args} }}\n      allow_lockout: {allow}\n"
        )
    };
    // Without become the hash cannot be read: a located error saying so, nothing changed.
    p.file(
        "site.yml",
        &play(false, &format!(", password: \"{hash}\""), false),
    );
    let run = p.recon(&["plan", "site.yml"]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, 0, "{all}");
    assert!(
        all.contains("site.yml:4:") && all.contains("needs root"),
        "{all}"
    );

    p.file(
        "site.yml",
        &play(true, &format!(", password: \"{hash}\""), false),
    );
    let planned = p.recon(&["plan", "site.yml"]);
    planned.expect_code(0).stdout_has("password: (changed)");
    let all = format!("{}{}", planned.stdout, planned.stderr);
    assert!(!all.contains("reconsalt"), "the hash is never shown: {all}");
    let applied = p.recon(&["apply", "site.yml"]);
    applied.expect_code(0);
    assert!(!format!("{}{}", applied.stdout, applied.stderr).contains("reconsalt"));
    assert_eq!(shadow_field(user), hash);
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes");

    // `on_create` leaves an existing account's hash alone.
    let other = "$6$othersalt$abcdefghijklmnopqrstuvwxyz0123456789";
    p.file(
        "site.yml",
        &play(
            true,
            &format!(", password: \"{other}\", update_password: on_create"),
            false,
        ),
    );
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes");
    assert_eq!(shadow_field(user), hash);

    // Locking the account recon logs in as is refused (sshd here runs `UsePAM no`)...
    p.file("site.yml", &play(true, ", password_lock: true", false));
    let run = p.recon(&["apply", "site.yml"]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, 0, "{all}");
    assert!(
        all.contains("site.yml:4:") && all.contains("UsePAM no"),
        "{all}"
    );
    assert!(all.contains("allow_lockout: true"), "{all}");
    assert_eq!(shadow_field(user), hash, "unchanged");

    // ...unless the task allows it: then it applies, and the door really is shut.
    p.file("site.yml", &play(true, ", password_lock: true", true));
    p.recon(&["apply", "site.yml"])
        .expect_code(0)
        .stdout_has("locked: no -> yes");
    assert_eq!(shadow_field(user), format!("!{hash}"));
    let locked = p.recon(&["plan", "site.yml"]);
    assert_ne!(locked.code, 0, "{locked:?}");
    assert!(
        format!("{}{}", locked.stdout, locked.stderr).contains("authentication failed"),
        "{locked:?}"
    );
}
