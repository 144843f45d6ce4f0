//! The registry: one line per resource kind. It is the only list of kinds in recon; the playbook
//! parser's key check, the builder dispatch (no wildcard: an unknown kind is a located error with
//! a suggestion) and the help text are all generated from it, and with each kind's declared
//! arguments (`ARGS` in its module) `recon doc` and docs/resources.md.

use std::fmt::Write as _;

#[cfg(test)]
use super::mark;
use super::{
    ansible_module, apt_upgrade, package, pip, replace, service, sysctl, template, unpack, user,
    wait_for,
};
use super::{
    attributes, authorized_key, block, command, cron, cutover, directory, file, group, http_check,
    line, release, stat, supervisor, symlink,
};
use super::{docker_compose, download, firewall, getent, git};
use super::{named, BuildContext, Compiled, Resource};
use crate::error::{Error, ErrorKind, Result};
use crate::facts::Registered;
use crate::fields::arg::Groups;
use crate::plan::Field;
use crate::yaml::Node;

/// Builds one kind from its rendered arguments.
type Builder = fn(&Node, &BuildContext<'_>) -> Result<Compiled>;

/// One registered kind.
pub(crate) struct Kind {
    pub(crate) name: &'static str,
    build: Builder,
    /// What its type declares (`Resource`'s associated items), read off its builder.
    declared: Declared,
    /// One line for `--help` and the docs.
    pub(crate) summary: &'static str,
    /// Its declared arguments.
    pub(crate) args: Groups,
}

/// What a kind declares through its type rather than through a built resource: its own plan
/// attributes, its fact kinds and the fact its tasks set.
struct Declared {
    fields: &'static [Field],
    fact_kinds: &'static [Registered],
    sets_fact: fn(&Node) -> Option<String>,
}

impl Declared {
    /// Read off a kind's `build` function: its result type is the kind's `Resource`.
    const fn of<R: Resource>(_: fn(&Node, &BuildContext<'_>) -> Result<R>) -> Self {
        Self {
            fields: R::FIELDS,
            fact_kinds: R::FACT_KINDS,
            sets_fact: R::sets_fact,
        }
    }
}

macro_rules! registry {
    ($($(#[$meta:meta])* $name:literal => $module:ident, $summary:literal;)*) => {
        /// Every resource kind, in the order the docs list them.
        pub(crate) const KINDS: &[Kind] = &[
            $($(#[$meta])* Kind {
                name: $name,
                build: |args, cx| Ok(named($name, $module::build(args, cx)?)),
                declared: Declared::of($module::build),
                summary: $summary,
                args: $module::ARGS,
            },)*
        ];
    };
}

registry! {
    "directory" => directory, "a directory with mode, owner and group";
    "attributes" => attributes, "the mode, owner and group of a path that is already there";
    "file" => file, "a file with exactly these bytes (`content` or `src`)";
    "template" => template, "a file rendered from a Jinja template on the control machine";
    "symlink" => symlink, "a symbolic link, switched atomically";
    "line" => line, "one line in a file, like Ansible's lineinfile";
    "block" => block, "a marker-delimited block in a file, like Ansible's blockinfile";
    "replace" => replace, "every match of a pattern in a file replaced, like Ansible's replace";
    "sysctl" => sysctl, "a kernel parameter in a sysctl file, reloaded or set running";
    "command" => command, "a command run unless its guards say it is done";
    "stat" => stat, "reads a path's state for later tasks (a query, never a change)";
    "getent" => getent, "reads a name-service database into `getent_<database>` (a query)";
    "release" => release, "an immutable release folder and the link that makes it current";
    "supervisor" => supervisor, "a supervisord program, restarted exactly once";
    "cutover" => cutover, "a blue/green switch: a release goes live in the idle slot once it answers";
    "http_check" => http_check, "a health gate that marks releases good or rolls them back";
    "package" => package, "Debian packages, all of a host's changes in one apt call";
    "apt_upgrade" => apt_upgrade, "every upgradable Debian package upgraded (Ansible's `apt: upgrade`)";
    "service" => service, "a system service started, stopped or restarted once, enabled at boot";
    "user" => user, "a Unix account: uid, shell, home, groups, or removed";
    "authorized_key" => authorized_key, "public keys in an account's ~/.ssh/authorized_keys";
    "cron" => cron, "a named entry in a crontab or an /etc/cron.d file";
    "group" => group, "a Unix group with its gid, or removed";
    "git" => git, "a git checkout at a branch, tag or commit, host keys verified";
    "docker_compose" => docker_compose, "a compose project up or down, planned per service";
    "firewall" => firewall, "a ufw rule, default policy or ufw on/off";
    "download" => download, "a file fetched by the host from a URL, checked against its checksum";
    "pip" => pip, "Python packages installed by pip, in a virtualenv it creates if asked";
    "unpack" => unpack, "an archive on the host extracted into a folder, compared member by member";
    "wait_for" => wait_for, "a port, path or URL condition the apply waits for; converged when it holds";
    "ansible_module" => ansible_module, "a module recon has no resource for, run by the control machine's Ansible";
    #[cfg(test)]
    "mark" => mark, "a one-line marker file (the guide's worked example; unit tests only)";
}

/// The guide's worked example (docs/ARCHITECTURE.md), registered in unit tests only: it is not
/// a kind users have, so the generated reference leaves it out.
#[cfg(test)]
pub(crate) const EXAMPLE: &str = "mark";

/// Whether `name` is a resource kind.
pub(crate) fn is_kind(name: &str) -> bool {
    KINDS.iter().any(|k| k.name == name)
}

/// The declared arguments of kind `name` (none for an unknown kind).
pub(crate) fn args_of(name: &str) -> Groups {
    KINDS
        .iter()
        .find(|k| k.name == name)
        .map_or(&[], |k| k.args)
}

/// Builds a resource of kind `name` (located at `args`).
pub(crate) fn build(name: &str, args: &Node, cx: &BuildContext<'_>) -> Result<Compiled> {
    match KINDS.iter().find(|k| k.name == name) {
        Some(kind) => (kind.build)(args, cx),
        None => Err(Error::at(
            ErrorKind::UnknownResource {
                name: name.to_owned(),
            },
            &args.span,
        )
        .suggest(name, KINDS.iter().map(|k| k.name))),
    }
}

/// Every plan attribute a kind declares in its file: with `Field::COMMON`, what a saved plan's
/// attribute names read back as (`plan::reading`).
pub(crate) fn declared_fields() -> Vec<Field> {
    KINDS
        .iter()
        .flat_map(|k| k.declared.fields)
        .copied()
        .collect()
}

/// Every fact kind a resource kind declares in its file: what a saved plan's questions and
/// answers of those kinds read back as (`facts::reading`).
pub(crate) fn declared_fact_kinds() -> Vec<Registered> {
    KINDS
        .iter()
        .flat_map(|k| k.declared.fact_kinds)
        .copied()
        .collect()
}

/// The fact a task of kind `name` sets, from its rendered arguments (`Resource::sets_fact`).
pub(crate) fn sets_fact(name: &str, args: &Node) -> Option<String> {
    let kind = KINDS.iter().find(|k| k.name == name)?;
    (kind.declared.sets_fact)(args)
}

/// The kinds with their summaries, for help texts.
pub(crate) fn help() -> String {
    let width = KINDS.iter().map(|k| k.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for kind in KINDS {
        let _ = writeln!(out, "  {:width$}  {}", kind.name, kind.summary);
    }
    out
}
