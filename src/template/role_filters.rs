//! More filters public roles use: Jinja's `wordwrap` (Python's `textwrap`), Ansible's
//! `from_yaml_all`, and community.general's `version_sort` and `lists_mergeby` (also by their
//! `community.general.` names). Each behaves as its Python original does.

// minijinja hands filters their arguments by value (`String`, `Kwargs`): that is its signature.
#![allow(clippy::needless_pass_by_value)]

use std::cmp::Ordering;
use std::path::Path;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};

use super::filters::invalid;

/// Registers the filters, each under its short and its collection's name.
pub(crate) fn register(env: &mut Environment<'static>) {
    for name in ["wordwrap", "ansible.builtin.wordwrap"] {
        env.add_filter(name, wordwrap);
    }
    for name in ["from_yaml_all", "ansible.builtin.from_yaml_all"] {
        env.add_filter(name, from_yaml_all);
    }
    for name in ["version_sort", "community.general.version_sort"] {
        env.add_filter(name, version_sort);
    }
    for name in ["lists_mergeby", "community.general.lists_mergeby"] {
        env.add_filter(name, lists_mergeby);
    }
}

/// Jinja's `wordwrap(width=79, break_long_words=True, wrapstring=None, break_on_hyphens=True)`:
/// each line wrapped by Python's `textwrap.wrap` (tabs and whitespace kept), joined by
/// `wrapstring` (a newline).
fn wordwrap(s: String, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let positional = |i: usize| args.0.get(i).filter(|v| !v.is_none());
    let width = match kwargs.get::<Option<usize>>("width")? {
        Some(w) => w,
        None => positional(0).map_or(Ok(79), |w| usize::try_from(w.clone()))?,
    };
    let flag = |name: &str, i: usize| -> Result<Option<bool>, Error> {
        Ok(kwargs
            .get::<Option<bool>>(name)?
            .or_else(|| positional(i).map(Value::is_true)))
    };
    let long = flag("break_long_words", 1)?;
    let hyphens = flag("break_on_hyphens", 3)?;
    let join = kwargs
        .get::<Option<String>>("wrapstring")?
        .or_else(|| positional(2).map(ToString::to_string));
    kwargs.assert_all_used()?;
    let join = join.unwrap_or_else(|| "\n".to_owned());
    let wrapper = Wrapper {
        width,
        break_long_words: long.unwrap_or(true),
        break_on_hyphens: hyphens.unwrap_or(true),
    };
    let lines: Vec<String> = s
        .lines()
        .map(|line| wrapper.wrap(line).join(&join))
        .collect();
    Ok(lines.join(&join))
}

/// Python's `textwrap.TextWrapper` with `expand_tabs=False, replace_whitespace=False`.
struct Wrapper {
    width: usize,
    break_long_words: bool,
    break_on_hyphens: bool,
}

impl Wrapper {
    /// `TextWrapper.wrap`: the lines, whitespace dropped around the breaks.
    fn wrap(&self, text: &str) -> Vec<String> {
        let mut chunks: Vec<Vec<char>> = self.chunks(text);
        chunks.reverse();
        let blank = |c: &[char]| c.iter().all(|c| c.is_whitespace());
        let mut lines = Vec::new();
        while !chunks.is_empty() {
            if !lines.is_empty() && chunks.last().is_some_and(|c| blank(c)) {
                chunks.pop();
            }
            let mut line: Vec<Vec<char>> = Vec::new();
            let mut len = 0;
            while let Some(chunk) = chunks.last() {
                if len + chunk.len() > self.width {
                    break;
                }
                len += chunk.len();
                line.extend(chunks.pop());
            }
            if chunks.last().is_some_and(|c| c.len() > self.width) {
                self.long_word(&mut chunks, &mut line, len);
            }
            if line.last().is_some_and(|c| blank(c)) {
                line.pop();
            }
            if !line.is_empty() {
                lines.push(line.concat().into_iter().collect());
            }
        }
        lines
    }

