//! INI inventories, read as Ansible's `ini` inventory plugin reads them: `[group]` (hosts),
//! `[group:children]`, `[group:vars]`; hosts before any section are `ungrouped`; `#` and `;`
//! start comment lines; a host line is split like a shell line (`shlex`, quotes removed, `#`
//! ends it) into a host pattern (ranges, `:port`) and `key=value` variables; every value is
//! typed by Python's `literal_eval` rules, falling back to the text. A child group may be named
//! before it is defined; one never defined is an error, as is `[g:vars]` for a group nobody
//! defines.

use std::sync::Arc;

use super::builder::Builder;
use super::pyliteral;
use super::range::expand_hostpattern;
use crate::error::{Error, Result};
use crate::source::{SourceFile, Span};
use crate::yaml::Node;

/// What a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hosts,
    Children,
    Vars,
}

/// A group named before it is defined: where, and by which parents.
struct Pending {
    span: Span,
    state: State,
    parents: Vec<String>,
}

/// A line of a `[group:children]` section: the child group, attached now when it is defined,
/// else remembered until its section comes.
fn child_line(
    line: &str,
    span: &dyn Fn(usize, usize) -> Span,
    group: &str,
    pending: &mut Vec<(String, Pending)>,
    into: &mut Builder,
) -> Result<()> {
    let child = group_name(line).ok_or_else(|| {
        Error::invalid(
            format!("expected a group name in [{group}:children], got `{line}`"),
            &span(0, line.len()),
        )
    })?;
    if into.has_group(child) {
        into.add_child(group, child);
    } else if let Some((_, p)) = pending.iter_mut().find(|(g, _)| g == child) {
        p.parents.push(group.to_owned());
    } else {
        pending.push((
            child.to_owned(),
            Pending {
                span: span(0, child.len()),
                state: State::Children,
                parents: vec![group.to_owned()],
            },
        ));
    }
    Ok(())
}

/// Reads one INI inventory file into `into`.
pub(crate) fn read(file: &Arc<SourceFile>, into: &mut Builder) -> Result<()> {
    let mut pending: Vec<(String, Pending)> = Vec::new();
    let mut group = "ungrouped".to_owned();
    let mut state = State::Hosts;
    let mut offset = 0;
    for raw in file.text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        let at = start + (raw.len() - raw.trim_start().len());
        let span = |from: usize, to: usize| Span {
            file: Arc::clone(file),
            start: at + from,
            end: at + to,
        };
        let whole = span(0, line.len());
        if let Some((name, kind)) = section(line) {
            state = match kind {
                None | Some("hosts") => State::Hosts,
                Some("children") => State::Children,
                Some("vars") => State::Vars,
                Some(other) => {
                    return Err(Error::invalid(
                        format!("section [{name}:{other}] has unknown type `{other}` (expected `children` or `vars`)"),
                        &whole,
                    ))
                }
            };
            name.clone_into(&mut group);
            if !into.has_group(name) {
                if state == State::Vars && !pending.iter().any(|(g, _)| g == name) {
                    pending.push((
                        name.to_owned(),
                        Pending {
                            span: whole.clone(),
                            state,
                            parents: Vec::new(),
                        },
                    ));
                }
                into.add_group(name);
            }
            if state != State::Vars {
                resolve_pending(name, &mut pending, into);
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(Error::invalid(
                format!("invalid section `{line}`: a section is `[group]`, `[group:children]` or `[group:vars]`, with no spaces"),
                &whole,
            ));
        }
        match state {
            State::Hosts => host_line(line, &span, &group, into)?,
            State::Vars => {
                let Some((key, value)) = line.split_once('=') else {
                    return Err(Error::invalid(
                        format!("expected `key=value` in [{group}:vars], got `{line}`"),
                        &whole,
                    ));
                };
                let value_start = line.len() - value.trim_start().len();
                let value = value.trim();
                let node = typed(value, &span(value_start, value_start + value.len()));
                into.set_group_var(&group, key.trim(), node);
            }
            State::Children => child_line(line, &span, &group, &mut pending, into)?,
        }
    }
    if let Some((name, p)) = pending.into_iter().next() {
        let message = match p.state {
            State::Vars => format!("section [{name}:vars] is for a group that is never defined"),
            _ => format!(
                "section [{}:children] names group `{name}`, which is never defined",
                p.parents.last().map_or("?", String::as_str)
            ),
        };
        return Err(Error::invalid(message, &p.span).with_help(format!(
            "define it with a `[{name}]` or `[{name}:children]` section"
        )));
    }
    Ok(())
}

/// A group named by `[children]` is now defined: attach it to its parents, and recursively any
/// pending parents that this completes.
fn resolve_pending(name: &str, pending: &mut Vec<(String, Pending)>, into: &mut Builder) {
    let Some(index) = pending.iter().position(|(g, _)| g == name) else {
        return;
    };
    let (_, p) = pending.remove(index);
    if p.state != State::Children {
        return;
    }
    for parent in p.parents {
        into.add_child(&parent, name);
        if pending
            .iter()
            .any(|(g, q)| *g == parent && q.state == State::Children)
        {
            resolve_pending(&parent, pending, into);
        }
    }
}

