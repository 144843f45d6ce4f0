//! The rule "dependencies point down the pipeline" (docs/ARCHITECTURE.md), checked: every
//! `src/**/*.rs` file is read, the `crate::`, `super::`, `self::` and child-module paths its
//! non-test code uses (and `self.name(..)` calls between the files of a split module) become
//! edges between module nodes, and the test fails on a cycle between nodes or on an edge that
//! goes up the layer table. Code review alone let circles creep in. It reads imports, not the
//! call graph: a method called on a value adds no edge beyond its type's path; macros unexpanded.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// Top-level modules whose files are nodes of their own (`command/planning`): their files are
/// separate stages, and a circle between them is as real as one between top-level modules.
const SPLIT: &[&str] = &["command", "compile", "playbook"];

/// The layers, bottom first. A module may use its own layer and the ones below, never above.
/// Every top-level module is listed, so a new one has to be placed.
const LAYERS: &[&[&str]] = &[
    &[
        "error", "source", "text", "glob", "account", "exit", "secret",
    ],
    &["vault"],
    &["yaml", "fields"],
    &["artifact", "script", "transport", "bridge"],
    &["vars", "template", "ansible_cfg"],
    &["inventory"],
    &["facts", "registered", "plan", "report", "door"],
    &["resource"],
    &["ansible", "playbook"],
    &["compile"],
    &["render"],
    &["probe", "reactions", "delivery", "apply", "releases"],
    &["cli", "adhoc", "command"],
    &["lib"],
];

/// Edges still allowed against the rules, each with why it is still there. An entry whose edge
/// is gone fails the test, so the list only shrinks.
const ALLOWED: &[(&str, &str)] = &[
    // Task lists nest: a block's tasks are compiled by host's `task_items_unguarded`.
    ("compile/blocks", "compile/host"),
    // Task lists nest: `include_tasks` compiles the included tasks with host's `task`.
    ("compile/directive", "compile/host"),
    // Roles and task lists nest: `include_role` in a task list loads a role (`RoleCache`).
    ("playbook/tasks", "playbook/role"),
];

/// One dependency found: the node that uses, the node used, and the first place it happens.
type Edges = BTreeMap<(String, String), String>;

/// Blanks `out[from..to]`, keeping newlines so that line numbers stay right.
fn blank(out: &mut [u8], from: usize, to: usize) {
    let to = to.min(out.len());
    for c in &mut out[from..to] {
        if *c != b'\n' {
            *c = b' ';
        }
    }
}

