//! `line: { path, line, regexp, state, mode }`: one line present in (or absent from) a file, as
//! Ansible's `lineinfile`: with `regexp`, the last matching line is replaced; otherwise the line
//! is appended unless present. The new content is computed here, so the plan shows the exact diff.

use regex::Regex;

use super::args::{fmt_mode, mode, path};
use super::file::text_diff;
use super::{BuildContext, Claim, Problem, Resource, Sharing, Situation};
use crate::error::{Error, Result};
use crate::facts::{sha256_hex, FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{p, w, Script};
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

/// Builds a `line` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Line> {
    Line::build(args)
}

impl Line {
    fn build(args: &Node) -> Result<Self> {
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

/// The file's new bytes and the mode it is written with.
#[derive(Debug)]
pub(crate) struct Decision {
    content: String,
    mode: u32,
    /// The file as it was, for the prediction of the next `line` on the same file.
    before: PathState,
}

impl Resource for Line {
    type Asked = Handle<PathState>;
    type Decision = Decision;

    fn kind(&self) -> &'static str {
        "line"
    }

    fn id(&self) -> String {
        format!("{}: {}", self.path, self.line)
    }

    fn claims(&self) -> Vec<Claim> {
        // Several `line`s may edit one file; the graph chains them in file order.
        vec![Claim {
            sharing: Sharing::Ordered,
            ..Claim::path(&self.path)
        }]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        facts.path(&self.path, Want::Always)
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let state = facts.get(*asked);
        let Some(new) = self.planned(state).map_err(Problem)? else {
            return Ok(None);
        };
        let old = state.content.clone().unwrap_or_default();
        let exists = state.kind == PathKind::File;
        let action = if exists {
            Action::Update
        } else {
            Action::Create
        };
        let mut change = Change::new(action).field(
            Field::Content,
            exists.then(|| format!("{} bytes", state.size)),
            Some(format!("{} bytes", new.len())),
        );
        change.diff = text_diff(&old, new.as_bytes());
        let mode = self.mode.or(exists.then_some(state.mode)).unwrap_or(0o644);
        Ok(Some((
            change,
            Decision {
                content: new,
                mode,
                before: state.clone(),
            },
        )))
    }

    fn script(&self, decision: &Decision, out: &mut Script) {
        out.fill(
            "_put {} {} - -",
            [p(&self.path), w(&fmt_mode(decision.mode))],
        )
        .base64_heredoc(decision.content.as_bytes())
        .code("[ $? -eq 0 ] || exit 1\n");
    }

    fn predict(&self, decision: &Decision, set: &FactSet, facts: &mut Facts) {
        let new = decision.content.as_bytes();
        let state = PathState {
            kind: PathKind::File,
            mode: decision.mode,
            size: new.len() as u64,
            sha256: Some(sha256_hex(new)),
            content: Some(new.to_vec()),
            ..decision.before.clone()
        };
        facts.predict_path(set, &self.path, &state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::decide;

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
        let (change, _) = decide(&line("a", None, true), vec![absent])
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Create);
        assert_eq!(change.diff.as_deref(), Some("@@ -0,0 +1 @@\n+a\n"));
    }
}
