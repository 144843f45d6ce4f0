//! `a | to_datetime - b | to_datetime`: minijinja's `-` only subtracts numbers, so before a
//! template or expression is compiled, each subtraction with a `to_datetime` call in an operand
//! is rewritten to a call of the datetime subtraction (`datetime::SUB`), which gives Python's
//! timedelta. Text without `to_datetime` is left as it is (and so are its error locations).

use std::borrow::Cow;

use minijinja::machinery::ast::{CallArg, Expr, Stmt};
use minijinja::machinery::{parse, parse_expr, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;

use super::datetime::SUB;

/// The names `to_datetime` is called by.
const NAMES: [&str; 2] = ["to_datetime", "ansible.builtin.to_datetime"];

/// A template's text with its datetime subtractions rewritten (unchanged when there are none
/// or it does not parse: compiling it reports the error where the author wrote it).
pub(super) fn rewrite(source: &str) -> Cow<'_, str> {
    if !source.contains("to_datetime") {
        return Cow::Borrowed(source);
    }
    let Ok(ast) = parse(
        source,
        "<template>",
        SyntaxConfig,
        WhitespaceConfig::default(),
    ) else {
        return Cow::Borrowed(source);
    };
    let mut found = Vec::new();
    stmt(&ast, &mut found);
    apply(source, found)
}

/// An expression's text with its datetime subtractions rewritten (see `rewrite`).
pub(super) fn rewrite_expr(source: &str) -> Cow<'_, str> {
    if !source.contains("to_datetime") {
        return Cow::Borrowed(source);
    }
    let Ok(ast) = parse_expr(source) else {
        return Cow::Borrowed(source);
    };
    let mut found = Vec::new();
    expr(&ast, &mut found);
    apply(source, found)
}

/// One subtraction to rewrite: its byte range and where its left operand ends.
struct Sub {
    start: usize,
    left_end: usize,
    end: usize,
}

/// The source with each subtraction (outermost first, none overlapping) written as a call.
fn apply(source: &str, mut found: Vec<Sub>) -> Cow<'_, str> {
    if found.is_empty() {
        return Cow::Borrowed(source);
    }
    found.sort_by_key(|s| s.start);
    let (mut out, mut at) = (String::with_capacity(source.len() + 32), 0);
    for sub in found {
        let Some(op) = operator(source, sub.left_end, sub.end) else {
            continue;
        };
        if sub.start < at {
            continue;
        }
        out.push_str(&source[at..sub.start]);
        out.push_str(SUB);
        out.push('(');
        out.push_str(source[sub.start..op].trim_end());
        out.push_str(", ");
        out.push_str(source[op + 1..sub.end].trim_start());
        out.push(')');
        at = sub.end;
    }
    out.push_str(&source[at..]);
    Cow::Owned(out)
}

/// Where the `-` is: after the left operand only spaces and the closing parentheses of a
/// parenthesized operand stand before it.
fn operator(source: &str, left_end: usize, end: usize) -> Option<usize> {
    let between = source.get(left_end..end)?;
    let skip = between.find(|c: char| !c.is_whitespace() && c != ')')?;
    between[skip..].starts_with('-').then_some(left_end + skip)
}

