//! Hostile values in every string field of every resource, through the inventory, the
//! templates and extra vars, applied by the real `sh` (dash on Debian): nothing a value holds
//! ever runs, and every value arrives byte-exact in names, contents, links, argv and env.

use std::path::Path;

use crate::harness::Project;

/// Shell metacharacters, both quotes, backslashes, newlines, CR, recon's own here-document
/// terminators, globs and expansions. No `/`: it is also used as one file name component.
/// Each command substitution would create a canary file in `$HOME` (the project folder).
const HOSTILE: &str = "a$(cd;touch c1)b`cd;touch c2`c'd\"e\\f;g&h|i\nRECON_DATA\nRECON_BECOME\nj\rk $((1+1)) ${HOME} * ~ -n --x";

/// The same, on one line (`line:` takes one line) and a long value.
fn one_line() -> String {
    HOSTILE.replace(['\n', '\r'], " ")
}

const PLAYBOOK: &str = r#"- name: hostile
  hosts: all
  tasks:
    - directory: { path: "{{ root }}/d-{{ h }}", mode: "0750" }
    - file: { path: "{{ root }}/d-{{ h }}/f-{{ h }}", content: "{{ h }}{{ long }}", mode: "0600" }
    - template: { src: t.j2, dest: "{{ root }}/t-{{ h }}" }
    - attributes: { path: "{{ root }}/t-{{ h }}", mode: "0640" }
    - symlink: { path: "{{ root }}/l-{{ h }}", target: "t-{{ h }}" }
    - line: { path: "{{ root }}/line-{{ h }}", line: "{{ h1 }}" }
    - block:
        path: "{{ root }}/block-{{ h }}"
        block: "{{ h }}{{ long }}"
        marker: '# {mark} {{ h1 }}'
        insertbefore: BOF
        create: true
        mode: "0640"
        validate: "test -s %s"
    - name: argv
      command:
        argv: [sh, -c, 'printf %s "$1" > "$2"', x, "{{ h }}{{ long }}", "{{ root }}/argv-out"]
        creates: "{{ root }}/argv-out"
    - name: env
      command:
        cmd: 'printf %s "$V" > env-out; pwd > pwd-out'
        chdir: "{{ root }}/d-{{ h }}"
        env: { V: "{{ h }}{{ long }}" }
        creates: "{{ root }}/d-{{ h }}/env-out"
        serialize: "{{ root }}/lock-{{ h }}"
        stamp: "{{ root }}/stamp-{{ h }}"
        since: ["{{ root }}/t-{{ h }}"]
    - name: program
      supervisor:
        name: prog
        conf: "{{ root }}/sv-{{ h }}.conf"
        ctl: "sh {{ root }}/../ctl.sh"
        command: "{{ h1 }}"
        directory: "{{ root }}"
        environment: { A: "{{ h1 }}" }
        stderr_logfile: "{{ root }}/log-{{ h }}"
    - release:
        root: "{{ root }}/rel-{{ h }}"
        version: "v-{{ h }}"
        link: "cur-{{ h }}"
        src: app.tar.gz
        shared: ["s-{{ h }}", "sd-{{ h }}/"]
        env: { V: "{{ h }}{{ long }}" }
        prepare: ['printf %s "$V" > prep-out']
"#;

const CHECK: &str = r#"- name: check
  hosts: all
  tasks:
    - http_check:
        url: "http://127.0.0.1:9/{{ h1 }}"
        host: "{{ h1 }}"
        contains: "{{ h }}"
        identity: "{{ h }}"
        direct: "http://127.0.0.1:9/{{ h1 }}"
        timeout: 1
"#;

const CUTOVER: &str = r#"- name: cutover
  hosts: all
  tasks:
    - release:
        root: "{{ root }}/bg-{{ h }}"
        version: "v-{{ h }}"
        src: app.tar.gz
        activate: false
    - cutover:
        root: "{{ root }}/bg-{{ h }}"
        version: "v-{{ h }}"
        link: "cur-{{ h }}"
        slots:
          - { name: "b-{{ h }}", port: 9, start: "true {{ h1 }}", stop: "true {{ h1 }}" }
          - { name: "g-{{ h }}", port: 1, start: "true", stop: "true" }
        upstream: "{{ root }}/up-{{ h }}"
        reload: "true {{ h1 }}"
        serialize: "{{ root }}/lock-{{ h }}"
        check: { path: "/{{ h1 }}", contains: "{{ h }}", identity: "{{ h }}", timeout: 1 }
        drain: 0
