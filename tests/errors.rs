//! Bad input: a located error (`file:line:col` and a snippet), exit 1, and nothing written.

use crate::harness::Project;

/// Runs `plan` and `apply` on `playbook` and checks both fail with `message` at `location`
/// without touching the host.
fn refused(playbook: &str, extra_files: &[(&str, &str)], message: &str, location: &str) -> String {
    let p = Project::new();
    p.file("site.yml", playbook);
    for (path, content) in extra_files {
        p.file(path, content);
    }
    let run = p.recon(&["plan", "site.yml"]);
    run.expect_code(1).stderr_has(message).stderr_has(location);
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stderr_has(message);
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has(message);
    assert!(
        !p.host_root().exists(),
        "nothing may be written on bad input"
    );
    run.stderr
}

#[test]
fn yaml_syntax_error() {
    refused(
        "- hosts: all\n  tasks: [\n    - directory: {}\n",
        &[],
        "invalid YAML",
        "site.yml:3:",
    );
}

#[test]
fn unknown_key_suggests_the_right_one() {
    let stderr = refused(
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}\", moed: \"0755\" }\n",
        &[],
        "unknown key `moed` in `directory`",
        "site.yml:3:40",
    );
    assert!(stderr.contains("did you mean `mode`?"), "{stderr}");
}

#[test]
fn unknown_task_keyword_suggests_the_right_one() {
    let stderr = refused(
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n      notfy: x\n",
        &[],
        "unknown resource type `notfy`",
        "site.yml:4:7",
    );
    assert!(stderr.contains("did you mean `notify`?"), "{stderr}");
}

#[test]
fn wrong_type() {
    refused(
        "- hosts: all\n  tasks: 3\n",
        &[],
        "`tasks` must be a list of tasks",
        "site.yml:2:10",
    );
}

#[test]
fn unknown_resource_type() {
    let stderr = refused(
        "- hosts: all\n  tasks:\n    - templte: { src: a, dest: /b }\n",
        &[],
        "unknown resource type `templte`",
        "site.yml:3:7",
    );
    assert!(stderr.contains("did you mean `template`?"), "{stderr}");
}

#[test]
fn missing_required_argument() {
    refused(
        "- hosts: all\n  tasks:\n    - symlink: { path: \"{{ root }}/x\" }\n",
        &[],
        "missing required key `target` in `symlink`",
        "site.yml:3:16",
    );
}

#[test]
fn undefined_variable_in_a_playbook() {
    refused(
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}/{{ sqaud }}\" }\n",
        &[],
        "undefined variable `sqaud`",
        "site.yml:3:41",
    );
}

#[test]
fn undefined_variable_in_a_template_file_names_the_file() {
    refused(
        "- hosts: all\n  tasks:\n    - template: { src: t.j2, dest: \"{{ root }}/t\" }\n",
        &[("templates/t.j2", "line one\nport {{ prot }};\n")],
        "undefined variable `prot`",
        "t.j2:2:9",
    );
}

#[test]
fn template_syntax_error() {
    refused(
        "- hosts: all\n  tasks:\n    - template: { src: t.j2, dest: \"{{ root }}/t\" }\n",
        &[("templates/t.j2", "ok\n{% if x %}\nno end\n")],
        "template error",
        "t.j2:",
    );
}

#[test]
fn cycle_names_every_task() {
    let stderr = refused(
        r#"- hosts: all
  tasks:
    - name: one
      command: "true"
      after: [three]
    - name: two
      command: "true"
      after: [one]
    - name: three
      command: "true"
      after: [two]
"#,
        &[],
        "dependency cycle between tasks: `one` -> `two` -> `three` -> `one`",
        "site.yml:3:7",
    );
    assert!(
        stderr.contains("site.yml:6:7") && stderr.contains("site.yml:9:7"),
        "{stderr}"
    );
}

#[test]
fn notify_of_an_unknown_handler() {
    let stderr = refused(
        "- hosts: all\n  tasks:\n    - command: \"true\"\n      notify: restrat\n  handlers:\n    - name: restart\n      command: \"true\"\n",
        &[],
        "notify names unknown handler `restrat`",
        "site.yml:4:15",
    );
    assert!(stderr.contains("did you mean `restart`?"), "{stderr}");
}

#[test]
fn two_tasks_managing_one_path() {
    let stderr = refused(
        "- hosts: all\n  tasks:\n    - name: first\n      file: { path: \"{{ root }}/x\", content: a }\n    - name: second\n      template: { src: t.j2, dest: \"{{ root }}/x\" }\n",
        &[("templates/t.j2", "b")],
        "two tasks manage path `",
        "site.yml:5:7",
    );
    assert!(
        stderr.contains("site.yml:3:7") && stderr.contains("is first managed by task `first`"),
        "{stderr}"
    );
}

