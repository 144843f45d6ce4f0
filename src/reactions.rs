//! Durable reactions. A step that changes something records, on the host and before it runs,
//! a marker for every reaction it triggers (the handlers it notifies, the later tasks that
//! react to it: a program restart, a health gate). A reaction clears its marker when it ran.
//! So when recon is killed or the link drops between a change and its reactions, the next
//! probe finds the markers, the plan shows those reactions as "pending from an interrupted
//! run", and the apply runs them: a switched release is never left live unchecked.

use crate::compile::{HostGraph, Task};
use crate::facts::{sha256_hex, FactSet, Facts, Handle, PathKind, PathState, Want};

/// Where markers live: private to the account, beside its lock.
pub(crate) const PENDING_DIR: &str = "~/.recon/pending";

/// The marker of each task and handler that can react (is notified by something), and whether
/// the host holds it.
pub(crate) struct Reactions {
    /// By task index, then handlers after the tasks: the marker name, if it can react.
    markers: Vec<Option<String>>,
    asked: Vec<Option<Handle<PathState>>>,
}

impl Reactions {
    /// Names the marker of every task that can react and asks whether the host holds it.
    pub(crate) fn ask(graph: &HostGraph, facts: &mut FactSet) -> Self {
        let markers: Vec<Option<String>> = graph
            .tasks
            .iter()
            .map(|t| (!t.notified_by.is_empty()).then(|| marker(graph, t)))
            .chain(graph.handlers.iter().map(|h| Some(marker(graph, h))))
            .collect();
        let asked = markers
            .iter()
            .map(|m| {
                m.as_ref()
                    .map(|m| facts.path(&format!("{PENDING_DIR}/{m}"), Want::Never))
            })
            .collect();
        Self { markers, asked }
    }

    /// The marker of task (or, past the tasks, handler) `index`.
    pub(crate) fn marker(&self, index: usize) -> Option<&str> {
        self.markers.get(index).and_then(Option::as_deref)
    }

    /// Whether the host holds `index`'s marker: a change triggered it and it has not run since.
    pub(crate) fn pending(&self, index: usize, facts: &Facts) -> bool {
        self.asked
            .get(index)
            .copied()
            .flatten()
            .is_some_and(|h| facts.get(h).kind != PathKind::Absent)
    }

    /// The markers a change of task `index` sets: its reactive tasks' and its handlers'.
    pub(crate) fn set_by(&self, graph: &HostGraph, index: usize) -> Vec<String> {
        let offset = graph.tasks.len();
        let reacting = graph
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.notified_by.contains(&index))
            .map(|(i, _)| i);
        let handlers = graph.tasks[index].notify.iter().map(|h| offset + h);
        reacting
            .chain(handlers)
            .filter_map(|i| self.marker(i).map(str::to_owned))
            .collect()
    }
}

/// A stable name for a task's reaction: the same task in the same play for the same inventory
/// host gets the same marker from one run to the next (and from any checkout of the project).
fn marker(graph: &HostGraph, task: &Task) -> String {
    let identity = format!(
        "{}\0{}\0{}\0{}\0{}",
        graph.play,
        graph.host,
        task.name,
        task.resource.kind(),
        task.resource.id()
    );
    let mut hex = sha256_hex(identity.as_bytes());
    hex.truncate(32);
    hex
}
