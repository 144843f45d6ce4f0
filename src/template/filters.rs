//! The Ansible filters and tests real content uses, on top of minijinja's built-ins (`default`/`d`,
//! `bool`, `int`, `join`, `map`, `select`, ...). Each behaves as Ansible's documentation says;
//! where Ansible follows Python (regular expressions, JSON layout), so does this.

// minijinja hands filters their arguments by value (`String`, `Kwargs`): that is its signature.
#![allow(clippy::needless_pass_by_value)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

/// The value of `omit`: arguments rendered to exactly this are dropped (Ansible's placeholder).
pub(crate) const OMIT: &str = "__omit_place_holder__recon";

/// Registers every filter and test below on `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("mandatory", mandatory);
    env.add_filter("basename", |p: String| {
        p.rsplit('/').next().unwrap_or_default().to_owned()
    });
    env.add_filter("dirname", |p: String| match p.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(i) => p[..i].to_owned(),
        None => String::new(),
    });
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("to_json", |v: Value| to_json(&v, false));
    env.add_filter("to_nice_json", |v: Value| to_json(&v, true));
    env.add_filter("to_yaml", super::yaml_dump::to_yaml);
    env.add_filter("to_nice_yaml", super::yaml_dump::to_nice_yaml);
    env.add_filter("from_json", from_json);
    env.add_filter("b64encode", |s: String| {
        base64::engine::general_purpose::STANDARD.encode(s)
    });
    env.add_filter("b64decode", b64decode);
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("ternary", ternary);
    env.add_filter("quote", |s: String| quote(&s));
    env.add_filter("hash", hash);
    env.add_filter("password_hash", password_hash);
    env.add_test("version", version_test);
    for name in ["changed", "change"] {
        env.add_test(name, |v: Value| result_flag(&v, "changed"));
    }
    for name in ["failed", "failure"] {
        env.add_test(name, |v: Value| result_flag(&v, "failed"));
    }
    for name in ["succeeded", "success", "successful"] {
        env.add_test(name, |v: Value| !result_flag(&v, "failed"));
    }
    for name in ["skipped", "skip"] {
        env.add_test(name, |v: Value| result_flag(&v, "skipped"));
    }
    env.add_test("finished", |_: Value| true);
    env.add_test("version_compare", version_test);
    env.add_test("match", |v: String, re: String| regex_is(&v, &re, true));
    env.add_test("search", |v: String, re: String| regex_is(&v, &re, false));
    env.add_test("regex", |v: String, re: String| regex_is(&v, &re, false));
}

/// A filter's, test's or lookup's error about its input.
pub(super) fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn mandatory(v: &Value, msg: Option<String>) -> Result<Value, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            msg.unwrap_or_else(|| "mandatory variable not defined".to_owned()),
        ));
    }
    Ok(v.clone())
}

fn regex(pattern: &str) -> Result<regex::Regex, Error> {
    regex::Regex::new(pattern).map_err(|e| invalid(format!("invalid regular expression: {e}")))
}

