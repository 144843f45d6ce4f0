//! Load-time validation that does not depend on any host or any run: duplicate handler names and
//! unknown filters/tests anywhere, even where nothing renders them.

use crate::harness::Project;

#[test]
fn duplicate_handler_names_are_an_error_naming_both() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  roles: [web]\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n      notify: restart\n  handlers:\n    - name: restart\n      command: \"true\"\n",
    )
    .file("roles/web/tasks.yml", "- directory: { path: \"{{ root }}/w\" }\n")
    .file("roles/web/handlers.yml", "- name: restart\n  command: \"false\"\n");
    let run = p.recon(&["check", "site.yml"]);
    run.expect_code(1)
        .stderr_has("two handlers are named `restart` in play `all`")
        .stderr_has("site.yml:7:")
        .stderr_has("handler `restart` is first defined here")
        .stderr_has("handlers.yml:1:");
}

#[test]
fn a_role_used_twice_does_not_duplicate_its_handlers() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  roles: [web, { role: web, x: 1 }]\n",
    )
    .file("roles/web/defaults.yml", "x: 0\n")
    .file(
        "roles/web/tasks.yml",
        "- directory: { path: \"{{ root }}{{ x }}\" }\n  notify: restart\n",
    )
    .file(
        "roles/web/handlers.yml",
        "- name: restart\n  command: \"true\"\n",
    );
    p.recon(&["check", "site.yml"]).expect_code(0);
}

#[test]
fn unknown_filter_in_an_unused_variable_fails_check_located() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  vars:\n    unused: \"{{ root | uper }}\"\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n",
    );
    let run = p.recon(&["check", "site.yml"]);
    run.expect_code(1)
        .stderr_has("unknown filter `uper`")
        .stderr_has("site.yml:3:")
        .stderr_has("did you mean `upper`?");
}

#[test]
fn unknown_test_in_an_untaken_template_branch_fails_check_in_the_template_file() {
    let p = Project::new();
    p.file("site.yml", "- hosts: all\n  roles: [web]\n")
        .file(
            "roles/web/tasks.yml",
            "- template: { src: a.j2, dest: \"{{ root }}/a\" }\n  when: root is defined\n",
        )
        .file(
            "roles/web/templates/a.j2",
            "ok\n{% if false %}\n{% if root is definedd %}x{% endif %}\n{% endif %}\n",
        );
    let run = p.recon(&["check", "site.yml"]);
    run.expect_code(1)
        .stderr_has("unknown test `definedd`")
        .stderr_has("a.j2:3:");
}

#[test]
fn unknown_filter_in_a_when_condition_fails_check() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n      when: false and (root | lenght) > 0\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("unknown filter `lenght`")
        .stderr_has("did you mean `length`?");
}

/// A task with nothing to manage (no package name, no unit) still has its arguments checked:
/// an unknown key is a located error, with a suggestion when one is near, in `check` and `plan`.
#[test]
fn a_task_with_nothing_to_manage_still_has_its_arguments_checked() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - package: { zzbogus: 1 }\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("unknown key `zzbogus` in `package`")
        .stderr_has("site.yml:3:18");
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stderr_has("unknown key `zzbogus`");
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - apt: { update_cache: true, cache_valid_tme: 60 }\n    - service: { daemon_reload: true, enabeld: true }\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("unknown key `cache_valid_tme` in `package`")
        .stderr_has("did you mean `cache_valid_time`?");
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - apt: { update_cache: true }\n    - service: { daemon_reload: true, enabeld: true }\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("unknown key `enabeld` in `service`")
        .stderr_has("did you mean `enabled`?");
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - apt: { update_cache: true }\n    - service: { daemon_reload: true }\n",
    );
    p.recon(&["check", "site.yml"]).expect_code(0);
}
