//! `recon check` contacts no host, so a host's facts are stand-ins there: a vars file named
//! after facts (`include_vars: "{{ ansible_os_family }}.yml"`, `with_first_found`) is chosen
//! per host, so every file it can pick is loaded and checked (a note says so) and the tasks
//! after it are checked with its variables standing in, never as "undefined"; a task that
//! reads a fact still has every literal argument checked. The host is a TEST-NET address:
//! nothing connects to it.

use crate::harness::Project;

/// A project whose only host is never contacted (facts unknown), with `vars/Debian.yml` and
/// `vars/RedHat.yml` defining `web_package`, and `vars/common.conf` that no `.yml` name matches.
fn project(tasks: &str) -> Project {
    let p = Project::new();
    p.file(
        "inventory/hosts.yml",
        "all:\n  hosts:\n    web1: { ansible_host: 192.0.2.10, ansible_user: deploy, root: /srv }\n",
    )
    .file("vars/Debian.yml", "web_package: nginx\n")
    .file("vars/RedHat.yml", "web_package: httpd\nredhat_only: yes\n")
    .file("vars/common.conf", "not: [vars\n")
    .file("site.yml", &format!("- hosts: all\n  tasks:\n{tasks}"));
    p
}

const USES_IT: &str =
    "    - copy: { dest: \"{{ root }}/{{ web_package }}.conf\", content: \"{{ redhat_only }}\" }\n";

#[test]
fn a_fact_named_vars_file_is_checked_in_every_candidate_and_its_variables_are_not_undefined() {
    let p = project(&format!(
        "    - include_vars: \"{{{{ ansible_os_family }}}}.yml\"\n{USES_IT}"
    ));
    let run = p.recon(&["check", "site.yml"]);
    run.expect_code(0)
        .stdout_has("1 play, 1 task compiled for 1 host")
        .stderr_has("site.yml:3:21: `include_vars` picks its file per host")
        .stderr_has("vars/Debian.yml, vars/RedHat.yml");
    assert!(!run.stderr.contains("common.conf"), "{}", run.stderr);

    // Every candidate is checked: a broken one is an error, located in it.
    p.file("vars/Suse.yml", "web_package: [apache2\n");
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("Suse.yml:");
    std::fs::remove_file(p.dir().join("vars/Suse.yml")).expect("rm");

    // A variable no candidate defines is still undefined.
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - include_vars: \"{{ ansible_os_family }}.yml\"\n    - copy: { dest: \"{{ root }}/x\", content: \"{{ no_such_thing }}\" }\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("undefined variable `no_such_thing`")
        .stderr_has("site.yml:4:");

    // A name no file can match fails every host: an error, not a note.
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - include_vars: \"os/{{ ansible_os_family }}.yml\"\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("no vars file can match `os/*.yml`")
        .stderr_has("site.yml:3:");
}

#[test]
fn with_first_found_over_fact_named_files_checks_the_tasks_after_it() {
    let p = project(&format!(
        "    - include_vars: \"{{{{ item }}}}\"\n      with_first_found:\n        - \"{{{{ ansible_distribution }}}}-{{{{ ansible_distribution_major_version }}}}.yml\"\n        - \"{{{{ ansible_os_family }}}}.yml\"\n        - default.yml\n{USES_IT}"
    ));
    p.recon(&["check", "site.yml"])
        .expect_code(0)
        .stdout_has("1 task compiled")
        .stderr_has("picks its file per host")
        .stderr_has("vars/RedHat.yml");
}

#[test]
fn tasks_that_read_facts_still_have_every_literal_argument_checked() {
    for (task, message) in [
        (
            "    - copy: { dest: \"{{ root }}/{{ ansible_hostname }}\", content: x, mode: wrong }\n",
            "`mode` must be an octal mode",
        ),
        (
            "    - copy: { dest: \"{{ root }}/{{ ansible_fqdn }}\", content: x, bogus: 1 }\n",
            "unknown key `bogus`",
        ),
        (
            "    - include_vars: \"{{ ansible_os_family }}.yml\"\n    - copy: { dest: \"{{ root }}/{{ web_package }}\", content: x, owner: root, bogsu: 1 }\n",
            "unknown key `bogsu`",
        ),
    ] {
        project(task)
            .recon(&["check", "site.yml"])
            .expect_code(1)
            .stderr_has(message);
    }
    // Facts whose names start like connection settings are facts, not undefined variables.
    project("    - copy: { dest: \"{{ root }}/{{ ansible_hostname }}\", content: \"{{ ansible_user_id }} {{ ansible_host }}\" }\n")
        .recon(&["check", "site.yml"])
        .expect_code(0);
}

/// In a role, a fact-named vars file is searched in `vars/` and then beside the tasks: task
/// files there match the name's pattern too, but only a fact named like one could pick it, so
/// it is skipped (not reported as a broken vars file). A broken file in `vars/` still is.
#[test]
fn a_roles_task_files_are_not_taken_for_its_fact_named_vars_files() {
    let p = project("");
    p.file(
        "roles/web/tasks/main.yml",
        "- include_vars: \"{{ ansible_os_family }}.yml\"\n- include_tasks: setup.yml\n",
    )
    .file(
        "roles/web/tasks/setup.yml",
        "- copy: { dest: \"{{ root }}/{{ web_package }}.conf\", content: x }\n",
    )
    .file("roles/web/vars/Debian.yml", "web_package: nginx\n")
    .file("site.yml", "- hosts: all\n  roles: [web]\n");
    let run = p.recon(&["check", "site.yml"]);
    run.expect_code(0)
        .stderr_has("checked every file it can pick: roles/web/vars/Debian.yml");
    assert!(!run.stderr.contains("setup.yml"), "{}", run.stderr);

    p.file("roles/web/vars/Suse.yml", "- not vars\n");
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("a vars file must be a mapping of variables")
        .stderr_has("Suse.yml:");
}

