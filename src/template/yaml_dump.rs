//! `to_yaml` and `to_nice_yaml` as Ansible writes them: PyYAML's `yaml.dump` layout, because
//! templates splice its output into config files that both tools must write byte for byte
//! (a public role's `loki.yml` is built from `to_nice_yaml(indent=2, sort_keys=False)`).
//! Keys sorted unless `sort_keys=False` (then in the mapping's own order), nested mappings
//! `indent` deeper (4 for `to_nice_yaml`, 2 for `to_yaml`), lists at their key's indent, a list
//! item's first entry on the dash's line, PyYAML's quoting (plain, else single quotes, else double),
//! and for `to_yaml` PyYAML's default flow style: a collection of scalars only on one line.

// minijinja hands filters their arguments by value (`Kwargs`): that is its signature.
#![allow(clippy::needless_pass_by_value)]

use std::fmt::Write as _;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::Error;

use super::filters::invalid;

/// How one call lays its YAML out (the `yaml.dump` keywords Ansible passes through).
struct Style {
    /// Spaces per nesting level of a mapping.
    indent: usize,
    sort_keys: bool,
    /// PyYAML's `default_flow_style=None` (`to_yaml`): leaf collections on one line.
    flow_leaves: bool,
}

/// `to_yaml`: indent 2, keys sorted, leaf collections in flow style.
pub(super) fn to_yaml(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    dump(&v, &kwargs, 2, true)
}

/// `to_nice_yaml`: indent 4, keys sorted, block style throughout.
pub(super) fn to_nice_yaml(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    dump(&v, &kwargs, 4, false)
}

fn dump(v: &Value, kwargs: &Kwargs, indent: usize, flow_leaves: bool) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(indent);
    let style = Style {
        // PyYAML falls back to 2 outside 2..9.
        indent: if (2..=9).contains(&indent) { indent } else { 2 },
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true),
        flow_leaves,
    };
    kwargs.assert_all_used()?;
    dump_with(v, &style)
}

fn dump_with(v: &Value, style: &Style) -> Result<String, Error> {
    let mut out = String::new();
    if is_collection(v) {
        node(v, 0, style, &mut out)?;
    } else {
        // PyYAML ends a lone plain scalar with the document end marker.
        out.push_str(&scalar(v, false)?);
        out.push('\n');
        if !out.starts_with(['\'', '"']) {
            out.push_str("...\n");
        }
    }
    Ok(out)
}

/// A non-empty list or mapping (empty ones are the scalars `[]` and `{}`).
fn is_collection(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::Map) && v.len().is_some_and(|n| n > 0)
}

/// The mapping's keys, sorted by their text when the style says so.
fn keys(v: &Value, style: &Style) -> Result<Vec<Value>, Error> {
    let mut keys: Vec<Value> = v.try_iter()?.collect();
    if style.sort_keys {
        keys.sort_by_key(ToString::to_string);
    }
    Ok(keys)
}

/// A collection in block style, its lines at column `col`.
fn node(v: &Value, col: usize, style: &Style, out: &mut String) -> Result<(), Error> {
    let pad = " ".repeat(col);
    if v.kind() == ValueKind::Seq {
        for item in v.try_iter()? {
            if is_collection(&item) && !(style.flow_leaves && is_leaf(&item)) {
                // The item's block one level in, its first line moved up onto the dash's.
                let mut inner = String::new();
                node(&item, col + style.indent, style, &mut inner)?;
                out.push_str(&pad);
                out.push('-');
                out.push_str(&" ".repeat(style.indent - 1));
                out.push_str(&inner[col + style.indent..]);
            } else {
                let _ = writeln!(out, "{pad}- {}", value_text(&item, style)?);
            }
        }
        return Ok(());
    }
    for key in keys(v, style)? {
        let item = v.get_item(&key)?;
        let _ = write!(out, "{pad}{}:", scalar(&key, false)?);
        if is_collection(&item) && !(style.flow_leaves && is_leaf(&item)) {
            out.push('\n');
            // PyYAML puts a mapping's list at the key's own indent.
            let inner = if item.kind() == ValueKind::Seq {
                col
            } else {
                col + style.indent
            };
            node(&item, inner, style, out)?;
        } else {
            let _ = writeln!(out, " {}", value_text(&item, style)?);
        }
    }
    Ok(())
}

/// A collection holding scalars only, not even an empty collection (PyYAML's flow candidates
/// under `default_flow_style=None`).
fn is_leaf(v: &Value) -> bool {
    let scalar = |i: &Value| !matches!(i.kind(), ValueKind::Seq | ValueKind::Map);
    v.try_iter().is_ok_and(|mut items| match v.kind() {
        ValueKind::Map => items.all(|k| v.get_item(&k).is_ok_and(|i| scalar(&i))),
        _ => items.all(|i| scalar(&i)),
    })
}

/// A scalar, or a leaf collection in flow style.
fn value_text(v: &Value, style: &Style) -> Result<String, Error> {
    if !is_collection(v) {
        return scalar(v, false);
    }
    let parts: Vec<String> = if v.kind() == ValueKind::Seq {
        v.try_iter()?
            .map(|i| scalar(&i, true))
            .collect::<Result<_, _>>()?
    } else {
        keys(v, style)?
            .iter()
            .map(|k| {
                Ok(format!(
                    "{}: {}",
                    scalar(k, true)?,
                    scalar(&v.get_item(k)?, true)?
                ))
            })
            .collect::<Result<_, Error>>()?
    };
    Ok(if v.kind() == ValueKind::Seq {
        format!("[{}]", parts.join(", "))
    } else {
        format!("{{{}}}", parts.join(", "))
    })
}

