//! `recon check`, `recon graph`, `recon inventory`, roles and variable precedence.

use crate::harness::Project;

#[test]
fn check_validates_without_touching_hosts() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(0)
        .stdout_has("site.yml is valid: 1 play, 1 task compiled for 1 host.");
    assert!(!p.host_root().exists());
}

#[test]
fn graph_prints_dot_with_implicit_and_notify_edges() {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - file: { path: "{{ root }}/d/f", content: x }
      notify: h
    - directory: { path: "{{ root }}/d" }
  handlers:
    - name: h
      command: "true"
"#,
    );
    let run = p.recon(&["graph", "site.yml", "--host", "box"]);
    run.expect_code(0)
        .stdout_has("digraph")
        .stdout_has("t0 -> t1 [label=\"path\"];")
        .stdout_has("t1 -> h0 [style=dashed, label=\"notify\"];");
    assert!(
        run.stdout.contains("0. directory"),
        "the directory sorts before the file inside it:\n{}",
        run.stdout
    );
}

#[test]
fn inventory_lists_groups_hosts_and_resolved_vars_with_precedence() {
    let p = Project::new();
    p.file(
        "inventory/hosts.yml",
        "all:\n  vars:\n    level: all\n    port: 1\n  children:\n    web:\n      vars: { level: web }\n      hosts:\n        web[01:02]:\n          ansible_host: 127.0.0.1\n",
    )
    .file("inventory/group_vars/web.yml", "port: 2\nurl: \"http://{{ ansible_host }}:{{ port }}\"\n")
    .file("inventory/host_vars/web02.yml", "port: 3\n");
    let run = p.recon(&["inventory", "--json"]);
    run.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json["groups"]["web"], serde_json::json!(["web01", "web02"]));
    assert_eq!(json["hosts"]["web01"]["level"], "web");
    assert_eq!(json["hosts"]["web01"]["url"], "http://127.0.0.1:2");
    assert_eq!(json["hosts"]["web02"]["url"], "http://127.0.0.1:3");
    let run = p.recon(&["inventory", "-e", "port=9"]);
    run.expect_code(0)
        .stdout_has("  web01\n")
        .stdout_has("    port: 9\n");
}

#[test]
fn roles_bring_tasks_handlers_defaults_templates_and_params() {
    let p = Project::new();
    p.file(
        "playbooks/site.yml",
        "- hosts: all\n  roles:\n    - { role: site, port: 7 }\n    - site_b\n",
    )
    .file("roles/site/defaults/main.yml", "port: 1\nname: def\n")
    .file(
        "roles/site/tasks/main.yml",
        "- template: { src: s.j2, dest: \"{{ root }}/s\" }\n  notify: done\n",
    )
    .file(
        "roles/site/handlers.yml",
        "- name: done\n  command: \"touch {{ root }}/done\"\n",
    )
    .file("roles/site/templates/s.j2", "{{ name }}:{{ port }}\n")
    .file(
        "roles/site_b/tasks.yml",
        "- directory: { path: \"{{ root }}\" }\n",
    );
    p.recon(&["apply", "playbooks/site.yml"]).expect_code(0);
    assert_eq!(
        p.read_host("s"),
        "def:7\n",
        "role params beat role defaults"
    );
    assert!(p.host("done").exists());
}

#[test]
fn loop_and_when() {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  vars:
    squads: [a, b, c]
  tasks:
    - directory: { path: "{{ root }}" }
    - file: { path: "{{ root }}/{{ item }}", content: "{{ item }}" }
      loop: "{{ squads }}"
      when: item != 'b'
"#,
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.host_listing(), ["a", "c"]);
}

/// `recon completions SHELL` prints a script the shell accepts; `recon man` prints a page `man`
/// renders, and `--dir` writes one page per subcommand.
#[test]
fn completions_and_man_pages_come_from_the_cli_definition() {
    let p = crate::harness::Project::new();
    let bash = p.recon(&["completions", "bash"]);
    bash.expect_code(0).stdout_has("_recon()");
    let path = p.dir().join("recon.bash");
    std::fs::write(&path, &bash.stdout).expect("write");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p recon", path.display()))
        .output()
        .expect("bash");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("-F _recon recon"),
        "{out:?}"
    );
    p.recon(&["completions", "zsh"])
        .expect_code(0)
        .stdout_has("#compdef recon");
    p.recon(&["completions", "fish"])
        .expect_code(0)
        .stdout_has("complete -c recon");
    p.recon(&["man"])
        .expect_code(0)
        .stdout_has(".TH recon 1")
        .stdout_has("recon\\-plan(1)");
    let dir = p.dir().join("man1");
    p.recon(&["man", "--dir", dir.to_str().expect("utf-8")])
        .expect_code(0);
    let plan = std::fs::read_to_string(dir.join("recon-plan.1")).expect("recon-plan.1");
    assert!(plan.contains("\\-\\-detailed\\-exitcode"), "{plan}");
}