"#;

/// A supervisorctl stand-in: says `prog` is RUNNING whatever it is asked.
const CTL: &str =
    "#!/bin/sh\necho 'prog                             RUNNING   pid 1, uptime 0:00:01'\n";

fn project() -> Project {
    let p = Project::new();
    let root = p.host_root();
    let vars = serde_json::json!({
        "h": HOSTILE,
        "h1": one_line(),
        "long": "L".repeat(20_000),
    });
    // Through the inventory: values that reach scripts from host vars.
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    box:\n      ansible_connection: local\n      root: {}\n      h: {}\n",
            root.display(),
            serde_json::to_string(HOSTILE).expect("json")
        ),
    )
    // And through `-e @file`: the rest.
    .file("extra.json", &vars.to_string())
    .file("site.yml", PLAYBOOK)
    .file("check.yml", CHECK)
    .file("cutover.yml", CUTOVER)
    .file("templates/t.j2", "{{ h }}\n")
    .file("ctl.sh", CTL);
    std::fs::create_dir_all(&root).expect("host root");
    p.tarball("app.tar.gz", &[("run.sh", b"echo app\n")]);
    p
}

fn assert_no_canary(dir: &Path) {
    for canary in ["c1", "c2"] {
        assert!(!dir.join(canary).exists(), "a hostile value ran: {canary}");
    }
}

#[test]
fn hostile_values_in_every_field_run_nothing_and_arrive_byte_exact() {
    let p = project();
    let long = "L".repeat(20_000);
    let h = HOSTILE;
    p.recon(&["apply", "site.yml", "-e", "@extra.json"])
        .expect_code(0);
    assert_no_canary(p.dir());
    let d = format!("d-{h}");
    assert_eq!(crate::harness::mode(&p.host(&d)), 0o750);
    assert_eq!(
        std::fs::read_to_string(p.host(&format!("{d}/f-{h}"))).expect("file"),
        format!("{h}{long}")
    );
    assert_eq!(crate::harness::mode(&p.host(&format!("{d}/f-{h}"))), 0o600);
    assert_eq!(p.read_host(&format!("t-{h}")), format!("{h}\n"));
    assert_eq!(crate::harness::mode(&p.host(&format!("t-{h}"))), 0o640);
    assert_eq!(
        std::fs::read_link(p.host(&format!("l-{h}"))).expect("link"),
        Path::new(&format!("t-{h}"))
    );
    assert_eq!(
        p.read_host(&format!("line-{h}")),
        format!("{}\n", one_line())
    );
    let one = one_line();
    assert_eq!(
        p.read_host(&format!("block-{h}")),
        format!("# BEGIN {one}\n{h}{long}\n# END {one}\n")
    );
    assert_eq!(crate::harness::mode(&p.host(&format!("block-{h}"))), 0o640);
    assert_eq!(p.read_host("argv-out"), format!("{h}{long}"));
    assert_eq!(p.read_host(&format!("{d}/env-out")), format!("{h}{long}"));
    assert_eq!(
        p.read_host(&format!("{d}/pwd-out")).trim_end_matches('\n'),
        p.host(&d).display().to_string()
    );
    assert!(p.host(&format!("stamp-{h}")).exists());
    let section = p.read_host(&format!("sv-{h}.conf"));
    assert!(
        section.contains(&format!("command={}\n", one_line())),
        "{section}"
    );
    let rel = p.host(&format!("rel-{h}"));
    assert_eq!(
        std::fs::read_link(rel.join(format!("cur-{h}"))).expect("current"),
        Path::new(&format!("v-{h}"))
    );
    assert_eq!(
        std::fs::read_to_string(rel.join(format!("v-{h}/run.sh"))).expect("unpacked"),
        "echo app\n"
    );
    let release = rel.join(format!("v-{h}"));
    assert_eq!(
        std::fs::read_link(release.join(format!("s-{h}"))).expect("shared link"),
        Path::new(&format!("../shared/s-{h}"))
    );
    assert!(rel.join(format!("shared/s-{h}")).is_file());
    assert!(rel.join(format!("shared/sd-{h}")).is_dir());
    assert_eq!(
        std::fs::read_to_string(release.join("prep-out")).expect("prepare ran"),
        format!("{h}{long}")
    );
    // Converged: the same hostile values plan nothing.
    p.recon(&[
        "plan",
        "site.yml",
        "-e",
        "@extra.json",
        "--detailed-exitcode",
    ])
    .expect_code(0);
    assert_no_canary(p.dir());
}

