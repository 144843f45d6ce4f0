//! Task lists and variable maps as written: shared by plays (parse.rs) and roles (role.rs).
//! Ansible's structure is resolved here, at load: `block`/`rescue`/`always`, static
//! `import_tasks`/`include_tasks`/`include`, `import_role`/`include_role`, and the keywords they
//! pass on to their tasks (`when`, `tags`, `vars`, `become`). An include whose file name is a
//! template is kept as a task and resolved per host by the compiler.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::role::RoleCache;
use super::{BlockPart, Loop, LoopKind, Outcome, Part, RoleUse, TaskSpec, TASK_KEYWORDS};
use crate::ansible;
use crate::error::{Error, ErrorKind, Result};
use crate::fields::{scalar, wrong_type, Fields};
use crate::resource::{is_kind, KINDS};
use crate::template::Templar;
use crate::yaml::{self, Node};

/// Ansible task keywords recon accepts and does not act on (documented in the README).
pub(crate) const IGNORED_KEYWORDS: &[&str] = &[
    "ignore_unreachable",
    "check_mode",
    "diff",
    "any_errors_fatal",
    "throttle",
    "timeout",
    "debugger",
    "collections",
    "module_defaults",
    "become_flags",
    "become_exe",
    "environment",
    "delegate_facts",
];

/// A block's group number: the same for the same block in every round of a run (its file and
/// offset), so a later round knows which block failed.
fn block_group(node: &Node) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    node.span.file.path.hash(&mut hasher);
    node.span.start.hash(&mut hasher);
    hasher.finish() >> 12
}

/// Keywords of a `block` besides its task lists.
const BLOCK_KEYS: &[&str] = &["block", "rescue", "always"];

/// Include directives whose argument is a task file.
const INCLUDES: &[&str] = &["include_tasks", "import_tasks", "include"];

/// Role directives.
const ROLE_INCLUDES: &[&str] = &["include_role", "import_role"];

/// Where tasks are read from and what they inherit from the blocks and includes around them.
#[derive(Clone, Default)]
pub(crate) struct Inherit {
    pub(crate) when: Vec<Node>,
    pub(crate) tags: Vec<String>,
    pub(crate) vars: Vec<(String, Node)>,
    pub(crate) become_: Option<bool>,
    /// A templated `become_user` on a block or include, checked per host (see `TaskSpec`).
    pub(crate) become_user: Option<Node>,
    /// `no_log` on a block or include: every task inside is sensitive.
    pub(crate) sensitive: bool,
    /// `run_once: true` on a block: every task inside runs once per batch.
    pub(crate) run_once: bool,
    /// `delegate_to` on a block: every task inside delegates (unless it says otherwise).
    pub(crate) delegate_to: Option<Node>,
    /// Inside a block that has a `rescue`, or inside that `rescue` (the innermost such block).
    pub(crate) block_part: Option<BlockPart>,
    pub(crate) role: Option<Arc<RoleUse>>,
    /// The folder of the file being read (relative includes).
    pub(crate) dir: PathBuf,
    /// Role `tasks/` folder, searched after `dir`.
    pub(crate) role_tasks: Option<PathBuf>,
    /// Files being included, outermost first (an include loop is an error, not a hang).
    pub(crate) stack: Vec<PathBuf>,
    /// Where a module name without a namespace is looked up for the bridge: the play's
    /// `collections:`, or in a role's tasks its `meta/main.yml` `collections:` (Ansible does not
    /// pass a play's list into its roles).
    pub(crate) collections: Vec<String>,
    /// `environment:` of the play and the blocks around, outermost first.
    pub(crate) environment: Vec<Node>,
}

/// The loader's state for one task list.
pub(crate) struct Loader<'a> {
    pub(crate) roles: &'a mut RoleCache,
    /// The playbook's folder (role lookup).
    pub(crate) playbook_dir: PathBuf,
    /// Roles brought in by `include_role`/`import_role` (their handlers and defaults join the play).
    pub(crate) included_roles: Vec<Arc<RoleUse>>,
    /// Every task's error, so one run reports them all.
    pub(crate) errors: Vec<Error>,
}

