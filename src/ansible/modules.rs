//! Ansible module → recon resource, one translator per module. Adding a mapping is one entry in
//! `MODULES` (and, for a new recon resource, a translator below that renames its arguments).

// Every translator has the table's signature, `fn(Args) -> Result<Mapped>`, failing or not.
#![allow(clippy::unnecessary_wraps)]

pub(crate) use super::args::Mapped;
use super::args::{truthy, unsupported, Args, IGNORED_FILE_ARGS};
use super::fetch::{get_url, pip, unarchive, uri, wait_for};
use super::free_form::RAW;
use crate::error::{Error, ErrorKind, Result};
use crate::yaml::Node;

/// How recon handles one Ansible module.
#[derive(Clone, Copy)]
pub(crate) enum Module {
    /// Translated to a recon resource.
    Resource(fn(Args) -> Result<Mapped>),
    /// Evaluated by the compiler (`set_fact`, `include_vars`, `fail`, `assert`, includes).
    Directive,
    /// recon has no resource for it yet: the nearest recon resource, for the error.
    Missing(&'static str),
}

/// One entry of the table.
pub(crate) struct Entry {
    pub(crate) name: &'static str,
    pub(crate) module: Module,
    /// Takes a command line as free-form words (`command: ls -l chdir=/tmp`).
    pub(crate) raw: bool,
}

const fn res(name: &'static str, f: fn(Args) -> Result<Mapped>) -> Entry {
    Entry {
        name,
        module: Module::Resource(f),
        raw: false,
    }
}

const fn raw(name: &'static str, f: fn(Args) -> Result<Mapped>) -> Entry {
    Entry {
        name,
        module: Module::Resource(f),
        raw: true,
    }
}

const fn directive(name: &'static str) -> Entry {
    Entry {
        name,
        module: Module::Directive,
        raw: false,
    }
}

const fn missing(name: &'static str, nearest: &'static str) -> Entry {
    Entry {
        name,
        module: Module::Missing(nearest),
        raw: false,
    }
}

/// `missing` for a module that takes a command line as free-form words (`raw: echo hi`).
const fn missing_raw(name: &'static str, nearest: &'static str) -> Entry {
    Entry {
        raw: true,
        ..missing(name, nearest)
    }
}

/// Every Ansible module recon knows by name.
pub(crate) const MODULES: &[Entry] = &[
    res("file", file),
    res("copy", copy),
    res("template", template),
    res("lineinfile", lineinfile),
    raw("command", command),
    raw("shell", shell),
    res("debug", skip),
    raw("meta", meta),
    directive("set_fact"),
    directive("include_vars"),
    directive("fail"),
    directive("assert"),
    directive("include_tasks"),
    directive("import_tasks"),
    directive("include"),
    directive("include_role"),
    directive("import_role"),
    res("blockinfile", blockinfile),
    res("replace", replace),
    res("sysctl", sysctl),
    missing("ini_file", "line"),
    res("apt", package),
    res("package", package),
    missing("yum", "package"),
    missing("dnf", "package"),
    res("pip", pip),
    missing("apt_key", "command"),
    missing("apt_repository", "file"),
    res("service", service),
    res("systemd", systemd),
    res("systemd_service", systemd),
    res("user", user),
    res("group", group),
    res("authorized_key", authorized_key),
    res("cron", cron),
    res("git", git),
    res("docker_compose", docker_compose),
    res("docker_compose_v2", docker_compose),
    res("ufw", ufw),
    res("unarchive", unarchive),
    res("get_url", get_url),
    res("uri", uri),
    res("wait_for", wait_for),
    res("stat", stat),
    res("getent", getent),
    missing("pause", "command"),
    missing_raw("raw", "command"),
    missing_raw("script", "command"),
];

/// A mapping's result for resources whose arguments pass through unchanged.
fn resource(kind: &'static str, args: Args) -> Mapped {
    Mapped::Resource {
        kind,
        args: args.into_node(),
    }
}

fn skip(_: Args) -> Result<Mapped> {
    Ok(Mapped::Skip)
}

/// `meta: ACTION`. Handlers run once after every task in recon's one apply, so
/// `flush_handlers` asks for nothing more; the bookkeeping actions mean nothing here. Ending a
/// play or host part way (reached: its `when` held) is something recon's plan cannot express.
fn meta(mut a: Args) -> Result<Mapped> {
    let (action, node) = a
        .text(&[RAW, "free_form"])
        .ok_or_else(|| Error::invalid("`meta` needs an action", &a.span).with_label("here"))?;
    match action.as_str() {
        "flush_handlers" | "noop" | "refresh_inventory" | "clear_facts" | "clear_host_errors"
        | "reset_connection" => Ok(Mapped::Skip),
        "end_play" | "end_host" | "end_batch" | "end_role" => Err(Error::invalid(
            format!("`meta: {action}` is not supported: recon plans every task of the play"),
            &node.span,
        )
        .with_label("reached on this host")
        .with_help("put the tasks after it under a `when` (or a `block` with one) instead")),
        other => Err(
            Error::invalid(format!("unknown `meta` action `{other}`"), &node.span)
                .with_label("here"),
        ),
    }
}

/// `file`: recon's own `file` (`content`/`src`, no `state`) or Ansible's, decided by arguments:
/// `state` (or no `content`/`src`) means Ansible's.
fn file(mut a: Args) -> Result<Mapped> {
    if !a.has(&["state"]) && a.has(&["content", "src"]) && !a.has(&["dest", "name"]) {
        return Ok(resource("file", a));
    }
    let Some((path, path_node)) = a.text(&["path", "dest", "name"]) else {
        return Err(Error::invalid("`file` needs `path`", &a.span).with_label("here"));
    };
    let state = a.text(&["state"]);
    if !matches!(
        state.as_ref().map(|(s, _)| s.as_str()),
        Some("absent" | "present")
    ) {
        a.ignore(IGNORED_FILE_ARGS);
    }
    a.put("path", path_node.clone());
    let state_text = state
        .as_ref()
        .map_or("file", |(s, _)| s.as_str())
        .to_owned();
    match state_text.as_str() {
        "directory" => {
            a.ignore(&["recurse"]);
            Ok(resource("directory", a))
        }
        "link" => {
            let Some(src) = a.take(&["src"]) else {
                return Err(Error::invalid("`state: link` needs `src`", &a.span).with_label("here"));
            };
            a.ignore(&["mode", "owner", "group"]);
            a.put("target", src);
            Ok(resource("symlink", a))
        }
        // recon's own `file` removes a file or link (and refuses a directory, which Ansible
        // would remove with its contents: `directory: { state: absent }` says so explicitly).
        "absent" | "present" => {
            if let Some((_, node)) = state {
                a.put("state", node);
            }
            Ok(resource("file", a))
        }
        "touch" => {
            let span = path_node.span.clone();
            let mut argv = vec!["install".to_owned()];
            for (flag, key) in [("-m", "mode"), ("-o", "owner"), ("-g", "group")] {
                if let Some((v, _)) = a.text(&[key]) {
                    argv.extend([flag.to_owned(), v]);
                }
            }
            argv.extend(["/dev/null".to_owned(), path.clone()]);
            let mut out = Args::new(&Node::string(String::new(), span.clone()));
            out.put_list("argv", &argv, &span);
            out.put_str("creates", &path, &span);
            Ok(resource("command", out))
        }
        // `state: file` (and no `state`: the default) set the attributes of what is there,
        // never its bytes; a recursive one runs Ansible's own module through the bridge.
        "file" if !a.has(&["recurse"]) => {
            let explicit = state.is_some();
            a.ignore(&["src"]);
            if explicit {
                a.put_str("kind", "file", &path_node.span);
            }
            Ok(resource("attributes", a))
        }
        // `hard` runs Ansible's own module through the bridge; without one it is this error.
        other => {
            let node = state.map_or(path_node, |(_, n)| n);
            Err(Error::at(
                ErrorKind::Unsupported {
                    message: format!("`file` with `state: {other}` has no recon resource"),
                },
                &node.span,
            )
            .with_label("this state")
            .with_help("recon maps `state` directory, link, absent, touch and file (without `recurse`); write the file with `copy` (recon `file` with `content`/`src`)"))
        }
    }
}

/// `copy` → recon `file` (`dest` → `path`; a `dest` ending in `/` gets the source's name).
fn copy(mut a: Args) -> Result<Mapped> {
    if a.take(&["remote_src"])
        .is_some_and(|n| matches!(n.scalar_text(), Some("yes" | "true" | "True")))
    {
        return Err(
            Error::invalid("`copy` with `remote_src` has no recon resource", &a.span)
                .with_label("here")
                .with_help("use `command` with `creates`"),
        );
    }
    a.ignore(IGNORED_FILE_ARGS);
    a.ignore(&["decrypt", "local_follow", "directory_mode", "checksum"]);
    if let Some((dest, node)) = a.text(&["dest"]) {
        let src_name = a.has(&["src"]).then(|| a.take(&["src"])).flatten();
        let dest = match (&src_name, dest.ends_with('/')) {
            (Some(src), true) => {
                let name = src.scalar_text().unwrap_or_default();
                let base = name
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or(name);
                format!("{dest}{base}")
            }
            _ => dest,
        };
        if let Some(src) = src_name {
            a.put("src", src);
        }
        a.put_str("path", &dest, &node.span);
    }
    Ok(resource("file", a))
}

/// `template` → recon `template` (same argument names).
fn template(mut a: Args) -> Result<Mapped> {
    a.ignore(IGNORED_FILE_ARGS);
    a.ignore(&[
        "newline_sequence",
        "output_encoding",
        "trim_blocks",
        "lstrip_blocks",
        "block_start_string",
        "block_end_string",
        "variable_start_string",
        "variable_end_string",
    ]);
    Ok(resource("template", a))
}

/// `lineinfile` → recon `line`.
fn lineinfile(mut a: Args) -> Result<Mapped> {
    if let Some(path) = a.take(&["path", "dest", "destfile", "name"]) {
        a.put("path", path);
    }
    if let Some(line) = a.take(&["line", "value"]) {
        a.put("line", line);
    }
    if let Some(re) = a.take(&["regexp", "regex"]) {
        a.put("regexp", re);
    }
    // Ansible's `lineinfile` does not create a missing file unless told to.
    if !a.has(&["create"]) {
        let span = a.span.clone();
        a.put_str("create", "false", &span);
    }
    a.ignore(IGNORED_FILE_ARGS);
    unsupported(&mut a, "lineinfile", "owner", "set the owner with `file`")?;
    unsupported(&mut a, "lineinfile", "group", "set the group with `file`")?;
    Ok(resource("line", a))
}

/// `blockinfile` → recon `block` (`dest`/`destfile`/`name` → `path`, `content` → `block`);
/// `backup` is dropped like every file module's.
fn blockinfile(mut a: Args) -> Result<Mapped> {
    if let Some(path) = a.take(&["path", "dest", "destfile", "name"]) {
        a.put("path", path);
    }
    if let Some(block) = a.take(&["block", "content"]) {
        a.put("block", block);
    }
    a.ignore(IGNORED_FILE_ARGS);
    Ok(resource("block", a))
}

/// Arguments of `command`/`shell` recon does not need.
const IGNORED_COMMAND_ARGS: &[&str] = &["warn", "strip_empty_ends", "expand_argument_vars"];

/// `command` → recon `command`. A command line runs under `sh -c`, as recon's own `command:`
/// line always has: Ansible expands `~` and `$VARS` in its words too, so the same line does the
/// same unless it relies on shell characters (`|`, `>`, `;`) being passed literally.
fn command(mut a: Args) -> Result<Mapped> {
    a.ignore(IGNORED_COMMAND_ARGS);
    a.ignore(&["executable"]);
    reject_stdin(&a)?;
    if let Some(line) = a.take(&[RAW, "free_form"]) {
        a.put("cmd", line);
    }
    Ok(resource("command", a))
}

/// `shell` → recon `command` run by `sh -c`; with another `executable` (`/bin/bash`, for
/// `set -o pipefail`), the program `EXECUTABLE -c LINE`, as Ansible runs it.
fn shell(mut a: Args) -> Result<Mapped> {
    a.ignore(IGNORED_COMMAND_ARGS);
    reject_stdin(&a)?;
    let line = a.take(&[RAW, "free_form"]);
    let exe = a
        .take(&["executable"])
        .filter(|exe| !matches!(exe.scalar_text(), Some("/bin/sh" | "sh" | "")));
    match (exe, line) {
        (Some(exe), line) => {
            let Some(line) = line.or_else(|| a.take(&["cmd"])) else {
                return Err(Error::invalid(
                    "`shell` with an `executable` needs the command line",
                    &exe.span,
                ));
            };
            if exe.scalar_text().is_none() {
                return Err(Error::invalid(
                    "`executable` must be a program path",
                    &exe.span,
                ));
            }
            let span = exe.span.clone();
            let flag = Node::string("-c".to_owned(), span.clone());
            a.put(
                "argv",
                Node {
                    value: crate::yaml::Value::Seq(vec![exe, flag, line]),
                    span,
                },
            );
        }
        (None, Some(line)) => a.put("cmd", line),
        (None, None) => {}
    }
    Ok(resource("command", a))
}

fn reject_stdin(a: &Args) -> Result<()> {
    if a.has(&["stdin"]) {
        return Err(
            Error::invalid("`stdin` is not supported by recon's `command`", &a.span)
                .with_label("here"),
        );
    }
    Ok(())
}

/// `name: a,b` (Ansible splits a comma-separated string) → a list.
fn split_commas(a: &mut Args, key: &str) {
    if let Some(node) = a.take(&[key]) {
        match node.scalar_text() {
            Some(text) if text.contains(',') => {
                let items: Vec<String> = text
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                a.put_list(key, &items, &node.span);
            }
            _ => a.put(key, node),
        }
    }
}

/// `apt` options recon has no use for (apt-get's defaults, as recon runs it, are kept).
const APT_IGNORED: &[&str] = &[
    "install_recommends",
    "force",
    "force_apt_get",
    "allow_unauthenticated",
    "allow_downgrade",
    "allow_change_held_packages",
    "autoremove",
    "autoclean",
    "purge",
    "default_release",
    "dpkg_options",
    "only_upgrade",
    "lock_timeout",
    "policy_rc_d",
    "use",
    "fail_on_autoremove",
];

/// `apt`/`package` → recon `package` (Debian). `update_cache` alone refreshes nothing in the
/// plan: recon refreshes when it installs.
fn package(mut a: Args) -> Result<Mapped> {
    if let Some(name) = a.take(&["name", "pkg", "package"]) {
        a.put("name", name);
    }
    split_commas(&mut a, "name");
    if let Some((state, node)) = a.text(&["state"]) {
        let state = match state.as_str() {
            "installed" | "present" => "present",
            "removed" | "absent" => "absent",
            other => other,
        };
        a.put_str("state", state, &node.span);
    }
    unsupported(
        &mut a,
        "apt",
        "deb",
        "install the package file with `command`",
    )?;
    if let Some(node) = a.take(&["upgrade"]) {
        let no = matches!(
            node.scalar_text(),
            Some("no" | "false" | "False" | "off" | "0")
        );
        if !no || !a.has(&["name"]) {
            return apt_upgrade(a, node);
        }
    }
    a.ignore(APT_IGNORED);
    if !a.has(&["name"]) {
        return a.nothing_to_manage("package");
    }
    Ok(resource("package", a))
}

/// `apt: upgrade:` → recon `apt_upgrade` (the mode checked there, after rendering). Ansible's
/// `upgrade` ends the module: `name` beside it would be silently skipped, so it is an error.
fn apt_upgrade(mut a: Args, mode: Node) -> Result<Mapped> {
    if let Some(name) = a.take(&["name"]) {
        return Err(Error::invalid(
            "`apt` `upgrade` upgrades every package; Ansible ignores `name` beside it",
            &name.span,
        )
        .with_label("install or upgrade these in a task of their own"));
    }
    a.ignore(APT_IGNORED);
    a.ignore(&["state"]);
    a.put("mode", mode);
    Ok(resource("apt_upgrade", a))
}

/// `service`/`systemd` → recon `service` (`scope` included: a user unit is not the system's);
/// `daemon_reload` alone has nothing to plan (recon reloads unit files whenever systemd says a
/// unit it acts on needs it).
fn service(mut a: Args) -> Result<Mapped> {
    a.ignore(&[
        "daemon_reexec",
        "no_block",
        "force",
        "pattern",
        "sleep",
        "arguments",
        "args",
        "runlevel",
        "use",
    ]);
    if !a.has(&["name", "unit", "service"]) {
        a.ignore(&["unit", "service"]);
        return a.nothing_to_manage("service");
    }
    if !a.has(&["state", "enabled", "masked"]) {
        a.ignore(&["daemon_reload", "scope"]);
    }
    if let Some(name) = a.take(&["name", "unit", "service"]) {
        a.put("name", name);
    }
    Ok(resource("service", a))
}

/// `systemd` → recon `service`, except a task naming only a unit (no state, enablement, mask or
/// reload): that is Ansible's status query, whose registered `status` recon has no resource
/// for, so it runs Ansible's module (`service` itself refuses a bare name, as Ansible does).
fn systemd(a: Args) -> Result<Mapped> {
    let acts = [
        "state",
        "enabled",
        "masked",
        "daemon_reload",
        "daemon-reload",
        "daemon_reexec",
        "daemon-reexec",
    ];
    let query = a.has(&["name", "unit", "service"]) && !a.has(&acts);
    let mapped = service(a)?;
    Ok(if query {
        Mapped::Bridge(Box::new(mapped))
    } else {
        mapped
    })
}

/// `user` → recon `user`.
fn user(mut a: Args) -> Result<Mapped> {
    if a.take(&["generate_ssh_key"]).is_some_and(|n| truthy(&n)) {
        return Err(Error::invalid(
            "`user` `generate_ssh_key` is not supported by recon",
            &a.span,
        )
        .with_label("here"));
    }
    if let Some(v) = a.take(&["createhome", "create_home"]) {
        a.put("create_home", v);
    }
    split_commas(&mut a, "groups");
    a.ignore(&[
        "comment",
        "expires",
        "non_unique",
        "move_home",
        "local",
        "force",
        "ssh_key_bits",
        "ssh_key_type",
        "ssh_key_file",
        "ssh_key_comment",
        "ssh_key_passphrase",
        "skeleton",
        "umask",
        "seuser",
    ]);
    Ok(resource("user", a))
}

/// `group` → recon `group`.
fn group(mut a: Args) -> Result<Mapped> {
    a.ignore(&["local", "non_unique", "force", "gid_min", "gid_max"]);
    Ok(resource("group", a))
}

/// `authorized_key` → recon `authorized_key`.
fn authorized_key(mut a: Args) -> Result<Mapped> {
    a.ignore(&["manage_dir", "validate_certs", "comment", "follow"]);
    Ok(resource("authorized_key", a))
}

/// `cron` → recon `cron` (`value` → `job`, `dom` → `day`, `dow` → `weekday`). Ansible's
/// `env: yes` (the task declares a crontab variable instead of a job) has no recon form; recon's
/// own `env` is a mapping of variables for one job.
fn cron(mut a: Args) -> Result<Mapped> {
    a.ignore(&["backup", "insertafter", "insertbefore"]);
    for (aliases, key) in [
        (&["special_time", "special"][..], "special_time"),
        (&["job", "value"][..], "job"),
        (&["day", "dom"][..], "day"),
        (&["weekday", "dow"][..], "weekday"),
    ] {
        if let Some(v) = a.take(aliases) {
            a.put(key, v);
        }
    }
    if let Some(env) = a.take(&["env"]) {
        if truthy(&env) {
            return Err(Error::invalid(
                "`cron` with `env: yes` (a crontab variable) has no recon equivalent",
                &env.span,
            )
            .with_label("here")
            .with_help(
                "give the job its variables with recon's `cron: { env: { NAME: value } }`",
            ));
        }
        // Ansible's `env: no` is the default; anything else is recon's (checked there).
        if !matches!(
            env.scalar_text(),
            Some("no" | "false" | "False" | "FALSE" | "off" | "0")
        ) {
            a.put("env", env);
        }
    }
    Ok(resource("cron", a))
}

/// `stat` → recon `stat` (a query; `get_mime`, `get_attributes`, `get_md5` ignored).
fn stat(mut a: Args) -> Result<Mapped> {
    a.ignore(&["get_mime", "get_attributes", "get_md5"]);
    Ok(resource("stat", a))
}

/// `replace` → recon `replace` (`dest`/`destfile`/`name` → `path`; `backup`, `encoding` and
/// SELinux arguments ignored; `validate`, `owner`, `group` are located errors).
fn replace(mut a: Args) -> Result<Mapped> {
    if let Some(path) = a.take(&["path", "dest", "destfile", "name"]) {
        a.put("path", path);
    }
    a.ignore(IGNORED_FILE_ARGS);
    a.ignore(&["encoding"]);
    Ok(resource("replace", a))
}

/// ansible.posix `sysctl` → recon `sysctl` (`key`/`val` aliases; file attributes ignored).
fn sysctl(mut a: Args) -> Result<Mapped> {
    if let Some(name) = a.take(&["name", "key"]) {
        a.put("name", name);
    }
    if let Some(value) = a.take(&["value", "val"]) {
        a.put("value", value);
    }
    a.ignore(IGNORED_FILE_ARGS);
    Ok(resource("sysctl", a))
}

/// `getent` → recon `getent` (same arguments).
fn getent(a: Args) -> Result<Mapped> {
    Ok(resource("getent", a))
}

/// `git` → recon `git` (`repo` alias `name`).
fn git(mut a: Args) -> Result<Mapped> {
    if let Some(repo) = a.take(&["repo", "name"]) {
        a.put("repo", repo);
    }
    if a.take(&["update"]).is_some_and(|n| !truthy(&n)) {
        return Err(
            Error::invalid("`git` with `update: no` is not supported by recon", &a.span)
                .with_label("here")
                .with_help("pin `version` to a tag or commit instead"),
        );
    }
    a.ignore(&[
        "clone",
        "recursive",
        "track_submodules",
        "umask",
        "executable",
        "single_branch",
        "gpg_whitelist",
        "verify_commit",
        "archive",
        "remote",
        "refspec",
        "reference",
        "separate_git_dir",
    ]);
    Ok(resource("git", a))
}

/// `docker_compose`/`docker_compose_v2` → recon `docker_compose`.
fn docker_compose(mut a: Args) -> Result<Mapped> {
    // `nocache` only tunes `build`, which recon does not do (like the module without `build`).
    a.ignore(&[
        "build",
        "nocache",
        "recreate",
        "timeout",
        "debug",
        "docker_host",
        "tls",
        "api_version",
    ]);
    // `pull: policy` (docker_compose_v2) follows each service's `pull_policy`, whose default is
    // `missing`; the old module's `pull: yes` pulls always, `no` only what is missing.
    if let Some((pull, node)) = a.text(&["pull"]) {
        let pull = match pull.as_str() {
            "policy" | "no" | "false" | "False" => "missing",
            "yes" | "true" | "True" => "always",
            other => other,
        };
        a.put_str("pull", pull, &node.span);
    }
    Ok(resource("docker_compose", a))
}

/// `ufw` → recon `firewall` (`from_ip`/`to_ip`/`to_port` → `from`/`to`/`port`).
fn ufw(mut a: Args) -> Result<Mapped> {
    for (aliases, key) in [
        (&["from_ip", "from", "src"][..], "from"),
        (&["to_ip", "to", "dest"][..], "to"),
        (&["to_port", "port"][..], "port"),
        (&["policy", "default"][..], "policy"),
        (&["proto", "protocol"][..], "proto"),
        (&["name", "app"][..], "app"),
    ] {
        if let Some(v) = a.take(aliases) {
            a.put(key, v);
        }
    }
    unsupported(
        &mut a,
        "ufw",
        "from_port",
        "rules match the destination port only",
    )?;
    unsupported(
        &mut a,
        "ufw",
        "interface",
        "recon's firewall rules are not per interface",
    )?;
    a.ignore(&["log", "insert", "insert_relative_to", "route"]);
    // `reloaded`: recon's ufw changes are live when they are made, so a reload (a handler's
    // usual job) has nothing left to do.
    let reloaded = match a.take(&["state"]) {
        Some(state) if state.scalar_text() == Some("reloaded") => true,
        Some(state) => {
            a.put("state", state);
            false
        }
        None => false,
    };
    if reloaded && !a.has(&["rule", "policy", "logging"]) {
        return a.nothing_to_manage("firewall");
    }
    Ok(resource("firewall", a))
}