/// `shell` with `executable: /bin/bash` runs the line as `/bin/bash -c LINE`, as Ansible does
/// (roles use it for `set -o pipefail`), with its guards; `/bin/sh` stays recon's own `sh`.
#[test]
fn shell_with_an_executable_runs_the_line_with_it() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - shell: "set -o pipefail; echo ${BASH_VERSION:+bash} | tr a-z A-Z > {{ root }}/out"
      args: { executable: /bin/bash, creates: "{{ root }}/out" }
    - ansible.builtin.shell: { cmd: "echo $0 > {{ root }}/which", executable: /bin/sh }
"#,
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("command /bin/bash -c \"set -o pipefail;");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("out"), "BASH\n");
    assert_ne!(p.read_host("which").trim(), "/bin/bash", "sh stays sh");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("1 to run");
}

/// `environment:` on the play, a block and the task reaches a command's variables, as in
/// Ansible: a later mapping wins per name, and values are templated per host.
#[test]
fn environment_on_play_block_and_task_reaches_the_command() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.file(
        "site.yml",
        r#"- hosts: all
  environment: { STAGE: play, PROXY: "http://proxy:3128", ROOT: "{{ root }}" }
  tasks:
    - block:
        - shell: 'echo "$STAGE $PROXY $LEVEL" > "$ROOT/out"'
          environment: { STAGE: task }
      environment: { LEVEL: block, STAGE: block }
    - command: 'sh -c "echo $STAGE > $ROOT/plain"'
"#,
    );
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(p.read_host("out"), "task http://proxy:3128 block\n");
    assert_eq!(p.read_host("plain"), "play\n");
}

/// `sysctl` (and ansible.posix's) keeps a setting in a sysctl file as Ansible rewrites it: one
/// `key=value` line per key, comments kept, duplicates dropped; absent removes it; a re-plan is
/// empty. (`reload: false`: the running kernel is left alone here; tests/nodes_sysctl.rs sets it.)
#[test]
fn sysctl_settings_are_written_as_ansible_writes_them_and_converge() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    std::fs::write(
        p.host("sysctl.conf"),
        "# tuning\nvm.swappiness = 60\nnet.core.somaxconn= 128\nvm.swappiness=10\n",
    )
    .expect("file");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - sysctl: { name: vm.swappiness, value: "5", sysctl_file: "{{ root }}/sysctl.conf", reload: false }
    - ansible.posix.sysctl: { key: net.ipv4.ip_forward, val: "yes", sysctl_file: "{{ root }}/sysctl.conf", reload: false }
    - sysctl: { name: net.core.somaxconn, state: absent, sysctl_file: "{{ root }}/sysctl.conf", reload: false }
"#,
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("+vm.swappiness=5");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(
        p.read_host("sysctl.conf"),
        "# tuning\nvm.swappiness=5\nnet.ipv4.ip_forward=1\n"
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes.");
}

/// `recon doc KIND` prints a resource's declared arguments (type, default, Ansible names);
/// an unknown kind is an error with a suggestion; `recon doc` lists the kinds.
#[test]
fn doc_prints_a_resources_declared_arguments() {
    let p = Project::new();
    p.recon(&["doc", "sysctl"])
        .expect_code(0)
        .stdout_has("  reload (bool; true)\n")
        .stdout_has("Ansible: name, key");
    p.recon(&["doc", "sysclt"])
        .expect_code(1)
        .stderr_has("did you mean `sysctl`?");
    p.recon(&["doc"]).expect_code(0).stdout_has("  wait_for ");
}

/// A value of the wrong type for a declared argument is refused before the resource is built,
/// located at the value and naming the argument and the type.
#[test]
fn a_resource_argument_of_the_wrong_type_is_located() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - sysctl: { name: vm.swappiness, value: 10, reload: [1] }\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("`reload` must be a boolean")
        .stderr_has("site.yml:3:");
}
