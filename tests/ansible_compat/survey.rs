//! The classes of failure that public roles and playbooks hit (found by loading real ones; see
//! the branch's report), each in content written for the test in the shape it takes there: an
//! OS-dispatching role whose other-OS task files use modules recon lacks, `include_vars` with
//! `first_found`, `meta: flush_handlers`, `delegate_to` on `set_fact`, result tests, magic
//! variables, and the filters and lookups such roles use.

use crate::harness::Project;

/// A role shaped like the popular nginx/docker roles: per-OS variables and task files,
/// a RedHat-only handler, helpers that run on the control machine.
fn os_dispatching_role(p: &Project) {
    p.file(
        "roles/web/tasks/main.yml",
        r#"- name: Load OS-specific vars.
  include_vars: "{{ lookup('first_found', params) }}"
  vars:
    params:
      files: ['{{ ansible_facts.distribution }}.yml', '{{ ansible_facts.os_family }}.yml', main.yml]
      paths: [vars]
- include_tasks: setup-RedHat.yml
  when: ansible_os_family == 'RedHat'
- include_tasks: setup-Suse.yml
  when: ansible_os_family == 'Suse'
- include_tasks: setup-Debian.yml
  when: ansible_os_family == 'Debian'
- name: Release version, once, on the control machine.
  set_fact:
    release: "{{ lookup('pipe', 'echo 20240101') }}"
  run_once: true
  delegate_to: localhost
- name: Report home.
  uri: url=http://stats.example.test
  delegate_to: 127.0.0.1
  when: send_stats | default(false)
- name: Flush.
  ansible.builtin.meta: flush_handlers
- name: Site config.
  template: src=templates/site.conf.j2 dest={{ root }}/site.conf mode=0644
  notify: reload web
- name: Per-user folders.
  file: path={{ root }}/users/{{ item.0.name }}-{{ item.1 }} state=directory
  with_subelements:
    - "{{ web_users }}"
    - sites
- name: Numbered workers.
  copy: dest={{ root }}/workers/{{ item }} content={{ item }}
  with_sequence: start=1 end=2 format=w%02d
- name: Only after a change elsewhere.
  file: path={{ root }}/never state=directory
  when: nothing_registered is defined and nothing_registered is changed
"#,
    )
    .file(
        "roles/web/tasks/setup-Debian.yml",
        "- file: path={{ root }}/users state=directory\n- file: path={{ root }}/workers state=directory\n",
    )
    // A RedHat-only file with modules recon has no resource for: skipped, never an error.
    .file(
        "roles/web/tasks/setup-RedHat.yml",
        "- yum: name=httpd state=present\n- zypper_repository: name=x repo=http://x\n  notify: lock web package\n",
    )
    .file("roles/web/vars/Debian.yml", "web_group: www-data\n")
    .file(
        "roles/web/defaults/main.yml",
        "web_users: [{name: ann, sites: [a, b]}]\nweb_extra: [b, c]\n",
    )
    .file(
        "roles/web/handlers/main.yml",
        "- name: reload web\n  command: 'true'\n- name: lock web package\n  command: yum versionlock {{ web_package_only_on_redhat }}\n",
    )
    .file(
        "roles/web/templates/site.conf.j2",
        "{{ ansible_managed | comment }}\nrole={{ role_name }} group={{ web_group }} release={{ release }}\n\
groups={{ group_names | join(',') }} play={{ ansible_play_hosts | join(',') }}\n\
modern={{ ansible_version.full is ansible.builtin.version('2.12', '>=') }}\n\
sites={{ ['a', 'b'] | union(web_extra) | join(',') }} rel={{ '/srv/app/releases/1' | relpath('/srv/app') }}\n\
minute={{ 60 | random(seed=inventory_hostname) is number }} esc={{ 'a.b' | regex_escape }}\n",
    );
}

#[test]
fn os_dispatching_roles_load_plan_and_converge() {
    let p = Project::new();
    os_dispatching_role(&p);
    p.file("site.yml", "- hosts: all\n  roles: [web]\n");
    std::fs::create_dir_all(p.host_root()).expect("root");
    p.recon(&["check", "site.yml"]).expect_code(0);
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let conf = p.read_host("site.conf");
    assert!(conf.starts_with("#\n# Ansible managed\n#\n"), "{conf}");
    assert!(
        conf.contains("role=web group=www-data release=20240101\n"),
        "{conf}"
    );
    assert!(conf.contains("groups=ungrouped play=box\n"), "{conf}");
    assert!(conf.contains("modern=True\n"), "{conf}");
    assert!(conf.contains("sites=a,b,c rel=releases/1\n"), "{conf}");
    assert!(conf.contains("minute=True esc=a\\.b\n"), "{conf}");
    assert!(p.host("users/ann-a").is_dir() && p.host("users/ann-b").is_dir());
    assert_eq!(p.read_host("workers/w02"), "w02");
    assert!(!p.host("never").exists());
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
}

