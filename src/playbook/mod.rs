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
];

/// A loaded playbook file.
#[derive(Debug)]
pub(crate) struct Playbook {
    pub(crate) path: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) plays: Vec<Play>,
}

impl Playbook {
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
    pub(crate) roles: Vec<RoleUse>,
    pub(crate) tasks: Vec<TaskSpec>,
    pub(crate) handlers: Vec<TaskSpec>,
    pub(crate) serial: Option<Node>,
    pub(crate) become_: bool,
    /// The play's `remote_user` keyword: the SSH user where the host sets no `ansible_user`.
    pub(crate) remote_user: Option<String>,
}

/// A role applied in a play, with its parameters.
#[derive(Debug)]
pub(crate) struct RoleUse {
    pub(crate) role: Arc<Role>,
    pub(crate) params: Vec<(String, Node)>,
}

/// A task as written. `role` is set for tasks that come from a role (template lookup, role vars).
#[derive(Debug, Clone)]
pub(crate) struct TaskSpec {
    pub(crate) name: Option<Node>,
    pub(crate) kind: String,
    pub(crate) args: Node,
    pub(crate) notify: Vec<(String, Span)>,
    pub(crate) listen: Vec<String>,
    pub(crate) when: Option<Node>,
    pub(crate) loop_items: Option<Node>,
    pub(crate) tags: Vec<String>,
    pub(crate) after: Vec<(String, Span)>,
    /// Node-wide resources this task takes (`port`, `server_name`, `program`, ...), checked
    /// across every target on the same node.
    pub(crate) claims: Option<Node>,
    pub(crate) vars: Vec<(String, Node)>,
    pub(crate) become_: Option<bool>,
    /// `no_log: true` or `sensitive: true`: the task's content, diff and output are secret.
    pub(crate) sensitive: bool,
    pub(crate) span: Span,
}
