//! Load-time template checks. minijinja looks filters and tests up only when it runs them, so a
//! typo in a variable no task uses, or in a branch not taken, would pass `check` and fail on some
//! later deploy. Compiling every template string once and looking at the filter and test names in
//! the compiled instructions finds them at `check`, located, with a suggestion.

use std::sync::Arc;

use minijinja::machinery::{get_compiled_template, Instruction, Instructions};
use minijinja::ErrorKind as JErrorKind;

use super::{file_error, scalar_error, Templar};
use crate::error::{suggestion, Error, ErrorKind, Result};
use crate::source::{SourceFile, Span};
use crate::yaml::{Node, Value};

/// Filters and tests minijinja always has: candidates for "did you mean".
pub(super) const KNOWN: &[&str] = &[
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "secret",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "urlencode",
    "zip",
    "defined",
    "undefined",
    "none",
    "true",
    "false",
    "odd",
    "even",
    "divisibleby",
    "number",
    "integer",
    "sequence",
    "iterable",
    "mapping",
    "startingwith",
    "endingwith",
    "in",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "equalto",
    "lessthan",
    "greaterthan",
    "sameas",
    "filter",
    "test",
    "boolean",
    "escaped",
];

/// A filter or a test, as minijinja names them in its errors.
#[derive(Clone, Copy)]
enum Callee {
    Filter,
    Test,
}

impl Templar {
    /// Checks every string leaf of `node` that holds a template: syntax, filter and test names.
    pub(crate) fn lint_node(&self, node: &Node) -> Result<()> {
        match &node.value {
            Value::Scalar { text, .. } if Self::has_template(text) => {
                self.lint_text(text, |e| scalar_error(e, node, text), &node.span)
            }
            Value::Scalar { .. } => Ok(()),
            Value::Seq(items) => items.iter().try_for_each(|n| self.lint_node(n)),
            Value::Map(entries) => entries.iter().try_for_each(|(_, v)| self.lint_node(v)),
        }
    }

    /// Checks a `when:` condition: a bare expression (or one `{{ expr }}`), as in Ansible.
    pub(crate) fn lint_condition(&self, node: &Node) -> Result<()> {
        let Some(text) = node.scalar_text() else {
            return Ok(());
        };
        if Self::has_template(text) || text.trim().is_empty() {
            return self.lint_node(node);
        }
        if node
            .resolve()
            .is_some_and(|r| matches!(r, crate::yaml::Resolved::Bool(_)))
        {
            return Ok(());
        }
        let wrapped = format!("{{{{ {text} }}}}");
        self.lint_text(&wrapped, |e| scalar_error(e, node, text), &node.span)
    }

    /// Checks a template file; errors point into the file.
    pub(crate) fn lint_file(&self, file: &Arc<SourceFile>) -> Result<()> {
        let whole = Span {
            file: Arc::clone(file),
            start: 0,
            end: file.text.len(),
        };
        self.lint_text(&file.text, |e| file_error(e, file), &whole)
    }

    fn lint_text(
        &self,
        text: &str,
        syntax_error: impl FnOnce(&minijinja::Error) -> Error,
        span: &Span,
    ) -> Result<()> {
        let template = self
            .env
            .template_from_str(text)
            .map_err(|e| syntax_error(&e))?;
        let compiled = get_compiled_template(&template);
        let blocks = std::iter::once(&compiled.instructions).chain(compiled.blocks.values());
        for instructions in blocks {
            for (name, callee) in callees(instructions) {
                if !self.knows(name, callee) {
                    return Err(unknown(name, callee, span));
                }
            }
        }
        Ok(())
    }

    /// Whether the environment has this filter or test: calling it on `none` fails with
    /// "unknown filter/test" only when it does not exist (any other outcome means it does).
    fn knows(&self, name: &str, callee: Callee) -> bool {
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return false;
        }
        let expr = match callee {
            Callee::Filter => format!("none | {name}"),
            Callee::Test => format!("none is {name}"),
        };
        let result = self
            .env
            .compile_expression(&expr)
            .and_then(|e| e.eval(minijinja::Value::UNDEFINED));
        !matches!(
            result.map_err(|e| e.kind()),
            Err(JErrorKind::UnknownFilter | JErrorKind::UnknownTest)
        )
    }
}

/// The filters and tests one instruction list applies.
fn callees<'a>(instructions: &'a Instructions<'a>) -> impl Iterator<Item = (&'a str, Callee)> {
    (0..u32::try_from(instructions.len()).unwrap_or(u32::MAX)).filter_map(move |idx| {
        match instructions.get(idx)? {
            Instruction::ApplyFilter(name, ..) => Some((*name, Callee::Filter)),
            Instruction::PerformTest(name, ..) => Some((*name, Callee::Test)),
            _ => None,
        }
    })
}

/// "unknown filter `uper`", pointing at the name where it can be found in the source.
fn unknown(name: &str, callee: Callee, span: &Span) -> Error {
    let what = match callee {
        Callee::Filter => "filter",
        Callee::Test => "test",
    };
    let source = span
        .file
        .text
        .get(span.start..span.end.min(span.file.text.len()))
        .unwrap_or_default();
    let at = find_word(source, name)
        .map_or_else(|| span.clone(), |pos| span.narrow(pos, pos + name.len()));
    let error = Error::at(
        ErrorKind::Template {
            message: format!("unknown {what} `{name}`"),
        },
        &at,
    )
    .with_label(format!("no {what} of this name"));
    match suggestion(name, KNOWN.iter().copied()) {
        Some(s) => error.with_help(format!("did you mean `{s}`?")),
        None => error,
    }
}

/// The first occurrence of `word` in `text` that is a whole identifier.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(yaml: &str) -> Node {
        let file = SourceFile::new("t.yml", yaml);
        crate::yaml::parse(&file).expect("yaml")
    }

    #[test]
    fn unknown_filter_in_any_string_is_found_and_located() {
        let templar = Templar::new();
        let doc = node("a: ok\nb: \"{{ x | uper }}\"\n");
        let err = templar.lint_node(&doc).expect_err("unknown filter");
        assert_eq!(err.to_string(), "unknown filter `uper`");
        let span = err.span().expect("located");
        assert_eq!(&span.file.text[span.start..span.end], "uper");
    }

    #[test]
    fn known_filters_and_tests_pass_and_unknown_tests_fail() {
        let templar = Templar::new();
        templar
            .lint_node(&node(
                "a: \"{{ x | default('y') | upper }}{% if x is defined %}{% endif %}\"\n",
            ))
            .expect("builtin filters and tests");
        templar
            .lint_condition(&node("x is sameas none and y | length > 0\n"))
            .expect("a bare condition");
        let err = templar
            .lint_condition(&node("x is definedd\n"))
            .expect_err("unknown test");
        assert_eq!(err.to_string(), "unknown test `definedd`");
    }

    #[test]
    fn filters_inside_blocks_and_untaken_branches_count() {
        let templar = Templar::new();
        let file = SourceFile::new("t.j2", "{% if false %}{{ x | nope }}{% endif %}\n");
        let err = templar.lint_file(&file).expect_err("untaken branch");
        assert_eq!(err.to_string(), "unknown filter `nope`");
    }
}
