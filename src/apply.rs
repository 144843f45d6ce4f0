//! Carrying out one host's plan: run its apply script (lock, stale check, steps, handlers) on the
//! host's transport and turn the script's report lines into a `HostReport`. The only module that
//! sends writes to hosts.

use std::sync::atomic::AtomicBool;

use crate::delivery::{locate, Claimed, Deliveries};
use crate::probe::PlannedHost;
use crate::report::{HostReport, Outcome, StepResult, StepStatus};
use crate::script::header;
use crate::transport::{
    script_with_attachments, Attachment, Invocation, Output, Stats, Transport, Watch,
};

/// Settings of one apply run.
pub(crate) struct ApplyOptions<'a> {
    /// Shown to a concurrent applier that finds the lock taken.
    pub(crate) who: &'a str,
    pub(crate) lock_wait_secs: u64,
    pub(crate) stop: &'a AtomicBool,
    /// Artifacts sent (or on their way) to each account in this run.
    pub(crate) deliveries: &'a Deliveries,
}

fn empty_report(planned: &PlannedHost) -> HostReport {
    HostReport {
        host: planned.plan.host.clone(),
        play: planned.plan.play.clone(),
        outcome: Outcome::Ok,
        unchanged: planned.plan.unchanged,
        steps: Vec::new(),
        stats: Stats::default(),
        stale: false,
    }
}

/// The report of a host that has nothing to run (its plan failed, or it is converged): no
/// connection is needed for it.
pub(crate) fn settled(planned: &PlannedHost) -> Option<HostReport> {
    let mut report = empty_report(planned);
    if let Some(error) = &planned.plan.error {
        report.outcome = if planned.unreachable {
            Outcome::Unreachable(error.clone())
        } else {
            Outcome::Failed(error.clone())
        };
        return Some(report);
    }
    planned.script.is_none().then_some(report)
}

/// Applies `planned` through `transport`. What the host printed is scrubbed of every known
/// secret before anything else sees it, and the output of `no_log` steps is dropped.
pub(crate) fn apply_host(
    planned: &PlannedHost,
    transport: &mut dyn Transport,
    options: &ApplyOptions<'_>,
) -> HostReport {
    let mut report = run_host(planned, transport, options);
    keep_secrets(&mut report, planned);
    report
}

/// What a `no_log`/`sensitive` step's output is replaced with.
pub(crate) const HIDDEN_OUTPUT: &str = "(output hidden: no_log)";

/// Masks every registered secret in the report's texts; drops the output of sensitive steps.
fn keep_secrets(report: &mut HostReport, planned: &PlannedHost) {
    for step in &mut report.steps {
        let sensitive = planned
            .plan
            .steps
            .iter()
            .any(|s| s.id == step.id && s.sensitive);
        for text in [&mut step.output, &mut step.stderr] {
            if sensitive && !text.is_empty() {
                HIDDEN_OUTPUT.clone_into(text);
            } else if let std::borrow::Cow::Owned(clean) = crate::secret::scrub(text) {
                *text = clean;
            }
        }
    }
    if let Outcome::Failed(message) | Outcome::Unreachable(message) = &mut report.outcome {
        if let std::borrow::Cow::Owned(clean) = crate::secret::scrub(message) {
            *message = clean;
        }
    }
}

/// `apply_host` before the report is scrubbed.
fn run_host(
    planned: &PlannedHost,
    transport: &mut dyn Transport,
    options: &ApplyOptions<'_>,
) -> HostReport {
    if let Some(report) = settled(planned) {
        return report;
    }
    let mut report = empty_report(planned);
    let Some(script) = &planned.script else {
        return report;
    };
    let (output, lost) = match deliver(planned, script, transport, options) {
        Ok(sent) => sent,
        Err(outcome) => {
            report.outcome = outcome;
            return report;
        }
    };
    report.stats = transport.stats();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let done = match read_step_lines(&stdout, planned, options, &mut report) {
        Ok(done) => done,
        Err(failure) => {
            report.outcome = failure;
            return report;
        }
    };
    mark_unreported(planned, &mut report);
    report.outcome = final_outcome(planned, &report, &output, lost, done);
    report
}

