//! One declaration per resource argument: its name, the type of value it takes, its default, a
//! one-line doc and the Ansible module arguments it stands for. The unknown-key check, the type
//! check before a builder reads anything, the defaults builders read, `recon doc` and
//! docs/resources.md all come from these, so they cannot drift apart.

use super::{boolean, wrong_type};
use crate::error::{Error, Result};
use crate::yaml::Node;

/// The kinds of value an argument takes: few on purpose, so the docs can name each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    /// A scalar, read as the text written (numbers and booleans too).
    Str,
    /// A scalar naming a path (the builder checks the form: absolute, no `..`).
    Path,
    /// `true`/`false` (also `yes`/`no`).
    Bool,
    /// A whole number, 0 or more.
    Int,
    /// An octal mode, `"0644"`.
    Mode,
    /// One string or a list of strings.
    Strings,
    /// A list; the text says of what (it completes "must be ...").
    List(&'static str),
    /// A mapping.
    Map,
    /// Any value; the builder checks it.
    Any,
    /// One of these words.
    OneOf(&'static [&'static str]),
}

/// What an argument is when it is not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Default {
    /// Nothing: the argument is optional and its absence means "not managed".
    Unset,
    /// The task is an error without it (unless its doc says what replaces it).
    Required,
    /// This value, as a user would write it; builders read it from here.
    Value(&'static str),
    /// Computed from other arguments, described in words for the docs.
    Note(&'static str),
}

/// One argument of a resource kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arg {
    pub(crate) name: &'static str,
    pub(crate) ty: Type,
    pub(crate) default: Default,
    pub(crate) doc: &'static str,
    /// The Ansible module arguments translated into this one (`dest`, `name` for `path`).
    pub(crate) ansible: &'static [&'static str],
}

/// The arguments of a kind: its own group first, then groups it shares with other kinds.
pub(crate) type Groups = &'static [&'static [Arg]];

impl Arg {
    /// An optional argument of type `ty`, undocumented yet.
    pub(crate) const fn new(name: &'static str, ty: Type) -> Self {
        Self {
            name,
            ty,
            default: Default::Unset,
            doc: "",
            ansible: &[],
        }
    }

    /// A string argument.
    pub(crate) const fn str(name: &'static str) -> Self {
        Self::new(name, Type::Str)
    }

    /// A path argument.
    pub(crate) const fn path(name: &'static str) -> Self {
        Self::new(name, Type::Path)
    }

    /// A boolean argument.
    pub(crate) const fn bool(name: &'static str) -> Self {
        Self::new(name, Type::Bool)
    }

    /// A whole-number argument.
    pub(crate) const fn int(name: &'static str) -> Self {
        Self::new(name, Type::Int)
    }

    /// An octal mode argument.
    pub(crate) const fn mode(name: &'static str) -> Self {
        Self::new(name, Type::Mode)
    }

    /// A string-or-list-of-strings argument.
    pub(crate) const fn strings(name: &'static str) -> Self {
        Self::new(name, Type::Strings)
    }

    /// A mapping argument.
    pub(crate) const fn map(name: &'static str) -> Self {
        Self::new(name, Type::Map)
    }

    /// An argument taking one of `values`.
    pub(crate) const fn one_of(name: &'static str, values: &'static [&'static str]) -> Self {
        Self::new(name, Type::OneOf(values))
    }

    /// Marks the argument required.
    pub(crate) const fn required(self) -> Self {
        Self {
            default: Default::Required,
            ..self
        }
    }

    /// The value used when the argument is not given.
    pub(crate) const fn default(self, value: &'static str) -> Self {
        Self {
            default: Default::Value(value),
            ..self
        }
    }

    /// A default computed from other arguments, in words.
    pub(crate) const fn default_note(self, note: &'static str) -> Self {
        Self {
            default: Default::Note(note),
            ..self
        }
    }

    /// The one-line doc.
    pub(crate) const fn doc(self, doc: &'static str) -> Self {
        Self { doc, ..self }
    }

    /// The Ansible argument names this one stands for.
    pub(crate) const fn ansible(self, names: &'static [&'static str]) -> Self {
        Self {
            ansible: names,
            ..self
        }
    }

