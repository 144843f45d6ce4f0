//! Hostile values through Ansible-style tasks (free-form `key=value` arguments included): the
//! mapping layer hands them to recon's resources as data, so nothing runs, values arrive
//! byte-exact, and a value cannot smuggle in more `key=value` arguments.

use crate::harness::Project;

/// Shell metacharacters, quotes, a newline, globs, expansions and a fake free-form argument.
/// Each command substitution would create a canary file in `$HOME` (the project folder).
const HOSTILE: &str =
    "a$(cd;touch c1)b`cd;touch c2`c'd\"e\\f;g&h|i\nj ${HOME} * ~ -n state=absent mode=0777";

const PLAYBOOK: &str = r#"- hosts: all
  tasks:
    - file: path={{ root }}/d-{{ h }} state=directory mode=0750
    - copy:
        dest: "{{ root }}/d-{{ h }}/c-{{ h }}"
        content: "{{ h }}"
        mode: "0600"
    - lineinfile: path={{ root }}/line create=yes line="{{ h1 }}"
    - file: src=d-{{ h }} dest={{ root }}/l-{{ h }} state=link
    - file: path={{ root }}/t-{{ h }} state=touch mode=0640
    - file: path={{ root }}/gone-{{ h }} state=absent
"#;

#[test]
fn hostile_values_through_ansible_modules_run_nothing_and_arrive_byte_exact() {
    let p = Project::new();
    let root = p.host_root();
    std::fs::create_dir_all(&root).expect("root");
    let gone = root.join(format!("gone-{HOSTILE}"));
    std::fs::write(&gone, "bye").expect("gone");
    // A sibling whose name is a prefix of the hostile one must survive `state: absent`.
    std::fs::write(root.join("gone-a"), "keep").expect("sibling");
    let vars = serde_json::json!({ "h": HOSTILE, "h1": HOSTILE.replace('\n', " ") });
    p.file("extra.json", &vars.to_string())
        .file("site.yml", PLAYBOOK);
    p.recon(&["apply", "site.yml", "-e", "@extra.json"])
        .expect_code(0);
    for canary in ["c1", "c2"] {
        assert!(
            !p.dir().join(canary).exists(),
            "a hostile value ran: {canary}"
        );
    }
    let d = root.join(format!("d-{HOSTILE}"));
    assert_eq!(
        crate::harness::mode(&d),
        0o750,
        "one path, not extra arguments"
    );
    let c = d.join(format!("c-{HOSTILE}"));
    assert_eq!(std::fs::read_to_string(&c).expect("copy"), HOSTILE);
    assert_eq!(crate::harness::mode(&c), 0o600);
    assert_eq!(
        p.read_host("line"),
        format!("{}\n", HOSTILE.replace('\n', " "))
    );
    assert_eq!(
        std::fs::read_link(root.join(format!("l-{HOSTILE}"))).expect("link"),
        std::path::Path::new(&format!("d-{HOSTILE}"))
    );
    assert_eq!(
        crate::harness::mode(&root.join(format!("t-{HOSTILE}"))),
        0o640
    );
    assert!(!gone.exists(), "state: absent removed it");
    assert_eq!(p.read_host("gone-a"), "keep");
    p.recon(&[
        "plan",
        "site.yml",
        "-e",
        "@extra.json",
        "--detailed-exitcode",
    ])
    .expect_code(0);
}