/// Two roles declaring the same directory the same way (Ansible runs it twice) converge; wanted
/// differently, it is still a conflict.
#[test]
fn two_roles_declaring_one_directory_alike_agree() {
    let p = Project::new();
    let task = "- file: { path: \"{{ root }}/shared\", state: directory, mode: \"0750\" }\n";
    p.file("roles/a/tasks/main.yml", task)
        .file("roles/b/tasks/main.yml", task)
        .file("site.yml", "- hosts: all\n  roles: [a, b]\n");
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("Plan: 1 to add");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(crate::harness::mode(&p.host("shared")), 0o750);
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
    p.file("roles/b/tasks/main.yml", &task.replace("0750", "0700"));
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("two tasks manage path `");
}

#[test]
fn two_tasks_wanting_one_group_with_different_gids() {
    let stderr = refused(
        "- hosts: all\n  tasks:\n    - name: web group\n      group: { name: deploy, gid: 1500 }\n    - name: app group\n      group: { name: deploy, gid: 1600 }\n",
        &[],
        "two tasks manage group `deploy` on host `box`",
        "site.yml:5:7",
    );
    assert!(
        stderr.contains("site.yml:3:7")
            && stderr.contains("is first managed by task `web group`")
            && stderr
                .contains("task `web group` wants gid `1500`, task `app group` wants gid `1600`"),
        "{stderr}"
    );
}

#[test]
fn two_tasks_wanting_one_user_or_service_differently() {
    refused(
        "- hosts: all\n  tasks:\n    - user: { name: app, uid: 2001 }\n    - directory: { path: \"{{ root }}\" }\n    - user: { name: app, uid: 2002 }\n",
        &[],
        "two tasks manage user `app` on host `box`",
        "site.yml:5:7",
    );
    refused(
        "- hosts: all\n  tasks:\n    - service: { name: nginx, state: started }\n    - service: { name: nginx, state: stopped }\n",
        &[],
        "wants running `yes`, task `service nginx` wants running `no`",
        "site.yml:4:7",
    );
    // An explicit claim (a port) taken by two tasks of one host.
    refused(
        "- hosts: all\n  tasks:\n    - name: a\n      command: \"true\"\n      claims: { port: 9101 }\n    - name: b\n      command: \"true\"\n      claims: { port: 9101 }\n",
        &[],
        "two tasks manage port `9101` on host `box`",
        "site.yml:6:7",
    );
}

/// Two roles that want the same group, service or directory the same way (one leaving an
/// attribute unset) compile; the duplicate directory is applied once and then converged.
#[test]
fn agreeing_duplicates_on_one_host_compile() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - group: { name: deploy, gid: 1500 }\n    - group: { name: deploy }\n    - service: { name: nginx, state: started, enabled: true }\n    - service: { name: nginx, state: restarted }\n",
    );
    p.recon(&["check", "site.yml"]).expect_code(0);
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}/d\", mode: \"0750\" }\n    - file: { path: \"{{ root }}/d/f\", content: x }\n    - directory: { path: \"{{ root }}/d\" }\n",
    );
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(crate::harness::mode(&p.host("d")), 0o750);
    assert_eq!(p.read_host("d/f"), "x");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes");
}

#[test]
fn unknown_after_target() {
    refused(
        "- hosts: all\n  tasks:\n    - name: a\n      command: \"true\"\n      after: [b]\n",
        &[],
        "`after` names unknown task `b`",
        "site.yml:5:15",
    );
}

#[test]
fn relative_paths_are_refused() {
    refused(
        "- hosts: all\n  tasks:\n    - directory: { path: relative/dir }\n",
        &[],
        "must be absolute",
        "site.yml:3:26",
    );
}

#[test]
fn unknown_role() {
    refused(
        "- hosts: all\n  roles: [nginx_stie]\n",
        &[("roles/nginx_site/tasks.yml", "[]\n")],
        "role `nginx_stie` not found",
        "site.yml:2:11",
    );
}

#[test]
fn an_error_on_one_host_stops_every_host() {
    let p = Project::new();
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  vars: {{ ansible_connection: local }}\n  hosts:\n    good: {{ root: {r}/good, name: ok }}\n    bad: {{ root: {r}/bad }}\n",
            r = p.host_root().display()
        ),
    )
    .file("site.yml", "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}/{{ name }}\" }\n");
    p.recon(&["apply", "site.yml"])
        .expect_code(1)
        .stderr_has("undefined variable `name`")
        .stderr_has("for host `bad`");
    assert!(
        !p.host_root().exists(),
        "the good host was not touched either"
    );
}
