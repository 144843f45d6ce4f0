//! Two rules of the code base (docs/ARCHITECTURE.md), checked over every `src/**/*.rs` file,
//! tests included: no `Result<_, String>` (an error is a type: the crate's located `Error`, or a
//! small enum whose callers can tell its cases apart), and no `allow(dead_code)` (unused code is
//! removed, not kept alive). Comments and string literals are blanked first (`layers::strip`),
//! so a message or doc that names the pattern is not a finding.

use std::fmt::Write as _;
use std::path::Path;

use crate::layers::{rust_files, strip};

/// Findings still allowed, each with why: (file under `src/`, text of the finding's line). An
/// entry that matches nothing fails the test, so the list only shrinks.
const ALLOWED: &[(&str, &str)] = &[];

/// One broken rule: the 1-based line and what is wrong there.
#[derive(Debug, PartialEq, Eq)]
struct Finding {
    line: usize,
    what: &'static str,
}

/// The 1-based line of byte `at` in `code`.
fn line_of(code: &str, at: usize) -> usize {
    code[..at].matches('\n').count() + 1
}

/// The generic arguments of the `<` at `open` (top-level commas split them), or `None` when it
/// never closes. `->` inside (a `Fn` type) is not a closing bracket.
fn generic_args(code: &str, open: usize) -> Option<Vec<&str>> {
    let b = code.as_bytes();
    let (mut depth, mut start, mut args) = (0usize, open + 1, Vec::new());
    for i in open..b.len() {
        match b[i] {
            b'<' | b'(' | b'[' => depth += 1,
            b'>' if i > 0 && b[i - 1] == b'-' => {}
            b'>' | b')' | b']' => {
                depth -= 1;
                if depth == 0 {
                    args.push(&code[start..i]);
                    return Some(args);
                }
            }
            b',' if depth == 1 => {
                args.push(&code[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// Every `Result<…, String>` in `code` (already stripped of comments and strings).
fn string_errors(code: &str) -> Vec<Finding> {
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    code.match_indices("Result<")
        .filter(|(at, _)| *at == 0 || !ident(code.as_bytes()[at - 1]))
        .filter_map(|(at, word)| {
            let args = generic_args(code, at + word.len() - 1)?;
            // A trailing comma leaves an empty last argument; one argument is an alias's
            // `Result<String>`, whose error is the crate's.
            let args: Vec<&str> = args
                .iter()
                .map(|a| a.trim())
                .filter(|a| !a.is_empty())
                .collect();
            let [_, .., last] = args[..] else {
                return None;
            };
            matches!(last, "String" | "std::string::String" | "string::String").then(|| Finding {
                line: line_of(code, at),
                what: "`Result<_, String>`: give the error a type",
            })
        })
        .collect()
}

/// Every `allow(…dead_code…)` or `expect(…dead_code…)` attribute in `code` (stripped).
fn dead_code_allows(code: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("#[").chain(code.match_indices("#![")) {
        let Some(open) = code[at..].find('[').map(|n| at + n) else {
            continue;
        };
        let Some(args) = generic_args(code, open) else {
            continue;
        };
        let inner = args.join(",");
        let inner = inner.trim_start();
        let lint = inner.starts_with("allow") || inner.starts_with("expect");
        if lint && inner.contains("dead_code") {
            out.push(Finding {
                line: line_of(code, at),
                what: "`allow(dead_code)`: use the code or remove it",
            });
        }
    }
    out
}

/// Both rules over one file's source.
fn findings(raw: &str) -> Vec<Finding> {
    let code = strip(raw);
    let mut out = string_errors(&code);
    out.extend(dead_code_allows(&code));
    out.sort_by_key(|f| f.line);
    out
}

#[test]
fn no_string_errors_and_no_dead_code_allowed_in_src() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = rust_files(&src);
    files.sort();
    let mut used = vec![false; ALLOWED.len()];
    let mut report = String::new();
    for file in &files {
        let raw = std::fs::read_to_string(file).expect("source is readable");
        let rel = file
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy();
        let lines: Vec<&str> = raw.lines().collect();
        for finding in findings(&raw) {
            let text = lines.get(finding.line - 1).copied().unwrap_or_default();
            let allowed = ALLOWED
                .iter()
                .position(|(path, needle)| *path == rel && text.contains(needle));
            match allowed {
                Some(i) => used[i] = true,
                None => {
                    let _ = writeln!(report, "src/{rel}:{}: {}", finding.line, finding.what);
                }
            }
        }
    }
    for ((path, needle), used) in ALLOWED.iter().zip(used) {
        if !used {
            let _ = writeln!(
                report,
                "allowed `{needle}` in src/{path} is gone: remove it from ALLOWED"
            );
        }
    }
    assert!(report.is_empty(), "code rules broken:\n{report}");
}

#[test]
fn the_scanner_finds_planted_cases_and_nothing_else() {
    let planted = r#"
fn a() -> Result<u8, String> { todo!() }
fn b() -> std::result::Result<Vec<u8>, String> { todo!() }
fn c() -> Result<
    Box<dyn Fn(u8) -> u8>,
    String,
> { todo!() }
#[allow(dead_code)]
fn d() {}
#![allow(clippy::all, dead_code)]
// fn e() -> Result<(), String>: a comment
fn f() -> Result<String, Error> { let _ = "Result<(), String> #[allow(dead_code)]"; todo!() }
#[allow(clippy::struct_field_names)]
fn g() -> MyResult<(), String> { todo!() }
fn h() -> Result<String> { todo!() }
"#;
    let lines: Vec<usize> = findings(planted).iter().map(|f| f.line).collect();
    assert_eq!(lines, [2, 3, 4, 8, 10]);
}
