//! Spanned YAML → `Playbook`. Unknown keys, wrong types and unknown resources are located errors.
//! `import_playbook` entries are read in place; a play's task list is built here in Ansible's
//! order: `pre_tasks`, the roles' tasks, `tasks`, `post_tasks`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::role::{role_use, tag_names, RoleCache};
use super::tasks::{variables, Inherit, Loader, IGNORED_KEYWORDS};
use super::{Play, Playbook, RoleUse, TaskSpec};
use crate::error::{Error, Result};
use crate::fields::{scalar, wrong_type, Fields};
use crate::yaml::{self, Node};

/// Loads a playbook and every role it uses.
pub(crate) fn load(path: &Path, roles: &mut RoleCache) -> Result<Playbook> {
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut plays = Vec::new();
    let mut errors = Vec::new();
    plays_of(path, roles, &mut Vec::new(), &mut plays, &mut errors)?;
    if let Some(err) = Error::many(errors) {
        return Err(err);
    }
    let playbook = Playbook {
        path: path.to_path_buf(),
        dir,
        plays,
    };
    super::validate::playbook(&playbook)?;
    Ok(playbook)
}

/// The plays of one playbook file, `import_playbook` entries expanded in place.
fn plays_of(
    path: &Path,
    roles: &mut RoleCache,
    stack: &mut Vec<PathBuf>,
    out: &mut Vec<Play>,
    errors: &mut Vec<Error>,
) -> Result<()> {
    let root = yaml::load_file(path)?;
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let Some(items) = root.as_seq() else {
        return Err(wrong_type(&root, "a list of plays", "a playbook"));
    };
    stack.push(path.canonicalize().unwrap_or_else(|_| path.to_path_buf()));
    for item in items {
        let import = item
            .get("import_playbook")
            .or_else(|| item.get("ansible.builtin.import_playbook"));
        match import {
            Some(file) => {
                Fields::new(
                    item,
                    "an `import_playbook`",
                    &[
                        "import_playbook",
                        "ansible.builtin.import_playbook",
                        "name",
                        "vars",
                        "tags",
                        "when",
                    ],
                )?;
                let name = scalar(file, "`import_playbook`")?;
                let other = dir.join(&name);
                let canonical = other.canonicalize().unwrap_or_else(|_| other.clone());
                if !other.is_file() {
                    return Err(
                        Error::invalid(format!("playbook `{name}` not found"), &file.span)
                            .with_label("not found"),
                    );
                }
                if stack.contains(&canonical) {
                    return Err(
                        Error::invalid(format!("`{name}` imports itself"), &file.span)
                            .with_label("import loop"),
                    );
                }
                let mut imported = Vec::new();
                plays_of(&other, roles, stack, &mut imported, errors)?;
                pass_on(item, &mut imported)?;
                out.extend(imported);
            }
            None => match parse_play(item, &dir, roles) {
                Ok(play) => out.push(play),
                Err(err) => errors.push(err),
            },
        }
    }
    stack.pop();
    Ok(())
}

/// An `import_playbook`'s `when`, `tags` and `vars` apply to every play it brings in: the
/// conditions and tags to each task and handler, the variables below each play's own.
fn pass_on(item: &Node, plays: &mut [Play]) -> Result<()> {
    let when: Vec<Node> = match item.get("when") {
        Some(w) => w.as_seq().map_or_else(|| vec![w.clone()], <[Node]>::to_vec),
        None => Vec::new(),
    };
    let tags = tag_names(item.get("tags"))?;
    let vars = variables(item.get("vars"))?;
    for play in plays {
        let mut own = std::mem::take(&mut play.vars);
        play.vars.clone_from(&vars);
        play.vars.append(&mut own);
        for t in play.tasks.iter_mut().chain(play.handlers.iter_mut()) {
            let mut conditions = when.clone();
            conditions.append(&mut t.when);
            t.when = conditions;
            t.tags.extend(tags.iter().cloned());
        }
    }
    Ok(())
}

const PLAY_KEYS: &[&str] = &[
    "name",
    "collections",
    "hosts",
    "vars",
    "vars_files",
    "roles",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "serial",
    "become",
    "become_user",
    "become_method",
    "remote_user",
    "gather_facts",
    "tags",
    "connection",
    "strategy",
    "max_fail_percentage",
    "force_handlers",
    "order",
    "port",
    "vars_prompt",
    "no_log",
    "ignore_errors",
    "fact_path",
    "gather_subset",
    "gather_timeout",
];

/// The play's `roles:` list, each loaded (every bad entry reported at once).
fn play_roles(f: &Fields<'_>, dir: &Path, roles: &mut RoleCache) -> Result<Vec<Arc<RoleUse>>> {
    let mut role_uses = Vec::new();
    if let Some(list) = f.get("roles") {
        let items = list
            .as_seq()
            .ok_or_else(|| wrong_type(list, "a list of roles", "`roles`"))?;
        let mut role_errors = Vec::new();
        for item in items {
            match role_use(item, dir, roles) {
                Ok(r) => role_uses.push(Arc::new(r)),
                Err(err) => role_errors.push(err),
            }
        }
        if let Some(err) = Error::many(role_errors) {
            return Err(err);
        }
    }
    Ok(role_uses)
}

/// A role's tasks as the play runs them: under the role use's `when`, tags and `become`, and
/// the play's tags and `no_log`.
fn role_tasks<'r>(
    role_use: &'r Arc<RoleUse>,
    play_tags: &'r [String],
    no_log: bool,
) -> impl Iterator<Item = TaskSpec> + 'r {
    role_use.role.tasks.iter().map(move |t| {
        let mut t = t.clone();
        if t.role.is_none() {
            t.role = Some(Arc::clone(role_use));
        }
        let mut when = role_use.when.clone();
        when.append(&mut t.when);
        t.when = when;
        t.tags.extend(role_use.tags.iter().cloned());
        t.tags.extend(play_tags.iter().cloned());
        t.become_ = t.become_.or(role_use.become_);
        t.sensitive |= no_log;
        t
    })
}

