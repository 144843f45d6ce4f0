//! The argument declarations against what the kinds took before them: every kind declares
//! exactly the keys its hand-written list held, builds from a minimal task (so every default a
//! builder reads is declared), and a value of the wrong type is a located error naming the
//! argument before the builder runs.

use std::collections::BTreeSet;

use super::registry::KINDS;
use crate::error::Result;
use crate::fields::arg::{names, Groups};
use crate::source::SourceFile;

/// The argument lists each kind had by hand before the declarations, and those of the nested
/// mappings (see `declared`). Frozen: the declarations must keep exactly these names.
const OLD_KEYS: &[(&str, &[&str])] = &[
    ("mark", &["path", "text"]),
    (
        "directory",
        &["path", "mode", "owner", "group", "state", "recurse"],
    ),
    ("attributes", &["path", "kind", "mode", "owner", "group"]),
    (
        "file",
        &[
            "path",
            "content",
            "src",
            "mode",
            "owner",
            "group",
            "validate",
            "check",
            "serialize",
            "state",
        ],
    ),
    (
        "template",
        &[
            "src",
            "dest",
            "mode",
            "owner",
            "group",
            "validate",
            "check",
            "serialize",
        ],
    ),
    ("symlink", &["path", "target", "state"]),
    ("group", &["name", "gid", "system", "state"]),
    (
        "authorized_key",
        &["user", "key", "key_options", "path", "exclusive", "state"],
    ),
    (
        "line",
        &[
            "path",
            "line",
            "regexp",
            "search_string",
            "state",
            "mode",
            "insertafter",
            "insertbefore",
            "firstmatch",
            "backrefs",
            "create",
            "validate",
        ],
    ),
    (
        "block",
        &[
            "path",
            "block",
            "marker",
            "marker_begin",
            "marker_end",
            "insertafter",
            "insertbefore",
            "create",
            "state",
            "mode",
            "owner",
            "group",
            "validate",
            "append_newline",
            "prepend_newline",
        ],
    ),
    (
        "replace",
        &["path", "regexp", "replace", "after", "before", "mode"],
    ),
    (
        "sysctl",
        &[
            "name",
            "value",
            "state",
            "sysctl_file",
            "reload",
            "sysctl_set",
            "ignoreerrors",
        ],
    ),
    (
        "command",
        &[
            "cmd",
            "argv",
            "chdir",
            "env",
            "creates",
            "removes",
            "unless",
            "serialize",
            "stamp",
            "since",
        ],
    ),
    (
        "stat",
        &[
            "path",
            "follow",
            "get_checksum",
            "checksum_algorithm",
            "get_mime",
            "get_attributes",
            "get_md5",
        ],
    ),
    (
        "getent",
        &["database", "key", "split", "fail_key", "service"],
    ),
    (
        "release",
        &[
            "root",
            "version",
            "src",
            "git",
            "url",
            "strip_components",
            "shared",
            "shared_replace",
            "prepare",
            "env",
            "link",
            "activate",
            "keep",
            "force",
        ],
    ),
    (
        "supervisor",
        &[
            "name",
            "conf",
            "ctl",
            "command",
            "directory",
            "user",
            "environment",
            "autostart",
            "autorestart",
            "startsecs",
            "stopsignal",
            "stdout_logfile",
            "stderr_logfile",
            "keep_running",
        ],
    ),
    (
        "http_check",
        &[
            "url", "host", "status", "contains", "timeout", "release", "link", "restart",
            "identity", "direct",
        ],
    ),
    (
        "package",
        &["name", "state", "update_cache", "cache_valid_time"],
    ),
    ("apt_upgrade", &["mode", "update_cache", "cache_valid_time"]),
    (
        "service",
        &[
            "name",
            "state",
            "enabled",
            "masked",
            "daemon_reload",
            "scope",
        ],
    ),
    (
        "cron",
        &[
            "name",
            "job",
            "minute",
            "hour",
            "day",
            "month",
            "weekday",
            "special_time",
            "user",
            "env",
            "disabled",
            "cron_file",
            "state",
        ],
    ),
    (
        "git",
        &[
            "repo",
            "dest",
            "version",
            "key_file",
            "known_hosts",
            "accept_hostkey",
            "force",
            "depth",
        ],
    ),
    (
        "docker_compose",
        &[
            "project_src",
            "files",
            "project_name",
            "pull",
            "remove_orphans",
            "wait",
            "wait_timeout",
            "state",
            "swap",
        ],
    ),
    (
        "firewall",
        &[
            "rule",
            "port",
            "proto",
            "from",
            "to",
            "direction",
            "comment",
            "app",
            "delete",
            "state",
            "policy",
            "logging",
        ],
    ),
    (
        "download",
        &[
            "url",
            "path",
            "checksum",
            "force",
            "headers",
            "timeout",
            "validate_certs",
            "mode",
            "owner",
            "group",
        ],
    ),
    (
        "pip",
        &[
            "name",
            "version",
            "requirements",
            "state",
            "virtualenv",
            "virtualenv_command",
            "virtualenv_python",
            "virtualenv_site_packages",
            "executable",
            "extra_args",
            "chdir",
            "editable",
        ],
    ),
    (
        "unpack",
        &["src", "dest", "creates", "extra_opts", "include", "exclude"],
    ),
    (
        "wait_for",
        &[
            "port",
            "host",
            "path",
            "url",
            "state",
            "search_regex",
            "status",
            "contains",
            "headers",
            "method",
            "follow_redirects",
            "validate_certs",
            "timeout",
            "delay",
            "sleep",
            "connect_timeout",
            "msg",
        ],
    ),
    ("ansible_module", &["module", "args"]),
    (
        "cutover",
        &[
            "root",
            "version",
            "link",
            "slots",
            "upstream",
            "reload",
            "serialize",
            "check",
            "drain",
        ],
    ),
    (
        "user",
        &[
            "name",
            "uid",
            "group",
            "groups",
            "append",
            "shell",
            "home",
            "system",
            "create_home",
            "state",
            "remove",
            "password",
            "update_password",
            "password_lock",
        ],
    ),
    (
        "swap",
        &[
            "service",
            "port",
            "upstream",
            "reload",
            "serialize",
            "check",
            "drain",
        ],
    ),
    (
        "check",
        &["path", "status", "contains", "identity", "timeout"],
    ),
    ("slot", &["name", "port", "start", "stop"]),
    ("release git", &["repo", "ref"]),
];

