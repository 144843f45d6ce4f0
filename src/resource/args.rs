//! Argument helpers shared by resource kinds: modes, paths, owner/group attributes.

use crate::error::{Error, Result};
use crate::facts::PathState;
use crate::fields::arg::{octal_mode, Arg};
use crate::fields::Fields;
use crate::plan::{Change, Field};
use crate::script::{p, w, Script};
use crate::yaml::Node;

/// An octal mode (`crate::fields::arg::octal_mode`), or none.
pub(crate) fn mode(f: &Fields<'_>, key: &str) -> Result<Option<u32>> {
    f.get(key).map(|node| octal_mode(node, key)).transpose()
}

/// `mode`, `owner` and `group`: the attributes `Attrs::read` reads, shared by the kinds that
/// write a path.
pub(crate) const ATTRS: &[Arg] = &[
    Arg::mode("mode")
        .default_note("kept; 0644 (a folder 0755) when created")
        .doc("octal mode, quoted (`\"0644\"`)")
        .ansible(&["mode"]),
    OWNER,
    GROUP,
];

/// `owner`, as every kind that sets a path's attributes declares it.
pub(crate) const OWNER: Arg = Arg::str("owner")
    .default_note("kept")
    .doc("owning account")
    .ansible(&["owner"]);

/// `group`, as every kind that sets a path's attributes declares it.
pub(crate) const GROUP: Arg = Arg::str("group")
    .default_note("kept")
    .doc("owning group")
    .ansible(&["group"]);

/// A required, non-empty path; normalized (no trailing `/`, no `//`, no `.` parts).
pub(crate) fn path(f: &Fields<'_>, key: &str) -> Result<String> {
    let node = f.require(key)?;
    let text = f.required_string(key)?;
    checked_path(&text, node)
}

pub(crate) fn checked_path(text: &str, node: &Node) -> Result<String> {
    if text.trim().is_empty() {
        return Err(Error::invalid("path is empty", &node.span).with_label("empty path"));
    }
    if text.contains('\0') {
        return Err(Error::invalid(
            format!("path {text:?} contains a NUL byte, which no path can hold"),
            &node.span,
        )
        .with_label("NUL byte in this path"));
    }
    if !(text.starts_with('/') || text == "~" || text.starts_with("~/")) {
        return Err(Error::invalid(
            format!("path `{text}` must be absolute (start with `/` or `~/`)"),
            &node.span,
        )
        .with_label("relative path"));
    }
    if text.split('/').any(|part| part == "..") {
        return Err(
            Error::invalid(format!("path `{text}` must not contain `..`"), &node.span)
                .with_label("here"),
        );
    }
    Ok(normalize_path(text))
}

pub(crate) fn normalize_path(text: &str) -> String {
    let absolute = text.starts_with('/');
    let parts: Vec<&str> = text
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Every ancestor of a normalized path, nearest first (`~/a/b` → `~/a`, `~`).
pub(crate) fn parent_dirs(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = path;
    while let Some(i) = current.rfind('/') {
        current = &current[..i];
        if current.is_empty() {
            out.push("/".to_owned());
            break;
        }
        out.push(current.to_owned());
    }
    out
}

/// Owner, group and mode wanted for a path; `None` = leave as is.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attrs {
    pub(crate) mode: Option<u32>,
    pub(crate) owner: Option<String>,
    pub(crate) group: Option<String>,
}

impl Attrs {
    pub(crate) fn read(f: &Fields<'_>) -> Result<Self> {
        Ok(Self {
            mode: mode(f, "mode")?,
            owner: f.string("owner")?,
            group: f.string("group")?,
        })
    }

    /// Field diffs for an existing path.
    pub(crate) fn diff(&self, state: &PathState, mut change: Change) -> Change {
        if let Some(mode) = self.mode.filter(|m| *m != state.mode) {
            change = change.field(
                Field::MODE,
                Some(fmt_mode(state.mode)),
                Some(fmt_mode(mode)),
            );
        }
        if let Some(owner) = self.owner.as_ref().filter(|o| **o != state.owner) {
            change = change.field(Field::OWNER, Some(state.owner.clone()), Some(owner.clone()));
        }
        if let Some(group) = self.group.as_ref().filter(|g| **g != state.group) {
            change = change.field(Field::GROUP, Some(state.group.clone()), Some(group.clone()));
        }
        change
    }

    /// Fields for a path about to be created with `default_mode` when none is given.
    pub(crate) fn create(&self, default_mode: u32, mut change: Change) -> Change {
        change = change.field(
            Field::MODE,
            None,
            Some(fmt_mode(self.mode.unwrap_or(default_mode))),
        );
        if let Some(owner) = &self.owner {
            change = change.field(Field::OWNER, None, Some(owner.clone()));
        }
        if let Some(group) = &self.group {
            change = change.field(Field::GROUP, None, Some(group.clone()));
        }
        change
    }

