//! `--shard I/N` before compiling: each selected host's node (address and port) is resolved
//! from its variables alone (no task is compiled), nodes are dealt out round-robin in name
//! order, and only the hosts of the shard's nodes are compiled. Compiling every host and then
//! dropping the other shards' made each shard cost as much as the whole fleet.

use std::collections::{BTreeSet, HashMap, HashSet};

use rayon::prelude::*;

use super::directive::HostState;
use super::Compiler;
use crate::playbook::Play;
use crate::registered::Resume;

/// Part `index` (1-based) of `count` parts of the selected targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    pub(crate) index: usize,
    pub(crate) count: usize,
}

/// Which (play, host) pairs the shard keeps, decided before anything is compiled.
pub(super) struct Picked {
    /// Per play (by position), the hosts of the shard; a host whose node does not resolve is
    /// kept by every shard, so its error is reported wherever it is compiled.
    keep: Vec<HashSet<String>>,
}

impl Picked {
    /// Whether `host` is one of the shard's targets in play number `play`.
    pub(super) fn keeps(&self, play: usize, host: &str) -> bool {
        self.keep.get(play).is_some_and(|k| k.contains(host))
    }

    /// Hosts to compile in any play: those the shard keeps in some play (their earlier plays
    /// are compiled too, for what those leave on the host).
    pub(super) fn hosts(&self) -> HashSet<&str> {
        self.keep
            .iter()
            .flat_map(|k| k.iter().map(String::as_str))
            .collect()
    }
}

impl Compiler<'_> {
    /// The shard's (play, host) pairs among `selected` (each play's hosts after `--limit`):
    /// one variable resolution per pair, in parallel; the nodes of all plays are sorted and
    /// node number `i` goes to shard `i % count + 1`.
    pub(super) fn pick_shard(&self, selected: &[(&Play, Vec<&str>)], shard: Shard) -> Picked {
        let nodes: Vec<Vec<(&str, Option<String>)>> = selected
            .iter()
            .map(|(play, hosts)| {
                hosts
                    .par_iter()
                    .map(|h| (*h, self.node_of(play, h)))
                    .collect()
            })
            .collect();
        let sorted: Vec<&str> = nodes
            .iter()
            .flatten()
            .filter_map(|(_, n)| n.as_deref())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let rank: HashMap<&str, usize> = sorted.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let count = shard.count.max(1);
        let keep = nodes
            .iter()
            .map(|play| {
                play.iter()
                    .filter(|(_, node)| {
                        node.as_deref()
                            .and_then(|n| rank.get(n))
                            .is_none_or(|i| i % count + 1 == shard.index)
                    })
                    .map(|(h, _)| (*h).to_owned())
                    .collect()
            })
            .collect();
        Picked { keep }
    }

    /// `host`'s node in `play` from its variables (none when they do not resolve).
    fn node_of(&self, play: &Play, host: &str) -> Option<String> {
        let vars_files = self.vars_files(play, host).ok()?;
        let state = HostState::new(self.options.facts.get(host), Resume::default());
        self.target_of(play, host, &vars_files, &state)
            .ok()
            .map(|t| t.node())
    }
}
