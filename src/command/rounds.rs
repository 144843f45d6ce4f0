//! Plays in rounds (see registered.rs): when a task reads a result an earlier task registers,
//! the host's plan ends there. A round that changes nothing goes on while planning (its results
//! are known: nothing ran, and a query runs now); otherwise the rest is known after apply, and
//! `apply` compiles, plans and applies the next round once this one is done.

use crate::compile::{self, Compiler, HostGraph};
use crate::error::Error;
use crate::inventory::Inventory;
use crate::playbook::Playbook;
use crate::probe::{plan_host, PlannedHost};
use crate::registered::{
    query_results, query_script, value, ItemResult, NextRound, RegisterTag, Resume, Why,
};
use crate::render::Progress;
use crate::report::{StepResult, StepStatus};
use crate::source::Location;
use crate::text::count;
use crate::transport::{Pool, Target, TransportErrorKind};

/// What it takes to compile a host's play again for its next round: the compiler is built
/// (groups, every host's variables) once, when a first round needs it, and shared by all hosts.
pub(super) struct Recompiler<'a> {
    pub(super) playbook: &'a Playbook,
    pub(super) inventory: &'a Inventory,
    pub(super) options: &'a compile::Options,
    pub(super) compiler: std::sync::OnceLock<Compiler<'a>>,
    /// `run_once` results the hosts of a batch share.
    pub(super) board: super::shared::Board,
}

impl Recompiler<'_> {
    fn round(&self, play: usize, host: &str, resume: Resume) -> Result<HostGraph, Error> {
        self.compiler
            .get_or_init(|| Compiler::new(self.playbook, self.inventory, self.options))
            .compile_round(play, host, resume)
    }
}

/// Plans `graph` (round one of play number `play`) and, while a round changes nothing and ends
/// at a horizon, the rounds after it. Without a recompiler (a saved plan) the first horizon ends
/// the plan.
pub(super) fn plan_rounds(
    graph: &HostGraph,
    play: usize,
    recompiler: Option<&Recompiler<'_>>,
    connections: &Pool,
    progress: &Progress,
) -> PlannedHost {
    let mut later: Option<HostGraph> = None;
    let mut unchanged = 0;
    loop {
        let current = later.as_ref().unwrap_or(graph);
        let mut planned = plan_one(current, connections, progress);
        planned.plan.unchanged += unchanged;
        if current.delegate.is_some() {
            planned.again = Some((play, current.rounds.resume.clone()));
        }
        let Some(horizon) = current.rounds.horizon.clone() else {
            return planned;
        };
        if planned.plan.error.is_some() {
            return planned;
        }
        let next = NextRound {
            play,
            resume: current.rounds.resume.clone(),
            registrations: current.rounds.registrations.clone(),
            horizon: horizon.clone(),
            owes: current.rounds.owes.clone(),
            shares: current.rounds.shares.clone(),
        };
        let Some(recompiler) = recompiler.filter(|_| planned.plan.steps.is_empty()) else {
            planned.plan.deferred = Some(horizon.deferred());
            planned.next = Some(next);
            return planned;
        };
        // Nothing changes before the horizon: its results are known now.
        let query = match run_query(
            &next,
            current.connection(),
            &current.target,
            current.become_,
            connections,
        ) {
            Ok(query) => query,
            Err(why) => return failed(planned, why.to_string(), Some(horizon.at)),
        };
        unchanged = planned.plan.unchanged;
        let mut resume = next.resume_after(|tag| converged_result(&planned, tag), &query, &[]);
        let settled = recompiler
            .board
            .settle(&next, &current.host, false, &mut resume);
        if settled.is_err() {
            // The batch's first host has not shared its `run_once` result while planning.
            planned.plan.deferred = Some(horizon.deferred());
            planned.next = Some(next);
            return planned;
        }
        match recompiler.round(play, &current.host, resume) {
            Ok(graph) => later = Some(graph),
            Err(err) => {
                return failed(planned, error_text(&err), error_at(&err));
            }
        }
    }
}

