//! Ansible's module names and argument conventions, mapped onto recon's resources. The loader asks
//! whether a task key is a module (`lookup`), the compiler turns rendered module arguments into a
//! recon resource's arguments (`map`). The table is `modules::MODULES`.

mod args;
mod fetch;
mod free_form;
mod modules;

pub(crate) use free_form::{parse as parse_free_form, RAW};
pub(crate) use modules::{Mapped, Module, MODULES};

use crate::bridge::Lookup;
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
/// recon resources and not Ansible modules pass through unchanged; a module recon has no
/// resource for runs through the control machine's Ansible (`bridge`) when it has that module.
pub(crate) fn map(name: &str, args: Node, key: &Node, bridged: &Lookup) -> Result<Mapped> {
    let Some(entry) = lookup(name) else {
        return match crate::resource::KINDS.iter().find(|k| k.name == name) {
            Some(k) => Ok(Mapped::Resource { kind: k.name, args }),
            // The loader keeps a task of an unknown module only under a `when` (or when the
            // bridge has it): the error is due once the host's condition holds (a skipped task
            // for another OS is fine).
            None => bridge(name, args, key, bridged).map_err(|_| unknown(key, &[])),
        };
    };
    match entry.module {
        // An argument set recon's resource cannot honour runs Ansible's own module; without
        // Ansible, the resource says what it lacks.
        Module::Resource(f) => match f(args::Args::new(&args)) {
            Ok(Mapped::Bridge(native)) => bridge(name, args, key, bridged).or(Ok(*native)),
            Err(e) if e.unsupported() => bridge(name, args, key, bridged).map_err(|_| e),
            mapped => mapped,
        },
        Module::Directive => Ok(Mapped::Skip),
        Module::Missing(nearest) => bridge(name, args, key, bridged).map_err(|why| {
            missing(entry.name, nearest, key).with_help(format!(
                "the nearest recon resource is `{nearest}`; Ansible's own module cannot run either: {why}"
            ))
        }),
    }
}

/// Why a module recon has no resource for cannot run through the bridge either: the two causes
/// read alike in the help line, but one is the control machine's, the other the task's.
#[derive(Debug)]
enum NotBridged {
    /// The control machine's Ansible cannot run the module.
    Unavailable(crate::bridge::BridgeError),
    /// The free-form arguments do not parse.
    Arguments(Error),
}

impl std::fmt::Display for NotBridged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(e) => e.fmt(f),
            Self::Arguments(e) => e.fmt(f),
        }
    }
}

/// A module recon has no resource for, as an `ansible_module` task (free-form `k=v` arguments
/// parsed as Ansible does), or why the control machine's Ansible cannot run it.
fn bridge(
    name: &str,
    args: Node,
    key: &Node,
    at: &Lookup,
) -> std::result::Result<Mapped, NotBridged> {
    let module = crate::bridge::resolve(name, at).map_err(NotBridged::Unavailable)?;
    let args = if args.scalar_text().is_some() && !args.is_null() {
        parse_free_form(&args, false).map_err(NotBridged::Arguments)?
    } else {
        args
    };
    let span = key.span.clone();
    let node = Node {
        value: crate::yaml::Value::Map(vec![
            (
                Node::string("module".to_owned(), span.clone()),
                Node::string(module, span.clone()),
            ),
            (Node::string("args".to_owned(), span.clone()), args),
        ]),
        span,
    };
    Ok(Mapped::Resource {
        kind: "ansible_module",
        args: node,
    })
}

/// The error for a task key that names no recon resource and no Ansible module recon knows,
/// suggesting the nearest of those names and of `more` (the task keywords).
pub(crate) fn unknown(key: &Node, more: &[&str]) -> Error {
    let k = key.key();
    let candidates = crate::resource::KINDS
        .iter()
        .map(|kind| kind.name)
        .chain(MODULES.iter().map(|m| m.name))
        .chain(more.iter().copied());
    Error::at(ErrorKind::UnknownResource { name: k.to_owned() }, &key.span)
        .with_label("not a resource type, Ansible module or task keyword")
        .suggest(canonical(k), candidates)
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
