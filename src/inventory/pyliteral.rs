//! The values Python's `ast.literal_eval` accepts, which is how Ansible types INI inventory
//! values: numbers, `True`/`False`/`None`, quoted strings, lists, tuples, sets and dicts. Text
//! that is not such a literal stays the string it was (Ansible's fallback), so `parse` returns
//! `None` for it.

use crate::source::Span;
use crate::yaml::{Node, Value};

/// A Python literal after Ansible's coercions (tuples and sets become lists, bytes text).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Py {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

/// `ast.literal_eval(text)`, or `None` when Python would raise (the caller keeps the text).
pub(crate) fn parse(text: &str) -> Option<Py> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    p.skip_space();
    let first = p.value()?;
    p.skip_space();
    // A bare `1, 2` is a tuple.
    let value = if p.peek() == Some(b',') {
        let mut items = vec![first];
        while p.eat(b',') {
            p.skip_space();
            if p.at_end() {
                break;
            }
            items.push(p.value()?);
            p.skip_space();
        }
        Py::List(items)
    } else {
        first
    };
    p.skip_space();
    p.at_end().then_some(value)
}

impl Py {
    /// The value as a spanned node, typed the way recon's YAML values are.
    pub(crate) fn into_node(self, span: &Span) -> Node {
        let scalar = |text: String, plain: bool| Value::Scalar { text, plain };
        let value = match self {
            Py::None => scalar("null".to_owned(), true),
            Py::Bool(b) => scalar(b.to_string(), true),
            Py::Int(n) => scalar(n.to_string(), true),
            Py::Float(f) => scalar(format!("{f:?}"), true),
            Py::Str(s) => scalar(s, false),
            Py::List(items) => Value::Seq(items.into_iter().map(|v| v.into_node(span)).collect()),
            Py::Dict(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Py::Str(s) => Node::string(s, span.clone()),
                            other => Node {
                                value: Value::Scalar {
                                    text: other.key_text(),
                                    plain: false,
                                },
                                span: span.clone(),
                            },
                        };
                        (key, v.into_node(span))
                    })
                    .collect(),
            ),
        };
        Node {
            value,
            span: span.clone(),
        }
    }

    /// A non-string dict key as Python would print it (variables' keys are text in recon).
    fn key_text(&self) -> String {
        match self {
            Py::None => "None".to_owned(),
            Py::Bool(true) => "True".to_owned(),
            Py::Bool(false) => "False".to_owned(),
            Py::Int(n) => n.to_string(),
            Py::Float(f) => format!("{f:?}"),
            Py::Str(s) => s.clone(),
            Py::List(_) | Py::Dict(_) => String::new(),
        }
    }
}

