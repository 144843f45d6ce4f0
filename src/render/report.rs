//! The end of an apply: failures with their output, then a recap table per host.

use std::fmt::Write as _;

use super::{located, Style};
use crate::plan::HostPlan;
use crate::report::{HostReport, Outcome, StepStatus};

/// Renders failures and the recap; `plans` gives step names for the reports.
pub(crate) fn render_report(reports: &[HostReport], plans: &[&HostPlan], style: Style) -> String {
    let mut out = String::new();
    for report in reports {
        let plan = plans
            .iter()
            .find(|p| p.host == report.host && p.play == report.play);
        for step in report
            .steps
            .iter()
            .filter(|s| matches!(s.status, StepStatus::Failed | StepStatus::Caught))
        {
            let planned = plan.and_then(|p| p.steps.iter().find(|s| s.id == step.id));
            let name = planned.map_or_else(
                || format!("step {}", step.id),
                |s| {
                    format!(
                        "{} `{}` ({} {})",
                        if s.handler { "handler" } else { "task" },
                        s.task,
                        s.kind,
                        s.resource
                    )
                },
            );
            let code = step
                .exit_code
                .map(|c| format!(" (exit {c})"))
                .unwrap_or_default();
            let output = step.output.trim_end();
            let help = (!output.is_empty()).then(|| format!("its output:\n{output}"));
            let delegated = planned
                .and_then(|s| s.delegated_to.as_ref())
                .map(|to| format!(", delegated to `{to}`"))
                .unwrap_or_default();
            out.push_str(&located(
                &format!(
                    "{name} failed on host `{}`{delegated}{code}{}",
                    report.host,
                    if step.status == StepStatus::Caught {
                        "; rescued: the rest of its block was skipped and its `rescue` ran"
                    } else {
                        ""
                    }
                ),
                step.at.as_ref().or(planned.and_then(|s| s.at.as_ref())),
                "this task",
                help.as_deref(),
            ));
            out.push('\n');
        }
        match &report.outcome {
            Outcome::Failed(message) if report.count(StepStatus::Failed) == 0 => {
                let at = plan.and_then(|p| p.error_at.as_ref());
                out.push_str(&located(
                    &format!("host `{}`: {message}", report.host),
                    at,
                    "this task",
                    outcome_help(message),
                ));
                out.push('\n');
            }
            Outcome::Unreachable(message) => {
                let _ = writeln!(
                    out,
                    "{}: {} {message}",
                    style.bold(&report.host),
                    style.paint("31;1", "unreachable:")
                );
            }
            _ => {}
        }
    }
    recap(&mut out, reports);
    out
}

/// The recap table: a row per host; RESCUED and IGNORED appear only when a host has one, so
/// the usual recap keeps six columns, and UNKNOWN only after a lost link.
fn recap(out: &mut String, reports: &[HostReport]) {
    let width = reports
        .iter()
        .map(|r| r.host.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let extra = reports
        .iter()
        .any(|r| r.count(StepStatus::Caught) + r.count(StepStatus::Ignored) > 0);
    let _ = write!(
        out,
        "\n{:width$}  {:>4}  {:>7}  {:>6}  {:>7}  {:>11}",
        "HOST", "OK", "CHANGED", "FAILED", "SKIPPED", "UNREACHABLE"
    );
    if extra {
        let _ = write!(out, "  {:>7}  {:>7}", "RESCUED", "IGNORED");
    }
    // Steps a lost link left unreported may have run: counted apart, never as skipped.
    let unknown = reports.iter().any(|r| r.count(StepStatus::Unknown) > 0);
    if unknown {
        let _ = write!(out, "  {:>7}", "UNKNOWN");
    }
    out.push('\n');
    for r in reports {
        let unreachable = usize::from(matches!(r.outcome, Outcome::Unreachable(_)));
        let failed = r.count(StepStatus::Failed)
            + usize::from(
                matches!(&r.outcome, Outcome::Failed(_)) && r.count(StepStatus::Failed) == 0,
            );
        let skipped = r.count(StepStatus::Skipped) + r.count(StepStatus::Interrupted);
        let _ = write!(
            out,
            "{:width$}  {:>4}  {:>7}  {:>6}  {:>7}  {:>11}",
            r.host,
            r.unchanged + r.count(StepStatus::Ok),
            r.count(StepStatus::Changed),
            failed,
            skipped,
            unreachable,
        );
        if extra {
            let _ = write!(
                out,
                "  {:>7}  {:>7}",
                r.count(StepStatus::Caught),
                r.count(StepStatus::Ignored)
            );
        }
        if unknown {
            let _ = write!(out, "  {:>7}", r.count(StepStatus::Unknown));
        }
        out.push('\n');
    }
}

/// What to do about a host-level failure, by its kind.
fn outcome_help(message: &str) -> Option<&'static str> {
    if message.contains("is locked by") {
        Some("another apply of this host holds its lock; wait for it, or raise --lock-timeout")
    } else if message.starts_with("plan is stale") {
        Some("the host changed after the plan was made; run `recon plan` again and review it")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::StepResult;

    fn step(id: usize, status: StepStatus) -> StepResult {
        StepResult {
            id,
            status,
            exit_code: None,
            output: String::new(),
            stderr: String::new(),
            at: None,
        }
    }

    fn report(host: &str, outcome: Outcome, steps: Vec<StepResult>) -> HostReport {
        HostReport {
            host: host.into(),
            play: "p".into(),
            outcome,
            unchanged: 0,
            steps,
            stats: crate::transport::Stats::default(),
            stale: false,
        }
    }

    /// The recap's row for `host`: its numbers, by column name.
    fn row(recap: &str, host: &str) -> Vec<(String, String)> {
        let mut lines = recap.lines().skip_while(|l| !l.starts_with("HOST"));
        let head: Vec<String> = lines
            .next()
            .expect("header")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let line = lines
            .find(|l| l.split_whitespace().next() == Some(host))
            .expect("row");
        head.into_iter()
            .zip(line.split_whitespace().map(str::to_owned))
            .collect()
    }

    #[test]
    fn steps_a_lost_link_left_unreported_are_unknown_never_skipped() {
        let lost = report(
            "web1",
            Outcome::Unreachable("the link dropped".into()),
            vec![
                step(0, StepStatus::Changed),
                step(1, StepStatus::Unknown),
                step(2, StepStatus::Unknown),
                step(3, StepStatus::Skipped),
            ],
        );
        let fine = report("web2", Outcome::Ok, vec![step(0, StepStatus::Changed)]);
        let recap = render_report(&[lost, fine.clone()], &[], Style { color: false });
        let web1 = row(&recap, "web1");
        let get = |name: &str| {
            web1.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .expect(name)
        };
        assert_eq!(
            (
                get("CHANGED"),
                get("SKIPPED"),
                get("UNKNOWN"),
                get("UNREACHABLE")
            ),
            ("1", "1", "2", "1"),
            "{recap}"
        );
        // Without unknown steps the recap keeps its usual columns.
        let usual = render_report(&[fine], &[], Style { color: false });
        assert!(!usual.contains("UNKNOWN"), "{usual}");
    }
}
