//! `line: { path, line, regexp, state, mode }`: one line present in (or absent from) a file, as
//! Ansible's `lineinfile`: with `regexp`, the last matching line is replaced; otherwise the line
//! is appended unless present. The new content is computed here, so the plan shows the exact diff.

use regex::Regex;

use super::args::{mode, path};
use super::text_edit::{current_text, Rewrite};
use super::{BuildContext, Claim, Problem, Resource, Sharing, Situation};
use crate::error::{Error, Result};
use crate::facts::{FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::Change;
use crate::script::Script;
use crate::yaml::Node;

/// A managed line.
#[derive(Debug, Clone)]
#[allow(clippy::struct_field_names)] // `line.line` is the word users write
pub(crate) struct Line {
    pub(crate) path: String,
    pub(crate) line: String,
    /// Which existing line is the one (else the line itself, exactly).
    pub(crate) matcher: Matcher,
    pub(crate) present: bool,
    pub(crate) mode: Option<u32>,
    /// Where a line no existing line matches goes (default: the end).
    pub(crate) insert: Insert,
    /// The first match counts (of `regexp` and of `insertafter`/`insertbefore`), not the last.
    pub(crate) firstmatch: bool,
    /// `line` uses the `regexp`'s groups (`\1`); with no match, nothing changes.
    pub(crate) backrefs: bool,
    /// A missing file is created (recon's default; Ansible's `lineinfile` says `create: no`).
    pub(crate) create: bool,
    /// Checks the candidate file (`%s`) before it replaces the live one.
    pub(crate) validate: Option<String>,
}

/// How the line to replace (or remove) is found.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Exact,
    Regexp(Regex),
    Search(String),
}

/// Where a new line goes.
#[derive(Debug, Clone)]
pub(crate) enum Insert {
    Eof,
    Bof,
    After(Regex),
    Before(Regex),
}

/// The arguments of `line`.
pub(super) const ARGS: Groups = &[&[
    Arg::path("path")
        .required()
        .doc("the file")
        .ansible(&["path", "dest", "destfile", "name"]),
    Arg::str("line")
        .default_note("required unless `absent`")
        .doc("the line (one line)")
        .ansible(&["line", "value"]),
    Arg::str("regexp")
        .doc("the lines to replace (the last match, or the first with `firstmatch`)")
        .ansible(&["regexp", "regex"]),
    Arg::str("search_string")
        .doc("like `regexp`, a literal substring")
        .ansible(&["search_string"]),
    Arg::one_of("state", &["present", "absent"])
        .doc("`absent` removes every matching line")
        .default("present")
        .ansible(&["state"]),
    Arg::mode("mode")
        .default_note("kept; 0644 when created")
        .doc("octal mode, quoted")
        .ansible(&["mode"]),
    Arg::str("insertafter")
        .doc("`EOF` or a regex: a new line goes after its last match")
        .ansible(&["insertafter"]),
    Arg::str("insertbefore")
        .doc("`BOF` or a regex: a new line goes before its last match")
        .ansible(&["insertbefore"]),
    Arg::bool("firstmatch")
        .default("false")
        .doc("`regexp`/`insertafter`/`insertbefore` use the first match")
        .ansible(&["firstmatch"]),
    Arg::bool("backrefs")
        .default("false")
        .doc("`line` uses the `regexp`'s groups (`\\1`); no match changes nothing")
        .ansible(&["backrefs"]),
    Arg::bool("create")
        .default("true")
        .doc("create a missing file (Ansible's default `no` is passed on)")
        .ansible(&["create"]),
    Arg::str("validate")
        .doc("a command run on the candidate file (`%s`) before the rename")
        .ansible(&["validate"]),
]];

/// Builds a `line` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Line> {
    Line::build(args)
}

