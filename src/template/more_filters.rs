//! Filters public roles use that neither minijinja nor the other filter files have: Jinja's
//! `truncate`, `center`, `filesizeformat`, `striptags`, `forceescape`; Ansible's `path_join`,
//! `extract`, `to_uuid`, the math filters (`log`, `pow`, `root`, `combinations`,
//! `permutations`), the `mount` test; and `json_query`/`dict_kv` from community.general, which
//! roles call by their short names too. Each behaves as its Python original does.

// minijinja hands filters their arguments by value (`String`, `Kwargs`): that is its signature.
#![allow(clippy::needless_pass_by_value)]

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, State};

use super::extra_filters::alias_filters;
use super::filters::invalid;

/// The filters registered here that Ansible also knows as `ansible.builtin.NAME`.
pub(super) const BUILTIN: &[&str] = &[
    "path_join",
    "extract",
    "to_uuid",
    "log",
    "pow",
    "root",
    "combinations",
    "permutations",
    "truncate",
    "center",
    "filesizeformat",
    "striptags",
    "forceescape",
    "split",
];

/// The namespace `to_uuid` uses when none is given (Ansible's `UUID_NAMESPACE_ANSIBLE`).
const ANSIBLE_NAMESPACE: &str = "361E6D51-FAEC-444A-9079-341386DA8E2E";

/// Registers the filters and the test above on `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("path_join", path_join);
    env.add_filter("extract", extract);
    env.add_filter("to_uuid", to_uuid);
    env.add_filter("log", |x: f64, base: Option<f64>| match base {
        Some(b) => x.ln() / b.ln(),
        None => x.ln(),
    });
    env.add_filter("pow", |x: f64, y: f64| x.powf(y));
    env.add_filter("root", |x: f64, base: Option<f64>| match base {
        None | Some(2.0) => x.sqrt(),
        Some(b) => x.powf(1.0 / b),
    });
    env.add_filter("combinations", |items: Vec<Value>, r: usize| {
        let mut out = Vec::new();
        choose(&items, r, 0, &mut Vec::new(), &mut out);
        out
    });
    env.add_filter("permutations", |items: Vec<Value>, r: Option<usize>| {
        let mut out = Vec::new();
        arrange(&items, r.unwrap_or(items.len()), &mut Vec::new(), &mut out);
        out
    });
    env.add_filter("truncate", truncate);
    env.add_filter("center", center);
    env.add_filter("filesizeformat", minijinja_contrib::filters::filesizeformat);
    env.add_filter("striptags", minijinja_contrib::filters::striptags);
    env.add_filter(
        "forceescape",
        |state: &State, value: Value| -> Result<Value, Error> {
            state.apply_filter("escape", &[Value::from(value.to_string())])
        },
    );
    env.add_filter("json_query", json_query);
    env.add_filter("dict_kv", |value: Value, key: Value| {
        Value::from_iter([(key, value)])
    });
    env.add_test("mount", |path: String| is_mount(&path));
    alias_filters(env, "ansible.builtin.", BUILTIN);
    alias_filters(env, "community.general.", &["json_query", "dict_kv"]);
    env.add_test("ansible.builtin.mount", |path: String| is_mount(&path));
}

/// `os.path.join`: parts joined by `/`, an absolute part starting over.
fn path_join(parts: Value) -> Result<String, Error> {
    let parts: Vec<String> = if let Some(s) = parts.as_str() {
        vec![s.to_owned()]
    } else {
        parts
            .try_iter()?
            .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
            .collect()
    };
    let mut out = String::new();
    for part in parts {
        if part.starts_with('/') {
            out = part;
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(&part);
        } else {
            out.push('/');
            out.push_str(&part);
        }
    }
    Ok(out)
}

/// `extract(container, morekeys)`: `container[item]`, then each of `morekeys` in turn (a key
/// that is not there gives an undefined value, as in Ansible).
fn extract(item: Value, container: Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let mut value = container.get_item(&item)?;
    if let Some(more) = morekeys {
        let keys: Vec<Value> = match more.kind() {
            minijinja::value::ValueKind::Seq => more.try_iter()?.collect(),
            _ => vec![more],
        };
        for key in keys {
            value = value.get_item(&key)?;
        }
    }
    Ok(value)
}

