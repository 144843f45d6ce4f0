//! `block: { path, block, marker, marker_begin, marker_end, insertafter | insertbefore, create,
//! state, mode, owner, group, validate, append_newline, prepend_newline }`: a marker-delimited
//! block of lines in a file, edited exactly as Ansible's `blockinfile` edits it, byte for byte
//! (its line splitting, its marker matching, its insertion rules and its newline quirks), so
//! a file either tool converged is converged for the other. The new content is computed here,
//! so the plan shows the exact diff and the apply writes exactly that.

use regex::Regex;

use super::args::{parent_dirs, path, state, Attrs};
use super::file::{text_diff, Sensitivity};
use super::text_edit::{current_text, written};
use super::{BuildContext, Claim, Problem, Resource, Sharing, Situation};
use crate::error::{Error, Result};
use crate::facts::{sha256_hex, FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{p, w, Script};
use crate::yaml::Node;

/// The arguments of `block`.
pub(super) const ARGS: Groups = &[
    &[
        Arg::path("path")
            .required()
            .doc("the file")
            .ansible(&["path", "dest", "destfile", "name"]),
        Arg::str("block")
            .default("")
            .doc("the lines between the markers")
            .ansible(&["block", "content"]),
        Arg::str("marker")
            .default("# {mark} ANSIBLE MANAGED BLOCK")
            .doc("the marker line; `{mark}` becomes `marker_begin`/`marker_end`")
            .ansible(&["marker"]),
        Arg::str("marker_begin")
            .doc("replaces `{mark}` in the first marker")
            .default("BEGIN")
            .ansible(&["marker_begin"]),
        Arg::str("marker_end")
            .doc("replaces `{mark}` in the last marker")
            .default("END")
            .ansible(&["marker_end"]),
        Arg::str("insertafter")
            .default("EOF")
            .doc("`EOF` or a regex: a new block goes after its last match")
            .ansible(&["insertafter"]),
        Arg::str("insertbefore")
            .doc("`BOF` or a regex: a new block goes before its last match")
            .ansible(&["insertbefore"]),
        Arg::bool("create")
            .default("false")
            .doc("create a missing file")
            .ansible(&["create"]),
        Arg::one_of("state", &["present", "absent"])
            .doc("`absent` removes the block and its markers")
            .default("present")
            .ansible(&["state"]),
        Arg::str("validate")
            .doc("a command run on the candidate file (`%s`) before the rename")
            .ansible(&["validate"]),
        Arg::bool("append_newline")
            .default("false")
            .doc("a blank line after the block when the next line is not blank")
            .ansible(&["append_newline"]),
        Arg::bool("prepend_newline")
            .default("false")
            .doc("a blank line before the block when the previous line is not blank")
            .ansible(&["prepend_newline"]),
    ],
    super::args::ATTRS,
];

/// Where a block goes when its markers are not in the file yet.
#[derive(Debug, Clone)]
pub(crate) enum Insert {
    /// At the end (`insertafter: EOF`, the default).
    Eof,
    /// At the start (`insertbefore: BOF`).
    Bof,
    /// After the last line matching (or, with a `(?m)` pattern, the first match in the file).
    After(Pattern),
    /// Before it.
    Before(Pattern),
}

/// An `insertafter`/`insertbefore` regex, with whether Python would search the whole file
/// (`re.MULTILINE` set by a leading `(?m)`) instead of each line.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    regex: Regex,
    whole_file: bool,
}

/// A managed block.
#[derive(Debug, Clone)]
#[allow(clippy::struct_field_names)] // `block.block` is the word Ansible users write
pub(crate) struct Block {
    pub(crate) path: String,
    /// The block's text as given (a final newline is added when missing, as Ansible does).
    pub(crate) block: String,
    /// The first marker line, with its newline.
    pub(crate) begin: String,
    /// The last marker line, with its newline.
    pub(crate) end: String,
    pub(crate) insert: Insert,
    /// Create the file when it does not exist (else that is a problem, as in Ansible).
    pub(crate) create: bool,
    pub(crate) present: bool,
    pub(crate) attrs: Attrs,
    /// A check run on the candidate file (`%s`) before it replaces the live one.
    pub(crate) validate: Option<String>,
    pub(crate) append_newline: bool,
    pub(crate) prepend_newline: bool,
    pub(crate) sensitive: Sensitivity,
}