/// Collects the datetime subtractions in a statement and the statements it holds.
fn stmt(s: &Stmt<'_>, found: &mut Vec<Sub>) {
    let all = |body: &[Stmt<'_>], found: &mut Vec<Sub>| body.iter().for_each(|s| stmt(s, found));
    match s {
        Stmt::Template(t) => all(&t.children, found),
        Stmt::EmitExpr(e) => expr(&e.expr, found),
        Stmt::ForLoop(f) => {
            expr(&f.iter, found);
            if let Some(e) = &f.filter_expr {
                expr(e, found);
            }
            all(&f.body, found);
            all(&f.else_body, found);
        }
        Stmt::IfCond(c) => {
            expr(&c.expr, found);
            all(&c.true_body, found);
            all(&c.false_body, found);
        }
        Stmt::WithBlock(w) => {
            w.assignments.iter().for_each(|(_, e)| expr(e, found));
            all(&w.body, found);
        }
        Stmt::Set(set) => expr(&set.expr, found),
        Stmt::SetBlock(set) => all(&set.body, found),
        Stmt::AutoEscape(a) => all(&a.body, found),
        Stmt::FilterBlock(f) => all(&f.body, found),
        Stmt::Block(b) => all(&b.body, found),
        Stmt::Macro(m) => all(&m.body, found),
        Stmt::CallBlock(c) => all(&c.macro_decl.body, found),
        _ => {}
    }
}

/// Collects the datetime subtractions in an expression (the outermost of nested ones).
fn expr(e: &Expr<'_>, found: &mut Vec<Sub>) {
    use minijinja::machinery::ast::BinOpKind;
    match e {
        Expr::BinOp(b) if matches!(b.op, BinOpKind::Sub) && (dated(&b.left) || dated(&b.right)) => {
            let span = b.span();
            found.push(Sub {
                start: span.start_offset as usize,
                left_end: end_of(&b.left),
                end: span.end_offset as usize,
            });
        }
        Expr::BinOp(b) => {
            expr(&b.left, found);
            expr(&b.right, found);
        }
        Expr::UnaryOp(u) => expr(&u.expr, found),
        Expr::Slice(s) => expr(&s.expr, found),
        Expr::Compare(c) => {
            expr(&c.expr, found);
            c.ops.iter().for_each(|op| expr(&op.expr, found));
        }
        Expr::IfExpr(i) => {
            expr(&i.test_expr, found);
            expr(&i.true_expr, found);
            if let Some(f) = &i.false_expr {
                expr(f, found);
            }
        }
        Expr::Filter(f) => {
            if let Some(inner) = &f.expr {
                expr(inner, found);
            }
            args(&f.args, found);
        }
        Expr::Test(t) => {
            expr(&t.expr, found);
            args(&t.args, found);
        }
        Expr::GetAttr(g) => expr(&g.expr, found),
        Expr::GetItem(g) => {
            expr(&g.expr, found);
            expr(&g.subscript_expr, found);
        }
        Expr::Call(c) => {
            expr(&c.expr, found);
            args(&c.args, found);
        }
        Expr::List(l) => l.items.iter().for_each(|i| expr(i, found)),
        Expr::Map(m) => m.values.iter().for_each(|v| expr(v, found)),
        Expr::Var(_) | Expr::Const(_) => {}
    }
}

/// Collects the datetime subtractions in call arguments.
fn args(args: &[CallArg<'_>], found: &mut Vec<Sub>) {
    for arg in args {
        match arg {
            CallArg::Pos(e)
            | CallArg::Kwarg(_, e)
            | CallArg::PosSplat(e)
            | CallArg::KwargSplat(e) => {
                expr(e, found);
            }
        }
    }
}

/// Whether an operand's value comes from `to_datetime` (a datetime, or a subtraction of them).
fn dated(e: &Expr<'_>) -> bool {
    match e {
        Expr::Filter(f) => NAMES.contains(&f.name),
        Expr::BinOp(b) => dated(&b.left) || dated(&b.right),
        _ => false,
    }
}

/// The byte offset where an expression's own text ends.
fn end_of(e: &Expr<'_>) -> usize {
    let span = match e {
        Expr::Var(s) => s.span(),
        Expr::Const(s) => s.span(),
        Expr::Slice(s) => s.span(),
        Expr::UnaryOp(s) => s.span(),
        Expr::BinOp(s) => s.span(),
        Expr::Compare(s) => s.span(),
        Expr::IfExpr(s) => s.span(),
        Expr::Filter(s) => s.span(),
        Expr::Test(s) => s.span(),
        Expr::GetAttr(s) => s.span(),
        Expr::GetItem(s) => s.span(),
        Expr::Call(s) => s.span(),
        Expr::List(s) => s.span(),
        Expr::Map(s) => s.span(),
    };
    span.end_offset as usize
}

#[cfg(test)]
mod tests {
    use super::{rewrite, rewrite_expr};

    #[test]
    fn only_datetime_subtractions_become_calls() {
        assert_eq!(rewrite("{{ 3 - 1 }}"), "{{ 3 - 1 }}");
        assert_eq!(
            rewrite("{{ (a | to_datetime - b | to_datetime('%Y')).days }}"),
            "{{ (__recon_datetime_sub(a | to_datetime, b | to_datetime('%Y'))).days }}"
        );
        assert_eq!(
            rewrite_expr("((a | to_datetime) - (b | to_datetime)).days > 3 - 1"),
            "(__recon_datetime_sub((a | to_datetime), (b | to_datetime))).days > 3 - 1"
        );
        assert_eq!(
            rewrite("{% if x %}{% set d = a|to_datetime - b|to_datetime %}{% endif %}"),
            "{% if x %}{% set d = __recon_datetime_sub(a|to_datetime, b|to_datetime) %}{% endif %}"
        );
        assert_eq!(
            rewrite("{{ a | to_datetime - }}"),
            "{{ a | to_datetime - }}"
        );
    }

    /// Through recon's own rendering: a scalar, a text, a `when:` condition.
    #[test]
    fn playbook_values_subtract_datetimes() {
        let (templar, ctx, node) = crate::template::tests::ctx(
            "a: '2024-03-05 00:00:00'\nb: '2024-03-01 12:00:00'\n\
             days: \"{{ (a | to_datetime - b | to_datetime).days }}\"\n\
             text: \"took {{ a | to_datetime - b | to_datetime }}\"\n\
             old: \"(a | to_datetime - b | to_datetime).total_seconds() > 3600\"\n",
        );
        let get = |k: &str| node.get(k).expect("key");
        assert_eq!(
            templar.render_string(get("days"), &ctx).expect("render"),
            "3"
        );
        assert_eq!(
            templar.render_string(get("text"), &ctx).expect("render"),
            "took 3 days, 12:00:00"
        );
        assert!(templar.condition(get("old"), &ctx).expect("condition"));
    }
}
