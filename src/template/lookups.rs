//! `lookup(NAME, TERMS..)`, `query`/`q` and the `with_NAME` loops built on them: the lookups
//! that real roles use to read the control machine (`env`, `file`, `pipe`, `fileglob`,
//! `first_found`, `vars`) and to shape loop items (`items`, `list`, `dict`, `indexed_items`,
//! `together`, `nested`, `subelements`, `sequence`, `lines`). `password` lives in lookup.rs.
//!
//! As in Ansible, relative files are searched in the role's `files/` (or `templates/`, `vars/`
//! for `first_found` terms that name them), the role, the playbook's `files/`, then the playbook's
//! folder; `lookup` joins a list of strings with `,` unless `wantlist=True`; `query` always
//! returns a list; `default=` and `errors='ignore'` replace a failed lookup.

// minijinja hands functions their arguments by value (`Rest`, `Kwargs`): that is its signature.
#![allow(clippy::needless_pass_by_value)]

use std::path::{Path, PathBuf};

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Error, State};

use super::filters::invalid as error;

/// Every lookup recon knows (for the error about one it does not).
pub(crate) const KNOWN: &[&str] = &[
    "password",
    "env",
    "file",
    "pipe",
    "fileglob",
    "first_found",
    "vars",
    "items",
    "list",
    "dict",
    "indexed_items",
    "together",
    "nested",
    "subelements",
    "sequence",
    "lines",
    "flattened",
];

/// `lookup(name, terms.., wantlist=False, default=.., errors='strict')`.
pub(super) fn lookup(
    base: &Path,
    state: &State,
    name: &str,
    terms: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let wantlist: bool = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let items = match run(base, state, name, &terms, &kwargs) {
        Ok(items) => items,
        Err(err) => return fallback(err, &kwargs, wantlist),
    };
    if wantlist {
        return Ok(Value::from(items));
    }
    if items.iter().all(|v| v.kind() == ValueKind::String) {
        let texts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
        return Ok(Value::from(texts.join(",")));
    }
    Ok(match <[Value; 1]>::try_from(items) {
        Ok([one]) => one,
        Err(items) => Value::from(items),
    })
}

/// `query(name, terms..)` (`q`): always a list.
pub(super) fn query(
    base: &Path,
    state: &State,
    name: &str,
    terms: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    match run(base, state, name, &terms, &kwargs) {
        Ok(items) => Ok(Value::from(items)),
        Err(err) => fallback(err, &kwargs, true),
    }
}

/// `default=` (env, vars) or `errors='ignore'|'warn'` stand in for a failed lookup.
fn fallback(err: Error, kwargs: &Kwargs, wantlist: bool) -> Result<Value, Error> {
    if let Some(default) = kwargs.get::<Option<Value>>("default")? {
        return Ok(default);
    }
    match kwargs.get::<Option<String>>("errors")?.as_deref() {
        Some("ignore" | "warn") if wantlist => Ok(Value::from(Vec::<Value>::new())),
        Some("ignore" | "warn") => Ok(Value::from(())),
        _ => Err(err),
    }
}