#[test]
fn a_hostile_health_check_fails_without_running_anything() {
    let p = project();
    let run = p.recon(&["apply", "check.yml", "-e", "@extra.json"]);
    run.expect_code(1).stdout_has("health check failed");
    assert_no_canary(p.dir());
}

#[test]
fn a_hostile_cutover_fails_its_check_without_running_anything() {
    let p = project();
    let h = HOSTILE;
    let run = p.recon(&["apply", "cutover.yml", "-e", "@extra.json"]);
    run.expect_code(1).stdout_has("never took traffic");
    assert_no_canary(p.dir());
    let root = p.host(&format!("bg-{h}"));
    // The idle slot's link was written, byte-exact; nothing else went live.
    assert_eq!(
        std::fs::read_link(root.join(format!("slots/b-{h}"))).expect("slot link"),
        Path::new(&format!("../v-{h}"))
    );
    assert!(!root.join(format!("cur-{h}")).exists());
    assert!(!p.host(&format!("up-{h}")).exists());
    let marker =
        std::fs::read_to_string(root.join(format!(".recon-releases/v-{h}"))).expect("marker");
    assert!(marker.contains("status=failed"), "{marker}");
}

#[test]
fn a_nul_byte_in_a_path_is_a_located_error() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}/a\\0b\" }\n",
    );
    let run = p.recon(&["apply", "site.yml"]);
    run.expect_code(1)
        .stderr_has("NUL")
        .stderr_has("site.yml:3");
    assert!(p.host_listing().is_empty(), "{:?}", p.host_listing());
}

const QUERIES: &str = r#"- name: queries
  hosts: all
  gather_facts: false
  tasks:
    - directory: { path: "{{ root }}/q-{{ h }}" }
    - stat: { path: "{{ root }}/q-{{ h }}" }
      register: st
    - name: a read-only command
      command:
        argv: [printf, "%s", "{{ h }}"]
      register: echoed
      changed_when: false
    - getent: { database: passwd, key: "{{ h1 }}", fail_key: false }
    - uri: { url: "http://127.0.0.1:9/{{ h1 }}", timeout: 1 }
      register: web
      ignore_errors: true
    - replace: { path: "{{ root }}/r-{{ h }}", regexp: "^x$", replace: "{{ h1 }}" }
    - file:
        path: "{{ root }}/q-out"
        content: "{{ st.stat.exists }} {{ st.stat.isdir }} {{ echoed.stdout == h }} {{ getent_passwd | length }} {{ web.status }}"
"#;

#[test]
fn hostile_values_in_queries_run_nothing_and_arrive_byte_exact() {
    let p = project();
    p.file("queries.yml", QUERIES);
    std::fs::write(p.host_root().join(format!("r-{HOSTILE}")), "x\n").expect("seed");
    p.recon(&["apply", "queries.yml", "-e", "@extra.json"])
        .expect_code(0);
    assert_no_canary(p.dir());
    assert_eq!(p.read_host("q-out"), "True True True 0 -1");
    assert_eq!(
        std::fs::read_to_string(p.host_root().join(format!("r-{HOSTILE}"))).expect("replaced"),
        // Python's replacement syntax turns `\f` into a form feed, as Ansible's `replace` does.
        format!("{}\n", one_line().replace("\\f", "\u{c}"))
    );
}
