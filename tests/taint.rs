//! Secret taint on a real sshd: a vault value through filters and concatenations in every
//! string field we can reach (a task title, `line`, `block`, `file`, `template`, `cron`,
//! `command` argv and env) is masked in plan text, `--json`, the apply report, a saved plan and errors; when the
//! secret changes, the plan shows neither the old value read back from the host nor the new one.

use base64::Engine as _;

use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// The vault password (file `pw`).
const VAULT_PW: &str = "taint-vault-pw";

const SITE: &str = r#"- hosts: all
  vars_files: [vars/secrets.yml]
  vars:
    derived: "x-{{ token | upper }}"
  tasks:
    - directory: { path: "{{ root }}" }
    - directory: { path: "{{ root }}/cron.d" }
    - name: "title {{ token | lower }} and {{ token | b64encode }}"
      line: { path: "{{ root }}/env", line: "TOKEN={{ token | upper }}", regexp: "^TOKEN=" }
    - block:
        path: "{{ root }}/conf"
        create: true
        block: "auth {{ token | replace('a', 'A') }}\nsum {{ token | hash('sha256') }}"
    - template: { src: t.j2, dest: "{{ root }}/tpl" }
    - file: { path: "{{ root }}/copy", content: "id={{ derived }}-{{ token | b64encode }}\n" }
    - cron:
        name: "job {{ token | lower }}"
        user: root
        cron_file: "{{ root }}/cron.d/recon"
        job: "curl -H 'X: {{ token | upper }}' http://127.0.0.1:9/"
    - command:
        argv: [sh, -c, 'echo "$1 $T"; touch "$2"', x, "{{ token | upper }}", "{{ root }}/ran-{{ token | hash('md5') }}"]
        env: { T: "{{ 'pre-' ~ token ~ '-post' }}" }
        creates: "{{ root }}/ran-{{ token | hash('md5') }}"
"#;

/// A project on the fixture's sshd (as root) whose vault holds `token`.
fn project(sshd: &Sshd) -> Project {
    sshd.authorize("root");
    let p = Project::new();
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    sq: {{ ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: root, ansible_ssh_private_key_file: {}, recon_known_hosts_file: {}, root: {} }}\n",
            sshd.port,
            sshd.client_key.display(),
            sshd.known_hosts.display(),
            p.host_root().display()
        ),
    )
    .file("pw", &format!("{VAULT_PW}\n"))
    .file("site.yml", SITE)
    .file(
        "templates/t.j2",
        "port=80\nkey={{ token | b64encode }}\nup={{ derived }}\n",
    );
    p
}

/// Writes `token: VALUE` into the vault file, encrypted.
fn set_token(p: &Project, value: &str) {
    p.file("vars/secrets.yml", &format!("token: {value}\n"));
    p.encrypt("vars/secrets.yml");
}

/// Every plain form of the secret a filter in `SITE` makes of it.
fn forms(token: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        token.to_owned(),
        token.to_uppercase(),
        token.to_lowercase(),
        b64.encode(token),
        token.replace('a', "A"),
        format!("x-{}", token.to_uppercase()),
        format!("pre-{token}-post"),
    ]
}

/// `recon ARGS --vault-password-file pw`; both streams appended to `seen`.
fn recon(p: &Project, args: &[&str], seen: &mut String) -> crate::harness::Run {
    let mut all = args.to_vec();
    all.extend(["--vault-password-file", "pw"]);
    let run = p.recon(&all);
    seen.push_str(&run.stdout);
    seen.push_str(&run.stderr);
    run
}

fn assert_hidden(seen: &str, token: &str) {
    for form in forms(token) {
        assert!(!seen.contains(&form), "`{form}` leaked:\n{seen}");
    }
}

#[test]
fn derived_secrets_are_masked_everywhere_and_a_changed_secret_shows_neither_value() {
    let sshd = Sshd::start();
    let p = project(&sshd);
    let old = "Old-taint-tok3n-abc";
    set_token(&p, old);
    let mut seen = String::new();
    recon(&p, &["plan", "site.yml", "-v"], &mut seen).expect_code(0);
    recon(&p, &["plan", "site.yml", "--json"], &mut seen).expect_code(0);
    recon(&p, &["plan", "site.yml", "-o", "saved.plan"], &mut seen).expect_code(0);
    seen.push_str(&String::from_utf8_lossy(
        &std::fs::read(p.dir().join("saved.plan")).expect("saved plan"),
    ));
    recon(&p, &["apply", "saved.plan", "--json"], &mut seen).expect_code(0);
    assert_hidden(&seen, old);
    assert_eq!(
        p.read_host("env"),
        format!("TOKEN={}\n", old.to_uppercase()),
        "the real value reached the host"
    );
    assert!(p.read_host("cron.d/recon").contains(&old.to_uppercase()));
    assert!(p
        .read_host("tpl")
        .contains(&format!("up=x-{}", old.to_uppercase())));

    // The secret changes: the host still holds the old derived values.
    let new = "New-taint-tok3n-xyz";
    set_token(&p, new);
    let mut seen = String::new();
    let plan = recon(&p, &["plan", "site.yml", "-v"], &mut seen);
    plan.expect_code(0).stdout_has("TOKEN=********");
    recon(&p, &["plan", "site.yml", "--json"], &mut seen).expect_code(0);
    recon(&p, &["apply", "site.yml", "--json"], &mut seen).expect_code(0);
    assert_hidden(&seen, old);
    assert_hidden(&seen, new);
    assert_eq!(
        p.read_host("env"),
        format!("TOKEN={}\n", new.to_uppercase())
    );

    // An error message that quotes a derived value masks it too.
    p.file(
        "bad.yml",
        "- hosts: all\n  vars_files: [vars/secrets.yml]\n  tasks:\n    - line: { path: \"{{ root }}/env\", line: \"{{ token | upper }}\", mode: \"{{ token | lower }}\" }\n",
    );
    let mut seen = String::new();
    recon(&p, &["plan", "bad.yml"], &mut seen).expect_code(1);
    assert_hidden(&seen, new);
}