/// Sends the apply script (with the artifacts this account still lacks) and returns what the
/// host printed, with the message of a lost link: a lost link still tells which steps the host
/// finished before it went. `Err` is the host's outcome when an artifact cannot be found on
/// this machine.
fn deliver(
    planned: &PlannedHost,
    script: &crate::script::Script,
    transport: &mut dyn Transport,
    options: &ApplyOptions<'_>,
) -> Result<(Output, Option<String>), Outcome> {
    let mut needed = script.artifacts().to_vec();
    locate(&mut needed).map_err(|missing| Outcome::Failed(missing.to_string()))?;
    // An artifact another target of the account is sending is waited for (that artifact only,
    // until the host stored it), then found there; the rest of the account's targets apply at
    // once, each under its own lock on the host.
    let claimed =
        (!needed.is_empty()).then(|| options.deliveries.claim(&account_key(planned), &needed));
    let sending = claimed.as_ref().map_or(&[][..], Claimed::sending);
    let mut full = header(
        options.who,
        options.lock_wait_secs,
        &lock_name(planned.connection()),
        sending,
    );
    full.script(script);
    let run = match &claimed {
        Some(claimed) if !sending.is_empty() => {
            let attachments: Vec<Attachment> = sending
                .iter()
                .map(|a| Attachment {
                    path: a.path.clone(),
                    size: a.size,
                })
                .collect();
            let command = script_with_attachments(full.as_bytes().len(), planned.become_);
            let watch = |chunk: &[u8]| claimed.watch(chunk);
            let invocation = Invocation {
                command: command.as_str(),
                stdin: full.as_bytes(),
                attachments: &attachments,
                watch: Some(Watch(&watch)),
            };
            transport.run(&invocation, options.stop)
        }
        _ => transport.run_script(full.as_bytes(), planned.become_, options.stop),
    };
    let (output, lost) = match run {
        Ok(o) => (o, None),
        Err(e) => (
            Output {
                status: -1,
                stdout: e.partial,
                stderr: Vec::new(),
            },
            Some(e.message),
        ),
    };
    if let Some(claimed) = &claimed {
        claimed.finish(&String::from_utf8_lossy(&output.stdout));
    }
    Ok((output, lost))
}

/// Reads the script's `@@` lines into the report's steps. `Ok(done)` tells whether the script
/// reached its end; `Err` is the outcome of a script that stopped before its steps (the lock
/// was held, the plan was stale, an error before the first step).
fn read_step_lines(
    stdout: &str,
    planned: &PlannedHost,
    options: &ApplyOptions<'_>,
    report: &mut HostReport,
) -> Result<bool, Outcome> {
    let mut done = false;
    let mut lines = stdout.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("@@step ") {
            if let Some(result) = parse_step(rest) {
                report.steps.push(result);
            }
        } else if let Some(holder) = line.strip_prefix("@@locked") {
            let holder = crate::text::from_base64(holder.trim());
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another recon apply".to_owned()
            } else {
                holder.to_owned()
            };
            return Err(Outcome::Failed(format!(
                "host is locked by {who}; waited {}s (see --lock-timeout)",
                options.lock_wait_secs
            )));
        } else if line == "@@stale" {
            report.stale = true;
            let rest: Vec<&str> = lines.by_ref().collect();
            return Err(Outcome::Failed(stale_message(planned, &rest.join("\n"))));
        } else if let Some(message) = line.strip_prefix("@@error ") {
            return Err(Outcome::Failed(message.to_owned()));
        } else if line == "@@done" {
            done = true;
        }
    }
    Ok(done)
}

/// Steps the host never reported are unknown (never skipped: the next plan reads the host's
/// real state); failed steps point back at their task.
fn mark_unreported(planned: &PlannedHost, report: &mut HostReport) {
    for step in &planned.plan.steps {
        if !report.steps.iter().any(|r| r.id == step.id) && !step.handler {
            report.steps.push(StepResult {
                id: step.id,
                status: StepStatus::Unknown,
                exit_code: None,
                output: String::new(),
                stderr: String::new(),
                at: None,
            });
        }
    }
    report.steps.sort_by_key(|s| s.id);
    for result in &mut report.steps {
        if matches!(result.status, StepStatus::Failed | StepStatus::Caught) {
            result.at = planned
                .plan
                .steps
                .iter()
                .find(|s| s.id == result.id)
                .and_then(|s| s.at.clone());
        }
    }
}