    /// `_handle_long_word`: as much of a too long word as fits (after a hyphen if one does).
    fn long_word(&self, chunks: &mut Vec<Vec<char>>, line: &mut Vec<Vec<char>>, len: usize) {
        let space = if self.width < 1 { 1 } else { self.width - len };
        if self.break_long_words {
            let Some(chunk) = chunks.pop() else { return };
            let mut end = space.min(chunk.len());
            if self.break_on_hyphens && chunk.len() > space {
                let hyphen = chunk[..space].iter().rposition(|c| *c == '-');
                if let Some(h) = hyphen.filter(|h| *h > 0 && chunk[..*h].iter().any(|c| *c != '-'))
                {
                    end = h + 1;
                }
            }
            line.push(chunk[..end].to_vec());
            chunks.push(chunk[end..].to_vec());
        } else if line.is_empty() {
            line.extend(chunks.pop());
        }
    }

    /// `_split`: runs of whitespace and words; with `break_on_hyphens`, a hyphenated word split
    /// after its hyphens and an em-dash (`--` between words) a chunk of its own, as Python's
    /// `wordsep_re` splits.
    fn chunks(&self, text: &str) -> Vec<Vec<char>> {
        let chars: Vec<char> = text.chars().collect();
        let letter = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphabetic() || *c == '_')
        };
        let word = |j: usize| {
            chars
                .get(j)
                .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        };
        let hyphen = |j: usize| chars.get(j) == Some(&'-');
        let (mut out, mut cur, mut dash_end) = (Vec::new(), Vec::new(), None);
        for (i, &c) in chars.iter().enumerate() {
            if cur
                .last()
                .is_some_and(|l: &char| l.is_whitespace() != c.is_whitespace())
            {
                out.push(std::mem::take(&mut cur));
            }
            if self.break_on_hyphens && c == '-' && dash_end.is_none() && i > 0 && !hyphen(i - 1) {
                let run = chars[i..].iter().take_while(|c| **c == '-').count();
                let before = chars[i - 1];
                let punct = word(i - 1) || "!\"'&.,?".contains(before);
                if run >= 2 && punct && word(i + run) {
                    out.push(std::mem::take(&mut cur));
                    dash_end = Some(i + run - 1);
                }
            }
            cur.push(c);
            let split = if dash_end == Some(i) {
                dash_end = None;
                true
            } else {
                // Two letters (or letter, hyphen, letter) before the hyphen, two after it.
                self.break_on_hyphens
                    && dash_end.is_none()
                    && c == '-'
                    && letter(i.checked_sub(1))
                    && (letter(i.checked_sub(2)) || i >= 3 && hyphen(i - 2) && letter(Some(i - 3)))
                    && letter(Some(i + 1))
                    && (letter(Some(i + 2)) || hyphen(i + 2) && letter(Some(i + 3)))
            };
            if split {
                out.push(std::mem::take(&mut cur));
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out.retain(|c| !c.is_empty());
        out
    }
}

/// `from_yaml_all`: every document of a YAML stream, as a list (`None` for an empty one).
fn from_yaml_all(text: Value) -> Result<Value, Error> {
    let Some(text) = text.as_str() else {
        return Ok(if text.is_none() || text.is_undefined() {
            Value::from(Vec::<Value>::new())
        } else {
            text
        });
    };
    let mut docs = Vec::new();
    for doc in documents(text) {
        let node = crate::yaml::parse_text(Path::new("<from_yaml_all>"), doc)
            .map_err(|e| invalid(format!("from_yaml_all: {e}")))?;
        docs.push(super::to_jinja(&node));
    }
    Ok(Value::from(docs))
}

/// The documents of a stream: a `---` line starts one (a marker at the start of a line ends
/// any scalar in YAML), `...` ends one; text before the first marker is one only when it holds
/// more than comments and directives.
fn documents(text: &str) -> Vec<String> {
    let marker = |line: &str, m: &str| {
        line.strip_prefix(m)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
    };
    let content = |doc: &str| {
        doc.lines().any(|l| {
            let l = l.trim();
            !l.is_empty() && !l.starts_with('#') && !l.starts_with('%')
        })
    };
    let (mut docs, mut cur, mut explicit) = (Vec::new(), String::new(), false);
    for line in text.split_inclusive('\n') {
        if marker(line, "---") {
            if explicit || content(&cur) {
                docs.push(std::mem::take(&mut cur));
            }
            cur.clear();
            explicit = true;
            cur.push_str(&line[3..]);
        } else if marker(line, "...") {
            if explicit || content(&cur) {
                docs.push(std::mem::take(&mut cur));
            }
            cur.clear();
            explicit = false;
        } else {
            cur.push_str(line);
        }
    }
    if explicit || content(&cur) {
        docs.push(cur);
    }
    docs
}

