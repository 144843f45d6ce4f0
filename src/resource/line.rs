//! `line: { path, line, regexp, state, mode }`: one line present in (or absent from) a file, as
//! Ansible's `lineinfile`: with `regexp`, the last matching line is replaced; otherwise the line
//! is appended unless present. The new content is computed here, so the plan shows the exact diff.

use regex::Regex;

use super::args::{heredoc_base64, mode, path};
use super::file::text_diff;
use super::Kind;
use crate::error::{Error, Result};
use crate::facts::{Fact, FactValue, PathKind, PathState, Want};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::shell::quote_path;
use crate::yaml::Node;

/// A managed line.
#[derive(Debug, Clone)]
#[allow(clippy::struct_field_names)] // `line.line` is the word users write
pub(crate) struct Line {
    pub(crate) path: String,
    pub(crate) line: String,
    pub(crate) regexp: Option<Regex>,
    pub(crate) present: bool,
    pub(crate) mode: Option<u32>,
}

impl Line {
    pub(crate) fn build(args: &Node) -> Result<Self> {
        let f = Fields::new(args, "`line`", &["path", "line", "regexp", "state", "mode"])?;
        let present = match f.string("state")?.as_deref() {
            None | Some("present") => true,
            Some("absent") => false,
            Some(other) => {
                return Err(Error::invalid(
                    format!("`state` must be `present` or `absent`, not `{other}`"),
                    &f.require("state")?.span,
                ))
            }
        };
        let regexp = match f.get("regexp") {
            Some(node) => {
                let text = f.required_string("regexp")?;
                Some(Regex::new(&text).map_err(|e| {
                    Error::invalid(format!("invalid `regexp`: {e}"), &node.span).with_label("here")
                })?)
            }
            None => None,
        };
        let line = match f.string("line")? {
            Some(l) if l.contains('\n') => {
                return Err(Error::invalid(
                    "`line` must be a single line",
                    &f.require("line")?.span,
                ))
            }
            Some(l) => l,
            None if !present && regexp.is_some() => String::new(),
            None => return Err(f.missing("line")),
        };
        Ok(Self {
            path: path(&f, "path")?,
            line,
            regexp,
            present,
            mode: mode(&f, "mode")?,
        })
    }

    /// The file's new content, or `None` when it already satisfies the line.
    fn new_content(&self, old: &str) -> Option<String> {
        let lines: Vec<&str> = old.lines().collect();
        let matches = |l: &str| {
            self.regexp
                .as_ref()
                .map_or(l == self.line, |r| r.is_match(l))
        };
        let mut out: Vec<&str>;
        if self.present {
            if let Some(i) = lines.iter().rposition(|l| matches(l)) {
                if lines[i] == self.line {
                    return None;
                }
                out = lines.clone();
                out[i] = &self.line;
            } else if lines.iter().any(|l| *l == self.line) {
                return None;
            } else {
                out = lines.clone();
                out.push(&self.line);
            }
        } else {
            out = lines.iter().copied().filter(|l| !matches(l)).collect();
            if out.len() == lines.len() {
                return None;
            }
        }
        let mut text = out.join("\n");
        if !out.is_empty() {
            text.push('\n');
        }
        Some(text)
    }

    /// The content this line leaves in the file, or `None` when nothing changes.
    pub(crate) fn after(&self, state: &PathState) -> Option<String> {
        self.planned(state).ok().flatten()
    }

    fn planned(&self, state: &PathState) -> Result<Option<String>, String> {
        match state.kind {
            PathKind::Absent if self.present => Ok(Some(format!("{}\n", self.line))),
            PathKind::Absent => Ok(None),
            PathKind::File => {
                let Some(bytes) = &state.content else {
                    return Err(format!(
                        "`{}` is too large for `line` ({} bytes)",
                        self.path, state.size
                    ));
                };
                let text = std::str::from_utf8(bytes)
                    .map_err(|_| format!("`{}` is not UTF-8 text", self.path))?;
                Ok(self.new_content(text))
            }
            other => Err(format!(
                "`{}` exists and is {}, not a regular file",
                self.path,
                other.describe()
            )),
        }
    }
}

impl Kind for Line {
    fn id(&self) -> String {
        format!("{}: {}", self.path, self.line)
    }

    fn kind_name(&self) -> &'static str {
        "line"
    }

    fn claims(&self) -> Vec<String> {
        vec![self.path.clone()]
    }

    fn facts(&self) -> Vec<Fact> {
        vec![Fact::Path {
            path: self.path.clone(),
            content: Want::Always,
        }]
    }

    fn diff(&self, facts: &[&FactValue]) -> Result<Option<Change>, String> {
        let [FactValue::Path(state)] = facts else {
            return Err("missing facts".into());
        };
        let Some(new) = self.planned(state)? else {
            return Ok(None);
        };
        let old = state.content.clone().unwrap_or_default();
        let action = if state.kind == PathKind::Absent {
            Action::Create
        } else {
            Action::Update
        };
        let mut change = Change::new(action).field(
            Field::Content,
            (state.kind != PathKind::Absent).then(|| format!("{} bytes", state.size)),
            Some(format!("{} bytes", new.len())),
        );
        change.diff = text_diff(&old, new.as_bytes());
        Ok(Some(change))
    }

    fn script(&self, facts: &[&FactValue], _change: &Change) -> String {
        let [FactValue::Path(state)] = facts else {
            return "exit 1\n".into();
        };
        let Ok(Some(new)) = self.planned(state) else {
            return "exit 100\n".into();
        };
        let existing = (state.kind == PathKind::File).then_some(state.mode);
        let mode = self.mode.or(existing).unwrap_or(0o644);
        format!(
            "_put {} {mode:04o} - - <<'RECON_DATA'\n{}RECON_DATA\n",
            quote_path(&self.path),
            heredoc_base64(new.as_bytes())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(line: &str, regexp: Option<&str>, present: bool) -> Line {
        Line {
            path: "/etc/x".into(),
            line: line.into(),
            regexp: regexp.map(|r| Regex::new(r).expect("regex")),
            present,
            mode: None,
        }
    }

    #[test]
    fn lineinfile_semantics() {
        let l = line("export A=1", None, true);
        assert_eq!(l.new_content("x\nexport A=1\n"), None);
        assert_eq!(l.new_content("x"), Some("x\nexport A=1\n".into()));
        assert_eq!(l.new_content(""), Some("export A=1\n".into()));

        let r = line("port=2", Some("^port="), true);
        assert_eq!(
            r.new_content("port=1\na\nport=3\n"),
            Some("port=1\na\nport=2\n".into()),
            "last match replaced"
        );
        assert_eq!(r.new_content("a\nport=2\n"), None);
        assert_eq!(r.new_content("a\n"), Some("a\nport=2\n".into()));

        let gone = line("", Some("^#"), false);
        assert_eq!(gone.new_content("#a\nb\n#c\n"), Some("b\n".into()));
        assert_eq!(gone.new_content("b\n"), None);
    }

    #[test]
    fn absent_file_is_created_with_the_line() {
        let absent = FactValue::Path(PathState::default());
        let change = line("a", None, true)
            .diff(&[&absent])
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Create);
        assert_eq!(change.diff.as_deref(), Some("@@ -0,0 +1 @@\n+a\n"));
    }
}
