//! Ansible Vault interop: files and strings the real `ansible-vault` encrypts open in recon,
//! what recon encrypts opens in `ansible-vault`, inline `!vault` values render into templates,
//! and a wrong password stops recon before any host is contacted.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{mode, Project};

/// Where scripts/install-deps.sh installs ansible-core.
const ANSIBLE_BIN: &str = "/opt/recon-test/ansible/bin";

/// A tool from the ansible-core venv; missing is a failure, not a skip (CI runs install-deps).
fn ansible_tool(name: &str) -> PathBuf {
    let path = Path::new(ANSIBLE_BIN).join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-deps.sh (it installs ansible-core into {ANSIBLE_BIN})",
        path.display()
    );
    path
}

/// Runs `ansible-vault ARGS` in `dir`; panics unless it succeeds; returns stdout.
fn ansible_vault(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(ansible_tool("ansible-vault"))
        .args(args)
        .current_dir(dir)
        .env("ANSIBLE_LOCAL_TEMP", dir.join(".ansible-tmp"))
        .env("HOME", dir)
        .output()
        .expect("ansible-vault runs");
    assert!(
        out.status.success(),
        "ansible-vault {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `NAME: !vault |` block from `ansible-vault encrypt_string` with the password `pw`.
fn inline_from_ansible(dir: &Path, name: &str, value: &str) -> String {
    let args = [
        "encrypt_string",
        "--vault-password-file",
        "pw",
        "--name",
        name,
        value,
    ];
    ansible_vault(dir, &args)
}

/// A project with password files `pw` (hunter2) and `prod-pw` (s3cure-prod).
fn project() -> Project {
    let p = Project::new();
    p.file("pw", "hunter2\n").file("prod-pw", "s3cure-prod\n");
    p
}

const PLAYBOOK: &str = r#"- hosts: all
  vars_files: [vars/secrets.yml]
  tasks:
    - directory: { path: "{{ root }}" }
    - template: { src: app.conf.j2, dest: "{{ root }}/app.conf" }
"#;

#[test]
fn files_ansible_vault_encrypts_open_in_recon() {
    let p = project();
    p.file("vars/secrets.yml", "api_token: tok-from-1.1\n")
        .file("vars/prod.yml", "api_token: tok-from-1.2\n");
    ansible_vault(
        p.dir(),
        &["encrypt", "--vault-password-file", "pw", "vars/secrets.yml"],
    );
    ansible_vault(
        p.dir(),
        &["encrypt", "--vault-id", "prod@prod-pw", "vars/prod.yml"],
    );
    let prod = std::fs::read_to_string(p.dir().join("vars/prod.yml")).expect("read");
    assert!(
        prod.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"),
        "{prod}"
    );

    p.recon(&[
        "vault",
        "view",
        "vars/secrets.yml",
        "--vault-password-file",
        "pw",
    ])
    .expect_code(0)
    .stdout_has("api_token: tok-from-1.1");
    // Both ids given: the 1.2 file's label picks its password first; either order works.
    p.recon(&[
        "vault",
        "view",
        "vars/prod.yml",
        "--vault-id",
        "pw",
        "--vault-id",
        "prod@prod-pw",
    ])
    .expect_code(0)
    .stdout_has("api_token: tok-from-1.2");

    // A whole encrypted vars file feeds a template.
    p.file("site.yml", PLAYBOOK)
        .file("templates/app.conf.j2", "token={{ api_token }}\n");
    p.recon(&["apply", "site.yml", "--vault-password-file", "pw"])
        .expect_code(0);
    assert_eq!(p.read_host("app.conf"), "token=tok-from-1.1\n");
}

#[test]
fn files_recon_encrypts_open_in_ansible_vault() {
    let p = project();
    let text = "db_password: \"p@ss w0rd\"\nnote: héllo\n";
    p.file("a.yml", text).file("b.yml", text);
    p.recon(&["vault", "encrypt", "a.yml", "--vault-password-file", "pw"])
        .expect_code(0)
        .stderr_has("Encryption successful");
    p.recon(&["vault", "encrypt", "b.yml", "--vault-id", "prod@prod-pw"])
        .expect_code(0);
    let a = std::fs::read_to_string(p.dir().join("a.yml")).expect("read");
    let b = std::fs::read_to_string(p.dir().join("b.yml")).expect("read");
    assert!(a.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"), "{a}");
    assert!(b.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"), "{b}");
    assert!(a
        .lines()
        .skip(1)
        .all(|l| l.len() == 80 || l == a.lines().last().unwrap_or_default()));
    assert_eq!(mode(&p.dir().join("a.yml")), 0o600);
    assert_eq!(
        ansible_vault(p.dir(), &["view", "--vault-password-file", "pw", "a.yml"]),
        text
    );
    assert_eq!(
        ansible_vault(p.dir(), &["view", "--vault-id", "prod@prod-pw", "b.yml"]),
        text
    );

    // Encrypting twice is refused; decrypt restores the plaintext in place.
    p.recon(&["vault", "encrypt", "a.yml", "--vault-password-file", "pw"])
        .expect_code(1)
        .stderr_has("already vault-encrypted");
    p.recon(&["vault", "decrypt", "a.yml", "--vault-password-file", "pw"])
        .expect_code(0);
    assert_eq!(
        std::fs::read_to_string(p.dir().join("a.yml")).expect("read"),
        text
    );
}

#[test]
fn inline_vault_value_in_group_vars_renders_into_a_template() {
    let p = project();
    let block = inline_from_ansible(p.dir(), "db_password", "correct horse");
    p.file("inventory/group_vars/all.yml", &format!("db_user: app\n{block}"))
        .file(
            "site.yml",
            "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n    - template: { src: db.conf.j2, dest: \"{{ root }}/db.conf\" }\n",
        )
        .file("templates/db.conf.j2", "user={{ db_user }}\npassword={{ db_password }}\n");
    p.recon(&["plan", "site.yml", "--vault-password-file", "pw"])
        .expect_code(0)
        .stdout_has("db.conf")
        .stdout_has("user=app");
    p.recon(&["apply", "site.yml", "--vault-password-file", "pw"])
        .expect_code(0);
    assert_eq!(p.read_host("db.conf"), "user=app\npassword=correct horse\n");
}

/// An inventory whose only host is an SSH host on a port this test listens on, so "nothing was
/// contacted" is checked, not assumed.
fn unreachable_if_contacted(p: &Project) -> TcpListener {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    p.file(
        "inventory/hosts.yml",
        &format!("all:\n  hosts:\n    web:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n      ansible_user: nobody\n"),
    );
    listener
}

fn assert_not_contacted(listener: &TcpListener) {
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a host was contacted: {other:?}"),
    }
}

#[test]
fn wrong_or_missing_password_is_located_and_contacts_nothing() {
    let p = project();
    let listener = unreachable_if_contacted(&p);
    let block = inline_from_ansible(p.dir(), "db_password", "secret");
    p.file(
        "inventory/group_vars/all.yml",
        &format!("db_user: app\n{block}"),
    )
    .file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - command: \"true\"\n",
    );
    for command in ["plan", "apply", "check"] {
        p.recon(&[command, "site.yml", "--vault-password-file", "prod-pw"])
            .expect_code(1)
            .stderr_has("wrong vault password")
            .stderr_has("group_vars/all.yml:2:14");
    }
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stderr_has("no vault password was given")
        .stderr_has("group_vars/all.yml:2:14");
    p.recon(&["inventory", "--vault-password-file", "missing-file"])
        .expect_code(1)
        .stderr_has("missing-file");

    // A whole vault file with the wrong password names the file.
    p.file("inventory/group_vars/all.yml", "db_user: app\n")
        .file("vars/secrets.yml", "api_token: x\n")
        .file("site.yml", PLAYBOOK);
    ansible_vault(
        p.dir(),
        &["encrypt", "--vault-password-file", "pw", "vars/secrets.yml"],
    );
    p.recon(&["plan", "site.yml", "--vault-password-file", "prod-pw"])
        .expect_code(1)
        .stderr_has("cannot decrypt vault file")
        .stderr_has("vars/secrets.yml:1:1");
    assert_not_contacted(&listener);
}

#[test]
fn password_scripts_and_environment_variables() {
    let p = project();
    p.file("get-pw.sh", "#!/bin/sh\necho hunter2\n")
        .file(
            "vault-client.sh",
            "#!/bin/sh\n[ \"$1 $2\" = \"--vault-id prod\" ] && echo s3cure-prod\n",
        )
        .file("a.yml", "x: from-script\n")
        .file("b.yml", "x: from-client\n");
    for script in ["get-pw.sh", "vault-client.sh"] {
        let path = p.dir().join(script);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    ansible_vault(
        p.dir(),
        &["encrypt", "--vault-password-file", "pw", "a.yml"],
    );
    ansible_vault(p.dir(), &["encrypt", "--vault-id", "prod@prod-pw", "b.yml"]);
    p.recon(&[
        "vault",
        "view",
        "a.yml",
        "--vault-password-file",
        "get-pw.sh",
    ])
    .expect_code(0)
    .stdout_has("x: from-script");
    p.recon(&[
        "vault",
        "view",
        "b.yml",
        "--vault-id",
        "prod@vault-client.sh",
    ])
    .expect_code(0)
    .stdout_has("x: from-client");
    for var in ["RECON_VAULT_PASSWORD_FILE", "ANSIBLE_VAULT_PASSWORD_FILE"] {
        p.recon_with(&["vault", "view", "a.yml"], |c| {
            c.env(var, p.dir().join("pw"));
        })
        .expect_code(0)
        .stdout_has("x: from-script");
    }
    p.recon(&["vault", "view", "a.yml", "--vault-id", "dev@prompt"])
        .expect_code(1)
        .stderr_has("stdin is not a terminal");
}

#[test]
fn rekey_moves_files_to_the_new_password() {
    let p = project();
    p.file("a.yml", "x: 1\n");
    ansible_vault(
        p.dir(),
        &["encrypt", "--vault-password-file", "pw", "a.yml"],
    );
    p.recon(&[
        "vault",
        "rekey",
        "a.yml",
        "--vault-password-file",
        "pw",
        "--new-vault-id",
        "prod@prod-pw",
    ])
    .expect_code(0)
    .stderr_has("Rekey successful");
    let text = std::fs::read_to_string(p.dir().join("a.yml")).expect("read");
    assert!(
        text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"),
        "{text}"
    );
    assert_eq!(
        ansible_vault(p.dir(), &["view", "--vault-id", "prod@prod-pw", "a.yml"]),
        "x: 1\n"
    );
    p.recon(&["vault", "view", "a.yml", "--vault-password-file", "pw"])
        .expect_code(1)
        .stderr_has("wrong vault password");
}

#[test]
fn create_and_edit_run_the_editor_on_a_private_temp_file() {
    let p = project();
    // The editor records the file it got and the folder's mode, then rewrites the file.
    p.file(
        "editor.sh",
        "#!/bin/sh\necho \"$1\" > \"$EDITOR_LOG\"\nstat -c %a \"$(dirname \"$1\")\" >> \"$EDITOR_LOG\"\n\
         sed 's/old/new/' \"$1\" > \"$1.tmp\" 2>/dev/null; cat \"$1.tmp\" > \"$1\"; rm -f \"$1.tmp\"\n\
         [ -s \"$1\" ] || echo 'token: old' > \"$1\"\n",
    );
    let editor = p.dir().join("editor.sh");
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let log = p.dir().join("editor.log");
    let with_editor = |c: &mut Command| {
        c.env("EDITOR", &editor).env("EDITOR_LOG", &log);
    };
    p.recon_with(
        &["vault", "create", "s.yml", "--vault-password-file", "pw"],
        with_editor,
    )
    .expect_code(0);
    assert_eq!(mode(&p.dir().join("s.yml")), 0o600);
    assert_eq!(
        ansible_vault(p.dir(), &["view", "--vault-password-file", "pw", "s.yml"]),
        "token: old\n"
    );
    let logged = std::fs::read_to_string(&log).expect("log");
    let (temp, dir_mode) = logged.split_once('\n').expect("two lines");
    assert_eq!(dir_mode.trim(), "700");
    assert!(!Path::new(temp).exists(), "the temp file is removed");
    assert!(
        !Path::new(temp).parent().expect("dir").exists(),
        "the temp dir is removed"
    );

    p.recon_with(
        &["vault", "edit", "s.yml", "--vault-password-file", "pw"],
        with_editor,
    )
    .expect_code(0);
    assert_eq!(
        ansible_vault(p.dir(), &["view", "--vault-password-file", "pw", "s.yml"]),
        "token: new\n"
    );
    p.recon_with(
        &["vault", "create", "s.yml", "--vault-password-file", "pw"],
        with_editor,
    )
    .expect_code(1)
    .stderr_has("already exists");
}

#[test]
fn encrypt_string_round_trips_through_ansible() {
    let p = project();
    let run = p.recon(&[
        "vault",
        "encrypt-string",
        "--vault-password-file",
        "pw",
        "--name",
        "api_key",
        "k3y value",
    ]);
    run.expect_code(0)
        .stdout_has("api_key: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n");
    p.file("vars.yml", &run.stdout);
    let out = Command::new(ansible_tool("ansible"))
        .args([
            "localhost",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-m",
            "debug",
            "-a",
            "var=api_key",
        ])
        .args(["-e", "@vars.yml", "--vault-password-file", "pw"])
        .current_dir(p.dir())
        .env("HOME", p.dir())
        .env("ANSIBLE_LOCAL_TEMP", p.dir().join(".ansible-tmp"))
        .output()
        .expect("ansible runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\"api_key\": \"k3y value\""),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn decrypted_secrets_are_masked_in_error_output() {
    let p = project();
    p.file(
        "vars/secrets.yml",
        "api_token: tok-S3CRET-123\nurl: \"{{ nope }}\"\n",
    )
    .file("site.yml", PLAYBOOK)
    .file("templates/app.conf.j2", "{{ api_token }} {{ url }}\n");
    ansible_vault(
        p.dir(),
        &["encrypt", "--vault-password-file", "pw", "vars/secrets.yml"],
    );
    let run = p.recon(&["check", "site.yml", "--vault-password-file", "pw"]);
    // The snippet shows the decrypted file around the error: the secret line is masked, the
    // expression the error is about is not.
    run.expect_code(1)
        .stderr_has("vars/secrets.yml:2:6")
        .stderr_has("api_token: ********")
        .stderr_has("url: \"{{ nope }}\"");
    assert!(!run.stderr.contains("tok-S3CRET-123"), "{}", run.stderr);
}
