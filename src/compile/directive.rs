//! Ansible's directives, evaluated while a host is compiled: `set_fact` and `include_vars` add
//! variables for the tasks after them, `fail` and `assert` stop the compile with a located error,
//! and a dynamic `include_tasks` reads its file now that its name can be rendered. `register`
//! binds a value known only after apply: using it in the plan is an error that says so.

use std::path::{Path, PathBuf};

use super::graph::Expanded;
use super::{Compiler, HostRun};
use crate::error::{Error, ErrorKind, Result};
use crate::fields::wrong_type;
use crate::playbook::{find_task_file, Inherit, Loader, RoleCache, TaskSpec};
use crate::registered::{Horizon, Registration, Resume};
use crate::template::{from_jinja, to_jinja, Context, Var};
use crate::yaml::{self, Node};

/// What earlier tasks of this host left for later ones, and where this round stops.
#[derive(Default)]
pub(crate) struct HostState {
    /// `set_fact`, `include_vars` and `register` variables, later ones win.
    pub(crate) facts: Vec<(String, Var)>,
    /// Where this round starts and the results earlier rounds registered.
    pub(crate) resume: Resume,
    /// The position of the next task (includes expanded), counted the same way every round.
    pub(crate) seq: usize,
    /// This round's tasks that register a result.
    pub(crate) registrations: Vec<Registration>,
    /// Set when a task cannot be compiled before earlier tasks ran: the round ends there.
    pub(crate) horizon: Option<Horizon>,
    /// Blocks with a `rescue` whose tasks are in this round: whether they fail is known after it.
    pub(crate) guarded_now: std::collections::BTreeSet<u64>,
    /// `recon check`: a directive that would define variables read a stand-in, so a variable
    /// found undefined later may be one it defines on a real host.
    pub(crate) vars_unknown: bool,
    /// `recon check`: the tasks being compiled are inside an include whose `when` reads a
    /// stand-in, so they may or may not run on a host: their resources are compiled but not
    /// put in the graph, their directives set stand-ins (see `Compiler::undecided_directive`),
    /// and nothing in them is an error (a module for another system's branch may be one recon
    /// cannot run; `recon plan`, with the host's facts, reports what does run).
    pub(crate) undecided: bool,
    /// This round is a delegated task's (see delegate.rs): where it runs.
    pub(crate) delegate: Option<super::graph::Delegate>,
    /// The play's handlers are being compiled (a handler cannot be delegated yet).
    pub(crate) in_handlers: bool,
    /// The task (its position) some items of which this round compiled to run on the host
    /// itself: an item of it delegated elsewhere ends the round after them.
    pub(crate) here_items: Option<usize>,
    /// `run_once` tasks of this round whose result this host shares with its batch.
    pub(crate) shares: Vec<usize>,
}

impl HostState {
    /// A host's state before its first task: its gathered facts, if any, and what earlier
    /// rounds registered.
    pub(super) fn new(facts: Option<&minijinja::Value>, resume: Resume) -> Self {
        let mut state = Self {
            resume,
            ..Self::default()
        };
        for (name, value) in facts.map(super::gathered::names).unwrap_or_default() {
            state.set(&name, Var::Ready(value));
        }
        state
    }

    /// What the plays after this one see of it: every variable set by a directive or a
    /// result, but the gathered facts (each play has its own) and results known only after
    /// apply, which a later play cannot wait for (reading one is an error saying so).
    pub(super) fn carried(&self, gathered: Option<&minijinja::Value>) -> Vec<(String, Var)> {
        let facts: Vec<String> = gathered
            .map(super::gathered::names)
            .unwrap_or_default()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        self.facts
            .iter()
            .filter(|(name, _)| !facts.contains(name) && !name.starts_with("__recon"))
            .map(|(name, value)| {
                let unknown = matches!(value, Var::Raw(n) if n.scalar_text().is_some_and(|t| t.contains("__recon_known_after_apply")));
                let value = if unknown {
                    let text = format!("{{{{ __recon_registered_in_an_earlier_play({name:?}) }}}}");
                    match value {
                        Var::Raw(n) => Var::Raw(Node::string(text, n.span.clone())),
                        Var::Ready(_) => value.clone(),
                    }
                } else {
                    value.clone()
                };
                (name.clone(), value)
            })
            .collect()
    }