    /// Checks a given (non-null) value against the declared type: a located error naming the
    /// argument and what it must be, in the words the builders' own checks use.
    pub(crate) fn check(&self, node: &Node) -> Result<()> {
        let context = format!("`{}`", self.name);
        match self.ty {
            Type::Str | Type::Path => scalar(node, &context).map(drop),
            Type::Bool => boolean(node, &context).map(drop),
            Type::Int => whole(node, self.name).map(drop),
            Type::Mode => octal_mode(node, self.name).map(drop),
            Type::Strings => match node.as_seq() {
                Some(items) => items
                    .iter()
                    .try_for_each(|n| scalar(n, &format!("items of {context}")).map(drop)),
                None => scalar(node, &context).map(drop),
            },
            Type::List(what) => match node.as_seq() {
                Some(_) => Ok(()),
                None => Err(wrong_type(node, what, &context)),
            },
            Type::Map => match node.as_map() {
                Some(_) => Ok(()),
                None => Err(wrong_type(node, "a mapping", &context)),
            },
            Type::Any => Ok(()),
            Type::OneOf(values) => {
                let text = scalar(node, &context)?;
                if values.contains(&text) {
                    return Ok(());
                }
                Err(Error::invalid(
                    format!("`{}` must be {}, not `{text}`", self.name, either(values)),
                    &node.span,
                )
                .with_label(format!("unknown {}", self.name))
                .suggest(text, values.iter().copied()))
            }
        }
    }

    /// The type as the docs name it.
    pub(crate) fn type_name(&self) -> String {
        match self.ty {
            Type::Str => "string".to_owned(),
            Type::Path => "path".to_owned(),
            Type::Bool => "bool".to_owned(),
            Type::Int => "integer".to_owned(),
            Type::Mode => "mode".to_owned(),
            Type::Strings => "string or list".to_owned(),
            Type::List(_) => "list".to_owned(),
            Type::Map => "mapping".to_owned(),
            Type::Any => "any".to_owned(),
            Type::OneOf(values) => values.join(" | "),
        }
    }

    /// The default as the docs show it.
    pub(crate) fn default_text(&self) -> String {
        match self.default {
            Default::Unset => "—".to_owned(),
            Default::Required => "required".to_owned(),
            Default::Value(v) => format!("`{v}`"),
            Default::Note(note) => note.to_owned(),
        }
    }
}

/// `values` as a choice in words: "`a`, `b` or `c`".
fn either(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

/// A scalar's text, or the located "must be a string" every builder gives.
fn scalar<'a>(node: &'a Node, context: &str) -> Result<&'a str> {
    node.scalar_text()
        .ok_or_else(|| wrong_type(node, "a string", context))
}

/// A whole number (0 or more), located when it is not one.
pub(crate) fn whole(node: &Node, key: &str) -> Result<u64> {
    let text = scalar(node, &format!("`{key}`"))?;
    text.trim().parse().map_err(|_| {
        Error::invalid(
            format!("`{key}` must be a whole number, not `{text}`"),
            &node.span,
        )
        .with_label("not a number")
    })
}

/// `0644`, `644` or `0o644` (quoted or not: YAML would read a bare 0644 as decimal 644, so the
/// text as written is what counts).
pub(crate) fn octal_mode(node: &Node, key: &str) -> Result<u32> {
    let text = node.scalar_text().unwrap_or_default().trim();
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o7777 && !digits.is_empty() => Ok(m),
        _ => Err(Error::invalid(
            format!("`{key}` must be an octal mode like \"0644\", not `{text}`"),
            &node.span,
        )
        .with_label("not an octal mode")),
    }
}

/// The declaration of `name` in `groups`.
pub(crate) fn find(groups: Groups, name: &str) -> Option<&'static Arg> {
    groups
        .iter()
        .flat_map(|g| g.iter())
        .find(|a| a.name == name)
}

/// Every argument name in `groups`, in declaration order.
pub(crate) fn names(groups: &[&[Arg]]) -> Vec<&'static str> {
    groups
        .iter()
        .flat_map(|g| g.iter())
        .map(|a| a.name)
        .collect()
}