pub(super) fn variables(node: Option<&Node>) -> Result<Vec<(String, Node)>> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    if node.is_null() {
        return Ok(Vec::new());
    }
    let entries = node
        .as_map()
        .ok_or_else(|| wrong_type(node, "a mapping of variables", "variables"))?;
    Ok(entries
        .iter()
        .map(|(k, v)| (k.key().to_owned(), v.clone()))
        .collect())
}

impl Loader<'_> {
    /// Parses a list of tasks, expanding blocks and static includes.
    pub(crate) fn task_list(
        &mut self,
        node: Option<&Node>,
        context: &str,
        inherit: &Inherit,
    ) -> Result<Vec<TaskSpec>> {
        let Some(node) = node.filter(|n| !n.is_null()) else {
            return Ok(Vec::new());
        };
        let items = node
            .as_seq()
            .ok_or_else(|| wrong_type(node, "a list of tasks", context))?;
        let mut out = Vec::new();
        for item in items {
            if let Err(err) = self.task(item, inherit, &mut out) {
                self.errors.push(err);
            }
        }
        Ok(out)
    }

    /// Loads a task file (an include) with what it inherits.
    pub(crate) fn task_file(
        &mut self,
        path: &Path,
        inherit: &Inherit,
        at: &Node,
    ) -> Result<Vec<TaskSpec>> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if inherit.stack.contains(&canonical) {
            return Err(
                Error::invalid(format!("`{}` includes itself", path.display()), &at.span)
                    .with_label("include loop"),
            );
        }
        let node = yaml::load_file(path)?;
        let mut inner = inherit.clone();
        inner.stack.push(canonical);
        inner.dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        self.task_list(Some(&node), "an included task file", &inner)
    }

    /// The full name of module `name` in the control machine's Ansible (run through the
    /// bridge), looked up in `collections` too, or why there is none.
    fn bridge(
        &self,
        name: &str,
        collections: &[String],
    ) -> std::result::Result<String, crate::bridge::BridgeError> {
        let lookup = crate::bridge::Lookup {
            collections: collections.to_vec(),
            ..crate::bridge::Lookup::beside(&self.playbook_dir)
        };
        crate::bridge::resolve(name, &lookup)
    }

    fn task(&mut self, node: &Node, inherit: &Inherit, out: &mut Vec<TaskSpec>) -> Result<()> {
        let entries = node
            .as_map()
            .ok_or_else(|| wrong_type(node, "a mapping", "a task"))?;
        // `block:` with a list is Ansible's task block; with a mapping, recon's `block` resource.
        if node.get("block").is_some_and(|b| b.as_map().is_none()) {
            return self.block(node, inherit, out);
        }
        let mut modules = Vec::new();
        let mut unknown = Vec::new();
        for (key, _) in entries {
            let k = key.key();
            if TASK_KEYWORDS.contains(&k) || IGNORED_KEYWORDS.contains(&k) {
                continue;
            }
            if is_kind(k) || ansible::lookup(k).is_some() {
                modules.push(key);
            } else {
                unknown.push(key);
            }
        }
        // One unknown key and no module: the task's module is one recon lacks (`pkgng`,
        // `zypper_repository`). When the control machine's Ansible has it, it runs through the
        // bridge (`ansible_module`). Under a `when` (its own or inherited) or a loop it is kept
        // anyway, and is an error only on a host where it runs, as Ansible skips it unread
        // elsewhere.
        // Anything else unknown (a misspelt keyword beside a module) is an error now.
        // A name found through `collections:` is kept as its full name, which the compile
        // and the packager then find without the list.
        let mut full_name: Option<String> = None;
        match (modules.as_slice(), unknown.as_slice()) {
            ([], [one]) if conditional(node, inherit) => {
                if !inherit.collections.is_empty() {
                    full_name = self.bridge(one.key(), &inherit.collections).ok();
                }
                modules.push(one);
            }
            ([], [one]) => match self.bridge(one.key(), &inherit.collections) {
                Ok(name) => {
                    full_name = Some(name);
                    modules.push(one);
                }
                Err(why) => {
                    let error = unknown_module(one);
                    return Err(if error.help.is_none() {
                        error.with_help(format!("not a recon resource either, and {why}"))
                    } else {
                        error
                    });
                }
            },
            (_, [first, ..]) => return Err(unknown_module(first)),
            _ => {}
        }
        let (key, args) = match modules.as_slice() {
            [one] => (
                (*one).clone(),
                node.get(one.key())
                    .cloned()
                    .unwrap_or_else(|| Node::string(String::new(), one.span.clone())),
            ),
            [] => {
                let Some(action) = node.get("action").or_else(|| node.get("local_action")) else {
                    let kinds: Vec<String> =
                        KINDS.iter().map(|k| format!("`{}`", k.name)).collect();
                    return Err(Error::at(
                        ErrorKind::NoResource {
                            kinds: kinds.join(", "),
                        },
                        &node.span,
                    )
                    .with_label("this task"));
                };
                action_form(action)?
            }
            [_, second, ..] => {
                let names = modules.iter().map(|k| k.key().to_owned()).collect();
                return Err(
                    Error::at(ErrorKind::SeveralResources { names }, &second.span)
                        .with_label("second resource"),
                );
            }
        };
        let kind = match full_name {
            Some(name) if !inherit.collections.is_empty() => name,
            _ => ansible::canonical(key.key()).to_owned(),
        };
        let delegated = delegation(node, &kind, inherit);
        let allowed: Vec<&str> = TASK_KEYWORDS
            .iter()
            .chain(IGNORED_KEYWORDS)
            .copied()
            .chain([key.key()])
            .collect();
        let f = Fields::new(node, "a task", &allowed)?;
        let args = arguments(&kind, args, f.get("args"))?;
        let mut spec = Self::spec(&f, node, inherit, kind, key, args)?;
        spec.delegate_to = delegated;
        if INCLUDES.contains(&spec.kind.as_str()) {
            return self.include(spec, inherit, out);
        }
        if ROLE_INCLUDES.contains(&spec.kind.as_str()) {
            return self.include_role(&spec, inherit, out);
        }
        out.push(spec);
        Ok(())
    }

    /// A task's keywords, merged with what it inherits.
    fn spec(
        f: &Fields<'_>,
        node: &Node,
        inherit: &Inherit,
        kind: String,
        key: Node,
        args: Node,
    ) -> Result<TaskSpec> {
        let mut when = inherit.when.clone();
        when.extend(conditions(f.get("when")));
        let mut tags = inherit.tags.clone();
        tags.extend(f.string_list("tags")?.into_iter().map(|(s, _)| s));
        let mut vars = inherit.vars.clone();
        vars.extend(variables(f.mapping("vars")?)?);
        Ok(TaskSpec {
            name: f.get("name").cloned(),
            kind,
            key,
            args,
            notify: f
                .string_list("notify")?
                .into_iter()
                .map(|(s, n)| (s, n.span.clone()))
                .collect(),
            listen: f
                .string_list("listen")?
                .into_iter()
                .map(|(s, _)| s)
                .collect(),
            when,
            loop_items: loop_of(f)?,
            tags,
            claims: f.mapping("claims")?.cloned(),
            after: f
                .string_list("after")?
                .into_iter()
                .map(|(s, n)| (s, n.span.clone()))
                .collect(),
            vars,
            become_: become_of(f)?.or(inherit.become_),
            register: f.string("register")?,
            outcome: Outcome {
                changed_when: f.get("changed_when").cloned(),
                failed_when: f.get("failed_when").cloned(),
                ignore_errors: f.get("ignore_errors").cloned(),
                until: f.get("until").cloned(),
                retries: f.get("retries").cloned(),
                delay: f.get("delay").cloned(),
            },
            sensitive: no_log(f)? || f.boolean("sensitive")?.unwrap_or(false) || inherit.sensitive,
            allow_lockout: f.boolean("allow_lockout")?.unwrap_or(false),
            role: inherit.role.clone(),
            dir: inherit.dir.clone(),
            role_tasks: inherit.role_tasks.clone(),
            block_part: inherit.block_part,
            delegate_to: None,
            run_once: f.boolean("run_once")?.unwrap_or(inherit.run_once),
            become_user: templated_become_user(f).or_else(|| inherit.become_user.clone()),
            environment: inherit
                .environment
                .iter()
                .chain(f.get("environment"))
                .cloned()
                .collect(),
            span: node.span.clone(),
        })
    }

    /// `block`, `rescue` and `always` in order. With a `rescue`, the block's tasks and the rescue's
    /// are marked with the block's group: a failure in the block skips the rest of it and runs
    /// the rescue (see registered.rs), otherwise the rescue is skipped.
    fn block(&mut self, node: &Node, inherit: &Inherit, out: &mut Vec<TaskSpec>) -> Result<()> {
        let allowed: Vec<&str> = TASK_KEYWORDS
            .iter()
            .chain(IGNORED_KEYWORDS)
            .chain(BLOCK_KEYS)
            .copied()
            .collect();
        let f = Fields::new(node, "a block", &allowed)?;
        if let Some(given) = f.get("allow_lockout") {
            // Saying "I mean it" for a whole block would cover tasks nobody looked at.
            return Err(Error::invalid(
                "`allow_lockout` is set per task, on the task that may shut the way in",
                &given.span,
            ));
        }
        let mut inner = inherit.clone();
        inner.when.extend(conditions(f.get("when")));
        inner
            .tags
            .extend(f.string_list("tags")?.into_iter().map(|(s, _)| s));
        inner.vars.extend(variables(f.mapping("vars")?)?);
        inner.become_ = become_of(&f)?.or(inherit.become_);
        inner.become_user = templated_become_user(&f).or_else(|| inherit.become_user.clone());
        inner.sensitive =
            inherit.sensitive || no_log(&f)? || f.boolean("sensitive")?.unwrap_or(false);
        inner.run_once = f.boolean("run_once")?.unwrap_or(inherit.run_once);
        inner.environment.extend(f.get("environment").cloned());
        if let Some(to) = f.get("delegate_to") {
            inner.delegate_to = Some(to.clone());
        }
        let listed = |key: &str| {
            f.get(key)
                .filter(|r| r.as_seq().is_some_and(|s| !s.is_empty()))
        };
        let (rescue, always) = (listed("rescue"), listed("always"));
        // A block with a `rescue` or an `always` catches its tasks' failures (see registered.rs).
        let group = (rescue.is_some() || always.is_some()).then(|| block_group(node));
        let part_of = |part: Part| {
            group.map(|group| BlockPart {
                group,
                part,
                rescued: rescue.is_some(),
            })
        };
        let mut guarded = inner.clone();
        guarded.block_part = part_of(Part::Block).or(inherit.block_part);
        let mut tasks = self.task_list(f.get("block"), "`block`", &guarded)?;
        if rescue.is_some() {
            let mut rescuing = inner.clone();
            rescuing.block_part = part_of(Part::Rescue);
            tasks.extend(self.task_list(rescue, "`rescue`", &rescuing)?);
        }
        let mut finally = inner.clone();
        finally.block_part = part_of(Part::Always { last: false }).or(inherit.block_part);
        let mut always_tasks = self.task_list(always, "`always`", &finally)?;
        if let Some(last) = always_tasks.last_mut() {
            last.block_part = part_of(Part::Always { last: true });
        }
        tasks.extend(always_tasks);
        // `ignore_errors` on the block: every task's, where the task gives none.
        if let Some(ignore) = f.get("ignore_errors") {
            for t in &mut tasks {
                if t.outcome.ignore_errors.is_none() {
                    t.outcome.ignore_errors = Some(ignore.clone());
                }
            }
        }
        out.extend(tasks);
        Ok(())
    }

    /// A static include is read now; a templated file name is resolved per host at compile.
    fn include(
        &mut self,
        spec: TaskSpec,
        inherit: &Inherit,
        out: &mut Vec<TaskSpec>,
    ) -> Result<()> {
        let file_node = match spec.args.get("file") {
            Some(n) => n.clone(),
            None => spec.args.clone(),
        };
        let Some(file) = file_node.scalar_text().filter(|s| !s.is_empty()) else {
            return Err(wrong_type(
                &file_node,
                "a task file name",
                &format!("`{}`", spec.kind),
            ));
        };
        if Templar::has_template(file) || spec.loop_items.is_some() {
            out.push(spec);
            return Ok(());
        }
        let Some(path) = find_task_file(file, &spec.dir, spec.role_tasks.as_deref()) else {
            // `include_tasks` is dynamic in Ansible: under a `when` its file is read only where
            // the condition holds (a role may ship `setup-RedHat.yml` only for RedHat, or not
            // at all). `import_tasks` is read at parse time, so its file must exist.
            if spec.kind != "import_tasks" && !spec.when.is_empty() {
                out.push(spec);
                return Ok(());
            }
            return Err(not_found(file, &file_node));
        };
        let inner = Inherit {
            when: spec.when.clone(),
            tags: spec.tags.clone(),
            vars: spec.vars.clone(),
            become_: spec.become_,
            become_user: spec.become_user.clone(),
            sensitive: spec.sensitive,
            run_once: spec.run_once,
            environment: spec.environment.clone(),
            ..inherit.clone()
        };
        out.extend(self.task_file(&path, &inner, &file_node)?);
        Ok(())
    }

    /// `include_role`/`import_role`: the role's tasks (or `tasks_from`), with its variables.
    fn include_role(
        &mut self,
        spec: &TaskSpec,
        inherit: &Inherit,
        out: &mut Vec<TaskSpec>,
    ) -> Result<()> {
        let f = Fields::new(
            &spec.args,
            format!("`{}`", spec.kind),
            &[
                "name",
                "tasks_from",
                "vars_from",
                "defaults_from",
                "handlers_from",
                "apply",
                "public",
                "allow_duplicates",
                "rolespec_validate",
            ],
        )?;
        let name_node = f.require("name")?;
        let name = scalar(name_node, "`name`")?;
        let role = self
            .roles
            .get(&name, &name_node.span, &self.playbook_dir.clone())?;
        let role_use = Arc::new(RoleUse {
            role: Arc::clone(&role),
            params: spec.vars.clone(),
            tags: Vec::new(),
            when: Vec::new(),
            become_: None,
        });
        self.included_roles.push(Arc::clone(&role_use));
        let inner = Inherit {
            when: spec.when.clone(),
            tags: spec.tags.clone(),
            vars: Vec::new(),
            become_: spec.become_,
            become_user: spec.become_user.clone(),
            sensitive: spec.sensitive,
            run_once: spec.run_once,
            delegate_to: inherit.delegate_to.clone(),
            role: Some(Arc::clone(&role_use)),
            dir: role.dir.join("tasks"),
            role_tasks: Some(role.dir.join("tasks")),
            stack: inherit.stack.clone(),
            block_part: spec.block_part,
            collections: role.collections.clone(),
            environment: spec.environment.clone(),
        };
        match f.string("tasks_from")? {
            Some(from) => {
                let from_node = f.require("tasks_from")?;
                let path = find_task_file(&from, &role.dir.join("tasks"), None)
                    .ok_or_else(|| not_found(&from, from_node))?;
                out.extend(self.task_file(&path, &inner, from_node)?);
            }
            None => out.extend(role.tasks.iter().map(|t| {
                let mut t = t.clone();
                let mut when = inner.when.clone();
                when.append(&mut t.when);
                t.when = when;
                t.tags.extend(inner.tags.iter().cloned());
                t.become_ = t.become_.or(inner.become_);
                t.role = Some(Arc::clone(&role_use));
                t
            })),
        }
        Ok(())
    }
}

