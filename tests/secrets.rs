//! Secrets stay secret: a vault value goes through every path (template, file content, command
//! argv and env, handler output, a failing step's stderr, an error message, `plan -o`, `--json`,
//! `-v`, progress) and then every byte recon printed or wrote on the control machine is searched
//! for it. Generated passwords (`lookup('password', ...)`) are created once, stored encrypted and
//! shared by hosts.

use std::path::{Path, PathBuf};

use crate::harness::{mode, Project, Run};

/// The secret every test tries to leak.
const SECRET: &str = "Sup3r-S3cret-V4lue";
/// The vault password (file `pw`).
const VAULT_PW: &str = "vault-pw-for-tests";

const SITE: &str = r#"- hosts: all
  vars_files: [vars/secrets.yml]
  tasks:
    - directory: { path: "{{ root }}" }
    - name: env file
      template: { src: app.env.j2, dest: "{{ root }}/app.env", mode: "0600" }
      notify: restart app
    - name: token file
      file: { path: "{{ root }}/token", content: "token={{ db_password }}\n" }
    - name: large enough to be an artifact, were it not secret
      template: { src: big.j2, dest: "{{ root }}/big" }
    - name: transformed
      file: { path: "{{ root }}/reversed", content: "{{ db_password | reverse }}" }
    - name: argv and env
      command:
        cmd: "echo argv {{ db_password }}; echo env $DBPW; echo err $DBPW >&2; touch {{ root }}/ran"
        env: { DBPW: "{{ db_password }}" }
        creates: "{{ root }}/ran"
    - name: quiet
      command: { cmd: "echo visible-$((40+2))-output; touch {{ root }}/q", creates: "{{ root }}/q" }
      no_log: true
  handlers:
    - name: restart app
      command: "echo restarting with {{ db_password }}"
"#;

/// A project whose `vars/secrets.yml` is vault-encrypted (with recon itself) and holds SECRET.
fn project() -> Project {
    let p = Project::new();
    p.file("pw", &format!("{VAULT_PW}\n"))
        .file("vars/secrets.yml", &format!("db_password: {SECRET}\n"))
        .file(
            "templates/app.env.j2",
            "APP_PORT=8080\nDB_PASSWORD={{ db_password }}\n",
        )
        .file(
            "templates/big.j2",
            "{% for i in range(3000) %}padding line {{ i }} of a large file ..........\n{% endfor %}secret={{ db_password }}\n",
        )
        .file("site.yml", SITE);
    p.encrypt("vars/secrets.yml");
    let vars = std::fs::read_to_string(p.dir().join("vars/secrets.yml")).expect("read");
    assert!(vars.starts_with("$ANSIBLE_VAULT;1.1;AES256"), "{vars}");
    p
}

/// `recon ARGS --vault-password-file pw`, collecting both streams into `seen`.
fn run(p: &Project, args: &[&str], seen: &mut String) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--vault-password-file", "pw"]);
    let out = p.recon(&all);
    seen.push_str(&out.stdout);
    seen.push_str(&out.stderr);
    out
}

/// Every file under `dir` except the managed host's folder (where the secret belongs).
fn files_under(dir: &Path, skip: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path == skip {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&path, skip, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

/// Panics naming every file on the control machine (project, HOME, artifact cache) that holds
/// `needle` in clear or in base64.
fn assert_no_file_holds(p: &Project, needle: &str) {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(needle);
    let encoded = &encoded[..encoded.len() - 4];
    let mut files = Vec::new();
    files_under(p.dir(), &p.host_root(), &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("saved.plan")),
        "the saved plan is among the files searched: {files:?}"
    );
    let leaks: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            let bytes = std::fs::read(f).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            text.contains(needle) || text.contains(encoded)
        })
        .collect();
    assert!(leaks.is_empty(), "the secret is in {leaks:?}");
}

