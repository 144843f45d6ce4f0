//! Planning every host of every play in parallel (one probe each), with progress.

use rayon::prelude::*;

use crate::compile::PlayRun;
use crate::render::Progress;
use crate::transport::Pool;

use super::rounds::{plan_rounds, Recompiler};
use super::saved::SavedPlay;

pub(super) fn plan_all(
    runs: &[PlayRun],
    recompiler: Option<&Recompiler<'_>>,
    workers: &rayon::ThreadPool,
    connections: &Pool,
    progress: &Progress,
) -> Vec<SavedPlay> {
    // A host in one play only is done with its connection once it has nothing to apply.
    let mut plays_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for graph in runs.iter().flat_map(|r| &r.hosts) {
        *plays_of.entry(graph.host.as_str()).or_default() += 1;
    }
    runs.iter()
        .enumerate()
        .map(|(play, run)| SavedPlay {
            name: run.name.clone(),
            batches: run.batches.clone(),
            batch: None,
            max_fail_percentage: run.max_fail_percentage,
            hosts: workers.install(|| {
                if let Some(r) = recompiler {
                    r.board
                        .present(play, run.hosts.iter().map(|g| g.host.as_str()));
                }
                run.hosts
                    .par_iter()
                    .map(|g| {
                        let planned = plan_rounds(g, play, recompiler, connections, progress);
                        if let Some(r) = recompiler {
                            r.board.finish(false, play, &g.host);
                        }
                        if planned.script.is_none() && plays_of.get(g.host.as_str()) == Some(&1) {
                            connections.close(&g.host);
                        }
                        planned
                    })
                    .collect()
            }),
        })
        .collect()
}

pub(super) fn host_plans(plays: &[SavedPlay]) -> Vec<&crate::plan::HostPlan> {
    plays
        .iter()
        .flat_map(|p| p.hosts.iter().map(|h| &h.plan))
        .collect()
}

pub(super) fn plan_with_progress(
    runs: &[PlayRun],
    recompiler: Option<&Recompiler<'_>>,
    workers: &rayon::ThreadPool,
    connections: &Pool,
    quiet: bool,
) -> Vec<SavedPlay> {
    let progress = Progress::new(quiet);
    let plays = plan_all(runs, recompiler, workers, connections, &progress);
    progress.clear();
    plays
}