/// Runs the horizon's query, if it is one, on the host: `Err` when it failed and its task does
/// not ignore failures.
fn run_query(
    next: &NextRound,
    host: &str,
    target: &Target,
    play_become: bool,
    connections: &Pool,
) -> Result<Vec<(usize, ItemResult)>, QueryError> {
    let Why::Query(query) = &next.horizon.why else {
        return Ok(Vec::new());
    };
    let script = query_script(query);
    let become_ = play_become || query.become_;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let registration = next.registrations.iter().find(|r| r.seq == query.seq);
    let attempts = query
        .retry
        .as_ref()
        .map_or(1, |r| r.retries.saturating_add(1));
    let mut results = Vec::new();
    for attempt in 1..=attempts {
        let reply = connections
            .with(host, target, |t| {
                t.run_script(script.as_bytes(), become_, &stop)
            })
            .and_then(|r| r)
            .map_err(QueryError::Transport)?;
        results = query_results(&String::from_utf8_lossy(&reply.stdout));
        if results.len() != query.items.len() {
            let stderr = String::from_utf8_lossy(&reply.stderr);
            let stderr = if query.sensitive {
                crate::apply::HIDDEN_OUTPUT.into()
            } else {
                crate::secret::scrub(stderr.trim())
            };
            return Err(QueryError::NotRun {
                task: next.horizon.task.clone(),
                status: reply.status,
                stderr: stderr.into_owned(),
            });
        }
        let Some(retry) = &query.retry else { break };
        let value = registration.map_or_else(
            || minijinja::Value::from(()),
            |r| {
                value(r, |item| {
                    results
                        .iter()
                        .find(|(i, _)| *i == item)
                        .map(|(_, r)| r.clone())
                })
            },
        );
        if retry.holds(&value) {
            break;
        }
        if attempt == attempts {
            return Err(QueryError::Until {
                task: next.horizon.task.clone(),
                attempts,
            });
        }
        std::thread::sleep(std::time::Duration::from_secs(u64::from(retry.delay)));
    }
    if let Some((_, failed)) = results
        .iter()
        .find(|(_, r)| r.failed && !query.ignore_errors)
    {
        let stderr = if query.sensitive {
            crate::apply::HIDDEN_OUTPUT.to_owned()
        } else {
            crate::secret::scrub(failed.stderr.trim()).into_owned()
        };
        return Err(QueryError::Failed {
            task: next.horizon.task.clone(),
            rc: failed.rc,
            stderr,
        });
    }
    Ok(results)
}

/// Why a round's query stopped the host: unreachable, the script broke, its `until` never
/// held, or the task failed.
#[derive(Debug, Clone)]
enum QueryError {
    Transport(crate::transport::TransportError),
    NotRun {
        task: String,
        status: i32,
        stderr: String,
    },
    Until {
        task: String,
        attempts: u32,
    },
    Failed {
        task: String,
        rc: i32,
        stderr: String,
    },
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(e) => e.fmt(f),
            Self::NotRun {
                task,
                status,
                stderr,
            } => write!(
                f,
                "task `{task}` could not be run on the host (exit {status}): {stderr}"
            ),
            Self::Until { task, attempts } => write!(
                f,
                "task `{task}` failed: its `until` did not hold after {attempts} attempts"
            ),
            Self::Failed { task, rc, stderr } if stderr.is_empty() => {
                write!(f, "task `{task}` failed (exit {rc})")
            }
            Self::Failed { task, rc, stderr } => {
                write!(f, "task `{task}` failed (exit {rc}): {stderr}")
            }
        }
    }
}

/// `planned` refused with `message`, pointing at `at`.
fn failed(mut planned: PlannedHost, message: String, at: Option<Location>) -> PlannedHost {
    planned.plan.steps.clear();
    planned.plan.deferred = None;
    planned.next = None;
    planned.script = None;
    planned.plan.error = Some(message);
    planned.plan.error_at = at;
    planned
}

