//! Playbooks and roles as written: names are still names, arguments are still unrendered YAML.
//! `compile` resolves them, once.

mod parse;
mod role;
mod tasks;
mod validate;

use std::path::PathBuf;
use std::sync::Arc;

pub(crate) use parse::load;
pub(crate) use role::{Role, RoleCache};
pub(crate) use tasks::{find_task_file, Inherit, Loader};

use crate::source::Span;
use crate::yaml::Node;

/// Task keywords other than the resource key.
pub(crate) const TASK_KEYWORDS: &[&str] = &[
    "name",
    "notify",
    "when",
    "loop",
    "tags",
    "after",
    "vars",
    "become",
    "listen",
    "claims",
    "no_log",
    "sensitive",
    "allow_lockout",
    "register",
    "loop_control",
    "with_items",
    "with_list",
    "with_dict",
    "with_fileglob",
    "with_first_found",
    "with_together",
    "with_nested",
    "with_cartesian",
    "with_subelements",
    "with_sequence",
    "with_indexed_items",
    "with_lines",
    "with_file",
    "with_env",
    "with_dict_items",
    "with_flattened",
    "with_community.general.flattened",
    "args",
    "action",
    "local_action",
    "delegate_to",
    "run_once",
    "become_user",
    "become_method",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "until",
    "retries",
    "delay",
];

/// A loaded playbook file.
#[derive(Debug)]
pub(crate) struct Playbook {
    pub(crate) path: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) plays: Vec<Play>,
}

impl Playbook {
    /// A play's `hosts:` written as a template (`"{{ target | default('all') }}"`) is rendered
    /// once, with the extra variables (`-e`), as Ansible does before it selects the hosts.
    pub(crate) fn resolve_hosts(&mut self, extra: &[(String, Node)]) -> crate::error::Result<()> {
        use crate::template::{Context, Templar, Var};
        let templar = Arc::new(Templar::new());
        let vars = extra
            .iter()
            .map(|(k, v)| (k.clone(), Var::Raw(v.clone())))
            .collect();
        let ctx = Context::new(&templar, vars);
        for play in &mut self.plays {
            if Templar::has_template(&play.hosts) {
                let node = Node::string(play.hosts.clone(), play.hosts_span.clone());
                play.hosts = templar.render_string(&node, &ctx)?;
            }
        }
        Ok(())
    }

    /// `--become`: every play as if it said `become: true` (a task's own `become:` still wins).
    pub(crate) fn become_all(&mut self, become_: bool) {
        if become_ {
            for play in &mut self.plays {
                play.become_ = true;
            }
        }
    }
}

/// One play: a host pattern and the tasks to converge on it.
#[derive(Debug)]
pub(crate) struct Play {
    pub(crate) name: String,
    pub(crate) hosts: String,
    pub(crate) hosts_span: Span,
    pub(crate) vars: Vec<(String, Node)>,
    pub(crate) vars_files: Vec<Node>,
    pub(crate) roles: Vec<Arc<RoleUse>>,
    /// Roles brought in by `include_role`/`import_role` anywhere in the play: their handlers and
    /// defaults belong to the play too.
    pub(crate) included_roles: Vec<Arc<RoleUse>>,
    /// `pre_tasks`, the roles' tasks, `tasks`, `post_tasks`, in that order.
    pub(crate) tasks: Vec<TaskSpec>,
    pub(crate) handlers: Vec<TaskSpec>,
    pub(crate) serial: Option<Node>,
    /// `max_fail_percentage`: a rolling batch with a larger share of failed hosts stops the play.
    pub(crate) max_fail_percentage: Option<Node>,
    pub(crate) become_: bool,
    /// The play's `remote_user` keyword: the SSH user where the host sets no `ansible_user`.
    pub(crate) remote_user: Option<String>,
    /// `gather_facts` (Ansible's default: true); facts are gathered only if the play names one.
    pub(crate) gather_facts: bool,
}

impl Play {
    /// Every role the play uses (`roles:` and includes), each folder once: whose handlers,
    /// defaults and vars the play has.
    pub(crate) fn all_roles(&self) -> Vec<&Arc<RoleUse>> {
        let mut out: Vec<&Arc<RoleUse>> = Vec::new();
        for r in self.roles.iter().chain(&self.included_roles) {
            if !out.iter().any(|o| o.role.dir == r.role.dir) {
                out.push(r);
            }
        }
        out
    }
}

/// A role applied in a play, with its parameters.
#[derive(Debug, Clone)]
pub(crate) struct RoleUse {
    pub(crate) role: Arc<Role>,
    pub(crate) params: Vec<(String, Node)>,
    /// `tags`, `when` and `become` given with the role: passed on to each of its tasks.
    pub(crate) tags: Vec<String>,
    pub(crate) when: Vec<Node>,
    pub(crate) become_: Option<bool>,
}

