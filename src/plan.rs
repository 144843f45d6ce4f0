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

/// An attribute a change can touch, as plans show it and saved plans store it (its `name`).
/// Open: the attributes several kinds share are declared here; a kind's own attribute is a
/// `const` in its file, listed in its `Resource::FIELDS` so that a saved plan naming it reads
/// back. What the plan shows specially is a property declared with the attribute, not a match
/// on its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    name: &'static str,
    /// Its value is the text the change's diff shows: with a diff, the plan gives its size.
    diffed: bool,
}

impl Field {
    /// A file's bytes (`file`, `template`, `line`, `block`, releases' markers ...).
    pub(crate) const CONTENT: Field = Field::new("content").diffed();
    pub(crate) const MODE: Field = Field::new("mode");
    pub(crate) const OWNER: Field = Field::new("owner");
    pub(crate) const GROUP: Field = Field::new("group");
    /// A link's target (`symlink`, a release's or a cutover's current link).
    pub(crate) const TARGET: Field = Field::new("target");
    /// What a path is (a file where a directory should be).
    pub(crate) const KIND: Field = Field::new("kind");
    /// Temp files or folders an interrupted run left, removed.
    pub(crate) const LEFTOVERS: Field = Field::new("leftovers");
    /// A package and its version (`package`, `apt_upgrade`, `pip`).
    pub(crate) const PACKAGE: Field = Field::new("package");
    /// Whether an account or group is a system one (shown when created).
    pub(crate) const SYSTEM: Field = Field::new("system");
    /// A running state (a service's, the firewall's on/off, a kernel parameter's live value).
    pub(crate) const STATE: Field = Field::new("state");

    /// The attributes declared here, known to every reader of a plan.
    pub(crate) const COMMON: &'static [Field] = &[
        Field::CONTENT,
        Field::MODE,
        Field::OWNER,
        Field::GROUP,
        Field::TARGET,
        Field::KIND,
        Field::LEFTOVERS,
        Field::PACKAGE,
        Field::SYSTEM,
        Field::STATE,
    ];

    /// An attribute shown as `name: before -> after`.
    pub(crate) const fn new(name: &'static str) -> Self {
        Self {
            name,
            diffed: false,
        }
    }

    /// The same attribute, its value being what the change's diff shows.
    pub(crate) const fn diffed(self) -> Self {
        Self {
            diffed: true,
            ..self
        }
    }

    /// How plans, `--json` and saved plans name it.
    pub(crate) fn name(self) -> &'static str {
        self.name
    }

    /// Whether a change's diff shows its value (the plan then gives only its size).
    pub(crate) fn is_diffed(self) -> bool {
        self.diffed
    }
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name)
    }
}

thread_local! {
    /// The attributes the kinds declare, while `reading` a plan: what a name reads back as.
    static DECLARED: std::cell::RefCell<Vec<Field>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `read` (deserializing plans) with `declared` (every kind's attributes) known, so each
/// name reads back as its attribute; outside, only `Field::COMMON` is known. Plan data cannot
/// ask the resource kinds itself: they sit above it.
pub(crate) fn reading<T>(declared: Vec<Field>, read: impl FnOnce() -> T) -> T {
    let before = DECLARED.with(|d| d.replace(declared));
    let out = read();
    DECLARED.with(|d| d.replace(before));
    out
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        let known = |fields: &[Field]| fields.iter().copied().find(|f| f.name == name);
        known(Field::COMMON)
            .or_else(|| DECLARED.with(|d| known(&d.borrow())))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "it names the attribute `{name}`, which no resource kind of this recon has \
                     (a plan made by another version: plan again)"
                ))
            })
    }
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
