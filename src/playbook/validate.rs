//! Whole-playbook checks made once at load, before any host is compiled: problems that would
//! otherwise show up only on some hosts, on some runs, or never (a handler shadowed by another of
//! the same name silently never runs).

use std::path::Path;
use std::sync::Arc;

use super::{Play, Playbook, TaskSpec};
use crate::error::{Error, ErrorKind, Result};
use crate::source::SourceFile;
use crate::template::Templar;

/// Every check, in file order; every problem is returned (as one error listing them all).
pub(super) fn playbook(playbook: &Playbook) -> Result<()> {
    let templar = Templar::new();
    let mut errors = Vec::new();
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            errors.push(e);
        }
    };
    let mut seen_roles: Vec<&Path> = Vec::new();
    for play in &playbook.plays {
        keep(duplicate_handlers(play));
        for (_, node) in &play.vars {
            keep(templar.lint_node(node));
        }
        for n in &play.vars_files {
            keep(templar.lint_node(n));
        }
        for node in play.serial.iter().chain(&play.max_fail_percentage) {
            keep(templar.lint_node(node));
        }
        for role_use in &play.roles {
            for (_, node) in &role_use.params {
                keep(templar.lint_node(node));
            }
        }
        for role_use in play.all_roles() {
            let role = &role_use.role;
            if seen_roles.contains(&role.dir.as_path()) {
                continue;
            }
            seen_roles.push(&role.dir);
            for (_, node) in role.defaults.iter().chain(&role.vars) {
                keep(templar.lint_node(node));
            }
            for t in &role.handlers {
                keep(task(&templar, t));
            }
            keep(template_files(&templar, &role.dir.join("templates")));
        }
        for t in play.tasks.iter().chain(&play.handlers) {
            keep(task(&templar, t));
        }
    }
    keep(template_files(&templar, &playbook.dir.join("templates")));
    Error::many(errors).map_or(Ok(()), Err)
}

/// Two handlers with one name: Ansible runs only one of them, silently. Here it is an error naming
/// both (a role used twice in a play brings its handlers once).
fn duplicate_handlers(play: &Play) -> Result<()> {
    let mut roles: Vec<&Path> = Vec::new();
    let mut handlers: Vec<&TaskSpec> = Vec::new();
    for role_use in play.all_roles() {
        if !roles.contains(&role_use.role.dir.as_path()) {
            roles.push(&role_use.role.dir);
            handlers.extend(&role_use.role.handlers);
        }
    }
    handlers.extend(&play.handlers);
    let named: Vec<(&str, &TaskSpec)> = handlers
        .iter()
        .filter_map(|h| Some((h.name.as_ref()?.scalar_text()?, *h)))
        .collect();
    for (i, (name, second)) in named.iter().enumerate() {
        if let Some((_, first)) = named[..i].iter().find(|(n, _)| n == name) {
            let other = Error::invalid(
                format!("handler `{name}` is first defined here"),
                &first.span,
            )
            .with_label("first handler");
            return Err(Error::at(
                ErrorKind::InvalidValue {
                    message: format!("two handlers are named `{name}` in play `{}`", play.name),
                },
                &second.span,
            )
            .with_label("second handler of that name")
            .with_help("rename one; `notify` could only ever reach one of them")
            .with_related(other));
        }
    }
    Ok(())
}

/// Every template string a task holds, including its `when:` expression.
fn task(templar: &Templar, spec: &TaskSpec) -> Result<()> {
    if let Some(name) = &spec.name {
        templar.lint_node(name)?;
    }
    templar.lint_node(&spec.args)?;
    for when in &spec.when {
        templar.lint_condition(when)?;
    }
    if let Some(l) = &spec.loop_items {
        templar.lint_node(&l.items)?;
    }
    if let Some(claims) = &spec.claims {
        templar.lint_node(claims)?;
    }
    spec.vars.iter().try_for_each(|(_, n)| templar.lint_node(n))
}

/// Every UTF-8 file under `dir` (a role's or the playbook's `templates/`), recursively.
fn template_files(templar: &Templar, dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            template_files(templar, &path)?;
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            let file: Arc<SourceFile> = SourceFile::new(path, text);
            templar.lint_file(&file)?;
        }
    }
    Ok(())
}
