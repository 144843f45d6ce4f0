//! More of Ansible's filters and tests, as roles in the wild use them: set operations on lists
//! (`union`, `difference`, `intersect`, `symmetric_difference`, `zip_longest`, `product`,
//! `subelements`), paths (`splitext`, `relpath`, `realpath`, `expanduser`), text (`regex_escape`,
//! `comment`, `from_yaml`, `checksum`/`sha1`/`md5`, `urlsplit`, `type_debug`), sizes
//! (`human_readable`, `human_to_bytes`), seeded `random`/`shuffle`, the `truthy`/`falsy` and
//! control-machine path tests, and every Ansible filter and test under its `ansible.builtin.` name.

// minijinja hands filters their arguments by value (`String`, `Kwargs`): that is its signature.
#![allow(clippy::needless_pass_by_value)]

use std::path::{Component, Path, PathBuf};

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use super::filters::invalid;

/// Ansible's filters and tests with an `ansible.builtin.` alias (minijinja's own included, as
/// Ansible content writes `ansible.builtin.default` too).
pub(super) const ALIASED_FILTERS: &[&str] = &[
    "default",
    "d",
    "bool",
    "int",
    "string",
    "list",
    "join",
    "map",
    "select",
    "reject",
    "selectattr",
    "rejectattr",
    "unique",
    "first",
    "last",
    "length",
    "lower",
    "upper",
    "trim",
    "replace",
    "indent",
    "sort",
    "items",
    "dictsort",
    "min",
    "max",
    "sum",
    "float",
    "mandatory",
    "basename",
    "dirname",
    "regex_replace",
    "regex_search",
    "regex_findall",
    "to_json",
    "to_nice_json",
    "to_yaml",
    "to_nice_yaml",
    "from_json",
    "b64encode",
    "b64decode",
    "combine",
    "dict2items",
    "items2dict",
    "flatten",
    "ternary",
    "quote",
    "hash",
    "password_hash",
    "union",
    "difference",
    "intersect",
    "symmetric_difference",
    "zip",
    "zip_longest",
    "product",
    "subelements",
    "splitext",
    "relpath",
    "realpath",
    "expanduser",
    "regex_escape",
    "comment",
    "from_yaml",
    "checksum",
    "sha1",
    "md5",
    "urlsplit",
    "type_debug",
    "human_readable",
    "human_to_bytes",
    "random",
    "shuffle",
];
pub(super) const ALIASED_TESTS: &[&str] = &[
    "defined",
    "undefined",
    "none",
    "string",
    "number",
    "mapping",
    "sequence",
    "iterable",
    "version",
    "version_compare",
    "match",
    "search",
    "regex",
    "changed",
    "failed",
    "succeeded",
    "success",
    "skipped",
    "truthy",
    "falsy",
    "file",
    "directory",
    "link",
    "exists",
    "abs",
    "subset",
    "superset",
    "contains",
    "any",
    "all",
];

/// Registers `PREFIX NAME` for each of `names`, standing for the filter `NAME` (Ansible content
/// writes a collection's full name as often as the short one).
pub(super) fn alias_filters(
    env: &mut Environment<'static>,
    prefix: &str,
    names: &'static [&'static str],
) {
    for name in names {
        env.add_filter(
            format!("{prefix}{name}"),
            move |state: &minijinja::State, args: minijinja::value::Rest<Value>| {
                state.apply_filter(name, &args)
            },
        );
    }
}

