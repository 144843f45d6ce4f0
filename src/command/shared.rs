//! Results a batch shares: a `run_once` task that registers runs on the first host of its
//! batch and its result is every host's of the batch, as in Ansible (`registered::Why::Once`).
//! Hosts plan and apply in parallel, so the first host publishes the result here once it is
//! known and the others wait for it, or for the first host to be done without it (it failed,
//! or its plan stops before the task: known after apply).

use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex, PoisonError};

use minijinja::Value as JValue;

use crate::registered::{NextRound, Resume, Why};

/// The run's shared results, by play position, task position and first host.
#[derive(Default)]
pub(super) struct Board {
    state: Mutex<Shared>,
    changed: Condvar,
}

#[derive(Default)]
struct Shared {
    known: HashMap<(usize, usize, String), JValue>,
    /// Hosts done planning (`false`) or applying (`true`) a play: no result comes from them.
    done: HashSet<(bool, usize, String)>,
    /// The hosts each play runs: a first host left out (`--shard`) shares nothing.
    present: HashSet<(usize, String)>,
}

impl Board {
    /// The hosts play `play` runs (before any of them is planned).
    pub(super) fn present<'h>(&self, play: usize, hosts: impl IntoIterator<Item = &'h str>) {
        let mut state = self.lock();
        for host in hosts {
            state.present.insert((play, host.to_owned()));
        }
    }

    /// `host` is done planning (`applying: false`) or applying play `play`.
    pub(super) fn finish(&self, applying: bool, play: usize, host: &str) {
        self.lock().done.insert((applying, play, host.to_owned()));
        self.changed.notify_all();
    }

    /// Publishes what `next` (a round of `host` just resolved into `resume`) shares, and takes
    /// what it waits for into `resume`: `Err` when the first host of its batch is done without
    /// it (the reason, for the plan or the failure).
    pub(super) fn settle(
        &self,
        next: &NextRound,
        host: &str,
        applying: bool,
        resume: &mut Resume,
    ) -> Result<(), Unshared> {
        let mut state = self.lock();
        for seq in &next.shares {
            if let Some(value) = resume.known.get(seq) {
                state
                    .known
                    .insert((next.play, *seq, host.to_owned()), value.clone());
                self.changed.notify_all();
            }
        }
        let Why::Once {
            leader: Some(first),
        } = &next.horizon.why
        else {
            return Ok(());
        };
        let seq = next.horizon.resume_at.saturating_sub(1);
        let task = &next.horizon.task;
        if !state.present.contains(&(next.play, first.clone())) {
            return Err(Unshared::LeftOut {
                task: task.clone(),
                first: first.clone(),
            });
        }
        loop {
            if let Some(value) = state.known.get(&(next.play, seq, first.clone())) {
                resume.known.insert(seq, value.clone());
                return Ok(());
            }
            if state.done.contains(&(applying, next.play, first.clone())) {
                return Err(Unshared::NotRun {
                    task: task.clone(),
                    first: first.clone(),
                });
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why a host cannot resume after a `run_once` task: the batch's first host, which runs it for
/// all, is left out of this run or finished without running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Unshared {
    LeftOut { task: String, first: String },
    NotRun { task: String, first: String },
}

impl std::fmt::Display for Unshared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (task, first, why) = match self {
            Self::LeftOut { task, first } => (task, first, "which this run leaves out"),
            Self::NotRun { task, first } => (task, first, "which has not run it"),
        };
        write!(
            f,
            "task `{task}` runs once, on `{first}`, the first host of the batch, {why}"
        )
    }
}
