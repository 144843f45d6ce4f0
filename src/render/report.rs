//! The end of an apply: failures with their output, then a recap table per host.

use std::fmt::Write as _;

use super::Style;
use crate::apply::{HostReport, Outcome, StepStatus};
use crate::plan::HostPlan;

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
            .filter(|s| s.status == StepStatus::Failed)
        {
            let name = plan
                .and_then(|p| p.steps.iter().find(|s| s.id == step.id))
                .map_or_else(
                    || format!("step {}", step.id),
                    |s| format!("{} {} ({})", s.kind, s.resource, s.task),
                );
            let code = step
                .exit_code
                .map(|c| format!(" (exit {c})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{}: {} {name}{code}",
                style.bold(&report.host),
                style.paint("31;1", "failed:")
            );
            for line in step.output.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        match &report.outcome {
            Outcome::Failed(message) if report.count(StepStatus::Failed) == 0 => {
                let _ = writeln!(
                    out,
                    "{}: {} {message}",
                    style.bold(&report.host),
                    style.paint("31;1", "error:")
                );
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
    let width = reports
        .iter()
        .map(|r| r.host.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "\n{:width$}  {:>4}  {:>7}  {:>6}  {:>7}  {:>11}",
        "HOST", "OK", "CHANGED", "FAILED", "SKIPPED", "UNREACHABLE"
    );
    for r in reports {
        let unreachable = usize::from(matches!(r.outcome, Outcome::Unreachable(_)));
        let failed = r.count(StepStatus::Failed)
            + usize::from(
                matches!(&r.outcome, Outcome::Failed(_)) && r.count(StepStatus::Failed) == 0,
            );
        let skipped = r.count(StepStatus::Skipped)
            + r.count(StepStatus::Interrupted)
            + r.count(StepStatus::Unknown);
        let _ = writeln!(
            out,
            "{:width$}  {:>4}  {:>7}  {:>6}  {:>7}  {:>11}",
            r.host,
            r.unchanged + r.count(StepStatus::Ok),
            r.count(StepStatus::Changed),
            failed,
            skipped,
            unreachable
        );
    }
    out
}