/// An error report as one line: miette's wrapping and frame removed.
fn flat(text: &str) -> String {
    text.replace(['│', '×'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_vault_value_never_leaves_in_clear() {
    let p = project();
    let mut seen = String::new();

    let plan = run(&p, &["plan", "site.yml", "-v"], &mut seen);
    plan.expect_code(0)
        .stdout_has("+DB_PASSWORD=********")
        .stdout_has("sensitive, sha256 ");
    run(&p, &["plan", "site.yml", "--json"], &mut seen).expect_code(0);
    run(&p, &["plan", "site.yml", "-o", "saved.plan"], &mut seen).expect_code(0);
    let saved = std::fs::read_to_string(p.dir().join("saved.plan")).expect("saved");
    assert!(
        saved.contains("\"sealed\":\"$ANSIBLE_VAULT;1.1;AES256"),
        "{saved}"
    );
    assert_eq!(mode(&p.dir().join("saved.plan")), 0o600);

    let apply = run(&p, &["apply", "saved.plan", "--json"], &mut seen);
    apply.expect_code(0);
    assert!(
        apply.stdout.contains("argv ********\\nenv ********")
            && apply.stdout.contains("restarting with ********")
            && apply.stdout.contains("(output hidden: no_log)"),
        "step output is shown, masked:\n{}",
        apply.stdout
    );
    assert!(
        !apply.stdout.contains("visible-42-output"),
        "no_log hides output:\n{}",
        apply.stdout
    );

    // It worked: the host has the value, privately.
    assert_eq!(
        p.read_host("app.env"),
        format!("APP_PORT=8080\nDB_PASSWORD={SECRET}\n")
    );
    assert_eq!(mode(&p.host("app.env")), 0o600);
    assert_eq!(p.read_host("token"), format!("token={SECRET}\n"));
    let big = p.read_host("big");
    assert!(big.len() > 64 * 1024 && big.ends_with(&format!("secret={SECRET}\n")));

    // An update is shown by size and hash, never by reading the old file back.
    p.file(
        "templates/app.env.j2",
        "APP_PORT=8081\nDB_PASSWORD={{ db_password }}\n",
    );
    let update = run(&p, &["plan", "site.yml"], &mut seen);
    update
        .expect_code(0)
        .stdout_has("content: 45 bytes, sensitive, sha256 ")
        .stdout_has(" -> 45 bytes, sensitive, sha256 ");
    assert!(!update.stdout.contains("APP_PORT"), "{}", update.stdout);
    run(&p, &["apply", "site.yml", "--json"], &mut seen).expect_code(0);
    run(&p, &["apply", "site.yml", "-v"], &mut seen).expect_code(0);

    // A failing step prints the secret on stderr; an error message quotes it.
    p.file(
        "fail.yml",
        "- hosts: all\n  vars_files: [vars/secrets.yml]\n  tasks:\n    - command: \"echo failing {{ db_password }} >&2; exit 3\"\n",
    );
    let failed = run(&p, &["apply", "fail.yml"], &mut seen);
    failed.expect_code(1).stdout_has("failing ********");
    run(&p, &["apply", "fail.yml", "--json"], &mut seen).expect_code(1);
    p.file(
        "error.yml",
        "- hosts: all\n  vars_files: [vars/secrets.yml]\n  tasks:\n    - directory: { path: \"{{ db_password }}/x\", mode: \"{{ db_password }}\" }\n",
    );
    let error = run(&p, &["plan", "error.yml"], &mut seen);
    error.expect_code(1);
    assert!(error.stderr.contains("********"), "{}", error.stderr);

    assert!(!seen.contains(SECRET), "recon printed the secret:\n{seen}");
    let reversed: String = SECRET.chars().rev().collect();
    assert_eq!(p.read_host("reversed"), reversed);
    assert!(
        !seen.contains(&reversed),
        "recon printed a transformed secret:\n{seen}"
    );
    assert_no_file_holds(&p, SECRET);
}

#[test]
fn a_saved_plan_with_secrets_needs_the_same_vault_password() {
    let p = project();
    let mut seen = String::new();
    run(&p, &["plan", "site.yml", "-o", "saved.plan"], &mut seen).expect_code(0);
    p.file("other-pw", "not-the-password\n");
    let out = p.recon(&["apply", "saved.plan", "--vault-password-file", "other-pw"]);
    out.expect_code(1);
    assert!(
        flat(&out.stderr).contains("plan again if the vault password changed since the plan"),
        "{}",
        out.stderr
    );
    assert!(!p.host("app.env").exists(), "nothing was applied");
    let out = p.recon(&["apply", "saved.plan"]);
    out.expect_code(1);
    assert!(
        flat(&out.stderr).contains("no vault password was given"),
        "{}",
        out.stderr
    );
}

#[test]
fn no_log_without_a_vault_password_refuses_to_save_a_plan_in_clear() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n    - file: { path: \"{{ root }}/k\", content: \"private-key-material\\n\" }\n      no_log: true\n",
    );
    let plan = p.recon(&["plan", "site.yml"]);
    plan.expect_code(0).stdout_has("sensitive, sha256 ");
    assert!(
        !plan.stdout.contains("private-key-material"),
        "{}",
        plan.stdout
    );
    p.recon(&["plan", "site.yml", "-o", "saved.plan"])
        .expect_code(1)
        .stderr_has("--vault-password-file");
    assert!(!p.dir().join("saved.plan").exists());
    // A templated `no_log` (Ansible content writes `no_log: "{{ hide }}"`) hides it as well.
    p.file(
        "site.yml",
        "- hosts: all\n  vars: { hide: true }\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n    - file: { path: \"{{ root }}/k\", content: \"private-key-material\\n\" }\n      no_log: \"{{ hide }}\"\n",
    );
    let plan = p.recon(&["plan", "site.yml"]);
    plan.expect_code(0).stdout_has("sensitive, sha256 ");
    assert!(
        !plan.stdout.contains("private-key-material"),
        "{}",
        plan.stdout
    );
}

const GENERATED: &str = r#"- hosts: all
  vars:
    db_pw: "{{ lookup('password', 'credentials/db length=24 chars=ascii_letters,digits') }}"
  tasks:
    - directory: { path: "{{ root }}" }
    - file: { path: "{{ root }}/db.conf", content: "password={{ db_pw }}\n", mode: "0600" }
"#;

/// Two local hosts with their own folders.
fn two_hosts(p: &Project) {
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    box:\n      ansible_connection: local\n      root: {}\n    box2:\n      ansible_connection: local\n      root: {}\n",
            p.host("one").display(),
            p.host("two").display()
        ),
    );
}

