//! The front door: arguments → pipeline stages → rendered output and an exit code.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ansible_cfg::AnsibleConfig;
use crate::apply::{apply_host, ApplyOptions, HostReport, Outcome};
use crate::cli::{
    ApplyArgs, Arguments, Command, GraphArgs, InventoryArgs, PlanArgs, RollbackArgs, RunArgs,
    Selection,
};
use crate::compile::{self, Compiler, HostGraph, PlayRun};
use crate::error::{Error, ErrorKind, Result};
use crate::exit;
use crate::inventory::{self, Inventory};
use crate::playbook::{self, Playbook, RoleCache};
use crate::probe::{plan_host, PlannedHost};
use crate::render::{count, render_plan, render_report, OwnValues, PlanView, Progress, Style};
use crate::transport::{ConnectOptions, Pool, TransportErrorKind};

/// Parses `args`, runs the subcommand, prints its output and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let command = Arguments::command().after_long_help(format!(
        "Resources (the key of a task):\n{}",
        crate::resource::help()
    ));
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|m| Arguments::from_arg_matches(&m));
    let arguments = match parsed {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            };
        }
    };
    install_error_style();
    let stop = Arc::new(AtomicBool::new(false));
    // First Ctrl-C: stop dispatching steps, let those in flight finish. Second: exit at once.
    let _ = signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        130,
        Arc::clone(&stop),
    );
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop));
    match execute(arguments.command, &stop) {
        Ok(code) => code,
        Err(err) => {
            eprintln!(
                "{}",
                crate::secret::scrub(&format!("{:?}", miette::Report::new(err)))
            );
            exit::ERROR
        }
    }
}

fn install_error_style() {
    let _ = miette::set_hook(Box::new(|_| {
        use std::io::IsTerminal;
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let theme = if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        Box::new(
            miette::GraphicalReportHandler::new_themed(theme)
                .with_width(100)
                .with_links(false),
        )
    }));
}

fn execute(command: Command, stop: &AtomicBool) -> Result<i32> {
    let from_config = AnsibleConfig::discover()
        .ok()
        .and_then(|c| c.vault_password_file);
    crate::vault::configure(command.vault_passwords(), from_config.as_deref());
    match command {
        Command::Check(selection) => check(&selection),
        Command::Plan(args) => plan(&args),
        Command::Apply(args) => apply(&args, stop),
        Command::Graph(args) => graph(&args),
        Command::Inventory(args) => list_inventory(&args),
        Command::Run(args) => adhoc(&args),
        Command::Releases(args) => list_releases(&args),
        Command::Rollback(args) => rollback(&args, stop),
        Command::Vault(args) => crate::vault::run(&args),
        Command::Init(args) => crate::init::run(&args),
    }
}

/// Everything loaded and compiled: nothing has touched a host yet.
struct Loaded {
    playbook: Playbook,
    runs: Vec<PlayRun>,
    /// Each host's own inventory values, for grouping hosts with the same changes in the plan.
    own: OwnValues,
}

fn load_inventory(path: Option<&Path>) -> Result<Inventory> {
    inventory::open(path, &AnsibleConfig::discover()?)
}

fn load(selection: &Selection) -> Result<Loaded> {
    let config = AnsibleConfig::discover()?;
    let inventory = inventory::open(selection.source.inventory.as_deref(), &config)?;
    let mut roles = RoleCache::with_search_path(config.roles_path);
    let mut playbook = playbook::load(&selection.playbook, &mut roles)?;
    playbook.become_all(selection.become_);
    let options = compile::Options {
        limit: selection.limit.clone(),
        extra_vars: compile::parse_extra_vars(&selection.source.extra_vars)?,
        tags: selection.tags.clone(),
        skip_tags: selection.skip_tags.clone(),
    };
    let runs = Compiler::compile(&playbook, &inventory, &options)?;
    let own = OwnValues::from_inventory(&inventory);
    Ok(Loaded {
        playbook,
        runs,
        own,
    })
}