/// Registers the filters and tests below on `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("union", |a: Value, b: Value| set_op(&a, &b, Op::Union));
    env.add_filter("difference", |a: Value, b: Value| {
        set_op(&a, &b, Op::Difference)
    });
    env.add_filter("intersect", |a: Value, b: Value| {
        set_op(&a, &b, Op::Intersect)
    });
    env.add_filter("symmetric_difference", |a: Value, b: Value| {
        set_op(&a, &b, Op::Symmetric)
    });
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("product", product);
    env.add_filter("subelements", subelements);
    env.add_filter("splitext", |p: String| {
        let (stem, ext) = splitext(&p);
        Value::from(vec![Value::from(stem), Value::from(ext)])
    });
    env.add_filter("relpath", |p: String, start: String| relpath(&p, &start));
    env.add_filter("realpath", |p: String| {
        std::fs::canonicalize(&p).map_or_else(
            |_| normalize(Path::new(&p)).display().to_string(),
            |r| r.display().to_string(),
        )
    });
    env.add_filter("expanduser", |p: String| expanduser(&p));
    env.add_filter("regex_escape", |s: String| regex::escape(&s));
    env.add_filter("comment", comment);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("checksum", |s: String| digest(&s, false));
    env.add_filter("sha1", |s: String| digest(&s, false));
    env.add_filter("md5", |s: String| digest(&s, true));
    env.add_filter("urlsplit", urlsplit);
    env.add_filter("type_debug", |v: Value| type_debug(&v));
    env.add_filter("human_readable", human_readable);
    env.add_filter("human_to_bytes", human_to_bytes);
    env.add_filter("random", random);
    env.add_filter("shuffle", shuffle);
    env.add_test("truthy", |v: Value| v.is_true());
    env.add_test("falsy", |v: Value| !v.is_true());
    env.add_test("file", |p: String| Path::new(&p).is_file());
    env.add_test("directory", |p: String| Path::new(&p).is_dir());
    env.add_test("link", |p: String| Path::new(&p).is_symlink());
    env.add_test("exists", |p: String| Path::new(&p).exists());
    alias_filters(env, "ansible.builtin.", ALIASED_FILTERS);
    for name in ALIASED_TESTS {
        env.add_test(
            format!("ansible.builtin.{name}"),
            move |state: &minijinja::State, args: minijinja::value::Rest<Value>| {
                state.perform_test(name, &args)
            },
        );
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Difference,
    Intersect,
    Symmetric,
}

fn items(v: &Value) -> Result<Vec<Value>, Error> {
    Ok(v.try_iter()?.collect())
}

/// Ansible's set filters: order of first appearance, each item once.
fn set_op(a: &Value, b: &Value, op: Op) -> Result<Value, Error> {
    let (a, b) = (items(a)?, items(b)?);
    let mut out: Vec<Value> = Vec::new();
    let mut push = |x: &Value| {
        if !out.contains(x) {
            out.push(x.clone());
        }
    };
    match op {
        Op::Union => a.iter().chain(&b).for_each(&mut push),
        Op::Difference => a.iter().filter(|x| !b.contains(x)).for_each(&mut push),
        Op::Intersect => a.iter().filter(|x| b.contains(x)).for_each(&mut push),
        Op::Symmetric => a
            .iter()
            .filter(|x| !b.contains(x))
            .chain(b.iter().filter(|x| !a.contains(x)))
            .for_each(&mut push),
    }
    Ok(Value::from(out))
}