/// A task as written. `role` is set for tasks that come from a role (template lookup, role vars).
#[derive(Debug, Clone)]
pub(crate) struct TaskSpec {
    pub(crate) name: Option<Node>,
    /// The resource kind or Ansible module, without a collection prefix.
    pub(crate) kind: String,
    /// The key as written (errors about the module point at it).
    pub(crate) key: Node,
    pub(crate) args: Node,
    pub(crate) notify: Vec<(String, Span)>,
    pub(crate) listen: Vec<String>,
    /// Conditions that must all hold: the task's own and those of its blocks and includes.
    pub(crate) when: Vec<Node>,
    pub(crate) loop_items: Option<Loop>,
    pub(crate) tags: Vec<String>,
    pub(crate) after: Vec<(String, Span)>,
    /// Node-wide resources this task takes (`port`, `server_name`, `program`, ...), checked
    /// across every target on the same node.
    pub(crate) claims: Option<Node>,
    pub(crate) vars: Vec<(String, Node)>,
    pub(crate) become_: Option<bool>,
    /// `no_log: true` or `sensitive: true`: the task's content, diff and output are secret.
    pub(crate) sensitive: bool,
    /// `allow_lockout: true`: the task may shut the session's way in (see `door/`).
    pub(crate) allow_lockout: bool,
    /// `register: name`: the result is known only after the task ran.
    pub(crate) register: Option<String>,
    /// `changed_when`, `failed_when`, `ignore_errors`: how the task's result is judged.
    pub(crate) outcome: Outcome,
    /// Inside a block with a `rescue`, or inside the rescue.
    pub(crate) block_part: Option<BlockPart>,
    /// The role this task came from through `include_role`/`import_role`.
    pub(crate) role: Option<Arc<RoleUse>>,
    /// The folder of the file that holds the task (includes resolved at compile).
    pub(crate) dir: PathBuf,
    /// The role's `tasks/` folder, for includes inside a role.
    pub(crate) role_tasks: Option<PathBuf>,
    /// `delegate_to` (or `localhost` for `local_action`), as written: the inventory host whose
    /// connection runs the task, with this host's variables (see `compile/delegate.rs`).
    pub(crate) delegate_to: Option<Node>,
    /// `run_once: true` (its own or its block's): the task runs for the first host of each
    /// batch only (see `compile/once.rs`).
    pub(crate) run_once: bool,
    /// `become_user` other than root (the task's, its block's or its play's), rendered per host:
    /// a `become` task runs as that user (`sudo -u`).
    pub(crate) become_user: Option<Node>,
    /// `environment:` mappings, outermost first (play, blocks, the task's own), rendered per
    /// host: the variables a command runs with (a later mapping wins per name).
    pub(crate) environment: Vec<Node>,
    pub(crate) span: Span,
}

/// A task's place in a block that has a `rescue` or an `always`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockPart {
    /// The block (see `tasks::block_group`).
    pub(crate) group: u64,
    pub(crate) part: Part,
    /// The block has a `rescue`: a failure in it is handled there.
    pub(crate) rescued: bool,
}

/// Which list of its block a task is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Block,
    Rescue,
    /// `last`: the list's last task, after which an unrescued failure fails the host.
    Always {
        last: bool,
    },
}

/// How a task's result is judged, as written (rendered per item at compile, or after the task
/// ran when they read the task's own registered result).
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    pub(crate) changed_when: Option<Node>,
    pub(crate) failed_when: Option<Node>,
    pub(crate) ignore_errors: Option<Node>,
    /// `until` with `retries` and `delay`: a query is run again until the condition holds.
    pub(crate) until: Option<Node>,
    pub(crate) retries: Option<Node>,
    pub(crate) delay: Option<Node>,
}

impl TaskSpec {
    /// The user a `become` task runs as when not root (`become_user`, rendered for this host,
    /// else the host's `ansible_become_user`).
    pub(crate) fn become_user(
        &self,
        templar: &crate::template::Templar,
        ctx: &crate::template::Context,
    ) -> crate::error::Result<Option<String>> {
        let user = match &self.become_user {
            Some(node) => templar.render_string(node, ctx)?,
            // The host's `ansible_become_user`, when no play, block or task says.
            None => match ctx.resolve("ansible_become_user")? {
                Some(value) if !value.is_undefined() && !value.is_none() => value.to_string(),
                _ => return Ok(None),
            },
        };
        let at = self.become_user.as_ref().unwrap_or(&self.key);
        let name_like = user
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'));
        match user.as_str() {
            "root" | "" => Ok(None),
            _ if name_like => Ok(Some(user)),
            _ => Err(tasks::become_user_error(&user, at)),
        }
    }
}

/// Which loop keyword a task used: they differ in how the items are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoopKind {
    /// `loop`, `with_list`: the list as is.
    List,
    /// `with_items`: the list flattened one level.
    Items,
    /// `with_dict`: `{key, value}` items.
    Dict,
    /// `with_fileglob`: control-machine files matching each pattern.
    Fileglob,
    /// `with_NAME` for another lookup (`first_found`, `together`, `nested`, `subelements`,
    /// `sequence`, ...): the items `query(NAME, terms)` returns.
    Lookup(&'static str),
}

/// `with_NAME` keywords that loop over the lookup `NAME`'s results.
pub(crate) const LOOKUP_LOOPS: &[(&str, &str)] = &[
    ("with_first_found", "first_found"),
    ("with_together", "together"),
    ("with_nested", "nested"),
    ("with_cartesian", "nested"),
    ("with_subelements", "subelements"),
    ("with_sequence", "sequence"),
    ("with_indexed_items", "indexed_items"),
    ("with_lines", "lines"),
    ("with_file", "file"),
    ("with_env", "env"),
    ("with_dict_items", "dict"),
    ("with_flattened", "flattened"),
    ("with_community.general.flattened", "flattened"),
];

/// A task's loop and its `loop_control`.
#[derive(Debug, Clone)]
pub(crate) struct Loop {
    pub(crate) kind: LoopKind,
    pub(crate) items: Node,
    /// `loop_control.loop_var` (default `item`).
    pub(crate) var: String,
    pub(crate) index_var: Option<String>,
    pub(crate) label: Option<Node>,
}