/// Free-form `key=value` arguments become a mapping; `args:` merges in.
fn arguments(kind: &str, args: Node, extra: Option<&Node>) -> Result<Node> {
    let mut args = match ansible::lookup(kind) {
        Some(entry) if args.scalar_text().is_some() && !args.is_null() => {
            if INCLUDES.contains(&kind) || ROLE_INCLUDES.contains(&kind) || kind == "include_vars" {
                args
            } else {
                ansible::parse_free_form(&args, entry.raw)?
            }
        }
        _ => args,
    };
    if let Some(extra) = extra {
        let more = extra
            .as_map()
            .ok_or_else(|| wrong_type(extra, "a mapping", "`args`"))?;
        if let yaml::Value::Map(entries) = &mut args.value {
            entries.extend(more.iter().cloned());
        } else if args.is_null() || args.scalar_text() == Some("") {
            args = extra.clone();
        }
    }
    Ok(args)
}

/// `name.yml`, `name`, `name.yaml`, in `dir` then the role's `tasks/`.
pub(crate) fn find_task_file(name: &str, dir: &Path, role_tasks: Option<&Path>) -> Option<PathBuf> {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(role_tasks.map(Path::to_path_buf));
    dirs.push(PathBuf::new());
    dirs.iter()
        .flat_map(|d| {
            [
                d.join(name),
                d.join(format!("{name}.yml")),
                d.join(format!("{name}.yaml")),
            ]
        })
        .find(|p| p.is_file())
}

