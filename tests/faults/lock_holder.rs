//! The lock holder is named from the account's uid, also when `$USER` and `$LOGNAME` are unset
//! (cron, systemd units, `env -i`).

use crate::harness::Project;

#[test]
fn the_lock_holder_is_named_without_user_in_the_environment() {
    let p = Project::new();
    let root = p.host_root();
    std::fs::create_dir_all(&root).expect("root");
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    box: {{ ansible_connection: local, root: {} }}\n",
            root.display()
        ),
    )
    .file(
        "slow.yml",
        "- hosts: all\n  tasks:\n    - command: \"sleep 3\"\n",
    )
    .file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}/app\" }\n",
    );
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_recon"))
        .args(["apply", "slow.yml"])
        .current_dir(p.dir())
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", p.dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("first apply");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let name = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .expect("id")
            .stdout,
    )
    .expect("utf-8");
    let run = p.recon(&["apply", "site.yml", "--lock-timeout", "1"]);
    let _ = first.wait();
    run.expect_code(1)
        .stdout_has(&format!("host is locked by recon {}@", name.trim()));
    assert!(!run.stdout.contains("unknown@"), "{}", run.stdout);
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert!(p.host("app").is_dir());
}