fn zip_longest(
    a: Value,
    others: minijinja::value::Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let fill: Option<Value> = kwargs.get("fillvalue")?;
    kwargs.assert_all_used()?;
    let mut lists = vec![items(&a)?];
    for o in others.iter() {
        lists.push(items(o)?);
    }
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    let fill = fill.unwrap_or(Value::from(()));
    Ok(Value::from(
        (0..longest)
            .map(|i| {
                Value::from(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>(),
    ))
}

fn product(a: Value, others: minijinja::value::Rest<Value>) -> Result<Value, Error> {
    let mut rows: Vec<Vec<Value>> = items(&a)?.into_iter().map(|x| vec![x]).collect();
    for o in others.iter() {
        let list = items(o)?;
        rows = rows
            .into_iter()
            .flat_map(|row| {
                list.iter().map(move |x| {
                    let mut r = row.clone();
                    r.push(x.clone());
                    r
                })
            })
            .collect();
    }
    Ok(Value::from(
        rows.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

/// `list | subelements('key', skip_missing=False)`: `[item, element]` pairs.
fn subelements(
    list: Value,
    key: String,
    flags: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let skip_missing = kwargs.get::<Option<bool>>("skip_missing")?.unwrap_or(false)
        || flags.as_ref().is_some_and(|f| {
            f.is_true() && f.kind() == ValueKind::Bool
                || f.get_attr("skip_missing").is_ok_and(|v| v.is_true())
        });
    kwargs.assert_all_used()?;
    Ok(Value::from(subelement_pairs(&list, &key, skip_missing)?))
}

/// `[item, element]` for each element of each item's `key` list (a dotted path); an item
/// without it is skipped with `skip_missing`, else an error. The filter and the lookup alike.
pub(super) fn subelement_pairs(
    list: &Value,
    key: &str,
    skip_missing: bool,
) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for item in list.try_iter()? {
        let mut sub = item.clone();
        for part in key.split('.') {
            sub = sub.get_attr(part).unwrap_or_default();
        }
        if sub.is_undefined() {
            if skip_missing {
                continue;
            }
            return Err(invalid(format!("subelements: an item has no key `{key}`")));
        }
        for element in sub.try_iter()? {
            out.push(Value::from(vec![item.clone(), element]));
        }
    }
    Ok(out)
}

/// Python's `os.path.splitext`: the extension keeps its dot; a leading dot is not one.
fn splitext(p: &str) -> (String, String) {
    let name_start = p.rfind('/').map_or(0, |i| i + 1);
    let name = &p[name_start..];
    let trimmed = name.trim_start_matches('.');
    match trimmed.rfind('.') {
        Some(i) => {
            let at = name_start + (name.len() - trimmed.len()) + i;
            (p[..at].to_owned(), p[at..].to_owned())
        }
        None => (p.to_owned(), String::new()),
    }
}

/// `.` and `..` resolved by text, as Python's `os.path.normpath`.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Python's `os.path.relpath(path, start)`.
fn relpath(path: &str, start: &str) -> String {
    let path = normalize(Path::new(path));
    let start = normalize(Path::new(start));
    let a: Vec<_> = path.components().collect();
    let b: Vec<_> = start.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &a[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        out.display().to_string()
    }
}

/// `~` and `~/x` against the control machine's `$HOME`, as Ansible's filter does.
fn expanduser(p: &str) -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    if p == "~" {
        home
    } else if let Some(rest) = p.strip_prefix("~/") {
        format!("{home}/{rest}")
    } else {
        p.to_owned()
    }
}

/// `comment(style='plain')`: Ansible's comment block (`#` lines around `# text`).
fn comment(text: String, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let (begin, prefix, end) = match style.as_deref().unwrap_or("plain") {
        "plain" => ("#", "# ", "#"),
        "erlang" => ("%", "% ", "%"),
        "c" => ("//", "// ", "//"),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => return Err(invalid(format!("comment: unknown style `{other}`"))),
    };
    let decoration: Option<String> = kwargs.get("decoration")?;
    kwargs.assert_all_used()?;
    let prefix = decoration.as_deref().unwrap_or(prefix);
    let mut out = vec![begin.to_owned()];
    out.extend(
        text.lines()
            .map(|l| format!("{prefix}{l}").trim_end().to_owned()),
    );
    out.push(end.to_owned());
    Ok(out.join("\n"))
}

fn from_yaml(text: String) -> Result<Value, Error> {
    let node = crate::yaml::parse_text(Path::new("<from_yaml>"), text)
        .map_err(|e| invalid(format!("from_yaml: {e}")))?;
    Ok(super::to_jinja(&node))
}

fn digest(s: &str, md5: bool) -> String {
    use sha2::Digest as _;
    if md5 {
        hex::encode(md5::Md5::digest(s.as_bytes()))
    } else {
        hex::encode(sha1::Sha1::digest(s.as_bytes()))
    }
}

/// `urlsplit` (all parts as a mapping) or `urlsplit('hostname')`.
fn urlsplit(url: String, part: Option<String>) -> Result<Value, Error> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url.as_str()));
    let (netloc, path_etc) = match rest.find('/') {
        Some(i) if !scheme.is_empty() => (&rest[..i], &rest[i..]),
        _ if !scheme.is_empty() => (rest, ""),
        _ => ("", rest),
    };
    let (path_q, fragment) = path_etc.split_once('#').unwrap_or((path_etc, ""));
    let (path, query) = path_q.split_once('?').unwrap_or((path_q, ""));
    let (userinfo, hostport) = netloc.rsplit_once('@').unwrap_or(("", netloc));
    let (username, password) = match userinfo {
        "" => (Value::from(()), Value::from(())),
        u => match u.split_once(':') {
            Some((a, b)) => (Value::from(a), Value::from(b)),
            None => (Value::from(u), Value::from(())),
        },
    };
    let (hostname, port_number) = match hostport.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
            (h, p.parse::<u32>().map_or(Value::from(()), Value::from))
        }
        _ => (hostport, Value::from(())),
    };
    let all: Vec<(&str, Value)> = vec![
        ("scheme", Value::from(scheme)),
        ("netloc", Value::from(netloc)),
        ("path", Value::from(path)),
        ("query", Value::from(query)),
        ("fragment", Value::from(fragment)),
        ("username", username),
        ("password", password),
        ("hostname", Value::from(hostname.to_lowercase())),
        ("port", port_number),
    ];
    match part {
        None => Ok(all.into_iter().collect()),
        Some(p) => all
            .into_iter()
            .find(|(k, _)| *k == p)
            .map(|(_, v)| v)
            .ok_or_else(|| invalid(format!("urlsplit: unknown part `{p}`"))),
    }
}

