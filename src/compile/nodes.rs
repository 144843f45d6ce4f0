//! Targets that share a node (one sshd: the same address and port) share its ports, nginx
//! server names, supervisor programs and paths. Two targets claiming the same one is a compile
//! error naming both, before any host is touched.

use std::collections::BTreeMap;

use super::{HostGraph, PlayRun, Task};
use crate::error::{Error, ErrorKind, Result};
use crate::resource::{Claim, ClaimKind, Sharing};

/// Who claimed what first on a node.
struct Holder<'a> {
    host: &'a str,
    task: &'a Task,
    /// The claim itself: its sharing policy decides whether a second one may coexist.
    claim: Claim,
}

/// Checks every claim of every compiled host against the other targets on its node.
pub(crate) fn check(runs: &[PlayRun]) -> Result<()> {
    let mut seen: BTreeMap<(String, String, String), Holder<'_>> = BTreeMap::new();
    for graph in runs.iter().flat_map(|r| &r.hosts) {
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
                        if first.claim.shares_on_node(&claim) {
                            continue;
                        }
                        return Err(conflict(
                            &node,
                            claim.kind.name(),
                            &claim.value,
                            first,
                            &graph.host,
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
                            },
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// Explicit `claims:` plus what the task's resource claims. `~/` paths belong to the target's
/// account, so they only clash between targets logging in as the same user.
fn claims_of(graph: &HostGraph, task: &Task) -> Vec<Claim> {
    let mut out: Vec<Claim> = task
        .claims
        .iter()
        .map(|(k, v)| Claim {
            kind: ClaimKind::named(k),
            value: v.clone(),
            sharing: Sharing::Exclusive,
        })
        .collect();
    for mut claim in task.resource.claims() {
        if claim.kind == ClaimKind::Path {
            if let Some(rest) = claim.value.strip_prefix("~/") {
                claim.value = format!("~{}/{rest}", graph.target.user.as_deref().unwrap_or(""));
            }
        }
        out.push(claim);
    }
    out
}

fn conflict(
    node: &str,
    kind: &str,
    value: &str,
    first: &Holder<'_>,
    host: &str,
    task: &Task,
) -> Error {
    let other = Error::invalid(
        format!(
            "host `{}` claims it here (task `{}`)",
            first.host, first.task.name
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
    .with_label(format!("host `{host}` claims it here (task `{}`)", task.name))
    .with_related(other)
    .with_help("give each target on a node its own value (inventory host vars), or move one to another node")
}
