//! Planning one host: declare facts, run ONE probe script, diff every resource (pure), decide
//! which handlers would run, and build the apply script. Never writes to the host.

use std::collections::BTreeSet;

use crate::compile::{HostGraph, Task};
use crate::facts::{sha256_hex, Fact, FactSet, FactValue, PathKind, PathState};
use crate::plan::{Change, HostPlan, Step};
use crate::resource::Resource;
use crate::script::apply_script;
use crate::transport::{Target, Transport};

/// A host's plan plus what it takes to carry it out.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct PlannedHost {
    pub(crate) plan: HostPlan,
    pub(crate) target: Target,
    /// Whether scripts run under `sudo -n` (any task of the play on this host has `become`).
    #[serde(default)]
    pub(crate) become_: bool,
    /// The apply script (absent when there is nothing to do or the host failed planning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) script: Option<String>,
    /// The probe reply the plan was computed from: what `apply` compares against.
    pub(crate) fingerprint: String,
    /// Set when the host could not be reached at all (recap column `unreachable`).
    #[serde(default)]
    pub(crate) unreachable: bool,
    pub(crate) facts: FactSet,
    pub(crate) observed: Vec<FactValue>,
}

impl PlannedHost {
    /// A host about to be planned: no steps, no error yet.
    fn new(graph: &HostGraph) -> Self {
        Self {
            plan: HostPlan {
                host: graph.host.clone(),
                play: graph.play.clone(),
                steps: Vec::new(),
                unchanged: 0,
                error: None,
            },
            target: graph.target.clone(),
            become_: graph.become_,
            script: None,
            fingerprint: String::new(),
            unreachable: false,
            facts: FactSet::default(),
            observed: Vec::new(),
        }
    }

    /// A host that could not be planned (`error` says why).
    pub(crate) fn failed(graph: &HostGraph, error: &str, unreachable: bool) -> Self {
        let mut planned = Self::new(graph);
        planned.plan.error = Some(error.to_owned());
        planned.unreachable = unreachable;
        planned
    }
}

/// Probes `graph`'s host through `transport` and computes its plan.
pub(crate) fn plan_host(graph: &HostGraph, transport: &mut dyn Transport) -> PlannedHost {
    let mut facts = FactSet::default();
    let all: Vec<&Task> = graph.tasks.iter().chain(&graph.handlers).collect();
    let indices: Vec<Vec<usize>> = all
        .iter()
        .map(|t| {
            t.resource
                .kind()
                .facts()
                .into_iter()
                .map(|f| facts.add(f))
                .collect()
        })
        .collect();
    let mut planned = PlannedHost::new(graph);
    planned.facts = facts.clone();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let reply = match transport.run_script(facts.probe_script().as_bytes(), planned.become_, &stop)
    {
        Ok(out) => out,
        Err(e) => {
            planned.unreachable = true;
            planned.plan.error = Some(e.message);
            return planned;
        }
    };
    let stdout = String::from_utf8_lossy(&reply.stdout);
    let values = match (facts.parse(&stdout), reply.status) {
        (Ok(values), 0) => values,
        (parsed, status) => {
            let why = parsed
                .err()
                .unwrap_or_else(|| format!("exit status {status}"));
            let stderr = String::from_utf8_lossy(&reply.stderr);
            planned.plan.error = Some(format!("probe failed: {why}{}", tail(&stderr)));
            return planned;
        }
    };
    planned.fingerprint = sha256_hex(&reply.stdout);
    planned.observed.clone_from(&values);
    match diff_all(graph, &facts, &indices, values) {
        Ok(steps) => {
            planned.plan.unchanged =
                graph.tasks.len() - steps.iter().filter(|(s, _)| !s.handler).count();
            if !steps.is_empty() {
                planned.script = Some(apply_script(&facts, &planned.fingerprint, &steps));
            }
            planned.plan.steps = steps.into_iter().map(|(s, _)| s).collect();
        }
        Err(problem) => planned.plan.error = Some(problem),
    }
    planned
}

fn tail(stderr: &str) -> String {
    let t = stderr.trim();
    if t.is_empty() {
        String::new()
    } else {
        let start = t.len().saturating_sub(2000);
        format!(": {}", t.get(start..).unwrap_or(t))
    }
}

