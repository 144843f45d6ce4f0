//! Targets that share a node (one sshd: the same address and port) share its ports, nginx
//! server names, supervisor programs and paths. Two targets claiming the same one is a compile
//! error naming both, before any host is touched.
//!
//! The check is node-wide whatever `--limit` and `--tags` select: a host left out of the run
//! still holds its claims on the node (it was deployed before), so `-l bravo` must not let
//! bravo take alpha's server name. The play's other hosts on the selected hosts' nodes are
//! compiled (never contacted) with every task, for their claims only.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use super::directive::HostState;
use super::{Compiler, HostGraph, Options, PlayRun, Task};
use crate::error::{Error, ErrorKind, Result};
use crate::playbook::Play;
use crate::resource::{Claim, ClaimKind};

/// A host compiled for the claims check only: one the run does not select, or (with tags) a
/// selected one with every task.
pub(super) struct Neighbour {
    graph: HostGraph,
    /// The run selects this host (its claims must not conflict with anyone's).
    selected: bool,
}

/// Who claimed what first on a node.
struct Holder<'a> {
    host: &'a str,
    task: &'a Task,
    /// The claim itself: its sharing policy decides whether a second one may coexist.
    claim: Claim,
    /// The holder is in this run (else it was compiled for the check only).
    selected: bool,
}

impl Compiler<'_> {
    /// The play's hosts that share a node with a host of `graphs` but are not compiled in full
    /// for this run, compiled with every task for their claims. Cost: one variable resolution
    /// per unselected host of the play (to find its node), and a compile only for those on a
    /// selected node; nothing when nothing is filtered. A host that does not compile is left
    /// out (it cannot be deployed as is; its error shows when it is selected).
    pub(super) fn neighbours(
        &self,
        play: &Play,
        all: &[&str],
        graphs: &[HostGraph],
    ) -> Vec<Neighbour> {
        let by_tags = !self.options.tags.is_empty() || !self.options.skip_tags.is_empty();
        let selected: HashSet<&str> = graphs.iter().map(|g| g.host.as_str()).collect();
        if graphs.is_empty() || (!by_tags && selected.len() == all.len()) {
            return Vec::new();
        }
        let nodes: HashSet<String> = graphs.iter().map(|g| g.target.node()).collect();
        let every_task = Options {
            limit: None,
            extra_vars: self.options.extra_vars.clone(),
            tags: Vec::new(),
            skip_tags: Vec::new(),
            facts: self.options.facts.clone(),
            check_only: false,
            shard: None,
        };
        let full = Compiler {
            playbook: self.playbook,
            inventory: self.inventory,
            templar: Arc::clone(&self.templar),
            options: &every_task,
            shared: super::magic::Shared::new(self.playbook, self.inventory, &every_task),
            hostvars: self.hostvars.clone(),
            play_hosts: super::magic::PlayHosts::new(self.playbook),
            first_of_batch: super::once::FirstOfBatch::new(self.playbook),
            bridge: self.bridge.clone(),
        };
        all.par_iter()
            .filter(|h| by_tags || !selected.contains(**h))
            .filter_map(|h| {
                let vars_files = full.vars_files(play, h).ok()?;
                let target = full
                    .target_of(
                        play,
                        h,
                        &vars_files,
                        &HostState::new(
                            full.options.facts.get(*h),
                            crate::registered::Resume::default(),
                        ),
                    )
                    .ok()?;
                if !nodes.contains(&target.node()) {
                    return None;
                }
                let graph = full
                    .compile_host(
                        play,
                        h,
                        &vars_files,
                        crate::registered::Resume::default(),
                        &[],
                    )
                    .ok()?;
                Some(Neighbour {
                    graph,
                    selected: selected.contains(*h),
                })
            })
            .collect()
    }
}

/// Checks every claim of every compiled host against the other targets on its node: the hosts
/// of the run and their `neighbours`. Two hosts both outside the run may clash (that is for the
/// run that selects them); a clash involving a selected host is an error.
pub(crate) fn check(runs: &[PlayRun], neighbours: &[Neighbour]) -> Result<()> {
    let mut seen: BTreeMap<(String, String, String), Holder<'_>> = BTreeMap::new();
    // Hosts outside the run first, so an error names the selected host as the second claimant.
    let graphs = neighbours
        .iter()
        .filter(|n| !n.selected)
        .map(|n| (&n.graph, false))
        .chain(runs.iter().flat_map(|r| &r.hosts).map(|g| (g, true)))
        .chain(
            neighbours
                .iter()
                .filter(|n| n.selected)
                .map(|n| (&n.graph, true)),
        );
    for (graph, selected) in graphs {
        let node = graph.target.node();
        for task in graph.tasks.iter().chain(&graph.handlers) {
            for claim in claims_of(graph, task) {
                let key = (
                    node.clone(),
                    claim.kind.name().to_owned(),
                    claim.value.clone(),
                );
                match seen.get(&key) {
                    Some(first) if first.host != graph.host => {
                        if first.claim.shares_on_node(&claim) || !(first.selected || selected) {
                            continue;
                        }
                        return Err(conflict(
                            &node,
                            claim.kind.name(),
                            &claim.value,
                            first,
                            (&graph.host, selected),
                            task,
                        ));
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(
                            key,
                            Holder {
                                host: &graph.host,
                                task,
                                claim,
                                selected,
                            },
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// Explicit `claims:` plus what the task's resource claims. `~/` values (paths, the connecting
/// account's crontab) belong to the target's account, so they only clash between targets
/// logging in as the same user.
fn claims_of(graph: &HostGraph, task: &Task) -> Vec<Claim> {
    let mut out: Vec<Claim> = task
        .claims
        .iter()
        .map(|(k, v)| Claim::new(ClaimKind::named(k), v))
        .collect();
    for mut claim in task.resource.claims() {
        if let Some(rest) = claim.value.strip_prefix("~/") {
            claim.value = format!("~{}/{rest}", graph.target.user.as_deref().unwrap_or(""));
        }
        out.push(claim);
    }
    out
}

/// The conflict error; a host outside the run is named as such (it is on the node all the same).
fn conflict(
    node: &str,
    kind: &str,
    value: &str,
    first: &Holder<'_>,
    (host, selected): (&str, bool),
    task: &Task,
) -> Error {
    let outside = |s: bool| {
        if s {
            ""
        } else {
            ", a host this run does not select"
        }
    };
    let other = Error::invalid(
        format!(
            "host `{}` claims it here (task `{}`{})",
            first.host,
            first.task.name,
            outside(first.selected)
        ),
        &first.task.span,
    )
    .with_label("first claim");
    Error::at(
        ErrorKind::NodeConflict {
            kind: kind.to_owned(),
            value: value.to_owned(),
            node: node.to_owned(),
            first: first.host.to_owned(),
            second: host.to_owned(),
        },
        &task.span,
    )
    .with_label(format!(
        "host `{host}` claims it here (task `{}`{})",
        task.name,
        outside(selected)
    ))
    .with_related(other)
    .with_help("give each target on a node its own value (inventory host vars), or move one to another node")
}