fn check(selection: &Selection) -> Result<i32> {
    let loaded = load(selection)?;
    let hosts: usize = loaded.runs.iter().map(|r| r.hosts.len()).sum();
    let tasks: usize = loaded
        .runs
        .iter()
        .flat_map(|r| &r.hosts)
        .map(|h| h.tasks.len())
        .sum();
    println!(
        "{} is valid: {}, {} compiled for {}.",
        crate::source::display_path(&loaded.playbook.path),
        count(loaded.runs.len(), "play"),
        count(tasks, "task"),
        count(hosts, "host")
    );
    Ok(exit::OK)
}

/// A plan for every play, as saved by `plan -o` and read back by `apply FILE`.
#[derive(Serialize, Deserialize)]
struct SavedPlan {
    format: String,
    plays: Vec<SavedPlay>,
}

const PLAN_FORMAT: &str = "recon-plan/1";

#[derive(Serialize, Deserialize)]
struct SavedPlay {
    name: String,
    batch: usize,
    hosts: Vec<PlannedHost>,
}

fn thread_pool(forks: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(forks.max(1))
        .build()
        .map_err(|e| Error::usage(format!("cannot start {forks} workers: {e}")))
}

fn pool(connection: &crate::cli::Connection) -> Pool {
    let options = ConnectOptions {
        // ansible.cfg `host_key_checking = False` accepts (and records) unknown keys only.
        accept_new_host_keys: connection.accept_new_host_keys
            || AnsibleConfig::discover().is_ok_and(|c| c.host_key_checking == Some(false)),
        connect_timeout: std::time::Duration::from_secs(connection.connect_timeout.max(1)),
        ..ConnectOptions::default()
    };
    Pool::new(options, connection.node_forks)
}

fn plan_all(
    runs: &[PlayRun],
    workers: &rayon::ThreadPool,
    connections: &Pool,
    progress: &Progress,
) -> Vec<SavedPlay> {
    // A host in one play only is done with its connection once it has nothing to apply.
    let mut plays_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for graph in runs.iter().flat_map(|r| &r.hosts) {
        *plays_of.entry(graph.host.as_str()).or_default() += 1;
    }
    runs.iter()
        .map(|run| SavedPlay {
            name: run.name.clone(),
            batch: run.batch,
            hosts: workers.install(|| {
                run.hosts
                    .par_iter()
                    .map(|g| {
                        let planned = plan_one(g, connections, progress);
                        if planned.script.is_none() && plays_of.get(g.host.as_str()) == Some(&1) {
                            connections.close(&g.host);
                        }
                        planned
                    })
                    .collect()
            }),
        })
        .collect()
}

fn plan_one(graph: &HostGraph, connections: &Pool, progress: &Progress) -> PlannedHost {
    progress.update(&graph.host, "connecting and probing");
    let planned = match connections.with(&graph.host, &graph.target, |t| plan_host(graph, t)) {
        Ok(planned) => planned,
        // Host key and authentication failures count as unreachable, as in Ansible's recap.
        Err(err) => PlannedHost::failed(graph, &err.message, err.kind != TransportErrorKind::Io),
    };
    let what = match &planned.plan.error {
        Some(_) => "failed".to_owned(),
        None if planned.plan.steps.is_empty() => "no changes".to_owned(),
        None => format!("planned {}", count(planned.plan.steps.len(), "change")),
    };
    progress.finish(&graph.host, &what);
    planned
}

fn host_plans(plays: &[SavedPlay]) -> Vec<&crate::plan::HostPlan> {
    plays
        .iter()
        .flat_map(|p| p.hosts.iter().map(|h| &h.plan))
        .collect()
}

fn plan(args: &PlanArgs) -> Result<i32> {
    let loaded = load(&args.selection)?;
    let workers = thread_pool(args.connection.forks)?;
    let connections = pool(&args.connection);
    let plays = plan_with_progress(&loaded.runs, &workers, &connections, args.json);
    let host_plan_list = host_plans(&plays);
    if args.json {
        println!("{}", plan_json(&host_plan_list));
    } else {
        print!(
            "{}",
            render_plan(
                &host_plan_list,
                Style::detect(),
                PlanView {
                    verbose: args.verbose,
                    group: (!args.no_group).then_some(&loaded.own),
                }
            )
        );
    }
    if let Some(path) = &args.out {
        let saved = SavedPlan {
            format: PLAN_FORMAT.to_owned(),
            plays,
        };
        let text = serde_json::to_string(&saved)
            .map_err(|e| Error::usage(format!("cannot encode the plan: {e}")))?;
        write_private(path, text.as_bytes()).map_err(|e| Error::io(path, &e))?;
        if !args.json {
            println!(
                "Saved the plan to {}; apply it with: recon apply {}",
                path.display(),
                path.display()
            );
        }
        return Ok(plan_exit(&host_plans(&saved.plays), args.detailed_exitcode));
    }
    Ok(plan_exit(&host_plan_list, args.detailed_exitcode))
}

