//! Ansible's module names and argument conventions, mapped onto recon's resources. The loader asks
//! whether a task key is a module (`lookup`), the compiler turns rendered module arguments into a
//! recon resource's arguments (`map`). The table is `modules::MODULES`.

mod args;
mod fetch;
mod free_form;
mod modules;

pub(crate) use free_form::{parse as parse_free_form, RAW};
pub(crate) use modules::{Mapped, Module, MODULES};

use crate::error::{Error, ErrorKind, Result};
use crate::yaml::Node;

/// Collection prefixes under which Ansible's built-in modules are also known.
const PREFIXES: &[&str] = &[
    "ansible.builtin.",
    "ansible.legacy.",
    "ansible.posix.",
    "community.general.",
    "community.docker.",
];

/// The module name without a collection prefix.
pub(crate) fn canonical(name: &str) -> &str {
    PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

/// The table entry for `name` (with or without prefix).
pub(crate) fn lookup(name: &str) -> Option<&'static modules::Entry> {
    let name = canonical(name);
    MODULES.iter().find(|e| e.name == name)
}

/// Turns a task of module `name` with rendered arguments into what recon builds. Names that are
/// recon resources and not Ansible modules pass through unchanged.
pub(crate) fn map(name: &str, args: Node, key: &Node) -> Result<Mapped> {
    let Some(entry) = lookup(name) else {
        return Ok(Mapped::Resource {
            kind: crate::resource::KINDS
                .iter()
                .find(|k| k.name == name)
                .map_or("", |k| k.name),
            args,
        });
    };
    match entry.module {
        Module::Resource(f) => f(args::Args::new(&args)),
        Module::Directive => Ok(Mapped::Skip),
        Module::Missing(nearest) => Err(missing(entry.name, nearest, key)),
    }
}

/// The error for a module recon has no resource for.
pub(crate) fn missing(name: &str, nearest: &str, key: &Node) -> Error {
    Error::at(
        ErrorKind::InvalidValue {
            message: format!("Ansible module `{name}` has no recon resource yet"),
        },
        &key.span,
    )
    .with_label("this module")
    .with_help(format!("the nearest recon resource is `{nearest}`"))
}