/// A minimal valid task of each kind. `ansible_module` is left out: building it runs the
/// control machine's Ansible (tests/bridge.rs covers it).
const MINIMAL: &[(&str, &str)] = &[
    ("mark", "{path: /srv/m}"),
    ("directory", "{path: /srv/a}"),
    ("attributes", "{path: /etc/shadow, mode: \"0640\"}"),
    ("file", "{path: /srv/a, content: x}"),
    ("template", "{src: t.j2, dest: /srv/a}"),
    ("symlink", "{path: /srv/l, target: /srv/a}"),
    ("line", "{path: /etc/x, line: a}"),
    ("block", "{path: /etc/x, block: a}"),
    ("replace", "{path: /etc/x, regexp: a}"),
    ("sysctl", "{name: vm.swappiness, value: 10}"),
    ("command", "{cmd: 'true'}"),
    ("stat", "{path: /etc}"),
    ("getent", "{database: passwd}"),
    ("release", "{root: /srv/app, version: v1, src: app.tar}"),
    ("supervisor", "{name: app, conf: /etc/supervisor/conf.d/app.conf, command: /bin/true}"),
    ("cutover", "{root: /srv/app, version: v1, upstream: /etc/nginx/up.conf, reload: 'nginx -s reload', check: {path: /}, slots: [{name: blue, port: 8001, start: a, stop: b}, {name: green, port: 8002, start: a, stop: b}]}"),
    ("http_check", "{url: 'http://127.0.0.1/'}"),
    ("package", "{name: curl}"),
    ("apt_upgrade", "{mode: dist}"),
    ("service", "{name: nginx, state: started}"),
    ("user", "{name: app}"),
    ("authorized_key", "{user: app, key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx5 c'}"),
    ("cron", "{name: nightly, job: 'true'}"),
    ("group", "{name: app}"),
    ("git", "{repo: 'https://example.com/r.git', dest: /srv/r}"),
    ("docker_compose", "{project_src: /srv/app, swap: [{service: web, port: 80, upstream: /etc/nginx/u.conf, reload: 'nginx -s reload'}]}"),
    ("firewall", "{state: enabled}"),
    ("download", "{url: 'https://example.com/x', path: /srv/x}"),
    ("pip", "{name: requests}"),
    ("unpack", "{src: /tmp/a.tar, dest: /srv/a}"),
    ("wait_for", "{port: 80}"),
];