    pub(super) fn set(&mut self, name: &str, value: Var) {
        self.facts.retain(|(n, _)| n != name);
        self.facts.push((name.to_owned(), value));
    }

    /// `register: name` of a task of this round: a later task that reads `name` ends the round
    /// (for `recon check`, `check_only`, it reads a stand-in instead).
    pub(super) fn register_unknown(&mut self, name: &str, spec: &TaskSpec, check_only: bool) {
        if check_only {
            self.set(name, Var::Ready(crate::template::stand_in_result()));
            return;
        }
        let text = format!("{{{{ __recon_known_after_apply({name:?}) }}}}");
        self.set(name, Var::Raw(Node::string(text, spec.span.clone())));
    }
}

impl Compiler<'_> {
    /// Evaluates `spec` if it is a directive; `Ok(false)` for resources.
    pub(super) fn directive(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        ctx: &Context,
        state: &mut HostState,
        out: &mut Vec<Expanded>,
    ) -> Result<bool> {
        match spec.kind.as_str() {
            "set_fact" => {
                let rendered;
                let args = if spec.args.as_map().is_some() {
                    &spec.args
                } else {
                    rendered = self.templar.render_node(&spec.args, ctx)?;
                    &rendered
                };
                let entries = args
                    .as_map()
                    .ok_or_else(|| wrong_type(args, "a mapping of facts", "`set_fact`"))?;
                for (k, v) in entries {
                    if k.key() == "cacheable" {
                        continue;
                    }
                    // `recon check`: text made from a stand-in is one itself, not the text a
                    // stand-in prints (a path would then look relative); a list or mapping
                    // made from one (`facts.mounts | map(attribute='mount') | list`) stays
                    // what it is, so later tasks can add to it.
                    let value = to_jinja(&self.templar.render_node(v, ctx)?);
                    let value = if self.options.check_only
                        && value
                            .as_str()
                            .is_some_and(|t| t.contains(crate::template::STAND_IN_TEXT))
                    {
                        crate::template::stand_in_result()
                    } else {
                        value
                    };
                    state.set(k.key(), Var::Ready(value));
                }
            }
            "include_vars" => self.include_vars(spec, ctx, state)?,
            "fail" => {
                let msg = match spec.args.get("msg") {
                    Some(node) => self.templar.render_string(node, ctx)?,
                    None => "Failed as requested from task".to_owned(),
                };
                return Err(fail(&msg, spec));
            }
            "assert" => self.assert(spec, ctx)?,
            "include_tasks" | "import_tasks" | "include" => {
                self.dynamic_include(run, spec, ctx, state, out)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `recon check` of a directive that may or may not run on a host (its `when` reads a
    /// stand-in, or it is inside an include whose `when` does): `fail` and `assert` fail
    /// nothing; `set_fact` sets each of its names to a stand-in; `include_vars` loads what it
    /// would (a name read from a stand-in loads every file it may be), and a failure to leaves
    /// later undefined variables unknown; an include compiles its tasks as undecided too.
    /// `Ok(false)`: not a directive.
    pub(super) fn undecided_directive(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        ctx: &Context,
        state: &mut HostState,
        out: &mut Vec<Expanded>,
    ) -> Result<bool> {
        match spec.kind.as_str() {
            "fail" | "assert" => {}
            "set_fact" => {
                for (k, _) in spec.args.as_map().unwrap_or_default() {
                    if k.key() != "cacheable" {
                        state.set(k.key(), Var::Ready(crate::template::stand_in_result()));
                    }
                }
            }
            "include_vars" => {
                if self.include_vars(spec, ctx, state).is_err() {
                    state.vars_unknown = true;
                }
            }
            "include_tasks" | "import_tasks" | "include" => {
                let was = std::mem::replace(&mut state.undecided, true);
                let included = self.dynamic_include(run, spec, ctx, state, out);
                state.undecided = was;
                included?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn assert(&self, spec: &TaskSpec, ctx: &Context) -> Result<()> {
        let that = spec
            .args
            .get("that")
            .ok_or_else(|| Error::invalid("`assert` needs `that`", &spec.args.span))?;
        let conditions = match that.as_seq() {
            Some(items) => items.to_vec(),
            None => vec![that.clone()],
        };
        for condition in &conditions {
            if !self.templar.condition(condition, ctx)? {
                let msg = match spec.args.get("fail_msg").or_else(|| spec.args.get("msg")) {
                    Some(node) => self.templar.render_string(node, ctx)?,
                    None => format!(
                        "assertion failed: {}",
                        condition.scalar_text().unwrap_or_default()
                    ),
                };
                return Err(fail(&msg, spec).with_span(&condition.span));
            }
        }
        Ok(())
    }

    fn include_vars(&self, spec: &TaskSpec, ctx: &Context, state: &mut HostState) -> Result<()> {
        let (file_node, name) = match spec.args.as_map() {
            Some(_) => (
                spec.args
                    .get("file")
                    .or_else(|| spec.args.get(crate::ansible::RAW))
                    .ok_or_else(|| {
                        Error::invalid("`include_vars` needs `file`", &spec.args.span)
                            .with_label("here")
                    })?,
                spec.args
                    .get("name")
                    .map(|n| self.templar.render_string(n, ctx))
                    .transpose()?,
            ),
            None => (&spec.args, None),
        };
        let file = self.templar.render_string(file_node, ctx)?;
        let role_vars = spec.role.as_ref().map(|r| r.role.dir.join("vars"));
        let mut dirs: Vec<PathBuf> = role_vars.into_iter().collect();
        dirs.extend([
            spec.dir.join("../vars"),
            spec.dir.clone(),
            self.playbook.dir.join("vars"),
            self.playbook.dir.clone(),
        ]);
        if self.options.check_only && file.contains(crate::template::STAND_IN_TEXT) {
            if let Some(candidates) = crate::template::stand_in_matches(&file, &dirs) {
                return include_vars_per_host(&file, file_node, &candidates, name, state);
            }
        }
        let path = dirs
            .iter()
            .map(|d| d.join(&file))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                Error::invalid(format!("vars file `{file}` not found"), &file_node.span)
                    .with_label("not found")
            })?;
        let node = yaml::load_file(&path)?;
        if let Some(name) = name {
            state.set(&name, Var::Raw(node));
            return Ok(());
        }
        if node.is_null() {
            return Ok(());
        }
        let entries = node
            .as_map()
            .ok_or_else(|| wrong_type(&node, "a mapping of variables", "a vars file"))?;
        for (k, v) in entries {
            state.set(k.key(), Var::Raw(v.clone()));
        }
        Ok(())
    }

    fn dynamic_include(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        ctx: &Context,
        state: &mut HostState,
        out: &mut Vec<Expanded>,
    ) -> Result<()> {
        let file_node = spec.args.get("file").unwrap_or(&spec.args);
        let file = self.templar.render_string(file_node, ctx)?;
        let path =
            find_task_file(&file, &spec.dir, spec.role_tasks.as_deref()).ok_or_else(|| {
                Error::invalid(format!("task file `{file}` not found"), &file_node.span)
                    .with_label("not found")
            })?;
        let mut vars = spec.vars.clone();
        if let Some(l) = &spec.loop_items {
            if let Some(item) = ctx.resolve(&l.var)? {
                vars.push((l.var.clone(), from_jinja(&item, &spec.span)));
            }
        }
        let inherit = Inherit {
            tags: spec.tags.clone(),
            vars,
            become_: spec.become_,
            become_user: spec.become_user.clone(),
            sensitive: spec.sensitive,
            run_once: spec.run_once,
            role: spec.role.clone(),
            dir: spec.dir.clone(),
            role_tasks: spec.role_tasks.clone(),
            block_part: spec.block_part,
            environment: spec.environment.clone(),
            ..Inherit::default()
        };
        let mut roles = RoleCache::default();
        let mut loader = Loader {
            roles: &mut roles,
            playbook_dir: self.playbook.dir.clone(),
            included_roles: Vec::new(),
            errors: Vec::new(),
        };
        let tasks = loader.task_file(&path, &inherit, file_node)?;
        if let Some(err) = Error::many(std::mem::take(&mut loader.errors)) {
            return Err(err);
        }
        for task in &tasks {
            self.task(run, task, state, out)?;
            if state.horizon.is_some() {
                break;
            }
        }
        Ok(())
    }
}

fn fail(msg: &str, spec: &TaskSpec) -> Error {
    Error::at(
        ErrorKind::InvalidValue {
            message: msg.to_owned(),
        },
        &spec.span,
    )
    .with_label("failed here")
}

/// `with_fileglob`: files (not folders) matching each pattern, sorted per pattern, as
/// absolute paths (see `template::fileglob`).
pub(super) fn fileglob(patterns: &[String], dirs: &[PathBuf]) -> Vec<String> {
    patterns
        .iter()
        .flat_map(|p| crate::template::fileglob(p, dirs))
        .collect()
}

/// Says once per task (not once per host) that `recon check` cannot know which vars file a
/// host picks, and which files it checked instead: valid, but not decided.
fn note_per_host(file_node: &Node, candidates: &[PathBuf]) {
    static NOTED: std::sync::Mutex<Vec<(String, usize, usize)>> = std::sync::Mutex::new(Vec::new());
    let at = file_node.span.location();
    let key = (at.file.clone(), at.line, at.column);
    let mut noted = NOTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if noted.contains(&key) {
        return;
    }
    noted.push(key);
    let names: Vec<String> = candidates
        .iter()
        .map(|p| crate::source::display_path(p))
        .collect();
    eprintln!(
        "{}",
        crate::secret::scrub(&format!(
            "note: {}:{}:{}: `include_vars` picks its file per host once the host's facts are known; checked every file it can pick: {}",
            at.file,
            at.line,
            at.column,
            names.join(", ")
        ))
    );
}

/// The variables a vars file defines (none when it is empty, or loaded under one `name`).
fn vars_names(path: &Path, named: bool) -> Result<Vec<String>> {
    let node = yaml::load_file(path)?;
    if node.is_null() || named {
        return Ok(Vec::new());
    }
    let entries = node
        .as_map()
        .ok_or_else(|| wrong_type(&node, "a mapping of variables", "a vars file"))?;
    Ok(entries.iter().map(|(k, _)| k.key().to_owned()).collect())
}

/// `recon check` of an `include_vars` whose file is named after host facts (or a
/// `first_found` that reads them): the file is chosen per host once its facts are known,
/// so every file that can match is loaded and checked, and each variable any of them
/// defines stands in for its per-host value (the tasks after it are checked, not
/// skipped). No file that can match is an error: every host would fail there. A match that
/// is no vars file in a later folder than the first match's (a role's `tasks/deploy.yml` for
/// `vars/{{ os_family }}.yml`'s pattern) is skipped: only a fact named like it could pick it.
fn include_vars_per_host(
    file: &str,
    file_node: &Node,
    candidates: &[PathBuf],
    name: Option<String>,
    state: &mut HostState,
) -> Result<()> {
    if candidates.is_empty() {
        // Whatever the facts are, no file matches: the stand-in did not cause this.
        let _ = crate::template::take_stand_in_touched();
        let pattern = file.replace(crate::template::STAND_IN_TEXT, "*");
        return Err(Error::invalid(
            format!("no vars file can match `{pattern}` (the `*` is a host's fact)"),
            &file_node.span,
        )
        .with_label("no host finds a file here"));
    }
    let stand_in = || Var::Ready(crate::template::stand_in_result());
    let home = candidates.first().and_then(|p| p.parent());
    let mut checked = Vec::new();
    for path in candidates {
        match vars_names(path, name.is_some()) {
            Ok(names) => {
                checked.push(path.clone());
                for k in names {
                    state.set(&k, stand_in());
                }
            }
            Err(_) if path.parent() != home => {}
            Err(err) => {
                // A broken candidate is broken whatever the facts: no stand-in's doing.
                let _ = crate::template::take_stand_in_touched();
                return Err(err);
            }
        }
    }
    note_per_host(file_node, &checked);
    if let Some(name) = name {
        state.set(&name, stand_in());
    }
    Ok(())
}