/// The host's outcome from its reported steps, how the script ended and whether the link held.
fn final_outcome(
    planned: &PlannedHost,
    report: &HostReport,
    output: &Output,
    lost: Option<String>,
    done: bool,
) -> Outcome {
    if let Some(message) = lost {
        let finished = report
            .steps
            .iter()
            .filter(|s| s.status != StepStatus::Unknown)
            .count();
        Outcome::Unreachable(format!(
            "{message}; the host reported {finished} of {} steps before that (the rest are unknown: plan again to see the host's state)",
            planned.plan.steps.len()
        ))
    } else if report.count(StepStatus::Interrupted) > 0 {
        Outcome::Interrupted
    } else if !done {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Outcome::Failed(format!(
            "the apply script ended early (exit {}): {}",
            output.status,
            stderr.trim()
        ))
    } else if report.count(StepStatus::Failed) > 0 {
        Outcome::Failed(format!(
            "{} failed",
            crate::text::count(report.count(StepStatus::Failed), "step")
        ))
    } else {
        Outcome::Ok
    }
}

/// The name of a target's lock file (`~/.recon/locks/NAME.lock`): its inventory name when that
/// is a plain file name (letters, digits, `.`, `_`, `-`, not starting with a dot, at most 100
/// bytes), else `@` and a hash of the name (no plain name starts with `@`, so two targets never
/// share a lock by accident).
fn lock_name(target: &str) -> String {
    let plain = !target.is_empty()
        && target.len() <= 100
        && !target.starts_with('.')
        && target
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if plain {
        target.to_owned()
    } else {
        let mut hex = crate::facts::sha256_hex(target.as_bytes());
        hex.truncate(32);
        format!("@{hex}")
    }
}

/// The account a target's scripts run as: its node, its user, and whether it runs under sudo
/// (root's blob store is not the user's).
fn account_key(planned: &PlannedHost) -> String {
    format!(
        "{} {} {}",
        planned.target.node(),
        planned.target.user.as_deref().unwrap_or(""),
        planned.become_
    )
}

fn parse_step(rest: &str) -> Option<StepResult> {
    let mut words = rest.split(' ');
    let id = words.next()?.parse().ok()?;
    let status = match words.next()? {
        "changed" => StepStatus::Changed,
        "ok" => StepStatus::Ok,
        "failed" => StepStatus::Failed,
        "ignored" => StepStatus::Ignored,
        "caught" => StepStatus::Caught,
        "skipped" => StepStatus::Skipped,
        "interrupted" => StepStatus::Interrupted,
        _ => return None,
    };
    let (exit_code, output, stderr) = match status {
        StepStatus::Changed
        | StepStatus::Ok
        | StepStatus::Failed
        | StepStatus::Ignored
        | StepStatus::Caught => (
            words.next().and_then(|c| c.parse().ok()),
            crate::text::from_base64(words.next().unwrap_or("")),
            crate::text::from_base64(words.next().unwrap_or("")),
        ),
        _ => (None, String::new(), String::new()),
    };
    Some(StepResult {
        id,
        status,
        exit_code,
        output,
        stderr,
        at: None,
    })
}

/// Names what changed on the host since the plan was made.
fn stale_message(planned: &PlannedHost, reply: &str) -> String {
    let now = planned.facts.parse(reply);
    let mut drifted = Vec::new();
    if let Ok(now) = now {
        for ((fact, before), after) in planned
            .facts
            .facts
            .iter()
            .zip(&planned.observed)
            .zip(now.values())
        {
            if before != after {
                drifted.push(fact.drifted(before, after));
            }
        }
    }
    let what = if drifted.is_empty() {
        "the host".to_owned()
    } else {
        drifted.join(", ")
    };
    format!(
        "plan is stale: {what} changed since the plan was made; nothing was applied (plan again)"
    )
}

#[cfg(test)]
mod tests {
    use super::lock_name;

    #[test]
    fn a_target_locks_a_file_named_after_it_and_odd_names_never_collide() {
        assert_eq!(lock_name("web-1.example.com"), "web-1.example.com");
        assert_eq!(lock_name("squad_alpha"), "squad_alpha");
        // Not a plain file name: a hash, which no plain name can equal.
        for odd in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a b",
            "é",
            &"x".repeat(101),
        ] {
            let name = lock_name(odd);
            assert!(name.starts_with('@') && name.len() == 33, "{odd:?}: {name}");
        }
        assert_ne!(lock_name("a/b"), lock_name("a b"));
    }
}
