//! Ansible's free-form `key=value` arguments (`file: path=/x state=directory`, `command: ls -l
//! chdir=/tmp`): split as Ansible's `parse_kv` does, quotes and `{{ }}` kept together, into a
//! mapping node the module table reads like any other.

use crate::error::{Error, Result};
use crate::yaml::{Node, Value};

/// The key Ansible gives the words that are not `key=value` (a command line).
pub(crate) const RAW: &str = "_raw_params";

/// Keys a `command`/`shell` line may carry; every other `x=y` word stays part of the command.
const COMMAND_KEYS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// A quote opened in free-form arguments and never closed: the one way they fail to split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UnbalancedQuotes;

impl std::fmt::Display for UnbalancedQuotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unbalanced quotes")
    }
}

/// Splits `text` into words: spaces separate, quotes and `{{ }}`/`{% %}` group; quotes are kept
/// (callers strip them from values).
fn words(text: &str) -> Result<Vec<String>, UnbalancedQuotes> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), _) if c == q => {
                quote = None;
                word.push(c);
            }
            (Some(_), '\\') => {
                word.push(c);
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            (None, '\'' | '"') if depth == 0 => {
                quote = Some(c);
                word.push(c);
            }
            (None, '{') if matches!(chars.peek(), Some('{' | '%')) => {
                depth += 1;
                word.push(c);
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            (None, '}' | '%') if depth > 0 && chars.peek() == Some(&'}') => {
                depth -= 1;
                word.push(c);
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            (None, c) if c.is_whitespace() && depth == 0 => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            (_, _) => word.push(c),
        }
    }
    if quote.is_some() {
        return Err(UnbalancedQuotes);
    }
    if !word.is_empty() {
        out.push(word);
    }
    Ok(out)
}

/// Strips one pair of matching outer quotes.
fn unquote(value: &str) -> String {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return value[1..value.len() - 1].to_owned();
        }
    }
    value.to_owned()
}

/// Ansible decodes escape sequences in `key=value` words (`content="a\nb"` holds a newline):
/// `\\`, `\'`, `\"`, `\a\b\f\n\r\t\v`, `\xHH`, `\uHHHH`, `\UHHHHHHHH`; anything else stays.
fn decode_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let simple = match tail.chars().next() {
            Some('\\') => Some('\\'),
            Some('\'') => Some('\''),
            Some('"') => Some('"'),
            Some('a') => Some('\u{7}'),
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            Some('v') => Some('\u{b}'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            rest = &tail[1..];
            continue;
        }
        let hex = match tail.chars().next() {
            Some('x') => 2,
            Some('u') => 4,
            Some('U') => 8,
            _ => 0,
        };
        let code = tail
            .get(1..=hex)
            .filter(|h| hex > 0 && h.chars().all(|c| c.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        if let Some(c) = code {
            out.push(c);
            rest = &tail[1 + hex..];
        } else {
            out.push('\\');
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// `key=value` when `key` is a plain identifier.
fn key_value(word: &str) -> Option<(&str, &str)> {
    let (k, v) = word.split_once('=')?;
    let ident = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ident.then_some((k, v))
}

/// Parses a free-form argument string. For `command`-like modules (`raw_allowed`) words that are
/// not one of their keys become `_raw_params`; for the others every word must be `key=value`.
pub(crate) fn parse(node: &Node, raw_allowed: bool) -> Result<Node> {
    let text = node.scalar_text().unwrap_or_default();
    let words = words(text).map_err(|e| {
        Error::invalid(format!("free-form arguments: {e}"), &node.span).with_label("here")
    })?;
    let mut entries = Vec::new();
    let mut raw: Vec<String> = Vec::new();
    for word in &words {
        let decoded = decode_escapes(word);
        match key_value(&decoded) {
            Some((k, v)) if !raw_allowed || COMMAND_KEYS.contains(&k) => {
                entries.push((
                    Node::string(k.to_owned(), node.span.clone()),
                    Node {
                        value: Value::Scalar {
                            text: unquote(v),
                            plain: true,
                        },
                        span: node.span.clone(),
                    },
                ));
            }
            _ if raw_allowed => raw.push(word.clone()),
            _ => {
                return Err(Error::invalid(
                    format!("free-form argument `{word}` is not `key=value`"),
                    &node.span,
                )
                .with_label("in these arguments"))
            }
        }
    }
    if !raw.is_empty() {
        entries.insert(
            0,
            (
                Node::string(RAW.to_owned(), node.span.clone()),
                Node::string(raw.join(" "), node.span.clone()),
            ),
        );
    }
    Ok(Node {
        value: Value::Map(entries),
        span: node.span.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn parsed(text: &str, raw: bool) -> Vec<(String, String)> {
        let file = SourceFile::new("t.yml", text.to_owned());
        let node = Node::string(
            text.to_owned(),
            crate::source::Span {
                file,
                start: 0,
                end: text.len(),
            },
        );
        parse(&node, raw)
            .expect("parse")
            .as_map()
            .expect("map")
            .iter()
            .map(|(k, v)| (k.key().to_owned(), v.scalar_text().unwrap_or("").to_owned()))
            .collect()
    }

    #[test]
    fn escapes_in_key_values_are_decoded_as_ansible_does() {
        assert_eq!(
            parsed(r#"dest=/x content="a\nb\t\x41\u00e9 \q""#, false),
            vec![
                ("dest".to_owned(), "/x".to_owned()),
                ("content".to_owned(), "a\nb\tAé \\q".to_owned())
            ]
        );
        // A command's own words keep their backslashes.
        assert_eq!(
            parsed(r"printf a\nb", true),
            vec![(RAW.to_owned(), r"printf a\nb".to_owned())]
        );
    }

    #[test]
    fn key_values_with_quotes_and_templates() {
        let got = parsed(
            "path=/srv/{{ app name }} state=directory mode='0755' owner=\"a b\"",
            false,
        );
        assert_eq!(
            got,
            [
                ("path", "/srv/{{ app name }}"),
                ("state", "directory"),
                ("mode", "0755"),
                ("owner", "a b")
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }

    #[test]
    fn command_keeps_its_words_and_takes_its_keys() {
        let got = parsed("echo a=b 'c d' creates=/x chdir=/tmp", true);
        assert_eq!(got[0], ("_raw_params".into(), "echo a=b 'c d'".into()));
        assert_eq!(got[1], ("creates".into(), "/x".into()));
        assert_eq!(got[2], ("chdir".into(), "/tmp".into()));
    }
}
