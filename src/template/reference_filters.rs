//! docs/reference.md's list of filters and tests is checked against the environment: a filter the
//! reference recommends must exist (it once listed `urlencode`, which did not), every filter and
//! test recon adds must be listed, the ones it says are missing must be missing, and the names
//! the linter takes as Jinja's own must really be registered.

use minijinja::ErrorKind as JErrorKind;

use super::extra_filters::{ALIASED_FILTERS, ALIASED_TESTS};
use super::lint::KNOWN;
use super::more_filters::BUILTIN;
use super::Templar;

const REFERENCE: &str = include_str!("../../docs/reference.md");
const START: &str = "**Filters and tests** beyond Jinja's:";
const LACKS: &str = "Filters recon lacks (";

/// Backticked identifiers of `text`; with `top_level`, only those outside parentheses (a
/// filter's options and examples are written in parentheses after it).
fn names(text: &str, top_level: bool) -> Vec<String> {
    let (mut out, mut depth, mut inside, mut word) = (Vec::new(), 0u32, false, String::new());
    for c in text.chars() {
        match c {
            '`' if inside => {
                inside = false;
                let identifier =
                    !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if identifier && (depth == 0 || !top_level) {
                    out.push(std::mem::take(&mut word));
                }
                word.clear();
            }
            '`' => inside = true,
            _ if inside => word.push(c),
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    out
}

/// The reference's paragraph: what it lists as there, and what it says recon lacks.
fn listed() -> (String, String) {
    let at = REFERENCE.find(START).expect("the reference lists filters");
    let rest = &REFERENCE[at + START.len()..];
    let lacks = rest
        .find(LACKS)
        .expect("the reference lists missing filters");
    let missing = &rest[lacks + LACKS.len()..];
    let end = missing.find(')').expect("closed list");
    (rest[..lacks].to_owned(), missing[..end].to_owned())
}

/// Whether `name` is a registered filter or test.
fn registered(t: &Templar, name: &str) -> bool {
    let unknown = |template: String, kind: JErrorKind| {
        t.env
            .render_str(&template, ())
            .is_err_and(|e| e.kind() == kind)
    };
    !unknown(format!("{{{{ 1 | {name} }}}}"), JErrorKind::UnknownFilter)
        || !unknown(format!("{{{{ 1 is {name} }}}}"), JErrorKind::UnknownTest)
}

#[test]
fn the_readme_filter_list_matches_the_environment() {
    let t = Templar::new();
    let (listed, lacking) = listed();
    let mut wrong = Vec::new();
    let mut check = |ok: bool, why: String| {
        if !ok {
            wrong.push(why);
        }
    };
    for name in names(&listed, true) {
        check(
            registered(&t, &name),
            format!("the reference lists `{name}`, which is not registered"),
        );
    }
    for name in names(&lacking, false) {
        check(
            !registered(&t, &name),
            format!("the reference says `{name}` is missing, but it is registered"),
        );
    }
    let documented = names(&listed, false);
    for name in ALIASED_FILTERS.iter().chain(ALIASED_TESTS).chain(BUILTIN) {
        check(
            registered(&t, name),
            format!("`ansible.builtin.{name}` stands for `{name}`, which is not registered"),
        );
        check(
            KNOWN.contains(name) || documented.iter().any(|d| d == name),
            format!("`{name}` is registered but neither Jinja's own nor in the reference's list"),
        );
    }
    for name in KNOWN {
        check(
            registered(&t, name),
            format!("the linter takes `{name}` as Jinja's own, but it is not registered"),
        );
    }
    check(
        names(&listed, true).iter().any(|n| n == "urlencode"),
        "the reference does not list `urlencode`".to_owned(),
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
