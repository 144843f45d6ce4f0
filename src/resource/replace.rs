//! `replace: { path, regexp, replace, after, before, mode }`: every match of a pattern in a file
//! replaced, as Ansible's `replace` module does (Python's `re.subn` with MULTILINE, within the
//! part of the file between `after` and `before` when they are given). The new content is
//! computed here, so the plan shows the exact diff; a file without a match is left alone.

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

/// A pattern replaced in a file.
#[derive(Debug, Clone)]
pub(crate) struct Replace {
    pub(crate) path: String,
    pub(crate) regexp: Regex,
    /// The replacement in the `regex` crate's syntax (`${1}`), from Python's (`\1`, `\g<1>`).
    pub(crate) with: String,
    /// The part of the file to edit, as Ansible builds it from `after` and `before`.
    pub(crate) section: Option<Regex>,
    pub(crate) mode: Option<u32>,
}

/// The arguments of `replace`.
pub(super) const ARGS: Groups = &[&[
    Arg::path("path")
        .required()
        .doc("the file")
        .ansible(&["path", "dest", "destfile", "name"]),
    Arg::str("regexp")
        .required()
        .doc("what to replace (Rust regex syntax, multiline)")
        .ansible(&["regexp"]),
    Arg::str("replace")
        .default("")
        .doc("the replacement (Python's `\\1`, `\\g<1>`, `\\g<name>`)")
        .ansible(&["replace"]),
    Arg::str("after")
        .doc("a regex: only the text after its first match")
        .ansible(&["after"]),
    Arg::str("before")
        .doc("a regex: only the text before its last match")
        .ansible(&["before"]),
    Arg::mode("mode")
        .default_note("kept")
        .doc("octal mode, quoted")
        .ansible(&["mode"]),
]];

/// Builds a `replace` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Replace> {
    let f = Fields::declared(args, "`replace`", ARGS)?;
    let regex = |pattern: &str, node: &Node| {
        Regex::new(pattern).map_err(|e| {
            Error::invalid(format!("invalid regular expression: {e}"), &node.span)
                .with_label("here")
                .with_help("recon uses Rust's regex syntax: no look-around or backreferences")
        })
    };
    let regexp_node = f.require("regexp")?;
    let regexp = regex(
        &format!("(?m){}", f.required_string("regexp")?),
        regexp_node,
    )?;
    let after = f.string("after")?;
    let before = f.string("before")?;
    let section_text = match (&after, &before) {
        (Some(a), Some(b)) => Some(format!("(?s){a}(?P<subsection>.*?){b}")),
        (Some(a), None) => Some(format!("(?s){a}(?P<subsection>.*)")),
        (None, Some(b)) => Some(format!("(?s)(?P<subsection>.*){b}")),
        (None, None) => None,
    };
    let section = match section_text {
        Some(text) => {
            let at = f.get("after").or_else(|| f.get("before")).unwrap_or(args);
            Some(regex(&text, at)?)
        }
        None => None,
    };
    Ok(Replace {
        path: path(&f, "path")?,
        regexp,
        with: crate::template::python_replacement(&f.text("replace")?),
        section,
        mode: mode(&f, "mode")?,
    })
}

impl Replace {
    /// The file's new content, or `None` when no match changes it.
    fn new_content(&self, old: &str) -> Result<Option<String>, Problem> {
        let (start, end) = match &self.section {
            None => (0, old.len()),
            Some(section) => {
                let m = section
                    .captures(old)
                    .and_then(|c| c.name("subsection"))
                    .ok_or_else(|| {
                        Problem(format!(
                            "the `after`/`before` patterns do not match `{}` (Ansible fails here too)",
                            self.path
                        ))
                    })?;
                (m.start(), m.end())
            }
        };
        let part = &old[start..end];
        let replaced = self.regexp.replace_all(part, self.with.as_str());
        if replaced == part {
            return Ok(None);
        }
        Ok(Some(format!("{}{replaced}{}", &old[..start], &old[end..])))
    }

    fn planned(&self, state: &PathState) -> Result<Option<String>, Problem> {
        match state.kind {
            PathKind::File => self.new_content(current_text(&self.path, state)?),
            PathKind::Absent => Err(Problem(format!(
                "`{}` does not exist (Ansible's replace fails here too)",
                self.path
            ))),
            other => Err(Problem(format!(
                "`{}` exists and is {}, not a regular file",
                self.path,
                other.describe()
            ))),
        }
    }
}

impl Resource for Replace {
    type Asked = Handle<PathState>;
    type Decision = Rewrite;

    fn id(&self) -> String {
        format!(
            "{}: {}",
            self.path,
            self.regexp.as_str().trim_start_matches("(?m)")
        )
    }

    fn claims(&self) -> Vec<Claim> {
        // Edits of one file are chained in file order, like `line` and `block`.
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
        let rewrite = Rewrite::new(state, new, self.mode.unwrap_or(state.mode));
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

    fn replace(regexp: &str, with: &str, section: Option<&str>) -> Replace {
        Replace {
            path: "/etc/x".into(),
            regexp: Regex::new(&format!("(?m){regexp}")).expect("regex"),
            with: crate::template::python_replacement(with),
            section: section.map(|s| Regex::new(s).expect("section")),
            mode: None,
        }
    }

    #[test]
    fn every_match_is_replaced_with_python_group_references() {
        let r = replace(r"^(\w+)=old$", r"\1=new \g<1>$", None);
        assert_eq!(
            r.new_content("a=old\nb=keep\nc=old\n").expect("ok"),
            Some("a=new a$\nb=keep\nc=new c$\n".into())
        );
        assert_eq!(r.new_content("a=new\n").expect("ok"), None);
    }

    #[test]
    fn after_and_before_limit_the_section() {
        let r = replace("x", "y", Some(r"(?s)\[b\](?P<subsection>.*?)\[c\]"));
        assert_eq!(
            r.new_content("[a]\nx\n[b]\nx\n[c]\nx\n").expect("ok"),
            Some("[a]\nx\n[b]\ny\n[c]\nx\n".into())
        );
        assert!(replace("x", "y", Some(r"(?s)\[z\](?P<subsection>.*)"))
            .new_content("x")
            .is_err());
    }
}
