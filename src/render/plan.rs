//! The human plan: per host, each change with its symbol, the attributes it touches, content
//! diffs and the handlers it triggers; then one summary line (Terraform's layout).

use std::fmt::Write as _;

use super::group::OwnValues;
use super::Style;
use crate::plan::{Action, HostPlan, Step};
use crate::text::count;

/// How the plan is laid out: `verbose` also lists hosts with no changes; `group` (off with
/// `--no-group`) shows hosts with the same changes once (see `group.rs`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanView<'a> {
    pub(crate) verbose: bool,
    pub(crate) group: Option<&'a OwnValues>,
}

/// Renders plans for every host: failed hosts and hosts whose changes differ in full, hosts with
/// the same changes once, under the list of their names.
pub(crate) fn render_plan(plans: &[&HostPlan], style: Style, view: PlanView<'_>) -> String {
    let mut out = String::new();
    let actions: Vec<Action> = plans
        .iter()
        .flat_map(|p| p.steps.iter().map(|s| s.change.action))
        .collect();
    if !actions.is_empty() {
        let legend: Vec<String> = [Action::Create, Action::Update, Action::Delete, Action::Run]
            .into_iter()
            .filter(|a| actions.contains(a))
            .map(|a| format!("{} {}", symbol(a, style), legend_word(a)))
            .collect();
        let _ = writeln!(
            out,
            "recon will make these changes:   {}\n",
            legend.join("   ")
        );
    }
    let multiple_plays = plans.iter().any(|p| p.play != plans[0].play);
    let shown: Vec<&HostPlan> = plans
        .iter()
        .copied()
        .filter(|p| p.error.is_some() || p.has_changes() || view.verbose)
        .collect();
    for group in groups(&shown, view.group) {
        let plan = group[0];
        let play_note = if multiple_plays {
            format!(" (play `{}`)", plan.play)
        } else {
            String::new()
        };
        if let [_, _, ..] = group.as_slice() {
            render_group(
                &mut out,
                &group,
                view.group.unwrap_or(&OwnValues::default()),
                style,
                &play_note,
            );
            continue;
        }
        let _ = writeln!(out, "{}{play_note}", style.bold(&plan.host));
        if let Some(error) = &plan.error {
            match &plan.error_at {
                Some(at) => {
                    out.push_str(&super::located(error, Some(at), "this task", None));
                    out.push('\n');
                }
                None => {
                    let _ = writeln!(out, "  {} {error}\n", style.paint("31;1", "error:"));
                }
            }
            continue;
        }
        if !plan.has_changes() {
            let _ = writeln!(
                out,
                "  no changes ({})\n",
                count(plan.unchanged, "resource")
            );
            continue;
        }
        out.push_str(&steps(plan, style, false));
        let _ = writeln!(
            out,
            "  {}\n",
            style.dim(&format!("{}: {}", plan.host, summary(&[plan])))
        );
    }
    out.push_str(&total(plans));
    out
}

/// Hosts in order of first appearance, those with the same changes (after their own values are
/// replaced) together. Failed hosts and hosts without changes are never grouped.
fn groups<'a>(plans: &[&'a HostPlan], own: Option<&OwnValues>) -> Vec<Vec<&'a HostPlan>> {
    /// Play and generalized steps; `None` for a host that is never grouped.
    type Key = Option<(String, String)>;
    let mut groups: Vec<(Key, Vec<&HostPlan>)> = Vec::new();
    for plan in plans {
        let key = own
            .filter(|_| plan.error.is_none() && plan.has_changes())
            .map(|own| {
                let text = steps(plan, Style { color: false }, true);
                (plan.play.clone(), own.generalize(&plan.host, &text))
            });
        match groups.iter_mut().find(|(k, _)| key.is_some() && *k == key) {
            Some((_, members)) => members.push(plan),
            None => groups.push((key, vec![plan])),
        }
    }
    groups.into_iter().map(|(_, members)| members).collect()
}

/// Several hosts' identical changes, once: the first host's steps with the own values of that
/// host shown as placeholders.
fn render_group(out: &mut String, group: &[&HostPlan], own: &OwnValues, style: Style, play: &str) {
    let names: Vec<&str> = group.iter().map(|p| p.host.as_str()).collect();
    let first = group[0];
    let _ = writeln!(
        out,
        "{} ({}){play}",
        style.bold(&names.join(", ")),
        count(group.len(), "host")
    );
    let _ = writeln!(
        out,
        "  {}",
        style.dim("# the same changes on each host; {name} stands for that host's own value")
    );
    out.push_str(&own.generalize(&first.host, &steps(first, style, true)));
    let _ = writeln!(
        out,
        "  {}\n",
        style.dim(&format!(
            "each of {}: {}",
            count(group.len(), "host"),
            summary(&[first])
        ))
    );
}