/// Writes a file only its owner can read (a saved plan may hold secrets), through a temp file
/// created 0600 beside it and a rename: never readable by others, never half-written.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = written.and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(())
}

fn plan_exit(plans: &[&crate::plan::HostPlan], detailed: bool) -> i32 {
    if plans.iter().any(|p| p.error.is_some()) {
        exit::ERROR
    } else if detailed && plans.iter().any(|p| p.has_changes()) {
        exit::CHANGES
    } else {
        exit::OK
    }
}

/// `--json` for plans: a stable, documented shape.
fn plan_json(plans: &[&crate::plan::HostPlan]) -> String {
    let value = serde_json::json!({ "format": "recon-plan-view/1", "hosts": plans });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn is_saved_plan(path: &Path) -> bool {
    let mut head = [0u8; 32];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let n = std::io::Read::read(&mut file, &mut head).unwrap_or(0);
    String::from_utf8_lossy(&head[..n]).starts_with("{\"format\":\"recon-plan/")
}

fn load_saved_plan(path: &Path) -> Result<Vec<SavedPlay>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
    let saved: SavedPlan = serde_json::from_str(&text).map_err(|e| {
        Error::new(ErrorKind::SavedPlan {
            message: format!("`{}` is not a valid saved plan: {e}", path.display()),
        })
    })?;
    if saved.format != PLAN_FORMAT {
        return Err(Error::new(ErrorKind::SavedPlan {
            message: format!(
                "`{}` has format `{}`; this recon reads `{PLAN_FORMAT}`",
                path.display(),
                saved.format
            ),
        }));
    }
    Ok(saved.plays)
}

fn apply(args: &ApplyArgs, stop: &AtomicBool) -> Result<i32> {
    let workers = thread_pool(args.connection.forks)?;
    let connections = pool(&args.connection);
    let (plays, own) = if is_saved_plan(&args.selection.playbook) {
        (
            load_saved_plan(&args.selection.playbook)?,
            OwnValues::default(),
        )
    } else {
        let loaded = load(&args.selection)?;
        let plays = plan_with_progress(&loaded.runs, &workers, &connections, args.json);
        (plays, loaded.own)
    };
    Ok(carry_out(&plays, args, &own, &workers, &connections, stop))
}

fn plan_with_progress(
    runs: &[PlayRun],
    workers: &rayon::ThreadPool,
    connections: &Pool,
    quiet: bool,
) -> Vec<SavedPlay> {
    let progress = Progress::new(quiet);
    let plays = plan_all(runs, workers, connections, &progress);
    progress.clear();
    plays
}

fn rollback(args: &RollbackArgs, stop: &AtomicBool) -> Result<i32> {
    let apply = &args.apply;
    let workers = thread_pool(apply.connection.forks)?;
    let connections = pool(&apply.connection);
    let mut loaded = load(&apply.selection)?;
    for run in &mut loaded.runs {
        let problems: Vec<String> = workers.install(|| {
            run.hosts
                .par_iter_mut()
                .filter_map(|graph| {
                    let result = release_states(graph, &connections).and_then(|states| {
                        crate::releases::prepare_rollback(graph, &states, args.to.as_deref())
                    });
                    match result {
                        Ok(selected) => {
                            graph.selected = Some(selected);
                            None
                        }
                        Err(e) => Some(format!("{}: {e}", graph.host)),
                    }
                })
                .collect()
        });
        if !problems.is_empty() {
            return Err(Error::usage(format!(
                "cannot roll back:\n  {}",
                problems.join("\n  ")
            )));
        }
    }
    let plays = plan_with_progress(&loaded.runs, &workers, &connections, apply.json);
    Ok(carry_out(
        &plays,
        apply,
        &loaded.own,
        &workers,
        &connections,
        stop,
    ))
}