fn not_found(name: &str, at: &Node) -> Error {
    Error::invalid(format!("task file `{name}` not found"), &at.span).with_label("not found")
}

/// Whether the task runs only under a condition: a `when` (its own or from a block, include or
/// role) or a loop (which may be empty). What recon cannot do in such a task is an error only on
/// a host where it runs.
fn conditional(node: &Node, inherit: &Inherit) -> bool {
    !inherit.when.is_empty()
        || node.get("when").is_some()
        || LOOP_KEYS.iter().any(|k| node.get(k).is_some())
        || super::LOOKUP_LOOPS
            .iter()
            .any(|(k, _)| node.get(k).is_some())
}

/// Keys that make a task a loop.
const LOOP_KEYS: &[&str] = &[
    "loop",
    "with_items",
    "with_list",
    "with_dict",
    "with_fileglob",
];

/// Modules evaluated by recon while compiling (nothing runs on any host): delegating them changes
/// nothing, so their `delegate_to` is accepted (`set_fact` with `delegate_to: localhost` and
/// `run_once` is a common idiom).
const UNDELEGATED: &[&str] = &[
    "set_fact",
    "include_vars",
    "debug",
    "meta",
    "fail",
    "assert",
    "include_tasks",
    "import_tasks",
    "include",
    "include_role",
    "import_role",
];

