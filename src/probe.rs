//! Planning one host: declare facts, run ONE probe script, diff every resource (pure), decide
//! which handlers would run, and build the apply script. Never writes to the host.

use std::collections::BTreeSet;

use std::any::Any;

use crate::compile::{HostGraph, Task};
use crate::facts::{sha256_hex, FactSet, FactValue, Facts};
use crate::plan::{HostPlan, Step};
use crate::reactions::Reactions;
use crate::registered::RegisterTag;
use crate::resource::{Decided, Situation};
use crate::script::{apply_script, under_sudo, Script, ScriptStep};
use crate::source::Location;
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
    pub(crate) script: Option<Script>,
    /// The probe reply the plan was computed from: what `apply` compares against.
    pub(crate) fingerprint: String,
    /// Set when the host could not be reached at all (recap column `unreachable`).
    #[serde(default)]
    pub(crate) unreachable: bool,
    pub(crate) facts: FactSet,
    pub(crate) observed: Vec<FactValue>,
    /// The play goes on after this plan's steps ran (registered results): how to compile the
    /// rest. Never saved: a saved plan with a next round is refused.
    #[serde(skip)]
    pub(crate) next: Option<crate::registered::NextRound>,
    /// A delegated task's round: the inventory host whose connection (`target`) it runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delegate: Option<String>,
    /// A delegated round's play and the `Resume` it was compiled from: how to plan it again
    /// when its apply finds it stale. Never saved.
    #[serde(skip)]
    pub(crate) again: Option<(usize, crate::registered::Resume)>,
}

impl PlannedHost {
    /// The name the run's connection pool knows `target` by: the delegate's, in a delegated
    /// round (so that it shares the delegate's own session), else the host's.
    pub(crate) fn connection(&self) -> &str {
        self.delegate.as_deref().unwrap_or(&self.plan.host)
    }
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
                error_at: None,
                deferred: None,
                converged: Vec::new(),
            },
            target: graph.target.clone(),
            become_: graph.become_,
            script: None,
            fingerprint: String::new(),
            unreachable: false,
            facts: FactSet::default(),
            observed: Vec::new(),
            next: None,
            delegate: graph.delegate.clone(),
            again: None,
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
    // How many facts the set holds after each task asked: the first task past a fact's index
    // asked it (to locate a probe command the bound stopped).
    let mut asked_up_to = Vec::new();
    let asked: Vec<Box<dyn Any + Send + Sync>> = graph
        .tasks
        .iter()
        .chain(&graph.handlers)
        .map(|t| {
            let asked = t.resource.ask(&mut facts);
            asked_up_to.push(facts.facts.len());
            asked
        })
        .collect();
    let reactions = Reactions::ask(graph, &mut facts);
    let mut planned = PlannedHost::new(graph);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let reply = match transport.run_script(facts.probe_script().as_bytes(), planned.become_, &stop)
    {
        Ok(out) => out,
        Err(e) => {
            planned.unreachable = true;
            planned.plan.error = Some(e.message);
            planned.facts = facts;
            return planned;
        }
    };
    let stdout = String::from_utf8_lossy(&reply.stdout);
    let mut answers = match (facts.parse(&stdout), reply.status) {
        (Ok(answers), 0) => answers,
        (parsed, status) => {
            let why = parsed
                .err()
                .map_or_else(|| format!("exit status {status}"), |e| e.to_string());
            let stderr = String::from_utf8_lossy(&reply.stderr);
            planned.plan.error = Some(format!("probe failed: {why}{}", tail(&stderr)));
            planned.facts = facts;
            return planned;
        }
    };
    if let Some(&(fact, secs)) = answers.timed_out().first() {
        let task = asked_up_to
            .iter()
            .position(|&len| len > fact)
            .and_then(|i| graph.tasks.iter().chain(&graph.handlers).nth(i));
        let why = format!(
            "a command it runs while planning did not finish within {secs} s and was stopped \
             (every probe command is bounded; RECON_PROBE_TIMEOUT sets the bound in seconds)"
        );
        match task {
            Some(task) => {
                planned.plan.error = Some(format!("task `{}`: {why}", task.name));
                planned.plan.error_at = Some(task.span.location());
            }
            None => planned.plan.error = Some(format!("probe failed: {why}")),
        }
        planned.facts = facts;
        return planned;
    }
    planned.fingerprint = sha256_hex(&reply.stdout);
    answers.set_session(transport.session());
    planned.observed = answers.values().to_vec();
    match decide_all(graph, &facts, &asked, &reactions, answers) {
        Ok((steps, converged)) => {
            planned.plan.converged = converged;
            planned.plan.unchanged =
                graph.tasks.len() - steps.iter().filter(|s| !s.step.handler).count();
            if !steps.is_empty() {
                let script_steps: Vec<ScriptStep<'_>> = steps
                    .iter()
                    .map(|p| ScriptStep {
                        id: p.step.id,
                        handler: p.step.handler,
                        depends_on: &p.step.depends_on,
                        triggered_by: &p.step.triggered_by,
                        pending: p.pending,
                        sets: &p.sets,
                        clears: p.clears.as_deref(),
                        ignore_errors: p.step.ignore_errors,
                        registered: p.step.register.is_some(),
                        group: p.step.rescue_group,
                        account_wide: p.account_wide,
                        body: &p.body,
                    })
                    .collect();
                planned.script = Some(apply_script(
                    &facts.probe_function(),
                    &planned.fingerprint,
                    &script_steps,
                    &owed_markers(&steps),
                ));
            }
            planned.plan.steps = steps.into_iter().map(|p| p.step).collect();
        }
        Err((problem, at)) => {
            planned.plan.error = Some(problem);
            planned.plan.error_at = Some(at);
        }
    }
    planned.facts = facts;
    planned
}