/// `to_uuid(namespace)`: a version 5 UUID of the text (RFC 4122: SHA-1 of namespace and name).
fn to_uuid(name: String, namespace: Option<String>) -> Result<String, Error> {
    use sha1::Digest as _;
    let namespace = namespace.unwrap_or_else(|| ANSIBLE_NAMESPACE.to_owned());
    let hex: String = namespace.chars().filter(|c| *c != '-').collect();
    let ns = hex::decode(&hex)
        .ok()
        .filter(|b| b.len() == 16)
        .ok_or_else(|| invalid(format!("to_uuid: `{namespace}` is not a UUID")))?;
    let mut hasher = sha1::Sha1::new();
    hasher.update(&ns);
    hasher.update(name.as_bytes());
    let mut bytes: Vec<u8> = hasher.finalize()[..16].to_vec();
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// Python's `itertools.combinations`, in its order.
fn choose(items: &[Value], r: usize, from: usize, chosen: &mut Vec<Value>, out: &mut Vec<Value>) {
    if chosen.len() == r {
        out.push(Value::from(chosen.clone()));
        return;
    }
    for i in from..items.len() {
        chosen.push(items[i].clone());
        choose(items, r, i + 1, chosen, out);
        chosen.pop();
    }
}

/// Python's `itertools.permutations`, in its order (by position, as Python's).
fn arrange(items: &[Value], r: usize, used: &mut Vec<usize>, out: &mut Vec<Value>) {
    if used.len() == r {
        out.push(Value::from(
            used.iter().map(|i| items[*i].clone()).collect::<Vec<_>>(),
        ));
        return;
    }
    for i in 0..items.len() {
        if used.contains(&i) {
            continue;
        }
        used.push(i);
        arrange(items, r, used, out);
        used.pop();
    }
}

/// Jinja's `truncate(length=255, killwords=False, end='...', leeway=5)`, positional or named
/// (`leeway` named only).
fn truncate(
    s: String,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let length = kwargs
        .get::<Option<usize>>("length")?
        .or(length)
        .unwrap_or(255);
    let killwords = kwargs
        .get::<Option<bool>>("killwords")?
        .or(killwords)
        .unwrap_or(false);
    let end = kwargs
        .get::<Option<String>>("end")?
        .or(end)
        .unwrap_or_else(|| "...".to_owned());
    let leeway = kwargs.get::<Option<usize>>("leeway")?.unwrap_or(5);
    kwargs.assert_all_used()?;
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway {
        return Ok(s);
    }
    let keep: String = chars[..length.saturating_sub(end.chars().count())]
        .iter()
        .collect();
    if killwords {
        return Ok(keep + &end);
    }
    let cut = keep
        .rsplit_once(' ')
        .map_or(keep.as_str(), |(head, _)| head);
    Ok(format!("{cut}{end}"))
}

/// Python's `str.center(width)`: the odd space goes where CPython puts it.
fn center(s: String, width: Option<usize>) -> String {
    let width = width.unwrap_or(80);
    let len = s.chars().count();
    if width <= len {
        return s;
    }
    let marg = width - len;
    let left = marg / 2 + (marg & width & 1);
    format!("{}{s}{}", " ".repeat(left), " ".repeat(marg - left))
}

/// community.general's `json_query`: a JMESPath query over the value.
fn json_query(data: Value, expr: String) -> Result<Value, Error> {
    let compiled = jmespath::compile(&expr)
        .map_err(|e| invalid(format!("json_query: `{expr}` is not a JMESPath query: {e}")))?;
    let json = serde_json::to_value(&data).map_err(|e| invalid(format!("json_query: {e}")))?;
    let found = compiled
        .search(json)
        .map_err(|e| invalid(format!("json_query: {e}")))?;
    Ok(Value::from_serialize(&*found))
}

/// Python's `os.path.ismount`: the path is on another device than its parent, or is the root.
fn is_mount(path: &str) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let path = std::path::Path::new(path);
    let (Ok(here), Ok(up)) = (
        std::fs::symlink_metadata(path),
        std::fs::metadata(path.join("..")),
    ) else {
        return false;
    };
    !here.file_type().is_symlink() && (here.dev() != up.dev() || here.ino() == up.ino())
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    fn render(template: &str) -> String {
        let mut env = Environment::new();
        super::register(&mut env);
        env.render_str(template, ()).expect("renders")
    }

    #[test]
    fn they_answer_as_python_and_ansible_do() {
        assert_eq!(
            render("{{ ['/etc', 'nginx', 'x.conf'] | path_join }}"),
            "/etc/nginx/x.conf"
        );
        assert_eq!(render("{{ ['a', '/b', 'c'] | path_join }}"), "/b/c");
        assert_eq!(
            render("{{ [1, 0] | map('extract', ['a', 'b']) | join }}"),
            "ba"
        );
        // Ansible 2.x: {{ 'example.com' | to_uuid }}.
        assert_eq!(
            render("{{ 'example.com' | to_uuid }}"),
            "ae780c3a-a3ab-53c2-bfb4-098da300b3fe"
        );
        assert_eq!(
            render("{{ 8 | log(2) }} {{ 2 | pow(3) }} {{ 9 | root }}"),
            "3.0 8.0 3.0"
        );
        assert_eq!(
            render("{{ [1, 2, 3] | combinations(2) | list }}"),
            "[[1, 2], [1, 3], [2, 3]]"
        );
        assert_eq!(
            render("{{ [1, 2, 3] | permutations(2) | list | length }}"),
            "6"
        );
        assert_eq!(
            render("{{ 'foo bar baz qux' | truncate(9) }}|{{ 'foo bar baz' | truncate(9, True, '..', leeway=0) }}"),
            "foo...|foo bar..",
        );
        assert_eq!(render("[{{ 'ab' | center(5) }}]"), "[  ab ]");
        assert_eq!(render("{{ 1024 | filesizeformat }}"), "1.0 kB");
        assert_eq!(
            render("{{ {'a': [{'n': 1}, {'n': 2}]} | json_query('a[].n') }}"),
            "[1, 2]"
        );
        assert_eq!(render("{{ 'v' | dict_kv('k') }}"), "{\"k\": \"v\"}");
        assert_eq!(
            render("{{ '/' is mount }} {{ '/etc' is mount }}"),
            "True False"
        );
    }
}