#[test]
fn what_recon_cannot_do_is_an_error_only_where_the_task_runs() {
    let p = Project::new();
    os_dispatching_role(&p);
    // The same role on a host that says it is RedHat: now its tasks run, and each is an error.
    p.file(
        "site.yml",
        "- hosts: all\n  gather_facts: false\n  vars:\n    ansible_os_family: RedHat\n    ansible_facts: {distribution: Fedora, os_family: RedHat}\n    send_stats: true\n  roles: [web]\n",
    )
    .file("roles/web/vars/RedHat.yml", "web_group: apache\n");
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("Ansible module `yum` has no recon resource yet")
        .stderr_has("unknown resource type `zypper_repository`");
    // Unconditional, the same things are load errors, as before.
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - pkgng: name=nginx\n    - uri: url=http://x\n      delegate_to: localhost\n    - include_tasks: nowhere.yml\n    - debug: msg={{ item }}\n      with_random_choice: [a, b]\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("unknown loop `with_random_choice`: recon has no lookup `random_choice`")
        .stderr_has("unknown resource type `pkgng`")
        .stderr_has("task file `nowhere.yml` not found");
    p.file(
        "site.yml",
        "- hosts: all\n  vars: {svc: postgres, admin: root}\n  tasks:\n    - meta: end_play\n      when: true\n    - debug: msg={{ [1, 2] | random }}\n    - command: 'true'\n      become: true\n      become_user: '{{ admin }}'\n    - block:\n        - command: 'true'\n      become: true\n      become_user: '{{ svc }} x'\n",
    );
    p.recon(&["check", "site.yml"])
        .expect_code(1)
        .stderr_has("3 errors")
        .stderr_has("`become_user: postgres x` is not a user name")
        .stderr_has("`meta: end_play` is not supported")
        .stderr_has("`random` without `seed=` would change on every run");
}

/// Play-level shapes of public playbooks: `hosts:` from `-e`, `vars_files` named by a fact or
/// given as a first-found list, play `no_log`, and `import_playbook` with `when`, `vars`, `tags`.
#[test]
fn play_level_keywords_of_public_playbooks_are_honoured() {
    let p = Project::new();
    p.file(
        "site.yml",
        r#"- hosts: "{{ target | default('nowhere') }}"
  no_log: true
  ignore_errors: false
  vars_files:
    - "vars/{{ ansible_os_family }}.yml"
    - ["vars/{{ ansible_distribution }}-missing.yml", vars/default.yml]
  tasks:
    - copy: dest={{ root }}/family content="{{ family }} {{ fallback }}"
- import_playbook: other.yml
  when: false
- import_playbook: other.yml
  vars: {who: imported}
  tags: [other]
"#,
    )
    .file("vars/Debian.yml", "family: debian\n")
    .file("vars/default.yml", "fallback: default\n")
    .file(
        "other.yml",
        "- hosts: all\n  tasks:\n    - copy: dest={{ root }}/{{ who }}-{{ inventory_hostname }} content=x\n",
    );
    std::fs::create_dir_all(p.host_root()).expect("root");
    // A play whose pattern matches no host is skipped with Ansible's warning.
    p.recon(&["check", "site.yml"])
        .expect_code(0)
        .stderr_has("Could not match supplied host pattern, ignoring: nowhere");
    let first = p.recon(&["plan", "site.yml", "-e", "target=all"]);
    first.expect_code(0).stdout_has("/family");
    assert!(
        !first.stdout.contains("debian default"),
        "play no_log hides content: {}",
        first.stdout
    );
    p.recon(&[
        "apply",
        "site.yml",
        "-e",
        "target=all",
        "--skip-tags",
        "other",
    ])
    .expect_code(0);
    assert_eq!(p.read_host("family"), "debian default");
    assert!(!p.host("imported-box").exists(), "--skip-tags other");
    p.recon(&["plan", "site.yml", "-e", "target=all"])
        .expect_code(0)
        .stdout_has("imported-box");
}
