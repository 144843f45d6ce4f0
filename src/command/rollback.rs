//! `recon rollback`: switch targets back to a good release, then restart and check.

use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use crate::cli::RollbackArgs;
use crate::compile::HostGraph;
use crate::error::{Error, Result};
use crate::releases::ReleaseError;
use crate::transport::Pool;

use super::apply::{carry_out, Run};
use super::load::{load, pool, thread_pool};
use super::planning::plan_with_progress;

pub(super) fn rollback(args: &RollbackArgs, stop: &AtomicBool) -> Result<i32> {
    let apply = &args.apply;
    let workers = thread_pool(apply.connection.forks)?;
    let connections = pool(&apply.connection);
    let mut loaded = load(&apply.selection)?;
    for run in &mut loaded.runs {
        let problems: Vec<String> = workers.install(|| {
            run.hosts
                .par_iter_mut()
                .filter_map(|graph| {
                    let result = release_states(graph, &connections).and_then(|states| {
                        crate::releases::prepare_rollback(graph, &states, args.to.as_deref())
                    });
                    match result {
                        Ok(selected) => {
                            graph.selected = Some(selected);
                            None
                        }
                        Err(e) => Some(format!("{}: {e}", graph.host)),
                    }
                })
                .collect()
        });
        if !problems.is_empty() {
            return Err(Error::usage(format!(
                "cannot roll back:\n  {}",
                problems.join("\n  ")
            )));
        }
    }
    let plays = plan_with_progress(&loaded.runs, None, &workers, &connections, apply.json);
    let run = Run {
        workers: &workers,
        connections: &connections,
        targets: Some(&loaded.targets),
        recompiler: None,
    };
    Ok(carry_out(&plays, apply, &loaded.own, &run, stop))
}

/// The release states of `graph`'s host, read over its pooled connection.
pub(super) fn release_states(
    graph: &HostGraph,
    connections: &Pool,
) -> std::result::Result<Vec<(usize, crate::resource::release::ReleaseState)>, ReleaseError> {
    connections
        .with(&graph.host, &graph.target, |t| {
            crate::releases::read_states(graph, t)
        })
        .map_err(ReleaseError::Transport)
        .and_then(|states| states)
}
