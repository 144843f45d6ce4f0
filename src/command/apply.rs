//! `recon apply`: carry out a plan play by play, batch by batch, and report.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::apply::{apply_host, ApplyOptions};
use crate::cli::ApplyArgs;
use crate::error::Result;
use crate::exit;
use crate::plan::HostPlan;
use crate::probe::PlannedHost;
use crate::render::{render_plan, render_report, OwnValues, PlanView, Progress, Style};
use crate::report::{HostReport, Outcome};
use crate::text::count;
use crate::transport::Pool;

use super::load::{load_with, pool, thread_pool, who};
use super::planning::{host_plans, plan_with_progress};
use super::rollout::Rollout;
use super::rounds::{next_round, replan, Recompiler};
use super::saved::{is_saved_plan, load_saved_plan, SavedPlay};
use super::shard::Selected;

pub(super) fn apply(args: &ApplyArgs, stop: &AtomicBool) -> Result<i32> {
    let workers = thread_pool(args.connection.forks)?;
    let connections = pool(&args.connection);
    let loaded = if is_saved_plan(&args.selection.playbook) {
        None
    } else {
        Some(load_with(&args.selection, Some(&connections))?)
    };
    let recompiler = loaded.as_ref().map(super::load::Loaded::recompiler);
    let no_values = OwnValues::default();
    let (plays, own, targets) = match &loaded {
        None => (load_saved_plan(&args.selection.playbook)?, &no_values, None),
        Some(loaded) => (
            plan_with_progress(
                &loaded.runs,
                recompiler.as_ref(),
                &workers,
                &connections,
                args.json,
            ),
            &loaded.own,
            Some(loaded.targets.as_slice()),
        ),
    };
    let run = Run {
        workers: &workers,
        connections: &connections,
        targets,
        recompiler: recompiler.as_ref(),
    };
    Ok(carry_out(&plays, args, own, &run, stop))
}

/// What one apply run works with.
pub(super) struct Run<'a, 'r> {
    pub(super) workers: &'a rayon::ThreadPool,
    pub(super) connections: &'a Pool,
    /// Every selected target before `--shard` (none for a saved plan): written into the JSON
    /// report so that `recon report merge` can check and order the shards' reports.
    pub(super) targets: Option<&'a [Selected]>,
    /// Compiles the next round of hosts whose plan goes on after apply (none for a saved plan).
    pub(super) recompiler: Option<&'a Recompiler<'r>>,
}