/// The `delegate_to` node of a task that really delegates (its own, else its block's; rendered
/// per host by the compiler):
/// not one of the `UNDELEGATED` modules, and not to the host itself (`{{ inventory_hostname }}`).
/// `local_action` is `delegate_to: localhost`, at the `local_action` key.
fn delegation(node: &Node, kind: &str, inherit: &Inherit) -> Option<Node> {
    if UNDELEGATED.contains(&kind) {
        return None;
    }
    if let Some(local) = node.get("local_action") {
        return Some(Node::string("localhost".to_owned(), local.span.clone()));
    }
    let to = node.get("delegate_to").or(inherit.delegate_to.as_ref())?;
    let text: String = to
        .scalar_text()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    (text != "{{inventory_hostname}}").then(|| to.clone())
}

/// `when: x` or `when: [x, y]` (all must hold).
fn conditions(node: Option<&Node>) -> Vec<Node> {
    match node {
        None => Vec::new(),
        Some(n) => match n.as_seq() {
            Some(items) => items.to_vec(),
            None => vec![n.clone()],
        },
    }
}

/// `become`, with `become_user`/`become_method` checked against what recon can do (sudo to root).
fn become_of(f: &Fields<'_>) -> Result<Option<bool>> {
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
    f.boolean("become")
}

