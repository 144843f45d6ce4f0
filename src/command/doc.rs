//! `recon doc [KIND]`: a resource's declared arguments in the terminal (the same declarations
//! docs/resources.md is generated from), or the list of resources.

use crate::cli::DocArgs;
use crate::error::{Error, ErrorKind, Result};
use crate::exit;
use crate::resource::{help, reference, KINDS};

/// Prints one kind's arguments, or every kind with its summary.
pub(super) fn doc(args: &DocArgs) -> Result<i32> {
    let Some(name) = &args.kind else {
        print!(
            "Resources (`recon doc KIND` shows one's arguments):\n{}",
            help()
        );
        return Ok(exit::OK);
    };
    let Some(kind) = KINDS.iter().find(|k| k.name == name) else {
        let err = Error::new(ErrorKind::UnknownResource { name: name.clone() });
        return Err(err.suggest(name, KINDS.iter().map(|k| k.name)));
    };
    print!("{}", reference::text(kind));
    Ok(exit::OK)
}