#[test]
fn a_generated_password_is_created_once_encrypted_and_shared() {
    let p = Project::new();
    two_hosts(&p);
    p.file("pw", &format!("{VAULT_PW}\n"))
        .file("site.yml", GENERATED);

    let refused = p.recon(&["plan", "site.yml"]);
    refused.expect_code(1).stderr_has("--vault-password-file");
    assert!(!p.dir().join("credentials/db").exists());

    let mut seen = String::new();
    run(&p, &["apply", "site.yml"], &mut seen).expect_code(0);
    let one = p.read_host("one/db.conf");
    let value = one
        .strip_prefix("password=")
        .and_then(|v| v.strip_suffix('\n'))
        .expect("password=VALUE");
    assert_eq!(value.len(), 24);
    assert!(value.chars().all(|c| c.is_ascii_alphanumeric()), "{value}");
    assert_eq!(p.read_host("two/db.conf"), one, "same path, same secret");

    let stored = std::fs::read_to_string(p.dir().join("credentials/db")).expect("stored");
    assert!(stored.starts_with("$ANSIBLE_VAULT;1.1;AES256"), "{stored}");
    assert_eq!(mode(&p.dir().join("credentials/db")), 0o600);

    let again = run(&p, &["apply", "site.yml"], &mut seen);
    again.expect_code(0).stdout_has("No changes.");
    assert_eq!(p.read_host("one/db.conf"), one, "the same on later runs");
    assert!(!seen.contains(value), "recon printed the password:\n{seen}");
}

/// Copies `examples/env-file` into a fresh project (local inventory).
fn env_file_example() -> Project {
    let p = Project::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/env-file");
    for rel in [
        "site.yml",
        "demo-vault-password",
        "vars/secrets.yml",
        "templates/app.env.j2",
        "files/app.sh",
    ] {
        let text = std::fs::read_to_string(example.join(rel)).expect("example file");
        p.file(rel, &text);
    }
    p
}