/// The release states of `graph`'s host, read over its pooled connection.
fn release_states(
    graph: &HostGraph,
    connections: &Pool,
) -> std::result::Result<Vec<(usize, crate::facts::ReleaseState)>, String> {
    connections
        .with(&graph.host, &graph.target, |t| {
            crate::releases::read_states(graph, t)
        })
        .map_err(|e| e.message)
        .and_then(|states| states)
}

fn list_releases(args: &crate::cli::ReleasesArgs) -> Result<i32> {
    let workers = thread_pool(args.connection.forks)?;
    let connections = pool(&args.connection);
    let loaded = load(&args.selection())?;
    let graphs: Vec<&HostGraph> = loaded.runs.iter().flat_map(|r| &r.hosts).collect();
    let listings: Vec<crate::releases::Listing> = workers.install(|| {
        graphs
            .par_iter()
            .flat_map(|graph| match release_states(graph, &connections) {
                Ok(states) => crate::releases::listing(graph, &states),
                Err(e) => vec![crate::releases::Listing {
                    host: graph.host.clone(),
                    root: String::new(),
                    current: None,
                    releases: Vec::new(),
                    error: Some(e),
                }],
            })
            .collect()
    });
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&listings).unwrap_or_default()
        );
    } else {
        print!("{}", crate::releases::render(&listings));
    }
    Ok(if listings.iter().any(|l| l.error.is_some()) {
        exit::ERROR
    } else {
        exit::OK
    })
}

