//! Ansible content as real projects write it (roles with handlers, includes, blocks, `with_*`
//! loops, free-form arguments, `ansible.builtin.` names, filters, merge keys): each project under
//! this folder passes `recon check` and `recon plan` on a local inventory, and applying it
//! converges. Errors in Ansible-shaped content are located and all reported at once.

use std::path::Path;

use crate::harness::{copy_tree, Project};

mod fetch;
mod fetch_side_by_side;
mod hostile;
mod registered;
pub(crate) mod side_by_side;
mod side_by_side_blocks;
mod side_by_side_delegate;
mod side_by_side_registered;
mod side_by_side_templates;
mod survey;

/// A project from `tests/ansible_compat/NAME`, with the harness's one-host local inventory.
fn project(name: &str) -> Project {
    let p = Project::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ansible_compat")
        .join(name);
    copy_tree(&src, p.dir());
    p
}

/// check, plan, apply, then a plan with nothing left to do.
fn checks_plans_and_converges(p: &Project, tasks: &str) {
    p.recon(&["check", "site.yml"])
        .expect_code(0)
        .stdout_has(tasks);
    p.recon(&["plan", "site.yml"]).expect_code(0);
    p.recon(&["apply", "site.yml"]).expect_code(0);
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
}

#[test]
fn flask_nginx_supervisor_roles_check_plan_and_apply() {
    let p = project("flask");
    p.recon(&["check", "site.yml"])
        .expect_code(0)
        .stdout_has("1 play, 19 tasks compiled for 1 host");
    let plan = p.recon(&["plan", "site.yml"]);
    plan.expect_code(0)
        // include_tasks + with_items (a nested list flattened one level)
        .stdout_has("+ directory ")
        .stdout_has("/srv/hello/releases/1.4.2\n")
        // free-form `file: src=... dest=... state=link` inside a block
        .stdout_has("/srv/hello/current -> ")
        // merge keys in role defaults, to_json and hash in a template
        .stdout_has(r#"+ENV = {"FLASK_APP": "hello", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}"#)
        // with_dict + loop_control.loop_var, role parameters
        .stdout_has("+    server_name hello.example.test;")
        .stdout_has("+    listen 8080;")
        // `file: state=absent` on nothing: converged, not planned
        .stdout_has("# handler `reload nginx` will run");
    // Both roles depend on `base` (meta/main.yml): its task runs once, before them.
    assert_eq!(
        plan.stdout.matches("# Base folder").count(),
        1,
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("000-default"), "{}", plan.stdout);
    assert!(
        !plan.stdout.contains("python3-venv"),
        "apt skipped by `when`"
    );
}

#[test]
fn lamp_playbooks_with_import_playbook_and_include_role_converge() {
    let p = project("lamp");
    checks_plans_and_converges(&p, "2 plays, 14 tasks compiled for 2 hosts");
    assert_eq!(
        p.read_host("etc/httpd/conf.d/security.conf"),
        "ServerTokens Prod\n",
        "with_fileglob copies into a dest ending in /"
    );
    assert!(p
        .read_host("etc/httpd/conf/httpd.conf")
        .contains("Listen 8081"));
    assert!(
        p.read_host("etc/mysql/my.cnf").contains("# user foouser"),
        "merge key in vars file"
    );
    assert_eq!(
        p.read_host("var/www/motd"),
        "web tier on box\n",
        "import_role tasks_from"
    );
}

#[test]
fn compose_and_capistrano_roles_converge() {
    let p = project("deploy");
    checks_plans_and_converges(&p, "1 play, 16 tasks compiled for 1 host");
    let current = std::fs::read_link(p.host("apps/shop/current")).expect("current link");
    assert!(current.ends_with("releases/20240101120000"), "{current:?}");
    let pids = std::fs::read_link(p.host("apps/shop/releases/20240101120000/pids")).expect("link");
    assert!(pids.ends_with("shared/tmp/pids"), "{pids:?}");
    assert_eq!(
        p.read_host("apps/shop/shared/htpasswd"),
        "deploy:$6$fixedsalt$v0IJiGfEKobkSChEYo6agux38/MtevB92EANgSjUGeHsflOmY.BaY2XGWiq2Qx8.kZP75oTUQ0QCJ7/jQWknW1\n",
        "glibc crypt's answer"
    );
    assert_eq!(
        crate::harness::mode(&p.host("apps/shop/shared/htpasswd")),
        0o600
    );
    let compose = p.read_host("compose/shop/docker-compose.yml");
    assert!(
        compose.contains("    image: local/busybox:1\n"),
        "{compose}"
    );
}

#[test]
fn every_error_is_reported_at_once_and_modules_recon_lacks_name_the_nearest() {
    let p = Project::new();
    p.file(
        "site.yml",
        r"- hosts: all
  tasks:
    - name: unknown module
      ansible.builtin.frobnicate: x=1
    - name: a package
      apt: name=nginx state=present
    - name: undefined
      file: path={{ root }}/{{ nope }} state=directory
    - name: fine
      file: path={{ root }} state=directory
",
    );
    let run = p.recon(&["check", "site.yml"]);
    run.expect_code(1).stderr_has("frobnicate");
    // The load error stops before compile; fix it and the compile errors are all listed.
    p.file(
        "site.yml",
        r"- hosts: all
  tasks:
    - name: a package
      yum: name=nginx state=present
    - name: undefined
      file: path={{ root }}/{{ nope }} state=directory
    - name: an archive
      ansible.builtin.unarchive: src=a.tgz dest=/srv
",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("3 errors")
        .stderr_has("Ansible module `yum` has no recon resource yet")
        .stderr_has("the nearest recon resource is `package`")
        .stderr_has("undefined variable `nope`")
        .stderr_has("`unarchive` of an archive that is not on the host is not supported");
}

#[test]
fn fail_and_assert_stop_the_plan_with_their_message() {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  vars: { port: 80 }
  tasks:
    - assert:
        that: port | int > 1024
        fail_msg: "port {{ port }} is privileged"
"#,
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("port 80 is privileged");
}

#[test]
fn facts_are_gathered_when_a_play_names_one_and_not_with_gather_facts_false() {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - include_vars: "{{ ansible_os_family }}.yml"
    - name: facts
      copy:
        dest: "{{ root }}/facts"
        content: "{{ pkg }} {{ ansible_facts.architecture }} {{ ansible_user_id }}\n"
      when: ansible_facts['os_family'] == 'Debian'
"#,
    )
    .file("vars/Debian.yml", "pkg: apt\n");
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.recon(&["check", "site.yml"]).expect_code(0);
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let user = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .expect("id")
            .stdout,
    )
    .expect("utf-8");
    assert_eq!(
        p.read_host("facts"),
        format!("apt {} {}\n", std::env::consts::ARCH, user.trim())
    );
    let no_facts = std::fs::read_to_string(p.dir().join("site.yml"))
        .expect("read")
        .replace("- hosts: all\n", "- hosts: all\n  gather_facts: false\n");
    p.file("site.yml", &no_facts);
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("undefined variable `ansible_os_family`");
}