/// The reaction markers of the handlers a delegated round owes (`HostGraph::owed`) that this
/// plan runs: recorded when the apply starts, since no step of it sets them.
fn owed_markers(steps: &[Planned]) -> Vec<&str> {
    steps
        .iter()
        .filter(|p| p.owed)
        .filter_map(|p| p.clears.as_deref())
        .collect()
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

/// One planned step with what its script needs.
struct Planned {
    step: Step,
    body: Script,
    /// Reaction markers this step records before it runs.
    sets: Vec<String>,
    /// Its own marker, cleared once it ran.
    clears: Option<String>,
    /// It runs because an interrupted run left its marker (not only because of this plan), or
    /// a delegated round owes it: it runs whatever this round's steps do.
    pending: bool,
    /// A handler a delegated round owes (`HostGraph::owed`): its marker is recorded when the
    /// apply starts, so an apply cut off before it leaves it pending.
    owed: bool,
    /// It runs holding the account's lock (`Resource::account_wide`).
    account_wide: bool,
}

/// Why a reaction left over by an interrupted run runs now.
const PENDING: &str = "pending from an interrupted run";

/// What registered tasks found converged register (`HostPlan::converged`).
type Converged = Vec<(RegisterTag, String)>;

/// Decides tasks in order, predicting the state earlier steps leave behind, then handlers.
fn decide_all(
    graph: &HostGraph,
    set: &FactSet,
    asked: &[Box<dyn Any + Send + Sync>],
    reactions: &Reactions,
    mut facts: Facts,
) -> Result<(Vec<Planned>, Converged), (String, Location)> {
    let mut steps: Vec<Planned> = Vec::new();
    let mut converged = Vec::new();
    // Steps by task: `changed` for dependencies (a failure skips dependents), `fired` for
    // reactions and handlers (housekeeping never triggers them).
    let mut changed: Vec<Option<usize>> = vec![None; graph.tasks.len()];
    let mut fired: Vec<Option<usize>> = vec![None; graph.tasks.len()];
    for (i, task) in graph.tasks.iter().enumerate() {
        if graph.selected.as_ref().is_some_and(|s| !s[i]) {
            continue;
        }
        let notified = task.notified_by.iter().any(|&n| fired[n].is_some());
        let pending = reactions.pending(i, &facts);
        let Some(mut decided) = task
            .resource
            .decide(
                asked[i].as_ref(),
                &facts,
                Situation {
                    triggered: notified || pending,
                    watched: !task.notified_by.is_empty(),
                    after_changes: !steps.is_empty(),
                    allow_lockout: task.allow_lockout,
                },
            )
            .map_err(|e| (format!("task `{}`: {e}", task.name), task.span.location()))?
        else {
            if let Some(tag) = task.register {
                converged.extend(
                    task.resource
                        .converged_result(asked[i].as_ref(), &facts)
                        .map(|out| (tag, out)),
                );
            }
            continue;
        };
        if pending && !notified {
            decided.change.reason = Some(PENDING.to_owned());
        }
        let body = wrap_become(task, graph, task.resource.script(&decided));
        let id = steps.len();
        changed[i] = Some(id);
        let reacts = !decided.change.housekeeping;
        if reacts {
            fired[i] = Some(id);
        }
        let depends_on = changed_ancestors(graph, i, &changed);
        task.resource.predict(&decided, set, &mut facts);
        steps.push(Planned {
            step: step(id, task, decided, false, Vec::new(), depends_on),
            body,
            sets: if reacts {
                reactions.set_by(graph, i)
            } else {
                Vec::new()
            },
            clears: reactions.marker(i).map(str::to_owned),
            pending: pending && !notified,
            owed: false,
            account_wide: task.resource.account_wide(),
        });
    }
    decide_handlers(graph, asked, reactions, &facts, &fired, &mut steps)?;
    Ok((steps, converged))
}

/// Decides the handlers the tasks' steps (or an interrupted run's markers) trigger, after them.
fn decide_handlers(
    graph: &HostGraph,
    asked: &[Box<dyn Any + Send + Sync>],
    reactions: &Reactions,
    facts: &Facts,
    fired: &[Option<usize>],
    steps: &mut Vec<Planned>,
) -> Result<(), (String, Location)> {
    let offset = graph.tasks.len();
    for (h, handler) in graph.handlers.iter().enumerate() {
        let triggered_by: Vec<usize> = graph
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.notify.contains(&h))
            .filter_map(|(i, _)| fired[i])
            .collect();
        let pending = reactions.pending(offset + h, facts);
        // Owed by a delegated round that changed: it runs whatever this round's steps do.
        let owed = graph.owed.iter().find(|(i, _)| *i == h).map(|(_, why)| why);
        if triggered_by.is_empty() && !pending && owed.is_none() {
            continue;
        }
        // A handler is only considered when notified: it is triggered by definition.
        let Some(mut decided) = handler
            .resource
            .decide(
                asked[offset + h].as_ref(),
                facts,
                Situation {
                    triggered: true,
                    watched: true,
                    after_changes: true,
                    allow_lockout: handler.allow_lockout,
                },
            )
            .map_err(|e| {
                (
                    format!("handler `{}`: {e}", handler.name),
                    handler.span.location(),
                )
            })?
        else {
            continue;
        };
        if triggered_by.is_empty() {
            decided.change.reason = Some(owed.map_or(PENDING, String::as_str).to_owned());
        }
        let body = wrap_become(handler, graph, handler.resource.script(&decided));
        let id = steps.len();
        steps.push(Planned {
            owed: owed.is_some(),
            pending: triggered_by.is_empty() || owed.is_some(),
            step: step(id, handler, decided, true, triggered_by, Vec::new()),
            body,
            sets: Vec::new(),
            clears: reactions.marker(offset + h).map(str::to_owned),
            account_wide: handler.resource.account_wide(),
        });
    }
    Ok(())
}

