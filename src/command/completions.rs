//! `recon completions SHELL` and `recon man`: both generated from the clap definition, so they
//! never drift from the real options.

use clap::CommandFactory;

use crate::cli::{Arguments, CompletionsArgs, ManArgs};
use crate::error::{Error, Result};
use crate::exit;

/// Prints the completion script for the chosen shell.
pub(super) fn completions(args: &CompletionsArgs) -> Result<i32> {
    let mut command = Arguments::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "recon", &mut out);
    emit(&out)
}

/// Prints recon.1 (synopsis, options, the subcommands with their summaries), or writes it and
/// one page per subcommand (`recon-plan.1`, ...) into `--dir`.
pub(super) fn man(args: &ManArgs) -> Result<i32> {
    let command = Arguments::command();
    let Some(dir) = &args.dir else {
        return emit(&page(command)?);
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    let mut pages = vec![("recon".to_owned(), command.clone())];
    for sub in command.get_subcommands() {
        let name = format!("recon-{}", sub.get_name());
        let cmd = sub
            .clone()
            .display_name(name.clone())
            .bin_name(format!("recon {}", sub.get_name()));
        pages.push((name, cmd));
    }
    let mut written = String::new();
    for (name, cmd) in pages {
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, page(cmd)?).map_err(|e| Error::io(&path, &e))?;
        written.push_str(&path.display().to_string());
        written.push('\n');
    }
    emit(written.as_bytes())
}

fn page(command: clap::Command) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .map_err(|e| Error::usage(format!("cannot render the man page: {e}")))?;
    Ok(out)
}

/// Writes to stdout; a reader that stops early (`| head`) is not an error.
fn emit(bytes: &[u8]) -> Result<i32> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::usage(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(exit::OK),
    }
}