impl Line {
    fn build(args: &Node) -> Result<Self> {
        let f = Fields::declared(args, "`line`", ARGS)?;
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
        let regex = |key: &str| -> Result<Option<Regex>> {
            match f.get(key) {
                Some(node) => {
                    let text = f.required_string(key)?;
                    Regex::new(&text).map(Some).map_err(|e| {
                        Error::invalid(format!("invalid `{key}`: {e}"), &node.span)
                            .with_label("here")
                    })
                }
                None => Ok(None),
            }
        };
        let matcher = match (regex("regexp")?, f.string("search_string")?) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "`regexp` and `search_string` are mutually exclusive",
                    &f.require("search_string")?.span,
                ))
            }
            (Some(re), None) => Matcher::Regexp(re),
            (None, Some(text)) => Matcher::Search(text),
            (None, None) => Matcher::Exact,
        };
        let insert = match (f.string("insertafter")?, f.string("insertbefore")?) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "`insertafter` and `insertbefore` are mutually exclusive",
                    &f.require("insertbefore")?.span,
                ))
            }
            (Some(a), None) if a == "EOF" => Insert::Eof,
            (Some(_), None) => {
                Insert::After(regex("insertafter")?.ok_or_else(|| f.missing("insertafter"))?)
            }
            (None, Some(b)) if b == "BOF" => Insert::Bof,
            (None, Some(_)) => {
                Insert::Before(regex("insertbefore")?.ok_or_else(|| f.missing("insertbefore"))?)
            }
            (None, None) => Insert::Eof,
        };
        let backrefs = f.flag("backrefs")?;
        if backrefs && !matches!(matcher, Matcher::Regexp(_)) {
            return Err(Error::invalid(
                "`backrefs` needs `regexp`",
                &f.require("backrefs")?.span,
            ));
        }
        let line = match f.string("line")? {
            Some(l) if l.contains('\n') => {
                return Err(Error::invalid(
                    "`line` must be a single line",
                    &f.require("line")?.span,
                ))
            }
            Some(l) => l,
            None if !present && !matches!(matcher, Matcher::Exact) => String::new(),
            None => return Err(f.missing("line")),
        };
        Ok(Self {
            path: path(&f, "path")?,
            line,
            matcher,
            present,
            mode: mode(&f, "mode")?,
            insert,
            firstmatch: f.flag("firstmatch")?,
            backrefs,
            create: f.flag("create")?,
            validate: super::args::validate(&f)?,
        })
    }

    /// Whether `line` (without its end) is the one.
    fn matches(&self, line: &str) -> bool {
        match &self.matcher {
            Matcher::Exact => line == self.line,
            Matcher::Regexp(re) => re.is_match(line),
            Matcher::Search(text) => line.contains(text.as_str()),
        }
    }

    /// The file's new content, or `None` when it already satisfies the line: Ansible's
    /// `lineinfile` step by step (the last match counts unless `firstmatch`; a new line goes
    /// after or before the last line `insertafter`/`insertbefore` matches, else at the end).
    fn new_content(&self, old: &str) -> Option<String> {
        let mut lines: Vec<String> = old.split_inclusive('\n').map(str::to_owned).collect();
        let bare = |l: &str| l.trim_end_matches(['\r', '\n']).to_owned();
        if !self.present {
            let before = lines.len();
            lines.retain(|l| !self.matches(&bare(l)));
            return (lines.len() != before).then(|| lines.concat());
        }
        let (mut found, mut at) = (None, None);
        for (i, l) in lines.iter().enumerate() {
            let text = bare(l);
            if self.matches(&text) {
                found = Some(i);
                if self.firstmatch {
                    break;
                }
            }
            match &self.insert {
                Insert::After(re) if re.is_match(&text) => {
                    at = Some(i + 1);
                    if self.firstmatch {
                        break;
                    }
                }
                Insert::Before(re) if re.is_match(&text) => {
                    at = Some(i);
                    if self.firstmatch {
                        break;
                    }
                }
                _ => {}
            }
        }
        if let Some(i) = found {
            let new = match (&self.matcher, self.backrefs) {
                (Matcher::Regexp(re), true) => {
                    let text = bare(&lines[i]);
                    let caps = re.captures(&text)?;
                    let mut out = String::new();
                    caps.expand(&crate::template::python_replacement(&self.line), &mut out);
                    out
                }
                _ => self.line.clone(),
            };
            let new = format!("{new}\n");
            if lines[i] == new {
                return None;
            }
            lines[i] = new;
            return Some(lines.concat());
        }
        if self.backrefs {
            // Without a match there are no groups to fill: Ansible changes nothing.
            return None;
        }
        let new = format!("{}\n", self.line);
        let position = match (&self.insert, at) {
            (Insert::Bof, _) => Some(0),
            (Insert::After(_) | Insert::Before(_), Some(at)) => Some(at),
            _ => None,
        };
        let Some(at) = position else {
            if lines.last().is_some_and(|l| !l.ends_with(['\n', '\r'])) {
                lines.push("\n".to_owned());
            }
            lines.push(new);
            return Some(lines.concat());
        };
        // Not inserted again next to where it already is (Ansible looks at the line at the
        // position after, or before, the match).
        let next_to = match self.insert {
            Insert::After(_) if at == lines.len() => at.checked_sub(1),
            Insert::After(_) => Some(at),
            Insert::Before(_) if at == 0 => Some(0),
            Insert::Before(_) => Some(at - 1),
            _ => None,
        };
        if next_to
            .and_then(|i| lines.get(i))
            .is_some_and(|l| bare(l) == self.line)
        {
            return None;
        }
        if at == lines.len() {
            if lines.last().is_some_and(|l| !l.ends_with('\n')) {
                lines.push("\n".to_owned());
            }
            lines.push(new);
        } else {
            lines.insert(at, new);
        }
        Some(lines.concat())
    }

    fn planned(&self, state: &PathState) -> Result<Option<String>, Problem> {
        match state.kind {
            PathKind::Absent if self.present && self.create && !self.backrefs => {
                Ok(Some(format!("{}\n", self.line)))
            }
            PathKind::Absent if self.present && !self.create => Err(Problem(format!(
                "`{}` does not exist (Ansible's lineinfile fails here too; set `create: true`)",
                self.path
            ))),
            PathKind::Absent => Ok(None),
            PathKind::File => Ok(self.new_content(current_text(&self.path, state)?)),
            other => Err(Problem(format!(
                "`{}` exists and is {}, not a regular file",
                self.path,
                other.describe()
            ))),
        }
    }
}

