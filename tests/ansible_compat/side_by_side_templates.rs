//! Templates byte for byte: a corpus of tricky templates (whitespace after a block, blocks at the
//! end of the file, `{%-`/`-%}`, `#jinja2:` first lines, CRLF, no final newline, unicode,
//! `ansible_managed`) rendered by ansible-playbook's `template` module (connection local) into one
//! folder and by recon into another: every file is identical.

use std::path::Path;

use super::side_by_side::ansible_playbook;
use crate::harness::{copy_tree, Project};

/// The play both tools run; `out` is each host's own folder.
const SITE: &str = r"- hosts: all
  gather_facts: false
  tasks:
    - template:
        src: 'templates/{{ item }}'
        dest: '{{ out }}/{{ item }}'
        mode: '0644'
      loop: '{{ corpus }}'
";

#[test]
fn ansible_and_recon_render_every_template_to_the_same_bytes() {
    let p = Project::new();
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ansible_compat/side_by_side_templates");
    copy_tree(&src, p.dir());
    let (ans, rec) = (p.dir().join("out-ansible"), p.dir().join("out-recon"));
    for dir in [&ans, &rec] {
        std::fs::create_dir_all(dir).expect("out");
    }
    let names: Vec<String> = std::fs::read_dir(src.join("templates"))
        .expect("corpus")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    let corpus = names.clone();
    let host = |name: &str, out: &Path| {
        format!(
            "    {name}:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n      out: {}\n      corpus: {corpus:?}\n",
            out.display()
        )
    };
    p.file("site.yml", SITE).file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n{}{}",
            host("ansible", &ans),
            host("recon", &rec)
        ),
    );
    ansible_playbook(&p, "ansible");
    p.recon(&["apply", "site.yml", "--limit", "recon"])
        .expect_code(0);
    for name in &names {
        let theirs = std::fs::read(ans.join(name)).expect("ansible's render");
        let ours = std::fs::read(rec.join(name)).expect("recon's render");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "{name}: recon's bytes (left) differ from ansible-playbook's (right)"
        );
    }
    // Each accepts the other's files: recon plans nothing where Ansible rendered.
    p.recon(&[
        "plan",
        "site.yml",
        "--limit",
        "ansible",
        "--detailed-exitcode",
    ])
    .expect_code(0);
}