/// A recursive-descent reader over the literal subset of Python's grammar.
struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    /// The next byte, if any.
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Whether everything was consumed (trailing text makes the whole value text).
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    /// Consumes `b` if it is next.
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Spaces, tabs, newlines inside brackets, and a trailing `# comment`.
    fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => self.i += 1,
                b'#' => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// One literal: a container, a signed number, a string or a keyword.
    fn value(&mut self) -> Option<Py> {
        self.skip_space();
        match self.peek()? {
            b'[' => {
                self.i += 1;
                Some(Py::List(self.items(b']')?.0))
            }
            b'(' => {
                self.i += 1;
                let (items, comma) = self.items(b')')?;
                // `(1)` is just 1; `(1,)` and `()` are tuples.
                match (items.len(), comma) {
                    (1, false) => items.into_iter().next(),
                    _ => Some(Py::List(items)),
                }
            }
            b'{' => {
                self.i += 1;
                self.dict_or_set()
            }
            b'+' | b'-' => {
                let negative = self.peek() == Some(b'-');
                self.i += 1;
                self.skip_space();
                match self.number()? {
                    Py::Int(n) => Some(Py::Int(if negative { n.checked_neg()? } else { n })),
                    Py::Float(f) => Some(Py::Float(if negative { -f } else { f })),
                    _ => None,
                }
            }
            b'0'..=b'9' | b'.' => self.number(),
            b'\'' | b'"' => self.strings(),
            _ => self.word(),
        }
    }

    /// `True`, `False`, `None`, or a string with a prefix (`r''`, `b""`, `u''`).
    fn word(&mut self) -> Option<Py> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.i += 1;
        }
        let word = &self.text[start..self.i];
        match word {
            "True" => Some(Py::Bool(true)),
            "False" => Some(Py::Bool(false)),
            "None" => Some(Py::None),
            _ if matches!(self.peek(), Some(b'\'' | b'"'))
                && matches!(
                    word.to_ascii_lowercase().as_str(),
                    "r" | "u" | "b" | "br" | "rb"
                ) =>
            {
                self.i = start;
                self.strings()
            }
            _ => None,
        }
    }

    /// Items up to `close`; also says whether a comma was seen (tuples).
    fn items(&mut self, close: u8) -> Option<(Vec<Py>, bool)> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            self.skip_space();
            if self.eat(close) {
                return Some((items, comma));
            }
            items.push(self.value()?);
            self.skip_space();
            if self.eat(b',') {
                comma = true;
            } else {
                self.skip_space();
                return self.eat(close).then_some((items, comma));
            }
        }
    }

    /// After `{`: `{}` and `{k: v}` are dicts, `{a, b}` a set (a list for Ansible).
    fn dict_or_set(&mut self) -> Option<Py> {
        self.skip_space();
        if self.eat(b'}') {
            return Some(Py::Dict(Vec::new()));
        }
        let first = self.value()?;
        self.skip_space();
        if self.eat(b':') {
            let mut entries = vec![(first, self.value()?)];
            loop {
                self.skip_space();
                if self.eat(b'}') {
                    return Some(Py::Dict(entries));
                }
                if !self.eat(b',') {
                    return None;
                }
                self.skip_space();
                if self.eat(b'}') {
                    return Some(Py::Dict(entries));
                }
                let key = self.value()?;
                self.skip_space();
                if !self.eat(b':') {
                    return None;
                }
                entries.push((key, self.value()?));
            }
        }
        let mut items = vec![first];
        if self.eat(b',') {
            let (rest, _) = self.items(b'}')?;
            items.extend(rest);
        } else if !self.eat(b'}') {
            return None;
        }
        Some(Py::List(items))
    }

    /// Python numbers: `12`, `1_000`, `0x1f`, `0o17`, `0b1`, `1.5`, `.5`, `1e3`. Leading zeros
    /// in a decimal integer (`010`) are a syntax error in Python, so such text stays a string;
    /// imaginary numbers are left as text too.
    fn number(&mut self) -> Option<Py> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            || (matches!(self.peek(), Some(b'+' | b'-'))
                && matches!(self.s.get(self.i.wrapping_sub(1)), Some(b'e' | b'E'))
                && !self.text[start..self.i].starts_with("0x"))
        {
            self.i += 1;
        }
        let raw = &self.text[start..self.i];
        if raw.starts_with('_') || raw.ends_with('_') || raw.contains("__") {
            return None;
        }
        let t = raw.replace('_', "");
        let radix = |prefix: &str, radix: u32| {
            t.get(2..)
                .filter(|_| t.to_ascii_lowercase().starts_with(prefix))
                .and_then(|d| i64::from_str_radix(d, radix).ok())
        };
        if t.len() > 2 && t.starts_with('0') && t.as_bytes()[1].is_ascii_alphabetic() {
            return radix("0x", 16)
                .or_else(|| radix("0o", 8))
                .or_else(|| radix("0b", 2))
                .map(Py::Int);
        }
        if t.bytes().all(|b| b.is_ascii_digit()) {
            if t.len() > 1 && t.starts_with('0') && t.bytes().any(|b| b != b'0') {
                return None;
            }
            return t.parse().ok().map(Py::Int);
        }
        let float_chars = t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
        if float_chars && t.bytes().any(|b| b.is_ascii_digit()) {
            return t.parse().ok().map(Py::Float);
        }
        None
    }

    /// One or more adjacent string literals (Python concatenates them).
    fn strings(&mut self) -> Option<Py> {
        let mut out = String::new();
        loop {
            out.push_str(&self.string()?);
            let save = self.i;
            self.skip_space();
            let next = self.peek();
            let prefixed = next.is_some_and(|b| b.is_ascii_alphabetic());
            if matches!(next, Some(b'\'' | b'"')) || prefixed {
                if prefixed && !self.s[self.i..].iter().any(|b| *b == b'\'' || *b == b'"') {
                    self.i = save;
                    return Some(Py::Str(out));
                }
                continue;
            }
            self.i = save;
            return Some(Py::Str(out));
        }
    }

    /// One string literal with its prefix, quotes and Python's escapes.
    fn string(&mut self) -> Option<String> {
        let mut raw = false;
        while let Some(b) = self.peek() {
            match b.to_ascii_lowercase() {
                b'r' => raw = true,
                b'u' | b'b' => {}
                _ => break,
            }
            self.i += 1;
        }
        let quote = self.peek().filter(|q| matches!(q, b'\'' | b'"'))?;
        let triple = self.s.get(self.i..self.i + 3) == Some(&[quote, quote, quote][..]);
        self.i += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let rest = &self.text[self.i..];
            let c = rest.chars().next()?;
            if c as u32 == u32::from(quote) {
                if !triple {
                    self.i += 1;
                    return Some(out);
                }
                if rest.as_bytes().get(..3) == Some(&[quote, quote, quote][..]) {
                    self.i += 3;
                    return Some(out);
                }
            }
            if c == '\n' && !triple {
                return None;
            }
            self.i += c.len_utf8();
            if c != '\\' {
                out.push(c);
                continue;
            }
            let e = self.text[self.i..].chars().next()?;
            self.i += e.len_utf8();
            if raw {
                out.push('\\');
                out.push(e);
                continue;
            }
            match e {
                '\n' => {}
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0'..='7' => {
                    let mut n = e.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek().and_then(|b| char::from(b).to_digit(8)) {
                            Some(d) => {
                                n = n * 8 + d;
                                self.i += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(n)?);
                }
                'x' | 'u' | 'U' => {
                    let len = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex = self.text.get(self.i..self.i + len)?;
                    out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
                    self.i += len;
                }
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'v' => out.push('\x0b'),
                '\\' | '\'' | '"' => out.push(e),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Py};

    fn s(v: &str) -> Py {
        Py::Str(v.to_owned())
    }

    #[test]
    fn python_literals_are_typed() {
        assert_eq!(parse("123"), Some(Py::Int(123)));
        assert_eq!(parse("-5"), Some(Py::Int(-5)));
        assert_eq!(parse("1_000"), Some(Py::Int(1000)));
        assert_eq!(parse("0x1F"), Some(Py::Int(31)));
        assert_eq!(parse("0o17"), Some(Py::Int(15)));
        assert_eq!(parse("1.5"), Some(Py::Float(1.5)));
        assert_eq!(parse("1e3"), Some(Py::Float(1000.0)));
        assert_eq!(parse("True"), Some(Py::Bool(true)));
        assert_eq!(parse("None"), Some(Py::None));
        assert_eq!(parse("'a b'"), Some(s("a b")));
        assert_eq!(parse(r#""x\ty""#), Some(s("x\ty")));
        assert_eq!(parse(r"r'\d'"), Some(s(r"\d")));
        assert_eq!(parse("'a' 'b'"), Some(s("ab")));
        assert_eq!(parse("\"'03#pa33w0rd'\""), Some(s("'03#pa33w0rd'")));
        assert_eq!(
            parse("[1, 'two', [3]]"),
            Some(Py::List(vec![
                Py::Int(1),
                s("two"),
                Py::List(vec![Py::Int(3)])
            ]))
        );
        assert_eq!(parse("(1,)"), Some(Py::List(vec![Py::Int(1)])));
        assert_eq!(parse("(7)"), Some(Py::Int(7)));
        assert_eq!(
            parse("80,443"),
            Some(Py::List(vec![Py::Int(80), Py::Int(443)]))
        );
        assert_eq!(
            parse("{'a': 1, 'b': [True]}"),
            Some(Py::Dict(vec![
                (s("a"), Py::Int(1)),
                (s("b"), Py::List(vec![Py::Bool(true)]))
            ]))
        );
        assert_eq!(
            parse("{1, 2}"),
            Some(Py::List(vec![Py::Int(1), Py::Int(2)]))
        );
        assert_eq!(parse("{}"), Some(Py::Dict(Vec::new())));
        assert_eq!(parse("23 # a comment"), Some(Py::Int(23)));
    }

    #[test]
    fn anything_else_stays_text() {
        for text in [
            "hello",
            "FALSE",
            "true",
            "yes",
            "010",
            "1.2.3",
            "a,b",
            "web01",
            "/srv/app",
            "{{ x }}",
            "'open",
            "[1, 2",
            "--1",
            "1 + 2",
            "hello # not a comment",
            "1j",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
