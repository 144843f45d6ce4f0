//! The only YAML entry point: a tree of nodes that remember their byte span in the source file.
//!
//! Scalars keep their source text and style; types are decided by the reader that asks for them
//! (`mode: 0644` stays the octal text the user wrote, while a variable's `port: 8080` becomes an
//! integer when converted to a template value). This is the YAML 1.2 core schema plus the YAML 1.1
//! booleans Ansible users write (`yes`/`no`).
//!
//! Ansible Vault is opened here, so every file recon reads gets it: a file that is vault data is
//! decrypted before parsing (spans point into the decrypted text, the file name is kept), and a
//! scalar tagged `!vault` is replaced by its plaintext, keeping the span of the encrypted block
//! for errors. Every decrypted value is registered with `crate::secret` for masking.

use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan};

use crate::error::{Error, ErrorKind, Result};
use crate::secret;
use crate::source::{SourceFile, Span};
use crate::vault;

/// Opens vault text (decrypts it or says why not); the process-wide keyring in production.
pub(crate) type Unlock<'a> = &'a dyn Fn(&str) -> std::result::Result<String, vault::VaultError>;

/// One YAML node with its span.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) span: Span,
}

/// The shape of a node. Mapping entries keep file order.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Scalar { text: String, plain: bool },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A scalar after applying the core schema; only plain scalars can be anything but a string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl Node {
    pub(crate) fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar { .. } => match self.resolve() {
                Some(Resolved::Null) => "null",
                Some(Resolved::Bool(_)) => "a boolean",
                Some(Resolved::Int(_) | Resolved::Float(_)) => "a number",
                _ => "a string",
            },
        }
    }

    /// The core-schema interpretation of a scalar; `None` for collections.
    pub(crate) fn resolve(&self) -> Option<Resolved<'_>> {
        let Value::Scalar { text, plain } = &self.value else {
            return None;
        };
        if !plain {
            return Some(Resolved::Str(text));
        }
        Some(match text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" => Resolved::Bool(true),
            "false" | "False" | "FALSE" | "no" | "No" | "NO" => Resolved::Bool(false),
            t => parse_int(t)
                .map(Resolved::Int)
                .or_else(|| parse_float(t).map(Resolved::Float))
                .unwrap_or(Resolved::Str(t)),
        })
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self.resolve(), Some(Resolved::Null))
    }

    pub(crate) fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub(crate) fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar's text whatever its type (`8080`, `true` and `"x"` all have text).
    pub(crate) fn scalar_text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A mapping key's text; keys are always scalars in recon's files.
    pub(crate) fn key(&self) -> &str {
        self.scalar_text().unwrap_or("")
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.key() == key)
            .map(|(_, v)| v)
    }

    /// A new string scalar carrying this node's span (used when templating produces a value).
    pub(crate) fn string(text: String, span: Span) -> Node {
        Node {
            value: Value::Scalar { text, plain: false },
            span,
        }
    }
}

fn parse_int(t: &str) -> Option<i64> {
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -value } else { value })
}

fn parse_float(t: &str) -> Option<f64> {
    let looks_numeric = t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    match t {
        ".inf" | "+.inf" | ".Inf" => Some(f64::INFINITY),
        "-.inf" | "-.Inf" => Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" => Some(f64::NAN),
        _ if looks_numeric => t.parse().ok(),
        _ => None,
    }
}

/// Reads and parses a YAML file, decrypting it first when it is an Ansible Vault file.
pub(crate) fn load_file(path: &std::path::Path) -> Result<Node> {
    load_file_with(path, &vault::open)
}

/// `load_file` with a given way to open vault data.
pub(crate) fn load_file_with(path: &std::path::Path, unlock: Unlock<'_>) -> Result<Node> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
    parse_text_with(path, text, unlock)
}

/// Parses `text` read from `path`, decrypting it first when it is an Ansible Vault file.
pub(crate) fn parse_text(path: &std::path::Path, text: String) -> Result<Node> {
    parse_text_with(path, text, &vault::open)
}

fn parse_text_with(path: &std::path::Path, text: String, unlock: Unlock<'_>) -> Result<Node> {
    if !vault::is_vault(&text) {
        return parse_with(&SourceFile::new(path, text), unlock, false);
    }
    let header = text.trim_start().lines().next().unwrap_or_default().len();
    let start = text.len() - text.trim_start().len();
    let plain = unlock(&text).map_err(|message| {
        let span = Span {
            file: SourceFile::new(path, text),
            start,
            end: start + header,
        };
        Error::invalid(format!("cannot decrypt vault file: {message}"), &span)
            .with_label("this vault file")
    })?;
    parse_with(&SourceFile::new(path, plain), unlock, true)
}

