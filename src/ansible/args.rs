//! A module's arguments as a mutable list, so a mapping reads like Ansible's docs: take a value
//! under any of its aliases, rename, drop what recon ignores, pass the rest on for the recon
//! resource to check (unknown keys stay located errors there).

use crate::error::{Error, ErrorKind, Result};
use crate::source::Span;
use crate::yaml::{Node, Value};

/// Arguments being translated.
pub(crate) struct Args {
    entries: Vec<(Node, Node)>,
    pub(crate) span: Span,
}

impl Args {
    /// The mapping's entries (a non-mapping yields none; the resource reports its shape).
    pub(crate) fn new(node: &Node) -> Self {
        Self {
            entries: node.as_map().map(<[_]>::to_vec).unwrap_or_default(),
            span: node.span.clone(),
        }
    }

    /// Whether any of `names` is given (null counts as not given, as in Ansible).
    pub(crate) fn has(&self, names: &[&str]) -> bool {
        self.entries
            .iter()
            .any(|(k, v)| names.contains(&k.key()) && !v.is_null())
    }

    /// Removes every alias in `names`; returns the first one given.
    pub(crate) fn take(&mut self, names: &[&str]) -> Option<Node> {
        let mut found = None;
        self.entries.retain(|(k, v)| {
            if names.contains(&k.key()) {
                if found.is_none() && !v.is_null() {
                    found = Some(v.clone());
                }
                false
            } else {
                true
            }
        });
        found
    }

    /// `take` as text.
    pub(crate) fn text(&mut self, names: &[&str]) -> Option<(String, Node)> {
        let node = self.take(names)?;
        Some((node.scalar_text().unwrap_or_default().to_owned(), node))
    }

    /// Drops arguments recon has no use for (documented per module).
    pub(crate) fn ignore(&mut self, names: &[&str]) {
        self.entries.retain(|(k, _)| !names.contains(&k.key()));
    }

    /// Sets `key` (replacing it).
    pub(crate) fn put(&mut self, key: &str, value: Node) {
        self.entries.retain(|(k, _)| k.key() != key);
        self.entries
            .push((Node::string(key.to_owned(), value.span.clone()), value));
    }

    /// Sets `key` to a string located at `span`.
    pub(crate) fn put_str(&mut self, key: &str, value: &str, span: &Span) {
        self.put(key, Node::string(value.to_owned(), span.clone()));
    }

    /// Sets `key` to a list of strings located at `span`.
    pub(crate) fn put_list(&mut self, key: &str, values: &[String], span: &Span) {
        let items = values
            .iter()
            .map(|v| Node::string(v.clone(), span.clone()))
            .collect();
        self.put(
            key,
            Node {
                value: Value::Seq(items),
                span: span.clone(),
            },
        );
    }

    /// The arguments as a mapping node for a recon resource.
    pub(crate) fn into_node(self) -> Node {
        Node {
            value: Value::Map(self.entries),
            span: self.span,
        }
    }
}

impl Args {
    /// A task with nothing to manage (no package names, no unit): still, every argument left
    /// after the translation must be one the recon resource `kind` takes, so a typo
    /// (`package: { zzbogus: 1 }`) is a located error with a suggestion, not a silent no-op.
    pub(crate) fn nothing_to_manage(self, kind: &str) -> Result<Mapped> {
        let declared = crate::resource::args_of(kind);
        crate::fields::Fields::declared(&self.into_node(), format!("`{kind}`"), declared)?;
        Ok(Mapped::Skip)
    }
}

/// What a task of an Ansible module becomes.
pub(crate) enum Mapped {
    /// A recon resource of this kind with these (recon) arguments.
    Resource { kind: &'static str, args: Node },
    /// Nothing to manage (`debug`, `meta`).
    Skip,
    /// Ansible's own module, through the bridge: an argument set recon has no resource for (a
    /// `systemd` task with only a unit's name: a status query whose result is registered).
    /// Without a bridge, the recon resource this holds (whose check says what it lacks).
    Bridge(Box<Mapped>),
}

/// Arguments Ansible's file-like modules take that recon does not model (SELinux contexts,
/// attributes, timestamps, backups): dropped, as documented in the README.
pub(crate) const IGNORED_FILE_ARGS: &[&str] = &[
    "seuser",
    "serole",
    "setype",
    "selevel",
    "attributes",
    "unsafe_writes",
    "backup",
    "follow",
    "force",
    "access_time",
    "access_time_format",
    "modification_time",
    "modification_time_format",
];

/// Whether an Ansible boolean is true.
pub(crate) fn truthy(node: &Node) -> bool {
    matches!(
        node.scalar_text(),
        Some("yes" | "true" | "True" | "TRUE" | "on" | "1")
    )
}

/// An Ansible argument recon cannot honour: the module runs through the bridge instead
/// (`ansible::map`), and without one it is a located error rather than a silent difference.
pub(crate) fn unsupported(a: &mut Args, module: &str, key: &str, help: &str) -> Result<()> {
    match a.take(&[key]) {
        Some(node) if !node.is_null() => Err(Error::at(
            ErrorKind::Unsupported {
                message: format!("`{module}` argument `{key}` is not supported by recon"),
            },
            &node.span,
        )
        .with_label("here")
        .with_help(help.to_owned())),
        _ => Ok(()),
    }
}