/// `become_user` as written (rendered per host; `root` is kept, so that it overrides a play's or
/// block's other user).
fn templated_become_user(f: &Fields<'_>) -> Option<Node> {
    f.get("become_user").cloned()
}

/// The error for a `become_user` that is not a user name, at `at`.
pub(crate) fn become_user_error(user: &str, at: &Node) -> Error {
    Error::invalid(
        format!("`become_user: {user}` is not a user name"),
        &at.span,
    )
    .with_label("here")
}

/// `loop`, `with_items`, `with_list`, `with_dict`, `with_fileglob`, with `loop_control`.
fn loop_of(f: &Fields<'_>) -> Result<Option<Loop>> {
    let forms = [
        ("loop", LoopKind::List),
        ("with_list", LoopKind::List),
        ("with_items", LoopKind::Items),
        ("with_dict", LoopKind::Dict),
        ("with_fileglob", LoopKind::Fileglob),
    ];
    let lookups = super::LOOKUP_LOOPS
        .iter()
        .map(|(key, name)| (*key, LoopKind::Lookup(name)));
    let Some((kind, items)) = forms
        .into_iter()
        .chain(lookups)
        .find_map(|(key, kind)| f.get(key).map(|n| (kind, n.clone())))
    else {
        return Ok(None);
    };
    let mut out = Loop {
        kind,
        items,
        var: "item".to_owned(),
        index_var: None,
        label: None,
    };
    if let Some(control) = f.mapping("loop_control")? {
        let c = Fields::new(
            control,
            "`loop_control`",
            &[
                "loop_var",
                "index_var",
                "label",
                "pause",
                "extended",
                "extended_allitems",
            ],
        )?;
        if let Some(var) = c.string("loop_var")? {
            out.var = var;
        }
        out.index_var = c.string("index_var")?;
        out.label = c.get("label").cloned();
    }
    Ok(Some(out))
}