/// Prints the plan, applies it play by play, prints the report.
pub(super) fn carry_out(
    plays: &[SavedPlay],
    args: &ApplyArgs,
    own: &OwnValues,
    run: &Run<'_, '_>,
    stop: &AtomicBool,
) -> i32 {
    let (workers, connections) = (run.workers, run.connections);
    let style = Style::detect();
    let host_plan_list = host_plans(plays);
    if !args.json {
        let view = PlanView {
            verbose: args.verbose,
            group: (!args.no_group).then_some(own),
        };
        crate::secret::print(&render_plan(&host_plan_list, style, view));
    }
    let who = who();
    let deliveries = crate::delivery::Deliveries::default();
    let options = ApplyOptions {
        who: &who,
        lock_wait_secs: args.lock_timeout,
        stop,
        deliveries: &deliveries,
    };
    let progress = Progress::new(args.json);
    let view = PlanView {
        verbose: args.verbose,
        group: None,
    };
    let show = |plan: &HostPlan| {
        if !args.json {
            progress.clear();
            crate::secret::print(&format!(
                "{}\n{}",
                style.bold(&format!(
                    "{}: the next tasks, planned now that the steps before them ran",
                    plan.host
                )),
                render_plan(&[plan], style, view)
            ));
        }
    };
    let rounds = run.recompiler.map(|recompiler| Rounds {
        recompiler,
        show: &show,
        merged: std::sync::Mutex::new(Vec::new()),
        play: std::sync::atomic::AtomicUsize::new(0),
    });
    let reports = apply_plays(
        plays,
        args.max_fail_percent,
        (workers, connections),
        &options,
        &progress,
        rounds.as_ref(),
    );
    progress.clear();
    let merged: Vec<HostPlan> = rounds
        .map(|r| {
            r.merged
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
        .unwrap_or_default();
    let host_plan_list: Vec<&HostPlan> = host_plan_list
        .into_iter()
        .map(|p| {
            merged
                .iter()
                .find(|m| m.host == p.host && m.play == p.play)
                .unwrap_or(p)
        })
        .collect();
    if args.json {
        let mut value = serde_json::json!({ "format": "recon-apply/1", "plan": host_plan_list, "report": reports });
        if let Some(targets) = run.targets {
            value["targets"] = serde_json::json!(targets);
        }
        if let Some(shard) = args.selection.shard {
            value["shard"] = serde_json::json!(format!("{}/{}", shard.index, shard.count));
        }
        crate::secret::print(&format!("{}\n", crate::secret::json_pretty(&value)));
    } else {
        crate::secret::print(&render_report(&reports, &host_plan_list, style));
        if stop.load(Ordering::SeqCst) {
            println!("Interrupted: steps in flight finished; no further steps were started.");
        }
        if args.stats {
            print!("{}", render_stats(connections));
        }
    }
    if reports.iter().all(|r| r.outcome == Outcome::Ok) {
        exit::OK
    } else {
        exit::ERROR
    }
}

/// Applies the plays in order. As Ansible: a host that failed (or was unreachable) is left out
/// of the later plays, and a play whose rollout stopped ends the run.
fn apply_plays(
    plays: &[SavedPlay],
    max_fail_percent: Option<u8>,
    (workers, connections): (&rayon::ThreadPool, &Pool),
    options: &ApplyOptions<'_>,
    progress: &Progress,
    rounds: Option<&Rounds<'_, '_>>,
) -> Vec<HostReport> {
    let mut reports: Vec<HostReport> = Vec::new();
    let mut ended: Option<String> = None;
    for (index, play) in plays.iter().enumerate() {
        if let Some(rounds) = rounds {
            rounds.play.store(index, Ordering::SeqCst);
        }
        if let Some(why) = &ended {
            reports.extend(play.hosts.iter().map(|h| not_attempted(h, Some(why))));
            continue;
        }
        let failed: HashSet<&str> = reports
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_) | Outcome::Unreachable(_)))
            .map(|r| r.host.as_str())
            .collect();
        let run = PlayRun {
            max_fail_percent,
            failed_before: &failed,
        };
        let (done, stopped) =
            apply_play(play, &run, workers, connections, options, progress, rounds);
        reports.extend(done);
        ended = stopped.map(|why| format!("the run ended in play `{}` ({why})", play.name));
    }
    reports
}

/// What one play's apply needs to know of the run around it.
pub(super) struct PlayRun<'a> {
    /// `--max-fail-percent`, over the play's `max_fail_percentage`.
    pub(super) max_fail_percent: Option<u8>,
    /// Hosts that failed or were unreachable in an earlier play: left out, as in Ansible.
    pub(super) failed_before: &'a HashSet<&'a str>,
}

/// Applies one play batch by batch (`serial:`), in order; a batch that fails as `Rollout` says
/// (the play's `max_fail_percentage`, or `--max-fail-percent` over it) stops the play: the later
/// batches' hosts are reported not attempted. Within a batch, once its share of failures is
/// exceeded, its hosts not yet started are not started. Returns the reports and, when a batch
/// stopped the play (also its only batch: every host failed), why, so the run ends there.
pub(super) fn apply_play(
    play: &SavedPlay,
    run: &PlayRun<'_>,
    workers: &rayon::ThreadPool,
    connections: &Pool,
    options: &ApplyOptions<'_>,
    progress: &Progress,
    rounds: Option<&Rounds<'_, '_>>,
) -> (Vec<HostReport>, Option<String>) {
    let rollout = Rollout {
        max_fail_percentage: run.max_fail_percent.or(play.max_fail_percentage),
    };
    let mut reports = Vec::new();
    let (mut stopped, mut ended): (Option<String>, Option<String>) = (None, None);
    for (number, batch) in play.batches().into_iter().enumerate() {
        if stopped.is_some() || options.stop.load(Ordering::SeqCst) {
            let why = stopped
                .as_deref()
                .filter(|_| !options.stop.load(Ordering::SeqCst));
            reports.extend(batch.iter().map(|h| not_attempted(h, why)));
            for planned in batch {
                rounds.inspect(|r| r.finish(&planned.plan.host));
            }
            continue;
        }
        let (batch_reports, failures, attempted) = apply_batch(
            batch,
            run,
            rollout,
            workers,
            |planned| apply_planned(planned, connections, options, progress, rounds),
            |host| {
                rounds.inspect(|r| r.finish(host));
            },
        );
        reports.extend(batch_reports);
        if attempted > 0 && rollout.stops(failures, attempted) {
            stopped = Some(rollout.reason(number + 1, failures, attempted));
            ended = Some(rollout.summary(number + 1, failures, attempted));
        }
    }
    (reports, ended)
}

