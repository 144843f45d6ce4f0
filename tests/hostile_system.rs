//! Hostile values (hostile.rs's set) through the string fields of `git` and `docker_compose`,
//! applied by the real `sh`, git and compose: nothing a value holds runs, and paths and names
//! arrive byte-exact. (`firewall`'s free-text field, `comment`, is covered in firewall.rs.)

use std::path::Path;
use std::process::Command;

use crate::harness::docker::{self, CleanProject, IMAGE};
use crate::harness::Project;

/// hostile.rs's value: metacharacters, quotes, newlines, CR, here-document terminators, globs.
const HOSTILE: &str = "a$(cd;touch c1)b`cd;touch c2`c'd\"e\\f;g&h|i\nRECON_DATA\nRECON_BECOME\nj\rk $((1+1)) ${HOME} * ~ -n --x";

fn assert_no_canary(dir: &Path) {
    for canary in ["c1", "c2"] {
        assert!(!dir.join(canary).exists(), "a hostile value ran: {canary}");
    }
}

fn project(site: &str) -> Project {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.file(
        "extra.json",
        &serde_json::json!({ "h": HOSTILE }).to_string(),
    )
    .file("site.yml", site);
    p
}

fn sh(script: &str, args: &[&Path]) {
    let status = Command::new("sh")
        .args(["-c", script, "sh"])
        .args(args)
        .status()
        .expect("sh");
    assert!(status.success(), "{script}");
}

#[test]
fn hostile_repository_paths_and_versions_run_nothing() {
    let p = project(
        r#"- hosts: all
  tasks:
    - git:
        repo: "{{ root }}/r-{{ h }}.git"
        dest: "{{ root }}/d-{{ h }}"
"#,
    );
    let bare = p.host(&format!("r-{HOSTILE}.git"));
    let work = p.dir().join("work");
    sh(
        "git init -q --bare -b main \"$1\" && git init -q -b main \"$2\" && cd \"$2\" \
         && echo hostile > f && git add f && git -c user.name=t -c user.email=t@t commit -q -m one \
         && git push -q \"$1\" main",
        &[&bare, &work],
    );
    p.recon(&["apply", "site.yml", "-e", "@extra.json"])
        .expect_code(0);
    assert_eq!(p.read_host(&format!("d-{HOSTILE}/f")), "hostile\n");
    p.recon(&[
        "plan",
        "site.yml",
        "-e",
        "@extra.json",
        "--detailed-exitcode",
    ])
    .expect_code(0);
    assert_no_canary(p.dir());

    // A hostile version is no branch or tag: a planning error, and still nothing runs.
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - git: { repo: "{{ root }}/r-{{ h }}.git", dest: "{{ root }}/v", version: "{{ h | replace('\n', '') | replace('\r', '') | replace(' ', '') }}" }
"#,
    );
    p.recon(&["plan", "site.yml", "-e", "@extra.json"])
        .expect_code(1)
        .stdout_has("has no branch or tag");
    assert_no_canary(p.dir());
    assert!(!p.host("v").exists());
}

#[test]
fn hostile_project_folders_and_compose_file_names_run_nothing() {
    docker::ensure();
    let name = format!("reconhostile{}", std::process::id());
    let clean = CleanProject(name.clone());
    let p = project(&format!(
        r#"- hosts: all
  tasks:
    - docker_compose:
        project_src: "{{{{ root }}}}/s-{{{{ h }}}}"
        files: ["c-{{{{ h }}}}.yml"]
        project_name: {name}
"#
    ));
    let src = p.host(&format!("s-{HOSTILE}"));
    std::fs::create_dir_all(&src).expect("src");
    std::fs::write(
        src.join(format!("c-{HOSTILE}.yml")),
        format!("version: \"3\"\nservices:\n  w:\n    image: {IMAGE}\n    command: [\"sleep\", \"600\"]\n    stop_signal: SIGKILL\n"),
    )
    .expect("compose file");
    p.recon(&["apply", "site.yml", "-e", "@extra.json"])
        .expect_code(0)
        .stdout_has("service: w: create");
    assert_eq!(clean.containers().len(), 1);
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
