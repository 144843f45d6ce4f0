//! `recon plan`: show (or save) what apply would change.

use crate::cli::PlanArgs;
use crate::error::{Error, Result};
use crate::exit;
use crate::render::{render_plan, PlanView, Style};

use super::load::{load_with, pool, thread_pool};
use super::planning::{host_plans, plan_with_progress};
use super::saved::{encode, write_private};

pub(super) fn plan(args: &PlanArgs) -> Result<i32> {
    let workers = thread_pool(args.connection.forks)?;
    let connections = pool(&args.connection);
    let loaded = load_with(&args.selection, Some(&connections))?;
    let plays = plan_with_progress(
        &loaded.runs,
        Some(&loaded.recompiler()),
        &workers,
        &connections,
        args.json,
    );
    let host_plan_list = host_plans(&plays);
    if args.json {
        crate::secret::print(&format!("{}\n", plan_json(&host_plan_list)));
    } else {
        crate::secret::print(&render_plan(
            &host_plan_list,
            Style::detect(),
            PlanView {
                verbose: args.verbose,
                group: (!args.no_group).then_some(&loaded.own),
            },
        ));
    }
    if let Some(path) = &args.out {
        if let Some(deferred) = host_plan_list.iter().find_map(|p| p.deferred.as_ref()) {
            return Err(Error::usage(format!(
                "the plan was not saved: the tasks {} `{}` are known only after apply ({}), and a saved plan holds exactly what will run",
                if deferred.after { "after" } else { "from" },
                deferred.task,
                deferred.reason
            )));
        }
        let exit = plan_exit(&host_plan_list, args.detailed_exitcode);
        let text = encode(plays)?;
        write_private(path, text.as_bytes()).map_err(|e| Error::io(path, &e))?;
        if !args.json {
            println!(
                "Saved the plan to {}; apply it with: recon apply {}",
                path.display(),
                path.display()
            );
        }
        return Ok(exit);
    }
    Ok(plan_exit(&host_plan_list, args.detailed_exitcode))
}

pub(super) fn plan_exit(plans: &[&crate::plan::HostPlan], detailed: bool) -> i32 {
    if plans.iter().any(|p| p.error.is_some()) {
        exit::ERROR
    } else if detailed && plans.iter().any(|p| p.has_changes()) {
        exit::CHANGES
    } else {
        exit::OK
    }
}

/// `--json` for plans: a stable, documented shape.
pub(super) fn plan_json(plans: &[&crate::plan::HostPlan]) -> String {
    let value = serde_json::json!({ "format": "recon-plan-view/1", "hosts": plans });
    crate::secret::json_pretty(&value)
}