/// `action: module args` / `action: { module: x, ... }` → (module key, arguments).
fn action_form(action: &Node) -> Result<(Node, Node)> {
    if let Some(text) = action.scalar_text() {
        let (module, rest) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
        let key = Node::string(module.to_owned(), action.span.clone());
        if !(is_kind(module) || ansible::lookup(module).is_some()) {
            return Err(unknown_module(&key));
        }
        return Ok((key, Node::string(rest.to_owned(), action.span.clone())));
    }
    let module = action
        .get("module")
        .ok_or_else(|| wrong_type(action, "`module: NAME` and its arguments", "`action`"))?;
    let name = scalar(module, "`module`")?;
    let key = Node::string(name, module.span.clone());
    let mut args = action.clone();
    if let yaml::Value::Map(entries) = &mut args.value {
        entries.retain(|(k, _)| k.key() != "module");
    }
    Ok((key, args))
}

fn unknown_module(key: &Node) -> Error {
    if let Some(lookup) = key.key().strip_prefix("with_") {
        let loops: Vec<&str> = TASK_KEYWORDS
            .iter()
            .copied()
            .filter(|k| k.starts_with("with_"))
            .collect();
        return Error::invalid(
            format!(
                "unknown loop `{}`: recon has no lookup `{lookup}` to loop over",
                key.key()
            ),
            &key.span,
        )
        .with_label("this loop")
        .suggest(key.key(), loops);
    }
    ansible::unknown(key, TASK_KEYWORDS)
}

/// `no_log`: a boolean, or a template (`"{{ hide_secrets }}"`), which is known only per host
/// once variables are bound: recon then hides the task's output on every host, which never
/// shows what Ansible would hide (it may hide what Ansible shows when the value is false).
pub(crate) fn no_log(f: &Fields<'_>) -> Result<bool> {
    match f.get("no_log") {
        Some(node) if node.scalar_text().is_some_and(Templar::has_template) => Ok(true),
        _ => Ok(f.boolean("no_log")?.unwrap_or(false)),
    }
}

/// A play's or role's `collections:` list (a single name is a list of one), in search order.
pub(crate) fn collections(node: Option<&Node>) -> Result<Vec<String>> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(Vec::new());
    };
    let items: Vec<&Node> = match node.as_seq() {
        Some(items) => items.iter().collect(),
        None => vec![node],
    };
    items
        .into_iter()
        .map(|item| match item.scalar_text() {
            Some(name) if name.split('.').count() == 2 && !name.contains(char::is_whitespace) => {
                Ok(name.to_owned())
            }
            _ => Err(Error::invalid(
                "`collections` must list collection names (`namespace.collection`)",
                &item.span,
            )),
        })
        .collect()
}