/// community.general's `version_sort(reverse=False)`: sorted by Python's `LooseVersion`.
fn version_sort(value: Value, reverse: Option<bool>, kwargs: Kwargs) -> Result<Value, Error> {
    let reverse = kwargs.get::<Option<bool>>("reverse")?.or(reverse);
    kwargs.assert_all_used()?;
    let mut items: Vec<(Vec<Part>, Value)> = value
        .try_iter()?
        .map(|v| {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            (loose_version(&text), v)
        })
        .collect();
    let mut mixed = false;
    items.sort_by(|(a, _), (b, _)| compare(a, b, &mut mixed));
    if mixed {
        return Err(invalid(
            "version_sort: '<' not supported between instances of 'int' and 'str'",
        ));
    }
    if reverse == Some(true) {
        items.reverse();
    }
    Ok(Value::from(
        items.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    ))
}

/// A component of a `LooseVersion`.
#[derive(Debug, PartialEq, Eq)]
enum Part {
    Number(u128),
    Text(String),
}

/// `LooseVersion.parse`: the text split at digit runs, lowercase letter runs and dots; the
/// dots dropped, the digit runs numbers, everything else text.
fn loose_version(text: &str) -> Vec<Part> {
    let class = |c: char| {
        if c.is_ascii_digit() {
            1
        } else if c.is_ascii_lowercase() {
            2
        } else if c == '.' {
            3
        } else {
            0
        }
    };
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut cur_class = None;
    for c in text.chars() {
        let k = class(c);
        let joins = cur_class == Some(k) && k != 3;
        if !joins && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
        }
        cur.push(c);
        cur_class = Some(k);
    }
    parts.push(cur);
    parts
        .into_iter()
        .filter(|p| !p.is_empty() && p != ".")
        .map(|p| p.parse().map_or(Part::Text(p), Part::Number))
        .collect()
}