/// Parses the first document of `file`; an empty file is a null node.
#[cfg(test)]
pub(crate) fn parse(file: &Arc<SourceFile>) -> Result<Node> {
    parse_with(file, &vault::open, false)
}

/// `parse` with a given way to open `!vault` values; `secret` registers every value scalar
/// (the file was vault-encrypted as a whole).
pub(crate) fn parse_with(file: &Arc<SourceFile>, unlock: Unlock<'_>, secret: bool) -> Result<Node> {
    let offsets = CharOffsets::new(&file.text);
    let mut builder = Builder {
        file,
        offsets: &offsets,
        stack: Vec::new(),
        anchors: Vec::new(),
        expanded: 0,
        root: None,
        unlock,
        secret,
    };
    let mut parser = Parser::new_from_str(&file.text);
    while let Some(event) = parser.next_event() {
        match event {
            Ok((event, span)) => {
                if builder.event(event, span)? {
                    break;
                }
            }
            Err(err) => {
                let at = offsets.byte(err.marker().index());
                let span = Span {
                    file: Arc::clone(file),
                    start: at,
                    end: at,
                };
                return Err(Error::at(
                    ErrorKind::YamlSyntax {
                        message: err.info().to_owned(),
                    },
                    &span,
                )
                .with_label("here"));
            }
        }
    }
    let end = file.text.len();
    Ok(builder.root.unwrap_or_else(|| Node {
        value: Value::Scalar {
            text: String::new(),
            plain: true,
        },
        span: Span {
            file: Arc::clone(file),
            start: 0,
            end,
        },
    }))
}

/// Registers a value from a vault-encrypted file as secret. Nulls, booleans and Jinja
/// expressions are not secrets: masking them would hide the structure (and the expression an
/// error points at).
fn register_value(node: &Node) {
    if let Some(text) = node.scalar_text() {
        if !text.contains("{{")
            && !matches!(node.resolve(), Some(Resolved::Null | Resolved::Bool(_)))
        {
            secret::register(text);
        }
    }
}

/// saphyr counts characters; miette wants bytes.
struct CharOffsets {
    table: Option<Vec<usize>>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let table = (!text.is_ascii()).then(|| text.char_indices().map(|(b, _)| b).collect());
        Self {
            table,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.len),
            Some(t) => t.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

enum Open {
    Seq(Vec<Node>, usize, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize, usize),
}

struct Builder<'a> {
    file: &'a Arc<SourceFile>,
    offsets: &'a CharOffsets,
    stack: Vec<Open>,
    anchors: Vec<(usize, Node)>,
    /// Nodes copied so far by aliases: bounded, so an alias bomb is an error, not an OOM.
    expanded: usize,
    root: Option<Node>,
    unlock: Unlock<'a>,
    /// Every value scalar is a secret (the whole file was encrypted).
    secret: bool,
}

impl Builder<'_> {
    fn span(&self, span: YamlSpan) -> Span {
        Span {
            file: Arc::clone(self.file),
            start: self.offsets.byte(span.start.index()),
            end: self.offsets.byte(span.end.index()),
        }
    }

    /// Returns true once the first document is complete.
    fn event(&mut self, event: Event<'_>, yspan: YamlSpan) -> Result<bool> {
        let span = self.span(yspan);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let is_vault = tag.is_some_and(|t| t.handle == "!" && t.suffix == "vault");
                let node = if is_vault {
                    self.open_vault(&text, span)?
                } else {
                    let node = Node {
                        value: Value::Scalar {
                            text: text.into_owned(),
                            plain: style == ScalarStyle::Plain,
                        },
                        span,
                    };
                    if self.secret && !self.is_key() {
                        register_value(&node);
                    }
                    node
                };
                self.push(node, anchor)?;
            }
            Event::Alias(id) => {
                let Some(node) = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone())
                else {
                    return Err(Error::at(
                        ErrorKind::YamlSyntax {
                            message: "unknown alias".into(),
                        },
                        &span,
                    ));
                };
                self.expanded += size_up_to(&node, ALIAS_EXPANSION_LIMIT + 1);
                if self.expanded > ALIAS_EXPANSION_LIMIT {
                    return Err(Error::at(
                        ErrorKind::YamlSyntax {
                            message: format!(
                                "aliases expand to more than {ALIAS_EXPANSION_LIMIT} nodes"
                            ),
                        },
                        &span,
                    )
                    .with_label("this alias")
                    .with_help("nested aliases multiply (a \"billion laughs\" document); write the values out"));
                }
                self.push(Node { span, ..node }, 0)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Open::Seq(Vec::new(), anchor, span.start));
            }
            Event::MappingStart(anchor, _) => {
                self.stack
                    .push(Open::Map(Vec::new(), None, anchor, span.start));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor, start) = match self.stack.pop() {
                    Some(Open::Seq(items, anchor, start)) => (Value::Seq(items), anchor, start),
                    Some(Open::Map(entries, _, anchor, start)) => {
                        (Value::Map(merge_keys(entries)), anchor, start)
                    }
                    None => return Ok(false),
                };
                let node = Node {
                    value,
                    span: Span {
                        file: Arc::clone(self.file),
                        start,
                        end: span.end.max(start),
                    },
                };
                self.push(node, anchor)?;
            }
            Event::DocumentEnd => return Ok(self.root.is_some()),
            _ => {}
        }
        Ok(false)
    }

    /// The plaintext of a `!vault` scalar, registered as a secret, with the encrypted block's span.
    fn open_vault(&self, text: &str, span: Span) -> Result<Node> {
        let plain = (self.unlock)(text).map_err(|message| {
            Error::invalid(format!("cannot decrypt `!vault` value: {message}"), &span)
                .with_label("this vault value")
        })?;
        secret::register(&plain);
        Ok(Node::string(plain, span))
    }

    /// Whether the next scalar pushed is a mapping key.
    fn is_key(&self) -> bool {
        matches!(self.stack.last(), Some(Open::Map(_, None, ..)))
    }

    fn push(&mut self, node: Node, anchor: usize) -> Result<()> {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq(items, ..)) => items.push(node),
            Some(Open::Map(entries, pending, ..)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let Some((first, _)) = entries.iter().find(|(k, _)| same_key(k, &key)) {
                        return Err(duplicate_key(first, &key));
                    }
                    entries.push((key, node));
                }
            },
        }
        Ok(())
    }
}