/// Diffs tasks in order, predicting the state earlier steps leave behind, then handlers.
fn diff_all(
    graph: &HostGraph,
    facts: &FactSet,
    indices: &[Vec<usize>],
    mut values: Vec<FactValue>,
) -> Result<Vec<(Step, String)>, String> {
    let mut steps: Vec<(Step, String)> = Vec::new();
    let mut changed: Vec<Option<usize>> = vec![None; graph.tasks.len()];
    for (i, task) in graph.tasks.iter().enumerate() {
        if graph.selected.as_ref().is_some_and(|s| !s[i]) {
            continue;
        }
        let mine: Vec<&FactValue> = indices[i].iter().map(|&f| &values[f]).collect();
        let triggered = task.notified_by.iter().any(|&n| changed[n].is_some());
        let Some(change) = task
            .resource
            .kind()
            .diff_triggered(&mine, triggered)
            .map_err(|e| format!("task `{}`: {e}", task.name))?
        else {
            continue;
        };
        let body = wrap_become(task, graph, task.resource.kind().script(&mine, &change));
        let id = steps.len();
        changed[i] = Some(id);
        let depends_on = changed_ancestors(graph, i, &changed);
        predict(&task.resource, facts, &mut values, &indices[i]);
        steps.push((step(id, task, change, false, Vec::new(), depends_on), body));
    }
    let offset = graph.tasks.len();
    for (h, handler) in graph.handlers.iter().enumerate() {
        let triggered_by: Vec<usize> = graph
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.notify.contains(&h))
            .filter_map(|(i, _)| changed[i])
            .collect();
        if triggered_by.is_empty() {
            continue;
        }
        let mine: Vec<&FactValue> = indices[offset + h].iter().map(|&f| &values[f]).collect();
        // A handler is only considered when notified: it is triggered by definition.
        let Some(change) = handler
            .resource
            .kind()
            .diff_triggered(&mine, true)
            .map_err(|e| format!("handler `{}`: {e}", handler.name))?
        else {
            continue;
        };
        let body = wrap_become(
            handler,
            graph,
            handler.resource.kind().script(&mine, &change),
        );
        let id = steps.len();
        steps.push((
            step(id, handler, change, true, triggered_by, Vec::new()),
            body,
        ));
    }
    Ok(steps)
}

fn step(
    id: usize,
    task: &Task,
    change: Change,
    handler: bool,
    triggered_by: Vec<usize>,
    depends_on: Vec<usize>,
) -> Step {
    let kind = task.resource.kind();
    Step {
        id,
        task: task.name.clone(),
        kind: kind.kind_name().to_owned(),
        resource: kind.id(),
        change,
        handler,
        triggered_by,
        depends_on,
    }
}

/// Steps (ids) among the ancestors of task `i`, through unchanged tasks too.
fn changed_ancestors(graph: &HostGraph, i: usize, changed: &[Option<usize>]) -> Vec<usize> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = graph.deps[i].clone();
    let mut out = BTreeSet::new();
    while let Some(t) = stack.pop() {
        if !seen.insert(t) {
            continue;
        }
        if let Some(id) = changed[t] {
            out.insert(id);
        }
        stack.extend(&graph.deps[t]);
    }
    out.into_iter().collect()
}

/// Records what a change leaves on the host, so later resources are planned against it (a file
/// in a directory this plan creates, a second `line` in the same file).
fn predict(resource: &Resource, facts: &FactSet, values: &mut [FactValue], own: &[usize]) {
    let (path, state) = match resource {
        Resource::Directory(d) => (
            d.path.clone(),
            PathState {
                kind: PathKind::Dir,
                ..PathState::default()
            },
        ),
        Resource::File(f) => (
            f.path.clone(),
            PathState {
                kind: PathKind::File,
                sha256: Some(f.sha256.clone()),
                ..PathState::default()
            },
        ),
        Resource::Symlink(s) => (
            s.path.clone(),
            PathState {
                kind: PathKind::Link,
                target: Some(s.target.clone()),
                ..PathState::default()
            },
        ),
        Resource::Line(l) => {
            let Some(FactValue::Path(old)) = own.first().map(|&i| &values[i]) else {
                return;
            };
            let Some(new) = l.after(old) else { return };
            let state = PathState {
                kind: PathKind::File,
                mode: if old.kind == PathKind::File {
                    old.mode
                } else {
                    l.mode.unwrap_or(0o644)
                },
                size: new.len() as u64,
                sha256: Some(sha256_hex(new.as_bytes())),
                content: Some(new.into_bytes()),
                ..old.clone()
            };
            (l.path.clone(), state)
        }
        Resource::Release(r) => (
            format!("{}/{}", r.root, r.version),
            PathState {
                kind: PathKind::Dir,
                ..PathState::default()
            },
        ),
        Resource::Command(_) | Resource::Supervisor(_) | Resource::HttpCheck(_) => return,
    };
    for (i, fact) in facts.facts.iter().enumerate() {
        if matches!(fact, Fact::Path { path: p, .. } if *p == path) {
            values[i] = FactValue::Path(state.clone());
        }
    }
}

/// A task with `become: true` in a play without it runs its step under `sudo -n`, with the
/// write helpers it may need; the rest of the script stays the connecting user's.
fn wrap_become(task: &Task, graph: &HostGraph, body: String) -> String {
    if !task.become_ || graph.become_ {
        return body;
    }
    format!(
        "sudo -n sh -s <<'RECON_BECOME'\n{}{}{body}RECON_BECOME\n",
        crate::facts::script_prelude(),
        crate::script::WRITE_FUNCTIONS
    )
}
