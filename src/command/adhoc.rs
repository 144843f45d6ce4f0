//! `recon run`: one command on every matching host.

use crate::cli::RunArgs;
use crate::error::Result;
use crate::exit;

use super::load::{load_inventory, pool, thread_pool};

pub(super) fn adhoc(args: &RunArgs) -> Result<i32> {
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
        crate::secret::print(&format!("{}\n", crate::secret::json_pretty(&outputs)));
    } else {
        crate::secret::print(&crate::adhoc::render(&outputs));
    }
    Ok(if outputs.iter().all(|o| o.exit_code == Some(0)) {
        exit::OK
    } else {
        exit::ERROR
    })
}