impl Resource for Line {
    type Asked = Handle<PathState>;
    type Decision = Rewrite;

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
    ) -> Result<Option<(Change, Rewrite)>, Problem> {
        let state = facts.get(*asked);
        super::refuse_unsafe(&self.path, state)?;
        let Some(new) = self.planned(state)? else {
            return Ok(None);
        };
        let exists = state.kind == PathKind::File;
        let mode = self.mode.or(exists.then_some(state.mode)).unwrap_or(0o644);
        let rewrite = Rewrite::new(state, new, mode).validated(self.validate.clone());
        Ok(Some((rewrite.change(), rewrite)))
    }

    fn script(&self, rewrite: &Rewrite, out: &mut Script) {
        rewrite.script(&self.path, out);
    }

    fn predict(&self, rewrite: &Rewrite, set: &FactSet, facts: &mut Facts) {
        rewrite.predict(&self.path, set, facts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::plan::Action;
    use crate::resource::testing::decide;

    fn line(line: &str, regexp: Option<&str>, present: bool) -> Line {
        Line {
            path: "/etc/x".into(),
            line: line.into(),
            matcher: regexp.map_or(Matcher::Exact, |r| {
                Matcher::Regexp(Regex::new(r).expect("regex"))
            }),
            present,
            mode: None,
            insert: Insert::Eof,
            firstmatch: false,
            backrefs: false,
            create: true,
            validate: None,
        }
    }

    #[test]
    fn insertafter_insertbefore_firstmatch_and_backrefs_as_ansible() {
        let mut l = line("b=2", Some("^b="), true);
        l.insert = Insert::After(Regex::new(r"^\[s\]").expect("re"));
        assert_eq!(
            l.new_content("[s]\nx\n[s]\ny\n"),
            Some("[s]\nx\n[s]\nb=2\ny\n".into()),
            "after the last match"
        );
        l.firstmatch = true;
        assert_eq!(
            l.new_content("[s]\nx\n[s]\ny\n"),
            Some("[s]\nb=2\nx\n[s]\ny\n".into())
        );
        let mut before = line("first", None, true);
        before.insert = Insert::Bof;
        assert_eq!(before.new_content("a\n"), Some("first\na\n".into()));
        let mut back = line(r"port=\1 # kept", Some(r"^port=(\d+)$"), true);
        back.backrefs = true;
        assert_eq!(
            back.new_content("port=80\n"),
            Some("port=80 # kept\n".into())
        );
        assert_eq!(back.new_content("nothing\n"), None, "no match, no change");
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