/// The system modules map onto recon's `package`, `service`, `user`, `group`,
/// `authorized_key`, `cron`, `git`, `docker_compose` and `firewall` with Ansible's argument
/// names, aliases and free-form arguments; what recon cannot honour is a located error.
#[test]
fn system_modules_map_onto_recon_resources() {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: all
  become: true
  tasks:
    - apt: name=nginx,curl state=installed update_cache=yes cache_valid_time=3600
    - ansible.builtin.package: { name: [git], state: latest }
    - apt: update_cache=yes
    - systemd: name=nginx state=started enabled=yes daemon_reload=yes
    - ansible.builtin.service: { name: cron, enabled: true }
    - group: name=deploy gid=2001
    - user: name=deploy group=deploy groups=adm,www-data append=yes shell=/bin/bash createhome=yes comment="Deploy"
    - authorized_key: { user: deploy, key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx5b3ZlbHkga2V5IGZvciB0ZXN0cw== a@b", manage_dir: true }
    - cron: name=backup minute=0 hour=3 job="/usr/local/bin/backup" user=deploy
    - git: repo=https://example.test/app.git dest=/srv/app version=v1.2.0 accept_hostkey=yes
    - community.general.ufw: rule=allow port=443 proto=tcp from_ip=10.0.0.0/8
    - ufw: { rule: allow, name: OpenSSH }
    - community.docker.docker_compose: { project_src: /srv/app, state: present, nocache: true }
"#,
    );
    p.recon(&["check", "site.yml"])
        .expect_code(0)
        .stdout_has("1 play, 12 tasks compiled for 1 host");
    p.file(
        "site.yml",
        r"- hosts: all
  tasks:
    - user: name=deploy password=$6$salt$hash update_password=sometimes
",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("`update_password` must be `always` or `on_create`, not `sometimes`");
}

/// `lineinfile validate` runs on the candidate file before it replaces the live one: a refused
/// edit leaves the file as it was and fails the task; an accepted one is written.
#[test]
fn lineinfile_validate_checks_the_candidate_before_the_rename() {
    let p = Project::new();
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.file(
        "site.yml",
        r#"- hosts: all
  tasks:
    - lineinfile: { path: "{{ root }}/conf", line: "{{ line }}", validate: "! grep -q bad %s" }
"#,
    );
    std::fs::write(p.host("conf"), "good\n").expect("conf");
    let refused = p.recon(&["apply", "site.yml", "-e", "line=bad"]);
    refused.expect_code(1);
    assert!(
        format!("{}{}", refused.stdout, refused.stderr).contains("validation failed"),
        "{}{}",
        refused.stdout,
        refused.stderr
    );
    assert_eq!(p.read_host("conf"), "good\n");
    p.recon(&["apply", "site.yml", "-e", "line=fine"])
        .expect_code(0);
    assert_eq!(p.read_host("conf"), "good\nfine\n");
}

/// Roles are found where Ansible finds them: `ansible-galaxy install` puts them in
/// `~/.ansible/roles` (the default `roles_path`), and a role can be named by its path from the
/// playbook's folder (`vendor/hardening`, its name the folder's). An unknown role is an error.
#[test]
fn roles_are_found_in_the_galaxy_folder_and_by_their_path() {
    let p = Project::new();
    p.file("inventory.yml", "all:\n  hosts:\n    box: { ansible_connection: local }\n")
        .file(
            ".ansible/roles/geerlingguy.motd/tasks/main.yml",
            "- debug: { msg: from galaxy }\n",
        )
        .file(
            "vendor/hardening/tasks/main.yml",
            "- debug: { msg: \"{{ role_name }}\" }\n",
        )
        .file(
            "site.yml",
            "- hosts: all\n  gather_facts: false\n  roles:\n    - geerlingguy.motd\n    - vendor/hardening\n",
        );
    p.recon(&["check", "site.yml", "-i", "inventory.yml"])
        .expect_code(0)
        .stdout_has("is valid");
    p.file(
        "site.yml",
        "- hosts: all\n  gather_facts: false\n  roles:\n    - vendor/nothing\n",
    );
    p.recon(&["check", "site.yml", "-i", "inventory.yml"])
        .expect_code(1)
        .stderr_has("role `vendor/nothing` not found");
}
