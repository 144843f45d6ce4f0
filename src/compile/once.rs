//! `run_once: true`: as in Ansible, the task runs for the first host of each batch (`serial`)
//! only; the other hosts of the batch skip it. Recon compiles each host on its own, so a result
//! the task registers could not reach the other hosts: a `run_once` task that registers runs for
//! every host, each with its own result (documented). Directives (`set_fact`, ...) are evaluated
//! for every host, which is what Ansible's "the result applies to the whole batch" gives them.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::{Compiler, HostRun};
use crate::playbook::{Play, Playbook, TaskSpec};

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
    /// Whether `spec` is a `run_once` task that another host of this host's batch runs (it has
    /// no `register`; `recon check` compiles every task).
    pub(super) fn runs_once_elsewhere(&self, run: &HostRun<'_>, spec: &TaskSpec) -> bool {
        if !spec.run_once || spec.register.is_some() || self.options.check_only {
            return false;
        }
        let leaders = self
            .playbook
            .plays
            .iter()
            .position(|p| std::ptr::eq(p, run.play))
            .and_then(|i| self.first_of_batch.0.get(i));
        let leader = match leaders {
            Some(slot) => slot
                .get_or_init(|| self.leaders(run.play))
                .get(run.host)
                .cloned(),
            None => self.leaders(run.play).get(run.host).cloned(),
        };
        leader.is_some_and(|first| first != run.host)
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