/// An error's message with its help (each of several, with where it is), for a host's plan.
fn error_text(err: &Error) -> String {
    if !err.related.is_empty() {
        return err
            .related
            .iter()
            .map(|e| {
                let at =
                    e.at.as_ref()
                        .map(|a| {
                            let l = a.span.location();
                            format!("{}:{}:{}: ", l.file, l.line, l.column)
                        })
                        .unwrap_or_default();
                format!("{at}{}", error_text(e))
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    match &err.help {
        Some(help) => format!("{err} ({help})"),
        None => err.to_string(),
    }
}

/// Where an error (or the first of several) points.
fn error_at(err: &Error) -> Option<Location> {
    err.at
        .as_ref()
        .map(|a| a.span.location())
        .or_else(|| err.related.iter().find_map(error_at))
}

/// The result of a registered task the plan found converged, when its probe answer is its
/// result (`Resource::converged_result`).
fn converged_result(planned: &PlannedHost, tag: RegisterTag) -> Option<ItemResult> {
    let (_, stdout) = planned.plan.converged.iter().find(|(t, _)| *t == tag)?;
    Some(ItemResult {
        stdout: stdout.clone(),
        ..ItemResult::unchanged()
    })
}

/// The result of one step, as its registered value sees it.
fn item_result(step: &StepResult) -> ItemResult {
    ItemResult {
        changed: step.status == StepStatus::Changed,
        failed: matches!(
            step.status,
            StepStatus::Failed | StepStatus::Ignored | StepStatus::Caught
        ),
        rc: step.exit_code.unwrap_or(0),
        stdout: step.output.clone(),
        stderr: step.stderr.clone(),
    }
}

/// The next round's plan after `planned` was applied with `steps` as its results: compiled
/// with what they registered (and the horizon's query, run now), then planned (and, while
/// nothing changes, the rounds after it).
pub(super) fn next_round(
    planned: &PlannedHost,
    steps: &[StepResult],
    recompiler: &Recompiler<'_>,
    connections: &Pool,
    progress: &Progress,
) -> Option<PlannedHost> {
    let next = planned.next.as_ref()?;
    let tag_of = |step: &StepResult| -> Option<RegisterTag> {
        planned
            .plan
            .steps
            .iter()
            .find(|s| s.id == step.id)
            .and_then(|s| s.register)
    };
    let result_of = |tag: RegisterTag| {
        steps
            .iter()
            .find(|s| tag_of(s) == Some(tag))
            .map(item_result)
            .or_else(|| converged_result(planned, tag))
    };
    let host = planned.plan.host.clone();
    let graph_of = |resume| recompiler.round(next.play, &host, resume);
    let query = match &next.horizon.why {
        Why::Query(_) => {
            // The query reads the host as this round left it.
            match run_query(
                next,
                planned.connection(),
                &planned.target,
                planned.become_,
                connections,
            ) {
                Ok(q) => q,
                Err(why) => {
                    let mut out = planned.clone();
                    out.next = None;
                    return Some(failed(out, why.to_string(), Some(next.horizon.at.clone())));
                }
            }
        }
        _ => Vec::new(),
    };
    // Blocks with a caught failure: their rescue (or the end of their always) comes next.
    let failed_blocks: Vec<(u64, String)> = steps
        .iter()
        .filter(|s| s.status == StepStatus::Caught)
        .filter_map(|s| {
            let planned_step = planned.plan.steps.iter().find(|p| p.id == s.id)?;
            let output = s.output.trim();
            let what = format!(
                "task `{}` failed (exit {}){}",
                planned_step.task,
                s.exit_code.unwrap_or(1),
                if output.is_empty() {
                    String::new()
                } else {
                    format!(": {output}")
                }
            );
            Some((planned_step.rescue_group?, what))
        })
        .collect();
    let mut resume = next.resume_after(result_of, &query, &failed_blocks);
    owe_handlers(planned, steps, &mut resume);
    if let Err(why) = recompiler.board.settle(next, &host, true, &mut resume) {
        let mut out = planned.clone();
        out.next = None;
        return Some(failed(out, why.to_string(), Some(next.horizon.at.clone())));
    }
    match graph_of(resume) {
        Ok(graph) => Some(plan_rounds(
            &graph,
            next.play,
            Some(recompiler),
            connections,
            progress,
        )),
        Err(err) => {
            let mut out = planned.clone();
            out.next = None;
            Some(failed(out, error_text(&err), error_at(&err)))
        }
    }
}

/// A delegated round (`planned`) that changed something (its `steps`) owes the host the
/// handlers its task notified.
fn owe_handlers(planned: &PlannedHost, steps: &[StepResult], resume: &mut Resume) {
    let Some(next) = &planned.next else { return };
    let fired = steps.iter().any(|s| {
        s.status == StepStatus::Changed
            && planned
                .plan
                .steps
                .iter()
                .any(|p| p.id == s.id && !p.change.housekeeping)
    });
    if fired {
        resume.owe(&next.owes);
    }
}

/// A delegated round whose apply found it stale, planned again (and, while nothing changes, the
/// rounds after it): hosts that delegate to one host race for its state, and each plans its
/// round against the state the others left. `None` for any other round.
pub(super) fn replan(
    planned: &PlannedHost,
    recompiler: &Recompiler<'_>,
    connections: &Pool,
    progress: &Progress,
) -> Option<PlannedHost> {
    let (play, resume) = planned.again.clone()?;
    let again = match recompiler.round(play, &planned.plan.host, resume) {
        Ok(graph) => plan_rounds(&graph, play, Some(recompiler), connections, progress),
        Err(err) => {
            let mut out = planned.clone();
            out.next = None;
            failed(out, error_text(&err), error_at(&err))
        }
    };
    Some(again)
}

/// One round of one host: connect, probe and plan, with progress. Here, beside the rounds that
/// call it, so that `planning` (every host) depends on `rounds` (one host) and not back.
fn plan_one(graph: &HostGraph, connections: &Pool, progress: &Progress) -> PlannedHost {
    let probing = match &graph.delegate {
        Some(to) => format!("connecting to `{to}` (delegated) and probing"),
        None => "connecting and probing".to_owned(),
    };
    progress.update(&graph.host, &probing);
    let mut planned = match connections
        .with(graph.connection(), &graph.target, |t| plan_host(graph, t))
    {
        Ok(planned) => planned,
        // Host key and authentication failures count as unreachable, as in Ansible's recap.
        Err(err) => PlannedHost::failed(graph, &err.message, err.kind != TransportErrorKind::Io),
    };
    // A delegated round's steps say where they run (the plan shows them under the host).
    for step in &mut planned.plan.steps {
        step.delegated_to.clone_from(&graph.delegate);
    }
    let what = match &planned.plan.error {
        Some(_) => "failed".to_owned(),
        None if planned.plan.steps.is_empty() => "no changes".to_owned(),
        None => format!("planned {}", count(planned.plan.steps.len(), "change")),
    };
    progress.finish(&graph.host, &what);
    planned
}
