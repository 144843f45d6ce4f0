//! How Ansible prints a value inside text: Python's `str()`, so a list in `"{{ items }}"` reads
//! `['a', 'b']` and a mapping `{'k': 1}`, byte for byte what the same template gives under
//! Ansible (minijinja's own display is JSON-like).

use std::fmt::Write as _;

use minijinja::value::{Value, ValueKind};

/// Python's `str(value)`: strings as they are, containers as `repr`.
pub(crate) fn py_str(value: &Value) -> String {
    match value.kind() {
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => py_repr(value),
        _ => value.to_string(),
    }
}

/// Python's `repr(value)` for the values templates hold.
fn py_repr(value: &Value) -> String {
    match value.kind() {
        ValueKind::String => quote(value.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = value
                .try_iter()
                .map(|it| it.map(|v| py_repr(&v)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let entries: Vec<String> = value
                .try_iter()
                .map(|keys| {
                    keys.map(|k| {
                        let v = value.get_item(&k).unwrap_or_default();
                        format!("{}: {}", py_repr(&k), py_repr(&v))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", entries.join(", "))
        }
        ValueKind::Undefined | ValueKind::None => "None".to_owned(),
        _ => value.to_string(),
    }
}

/// A Python string literal: single quotes unless the text has one and no double quote.
fn quote(text: &str) -> String {
    let q = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(q);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_print_as_python_does() {
        let v = Value::from_serialize(serde_json::json!(["a", 1, true, null, {"k": "it's"}]));
        assert_eq!(py_str(&v), r#"['a', 1, True, None, {'k': "it's"}]"#);
        assert_eq!(py_str(&Value::from("plain")), "plain");
        assert_eq!(quote("a\nb'\""), r#"'a\nb\'"'"#);
    }
}