#[test]
fn the_env_file_example_is_private_masked_and_restarts_the_app_on_change() {
    let user = "recon_envfile";
    crate::harness::accounts::ensure_user(user);
    let p = env_file_example();
    let app_root = p.host("app");
    let root_arg = format!("app_root={}", app_root.display());
    let args = |cmd: &'static str| {
        vec![
            cmd.to_owned(),
            "site.yml".to_owned(),
            "--vault-password-file".to_owned(),
            "demo-vault-password".to_owned(),
            "-e".to_owned(),
            root_arg.clone(),
            "-e".to_owned(),
            format!("app_user={user}"),
        ]
    };
    let recon = |cmd: &'static str| {
        let a = args(cmd);
        p.recon(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let mut seen = String::new();
    let plan = recon("plan");
    plan.expect_code(0)
        .stdout_has("+DB_PASSWORD=********")
        .stdout_has("+API_TOKEN=********")
        .stdout_has("+SESSION_KEY=********")
        .stdout_has("# handler `restart app` will run");
    seen.push_str(&plan.stdout);
    let apply = recon("apply");
    apply.expect_code(0);
    seen.push_str(&apply.stdout);
    seen.push_str(&apply.stderr);

    let env = app_root.join(".env");
    assert_eq!(mode(&env), 0o600);
    let owner = std::process::Command::new("stat")
        .args(["-c", "%U"])
        .arg(&env)
        .output()
        .expect("stat");
    assert_eq!(String::from_utf8_lossy(&owner.stdout).trim(), user);
    let text = std::fs::read_to_string(&env).expect("env");
    assert!(
        text.contains("DB_PASSWORD=correct horse battery staple\n"),
        "{text}"
    );
    let log = || std::fs::read_to_string(app_root.join("starts.log")).unwrap_or_default();
    assert_eq!(log().lines().count(), 1, "started once: {}", log());

    recon("apply").expect_code(0).stdout_has("No changes.");
    assert_eq!(
        log().lines().count(),
        1,
        "an unchanged .env restarts nothing"
    );

    let template = std::fs::read_to_string(p.dir().join("templates/app.env.j2")).expect("t");
    p.file(
        "templates/app.env.j2",
        &format!("{template}LOG_LEVEL=debug\n"),
    );
    let update = recon("apply");
    update
        .expect_code(0)
        .stdout_has("sensitive, sha256 ")
        .stdout_has("# triggered by: ~ template");
    seen.push_str(&update.stdout);
    assert_eq!(log().lines().count(), 2, "a changed .env restarts the app");

    let session = text
        .lines()
        .find_map(|l| l.strip_prefix("SESSION_KEY="))
        .expect("session key");
    assert_eq!(session.len(), 32);
    for secret in [
        "correct horse battery staple",
        "tok_live_4f9a2b7c1e",
        session,
    ] {
        assert!(!seen.contains(secret), "printed {secret}:\n{seen}");
    }
}

#[test]
fn the_secret_filter_marks_any_value_secret() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n    - file: { path: \"{{ root }}/t\", content: \"token={{ tok | secret }}\\n\" }\n    - command: \"echo got {{ tok }}\"\n",
    );
    p.recon(&["check", "site.yml", "-e", "tok=x"])
        .expect_code(0);
    let plan = p.recon(&["plan", "site.yml", "-e", "tok=plain-secret-99"]);
    plan.expect_code(0)
        .stdout_has("+token=********")
        .stdout_has("! command echo got ********");
    assert!(!plan.stdout.contains("plain-secret-99"), "{}", plan.stdout);
    let apply = p.recon(&["apply", "site.yml", "-e", "tok=plain-secret-99", "--json"]);
    apply.expect_code(0).stdout_has("got ********");
    assert!(
        !apply.stdout.contains("plain-secret-99"),
        "{}",
        apply.stdout
    );
    assert_eq!(p.read_host("t"), "token=plain-secret-99\n");
}

#[test]
fn ansible_vault_opens_a_generated_password_file() {
    let p = Project::new();
    p.file("pw", &format!("{VAULT_PW}\n"))
        .file("site.yml", GENERATED);
    let mut seen = String::new();
    run(&p, &["apply", "site.yml"], &mut seen).expect_code(0);
    let out = std::process::Command::new("/opt/recon-test/ansible/bin/ansible-vault")
        .args(["view", "--vault-password-file", "pw", "credentials/db"])
        .current_dir(p.dir())
        .env("HOME", p.dir())
        .env("ANSIBLE_LOCAL_TEMP", p.dir().join(".ansible-tmp"))
        .output()
        .expect("ansible-vault runs (scripts/install-deps.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(p.read_host("db.conf"), format!("password={value}\n"));
}
