//! Argument helpers shared by resource kinds: modes, paths, owner/group attributes.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::facts::PathState;
use crate::fields::Fields;
use crate::plan::{Change, Field};
use crate::shell::{quote, quote_path};
use crate::yaml::Node;

/// `0644`, `644` or `0o644` (quoted or not: YAML would read a bare 0644 as decimal 644, so the
/// text as written is what counts).
pub(crate) fn mode(f: &Fields<'_>, key: &str) -> Result<Option<u32>> {
    let Some(node) = f.get(key) else {
        return Ok(None);
    };
    let text = node.scalar_text().unwrap_or_default().trim();
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o7777 && !digits.is_empty() => Ok(Some(m)),
        _ => Err(Error::invalid(
            format!("`{key}` must be an octal mode like \"0644\", not `{text}`"),
            &node.span,
        )
        .with_label("not an octal mode")),
    }
}

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
                Field::Mode,
                Some(fmt_mode(state.mode)),
                Some(fmt_mode(mode)),
            );
        }
        if let Some(owner) = self.owner.as_ref().filter(|o| **o != state.owner) {
            change = change.field(Field::Owner, Some(state.owner.clone()), Some(owner.clone()));
        }
        if let Some(group) = self.group.as_ref().filter(|g| **g != state.group) {
            change = change.field(Field::Group, Some(state.group.clone()), Some(group.clone()));
        }
        change
    }

    /// Fields for a path about to be created with `default_mode` when none is given.
    pub(crate) fn create(&self, default_mode: u32, mut change: Change) -> Change {
        change = change.field(
            Field::Mode,
            None,
            Some(fmt_mode(self.mode.unwrap_or(default_mode))),
        );
        if let Some(owner) = &self.owner {
            change = change.field(Field::Owner, None, Some(owner.clone()));
        }
        if let Some(group) = &self.group {
            change = change.field(Field::Group, None, Some(group.clone()));
        }
        change
    }

    /// `MODE OWNER GROUP` arguments for the `_attrs`/`_put` shell helpers (`-` = leave).
    pub(crate) fn shell_args(&self, mode_fallback: Option<u32>) -> String {
        let mode = self
            .mode
            .or(mode_fallback)
            .map_or_else(|| "-".to_owned(), fmt_mode);
        let owner = self.owner.as_deref().map_or_else(|| "-".to_owned(), quote);
        let group = self.group.as_deref().map_or_else(|| "-".to_owned(), quote);
        format!("{mode} {owner} {group}")
    }

    /// Shell that sets the attributes of an existing path.
    pub(crate) fn apply_script(&self, path: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "_attrs {} {}", quote_path(path), self.shell_args(None));
        s
    }
}

pub(crate) fn fmt_mode(mode: u32) -> String {
    format!("{mode:04o}")
}

/// Encodes bytes for a here-document: base64 in 76-column lines.
pub(crate) fn heredoc_base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut s = String::with_capacity(encoded.len() + encoded.len() / 76 + 32);
    for chunk in encoded.as_bytes().chunks(76) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    s
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