/// Python's comparison of two component lists; a number against text sets `mixed` (Python
/// raises `TypeError` there).
fn compare(a: &[Part], b: &[Part], mixed: &mut bool) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = match (x, y) {
            (Part::Number(x), Part::Number(y)) => x.cmp(y),
            (Part::Text(x), Part::Text(y)) => x.cmp(y),
            _ => {
                *mixed = true;
                Ordering::Equal
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

/// community.general's `lists_mergeby(*lists, index, recursive=False, list_merge='replace')`:
/// the dictionaries of the lists merged by their `index` value (later lists win), sorted by it.
fn lists_mergeby(first: Value, rest: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".to_owned());
    kwargs.assert_all_used()?;
    let mut terms: Vec<Value> = std::iter::once(first).chain(rest.0).collect();
    let Some(index) = terms.pop().filter(|_| !terms.is_empty()) else {
        return Err(invalid("At least one list and index are needed."));
    };
    let mut lists = Vec::new();
    for sub in terms {
        if sub.kind() != ValueKind::Seq && sub.kind() != ValueKind::String {
            return Err(invalid(format!(
                "All arguments before the argument index for community.general.lists_mergeby must be lists. {sub} is {}",
                sub.kind()
            )));
        }
        let items: Vec<Value> = sub.try_iter()?.collect();
        if items.is_empty() {
            continue;
        }
        if items
            .iter()
            .all(|i| matches!(i.kind(), ValueKind::Seq | ValueKind::String))
        {
            lists.extend(items);
        } else {
            lists.push(sub);
        }
    }
    if lists.len() <= 1 {
        return Ok(lists
            .pop()
            .unwrap_or_else(|| Value::from(Vec::<Value>::new())));
    }
    if index.as_str().is_none() {
        return Err(invalid(format!(
            "First argument after the lists for community.general.lists_mergeby must be string. {index} is {}",
            index.kind()
        )));
    }
    let merge = Merge {
        recursive,
        list_merge,
    };
    let mut lists = lists.into_iter().rev();
    let mut result = lists.next().unwrap_or_default();
    for list in lists {
        result = merge.by(&list, &result, &index)?;
    }
    Ok(result)
}

/// How `merge_hash` combines values (Ansible's `combine` options).
struct Merge {
    recursive: bool,
    list_merge: String,
}

impl Merge {
    /// `list_mergeby(x, y, index)`: the dictionaries of both, merged per `index` value, sorted.
    fn by(&self, x: &Value, y: &Value, index: &Value) -> Result<Value, Error> {
        let mut merged: Vec<(Value, Value)> = Vec::new();
        for elem in x.try_iter()?.chain(y.try_iter()?) {
            if elem.kind() != ValueKind::Map {
                return Err(invalid(format!(
                    "Elements of list arguments for lists_mergeby must be dictionaries. {elem} is {}",
                    elem.kind()
                )));
            }
            let key = elem.get_item(index)?;
            if key.is_undefined() {
                continue;
            }
            match merged.iter_mut().find(|(k, _)| *k == key) {
                Some((_, have)) => *have = self.hash(have, &elem)?,
                None => merged.push((key, elem)),
            }
        }
        merged.sort_by(|(a, _), (b, _)| a.cmp(b));
        Ok(Value::from(
            merged.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        ))
    }

    /// Ansible's `merge_hash(x, y, recursive, list_merge)`: `y`'s entries over `x`'s.
    fn hash(&self, x: &Value, y: &Value) -> Result<Value, Error> {
        let entries = |v: &Value| -> Result<Vec<(Value, Value)>, Error> {
            Ok(v.try_iter()?
                .map(|k| {
                    let item = v.get_item(&k).unwrap_or_default();
                    (k, item)
                })
                .collect())
        };
        let mut out = entries(x)?;
        for (key, new) in entries(y)? {
            let Some((_, old)) = out.iter_mut().find(|(k, _)| *k == key) else {
                out.push((key, new));
                continue;
            };
            *old = match (old.kind(), new.kind()) {
                (ValueKind::Map, ValueKind::Map) if self.recursive => self.hash(old, &new)?,
                (ValueKind::Seq, ValueKind::Seq) => self.lists(old, &new)?,
                _ => new,
            };
        }
        Ok(Value::from_iter(out))
    }

    /// Two lists under one key, as `list_merge` says.
    fn lists(&self, old: &Value, new: &Value) -> Result<Value, Error> {
        let (old, new): (Vec<Value>, Vec<Value>) =
            (old.try_iter()?.collect(), new.try_iter()?.collect());
        let kept = |from: &[Value]| -> Vec<Value> {
            from.iter().filter(|v| !new.contains(v)).cloned().collect()
        };
        let out: Vec<Value> = match self.list_merge.as_str() {
            "replace" => new.clone(),
            "keep" => old.clone(),
            "append" => old.iter().chain(&new).cloned().collect(),
            "prepend" => new.iter().chain(&old).cloned().collect(),
            "append_rp" => kept(&old).into_iter().chain(new.iter().cloned()).collect(),
            "prepend_rp" => new.iter().cloned().chain(kept(&old)).collect(),
            other => {
                return Err(invalid(format!(
                    "merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp' (got `{other}`)"
                )))
            }
        };
        Ok(Value::from(out))
    }
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    fn render(template: &str) -> String {
        let mut env = Environment::new();
        super::register(&mut env);
        env.render_str(template, ()).expect("renders")
    }

    const LONG: &str = "The quick brown fox jumps over the lazy dog, then well-known \
        self-contained ideas follow: supercalifragilisticexpialidocious-words and more.";

    /// Each expected text is what ansible-playbook (ansible-core 2.x, Jinja 3) printed.
    #[test]
    fn wordwrap_wraps_as_python_textwrap_does() {
        let wrap = |args: &str| {
            render(
                &format!("{{{{ long | wordwrap({args}) }}}}").replace("long", &format!("{LONG:?}")),
            )
        };
        assert_eq!(
            wrap("20"),
            "The quick brown fox\njumps over the lazy\ndog, then well-known\nself-contained ideas\nfollow: supercalifra\ngilisticexpialidocio\nus-words and more."
        );
        assert_eq!(
            wrap("12, wrapstring='|'"),
            "The quick|brown fox|jumps over|the lazy|dog, then|well-known|self-|contained|ideas|follow: supe|rcalifragili|sticexpialid|ocious-words|and more."
        );
        assert_eq!(
            wrap("10, False"),
            "The quick\nbrown fox\njumps over\nthe lazy\ndog, then\nwell-known\nself-\ncontained\nideas\nfollow:\nsupercalifragilisticexpialidocious-\nwords and\nmore."
        );
        assert_eq!(
            wrap("10, break_on_hyphens=False, wrapstring='|'"),
            "The quick|brown fox|jumps over|the lazy|dog, then|well-known|self-conta|ined ideas|follow: su|percalifra|gilisticex|pialidocio|us-words|and more."
        );
        assert_eq!(
            render("{{ '  indented  text  here\nsecond   line' | wordwrap(8) }}"),
            "indented\ntext\nhere\nsecond\nline"
        );
        assert_eq!(
            render("{{ 'a-b-c ab-cd-ef abc-d x--y' | wordwrap(3, wrapstring='|') }}"),
            "a-|b-c|ab-|cd-|ef |abc|-d|x--|y"
        );
    }

    #[test]
    fn from_yaml_all_reads_every_document() {
        assert_eq!(
            render("{{ 'a: 1\n---\nb: [1, 2]\n---\n' | from_yaml_all | tojson }}"),
            r#"[{"a":1},{"b":[1,2]},null]"#
        );
        assert_eq!(
            render("{{ '---\n- x\n--- |\n  text\n...\n' | from_yaml_all | tojson }}"),
            r#"[["x"],"text\n"]"#
        );
        assert_eq!(render("{{ '# only\n' | from_yaml_all | tojson }}"), "[]");
    }

    /// Expected orders from `sorted(..., key=LooseVersion)` in ansible-core's Python.
    #[test]
    fn version_sort_sorts_as_loose_version() {
        assert_eq!(
            render(
                "{{ ['2.10', '2.9', '1.0', '1.0.1', '10', '1.0.0'] | version_sort | join(' ') }}"
            ),
            "1.0 1.0.0 1.0.1 2.9 2.10 10"
        );
        assert_eq!(
            render("{{ ['1.2.10', '1.2.9', '1.2', '1.10.0'] | community.general.version_sort(reverse=true) | join(' ') }}"),
            "1.10.0 1.2.10 1.2.9 1.2"
        );
        assert_eq!(
            render("{{ ['v1.10', 'v1.9', 'v2'] | version_sort | join(' ') }}"),
            "v1.9 v1.10 v2"
        );
        let mut env = Environment::new();
        super::register(&mut env);
        assert!(env
            .render_str("{{ ['1.0-rc1', '1.0.1'] | version_sort }}", ())
            .is_err());
    }

    /// community.general's documented examples (plugins/filter/lists_mergeby.py).
    #[test]
    fn lists_mergeby_merges_as_documented() {
        let vars = "{% set list1 = [{'index': 'a', 'value': 123}, {'index': 'b', 'value': 4}] %}\
            {% set list2 = [{'index': 'a', 'foo': 'bar'}, {'index': 'c', 'foo': 'baz'}] %}";
        let want = r#"[{"index":"a","value":123,"foo":"bar"},{"index":"b","value":4},{"index":"c","foo":"baz"}]"#;
        assert_eq!(
            render(&format!(
                "{vars}{{{{ list1 | lists_mergeby(list2, 'index') | tojson }}}}"
            )),
            want
        );
        assert_eq!(
            render(&format!("{vars}{{{{ [list1, list2] | community.general.lists_mergeby('index') | tojson }}}}")),
            want
        );
        let nested = "{% set l1 = [{'index': 'a', 'foo': {'x': 1, 'y': 2}}, {'index': 'b', 'foo': ['X1', 'X2']}] %}\
            {% set l2 = [{'index': 'a', 'foo': {'y': 3, 'z': 4}}, {'index': 'b', 'foo': ['Y1', 'Y2']}] %}";
        assert_eq!(
            render(&format!(
                "{nested}{{{{ [l1, l2] | lists_mergeby('index') | tojson }}}}"
            )),
            r#"[{"index":"a","foo":{"y":3,"z":4}},{"index":"b","foo":["Y1","Y2"]}]"#
        );
        assert_eq!(
            render(&format!("{nested}{{{{ [l1, l2] | lists_mergeby('index', recursive=true, list_merge='append') | tojson }}}}")),
            r#"[{"index":"a","foo":{"x":1,"y":3,"z":4}},{"index":"b","foo":["X1","X2","Y1","Y2"]}]"#
        );
    }
}