/// Builds a `block` from its arguments.
pub(super) fn build(args: &Node, cx: &BuildContext<'_>) -> Result<Block> {
    let f = Fields::declared(args, "`block`", ARGS)?;
    let present = state(&f, &["present", "absent"])? == "present";
    let block = f.text("block")?;
    let marker = one_line(&f, "marker")?.unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".into());
    let mark = |key: &str, default: &str| -> Result<String> {
        let text = one_line(&f, key)?.unwrap_or_else(|| default.to_owned());
        // Ansible substitutes with `re.sub`, which would read a backslash as an escape.
        if text.contains('\\') {
            return Err(Error::invalid(
                format!(
                    "`{key}` must not contain a backslash (Ansible reads it as a regex escape)"
                ),
                &f.require(key)?.span,
            )
            .with_label("backslash here"));
        }
        Ok(format!("{}\n", marker.replace("{mark}", &text)))
    };
    let (begin, end) = (mark("marker_begin", "BEGIN")?, mark("marker_end", "END")?);
    let insert = match (f.get("insertafter"), f.get("insertbefore")) {
        (Some(_), Some(second)) => {
            return Err(Error::invalid(
                "`insertafter` and `insertbefore` are mutually exclusive",
                &second.span,
            )
            .with_label("second position"))
        }
        (Some(node), None) => match f.required_string("insertafter")?.as_str() {
            "EOF" => Insert::Eof,
            text => Insert::After(pattern(text, node)?),
        },
        (None, Some(node)) => match f.required_string("insertbefore")?.as_str() {
            "BOF" => Insert::Bof,
            text => Insert::Before(pattern(text, node)?),
        },
        (None, None) => Insert::Eof,
    };
    let validate = super::args::validate(&f)?;
    let sensitive = Sensitivity::of(block.as_bytes(), cx.sensitive, cx.vars.used_secret());
    Ok(Block {
        path: path(&f, "path")?,
        block,
        begin,
        end,
        insert,
        create: f.flag("create")?,
        present,
        attrs: Attrs::read(&f)?,
        validate,
        append_newline: f.flag("append_newline")?,
        prepend_newline: f.flag("prepend_newline")?,
        sensitive,
    })
}

/// A marker argument: one line, since a marker is matched against one line of the file.
fn one_line(f: &Fields<'_>, key: &str) -> Result<Option<String>> {
    let Some(text) = f.string(key)? else {
        return Ok(None);
    };
    if text.contains(['\n', '\r']) {
        return Err(Error::invalid(
            format!("`{key}` must be one line: it is matched against one line of the file"),
            &f.require(key)?.span,
        )
        .with_label("line break in here"));
    }
    Ok(Some(text))
}

/// An insertion regex; `(?m)` at its start makes Python search the whole file at once.
fn pattern(text: &str, node: &Node) -> Result<Pattern> {
    compile(text).map_err(|e| {
        Error::invalid(format!("invalid regex: {e}"), &node.span).with_label("this regex")
    })
}

/// `pattern` without the location.
fn compile(text: &str) -> std::result::Result<Pattern, regex::Error> {
    let regex = Regex::new(text)?;
    let whole_file = text
        .strip_prefix("(?")
        .and_then(|rest| rest.split_once(')'))
        .is_some_and(|(flags, _)| {
            flags.chars().all(|c| "aiLmsux".contains(c)) && flags.contains('m')
        });
    Ok(Pattern { regex, whole_file })
}

/// Python's `bytes.splitlines(keepends=True)`: lines end at `\n`, `\r\n` or `\r`, each kept.
pub(crate) fn split_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let end = match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => i + 2,
            b'\n' | b'\r' => i + 1,
            _ => {
                i += 1;
                continue;
            }
        };
        out.push(text[start..end].to_owned());
        start = end;
        i = end;
    }
    if start < text.len() {
        out.push(text[start..].to_owned());
    }
    out
}

impl Pattern {
    /// Python's `re.search` on one line with its terminator: `$` also matches just before a
    /// final `\n`, which Rust's `$` does not, so the line without that `\n` is tried too.
    fn matches_line(&self, line: &str) -> bool {
        self.regex.is_match(line)
            || line
                .strip_suffix('\n')
                .is_some_and(|bare| self.regex.is_match(bare))
    }
}