/// Python's replacement syntax in the `regex` crate's: `\1` and `\g<1>`/`\g<name>` become
/// `${1}`/`${name}`, `\\` a backslash, `\n`, `\t`, `\r`, `\f`, `\v`, `\a`, `\b` the
/// characters; a `$` is literal. Python's `re.sub` reads every replacement so: the
/// `regex_replace` filter and the `replace`/`lineinfile` modules alike.
pub(crate) fn python_replacement(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut group = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        group.push(d);
                        chars.next();
                    }
                    let _ = write!(out, "${{{group}}}");
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        let _ = write!(out, "${{{name}}}");
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some(e @ ('t' | 'r' | 'f' | 'v' | 'a' | 'b')) => {
                    chars.next();
                    out.push(match e {
                        't' => '\t',
                        'r' => '\r',
                        'f' => '\u{c}',
                        'v' => '\u{b}',
                        'a' => '\u{7}',
                        _ => '\u{8}',
                    });
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

fn regex_replace(
    value: String,
    pattern: String,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let ignorecase: Option<bool> = kwargs.get("ignorecase")?;
    let multiline: Option<bool> = kwargs.get("multiline")?;
    kwargs.assert_all_used()?;
    let mut flags = String::new();
    if ignorecase == Some(true) {
        flags.push('i');
    }
    if multiline == Some(true) {
        flags.push('m');
    }
    let pattern = if flags.is_empty() {
        pattern
    } else {
        format!("(?{flags}){pattern}")
    };
    let re = regex(&pattern)?;
    let replacement = python_replacement(&replacement.unwrap_or_default());
    Ok(re.replace_all(&value, replacement.as_str()).into_owned())
}

fn regex_search(value: String, pattern: String, groups: Vec<String>) -> Result<Value, Error> {
    let re = regex(&pattern)?;
    let Some(caps) = re.captures(&value) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let picked: Vec<Value> = groups
        .iter()
        .map(|g| {
            let m = match g.strip_prefix('\\') {
                Some(n) => n.parse::<usize>().ok().and_then(|n| caps.get(n)),
                None => g
                    .strip_prefix("?P<")
                    .map_or_else(|| caps.name(g), |n| caps.name(n.trim_end_matches('>'))),
            };
            Value::from(m.map_or("", |m| m.as_str()))
        })
        .collect();
    Ok(Value::from(picked))
}

fn regex_findall(value: String, pattern: String) -> Result<Value, Error> {
    let re = regex(&pattern)?;
    Ok(Value::from(
        re.find_iter(&value)
            .map(|m| Value::from(m.as_str()))
            .collect::<Vec<_>>(),
    ))
}

fn regex_is(value: &str, pattern: &str, anchored: bool) -> Result<bool, Error> {
    let pattern = if anchored {
        format!("^(?:{pattern})")
    } else {
        pattern.to_owned()
    };
    Ok(regex(&pattern)?.is_match(value))
}

fn to_serde(v: &Value) -> Result<serde_json::Value, Error> {
    serde_json::to_value(v).map_err(|e| invalid(format!("cannot convert to JSON: {e}")))
}

/// Python's `json.dumps` layout: `", "`/`": "` separators, or 4-space indents when nice.
fn to_json(v: &Value, nice: bool) -> Result<String, Error> {
    let json = to_serde(v)?;
    if nice {
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        serde::Serialize::serialize(&json, &mut ser).map_err(|e| invalid(format!("JSON: {e}")))?;
        return Ok(String::from_utf8_lossy(&out).into_owned());
    }
    let mut out = String::new();
    python_json(&json, &mut out);
    Ok(out)
}

fn python_json(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                python_json(item, out);
            }
            out.push(']');
        }
        serde_json::Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&serde_json::Value::from(k.as_str()).to_string());
                out.push_str(": ");
                python_json(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Block-style YAML; strings that YAML would read as something else are double-quoted.
fn from_json(s: String) -> Result<Value, Error> {
    let json: serde_json::Value =
        serde_json::from_str(&s).map_err(|e| invalid(format!("from_json: {e}")))?;
    Ok(Value::from_serialize(&json))
}

fn b64decode(s: String) -> Result<String, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| invalid(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|_| invalid("b64decode: the result is not UTF-8"))
}

/// A mapping's entries in order, keys as strings.
fn entries(v: &Value) -> Result<Vec<(Value, Value)>, Error> {
    if v.kind() != ValueKind::Map {
        return Err(invalid(format!("expected a mapping, got {}", v.kind())));
    }
    Ok(v.try_iter()?
        .map(|k| {
            let item = v.get_item(&k).unwrap_or_default();
            (k, item)
        })
        .collect())
}

fn merge(base: &Value, over: &Value, recursive: bool) -> Result<Value, Error> {
    let mut out: Vec<(Value, Value)> = entries(base)?;
    for (k, v) in entries(over)? {
        match out.iter_mut().find(|(ok, _)| *ok == k) {
            Some((_, existing))
                if recursive && existing.kind() == ValueKind::Map && v.kind() == ValueKind::Map =>
            {
                *existing = merge(existing, &v, true)?;
            }
            Some((_, existing)) => *existing = v,
            None => out.push((k, v)),
        }
    }
    Ok(out.into_iter().collect())
}

fn combine(base: Value, others: &[Value], kwargs: Kwargs) -> Result<Value, Error> {
    let recursive: Option<bool> = kwargs.get("recursive")?;
    let _list_merge: Option<String> = kwargs.get("list_merge")?;
    kwargs.assert_all_used()?;
    let mut out = base;
    for other in others {
        let layers: Vec<Value> = if other.kind() == ValueKind::Seq {
            other.try_iter()?.collect()
        } else {
            vec![other.clone()]
        };
        for layer in layers {
            out = merge(&out, &layer, recursive == Some(true))?;
        }
    }
    Ok(out)
}

fn dict2items(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key: Option<String> = kwargs.get("key_name")?;
    let value: Option<String> = kwargs.get("value_name")?;
    kwargs.assert_all_used()?;
    let (kn, vn) = (
        key.unwrap_or_else(|| "key".into()),
        value.unwrap_or_else(|| "value".into()),
    );
    Ok(entries(&v)?
        .into_iter()
        .map(|(k, item)| {
            let m: BTreeMap<String, Value> = [(kn.clone(), k), (vn.clone(), item)].into();
            Value::from(m)
        })
        .collect())
}