/// The shape of many public roles (geerlingguy.postgresql's `variables.yml`): vars files picked
/// under a `when` that reads a fact, named with a method of one, then `set_fact`s copying their
/// variables, an OS guard that `fail`s, and paths built from what was set. `recon check` cannot
/// decide those `when`s: it loads what the include may load, the facts set from stand-ins
/// stand in, the guard fails nothing; a real error after them is still found.
#[test]
fn includes_and_guards_under_a_when_that_reads_a_fact_stand_in_and_fail_nothing() {
    let p = project(
        r#"    - name: unsupported
      fail: { msg: "Debian or RedHat only" }
      when: ansible_facts.os_family not in ['Debian', 'RedHat']
    - assert: { that: "ansible_distribution_major_version | int >= 10" }
      when: ansible_facts.os_family == 'Debian'
    - include_vars: "{{ ansible_facts.os_family }}-{{ ansible_facts.distribution_version.split('.')[0] }}.yml"
      when: ansible_facts.os_family == 'Debian'
    - set_fact: { pg_data: "{{ __pg_data }}", pg_packages: "{{ __pg_packages | list }}" }
      when: pg_data is not defined
    - set_fact: { mounts: "{{ ansible_facts.mounts | map(attribute='mount') | list }}" }
    - set_fact: { mounts: "{{ mounts + ['/run'] }}" }
    - directory: { path: "{{ pg_data }}", mode: "0700" }
    - file: { path: "{{ root }}/x", content: "{{ pg_packages | join(',') }}" }
"#,
    );
    p.file(
        "vars/Debian-12.yml",
        "__pg_data: /var/lib/postgresql/15/main\n__pg_packages: [postgresql]\n",
    );
    let run = p.recon(&["check", "site.yml"]);
    run.expect_code(0).stdout_has("is valid");
    assert!(run.stderr.contains("vars/Debian-12.yml"), "{}", run.stderr);

    // A literal mistake after them is still an error.
    let site = std::fs::read_to_string(p.dir().join("site.yml")).expect("read");
    p.file(
        "site.yml",
        &site.replace("mode: \"0700\"", "mode: \"0700\", bogus: 1"),
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("unknown key `bogus`");
}

/// An include whose `when` reads a fact may not run on a host: its tasks are compiled (what
/// they set stands in for the tasks after), and nothing in them fails `recon check`, which
/// cannot know whether a branch for another system runs.
#[test]
fn an_include_under_an_undecided_when_sets_what_it_sets_and_fails_nothing() {
    let p = project(
        "    - include_tasks: setup.yml\n      when: ansible_os_family == 'Debian'\n    - file: { path: \"{{ root }}/{{ made_by_setup }}\", content: x }\n",
    );
    p.file(
        "setup.yml",
        "- set_fact: { made_by_setup: conf }\n- fail: { msg: never here }\n  when: true\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(0)
        .stdout_has("is valid");
}

/// geerlingguy.php's shape: a list from a fact-picked vars file grows by `+`, and a template
/// is written into each folder of another such list. `recon check` cannot know either list:
/// adding to one is no error, and the loop over one has its items only on the host.
#[test]
fn lists_from_fact_picked_vars_files_grow_and_loop_without_errors() {
    let p = project(
        r#"    - include_vars: "{{ ansible_os_family }}.yml"
    - set_fact: { conf_paths: "{{ __conf_paths }}" }
    - set_fact: { packages: "{{ __packages + ['php-json'] }}" }
    - file: { path: "{{ item }}/php.ini", content: x }
      with_items: "{{ conf_paths }}"
    - file: { path: "{{ root }}/packages", content: "{{ packages | join(',') }}" }
"#,
    );
    p.file(
        "vars/Debian.yml",
        "web_package: nginx\n__conf_paths: [/etc/php/fpm]\n__packages: [php]\n",
    );
    p.file(
        "vars/RedHat.yml",
        "web_package: httpd\n__conf_paths: [/etc]\n__packages: [php]\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(0)
        .stdout_has("is valid");
}

/// Two public roles as published (`tests/fixtures/public_roles/`: geerlingguy's `postgresql`
/// and `php`), whose variables come from vars files picked by facts, copied by `set_fact`s
/// under `when`s that read facts, grown by `+`, looped over: `recon check` of a play using
/// them is clean on a host it does not contact. Before, it reported 14 errors for `postgresql`
/// and 4 for `php`, none of them real.
#[test]
fn public_roles_that_pick_their_variables_by_facts_check_clean() {
    let p = crate::harness::Project::new();
    let roles =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/public_roles/roles");
    for role in ["geerlingguy.postgresql", "geerlingguy.php"] {
        crate::harness::copy_tree(&roles.join(role), &p.dir().join("roles").join(role));
    }
    p.file(
        "inventory/hosts.yml",
        "all:\n  hosts:\n    db1: { ansible_host: 192.0.2.10, ansible_user: deploy }\n",
    )
    .file(
        "site.yml",
        "- hosts: all\n  become: true\n  roles:\n    - geerlingguy.postgresql\n    - geerlingguy.php\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(0)
        .stdout_has("site.yml is valid");
}
