//! How a task's block decides whether and when the task compiles: a block with a `rescue` or
//! an `always` catches its tasks' failures; its rescue waits for the round that tells whether
//! the block failed and runs only then, its always runs either way, and an unrescued failure
//! fails the host right after the always (see registered.rs for the rounds).

use super::directive::HostState;
use super::graph::Expanded;
use super::{Compiler, HostRun};
use crate::error::{Error, Result};
use crate::playbook::{Part, TaskSpec};
use crate::registered::{RegisteredItem, Registration, Shape, Why};
use crate::template::Var;

impl Compiler<'_> {
    /// The task's loop items, `when`, then a directive or a resource per item.
    pub(super) fn task_items(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        seq: usize,
        state: &mut HostState,
        out: &mut Vec<Expanded>,
    ) -> Result<()> {
        let replay = seq < state.resume.at;
        // `recon check` compiles a rescue or an always like any task.
        if let Some(part) = spec.block_part.filter(|_| !self.options.check_only) {
            let after_block = matches!(part.part, Part::Rescue | Part::Always { .. });
            if after_block && state.guarded_now.contains(&part.group) {
                // Whether the block fails is known once this round ran.
                let why = if part.part == Part::Rescue {
                    Why::Rescue
                } else {
                    Why::Always
                };
                state.horizon = Some(super::rounds::horizon_at(spec, seq, why));
                return Ok(());
            }
            let failure = state.resume.failed_blocks.get(&part.group).cloned();
            if part.part == Part::Rescue && failure.is_none() {
                // The block did not fail: its rescue is skipped.
                if let Some(name) = &spec.register {
                    let skipped = Registration {
                        seq,
                        looped: false,
                        items: vec![RegisteredItem {
                            item: None,
                            skipped: true,
                            shape: Shape::PLAIN,
                        }],
                    };
                    state.set(
                        name,
                        Var::Ready(crate::registered::value(&skipped, |_| None)),
                    );
                }
                return Ok(());
            }
            if let (Part::Always { last: true }, false, Some(failure)) =
                (part.part, part.rescued, failure)
            {
                if replay {
                    // The always ran: the block's failure, which no rescue handled, fails
                    // the host now.
                    return Err(Error::invalid(
                        format!("the block failed and has no `rescue`: {failure}"),
                        &spec.span,
                    )
                    .with_label("its `always` ran; the play stops here"));
                }
                self.task_items_unguarded(run, spec, seq, state, out)?;
                if state.horizon.is_none() {
                    state.horizon = Some(super::rounds::horizon_at(spec, seq + 1, Why::Reraise));
                }
                return Ok(());
            }
        }
        self.task_items_unguarded(run, spec, seq, state, out)
    }
}

/// A task of a block with a `rescue`: its failure is caught (the rest of the block is skipped
/// and the rescue runs in the next round). Records the block as running in this round.
pub(super) fn caught(spec: &TaskSpec, state: &mut HostState) -> Option<u64> {
    let part = spec.block_part.filter(|p| p.part == Part::Block)?;
    state.guarded_now.insert(part.group);
    Some(part.group)
}