/// One scalar as PyYAML writes it; `flow` inside `[...]`/`{...}`, where `,[]{}` need quotes.
fn scalar(v: &Value, flow: bool) -> Result<String, Error> {
    Ok(match v.kind() {
        ValueKind::None | ValueKind::Undefined => "null".to_owned(),
        ValueKind::Bool => if v.is_true() { "true" } else { "false" }.to_owned(),
        ValueKind::Number => v.to_string(),
        ValueKind::Seq => "[]".to_owned(),
        ValueKind::Map => "{}".to_owned(),
        ValueKind::String => string(v.as_str().unwrap_or_default(), flow),
        other => return Err(invalid(format!("cannot write a {other} as YAML"))),
    })
}

/// PyYAML's choice of style for a string: plain when it reads back as the same string, else
/// single-quoted, else (line breaks, control characters) double-quoted.
fn string(s: &str, flow: bool) -> String {
    if s.chars().any(char::is_control) {
        return serde_json::Value::from(s).to_string();
    }
    if plain(s, flow) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// Whether PyYAML writes `s` unquoted (its `analyze_scalar`): no leading or trailing space, no
/// indicator first (`-`, `?`, `:` only before a space), no `": "`/`" #"`, no final `:`, in
/// flow context none of `,?[]{}:`, and it must not read back as a bool, null or number. A date
/// (`2020-10-24`) stays plain: YAML loads it as a date, which PyYAML writes plain.
fn plain(s: &str, flow: bool) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let spaced = chars.next().is_none_or(|c| c == ' ');
    let indicator = "#,[]{}&*!|>'\"%@` ".contains(first)
        || ("-?:".contains(first) && spaced)
        || s.starts_with("---")
        || s.starts_with("...");
    let breaks_plain = s.ends_with([' ', ':']) || s.contains(": ") || s.contains(" #");
    let breaks_flow = flow && s.contains([',', '?', '[', ']', '{', '}', ':']);
    !(indicator || breaks_plain || breaks_flow || resolves_to_other(s))
}

/// YAML 1.1's implicit types that PyYAML's resolver would read `s` as (not a string).
fn resolves_to_other(s: &str) -> bool {
    let special = matches!(
        s,
        "~" | "null"
            | "Null"
            | "NULL"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "-.inf"
            | "+.inf"
            | ".nan"
            | ".NaN"
            | ".NAN"
            | "="
            | "<<"
    );
    let digits = s.trim_start_matches(['-', '+']).replace('_', "");
    let number = !digits.is_empty()
        && (digits.parse::<f64>().is_ok() && !digits.contains(['i', 'I', 'n', 'N'])
            || digits.starts_with("0x") && u64::from_str_radix(&digits[2..], 16).is_ok()
            || digits.starts_with("0b") && u64::from_str_radix(&digits[2..], 2).is_ok());
    special || number
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    /// `expr` rendered with both filters registered.
    fn render(expr: &str) -> String {
        let mut env = Environment::new();
        env.add_filter("to_yaml", super::to_yaml);
        env.add_filter("to_nice_yaml", super::to_nice_yaml);
        env.render_str(expr, ()).expect("render")
    }

    /// Each expectation is ansible-core 2.19's output for the same expression.
    #[test]
    fn yaml_is_laid_out_as_pyyaml_lays_it_out() {
        let data = "{'b': '3100', 'a': [1, {'x': \"it's\", 'y': []}], 'c': {'d': 'yes'}, 'f': 'a: b', 'g': ''}";
        assert_eq!(
            render(&format!("{{{{ {data} | to_nice_yaml }}}}")),
            "a:\n- 1\n-   x: it's\n    y: []\nb: '3100'\nc:\n    d: 'yes'\nf: 'a: b'\ng: ''\n"
        );
        assert_eq!(
            render(&format!(
                "{{{{ {data} | to_nice_yaml(indent=2, sort_keys=False) }}}}"
            )),
            "b: '3100'\na:\n- 1\n- x: it's\n  y: []\nc:\n  d: 'yes'\nf: 'a: b'\ng: ''\n"
        );
        assert_eq!(
            render("{{ {'b': 1, 'a': {'z': [1, 'yes', 'a,b']}} | to_yaml }}"),
            "a:\n  z: [1, 'yes', 'a,b']\nb: 1\n"
        );
        assert_eq!(
            render("{{ [{'url': 'http://h:9093', 'n': '0x1F'}] | to_nice_yaml(indent=2) }}"),
            "- n: '0x1F'\n  url: http://h:9093\n"
        );
        // A date YAML loaded (`from: 2020-10-24`) is text to recon; PyYAML writes the date
        // plain, so recon does too (Ansible quotes a *string* that looks like a date).
        assert_eq!(
            render("{{ {'from': '2020-10-24'} | to_nice_yaml }}"),
            "from: 2020-10-24\n"
        );
    }
}