fn items2dict(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key: Option<String> = kwargs.get("key_name")?;
    let value: Option<String> = kwargs.get("value_name")?;
    kwargs.assert_all_used()?;
    let (kn, vn) = (
        key.unwrap_or_else(|| "key".into()),
        value.unwrap_or_else(|| "value".into()),
    );
    v.try_iter()?
        .map(|item| {
            let k = item.get_attr(&kn)?;
            let val = item.get_attr(&vn)?;
            if k.is_undefined() {
                return Err(invalid(format!("items2dict: an item has no `{kn}`")));
            }
            Ok((k, val))
        })
        .collect()
}

fn flatten_into(v: &Value, levels: Option<i64>, out: &mut Vec<Value>) -> Result<(), Error> {
    for item in v.try_iter()? {
        if item.kind() == ValueKind::Seq && levels.is_none_or(|l| l > 0) {
            flatten_into(&item, levels.map(|l| l - 1), out)?;
        } else if !item.is_none() {
            out.push(item);
        }
    }
    Ok(())
}

fn flatten(v: Value, levels: Option<i64>) -> Result<Value, Error> {
    let mut out = Vec::new();
    flatten_into(&v, levels, &mut out)?;
    Ok(Value::from(out))
}

fn ternary(v: &Value, yes: Value, no: Value, none: Option<Value>) -> Value {
    match none {
        Some(n) if v.is_none() => n,
        _ if v.is_true() => yes,
        _ => no,
    }
}

/// Python's `shlex.quote`.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

fn hash(s: String, algorithm: Option<String>) -> Result<String, Error> {
    use sha2::Digest as _;
    let bytes = s.as_bytes();
    Ok(match algorithm.as_deref().unwrap_or("sha1") {
        "sha1" => hex::encode(sha1::Sha1::digest(bytes)),
        "md5" => hex::encode(md5::Md5::digest(bytes)),
        "sha224" => hex::encode(sha2::Sha224::digest(bytes)),
        "sha256" => hex::encode(sha2::Sha256::digest(bytes)),
        "sha384" => hex::encode(sha2::Sha384::digest(bytes)),
        "sha512" => hex::encode(sha2::Sha512::digest(bytes)),
        other => return Err(invalid(format!("hash: unsupported algorithm `{other}`"))),
    })
}

/// The characters of a crypt salt.
const SALT_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `password_hash('sha512', salt)`: SHA-crypt as glibc's `crypt` makes it (5000 rounds, as
/// Ansible without passlib). Without a salt, a random one: a new hash on every run, as Ansible.
fn password_hash(
    password: String,
    scheme: Option<String>,
    salt: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let rounds: Option<usize> = kwargs.get("rounds")?;
    kwargs.assert_all_used()?;
    let salt = if let Some(s) = salt {
        s
    } else {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).map_err(|e| invalid(format!("password_hash: {e}")))?;
        raw.iter()
            .map(|b| char::from(SALT_CHARS[usize::from(*b) % SALT_CHARS.len()]))
            .collect()
    };
    let salt: String = salt.chars().take(16).collect();
    let bad = |e| invalid(format!("password_hash: {e:?}"));
    let prefix = rounds.map_or_else(String::new, |r| format!("rounds={r}$"));
    match scheme.as_deref().unwrap_or("sha512") {
        "sha512" | "sha512_crypt" => {
            let params = sha_crypt::Sha512Params::new(rounds.unwrap_or(sha_crypt::ROUNDS_DEFAULT))
                .map_err(bad)?;
            let hash = sha_crypt::sha512_crypt_b64(password.as_bytes(), salt.as_bytes(), &params)
                .map_err(bad)?;
            Ok(format!("$6${prefix}{salt}${hash}"))
        }
        "sha256" | "sha256_crypt" => {
            let params = sha_crypt::Sha256Params::new(rounds.unwrap_or(sha_crypt::ROUNDS_DEFAULT))
                .map_err(bad)?;
            let hash = sha_crypt::sha256_crypt_b64(password.as_bytes(), salt.as_bytes(), &params)
                .map_err(bad)?;
            Ok(format!("$5${prefix}{salt}${hash}"))
        }
        other => Err(invalid(format!(
            "password_hash: unsupported scheme `{other}` (sha512, sha256)"
        ))),
    }
}

/// Ansible's `version` test: `v is version('1.2', '>=')` (loose comparison, numeric parts).
fn version_test(
    v: String,
    other: String,
    op: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let _strict: Option<bool> = kwargs.get("strict")?;
    let _kind: Option<String> = kwargs.get("version_type")?;
    kwargs.assert_all_used()?;
    let ord = compare_versions(&v, &other);
    Ok(match op.as_deref().unwrap_or("eq") {
        "eq" | "==" | "=" => ord == Equal,
        "ne" | "!=" | "<>" => ord != Equal,
        "lt" | "<" => ord == Less,
        "le" | "<=" => ord != Greater,
        "gt" | ">" => ord == Greater,
        "ge" | ">=" => ord != Less,
        other => return Err(invalid(format!("version: unknown operator `{other}`"))),
    })
}