/// YAML merge keys (`<<: *base`, `<<: [*a, *b]`): the merged mappings' entries come first,
/// explicit keys win over merged ones, and an earlier mapping in a list wins over a later one.
fn merge_keys(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    let is_merge =
        |k: &Node| matches!(&k.value, Value::Scalar { text, plain: true } if text == "<<");
    if !entries.iter().any(|(k, _)| is_merge(k)) {
        return entries;
    }
    let (merges, explicit): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(k, _)| is_merge(k));
    let mut out: Vec<(Node, Node)> = Vec::new();
    let sources = merges.iter().flat_map(|(_, v)| match &v.value {
        Value::Seq(items) => items.iter().collect::<Vec<_>>(),
        _ => vec![v],
    });
    for source in sources {
        for (k, v) in source.as_map().unwrap_or_default() {
            let taken = |(o, _): &(Node, Node)| same_key(o, k);
            if !out.iter().any(taken) && !explicit.iter().any(taken) {
                out.push((k.clone(), v.clone()));
            }
        }
    }
    out.extend(explicit);
    out
}

/// The most nodes aliases may copy into one document. Real playbooks and inventories stay far
/// below; a "billion laughs" document reaches it within milliseconds and a few megabytes.
const ALIAS_EXPANSION_LIMIT: usize = 100_000;

/// The number of nodes in `node`, counting no further than `limit`.
fn size_up_to(node: &Node, limit: usize) -> usize {
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        count += 1;
        if count >= limit {
            break;
        }
        match &n.value {
            Value::Seq(items) => stack.extend(items),
            Value::Map(entries) => stack.extend(entries.iter().flat_map(|(k, v)| [k, v])),
            Value::Scalar { .. } => {}
        }
    }
    count
}

/// Two mapping keys that YAML (and Ansible) would treat as the same key. Merge keys (`<<`) may
/// repeat.
fn same_key(a: &Node, b: &Node) -> bool {
    match (a.scalar_text(), b.scalar_text()) {
        (Some(x), Some(y)) => x == y && x != "<<",
        _ => false,
    }
}