/// Prints the plan, applies it play by play, prints the report.
fn carry_out(
    plays: &[SavedPlay],
    args: &ApplyArgs,
    own: &OwnValues,
    workers: &rayon::ThreadPool,
    connections: &Pool,
    stop: &AtomicBool,
) -> i32 {
    let style = Style::detect();
    let host_plan_list = host_plans(plays);
    if !args.json {
        let view = PlanView {
            verbose: args.verbose,
            group: (!args.no_group).then_some(own),
        };
        print!("{}", render_plan(&host_plan_list, style, view));
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
    let mut reports: Vec<HostReport> = Vec::new();
    for play in plays {
        reports.extend(apply_play(
            play,
            args.max_fail_percent,
            workers,
            connections,
            &options,
            &progress,
        ));
    }
    progress.clear();
    if args.json {
        let value = serde_json::json!({ "format": "recon-apply/1", "plan": host_plan_list, "report": reports });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        print!("{}", render_report(&reports, &host_plan_list, style));
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

/// Applies one play batch by batch (`serial:`). Without `--max-fail-percent`, a failure in a
/// rolling batch stops the batches after it; with it, no new host starts once more than that
/// share of the play's hosts failed.
fn apply_play(
    play: &SavedPlay,
    max_fail_percent: Option<u8>,
    workers: &rayon::ThreadPool,
    connections: &Pool,
    options: &ApplyOptions<'_>,
    progress: &Progress,
) -> Vec<HostReport> {
    let total = play.hosts.len().max(1);
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let too_many = || {
        max_fail_percent
            .is_some_and(|pct| failed.load(Ordering::SeqCst) * 100 > usize::from(pct) * total)
    };
    let mut reports = Vec::new();
    let mut halted = false;
    for batch in play.hosts.chunks(play.batch.max(1)) {
        if halted || too_many() || options.stop.load(Ordering::SeqCst) {
            let why = if options.stop.load(Ordering::SeqCst) {
                None
            } else {
                Some("an earlier batch failed")
            };
            reports.extend(batch.iter().map(|h| not_attempted(h, why)));
            continue;
        }
        let batch_reports: Vec<HostReport> = workers.install(|| {
            batch
                .par_iter()
                .map(|planned| {
                    if too_many() {
                        return not_attempted(
                            planned,
                            Some("too many hosts failed (--max-fail-percent)"),
                        );
                    }
                    let host = &planned.plan.host;
                    if !planned.plan.steps.is_empty() {
                        progress.update(
                            host,
                            &format!("applying {}", count(planned.plan.steps.len(), "step")),
                        );
                    }
                    let report = crate::apply::settled(planned).unwrap_or_else(|| {
                        connections
                            .with(host, &planned.target, |t| apply_host(planned, t, options))
                            .unwrap_or_else(|e| unreachable_report(planned, &e.message))
                    });
                    if !planned.plan.steps.is_empty() {
                        progress.finish(host, &outcome_word(&report));
                    }
                    if report.outcome != Outcome::Ok {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                    report
                })
                .collect()
        });
        let any_failed = batch_reports.iter().any(|r| r.outcome != Outcome::Ok);
        reports.extend(batch_reports);
        if any_failed && max_fail_percent.is_none() && play.batch < play.hosts.len() {
            halted = true;
        }
    }
    reports
}

fn outcome_word(report: &HostReport) -> String {
    match &report.outcome {
        Outcome::Ok => format!(
            "done, {} changed",
            report.count(crate::apply::StepStatus::Changed)
        ),
        Outcome::Failed(_) => "failed".to_owned(),
        Outcome::Unreachable(_) => "unreachable".to_owned(),
        Outcome::Interrupted => "interrupted".to_owned(),
    }
}

/// A host left alone: `why` it was skipped, or `None` when Ctrl-C stopped the run.
fn not_attempted(planned: &PlannedHost, why: Option<&str>) -> HostReport {
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
    }
}

fn unreachable_report(planned: &PlannedHost, message: &str) -> HostReport {
    HostReport {
        outcome: Outcome::Unreachable(message.to_owned()),
        ..not_attempted(planned, None)
    }
}

fn render_stats(connections: &Pool) -> String {
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

/// `user@machine pid N`: shown to whoever finds a host locked by this run.
fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("recon {user}@{} pid {}", machine.trim(), std::process::id())
}

fn graph(args: &GraphArgs) -> Result<i32> {
    let loaded = load(&args.selection)?;
    let graphs: Vec<&HostGraph> = loaded
        .runs
        .iter()
        .flat_map(|r| &r.hosts)
        .filter(|g| g.host == args.host)
        .collect();
    if graphs.is_empty() {
        return Err(Error::usage(format!(
            "host `{}` is not targeted by this playbook",
            args.host
        )));
    }
    for g in graphs {
        print!("{}", crate::render::dot(g));
    }
    Ok(exit::OK)
}

fn list_inventory(args: &InventoryArgs) -> Result<i32> {
    let inventory = load_inventory(args.source.inventory.as_deref())?;
    let extra = compile::parse_extra_vars(&args.source.extra_vars)?;
    let mut hosts = Vec::new();
    for host in &inventory.hosts {
        let vars = compile::resolved_host_vars(&inventory, &host.name, &extra)?;
        hosts.push((host, vars));
    }
    if args.json {
        let groups: serde_json::Map<String, serde_json::Value> = inventory
            .groups
            .keys()
            .map(|g| (g.clone(), serde_json::json!(inventory.group_members(g))))
            .collect();
        let host_map: serde_json::Map<String, serde_json::Value> = hosts
            .iter()
            .map(|(h, vars)| {
                (
                    h.name.clone(),
                    serde_json::to_value(vars).unwrap_or_default(),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "groups": groups, "hosts": host_map })
            )
            .unwrap_or_default()
        );
        return Ok(exit::OK);
    }
    let mut out = String::from("groups:\n");
    for group in inventory.groups.keys() {
        let _ = writeln!(
            out,
            "  {group}: {}",
            inventory.group_members(group).join(", ")
        );
    }
    out.push_str("hosts:\n");
    for (host, vars) in &hosts {
        let _ = writeln!(out, "  {}", host.name);
        for (k, v) in vars {
            let _ = writeln!(
                out,
                "    {k}: {}",
                serde_json::to_string(v).unwrap_or_default()
            );
        }
    }
    print!("{out}");
    Ok(exit::OK)
}

fn adhoc(args: &RunArgs) -> Result<i32> {
    let inventory = load_inventory(args.source.inventory.as_deref())?;
    let workers = thread_pool(args.connection.forks)?;
    let connections = pool(&args.connection);
    let outputs = crate::adhoc::run(
        &inventory,
        &args.pattern,
        &args.source.extra_vars,
        &args.command,
        args.become_,
        &connections,
        &workers,
    )?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outputs).unwrap_or_default()
        );
    } else {
        print!("{}", crate::adhoc::render(&outputs));
    }
    Ok(if outputs.iter().all(|o| o.exit_code == Some(0)) {
        exit::OK
    } else {
        exit::ERROR
    })
}