    /// `MODE OWNER GROUP` arguments for the `_attrs`/`_put` shell helpers (`-` = leave), each
    /// preceded by a space; `mode_fallback` stands in for an unmanaged mode.
    pub(crate) fn shell_args(&self, mode_fallback: Option<u32>, out: &mut Script) {
        let mode = self.mode.or(mode_fallback).map(fmt_mode);
        for value in [
            mode.as_deref(),
            self.owner.as_deref(),
            self.group.as_deref(),
        ] {
            match value {
                Some(v) => out.fill(" {}", [w(v)]),
                None => out.code(" -"),
            };
        }
    }

    /// Shell that sets the attributes of an existing path (nothing when none is managed).
    pub(crate) fn apply_script(&self, path: &str, out: &mut Script) {
        if self.mode.is_none() && self.owner.is_none() && self.group.is_none() {
            return;
        }
        out.fill("_attrs {}", [p(path)]);
        self.shell_args(None, out);
        out.code(" || exit 1\n");
    }
}

/// `state:` as one of `allowed` (the first is the default), located when it is anything else.
pub(crate) fn state<'a>(f: &Fields<'_>, allowed: &[&'a str]) -> Result<&'a str> {
    state_of(f, "state", allowed)
}

/// `key`'s value, one of `allowed` (the first when absent); anything else is a located error
/// with a did-you-mean.
pub(crate) fn state_of<'a>(f: &Fields<'_>, key: &str, allowed: &[&'a str]) -> Result<&'a str> {
    let Some(node) = f.get(key) else {
        return Ok(allowed.first().copied().unwrap_or_default());
    };
    let text = f.required_string(key)?;
    allowed.iter().copied().find(|a| *a == text).ok_or_else(|| {
        Error::invalid(
            format!(
                "`{key}` must be one of {}, not `{text}`",
                allowed.join(", ")
            ),
            &node.span,
        )
        .with_label(format!("unknown {key}"))
        .suggest(&text, allowed.iter().copied())
    })
}

/// Refuses `keys` next to `state: absent`: there is nothing to write them to.
pub(crate) fn refuse_with_absent(f: &Fields<'_>, keys: &[&str]) -> Result<()> {
    for key in keys {
        if let Some(node) = f.get(key) {
            return Err(Error::invalid(
                format!("`{key}` has no meaning with `state: absent`"),
                &node.span,
            )
            .with_label("remove this or the `state: absent`"));
        }
    }
    Ok(())
}

/// An account or group name as `useradd`/`groupadd` accept it on Debian (`NAME_REGEX` of
/// adduser: lowercase letter or `_` first, then letters, digits, `_`, `-`, `.`, at most 32),
/// located when it is not: such a name can then never be read as an option or a pattern.
pub(crate) fn account_name(f: &Fields<'_>, key: &str) -> Result<String> {
    let node = f.require(key)?;
    let text = f.required_string(key)?;
    checked_account_name(&text, node)?;
    Ok(text)
}

/// `account_name` for a value already read.
pub(crate) fn checked_account_name(text: &str, node: &Node) -> Result<()> {
    let mut chars = text.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c));
    if first_ok && rest_ok && text.len() <= 32 {
        return Ok(());
    }
    Err(Error::invalid(
        format!("`{text}` is not a valid account or group name (lowercase letter or `_` first, then `a-z0-9_.-`, at most 32)"),
        &node.span,
    )
    .with_label("invalid name"))
}

/// A non-negative id (`uid`, `gid`, `cache_valid_time`), located when it is not a number.
pub(crate) fn number(f: &Fields<'_>, key: &str) -> Result<Option<u64>> {
    let Some(node) = f.get(key) else {
        return Ok(None);
    };
    let text = f.required_string(key)?;
    text.trim().parse().map(Some).map_err(|_| {
        Error::invalid(
            format!("`{key}` must be a whole number, not `{text}`"),
            &node.span,
        )
        .with_label("not a number")
    })
}

pub(crate) fn fmt_mode(mode: u32) -> String {
    format!("{mode:04o}")
}

/// `validate`: a command run on the candidate file (`%s`) before it replaces the live one
/// (`file`, `template`, `line`, `block`), as Ansible's modules do.
pub(super) fn validate(f: &Fields<'_>) -> Result<Option<String>> {
    let validate = f.string("validate")?;
    if let (Some(cmd), Some(node)) = (&validate, f.get("validate")) {
        if !cmd.contains("%s") {
            return Err(Error::invalid(
                "`validate` must contain `%s` (the candidate file)",
                &node.span,
            )
            .with_label("no %s here"));
        }
    }
    Ok(validate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_nearest_first() {
        assert_eq!(parent_dirs("/a/b/c"), ["/a/b", "/a", "/"]);
        assert_eq!(parent_dirs("~/digicam/conf"), ["~/digicam", "~"]);
        assert_eq!(normalize_path("/a//b/./c/"), "/a/b/c");
    }
}
