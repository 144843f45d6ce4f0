//! Targets that share a node (one sshd: the same address and port) share its ports, nginx
//! server names, supervisor programs and paths. Two targets claiming the same one is a compile
//! error naming both, before any host is touched.

use std::collections::BTreeMap;

use super::{HostGraph, PlayRun, Task};
use crate::error::{Error, ErrorKind, Result};
use crate::resource::Resource;

/// Who claimed what first on a node.
struct Holder<'a> {
    host: &'a str,
    task: &'a Task,
    /// For directories: the wanted attributes; a directory may be shared when they agree.
    shareable: Option<String>,
}

/// Checks every claim of every compiled host against the other targets on its node.
pub(crate) fn check(runs: &[PlayRun]) -> Result<()> {
    let mut seen: BTreeMap<(String, String, String), Holder<'_>> = BTreeMap::new();
    for graph in runs.iter().flat_map(|r| &r.hosts) {
        let node = graph.target.node();
        for task in graph.tasks.iter().chain(&graph.handlers) {
            for (kind, value, shareable) in claims_of(graph, task) {
                let key = (node.clone(), kind.clone(), value.clone());
                match seen.get(&key) {
                    Some(first) if first.host != graph.host => {
                        if shareable.is_some() && shareable == first.shareable {
                            continue;
                        }
                        return Err(conflict(&node, &kind, &value, first, &graph.host, task));
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(
                            key,
                            Holder {
                                host: &graph.host,
                                task,
                                shareable,
                            },
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// Explicit `claims:` plus the paths the task's resource manages. `~/` paths belong to the
/// target's account, so they only clash between targets logging in as the same user.
fn claims_of(graph: &HostGraph, task: &Task) -> Vec<(String, String, Option<String>)> {
    let mut out: Vec<(String, String, Option<String>)> = task
        .claims
        .iter()
        .map(|(k, v)| (k.clone(), v.clone(), None))
        .collect();
    let shareable = match &task.resource {
        Resource::Directory(d) => Some(format!(
            "{:?}",
            (d.attrs.mode, &d.attrs.owner, &d.attrs.group)
        )),
        _ => None,
    };
    for path in task.resource.kind().claims() {
        let key = match path.strip_prefix("~/") {
            Some(rest) => format!("~{}/{rest}", graph.target.user.as_deref().unwrap_or("")),
            None => path,
        };
        out.push(("path".to_owned(), key, shareable.clone()));
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