/// Applies one batch in parallel: its reports, how many of its attempted hosts failed, and how
/// many were attempted (hosts that failed in an earlier play are not).
fn apply_batch(
    batch: &[PlannedHost],
    run: &PlayRun<'_>,
    rollout: Rollout,
    workers: &rayon::ThreadPool,
    apply: impl Fn(&PlannedHost) -> HostReport + Sync,
    finish: impl Fn(&str) + Sync,
) -> (Vec<HostReport>, usize, usize) {
    let fresh = batch
        .iter()
        .filter(|h| !run.failed_before.contains(h.plan.host.as_str()))
        .count();
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let too_many = || {
        rollout.max_fail_percentage.is_some() && rollout.stops(failed.load(Ordering::SeqCst), fresh)
    };
    let reports: Vec<HostReport> = workers.install(|| {
        batch
            .par_iter()
            .map(|planned| {
                let report = if run.failed_before.contains(planned.plan.host.as_str()) {
                    not_attempted(planned, Some("it failed in an earlier play"))
                } else if too_many() {
                    not_attempted(
                        planned,
                        Some("too many hosts of its batch failed (max_fail_percentage)"),
                    )
                } else {
                    let report = apply(planned);
                    if report.outcome != Outcome::Ok {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                    report
                };
                // Hosts of the batch waiting for a `run_once` result of this one stop waiting.
                finish(&planned.plan.host);
                report
            })
            .collect()
    });
    (reports, failed.into_inner(), fresh)
}

/// Applies one host of a batch (and its later rounds), showing its progress.
fn apply_planned(
    planned: &PlannedHost,
    connections: &Pool,
    options: &ApplyOptions<'_>,
    progress: &Progress,
    rounds: Option<&Rounds<'_, '_>>,
) -> HostReport {
    let host = &planned.plan.host;
    if !planned.plan.steps.is_empty() {
        progress.update(
            host,
            &format!("applying {}", count(planned.plan.steps.len(), "step")),
        );
    }
    let apply_one = |planned: &PlannedHost| {
        crate::apply::settled(planned).unwrap_or_else(|| {
            connections
                .with(planned.connection(), &planned.target, |t| {
                    apply_host(planned, t, options)
                })
                .unwrap_or_else(|e| unreachable_report(planned, &e.message))
        })
    };
    let mut report = apply_one(planned);
    if let Some(rounds) = rounds.filter(|_| planned.next.is_some()) {
        report = rounds.go_on(
            planned,
            report,
            &apply_one,
            connections,
            progress,
            options.stop,
        );
    }
    if !planned.plan.steps.is_empty() {
        progress.finish(host, &outcome_word(&report));
    }
    report
}

/// Applying the rounds after a host's first: what compiles them, how their plans are shown,
/// and each such host's plan, all rounds merged (for the report).
pub(super) struct Rounds<'a, 'r> {
    recompiler: &'a Recompiler<'r>,
    show: &'a (dyn Fn(&HostPlan) + Sync),
    merged: std::sync::Mutex<Vec<HostPlan>>,
    /// The position of the play being applied (plays are applied one after the other).
    play: std::sync::atomic::AtomicUsize,
}

impl Rounds<'_, '_> {
    /// `host` is done applying the current play: a result it did not share will not come.
    fn finish(&self, host: &str) {
        let play = self.play.load(Ordering::SeqCst);
        self.recompiler.board.finish(true, play, host);
    }

    /// After `planned` was applied as `report`: while it succeeded and the play goes on, plans
    /// the next round, shows it and applies it. Returns the report of all rounds.
    fn go_on(
        &self,
        planned: &PlannedHost,
        report: HostReport,
        apply_one: &dyn Fn(&PlannedHost) -> HostReport,
        connections: &Pool,
        progress: &Progress,
        stop: &AtomicBool,
    ) -> HostReport {
        let (first, report) = self.until_fresh(
            planned.clone(),
            report,
            apply_one,
            connections,
            progress,
            stop,
        );
        let mut plan = first.plan.clone();
        let mut total = report.clone();
        let mut last_report = report;
        let mut last = first;
        while last_report.outcome == Outcome::Ok && !stop.load(Ordering::SeqCst) {
            let Some(next) = next_round(
                &last,
                &last_report.steps,
                self.recompiler,
                connections,
                progress,
            ) else {
                break;
            };
            (self.show)(&next.plan);
            let round_report = apply_one(&next);
            let (next, round_report) =
                self.until_fresh(next, round_report, apply_one, connections, progress, stop);
            merge(&mut plan, &mut total, &next.plan, &round_report);
            last_report = round_report;
            last = next;
        }
        plan.deferred = if last_report.outcome == Outcome::Ok {
            None
        } else {
            last.plan.deferred.clone()
        };
        self.merged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(plan);
        total
    }

    /// A delegated round its apply found stale (another host delegating to the same host
    /// changed what it reads, between its plan and its lock) changed nothing: it is planned
    /// again, shown and applied, up to `STALE_RETRIES` times. Any other round is returned as is.
    fn until_fresh(
        &self,
        mut planned: PlannedHost,
        mut report: HostReport,
        apply_one: &dyn Fn(&PlannedHost) -> HostReport,
        connections: &Pool,
        progress: &Progress,
        stop: &AtomicBool,
    ) -> (PlannedHost, HostReport) {
        for _ in 0..STALE_RETRIES {
            if !report.stale || stop.load(Ordering::SeqCst) {
                break;
            }
            let Some(fresh) = replan(&planned, self.recompiler, connections, progress) else {
                break;
            };
            (self.show)(&fresh.plan);
            report = apply_one(&fresh);
            planned = fresh;
        }
        (planned, report)
    }
}

/// How many times a stale delegated round is planned again (one per host that may have
/// delegated to the same host in between is plenty for a batch of that size).
const STALE_RETRIES: usize = 8;

/// Appends one round's plan and report to the host's: step ids continue after the earlier
/// rounds' steps.
fn merge(plan: &mut HostPlan, total: &mut HostReport, round: &HostPlan, report: &HostReport) {
    let offset = plan.steps.len();
    for step in &round.steps {
        let mut step = step.clone();
        step.id += offset;
        step.depends_on.iter_mut().for_each(|d| *d += offset);
        step.triggered_by.iter_mut().for_each(|d| *d += offset);
        plan.steps.push(step);
    }
    plan.unchanged += round.unchanged;
    if round.error.is_some() {
        plan.error.clone_from(&round.error);
        plan.error_at.clone_from(&round.error_at);
    }
    for step in &report.steps {
        let mut step = step.clone();
        step.id += offset;
        total.steps.push(step);
    }
    total.unchanged += report.unchanged;
    total.outcome = report.outcome.clone();
    total.stats = report.stats;
}

pub(super) fn outcome_word(report: &HostReport) -> String {
    match &report.outcome {
        Outcome::Ok => format!(
            "done, {} changed",
            report.count(crate::report::StepStatus::Changed)
        ),
        Outcome::Failed(_) => "failed".to_owned(),
        Outcome::Unreachable(_) => "unreachable".to_owned(),
        Outcome::Interrupted => "interrupted".to_owned(),
    }
}

/// A host left alone: `why` it was skipped, or `None` when Ctrl-C stopped the run.
pub(super) fn not_attempted(planned: &PlannedHost, why: Option<&str>) -> HostReport {
    HostReport {
        host: planned.plan.host.clone(),
        play: planned.plan.play.clone(),
        outcome: match why {
            Some(why) => Outcome::Failed(format!("not attempted: {why}")),
            None => Outcome::Interrupted,
        },
        unchanged: 0,
        steps: Vec::new(),
        stats: crate::transport::Stats::default(),
        stale: false,
    }
}

pub(super) fn unreachable_report(planned: &PlannedHost, message: &str) -> HostReport {
    HostReport {
        outcome: Outcome::Unreachable(message.to_owned()),
        ..not_attempted(planned, None)
    }
}

pub(super) fn render_stats(connections: &Pool) -> String {
    let stats = connections.stats();
    let width = stats.iter().map(|(h, _)| h.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "\n{:width$}  {:>11}  {:>8}  {:>10}  {:>10}\n",
        "HOST", "CONNECTIONS", "CHANNELS", "SENT", "RECEIVED"
    );
    for (host, s) in stats {
        let _ = writeln!(
            out,
            "{host:width$}  {:>11}  {:>8}  {:>10}  {:>10}",
            s.connections, s.channels, s.bytes_sent, s.bytes_received
        );
    }
    out
}