/// Python's type names, as Ansible content compares them.
fn type_debug(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.as_i64().is_some() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

const UNITS: &[&str] = &["", "K", "M", "G", "T", "P", "E", "Z", "Y"];

/// `human_readable`: `1024 → "1.00 KB"`, `isbits=True` for bits.
fn human_readable(n: f64, kwargs: Kwargs) -> Result<String, Error> {
    let isbits = kwargs.get::<Option<bool>>("isbits")?.unwrap_or(false);
    let unit: Option<String> = kwargs.get("unit")?;
    kwargs.assert_all_used()?;
    let suffix = if isbits { "b" } else { "B" };
    let index = if let Some(u) = unit {
        UNITS
            .iter()
            .position(|x| x.eq_ignore_ascii_case(&u[..1.min(u.len())]))
            .unwrap_or(0)
    } else {
        let mut i = 0;
        while i + 1 < UNITS.len() && n.abs() >= 1024f64.powi(i32::try_from(i + 1).unwrap_or(0)) {
            i += 1;
        }
        i
    };
    let value = n / 1024f64.powi(i32::try_from(index).unwrap_or(0));
    Ok(format!("{value:.2} {}{suffix}", UNITS[index]))
}

/// `human_to_bytes`: `"10M" → 10485760` (`isbits=True` reads `Mb` as bits).
fn human_to_bytes(text: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let default_unit: Option<String> = kwargs.get("default_unit")?;
    let _isbits: Option<bool> = kwargs.get("isbits")?;
    kwargs.assert_all_used()?;
    if let Some(n) = text.as_i64() {
        return Ok(Value::from(n));
    }
    let s = text.to_string();
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num
        .parse()
        .map_err(|_| invalid(format!("human_to_bytes: `{s}` is not a size")))?;
    let unit = unit.trim();
    let unit = if unit.is_empty() {
        default_unit.unwrap_or_default()
    } else {
        unit.to_owned()
    };
    let letter = unit
        .chars()
        .next()
        .map(|c| c.to_ascii_uppercase().to_string());
    let power = match letter.as_deref() {
        None | Some("B") => 0,
        Some(l) => UNITS
            .iter()
            .position(|u| *u == l)
            .ok_or_else(|| invalid(format!("human_to_bytes: unknown unit `{unit}`")))?,
    };
    let bytes = num * 1024f64.powi(i32::try_from(power).unwrap_or(0));
    #[allow(clippy::cast_possible_truncation)]
    Ok(Value::from(bytes.round() as i64))
}

/// A number from `seed`: the same seed gives the same choice on every run.
fn seeded(seed: &Value, salt: u64) -> u64 {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(format!("{salt}:{seed}").as_bytes());
    hash.iter()
        .take(8)
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

fn unseeded(what: &str) -> Error {
    invalid(format!(
        "`{what}` without `seed=` would change on every run (and so would the plan); give a seed, e.g. `{what}(seed=inventory_hostname)`"
    ))
}

/// `random(seed=..)`: an item of a list, or a number below an integer (`start`, `step`).
/// Stable per seed (not Python's sequence: the choice is recon's own).
fn random(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let seed: Option<Value> = kwargs.get("seed")?;
    let start: Option<i64> = kwargs.get("start")?;
    let step: Option<i64> = kwargs.get("step")?;
    kwargs.assert_all_used()?;
    let seed = seed.ok_or_else(|| unseeded("random"))?;
    let r = seeded(&seed, 0);
    if let Some(end) = v.as_i64() {
        let start = start.unwrap_or(0);
        let step = step.unwrap_or(1).max(1);
        let count = u64::try_from(((end - start) + step - 1) / step).unwrap_or(0);
        if count == 0 {
            return Err(invalid("random: empty range"));
        }
        let pick = i64::try_from(r % count).unwrap_or(0);
        return Ok(Value::from(start + pick * step));
    }
    let list = items(&v)?;
    if list.is_empty() {
        return Err(invalid("random: empty list"));
    }
    let pick = usize::try_from(r % list.len() as u64).unwrap_or(0);
    Ok(list[pick].clone())
}

/// `shuffle(seed=..)`: the list in an order stable per seed.
fn shuffle(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let seed: Option<Value> = kwargs.get("seed")?;
    kwargs.assert_all_used()?;
    let seed = seed.ok_or_else(|| unseeded("shuffle"))?;
    let mut list = items(&v)?;
    for i in (1..list.len()).rev() {
        let j = usize::try_from(seeded(&seed, i as u64) % (i as u64 + 1)).unwrap_or(0);
        list.swap(i, j);
    }
    Ok(Value::from(list))
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    fn render(src: &str) -> String {
        let mut env = Environment::new();
        super::super::filters::register(&mut env);
        super::register(&mut env);
        env.render_str(src, ()).expect("renders")
    }

    #[test]
    fn set_filters_keep_first_appearance_order() {
        assert_eq!(render("{{ [3, 1, 3] | union([2, 1]) }}"), "[3, 1, 2]");
        assert_eq!(render("{{ [1, 2, 3] | difference([2]) }}"), "[1, 3]");
        assert_eq!(render("{{ [1, 2, 3] | intersect([3, 2]) }}"), "[2, 3]");
        assert_eq!(
            render("{{ [1, 2] | symmetric_difference([2, 3]) }}"),
            "[1, 3]"
        );
        assert_eq!(
            render("{{ [1, 2] | product(['a']) | list }}"),
            r#"[[1, "a"], [2, "a"]]"#
        );
    }

    #[test]
    fn path_filters_follow_python() {
        assert_eq!(
            render("{{ '/srv/app/releases/1' | relpath('/srv/app') }}"),
            "releases/1"
        );
        assert_eq!(render("{{ '/a/b' | relpath('/a/c/d') }}"), "../../b");
        assert_eq!(render("{{ 'x/a.tar.gz' | splitext | last }}"), ".gz");
        assert_eq!(render("{{ '.bashrc' | splitext | last }}"), "");
        assert_eq!(render("{{ '/a/./b/../c' | realpath }}"), "/a/c");
    }

    #[test]
    fn text_filters() {
        assert_eq!(render("{{ 'a.b*' | regex_escape }}"), r"a\.b\*");
        assert_eq!(render("{{ 'managed' | comment }}"), "#\n# managed\n#");
        assert_eq!(render("{{ ('a: [1, 2]' | from_yaml).a[1] }}"), "2");
        assert_eq!(
            render("{{ 'a' | sha1 }}"),
            "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"
        );
        assert_eq!(
            render("{{ 'https://u@Example.test:8443/x?y#z' | urlsplit('hostname') }}"),
            "example.test"
        );
        assert_eq!(
            render("{{ 'https://example.test:8443/x' | urlsplit('port') }}"),
            "8443"
        );
        assert_eq!(
            render("{{ '10M' | human_to_bytes }} {{ 1536 | human_readable }}"),
            "10485760 1.50 KB"
        );
        assert_eq!(
            render("{{ 1 | type_debug }} {{ 'a' | ansible.builtin.type_debug }}"),
            "int str"
        );
        assert_eq!(
            render("{{ 'A' is ansible.builtin.match('a') }} {{ '' is falsy }}"),
            "False True"
        );
    }

    #[test]
    fn random_is_stable_per_seed_and_refuses_no_seed() {
        let a = render("{{ 60 | random(seed='web1') }} {{ [1, 2, 3, 4] | shuffle(seed='web1') }}");
        assert_eq!(
            a,
            render("{{ 60 | random(seed='web1') }} {{ [1, 2, 3, 4] | shuffle(seed='web1') }}")
        );
        let mut env = Environment::new();
        super::register(&mut env);
        let err = env
            .render_str("{{ [1] | random }}", ())
            .expect_err("no seed");
        assert!(err.to_string().contains("seed="), "{err}");
    }
}
