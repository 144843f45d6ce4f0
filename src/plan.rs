//! Plain data for plans: what will change on each host and why. The human renderer and `--json`
//! read the same structs; saved plans serialize them with the scripts that carry them out.

use serde::{Deserialize, Serialize};

use crate::registered::{Deferred, RegisterTag};
use crate::source::Location;

/// What a step does to its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Action {
    Create,
    Update,
    Delete,
    Run,
}

impl Action {
    pub(crate) fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
            Action::Run => '!',
        }
    }
}

/// The attributes a change can touch; closed, so probe, diff and apply cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Field {
    Content,
    Mode,
    Owner,
    Group,
    Target,
    Kind,
    /// Releases a `release` resource removes (`keep:`).
    Prune,
    /// Temp files or folders an interrupted run left, removed.
    Leftovers,
    /// A Debian package and its version (`package`).
    Package,
    /// A numeric user or group id.
    Uid,
    Gid,
    /// An account's login shell, home folder, primary group and supplementary groups.
    Shell,
    Home,
    Primary,
    Groups,
    /// Whether an account or group is a system one (shown when created).
    System,
    /// An account's password hash: only ever shown as `(set)` or `(changed)`, never the hash.
    Password,
    /// Whether an account's password is locked (its shadow entry starts with `!`).
    Locked,
    /// One `authorized_keys` line (type, key, comment, options).
    Key,
    /// A running state (a service's, or the firewall's on/off) and whether a service starts at
    /// boot.
    State,
    Enabled,
    /// Whether systemd refuses to start a unit at all (`service` `masked`).
    Masked,
    /// ufw's log level (`firewall` `logging`).
    Logging,
    /// A cron entry's line (schedule and job) and its environment lines.
    Entry,
    /// A git checkout's commit (`git`).
    Commit,
    /// A git checkout's remote URL (`git`).
    Remote,
    /// One compose service's container: created, recreated, started or removed (`docker_compose`).
    Service,
    /// One firewall rule (`firewall`).
    Rule,
    /// A firewall default policy (`firewall`).
    Policy,
    /// A shared path a new release links to (`release: { shared }`).
    Shared,
    /// A command that prepares a new release before it goes live (`release: { prepare }`).
    Prepare,
    /// A kernel parameter's value in its sysctl file (`sysctl`).
    Value,
}

/// One attribute's before and after (`None` = absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FieldDiff {
    pub(crate) field: Field,
    pub(crate) before: Option<String>,
    pub(crate) after: Option<String>,
}

/// A planned change to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Change {
    pub(crate) action: Action,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) fields: Vec<FieldDiff>,
    /// Unified diff of the content, when both sides are text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) diff: Option<String>,
    /// Why it happens (a guard that failed, a changed notifier, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// Upkeep that changes nothing a running service sees (pruning old releases): it never
    /// triggers handlers or reactions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) housekeeping: bool,
}

impl Change {
    pub(crate) fn new(action: Action) -> Self {
        Self {
            action,
            fields: Vec::new(),
            diff: None,
            reason: None,
            housekeeping: false,
        }
    }

    pub(crate) fn field(
        mut self,
        field: Field,
        before: Option<String>,
        after: Option<String>,
    ) -> Self {
        self.fields.push(FieldDiff {
            field,
            before,
            after,
        });
        self
    }

    pub(crate) fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// One step of a host's plan: a task or a handler with its change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Step {
    /// Position in the host's graph order; handlers come after tasks.
    pub(crate) id: usize,
    pub(crate) task: String,
    pub(crate) kind: String,
    pub(crate) resource: String,
    pub(crate) change: Change,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) handler: bool,
    /// For handlers: the steps whose change triggers it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) triggered_by: Vec<usize>,
    /// Steps of this plan this one depends on (directly or through unchanged resources); when one
    /// of them fails, this step is skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) depends_on: Vec<usize>,
    /// The task in its file, for errors about this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) at: Option<Location>,
    /// The task is `no_log`/`sensitive`: its diff and its output are never shown or stored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) sensitive: bool,
    /// Its task registers the result (`register:`): which task and loop item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) register: Option<RegisterTag>,
    /// A failure does not fail the host (`ignore_errors`, `failed_when`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) ignore_errors: bool,
    /// In a block with a `rescue` (its group): a failure skips the rest of the block and runs
    /// the rescue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rescue_group: Option<u64>,
    /// Its task is delegated (`delegate_to`, `local_action`): the host whose connection runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delegated_to: Option<String>,
}

/// The plan for one host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HostPlan {
    pub(crate) host: String,
    pub(crate) play: String,
    pub(crate) steps: Vec<Step>,
    /// Resources already in their desired state.
    pub(crate) unchanged: usize,
    /// Why this host cannot be planned (unreachable, a conflict on the host); no steps then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Where the error points (the task whose resource the host's state refuses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error_at: Option<Location>,
    /// The play's tasks from here on are planned once earlier steps ran (known after apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deferred: Option<Deferred>,
    /// What registered tasks found converged printed when their probe answer is their result
    /// (a bridged module's check-mode result): the registered value of a task with no step.
    #[serde(skip)]
    pub(crate) converged: Vec<(RegisterTag, String)>,
}

impl HostPlan {
    pub(crate) fn count(&self, action: Action) -> usize {
        self.steps
            .iter()
            .filter(|s| !s.handler && s.change.action == action)
            .count()
    }

    pub(crate) fn handlers(&self) -> usize {
        self.steps.iter().filter(|s| s.handler).count()
    }

    /// Steps to run, or tasks that can only be planned after they ran.
    pub(crate) fn has_changes(&self) -> bool {
        !self.steps.is_empty() || self.deferred.is_some()
    }
}