/// The lookup's results as a list.
fn run(
    base: &Path,
    state: &State,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let name = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("community.general."))
        .unwrap_or(name);
    let texts = || -> Vec<String> { flat(terms).iter().map(text).collect() };
    let out = match name {
        "password" => texts()
            .iter()
            .map(|t| super::lookup::lookup(base, "password", t))
            .collect::<Result<_, _>>()?,
        "env" => texts()
            .iter()
            .map(|v| match std::env::var(v) {
                Ok(value) => Ok(Value::from(value)),
                Err(_) => match kwargs.get::<Option<Value>>("default")? {
                    Some(d) => Ok(d),
                    None => Ok(Value::from("")),
                },
            })
            .collect::<Result<_, Error>>()?,
        "file" => {
            let dirs = search_dirs(base, state, "files");
            let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
            texts()
                .iter()
                .map(|t| {
                    let path = find(t, &dirs)
                        .ok_or_else(|| error(format!("could not find file `{t}` for lookup")))?;
                    let body = std::fs::read_to_string(&path)
                        .map_err(|e| error(format!("{}: {e}", path.display())))?;
                    Ok(Value::from(if rstrip {
                        body.trim_end().to_owned()
                    } else {
                        body
                    }))
                })
                .collect::<Result<_, Error>>()?
        }
        "pipe" | "lines" => {
            let mut out = Vec::new();
            for command in texts() {
                let stdout = pipe(&command, base)?;
                if name == "lines" {
                    out.extend(stdout.lines().map(Value::from));
                } else {
                    out.push(Value::from(stdout.trim_end()));
                }
            }
            out
        }
        "fileglob" => {
            let dirs = search_dirs(base, state, "files");
            texts()
                .iter()
                .flat_map(|p| fileglob(p, &dirs))
                .map(Value::from)
                .collect()
        }
        "first_found" => first_found(base, state, terms, kwargs)?,
        "vars" => texts()
            .iter()
            .map(|v| match state.lookup(v).filter(|x| !x.is_undefined()) {
                Some(x) => Ok(x),
                None => kwargs
                    .get::<Option<Value>>("default")?
                    .ok_or_else(|| error(format!("no variable named `{v}`"))),
            })
            .collect::<Result<_, Error>>()?,
        "items" => flat(terms),
        "list" => terms.to_vec(),
        "dict" => dict(terms)?,
        "indexed_items" => flat(terms)
            .into_iter()
            .enumerate()
            .map(|(i, v)| Value::from(vec![Value::from(i), v]))
            .collect(),
        "together" => together(terms)?,
        "nested" => nested(terms)?,
        "flattened" => flattened(terms),
        "subelements" => subelements(terms, kwargs)?,
        "sequence" => sequence(&texts())?,
        other => {
            return Err(error(format!(
                "unknown lookup `{other}` (recon knows {})",
                KNOWN
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    Ok(out)
}

/// `flattened` (community.general): every list inside the terms flattened, at any depth; an
/// item `None` or `null` (text) ends the list it is in, as the plugin skips undefined items.
fn flattened(terms: &[Value]) -> Vec<Value> {
    fn into(out: &mut Vec<Value>, items: &[Value]) {
        for item in items {
            if matches!(item.as_str(), Some("None" | "null")) {
                break;
            }
            if item.kind() == ValueKind::Seq {
                let inner: Vec<Value> = item.try_iter().into_iter().flatten().collect();
                into(out, &inner);
            } else {
                out.push(item.clone());
            }
        }
    }
    let mut out = Vec::new();
    into(&mut out, terms);
    out
}

/// Terms with lists flattened one level (`lookup('env', 'A', 'B')` = `lookup('env', ['A', 'B'])`).
fn flat(terms: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for t in terms {
        if t.kind() == ValueKind::Seq {
            out.extend(t.try_iter().into_iter().flatten());
        } else {
            out.push(t.clone());
        }
    }
    out
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// Where relative files are looked for: the role's `sub`, the role, the playbook's `sub`, the
/// playbook (Ansible's search path for lookups).
fn search_dirs(base: &Path, state: &State, sub: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(role) = state
        .lookup("role_path")
        .and_then(|v| v.as_str().map(PathBuf::from))
    {
        dirs.push(role.join(sub));
        dirs.push(role);
    }
    let playbook = state
        .lookup("playbook_dir")
        .and_then(|v| v.as_str().map(PathBuf::from))
        .unwrap_or_else(|| base.to_path_buf());
    dirs.push(playbook.join(sub));
    dirs.push(playbook);
    dirs
}

/// `name` if absolute, else the first of `dirs` that holds it (absolute, as Ansible returns).
fn find(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return path.exists().then(|| path.to_path_buf());
    }
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .map(|p| std::path::absolute(&p).unwrap_or(p))
}

/// `sh -c COMMAND` on the control machine, in the playbook's folder; its stdout.
fn pipe(command: &str, base: &Path) -> Result<String, Error> {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(command);
    if base.is_dir() {
        cmd.current_dir(base);
    }
    let output = cmd
        .output()
        .map_err(|e| error(format!("lookup('pipe'): {e}")))?;
    if !output.status.success() {
        return Err(error(format!(
            "lookup('pipe', {command:?}) failed with {}",
            output.status
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Files matching one `*`/`?` pattern (in its folder only), sorted, as absolute paths; a
/// relative pattern is looked up in the first of `dirs` that has its folder (`lookup` and
/// `with_fileglob` alike).
pub(crate) fn fileglob(pattern: &str, dirs: &[PathBuf]) -> Vec<String> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    let folder = if Path::new(pattern).is_absolute() {
        Some(PathBuf::from(if dir.is_empty() { "/" } else { dir }))
    } else {
        dirs.iter().map(|d| d.join(dir)).find(|d| d.is_dir())
    };
    let Some(entries) = folder.and_then(|f| std::fs::read_dir(f).ok()) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| crate::glob::glob(name, n))
        })
        .map(|p| std::path::absolute(&p).unwrap_or(p).display().to_string())
        .collect();
    found.sort();
    found
}

/// `first_found`: terms are file names, lists of them, or `{files, paths, skip}` mappings
/// (also given as keyword arguments). The first that exists, as an absolute path.
fn first_found(
    base: &Path,
    state: &State,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let mut candidates: Vec<String> = Vec::new();
    let mut skip = kwargs.get::<Option<bool>>("skip")?.unwrap_or(false);
    let words = |v: &Value| -> Vec<String> {
        match v.kind() {
            ValueKind::Seq => v
                .try_iter()
                .into_iter()
                .flatten()
                .map(|x| text(&x))
                .collect(),
            ValueKind::Undefined | ValueKind::None => Vec::new(),
            _ => text(v)
                .split([',', ';'])
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    };
    let combine = |files: &[String], paths: &[String], out: &mut Vec<String>| {
        for f in files {
            if paths.is_empty() || Path::new(f).is_absolute() {
                out.push(f.clone());
            } else {
                out.extend(paths.iter().map(|p| format!("{p}/{f}")));
            }
        }
    };
    let kw_files: Vec<String> = kwargs
        .get::<Option<Value>>("files")?
        .map(|v| words(&v))
        .unwrap_or_default();
    let kw_paths: Vec<String> = kwargs
        .get::<Option<Value>>("paths")?
        .map(|v| words(&v))
        .unwrap_or_default();
    for term in flat(terms) {
        if term.kind() == ValueKind::Map {
            let files = words(&term.get_attr("files").unwrap_or_default());
            let paths = words(&term.get_attr("paths").unwrap_or_default());
            skip |= term.get_attr("skip").is_ok_and(|v| v.is_true());
            combine(&files, &paths, &mut candidates);
        } else {
            combine(&[text(&term)], &kw_paths, &mut candidates);
        }
    }
    combine(&kw_files, &kw_paths, &mut candidates);
    // Ansible searches the subfolder of the task's action (`vars/` for `include_vars`,
    // `templates/` for `template`, else `files/`); recon searches all three, in that order.
    let mut dirs = search_dirs(base, state, "files");
    for sub in ["vars", "templates"] {
        for d in search_dirs(base, state, sub) {
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    for name in &candidates {
        if name.contains(super::STAND_IN_TEXT) {
            // `recon check`: a name after host facts. A host may find one of its matches,
            // so the pick is per host: the name itself (searched from the folder holding the
            // first match) is the answer `include_vars` checks every match of.
            if let Some(first) =
                super::stand_in_matches(name, &dirs).and_then(|found| found.into_iter().next())
            {
                let dir = first.parent().unwrap_or(base);
                let file = name.rsplit('/').next().unwrap_or(name);
                return Ok(vec![Value::from(dir.join(file).display().to_string())]);
            }
            continue;
        }
        if let Some(path) = find(name, &dirs) {
            return Ok(vec![Value::from(path.display().to_string())]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(error(format!(
        "first_found: none of {} exists",
        candidates
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// `dict`: a mapping as `{key, value}` items.
fn dict(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for term in terms {
        if term.kind() != ValueKind::Map {
            return Err(error("lookup('dict') needs a mapping"));
        }
        for key in term.try_iter()? {
            let value = term.get_item(&key)?;
            out.push(Value::from_iter([("key", key), ("value", value)]));
        }
    }
    Ok(out)
}

fn lists(terms: &[Value]) -> Result<Vec<Vec<Value>>, Error> {
    let lists: Vec<&Value> = match terms {
        [one]
            if one
                .try_iter()
                .is_ok_and(|mut i| i.all(|x| x.kind() == ValueKind::Seq)) =>
        {
            return Ok(one
                .try_iter()?
                .map(|l| l.try_iter().into_iter().flatten().collect())
                .collect())
        }
        _ => terms.iter().collect(),
    };
    lists.iter().map(|l| Ok(l.try_iter()?.collect())).collect()
}

/// `together`: items zipped, shorter lists padded with none.
fn together(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let lists = lists(terms)?;
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..longest)
        .map(|i| {
            Value::from(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or(Value::from(())))
                    .collect::<Vec<_>>(),
            )
        })
        .collect())
}

/// `nested`: the cartesian product, first list outermost.
fn nested(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()];
    for list in lists(terms)? {
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
    Ok(rows.into_iter().map(Value::from).collect())
}

/// `subelements`: `[list_of_dicts, 'key']` → `[dict, element]` for each element of each
/// dict's `key` list (`skip_missing=True` skips dicts without it).
fn subelements(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let (list, key, flags) = match terms {
        [list, key] => (list, text(key), Value::from(())),
        [list, key, flags] => (list, text(key), flags.clone()),
        [one] if one.kind() == ValueKind::Seq => {
            let parts: Vec<Value> = one.try_iter()?.collect();
            return subelements(&parts, kwargs);
        }
        _ => return Err(error("subelements needs a list and a key")),
    };
    let skip_missing = kwargs.get::<Option<bool>>("skip_missing")?.unwrap_or(false)
        || flags.get_attr("skip_missing").is_ok_and(|v| v.is_true());
    super::extra_filters::subelement_pairs(list, &key, skip_missing)
}

/// `sequence`: `start=1 end=5 stride=1 format=%d`, `count=N`, or the short `[start-]end[/stride][:format]`.
fn sequence(terms: &[String]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for term in terms {
        let (mut start, mut end, mut stride, mut count, mut format) =
            (1_i64, None::<i64>, 1_i64, None::<i64>, "%d".to_owned());
        let num = |s: &str| -> Result<i64, Error> {
            let s = s.trim();
            let parsed = if let Some(hex) = s.strip_prefix("0x") {
                i64::from_str_radix(hex, 16)
            } else {
                s.parse()
            };
            parsed.map_err(|_| error(format!("sequence: `{s}` is not a number")))
        };
        if term.contains('=') {
            for word in term.split_whitespace() {
                let (k, v) = word
                    .split_once('=')
                    .ok_or_else(|| error(format!("sequence: `{word}` is not key=value")))?;
                match k {
                    "start" => start = num(v)?,
                    "end" => end = Some(num(v)?),
                    "stride" => stride = num(v)?,
                    "count" => count = Some(num(v)?),
                    "format" => v.clone_into(&mut format),
                    other => return Err(error(format!("sequence: unknown key `{other}`"))),
                }
            }
        } else {
            let (range, fmt) = term.split_once(':').unwrap_or((term, "%d"));
            fmt.clone_into(&mut format);
            let (range, by) = range.split_once('/').unwrap_or((range, "1"));
            stride = num(by)?;
            match range.split_once('-') {
                Some((a, b)) => {
                    start = num(a)?;
                    end = Some(num(b)?);
                }
                None => end = Some(num(range)?),
            }
        }
        if let Some(count) = count {
            end = Some(start + (count - 1) * stride);
        }
        let end = end.ok_or_else(|| error("sequence needs `end` or `count`"))?;
        if stride == 0 {
            return Err(error("sequence: stride must not be 0"));
        }
        let mut i = start;
        while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
            out.push(Value::from(printf(&format, i)));
            i += stride;
            if out.len() > 100_000 {
                return Err(error("sequence: more than 100000 items"));
            }
        }
    }
    Ok(out)
}

/// Python's `%` formatting of one integer: `%d`, `%02d`, `%x`, `%o` inside other text.
fn printf(format: &str, n: i64) -> String {
    let Some(at) = format.find('%') else {
        return format.to_owned();
    };
    let rest = &format[at + 1..];
    let spec_len = rest
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or(rest.len(), |i| i + 1);
    let spec = &rest[..spec_len];
    let (flags, conv) = spec.split_at(spec.len().saturating_sub(1));
    let zero = flags.starts_with('0');
    let width: usize = flags.trim_start_matches('0').parse().unwrap_or(0);
    let body = match conv {
        "x" => format!("{n:x}"),
        "X" => format!("{n:X}"),
        "o" => format!("{n:o}"),
        _ => n.to_string(),
    };
    let padded = if zero {
        format!("{body:0>width$}")
    } else {
        format!("{body:>width$}")
    };
    format!("{}{padded}{}", &format[..at], &rest[spec_len..])
}

#[cfg(test)]
mod tests {
    use super::{flattened, printf, sequence};
    use minijinja::Value;

    #[test]
    fn sequence_forms() {
        let texts = |t: &str| -> Vec<String> {
            sequence(&[t.to_owned()])
                .expect("sequence")
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(texts("start=1 end=3"), ["1", "2", "3"]);
        assert_eq!(texts("count=2 start=4 stride=2"), ["4", "6"]);
        assert_eq!(texts("2-4/2:host%02d"), ["host02", "host04"]);
        assert_eq!(printf("web-%03x.test", 10), "web-00a.test");
    }

    /// `with_community.general.flattened`: lists at any depth become one list; `None` ends the
    /// list it is in (the items after it in an outer list still count).
    #[test]
    fn flattened_flattens_every_depth_and_stops_a_list_at_none() {
        let terms: Vec<Value> = serde_json::from_str::<Vec<serde_json::Value>>(
            r#"[["/usr/bin", ["/bin", ["/sbin"]]], "/opt", ["/a", "None", "/b"], "/c"]"#,
        )
        .expect("json")
        .into_iter()
        .map(Value::from_serialize)
        .collect();
        let texts: Vec<String> = flattened(&terms).iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["/usr/bin", "/bin", "/sbin", "/opt", "/a", "/c"]);
    }
}
