//! `--shard I/N`: fleets larger than one control machine. The selected targets are split by
//! node (address and port, as the connection pool counts them), so every target of one node
//! lands in the same shard and per-node limits (`--node-forks`, sshd's `MaxStartups`, node-wide
//! claims and `serialize` locks) still hold within one run. Nodes are dealt out round-robin in
//! name order: deterministic for one inventory and selection, and balanced to within one node.
//! The compiler picks the shard's hosts before compiling (compile/shard.rs); this file keeps
//! the list of every selected target that the shards' reports are merged back into.

use serde::{Deserialize, Serialize};

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
            run.targets.iter().map(|host| Selected {
                play: run.name.clone(),
                host: host.clone(),
            })
        })
        .collect()
}
