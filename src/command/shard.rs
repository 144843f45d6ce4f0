//! `--shard I/N`: fleets larger than one control machine. The selected targets are split by
//! node (address and port, as the connection pool counts them), so every target of one node
//! lands in the same shard and per-node limits (`--node-forks`, sshd's `MaxStartups`, node-wide
//! claims and `serialize` locks) still hold within one run. Nodes are dealt out round-robin in
//! name order: deterministic for one inventory and selection, and balanced to within one node.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::cli::Shard;
use crate::compile::PlayRun;

/// One selected target: a host in a play. Reports carry the full list so that `recon report
/// merge` can prove the shards covered every target exactly once and restore the run order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Selected {
    pub(super) play: String,
    pub(super) host: String,
}

/// Every target of every play, in run order.
pub(super) fn selected(runs: &[PlayRun]) -> Vec<Selected> {
    runs.iter()
        .flat_map(|run| {
            run.hosts.iter().map(|g| Selected {
                play: g.play.clone(),
                host: g.host.clone(),
            })
        })
        .collect()
}

/// The shard (1-based) of each node, from the sorted set of all nodes of all plays.
fn shard_of(runs: &[PlayRun], count: usize) -> impl Fn(&str) -> usize {
    let nodes: Vec<String> = runs
        .iter()
        .flat_map(|r| r.hosts.iter().map(|g| g.target.node()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    move |node: &str| {
        nodes
            .binary_search_by(|n| n.as_str().cmp(node))
            .map_or(0, |i| i % count.max(1))
            + 1
    }
}

/// Keeps only the targets of `shard` in every play (plays keep their `serial` batch size, so a
/// rolling play stays as careful per shard as it was overall).
pub(super) fn keep_shard(runs: &mut [PlayRun], shard: Shard) {
    let of = shard_of(runs, shard.count);
    for run in runs.iter_mut() {
        run.hosts.retain(|g| of(&g.target.node()) == shard.index);
    }
}
