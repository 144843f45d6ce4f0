//! Jinja2's `indent`, which keeps the text's trailing newline (minijinja's drops it): roles
//! write `{{ x | to_nice_yaml | indent(2) }}` on a line of its own, and Ansible's output then
//! has a blank line after the block, so recon's must too. `width` may be a number of spaces or
//! the text to indent with, as in Jinja2 3.

// minijinja hands filters their arguments by value (`Kwargs`): that is its signature.
#![allow(clippy::needless_pass_by_value)]

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

/// Registers `indent` over minijinja's own.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("indent", indent);
}

/// `do_indent` of Jinja2 3.1: the text plus a newline, split into lines, each but the first
/// (and blank ones, unless `blank`) indented, joined again.
fn indent(
    text: String,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = match width {
        Some(w) => Some(w),
        None => kwargs.get::<Option<Value>>("width")?,
    };
    let first = first
        .or(kwargs.get::<Option<bool>>("first")?)
        .unwrap_or(false);
    let blank = blank
        .or(kwargs.get::<Option<bool>>("blank")?)
        .unwrap_or(false);
    kwargs.assert_all_used()?;
    let pad = match width {
        None => " ".repeat(4),
        Some(w) if w.kind() == ValueKind::Number => " ".repeat(usize::try_from(w).unwrap_or(0)),
        Some(w) => w.to_string(),
    };
    let text = format!("{text}\n");
    // Rust's `lines` splits as Python's `splitlines` does for `\n` and `\r\n`.
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            if blank || !line.is_empty() {
                out.push_str(&pad);
            }
        }
        out.push_str(line);
    }
    Ok(if first { format!("{pad}{out}") } else { out })
}

#[cfg(test)]
mod tests {
    fn render(expr: &str) -> String {
        let mut env = minijinja::Environment::new();
        super::register(&mut env);
        env.render_str(expr, ()).expect("render")
    }

    /// Each expectation is Jinja2 3.1.6's output for the same expression.
    #[test]
    fn indent_keeps_the_trailing_newline_as_jinja2_does() {
        assert_eq!(render("{{ 'a\\nb\\n' | indent(2) }}|"), "a\n  b\n|");
        assert_eq!(render("{{ 'a\\n\\nb' | indent(2, true) }}|"), "  a\n\n  b|");
        assert_eq!(
            render("{{ 'a\\n\\nb' | indent(2, blank=true) }}|"),
            "a\n  \n  b|"
        );
        assert_eq!(render("{{ 'a\\nb' | indent('> ') }}|"), "a\n> b|");
        assert_eq!(render("{{ 'a\\nb' | indent }}|"), "a\n    b|");
    }
}