/// `[name]` or `[name:kind]`, optionally followed by a `#` comment.
fn section(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let after = rest[close + 1..].trim_start();
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    let inner = &rest[..close];
    let (name, kind) = match inner.split_once(':') {
        Some((n, k)) => (n, Some(k)),
        None => (inner, None),
    };
    let name_ok = !name.is_empty() && !name.contains(char::is_whitespace);
    let kind_ok =
        kind.is_none_or(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'));
    (name_ok && kind_ok).then_some((name, kind))
}

/// A group name line in `[g:children]`: one word, then nothing or a `#` comment.
fn group_name(line: &str) -> Option<&str> {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '#')
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let ok = !name.is_empty()
        && !name.contains([':', ']'])
        && (rest.is_empty() || rest.starts_with('#'));
    ok.then_some(name)
}

/// `web[01:03]:2222 ansible_user=deploy app_port=9001`.
fn host_line(
    line: &str,
    span: &dyn Fn(usize, usize) -> Span,
    group: &str,
    into: &mut Builder,
) -> Result<()> {
    let tokens = shlex(line).map_err(|why| {
        Error::invalid(
            format!("cannot split host line: {why}"),
            &span(0, line.len()),
        )
    })?;
    let Some((pattern, first)) = tokens.first() else {
        return Ok(());
    };
    let pattern_span = span(first.0, first.1);
    if pattern.is_empty() {
        return Err(Error::invalid("empty host name", &pattern_span));
    }
    let (hosts, port) = expand_hostpattern(pattern).map_err(|e| e.with_span(&pattern_span))?;
    let mut vars = Vec::new();
    for (token, (from, to)) in &tokens[1..] {
        let Some((key, value)) = token.split_once('=') else {
            return Err(Error::invalid(
                format!("expected a `key=value` host variable, got `{token}`"),
                &span(*from, *to),
            ));
        };
        let value_span = span(from + (to - from).min(key.len() + 1), *to);
        vars.push((key.to_owned(), typed(value, &value_span)));
    }
    let port_node = Node::string(String::new(), pattern_span);
    for host in &hosts {
        into.add_host(host, group, port.map(|p| (p, &port_node)));
        for (key, value) in &vars {
            into.set_host_var(host, key, value.clone());
        }
    }
    Ok(())
}

/// A value typed as Ansible's `_parse_value`: a Python literal, else the text itself.
fn typed(value: &str, span: &Span) -> Node {
    match pyliteral::parse(value) {
        Some(v) => v.into_node(span),
        None => Node::string(value.to_owned(), span.clone()),
    }
}

/// Why a line does not split into shell words (Python's `shlex` messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unsplittable {
    /// A quote opened and never closed.
    OpenQuote,
    /// A backslash at the end of the line.
    LoneBackslash,
}

impl std::fmt::Display for Unsplittable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::OpenQuote => "no closing quotation",
            Self::LoneBackslash => "no escaped character",
        })
    }
}

/// A shell word and its byte range in the line.
type Word = (String, (usize, usize));

/// Python's `shlex.split(line, comments=True)` (POSIX mode): whitespace separates words, quotes
/// group and are removed, a backslash escapes outside single quotes, `#` outside quotes ends the
/// line. Each word comes with its byte range in `line`.
fn shlex(line: &str) -> std::result::Result<Vec<Word>, Unsplittable> {
    let mut words = Vec::new();
    let mut chars = line.char_indices().peekable();
    let mut word: Option<(String, usize)> = None;
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some((w, start)) = word.take() {
                    words.push((w, (start, i)));
                }
            }
            '#' => {
                if let Some((w, start)) = word.take() {
                    words.push((w, (start, i)));
                }
                break;
            }
            '\'' | '"' => {
                let (w, _) = word.get_or_insert_with(|| (String::new(), i));
                let mut closed = false;
                while let Some((_, q)) = chars.next() {
                    if q == c {
                        closed = true;
                        break;
                    }
                    if q == '\\' && c == '"' {
                        match chars.peek() {
                            Some(&(_, e @ ('"' | '\\'))) => {
                                w.push(e);
                                chars.next();
                            }
                            _ => w.push('\\'),
                        }
                        continue;
                    }
                    w.push(q);
                }
                if !closed {
                    return Err(Unsplittable::OpenQuote);
                }
            }
            '\\' => {
                let (w, _) = word.get_or_insert_with(|| (String::new(), i));
                let (_, e) = chars.next().ok_or(Unsplittable::LoneBackslash)?;
                w.push(e);
            }
            c => word.get_or_insert_with(|| (String::new(), i)).0.push(c),
        }
    }
    if let Some((w, start)) = word.take() {
        words.push((w, (start, line.len())));
    }
    Ok(words)
}

#[cfg(test)]
#[path = "ini_tests.rs"]
mod tests;