/// A located error naming both places a key is given.
fn duplicate_key(first: &Node, second: &Node) -> Error {
    let key = second.scalar_text().unwrap_or_default();
    Error::at(
        ErrorKind::YamlSyntax {
            message: format!("duplicate key `{key}`"),
        },
        &second.span,
    )
    .with_label("given again here")
    .with_related(
        Error::invalid(format!("`{key}` is first given here"), &first.span).with_label("first"),
    )
    .with_help("a mapping holds each key once; YAML parsers disagree on which one wins")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Node {
        parse(&SourceFile::new("t.yml", text)).expect("valid yaml")
    }

    #[test]
    fn an_alias_bomb_is_a_located_error_in_well_under_a_second() {
        use std::fmt::Write as _;
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            let refs = vec![format!("*a{prev}"); 10].join(", ");
            let _ = writeln!(text, "a{i}: &a{i} [{refs}]");
        }
        let started = std::time::Instant::now();
        let err = parse(&SourceFile::new("bomb.yml", text)).expect_err("refused");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(format!("{err}").contains("aliases expand"), "{err}");
        assert!(err.span().is_some());
    }

    #[test]
    fn duplicate_keys_are_refused_naming_both() {
        let err = parse(&SourceFile::new("d.yml", "a: 1\nb: 2\na: 3\n")).expect_err("refused");
        assert!(format!("{err}").contains("duplicate key `a`"), "{err}");
        assert_eq!(err.span().map(crate::source::Span::line_col), Some((3, 1)));
        let merge = parse(&SourceFile::new(
            "m.yml",
            "x: &x {a: 1}\ny:\n  <<: *x\n  <<: {b: 2}\n",
        ));
        assert!(merge.is_ok(), "merge keys may repeat");
    }

    #[test]
    fn spans_point_at_scalars() {
        let node = load("a:\n  b: héllo\n  c: [1, 2]\n");
        let b = node.get("a").and_then(|a| a.get("b")).expect("b");
        assert_eq!(&b.span.file.text[b.span.start..b.span.end], "héllo");
        let c = node.get("a").and_then(|a| a.get("c")).expect("c");
        assert_eq!(c.as_seq().map(<[Node]>::len), Some(2));
        assert_eq!(c.span.line_col(), (3, 6));
    }

    #[test]
    fn scalars_resolve_by_core_schema() {
        let node = load("a: 0644\nb: '0644'\nc: yes\nd: ~\ne: 1.5\nf: 0x1F\n");
        let r = |k: &str| {
            node.get(k)
                .and_then(|n| n.resolve().map(|r| format!("{r:?}")))
        };
        assert_eq!(r("a").as_deref(), Some("Int(644)"));
        assert_eq!(r("b").as_deref(), Some("Str(\"0644\")"));
        assert_eq!(r("c").as_deref(), Some("Bool(true)"));
        assert_eq!(r("d").as_deref(), Some("Null"));
        assert_eq!(r("e").as_deref(), Some("Float(1.5)"));
        assert_eq!(r("f").as_deref(), Some("Int(31)"));
        assert_eq!(node.get("a").and_then(Node::scalar_text), Some("0644"));
    }

    #[test]
    fn syntax_error_is_located() {
        let err = parse(&SourceFile::new("t.yml", "a: [1, 2\nb: 3\n")).expect_err("invalid");
        assert!(matches!(err.kind, ErrorKind::YamlSyntax { .. }));
        assert!(err.span().is_some());
    }

    #[test]
    fn merge_keys_merge_with_explicit_keys_winning() {
        let node = parse(&SourceFile::new(
            "m.yml",
            "base: &b {a: 1, b: 2}\nother: &o {c: 3, a: 9}\nx:\n  <<: [*b, *o]\n  b: 5\n",
        ))
        .expect("parse");
        let x = node.get("x").expect("x");
        let got: Vec<(&str, &str)> = x
            .as_map()
            .expect("map")
            .iter()
            .map(|(k, v)| (k.key(), v.scalar_text().unwrap_or("")))
            .collect();
        assert_eq!(got, [("a", "1"), ("c", "3"), ("b", "5")]);
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let node = load("base: &b {x: 1}\nother: *b\n");
        assert_eq!(
            node.get("other")
                .and_then(|o| o.get("x"))
                .and_then(Node::scalar_text),
            Some("1")
        );
    }

    /// Stands in for the keyring: the tag plumbing is under test here; the cipher is tested in
    /// `vault::format` and against ansible-vault in tests/vault.rs.
    fn shout(text: &str) -> std::result::Result<String, crate::vault::VaultError> {
        if text.starts_with("$ANSIBLE_VAULT") {
            Ok(text.to_uppercase())
        } else {
            Err(crate::vault::VaultError::Format("not vault data".into()))
        }
    }

    #[test]
    fn vault_tagged_scalars_are_opened_and_keep_their_span() {
        let text = "user: bob\npw: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  abc\nplain: '!vault'\n";
        let node = parse_with(&SourceFile::new("v.yml", text), &shout, false).expect("parse");
        let pw = node.get("pw").expect("pw");
        assert_eq!(pw.scalar_text(), Some("$ANSIBLE_VAULT;1.1;AES256\nABC\n"));
        assert_eq!(
            pw.resolve(),
            Some(Resolved::Str("$ANSIBLE_VAULT;1.1;AES256\nABC\n"))
        );
        assert_eq!(pw.span.line_col(), (2, 5));
        assert_eq!(
            node.get("plain").and_then(Node::scalar_text),
            Some("!vault")
        );
    }

    #[test]
    fn unopenable_vault_value_is_located() {
        let text = "a: 1\nb: !vault garbage\n";
        let err = parse_with(&SourceFile::new("v.yml", text), &shout, false).expect_err("fails");
        assert!(err.to_string().contains("not vault data"), "{err}");
        assert_eq!(err.span().map(Span::line_col), Some((2, 4)));
    }
}