fn step(
    id: usize,
    task: &Task,
    decided: Decided,
    handler: bool,
    triggered_by: Vec<usize>,
    depends_on: Vec<usize>,
) -> Step {
    debug_assert!(
        (decided.change.fields.iter()).all(|f| task.resource.declares(f.field)),
        "`{}` shows an attribute it does not declare in `Resource::FIELDS`: {:?}",
        task.resource.kind(),
        decided.change.fields
    );
    Step {
        id,
        task: task.name.clone(),
        kind: task.resource.kind().to_owned(),
        resource: task.resource.id(),
        // A `no_log` task's diff is never shown or stored (its sizes and hashes are).
        change: if task.concealed {
            conceal_all(decided.change)
        } else if task.sensitive {
            crate::plan::Change {
                diff: None,
                ..decided.change
            }
        } else {
            conceal_old(decided.change)
        },
        handler,
        triggered_by,
        depends_on,
        at: Some(task.span.location()),
        sensitive: task.sensitive,
        register: task.register,
        ignore_errors: task.ignore_errors,
        rescue_group: task.caught,
        delegated_to: None,
    }
}

/// A change whose new value holds a secret (a vault value, or anything derived from one) never
/// shows what the host holds now: that is the old secret, which no registry knows. Old values
/// and the diff's removed and context lines are masked; its added lines by the registry.
fn conceal_old(mut change: crate::plan::Change) -> crate::plan::Change {
    use crate::secret::{occurs_in, MASK};
    if !crate::secret::any() {
        return change;
    }
    // Already masked by the resource (a `block` of secret text) counts as holding one.
    let secret = |text: &str| occurs_in(text) || text.contains(MASK);
    for field in &mut change.fields {
        if field.after.as_deref().is_some_and(secret) && field.before.is_some() {
            field.before = Some(MASK.to_owned());
        }
    }
    if let Some(diff) = change.diff.as_deref().filter(|d| secret(d)) {
        change.diff = Some(
            diff.lines()
                .map(|l| match l.chars().next() {
                    // Removed and context lines are the host's text: old secrets may be there.
                    Some(c @ ('-' | ' ')) => format!("{c}{MASK}\n"),
                    _ => format!("{l}\n"),
                })
                .collect(),
        );
    }
    change
}

/// A change of a task that holds a short value derived from a secret (`Task::concealed`): a
/// resource may print that value reformatted (`600` as `0600`, `True` as `true`) where no word
/// matches it, so every attribute value is masked and the diff dropped; what changes stays shown.
fn conceal_all(mut change: crate::plan::Change) -> crate::plan::Change {
    use crate::secret::MASK;
    let mask = |value: &mut Option<String>| {
        if value.is_some() {
            *value = Some(MASK.to_owned());
        }
    };
    for field in &mut change.fields {
        mask(&mut field.before);
        mask(&mut field.after);
    }
    change.diff = None;
    change
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

/// A task with `become: true` in a play without it, or with a `become_user`, runs its step
/// under `sudo -n` (see `under_sudo`); the rest of the script stays the play's user's.
fn wrap_become(task: &Task, graph: &HostGraph, body: Script) -> Script {
    match task.become_user.as_deref().filter(|_| task.become_) {
        Some(user) => under_sudo(Some(user), &body),
        None if task.become_ && !graph.become_ => under_sudo(None, &body),
        None => body,
    }
}