/// One host's steps, as the plan shows them; `generic` for a group (sizes that follow from a
/// diff become `{size}`).
fn steps(plan: &HostPlan, style: Style, generic: bool) -> String {
    let mut out = String::new();
    for step in &plan.steps {
        render_step(&mut out, step, plan, style, generic);
    }
    if let Some(deferred) = &plan.deferred {
        let at = deferred
            .at
            .as_ref()
            .map(|at| format!(" ({}:{})", at.file, at.line))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {}",
            style.paint("35", "?"),
            style.bold(&format!(
                "the tasks {} `{}`{at}: known after apply",
                if deferred.after { "after" } else { "from" },
                deferred.task
            ))
        );
        let _ = writeln!(
            out,
            "      {}",
            style.dim(&format!(
                "{}; recon plans them once the steps above ran",
                deferred.reason
            ))
        );
    }
    out
}

fn legend_word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "remove",
        Action::Run => "run",
    }
}

fn symbol(action: Action, style: Style) -> String {
    let code = match action {
        Action::Create => "32",
        Action::Update => "33",
        Action::Delete => "31;1",
        Action::Run => "36",
    };
    style.paint(code, &action.symbol().to_string())
}

fn render_step(out: &mut String, step: &Step, plan: &HostPlan, style: Style, generic: bool) {
    let default_name = format!("{} {}", step.kind, step.resource);
    if step.handler {
        let _ = writeln!(
            out,
            "  {}",
            style.dim(&format!("# handler `{}` will run", step.task))
        );
    } else if step.task != default_name {
        let _ = writeln!(out, "  {}", style.dim(&format!("# {}", step.task)));
    }
    let delegated = step
        .delegated_to
        .as_ref()
        .map(|to| format!(" {}", style.dim(&format!("(delegated to {to})"))))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  {} {} {}{delegated}",
        symbol(step.change.action, style),
        step.kind,
        step.resource
    );
    if let Some(reason) = &step.change.reason {
        let _ = writeln!(out, "      {}", style.dim(&format!("# because {reason}")));
    }
    for field in &step.change.fields {
        let name = field.field.name();
        let sized_by_diff = generic && field.field.is_diffed() && step.change.diff.is_some();
        let line = match (&field.before, &field.after) {
            _ if sized_by_diff => format!("{name}: {{size}}"),
            (Some(b), Some(a)) => format!("{name}: {b} -> {a}"),
            (None, Some(a)) => format!("{name}: {a}"),
            (Some(b), None) => format!("{name}: {b} -> (none)"),
            (None, None) => name.to_owned(),
        };
        let _ = writeln!(out, "      {line}");
    }
    if let Some(diff) = &step.change.diff {
        for line in diff.lines() {
            let painted = match line.as_bytes().first() {
                Some(b'+') => style.paint("32", line),
                Some(b'-') => style.paint("31", line),
                Some(b'@') => style.paint("36", line),
                _ => line.to_owned(),
            };
            let _ = writeln!(out, "        {painted}");
        }
    }
    if step.handler && !step.triggered_by.is_empty() {
        let causes: Vec<String> = step
            .triggered_by
            .iter()
            .filter_map(|id| plan.steps.iter().find(|s| s.id == *id))
            .map(|s| format!("{} {} {}", s.change.action.symbol(), s.kind, s.resource))
            .collect();
        let _ = writeln!(
            out,
            "      {}",
            style.dim(&format!("# triggered by: {}", causes.join(", ")))
        );
    }
}

/// `2 to add, 1 to change, 0 to remove, 1 to run`.
fn summary(plans: &[&HostPlan]) -> String {
    let sum = |a: Action| plans.iter().map(|p| p.count(a)).sum::<usize>();
    let handlers: usize = plans.iter().map(|p| p.handlers()).sum();
    let mut s = format!(
        "{} to add, {} to change, {} to remove, {} to run",
        sum(Action::Create),
        sum(Action::Update),
        sum(Action::Delete),
        sum(Action::Run)
    );
    if handlers > 0 {
        let _ = write!(s, ", {}", count(handlers, "handler"));
    }
    if plans.iter().any(|p| p.deferred.is_some()) {
        s.push_str(", more known after apply");
    }
    s
}

fn total(plans: &[&HostPlan]) -> String {
    let failed = plans.iter().filter(|p| p.error.is_some()).count();
    let unchanged = plans
        .iter()
        .filter(|p| p.error.is_none() && !p.has_changes())
        .count();
    if failed == 0 && unchanged == plans.len() {
        return format!("No changes. {} converged.\n", count(plans.len(), "host"));
    }
    let mut extra = vec![format!("{unchanged} unchanged")];
    if failed > 0 {
        extra.insert(0, format!("{failed} failed"));
    }
    format!(
        "Plan: {}, on {} ({}).\n",
        summary(plans),
        count(plans.len(), "host"),
        extra.join(", ")
    )
}
