//! `recon releases` and `recon rollback`: what each target has deployed, and switching back.
//! Both read release state with one probe script per target. Rollback rewrites each `release`
//! task to switch to the chosen version (never unpack) and keeps only the tasks that react to it
//! (`notify`: the program restart, the health check), so it runs the same restart and checks.
//! A release switched blue/green (`activate: false` and a `cutover` on the same root) rolls
//! back through its cutover: the warm slot when it still runs the release, else the idle one.

use std::fmt::Write as _;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::compile::HostGraph;
use crate::facts::{FactSet, ProbeError};
use crate::resource::release::{compare_versions, last_good, Marker, Status};
use crate::resource::release::{ReleaseState, Releases};
use crate::resource::{Cutover, Release};
use crate::transport::{Transport, TransportError};

/// Why a target's releases cannot be read or rolled back; `recon rollback` lists one per host.
#[derive(Debug, Clone)]
pub(crate) enum ReleaseError {
    /// The target could not be reached or its script not run.
    Transport(TransportError),
    /// The probe's reply does not parse.
    Probe(ProbeError),
    /// No good release is older than the current one.
    NothingOlder {
        current: Option<String>,
        root: String,
    },
    /// `--to` names a version recon did not record.
    NotRecorded { target: String, root: String },
}

impl std::fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(e) => e.fmt(f),
            Self::Probe(e) => e.fmt(f),
            Self::NothingOlder { current, root } => write!(
                f,
                "no good release older than `{}` under `{root}`",
                current.as_deref().unwrap_or("?")
            ),
            Self::NotRecorded { target, root } => write!(
                f,
                "release `{target}` is not a release recon recorded under `{root}`"
            ),
        }
    }
}

impl std::error::Error for ReleaseError {}

/// One release root on one target.
#[derive(Debug, Serialize)]
pub(crate) struct Listing {
    pub(crate) host: String,
    pub(crate) root: String,
    pub(crate) current: Option<String>,
    pub(crate) releases: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// Reads the state of every `release` task of `graph` in one script.
pub(crate) fn read_states(
    graph: &HostGraph,
    transport: &mut dyn Transport,
) -> Result<Vec<(usize, ReleaseState)>, ReleaseError> {
    let mut facts = FactSet::default();
    let mut wanted = Vec::new();
    for (i, task) in graph.tasks.iter().enumerate() {
        if let Some(r) = release_of(task) {
            wanted.push((i, facts.ask(Releases::new(&r.root, &r.link))));
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let stop = AtomicBool::new(false);
    let out = transport
        .run_script(facts.probe_script().as_bytes(), graph.become_, &stop)
        .map_err(ReleaseError::Transport)?;
    let values = facts
        .parse(&String::from_utf8_lossy(&out.stdout))
        .map_err(ReleaseError::Probe)?;
    Ok(wanted
        .into_iter()
        .map(|(task, handle)| (task, values.get(handle).clone()))
        .collect())
}

/// The task's resource when it is a release.
fn release_of(task: &crate::compile::Task) -> Option<&Release> {
    task.resource.as_any().downcast_ref::<Release>()
}

/// Lists releases newest first with their status.
pub(crate) fn listing(graph: &HostGraph, states: &[(usize, ReleaseState)]) -> Vec<Listing> {
    states
        .iter()
        .filter_map(|(task, state)| {
            let r = release_of(&graph.tasks[*task])?;
            // Only folders recon recorded (a marker) are releases: `conf`, `logs` or a folder
            // someone unpacked by hand under the root are not.
            let mut releases: Vec<(String, String)> = state
                .dirs
                .iter()
                .filter_map(|d| {
                    let word = match Marker::parse(state.markers.get(d)?).status {
                        Status::Good => "good",
                        Status::Failed => "failed",
                        Status::Deployed => "deployed",
                        Status::Unpacking => "unfinished",
                    };
                    Some((d.clone(), word.to_owned()))
                })
                .collect();
            releases.sort_by(|a, b| compare_versions(&b.0, &a.0));
            Some(Listing {
                host: graph.host.clone(),
                root: r.root.clone(),
                current: state.link.clone(),
                releases,
                error: None,
            })
        })
        .collect()
}

pub(crate) fn render(listings: &[Listing]) -> String {
    let mut out = String::new();
    for l in listings {
        let _ = writeln!(out, "{}  {}", l.host, l.root);
        if let Some(e) = &l.error {
            let _ = writeln!(out, "  error: {e}");
        }
        for (version, status) in &l.releases {
            let current = if l.current.as_deref() == Some(version.as_str()) {
                "  <- current"
            } else {
                ""
            };
            let _ = writeln!(out, "  {version:<12} {status}{current}");
        }
    }
    out
}

/// Rewrites `graph` for a rollback: each release switches to `to` (or the newest good release
/// older than the current one), and only tasks reacting to it stay selected.
pub(crate) fn prepare_rollback(
    graph: &mut HostGraph,
    states: &[(usize, ReleaseState)],
    to: Option<&str>,
) -> Result<Vec<bool>, ReleaseError> {
    let mut selected = vec![false; graph.tasks.len()];
    for (task, state) in states {
        let Some(release) = release_of(&graph.tasks[*task]) else {
            continue;
        };
        let mut r = release.clone();
        let current = state.link.clone();
        let target = if let Some(v) = to {
            v.to_owned()
        } else {
            let older = ReleaseState {
                markers: state
                    .markers
                    .iter()
                    .filter(|(v, _)| {
                        current
                            .as_deref()
                            .is_none_or(|c| compare_versions(v, c).is_lt())
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                ..state.clone()
            };
            last_good(&older, current.as_deref()).ok_or_else(|| ReleaseError::NothingOlder {
                current: current.clone(),
                root: r.root.clone(),
            })?
        };
        if !state.dirs.contains(&target) || !state.markers.contains_key(&target) {
            return Err(ReleaseError::NotRecorded {
                target,
                root: r.root.clone(),
            });
        }
        for (i, t) in graph.tasks.iter_mut().enumerate() {
            if let Some(c) = t.resource.as_any().downcast_ref::<Cutover>() {
                if c.root == r.root {
                    let mut c = c.clone();
                    c.version.clone_from(&target);
                    t.resource = crate::resource::replaced(&t.resource, c);
                    selected[i] = true;
                }
            }
        }
        r.version = target;
        r.switch_only = true;
        graph.tasks[*task].resource = crate::resource::replaced(&graph.tasks[*task].resource, r);
        selected[*task] = true;
    }
    // Everything downstream of a selected task through notify edges reacts to the switch.
    for i in 0..graph.tasks.len() {
        if graph.tasks[i].notified_by.iter().any(|&n| selected[n]) {
            selected[i] = true;
        }
    }
    Ok(selected)
}