/// Blanks comments and the contents of string and char literals, so that `crate::` in a doc
/// comment or an error message is not an edge and braces in strings (shell code in raw strings)
/// do not confuse the item skipper. Block comments are taken as not nested (none are).
pub(crate) fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let quote = b[i] == b'"'
            || (b[i] == b'\'' && (b.get(i + 1) == Some(&b'\\') || b.get(i + 2) == Some(&b'\'')));
        if rest.starts_with(b"//") || rest.starts_with(b"/*") {
            let close = if rest[1] == b'/' { "\n" } else { "*/" };
            let end = src[i + 2..]
                .find(close)
                .map_or(b.len(), |n| i + 2 + n + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if (rest.starts_with(b"r#") || rest.starts_with(b"r\"") || rest.starts_with(b"br"))
            && (i == 0 || !ident(b[i - 1]))
            && rest.iter().find(|&&c| !matches!(c, b'b' | b'r' | b'#')) == Some(&b'"')
        {
            let start = rest.iter().position(|&c| c == b'"').map_or(0, |n| i + n);
            let close = format!("\"{}", "#".repeat(src[i..start].matches('#').count()));
            let end = src[start + 1..]
                .find(&close)
                .map_or(b.len(), |n| start + 1 + n);
            blank(&mut out, start + 1, end);
            i = end + close.len();
        } else if quote {
            let mut j = i + 1;
            while j < b.len() && b[j] != b[i] {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i + 1, j);
            i = j + 1;
        } else {
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The end (exclusive) of the bracketed group opening at `open`.
fn close_of(b: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (j, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    b.len()
}

/// Blanks every item under `#[cfg(test)]` (or `cfg(all(test, ..))`): test code may reach
/// anywhere. The item ends at its first `;` or its closing brace.
fn drop_test_items(code: &str) -> String {
    let mut out = code.as_bytes().to_vec();
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(").map(|n| n + from) {
        let attr_end = close_of(code.as_bytes(), at + 1);
        let attr = &code[at..attr_end];
        from = attr_end;
        if !attr.contains("test") || attr.contains("not(test") {
            continue;
        }
        let b = code.as_bytes();
        let mut j = attr_end;
        while j < b.len() && b[j] != b';' && b[j] != b'{' {
            j = if b[j] == b'[' || b[j] == b'(' {
                close_of(b, j)
            } else {
                j + 1
            };
        }
        let end = if b.get(j) == Some(&b'{') {
            close_of(b, j)
        } else {
            j + 1
        };
        blank(&mut out, at, end);
        from = end.min(b.len());
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Files compiled only for tests: declared `mod x;` right under a `#[cfg(test)]` (with an
/// optional `#[path]`), read from the raw lines because the stripped text has lost the path.
fn test_only_files(dir: &Path, raw: &str, module_dir: &Path, found: &mut BTreeSet<String>) {
    let (mut test, mut path) = (false, None);
    for line in raw.lines().map(str::trim) {
        if line.starts_with("#[cfg(") && line.contains("test") && !line.contains("not(test") {
            test = true;
        } else if let Some(p) = line
            .strip_prefix("#[path = \"")
            .and_then(|p| p.strip_suffix("\"]"))
        {
            path = Some(p.to_string());
        } else if !line.starts_with("#[") {
            let name = line.trim_start_matches("pub(crate) ").strip_prefix("mod ");
            if let (true, Some(name)) = (test, name.and_then(|n| n.strip_suffix(';'))) {
                let file = match &path {
                    Some(p) => dir.join(p),
                    None => module_dir.join(format!("{name}.rs")),
                };
                found.insert(file.to_string_lossy().into_owned());
            }
            (test, path) = (false, None);
        }
    }
}

/// The module path of a file under `src/` (`compile/host.rs` → `[compile, host]`).
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

/// The node a resolved path belongs to: `lib` for the root, the top-level module, or for a
/// split module its file (`compile/host`) when the path names one.
fn node_of(path: &[String], modules: &BTreeSet<Vec<String>>) -> String {
    match path {
        [] => "lib".to_string(),
        [top, sub, ..] if SPLIT.contains(&top.as_str()) && modules.contains(&path[..2]) => {
            format!("{top}/{sub}")
        }
        [top, ..] => top.clone(),
    }
}

/// The identifier starting at byte `at` (empty when none does).
fn word_at(code: &str, at: usize) -> &str {
    let rest = &code[at..];
    let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    &rest[..len.unwrap_or(rest.len())]
}

/// Reads one path or use tree starting at `i` (`a::b::{c, d::e}`), pushing every full path.
fn paths_at(b: &[u8], mut i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let skip_ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut path = prefix.to_vec();
    loop {
        let start = i;
        while i < b.len() && ident(b[i]) {
            i += 1;
        }
        path.push(String::from_utf8_lossy(&b[start..i]).into_owned());
        i = skip_ws(i);
        if !b[i..].starts_with(b"::") {
            break;
        }
        i = skip_ws(i + 2);
        if b.get(i) == Some(&b'{') {
            i = skip_ws(i + 1);
            while i < b.len() && b[i] != b'}' {
                i = skip_ws(paths_at(b, i, &path, out));
                while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
                    i += 1;
                }
            }
            return i + 1;
        }
        if !b.get(i).is_some_and(|&c| ident(c)) {
            break;
        }
    }
    out.push(path);
    i
}

/// Every `.rs` file under `src`.
pub(crate) fn rust_files(src: &Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![];
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("src entry is readable").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// Every edge of the crate, from the files under `src/`.
fn edges() -> (Edges, BTreeSet<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    let mut test_only = BTreeSet::new();
    let mut modules = BTreeSet::new();
    let mut texts: Vec<(String, Vec<String>, String)> = vec![];
    for file in &files {
        let raw = std::fs::read_to_string(file).expect("source is readable");
        let rel = file.strip_prefix(&src).expect("under src");
        let module = module_of(rel);
        let dir = file.parent().expect("in a folder");
        test_only_files(dir, &raw, &src.join(module.join("/")), &mut test_only);
        modules.insert(module.clone());
        texts.push((
            rel.to_string_lossy().into_owned(),
            module,
            drop_test_items(&strip(&raw)),
        ));
    }
    texts.retain(|(rel, ..)| !test_only.contains(&src.join(rel).to_string_lossy().into_owned()));
    // An `impl` split across the files of a split module (`impl Compiler` in compile/) calls
    // itself through `self.name(..)`, no path in sight: a method defined in one file only is an
    // edge from the files that call it.
    let mut methods: BTreeMap<(String, &str), BTreeSet<String>> = BTreeMap::new();
    for (_, module, code) in &texts {
        let top = module.first().cloned().unwrap_or_default();
        for (at, _) in code
            .match_indices("fn ")
            .filter(|_| SPLIT.contains(&top.as_str()))
        {
            let key = (top.clone(), word_at(code, at + 3));
            methods
                .entry(key)
                .or_default()
                .insert(node_of(module, &modules));
        }
    }
    let mut edges = Edges::new();
    let mut nodes = BTreeSet::new();
    for (rel, module, code) in &texts {
        let from = node_of(module, &modules);
        nodes.insert(from.clone());
        let b = code.as_bytes();
        let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
        let mut add = |to: String, i: usize| {
            let line = code[..i].matches('\n').count() + 1;
            // A split module's `mod.rs` is its facade: it declares, re-exports and dispatches
            // to its own files, so only its files' uses of it count, not the reverse.
            let facade = SPLIT.contains(&from.as_str()) && to.starts_with(&format!("{from}/"));
            if to != from && !facade {
                edges
                    .entry((from.clone(), to))
                    .or_insert(format!("src/{rel}:{line}"));
            }
        };
        for i in 0..b.len() {
            if code[i..].starts_with("self.") && (i == 0 || !ident(b[i - 1])) {
                let name = word_at(code, i + 5);
                let top = module.first().cloned().unwrap_or_default();
                let defs = methods.get(&(top, name)).filter(|d| d.len() == 1);
                if code[i + 5 + name.len()..].starts_with('(') {
                    for to in defs.into_iter().flatten() {
                        add(to.clone(), i);
                    }
                }
            }
            let boundary = i == 0 || !(ident(b[i - 1]) || b[i - 1] == b':' || b[i - 1] == b'$');
            let word_end = i + word_at(code, i).len();
            if !boundary || !code[word_end..].starts_with("::") {
                continue;
            }
            let word = &code[i..word_end];
            let child = [module.clone(), vec![word.to_string()]].concat();
            let base = match word {
                "crate" => vec![],
                "self" | "super" => module.clone(),
                _ if modules.contains(&child) => module.clone(),
                _ => continue,
            };
            let mut found = vec![];
            paths_at(b, i, &[], &mut found);
            for path in found {
                let mut resolved = base.clone();
                for seg in path
                    .iter()
                    .skip(usize::from(word == "crate" || word == "self"))
                {
                    if seg == "super" {
                        resolved.pop();
                    } else {
                        resolved.push(seg.clone());
                    }
                }
                add(node_of(&resolved, &modules), i);
            }
        }
    }
    (edges, nodes)
}

/// The layer of a node, by its top-level module.
fn layer(node: &str) -> Option<usize> {
    let top = node.split('/').next().unwrap_or(node);
    LAYERS.iter().position(|l| l.contains(&top))
}

/// Nodes that reach each other: the strongly connected components with more than one node.
fn circles(edges: &Edges) -> Vec<BTreeSet<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    let reach = |start: &str| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![start]);
        while let Some(n) = todo.pop() {
            for &m in next.get(n).into_iter().flatten() {
                if seen.insert(m.to_string()) {
                    todo.push(m);
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&str, BTreeSet<String>> = next.keys().map(|&n| (n, reach(n))).collect();
    let mut found: Vec<BTreeSet<String>> = vec![];
    for (n, r) in &reaches {
        let scc: BTreeSet<String> = r
            .iter()
            .filter(|m| {
                reaches
                    .get(m.as_str())
                    .is_some_and(|back| back.contains(*n))
            })
            .cloned()
            .collect();
        if scc.len() > 1 && !found.contains(&scc) {
            found.push(scc);
        }
    }
    found
}

#[test]
fn dependencies_point_down_and_never_circle() {
    let (mut edges, nodes) = edges();
    let mut report = String::new();
    for node in &nodes {
        if layer(node).is_none() {
            let _ = writeln!(report, "module {node} has no layer in LAYERS");
        }
    }
    for (from, to) in ALLOWED {
        if edges
            .remove(&((*from).to_string(), (*to).to_string()))
            .is_none()
        {
            let _ = writeln!(
                report,
                "allowed edge {from} -> {to} is gone: remove it from ALLOWED"
            );
        }
    }
    for scc in circles(&edges) {
        let _ = writeln!(
            report,
            "circle between {}:",
            scc.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        for ((from, to), at) in &edges {
            if scc.contains(from) && scc.contains(to) {
                let _ = writeln!(report, "    {from} -> {to} ({at})");
            }
        }
    }
    for ((from, to), at) in &edges {
        if let (Some(a), Some(b)) = (layer(from), layer(to)) {
            if a < b {
                let _ = writeln!(report, "upward edge {from} -> {to} ({at})");
            }
        }
    }
    assert!(
        report.is_empty(),
        "layer rule broken (docs/ARCHITECTURE.md):\n{report}"
    );
}