/// The play's `become_user` and `ignore_errors` become every task's (and handler's) where the
/// task gives none.
fn play_defaults(f: &Fields<'_>, tasks: &mut [TaskSpec], handlers: &mut [TaskSpec]) {
    // `become_user` on the play: every task's, where the task (or its block) gives none.
    if let Some(user) = f
        .get("become_user")
        .filter(|n| n.scalar_text().is_some_and(|u| u != "root"))
    {
        for t in tasks.iter_mut().chain(handlers.iter_mut()) {
            if t.become_user.is_none() {
                t.become_user = Some(user.clone());
            }
        }
    }
    // `ignore_errors` on the play: every task's, where the task gives none.
    if let Some(ignore) = f.get("ignore_errors") {
        for t in tasks.iter_mut().chain(handlers.iter_mut()) {
            if t.outcome.ignore_errors.is_none() {
                t.outcome.ignore_errors = Some(ignore.clone());
            }
        }
    }
}

fn parse_play(node: &Node, dir: &Path, roles: &mut RoleCache) -> Result<Play> {
    let allowed: Vec<&str> = PLAY_KEYS.iter().chain(IGNORED_KEYWORDS).copied().collect();
    let f = Fields::new(node, "a play", &allowed)?;
    let hosts_node = f.require("hosts")?;
    let hosts = match hosts_node.as_seq() {
        Some(items) => items
            .iter()
            .map(|n| scalar(n, "`hosts`"))
            .collect::<Result<Vec<_>>>()?
            .join(","),
        None => scalar(hosts_node, "`hosts`")?,
    };
    let name = f.string("name")?.unwrap_or_else(|| hosts.clone());
    let vars = variables(f.mapping("vars")?)?;
    let vars_files = match f.get("vars_files") {
        Some(n) => n
            .as_seq()
            .ok_or_else(|| wrong_type(n, "a list of files", "`vars_files`"))?
            .to_vec(),
        None => Vec::new(),
    };
    let role_uses = play_roles(&f, dir, roles)?;
    if let Some(method) = f.string("become_method")? {
        if method != "sudo" {
            return Err(Error::invalid(
                format!(
                    "`become_method: {method}` is not supported (recon becomes root with sudo)"
                ),
                &f.require("become_method")?.span,
            )
            .with_label("here"));
        }
    }
    // `no_log` on the play: every task of it is sensitive, as on a block.
    let no_log = super::tasks::no_log(&f)?;
    let inherit = Inherit {
        tags: f.string_list("tags")?.into_iter().map(|(s, _)| s).collect(),
        dir: dir.to_path_buf(),
        sensitive: no_log,
        collections: super::tasks::collections(f.get("collections"))?,
        environment: f.get("environment").cloned().into_iter().collect(),
        ..Inherit::default()
    };
    let mut loader = Loader {
        roles,
        playbook_dir: dir.to_path_buf(),
        included_roles: Vec::new(),
        errors: Vec::new(),
    };
    let mut tasks = loader.task_list(f.get("pre_tasks"), "`pre_tasks`", &inherit)?;
    // Each role after its `meta` dependencies; a dependency already in the play runs once.
    let mut expanded: Vec<Arc<RoleUse>> = Vec::new();
    let mut dependencies: Vec<Arc<RoleUse>> = Vec::new();
    for role_use in &role_uses {
        with_dependencies(role_use, &mut expanded, &mut dependencies);
    }
    for role_use in &expanded {
        tasks.extend(role_tasks(role_use, &inherit.tags, no_log));
    }
    tasks.extend(loader.task_list(f.get("tasks"), "`tasks`", &inherit)?);
    tasks.extend(loader.task_list(f.get("post_tasks"), "`post_tasks`", &inherit)?);
    let mut handlers = loader.task_list(f.get("handlers"), "`handlers`", &inherit)?;
    play_defaults(&f, &mut tasks, &mut handlers);
    if let Some(err) = Error::many(std::mem::take(&mut loader.errors)) {
        return Err(err);
    }
    let mut included_roles = std::mem::take(&mut loader.included_roles);
    let mut i = 0;
    while i < included_roles.len() {
        let more = included_roles[i].role.included.clone();
        included_roles.extend(more);
        i += 1;
    }
    for role_use in &expanded {
        included_roles.extend(role_use.role.included.iter().cloned());
    }
    included_roles.extend(dependencies);
    Ok(Play {
        name,
        hosts,
        hosts_span: hosts_node.span.clone(),
        vars,
        vars_files,
        roles: role_uses,
        included_roles,
        tasks,
        handlers,
        serial: f.get("serial").cloned(),
        max_fail_percentage: f.get("max_fail_percentage").cloned(),
        become_: f.boolean("become")?.unwrap_or(false),
        remote_user: f.string("remote_user")?,
        gather_facts: f.boolean("gather_facts")?.unwrap_or(true),
    })
}

/// Appends `role_use` to `out` after its dependencies (depth first); a dependency whose folder is
/// already in `out` is not repeated (Ansible runs it once), and is recorded in `deps`.
fn with_dependencies(
    role_use: &Arc<RoleUse>,
    out: &mut Vec<Arc<RoleUse>>,
    deps: &mut Vec<Arc<RoleUse>>,
) {
    for dep in &role_use.role.dependencies {
        if out.iter().any(|r| r.role.dir == dep.role.dir) {
            continue;
        }
        with_dependencies(dep, out, deps);
        deps.push(Arc::clone(dep));
    }
    out.push(Arc::clone(role_use));
}
