//! Typed, located access to a YAML mapping: the one place that turns "wrong shape" into an error
//! pointing at the offending key or value, with "did you mean" for typos.

pub(crate) mod arg;

use crate::error::{Error, ErrorKind, Result};
use crate::yaml::{Node, Resolved};
use arg::{Default, Groups};

/// The most keys an unknown-key error lists when no key is near the unknown one.
const KEYS_LISTED: usize = 40;

/// A mapping whose keys were checked against a known list.
pub(crate) struct Fields<'a> {
    pub(crate) node: &'a Node,
    context: String,
    /// The declaration the keys were checked against, where the defaults come from (none for
    /// mappings checked against a plain key list).
    declared: Groups,
}

impl<'a> Fields<'a> {
    /// Checks that `node` is a mapping whose keys are all in `allowed`.
    pub(crate) fn new(
        node: &'a Node,
        context: impl Into<String>,
        allowed: &[&str],
    ) -> Result<Self> {
        let context = context.into();
        let Some(entries) = node.as_map() else {
            return Err(wrong_type(node, "a mapping", &context));
        };
        for (key, _) in entries {
            if !allowed.contains(&key.key()) {
                let err = Error::at(
                    ErrorKind::UnknownKey {
                        key: key.key().to_owned(),
                        context: context.clone(),
                    },
                    &key.span,
                )
                .with_label("unknown key");
                return Err(
                    match crate::error::suggestion(key.key(), allowed.iter().copied()) {
                        Some(near) => err.with_help(format!("did you mean `{near}`?")),
                        // Far from every key: the short lists (a resource's arguments) are
                        // worth reading whole.
                        None if allowed.len() <= KEYS_LISTED => {
                            err.with_help(format!("{context} takes: {}", allowed.join(", ")))
                        }
                        None => err,
                    },
                );
            }
        }
        Ok(Self {
            node,
            context,
            declared: &[],
        })
    }

    /// Checks `node` against a resource's declared arguments: every key is declared (else a
    /// located error with did-you-mean) and every given value has the declared type, before
    /// the builder reads anything. Defaults then come from the declaration.
    pub(crate) fn declared(
        node: &'a Node,
        context: impl Into<String>,
        declared: Groups,
    ) -> Result<Self> {
        let mut fields = Self::new(node, context, &arg::names(declared))?;
        for (key, value) in node.as_map().unwrap_or_default() {
            if let (Some(arg), false) = (arg::find(declared, key.key()), value.is_null()) {
                arg.check(value)?;
            }
        }
        fields.declared = declared;
        Ok(fields)
    }

    /// The declared default of `key`, as written in the declaration.
    fn default_of(&self, key: &str) -> Result<&'static str> {
        match arg::find(self.declared, key).map(|a| a.default) {
            Some(Default::Value(value)) => Ok(value),
            _ => Err(Error::invalid(
                format!("recon bug: `{key}` is read with a default but declares none"),
                &self.node.span,
            )),
        }
    }

    /// A boolean, or its declared default.
    pub(crate) fn flag(&self, key: &str) -> Result<bool> {
        match self.boolean(key)? {
            Some(b) => Ok(b),
            None => Ok(matches!(self.default_of(key)?, "true" | "yes")),
        }
    }

    /// A scalar as text, or its declared default.
    pub(crate) fn text(&self, key: &str) -> Result<String> {
        match self.string(key)? {
            Some(text) => Ok(text),
            None => Ok(self.default_of(key)?.to_owned()),
        }
    }

    /// A whole number, or its declared default.
    pub(crate) fn whole(&self, key: &str) -> Result<u64> {
        if let Some(node) = self.get(key) {
            return arg::whole(node, key);
        }
        let text = self.default_of(key)?;
        text.parse().map_err(|_| {
            Error::invalid(
                format!("recon bug: `{key}`'s default `{text}` is not a number"),
                &self.node.span,
            )
        })
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Node> {
        self.node.get(key).filter(|n| !n.is_null())
    }

    pub(crate) fn require(&self, key: &str) -> Result<&'a Node> {
        self.get(key).ok_or_else(|| self.missing(key))
    }

    pub(crate) fn missing(&self, key: &str) -> Error {
        Error::at(
            ErrorKind::MissingKey {
                key: key.to_owned(),
                context: self.context.clone(),
            },
            &self.node.span,
        )
        .with_label(format!("`{key}` is missing here"))
    }

    /// A scalar as text (numbers and booleans keep the text the user wrote).
    pub(crate) fn string(&self, key: &str) -> Result<Option<String>> {
        self.get(key)
            .map(|n| scalar(n, &format!("`{key}`")))
            .transpose()
    }

    pub(crate) fn required_string(&self, key: &str) -> Result<String> {
        scalar(self.require(key)?, &format!("`{key}`"))
    }

    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>> {
        self.get(key)
            .map(|n| boolean(n, &format!("`{key}`")))
            .transpose()
    }

    /// A string or a list of strings (Ansible accepts both for `notify`, `tags`, ...).
    pub(crate) fn string_list(&self, key: &str) -> Result<Vec<(String, &'a Node)>> {
        let Some(node) = self.get(key) else {
            return Ok(Vec::new());
        };
        match node.as_seq() {
            Some(items) => items
                .iter()
                .map(|n| Ok((scalar(n, &format!("items of `{key}`"))?, n)))
                .collect(),
            None => Ok(vec![(scalar(node, &format!("`{key}`"))?, node)]),
        }
    }

    /// A mapping value (e.g. `vars:`, `env:`), or none.
    pub(crate) fn mapping(&self, key: &str) -> Result<Option<&'a Node>> {
        match self.get(key) {
            Some(n) if n.as_map().is_some() => Ok(Some(n)),
            Some(n) => Err(wrong_type(n, "a mapping", &format!("`{key}`"))),
            None => Ok(None),
        }
    }
}

/// A scalar as text. NUL bytes are refused here, for every argument at once: no shell word and no
/// path can hold one, and a host would silently use the text before it.
pub(crate) fn scalar(node: &Node, context: &str) -> Result<String> {
    let text = node
        .scalar_text()
        .ok_or_else(|| wrong_type(node, "a string", context))?;
    if text.contains('\0') {
        return Err(Error::at(
            ErrorKind::InvalidValue {
                message: format!(
                    "{context} contains a NUL byte, which no path or command can hold"
                ),
            },
            &node.span,
        )
        .with_label("NUL byte in here"));
    }
    Ok(text.to_owned())
}

pub(crate) fn boolean(node: &Node, context: &str) -> Result<bool> {
    match node.resolve() {
        Some(Resolved::Bool(b)) => Ok(b),
        Some(Resolved::Str("true" | "yes" | "True")) => Ok(true),
        Some(Resolved::Str("false" | "no" | "False")) => Ok(false),
        _ => Err(wrong_type(node, "a boolean", context)),
    }
}

pub(crate) fn wrong_type(node: &Node, expected: &str, context: &str) -> Error {
    Error::at(
        ErrorKind::WrongType {
            expected: expected.to_owned(),
            context: context.to_owned(),
        },
        &node.span,
    )
    .with_label(format!("this is {}", node.kind_name()))
}