impl Block {
    /// The file's content after the edit, from its content before (`None`: no file), following
    /// `blockinfile.py` step by step.
    pub(crate) fn edit(&self, original: Option<&str>) -> String {
        let mut lines = original.map(split_lines).unwrap_or_default();
        let blocklines = if self.present && !self.block.is_empty() {
            let mut block = self.block.clone();
            if !block.ends_with('\n') {
                block.push('\n');
            }
            let mut out = vec![self.begin.clone()];
            out.extend(split_lines(&block));
            out.push(self.end.clone());
            out
        } else {
            Vec::new()
        };
        let n0 = lines.iter().rposition(|l| *l == self.begin);
        let n1 = lines.iter().rposition(|l| *l == self.end);
        let mut at = match (n0, n1) {
            (Some(a), Some(b)) => {
                let (from, to) = if a < b { (a, b) } else { (b, a) };
                lines.drain(from..=to);
                from
            }
            _ => self.insertion_point(&lines, original.unwrap_or_default()),
        };
        if at > 0 && !lines[at - 1].ends_with('\n') {
            lines[at - 1].push('\n');
        }
        if self.prepend_newline && self.present && at != 0 && lines[at - 1] != "\n" {
            lines.insert(at, "\n".to_owned());
            at += 1;
        }
        let count = blocklines.len();
        lines.splice(at..at, blocklines);
        let after = at + count;
        if self.append_newline && self.present && after < lines.len() && lines[after] != "\n" {
            lines.insert(after, "\n".to_owned());
        }
        lines.concat()
    }

    /// Where the block goes when its markers are not both in the file.
    fn insertion_point(&self, lines: &[String], original: &str) -> usize {
        let (pattern, after) = match &self.insert {
            Insert::Eof => return lines.len(),
            Insert::Bof => return 0,
            Insert::After(pattern) => (pattern, true),
            Insert::Before(pattern) => (pattern, false),
        };
        let found = if pattern.whole_file {
            pattern.regex.find(original).map(|m| {
                let upto = if after { m.end() } else { m.start() };
                original[..upto].matches('\n').count()
            })
        } else {
            lines.iter().rposition(|l| pattern.matches_line(l))
        };
        match found {
            None => lines.len(),
            Some(i) if after => i + 1,
            Some(i) => i,
        }
    }

    /// The new content from the file's state, `None` when there is nothing to write.
    fn planned(&self, state: &PathState) -> Result<Option<String>, Problem> {
        match state.kind {
            PathKind::Absent if !self.create => Err(Problem(format!(
                "`{}` does not exist (Ansible's blockinfile fails here too; set `create: true` to create it)",
                self.path
            ))),
            PathKind::Absent if !self.present => Ok(None),
            // Ansible creates the file even when the result is empty.
            PathKind::Absent => Ok(Some(self.edit(None))),
            PathKind::File => {
                let text = current_text(&self.path, state)?;
                let new = self.edit(Some(text));
                Ok((new != text).then_some(new))
            }
            other => Err(Problem(format!(
                "`{}` exists and is {}, not a regular file",
                self.path,
                other.describe()
            ))),
        }
    }

    /// The id's marker: the first marker line without its newline.
    fn begin_line(&self) -> &str {
        self.begin.strip_suffix('\n').unwrap_or(&self.begin)
    }
}

/// What the apply does.
#[derive(Debug)]
pub(crate) struct Decision {
    /// The new bytes with their final mode; `None`: only attributes change.
    write: Option<(String, u32)>,
    /// The file is created: its folder may have to be made first, as Ansible does.
    creates: bool,
    /// The file as it was, for the prediction of the next edit of the same file.
    before: PathState,
}

/// A content's size, with a short hash when it is sensitive.
fn describe(bytes: &[u8], sensitive: Sensitivity) -> String {
    if sensitive == Sensitivity::Public {
        format!("{} bytes", bytes.len())
    } else {
        let sha = sha256_hex(bytes);
        format!(
            "{} bytes, sensitive, sha256 {}",
            bytes.len(),
            sha.get(..12).unwrap_or(&sha)
        )
    }
}

impl Resource for Block {
    type Asked = Handle<PathState>;
    type Decision = Decision;

    fn id(&self) -> String {
        format!("{}: {}", self.path, self.begin_line())
    }

