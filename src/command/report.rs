//! `recon report merge FILE...`: one recap from the `apply --json` reports of `--shard` runs.
//!
//! Each sharded report carries the full list of selected targets (computed before sharding),
//! so the merge can prove that the shards covered every target exactly once (a missing shard or
//! one run twice is an error, not a silently short recap) and put hosts back in run order: the
//! merged report is the report an unsharded run would have printed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::{MergeArgs, ReportAction, ReportArgs};
use crate::error::{Error, Result};
use crate::exit;
use crate::plan::HostPlan;
use crate::render::{render_report, Style};
use crate::report::{HostReport, Outcome};

use super::shard::Selected;

/// The `apply --json` format this reads.
const APPLY_FORMAT: &str = "recon-apply/1";

/// `recon report ACTION`.
pub(super) fn report(args: &ReportArgs) -> Result<i32> {
    match &args.action {
        ReportAction::Merge(merge_args) => merge(merge_args),
    }
}

/// One `apply --json` document.
#[derive(Debug, Deserialize)]
struct ApplyDocument {
    format: String,
    plan: Vec<HostPlan>,
    report: Vec<HostReport>,
    #[serde(default)]
    targets: Option<Vec<Selected>>,
}

/// The merged reports, in run order.
#[derive(Debug)]
struct Merged {
    plan: Vec<HostPlan>,
    report: Vec<HostReport>,
    targets: Option<Vec<Selected>>,
}

fn read(path: &Path) -> Result<ApplyDocument> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
    let doc: ApplyDocument =
        super::saved::read_plans(|| serde_json::from_str(&text)).map_err(|e| {
            Error::usage(format!(
                "{} is not an `apply --json` report: {e}",
                path.display()
            ))
        })?;
    if doc.format != APPLY_FORMAT {
        return Err(Error::usage(format!(
            "{} is a `{}` document, not `{APPLY_FORMAT}`",
            path.display(),
            doc.format
        )));
    }
    Ok(doc)
}

fn merge(args: &MergeArgs) -> Result<i32> {
    let docs = args
        .files
        .iter()
        .map(|f| read(f).map(|d| (f.clone(), d)))
        .collect::<Result<Vec<_>>>()?;
    let merged = combine(&docs)?;
    if args.json {
        let mut value = serde_json::json!({
            "format": APPLY_FORMAT,
            "plan": merged.plan,
            "report": merged.report,
        });
        if let Some(targets) = &merged.targets {
            value["targets"] = serde_json::json!(targets);
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        let plans: Vec<&HostPlan> = merged.plan.iter().collect();
        print!("{}", render_report(&merged.report, &plans, Style::detect()));
    }
    Ok(if merged.report.iter().all(|r| r.outcome == Outcome::Ok) {
        exit::OK
    } else {
        exit::ERROR
    })
}

/// Checks coverage and orders everything by the targets' run order (or file order when the
/// reports carry no target list: reports of saved plans).
fn combine(docs: &[(PathBuf, ApplyDocument)]) -> Result<Merged> {
    let mut targets: Option<Vec<Selected>> = None;
    for (path, doc) in docs {
        match (&targets, &doc.targets) {
            (_, None) if docs.iter().any(|(_, d)| d.targets.is_some()) => {
                return Err(Error::usage(format!(
                    "{} carries no target list (a saved plan's report?) but others do",
                    path.display()
                )))
            }
            (None, Some(t)) => targets = Some(t.clone()),
            (Some(mine), Some(theirs)) if mine != theirs => {
                return Err(Error::usage(format!(
                    "{} comes from another selection of targets (another inventory, --limit or playbook)",
                    path.display()
                )))
            }
            _ => {}
        }
    }
    let mut seen: HashMap<(String, String), &Path> = HashMap::new();
    let mut plan = Vec::new();
    let mut report = Vec::new();
    for (path, doc) in docs {
        for r in &doc.report {
            let key = (r.play.clone(), r.host.clone());
            if let Some(first) = seen.insert(key, path) {
                return Err(Error::usage(format!(
                    "`{}` (play `{}`) is in two reports: {} and {}",
                    r.host,
                    r.play,
                    first.display(),
                    path.display()
                )));
            }
        }
        plan.extend(doc.plan.iter().cloned());
        report.extend(doc.report.iter().cloned());
    }
    if let Some(all) = &targets {
        let position: HashMap<(&str, &str), usize> = all
            .iter()
            .enumerate()
            .map(|(i, t)| ((t.play.as_str(), t.host.as_str()), i))
            .collect();
        for t in all {
            if !seen.contains_key(&(t.play.clone(), t.host.clone())) {
                return Err(Error::usage(format!(
                    "`{}` (play `{}`) is in no report: is a shard missing?",
                    t.host, t.play
                )));
            }
        }
        let at = |play: &str, host: &str| position.get(&(play, host)).copied();
        if let Some(r) = report.iter().find(|r| at(&r.play, &r.host).is_none()) {
            return Err(Error::usage(format!(
                "`{}` (play `{}`) was not among the selected targets",
                r.host, r.play
            )));
        }
        report.sort_by_key(|r| at(&r.play, &r.host));
        plan.sort_by_key(|p| at(&p.play, &p.host));
    }
    Ok(Merged {
        plan,
        report,
        targets,
    })
}
