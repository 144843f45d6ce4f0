//! `urlencode`, with Jinja's semantics (the filter Ansible content uses, which minijinja only
//! ships behind a feature recon does not build): a string is percent-encoded as UTF-8 keeping
//! `/`; a mapping, or a list of pairs, becomes a query string `k=v&k2=v2` in which nothing is
//! kept and a space is `+`. Other values are encoded as their Python `str()`.

use std::fmt::Write as _;

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error};

use super::pyrepr::py_str;

/// Registers `urlencode` (its `ansible.builtin.` name too).
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("urlencode", urlencode);
    env.add_filter("ansible.builtin.urlencode", urlencode);
}

/// Python's `urllib.parse.quote` on UTF-8: unreserved bytes (and `/` unless `for_query`)
/// stay, the rest become `%XX`; in a query, a space is `+` (Jinja's `url_quote(for_qs=True)`).
fn quote(text: &str, for_query: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || (!for_query && b == b'/') {
            out.push(char::from(b));
        } else if for_query && b == b' ' {
            out.push('+');
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn urlencode(value: &Value) -> Result<String, Error> {
    let pair =
        |k: &Value, v: &Value| format!("{}={}", quote(&py_str(k), true), quote(&py_str(v), true));
    match value.kind() {
        ValueKind::Map => Ok(value
            .try_iter()?
            .map(|k| {
                let v = value.get_item(&k).unwrap_or_default();
                pair(&k, &v)
            })
            .collect::<Vec<_>>()
            .join("&")),
        ValueKind::Seq | ValueKind::Iterable => value
            .try_iter()?
            .map(|item| {
                let (k, v) = (item.get_item_by_index(0)?, item.get_item_by_index(1)?);
                Ok(pair(&k, &v))
            })
            .collect::<Result<Vec<_>, Error>>()
            .map(|parts| parts.join("&")),
        _ => Ok(quote(&py_str(value), false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str) -> String {
        let mut env = Environment::new();
        register(&mut env);
        env.render_str(template, ()).expect("renders")
    }

    #[test]
    fn strings_keep_slashes_and_queries_use_plus() {
        assert_eq!(
            render("{{ 'a b/c&d=é~' | urlencode }}"),
            "a%20b/c%26d%3D%C3%A9~"
        );
        assert_eq!(
            render("{{ {'q': 'my search', 'p/x': 1} | urlencode }}"),
            "q=my+search&p%2Fx=1"
        );
        assert_eq!(
            render("{{ [['a', 'b c'], ['d', 2]] | urlencode }}"),
            "a=b+c&d=2"
        );
        assert_eq!(render("{{ 42 | ansible.builtin.urlencode }}"), "42");
    }
}