    fn claims(&self) -> Vec<Claim> {
        // Several blocks and `line`s may edit one file; the graph chains them in file order.
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
        super::refuse_unsafe(&self.path, state)?;
        let new = self.planned(state)?;
        let exists = state.kind == PathKind::File;
        let mut change = Change::new(if exists {
            Action::Update
        } else {
            Action::Create
        });
        if let Some(new) = &new {
            let old = state.content.clone().unwrap_or_default();
            change = change.field(
                Field::CONTENT,
                exists.then(|| describe(&old, self.sensitive)),
                Some(describe(new.as_bytes(), self.sensitive)),
            );
            let diff = text_diff(&old, new.as_bytes());
            change.diff = match self.sensitive {
                Sensitivity::Public => diff,
                Sensitivity::Masked => diff.map(|d| crate::secret::scrub(&d).into_owned()),
                Sensitivity::Hidden => None,
            };
        }
        change = if exists {
            self.attrs.diff(state, change)
        } else {
            self.attrs.create(0o644, change)
        };
        if new.is_none() && change.fields.is_empty() {
            return Ok(None);
        }
        let mode = self
            .attrs
            .mode
            .or(exists.then_some(state.mode))
            .unwrap_or(0o644);
        Ok(Some((
            change,
            Decision {
                write: new.map(|n| (n, mode)),
                creates: !exists,
                before: state.clone(),
            },
        )))
    }

    fn script(&self, decision: &Decision, out: &mut Script) {
        let Some((content, mode)) = &decision.write else {
            self.attrs.apply_script(&self.path, out);
            return;
        };
        if decision.creates {
            if let Some(parent) = parent_dirs(&self.path).first() {
                out.fill("_mkdir 0755 {} || exit 1\n", [p(parent)]);
            }
        }
        out.fill("_put {}", [p(&self.path)]);
        self.attrs.shell_args(Some(*mode), out);
        if let Some(validate) = &self.validate {
            out.fill(" {}", [w(&validate.replace("%s", "\"$1\""))]);
        }
        out.base64_heredoc(content.as_bytes())
            .code("[ $? -eq 0 ] || exit 1\n");
    }