/// One piece of a `LooseVersion`. The variant order is the comparison's: a word sorts before a
/// number, numbers compare as numbers, words as words (the derived `Ord`).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum VersionPart {
    Word(String),
    Number(u64),
}

impl VersionPart {
    /// A number when it parses as one (a too-large number stays a word, as before).
    fn of(text: &str) -> Self {
        text.parse()
            .map_or_else(|_| Self::Word(text.to_owned()), Self::Number)
    }
}

/// Python's `LooseVersion`: numbers compare as numbers, words as words.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(s: &str) -> Vec<VersionPart> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut digit = false;
        for c in s.chars() {
            if c == '.' || c == '-' || c == '_' || c == '+' {
                if !cur.is_empty() {
                    out.push(VersionPart::of(&cur));
                    cur.clear();
                }
                continue;
            }
            if !cur.is_empty() && c.is_ascii_digit() != digit {
                out.push(VersionPart::of(&cur));
                cur.clear();
            }
            digit = c.is_ascii_digit();
            cur.push(c);
        }
        if !cur.is_empty() {
            out.push(VersionPart::of(&cur));
        }
        out
    }
    // Element by element, then the longer wins: `Vec`'s own order.
    parts(a).cmp(&parts(b))
}

/// Ansible's result tests (`result is changed`): the flag of a registered result.
fn result_flag(value: &Value, flag: &str) -> bool {
    value.get_attr(flag).is_ok_and(|v| v.is_true())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(expr: &str) -> String {
        let mut env = Environment::new();
        register(&mut env);
        env.render_str(expr, ()).expect("render")
    }

    #[test]
    fn ansible_filters_give_ansibles_answers() {
        assert_eq!(render("{{ '/a/b/c.txt' | basename }}"), "c.txt");
        assert_eq!(render("{{ '/a/b/c.txt' | dirname }}"), "/a/b");
        assert_eq!(
            render(r"{{ 'host-12' | regex_replace('^host-(\\d+)$', 'h\\1') }}"),
            "h12"
        );
        assert_eq!(render("{{ 'abc123' | regex_search('[0-9]+') }}"), "123");
        assert_eq!(
            render("{{ {'a': [1, 'x']} | to_json }}"),
            r#"{"a": [1, "x"]}"#
        );
        assert_eq!(render("{{ 'hi' | b64encode }}"), "aGk=");
        assert_eq!(render("{{ 'aGk=' | b64decode }}"), "hi");
        assert_eq!(
            render("{{ ({'a': {'x': 1}, 'b': 2} | combine({'a': {'y': 2}}, recursive=true)) | to_json }}"),
            r#"{"a": {"x": 1, "y": 2}, "b": 2}"#
        );
        assert_eq!(
            render("{{ {'a': 1} | dict2items | items2dict | to_json }}"),
            r#"{"a": 1}"#
        );
        assert_eq!(
            render("{{ [1, [2, [3]]] | flatten | to_json }}"),
            "[1, 2, 3]"
        );
        assert_eq!(
            render("{{ [1, [2, [3]]] | flatten(1) | to_json }}"),
            "[1, 2, [3]]"
        );
        assert_eq!(render("{{ true | ternary('y', 'n') }}"), "y");
        assert_eq!(render("{{ \"it's\" | quote }}"), "'it'\"'\"'s'");
        assert_eq!(
            render("{{ 'abc' | hash('sha1') }}"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            render("{{ {'a': [1, 'yes']} | to_yaml }}"),
            "a: [1, 'yes']\n"
        );
        assert_eq!(render("{{ ('{\"k\": 2}' | from_json).k }}"), "2");
    }

    #[test]
    fn password_hash_matches_glibc_crypt() {
        // `python3 -c 'import crypt; print(crypt.crypt("secret", "$6$saltsalt"))'`
        assert_eq!(
            render("{{ 'secret' | password_hash('sha512', 'saltsalt') }}"),
            "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
        );
    }

    #[test]
    fn version_test_compares_numerically() {
        // Python's `re.sub` reads `\n` in a replacement as a newline, and `\1` as a group.
        assert_eq!(
            render(r"{{ 'a-b' | regex_replace('(a)-', '\\1\\n') }}"),
            "a\nb"
        );
        assert_eq!(render("{{ '1.10' is version('1.9', '>') }}"), "True");
        assert_eq!(render("{{ '2.0' is version('2.0.1', 'lt') }}"), "True");
        assert_eq!(render("{{ '20.04' is version('20.04', '==') }}"), "True");
    }
}