/// The declarations of `kind`, or of a nested mapping: `swap` (a `docker_compose` swap entry),
/// `check` (a front's check), `slot` (a `cutover` slot), `release git` (a release's source).
fn declared(kind: &str) -> Groups {
    match kind {
        "swap" => super::compose_swap::ARGS,
        "check" => super::front::CHECK,
        "slot" => super::cutover::SLOT,
        "release git" => super::release::GIT,
        _ => super::args_of(kind),
    }
}

#[test]
fn every_kind_declares_exactly_its_old_keys() {
    let listed: BTreeSet<&str> = OLD_KEYS.iter().map(|(k, _)| *k).collect();
    for kind in KINDS {
        assert!(
            listed.contains(kind.name),
            "`{}` has no old key list",
            kind.name
        );
    }
    for (kind, old) in OLD_KEYS {
        let now: BTreeSet<&str> = names(declared(kind)).into_iter().collect();
        let before: BTreeSet<&str> = old.iter().copied().collect();
        assert_eq!(now, before, "`{kind}` declares other keys than it took");
    }
}

/// Builds `kind` from `yaml` with role folders in `dir`.
fn build_in(dir: &std::path::Path, kind: &str, yaml: &str) -> Result<super::Compiled> {
    super::testing::build_from_yaml(kind, yaml, Some(dir))
}

/// A folder holding the template and release archive the minimal tasks name.
fn role_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("t.j2"), "x\n").expect("template");
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(2);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "app/run", &b"1\n"[..])
        .expect("member");
    let bytes = tar.into_inner().expect("tar");
    std::fs::write(dir.path().join("app.tar"), bytes).expect("archive");
    dir
}

#[test]
fn every_kind_builds_from_a_minimal_task_with_declared_defaults() {
    let dir = role_dir();
    let built: BTreeSet<&str> = MINIMAL.iter().map(|(k, _)| *k).collect();
    for kind in KINDS {
        assert!(
            built.contains(kind.name) || kind.name == "ansible_module",
            "`{}` has no minimal task",
            kind.name
        );
    }
    for (kind, yaml) in MINIMAL {
        if let Err(e) = build_in(dir.path(), kind, yaml) {
            panic!("minimal `{kind}` fails: {e}");
        }
    }
}

/// The message and place of `yaml`'s error as `kind`.
fn error_of(kind: &str, yaml: &str) -> String {
    let dir = role_dir();
    match build_in(dir.path(), kind, yaml) {
        Ok(_) => panic!("`{kind}: {yaml}` built"),
        Err(e) => format!("{:?}", miette::Report::new(e)),
    }
}

#[test]
fn a_value_of_the_wrong_type_is_located_and_names_the_argument() {
    let err = error_of("sysctl", "{name: vm.swappiness, value: 10, reload: [1]}");
    assert!(err.contains("`reload` must be a boolean"), "{err}");
    assert!(err.contains("task.yml:1:"), "{err}");
    let err = error_of("wait_for", "{port: 80, timeout: soon}");
    assert!(
        err.contains("`timeout` must be a whole number, not `soon`"),
        "{err}"
    );
    let err = error_of("directory", "{path: /srv/a, mode: 999}");
    assert!(err.contains("`mode` must be an octal mode"), "{err}");
    let err = error_of("command", "{cmd: x, env: [A]}");
    assert!(err.contains("`env` must be a mapping"), "{err}");
    let err = error_of("package", "{name: curl, state: lastest}");
    assert!(
        err.contains("`state` must be `present`, `latest` or `absent`, not `lastest`"),
        "{err}"
    );
    assert!(err.contains("did you mean `latest`?"), "{err}");
}

#[test]
fn an_unknown_key_still_gets_did_you_mean_or_the_list() {
    let err = error_of("sysctl", "{name: a, value: 1, relaod: true}");
    assert!(err.contains("did you mean `reload`?"), "{err}");
    let err = error_of("group", "{name: app, zzz: 1}");
    assert!(
        err.contains("`group` takes: name, gid, system, state"),
        "{err}"
    );
}

/// Every default a declaration states is a value of its own type (a builder reads it as one).
#[test]
fn every_stated_default_fits_its_type() {
    for (kind, _) in OLD_KEYS {
        for arg in declared(kind).iter().flat_map(|g| g.iter()) {
            let crate::fields::arg::Default::Value(value) = arg.default else {
                continue;
            };
            let node = crate::yaml::parse(&SourceFile::new("default.yml", format!("{value:?}")))
                .expect("yaml");
            if let Err(e) = arg.check(&node) {
                panic!("`{kind}`'s `{}` defaults to `{value}`: {e}", arg.name);
            }
        }
    }
}