    fn predict(&self, decision: &Decision, set: &FactSet, facts: &mut Facts) {
        let Some((content, mode)) = &decision.write else {
            return;
        };
        facts.predict_path(set, &self.path, &written(&decision.before, content, *mode));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::{decide, script_of};

    fn block(text: &str, insert: Insert) -> Block {
        Block {
            path: "/etc/x".into(),
            block: text.into(),
            begin: "# BEGIN ANSIBLE MANAGED BLOCK\n".into(),
            end: "# END ANSIBLE MANAGED BLOCK\n".into(),
            insert,
            create: true,
            present: true,
            attrs: Attrs::default(),
            validate: None,
            append_newline: false,
            prepend_newline: false,
            sensitive: Sensitivity::Public,
        }
    }

    fn re(text: &str) -> Pattern {
        compile(text).expect("regex")
    }

    const B: &str = "# BEGIN ANSIBLE MANAGED BLOCK\n";
    const E: &str = "# END ANSIBLE MANAGED BLOCK\n";

    #[test]
    fn lines_split_as_python_bytes_do() {
        assert_eq!(split_lines("a\nb\r\nc\rd"), ["a\n", "b\r\n", "c\r", "d"]);
        assert_eq!(split_lines(""), Vec::<String>::new());
        assert_eq!(split_lines("\n\n"), ["\n", "\n"]);
    }

    #[test]
    fn appended_at_eof_with_a_newline_added_before_and_after() {
        let b = block("x=1", Insert::Eof);
        assert_eq!(b.edit(Some("a")), format!("a\n{B}x=1\n{E}"));
        assert_eq!(b.edit(None), format!("{B}x=1\n{E}"));
        let done = b.edit(Some("a"));
        assert_eq!(b.edit(Some(&done)), done, "converged");
    }

    #[test]
    fn replaced_in_place_wherever_the_markers_are() {
        let b = block("new\n", Insert::Bof);
        let file = format!("a\n{B}old\nold2\n{E}z\n");
        assert_eq!(b.edit(Some(&file)), format!("a\n{B}new\n{E}z\n"));
        // Markers in the wrong order: the span between them is replaced at the end marker.
        let swapped = format!("a\n{E}mid\n{B}z\n");
        assert_eq!(b.edit(Some(&swapped)), format!("a\n{B}new\n{E}z\n"));
        // Only one marker: a new block is inserted, the stray marker stays.
        let half = format!("a\n{B}z\n");
        assert_eq!(b.edit(Some(&half)), format!("{B}new\n{E}a\n{B}z\n"));
        // A marker without its newline at EOF is not a marker.
        let cut = format!("{B}x\n{}", E.trim_end());
        assert_eq!(
            b.edit(Some(&cut)),
            format!("{B}new\n{E}{B}x\n{}", E.trim_end())
        );
    }

    #[test]
    fn insertafter_and_insertbefore_a_regex_use_the_last_matching_line() {
        let file = "a\nport=1\nb\nport=2\nc\n";
        let after = block("x", Insert::After(re("^port=")));
        assert_eq!(
            after.edit(Some(file)),
            format!("a\nport=1\nb\nport=2\n{B}x\n{E}c\n")
        );
        let before = block("x", Insert::Before(re("^port=")));
        assert_eq!(
            before.edit(Some(file)),
            format!("a\nport=1\nb\n{B}x\n{E}port=2\nc\n")
        );
        // `$` matches before the line's newline, as in Python.
        let dollar = block("x", Insert::After(re("^b$")));
        assert_eq!(
            dollar.edit(Some(file)),
            format!("a\nport=1\nb\n{B}x\n{E}port=2\nc\n")
        );
        // No match: EOF, for both.
        let none = block("x", Insert::Before(re("^nothing")));
        assert_eq!(none.edit(Some("a\n")), format!("a\n{B}x\n{E}"));
        // `(?m)`: the first match in the whole file.
        let whole = block("x", Insert::After(re("(?m)^port=")));
        assert_eq!(
            whole.edit(Some(file)),
            format!("a\nport=1\n{B}x\n{E}b\nport=2\nc\n")
        );
    }

    #[test]
    fn an_empty_block_or_absent_removes_the_block_and_only_that() {
        let file = format!("a\n{B}x\n{E}b\n");
        assert_eq!(block("", Insert::Eof).edit(Some(&file)), "a\nb\n");
        let mut gone = block("x", Insert::Eof);
        gone.present = false;
        assert_eq!(gone.edit(Some(&file)), "a\nb\n");
        assert_eq!(gone.edit(Some("a\n")), "a\n");
        // Ansible's quirk: a missing final newline is added even when nothing is removed.
        assert_eq!(gone.edit(Some("a")), "a\n");
    }

    #[test]
    fn blank_lines_around_on_request() {
        let mut b = block("x", Insert::After(re("^a")));
        b.prepend_newline = true;
        b.append_newline = true;
        assert_eq!(b.edit(Some("a\nb\n")), format!("a\n\n{B}x\n{E}\nb\n"));
        let done = b.edit(Some("a\nb\n"));
        assert_eq!(b.edit(Some(&done)), done);
        // Not at the start or end of the file.
        let mut bof = block("x", Insert::Bof);
        bof.prepend_newline = true;
        assert_eq!(bof.edit(Some("a\n")), format!("{B}x\n{E}a\n"));
    }

    #[test]
    fn plans_an_exact_diff_and_refuses_a_missing_file_without_create() {
        let on_host = |text: &str| {
            FactValue::Path(PathState {
                kind: PathKind::File,
                mode: 0o600,
                size: text.len() as u64,
                content: Some(text.as_bytes().to_vec()),
                ..PathState::default()
            })
        };
        let b = block("x", Insert::Eof);
        let (change, decision) = decide(&b, vec![on_host("a\n")])
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Update);
        assert_eq!(
            change.diff.as_deref(),
            Some(&*format!("@@ -1 +1,4 @@\n a\n+{B}+x\n+{E}"))
        );
        assert!(matches!(decision.write, Some((_, 0o600))), "mode is kept");
        let done = b.edit(Some("a\n"));
        assert!(decide(&b, vec![on_host(&done)]).expect("ok").is_none());

        let mut strict = block("x", Insert::Eof);
        strict.create = false;
        let absent = FactValue::Path(PathState::default());
        let problem = decide(&strict, vec![absent.clone()]).expect_err("no file");
        assert!(problem.0.contains("create: true"), "{problem}");
        // Created, empty block or not, with its folder.
        let (change, decision) = decide(&block("", Insert::Eof), vec![absent])
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Create);
        let script = script_of(&block("", Insert::Eof), &decision);
        assert!(script.as_str().contains("_mkdir 0755 '/etc'"), "{script:?}");
    }

    #[test]
    fn a_sensitive_block_shows_no_clear_text() {
        let mut b = block("password=S3cret-blk", Insert::Eof);
        b.sensitive = Sensitivity::Hidden;
        let (change, _) = decide(&b, vec![FactValue::Path(PathState::default())])
            .expect("ok")
            .expect("change");
        assert_eq!(change.diff, None);
        let after = change.fields[0].after.clone().unwrap_or_default();
        assert!(after.contains("sensitive, sha256"), "{after}");
    }
}
