//! `run_once: true`: as in Ansible, the task runs for the first host of each batch (`serial`)
//! only; the other hosts of the batch skip it. A result it registers is every host's of the
//! batch: the first host's round ends after the task and shares the result once it is known,
//! the others' rounds end at the task and their next round takes it (`Why::Once`; the sharing
//! is `command/shared.rs`). Directives (`set_fact`, ...) are evaluated for every host, which is
//! what Ansible's "the result applies to the whole batch" gives them.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::directive::HostState;
use super::{Compiler, HostRun};
use crate::playbook::{Play, Playbook, TaskSpec};
use crate::registered::Why;

/// Per play, each host's batch leader (the first host of its batch), built once per play:
/// deciding `run_once` never walks the play's hosts per task.
pub(super) struct FirstOfBatch(Vec<OnceLock<HashMap<String, String>>>);

impl FirstOfBatch {
    /// Room for every play of `playbook`.
    pub(super) fn new(playbook: &Playbook) -> Self {
        Self(playbook.plays.iter().map(|_| OnceLock::new()).collect())
    }
}

impl Compiler<'_> {
    /// Whether `spec` is a `run_once` task that another host of this host's batch runs
    /// (`recon check` compiles every task).
    pub(super) fn runs_once_elsewhere(&self, run: &HostRun<'_>, spec: &TaskSpec) -> bool {
        if !spec.run_once || self.options.check_only {
            return false;
        }
        self.leader_of(run).is_some_and(|first| first != run.host)
    }

    /// After a `run_once` task that registers (at `seq`, compiled in this round): the round
    /// ends after it, on the batch's first host to share its result, on the others to take it.
    pub(super) fn share_once(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        seq: usize,
        state: &mut HostState,
    ) {
        if !spec.run_once
            || spec.register.is_none()
            || self.options.check_only
            || seq < state.resume.at
        {
            return;
        }
        let Some(first) = self.leader_of(run) else {
            return;
        };
        let leader = if first == run.host {
            state.shares.push(seq);
            None
        } else {
            Some(first)
        };
        if state.horizon.is_none() {
            let why = Why::Once { leader };
            state.horizon = Some(super::rounds::horizon_at(spec, seq + 1, why));
        }
    }

    /// The first host of `run`'s host's batch.
    fn leader_of(&self, run: &HostRun<'_>) -> Option<String> {
        let leaders = self
            .playbook
            .plays
            .iter()
            .position(|p| std::ptr::eq(p, run.play))
            .and_then(|i| self.first_of_batch.0.get(i));
        match leaders {
            Some(slot) => slot
                .get_or_init(|| self.leaders(run.play))
                .get(run.host)
                .cloned(),
            None => self.leaders(run.play).get(run.host).cloned(),
        }
    }

    /// Every host of `play` (after `--limit`, in play order) with the first host of its batch.
    fn leaders(&self, play: &Play) -> HashMap<String, String> {
        let hosts: Vec<String> = self
            .play_hosts(play)
            .try_iter()
            .map(|items| {
                items
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let sizes = super::serial::batch_sizes(play.serial.as_ref(), hosts.len())
            .unwrap_or_else(|_| vec![0]);
        super::serial::batches(&hosts, &sizes)
            .into_iter()
            .flat_map(|chunk| {
                let first = chunk.first().cloned().unwrap_or_default();
                chunk.iter().map(move |h| (h.clone(), first.clone()))
            })
            .collect()
    }
}
