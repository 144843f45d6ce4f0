//! The front door: arguments → one module per command → output and an exit code. Each command
//! module loads what it needs (load.rs), runs the pipeline stages and renders.

mod adhoc;
mod apply;
mod check;
mod completions;
mod doc;
mod gather;
mod graph;
mod init;
mod inventory;
mod load;
mod plan;
mod planning;
mod releases;
mod report;
mod rollback;
mod rollout;
mod rounds;
mod saved;
mod shard;
mod shared;
mod vault;

use std::ffi::OsString;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches};

use crate::ansible_cfg::AnsibleConfig;
use crate::cli::{Arguments, Command};
use crate::error::Result;
use crate::exit;

/// Parses `args`, runs the subcommand, prints its output and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let command = Arguments::command().after_long_help(format!(
        "Resources (the key of a task; `recon doc KIND` shows its arguments):\n{}",
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
    let (files, ids) = command.vault_passwords().map_or((&[][..], &[][..]), |p| {
        (p.password_files.as_slice(), p.vault_ids.as_slice())
    });
    crate::vault::configure(files, ids, from_config.as_deref());
    match command {
        Command::Check(selection) => check::check(&selection),
        Command::Plan(args) => plan::plan(&args),
        Command::Apply(args) => apply::apply(&args, stop),
        Command::Graph(args) => graph::graph(&args),
        Command::Inventory(args) => inventory::list_inventory(&args),
        Command::Run(args) => adhoc::adhoc(&args),
        Command::Releases(args) => releases::list_releases(&args),
        Command::Rollback(args) => rollback::rollback(&args, stop),
        Command::Vault(args) => vault::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => completions::man(&args),
        Command::Report(args) => report::report(&args),
        Command::Doc(args) => doc::doc(&args),
    }
}
