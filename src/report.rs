//! What an apply did, as plain data: step results and each host's report, written by
//! `apply.rs`, read by the recap (`render/report.rs`), `--json` and `recon report merge`. Apart
//! from `apply.rs` (like `plan.rs` for plans) so that the renderers need not import the module
//! that sends writes to hosts.

use serde::{Deserialize, Serialize};

use crate::transport::Stats;

/// What happened to one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StepStatus {
    Changed,
    /// A guard turned true during the apply: nothing was needed after all.
    Ok,
    Failed,
    /// A step it depends on failed.
    Skipped,
    /// It failed, and its task says to go on (`ignore_errors`, `failed_when`).
    Ignored,
    /// It failed inside a block with a `rescue`: the rest of the block was skipped and the
    /// rescue runs next.
    Caught,
    /// Ctrl-C came before it started.
    Interrupted,
    /// The script ended before reaching it (connection lost).
    Unknown,
}

/// One step's result, with the tail of its output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StepResult {
    pub(crate) id: usize,
    pub(crate) status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) output: String,
    /// Its error output apart from `output` (only for steps whose result is registered).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) stderr: String,
    /// The step's task in its file (on failures), so `--json` consumers can point at it too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) at: Option<crate::source::Location>,
}

/// How a host's apply ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "message", rename_all = "lowercase")]
pub(crate) enum Outcome {
    Ok,
    Failed(String),
    Unreachable(String),
    Interrupted,
}

/// One host's apply, for the recap and `--json` (read back by `recon report merge`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HostReport {
    pub(crate) host: String,
    pub(crate) play: String,
    pub(crate) outcome: Outcome,
    pub(crate) unchanged: usize,
    pub(crate) steps: Vec<StepResult>,
    pub(crate) stats: Stats,
    /// The apply script found the plan stale and changed nothing (a delegated round is then
    /// planned again: hosts delegating to one host race for its state).
    #[serde(skip)]
    pub(crate) stale: bool,
}

impl HostReport {
    pub(crate) fn count(&self, status: StepStatus) -> usize {
        self.steps.iter().filter(|s| s.status == status).count()
    }
}
