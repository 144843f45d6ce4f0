//! The shared minijinja environment and everything that renders: playbook scalars (with their
//! spans), `when:` expressions and template files. Undefined variables are errors (strict mode),
//! and every error points at the file and the expression that failed.

mod compat;
mod datetime;
mod datetime_sub;
mod extra_filters;
mod filters;
mod indent;
mod ipaddr;
mod ipaddr_query;
mod lint;
mod lookup;
mod lookups;
mod more_filters;
mod predicates;
mod pyrepr;
#[cfg(test)]
mod reference_filters;
mod role_filters;
mod taint;
mod urlencode;
mod yaml_dump;

pub(crate) use filters::{python_replacement, OMIT};
pub(crate) use lookups::fileglob;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as JValue};
use minijinja::{AutoEscape, Environment, ErrorKind as JErrorKind, State, UndefinedBehavior};

use crate::error::{Error, ErrorKind, Result};
use crate::source::{SourceFile, Span};
use crate::yaml::{Node, Resolved, Value};

/// One strict environment for the whole run, built once and shared by reference.
pub(crate) struct Templar {
    env: Environment<'static>,
}

impl Default for Templar {
    fn default() -> Self {
        Self::new()
    }
}

impl Templar {
    /// Ansible's template settings (`trim_blocks`, trailing newline kept), so the same template
    /// renders the same bytes under recon and Ansible.
    pub(crate) fn new() -> Self {
        Self::with_files(std::path::Path::new(""))
    }

    /// The environment for one playbook: `lookup('password', PATH)` resolves a relative `PATH`
    /// against `dir` (the playbook's folder, as in Ansible).
    pub(crate) fn with_files(dir: &std::path::Path) -> Self {
        let mut env = Environment::new();
        let base = dir.to_path_buf();
        env.add_function(
            "lookup",
            move |state: &minijinja::State,
                  name: String,
                  terms: minijinja::value::Rest<JValue>,
                  kwargs: minijinja::value::Kwargs| {
                lookups::lookup(&base, state, &name, terms, kwargs)
            },
        );
        for name in ["query", "q"] {
            let base = dir.to_path_buf();
            env.add_function(
                name,
                move |state: &minijinja::State,
                      lookup: String,
                      terms: minijinja::value::Rest<JValue>,
                      kwargs: minijinja::value::Kwargs| {
                    lookups::query(&base, state, &lookup, terms, kwargs)
                },
            );
        }
        env.add_filter("secret", lookup::secret_filter);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_debug(true);
        env.set_trim_blocks(true);
        env.set_keep_trailing_newline(true);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Values inside text print as Python's `str()` does, as under Ansible.
        // A piece whose evaluation read a secret is registered as one (taint, see `taint`).
        env.set_formatter(|out, _, value| {
            let text = pyrepr::py_str(value);
            taint::piece_written(value, &text);
            out.write_str(&text)
                .map_err(|e| minijinja::Error::new(JErrorKind::WriteFailure, e.to_string()))
        });
        filters::register(&mut env);
        predicates::register(&mut env);
        urlencode::register(&mut env);
        // Last: it adds the `ansible.builtin.` names of every filter and test registered before.
        extra_filters::register(&mut env);
        more_filters::register(&mut env);
        datetime::register(&mut env);
        ipaddr::register(&mut env);
        role_filters::register(&mut env);
        indent::register(&mut env);
        // Python's methods on strings, lists and dicts (`x.keys()`, `s.startswith('a')`), which
        // Ansible content calls because Ansible's Jinja runs on Python objects.
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("__recon_known_after_apply", |name: String| {
            known_after_apply(&name)
        });
        env.add_function("__recon_registered_in_an_earlier_play", |name: String| {
            Err::<JValue, _>(minijinja::Error::new(
                JErrorKind::InvalidOperation,
                format!("`{name}` is registered by an earlier play and known only after it is applied: recon plans every play before applying any (register it in this play, or put both in one play)"),
            ))
        });
        Self { env }
    }

    pub(crate) fn has_template(text: &str) -> bool {
        text.contains("{{") || text.contains("{%")
    }

    /// Renders every string leaf of `node`. A scalar that is exactly one `{{ expr }}` keeps the
    /// expression's type (a list stays a list), as in Ansible.
    pub(crate) fn render_node(&self, node: &Node, ctx: &Context) -> Result<Node> {
        let value = match &node.value {
            Value::Scalar { text, .. } if Self::has_template(text) => {
                let out = self.render_scalar(node, text, ctx)?;
                return Ok(from_jinja(&out, &node.span));
            }
            Value::Scalar { .. } => node.value.clone(),
            Value::Seq(items) => Value::Seq(
                items
                    .iter()
                    .map(|n| self.render_node(n, ctx))
                    .collect::<Result<_>>()?,
            ),
            Value::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_node(v, ctx)?)))
                    .collect::<Result<_>>()?,
            ),
        };
        Ok(Node {
            value,
            span: node.span.clone(),
        })
    }

    /// Renders a string scalar to a string (for names, paths, commands).
    pub(crate) fn render_string(&self, node: &Node, ctx: &Context) -> Result<String> {
        let text = node.scalar_text().unwrap_or_default();
        if !Self::has_template(text) {
            return Ok(text.to_owned());
        }
        let out = self.render_scalar(node, text, ctx)?;
        Ok(if out.is_none() {
            String::new()
        } else {
            pyrepr::py_str(&out)
        })
    }

    fn render_scalar(&self, node: &Node, text: &str, ctx: &Context) -> Result<JValue> {
        let render = taint::Render::start();
        let result = match single_expression(text) {
            Some(expr) => self
                .env
                .compile_expression(&datetime_sub::rewrite_expr(expr))
                .and_then(|e| e.eval(ctx.value())),
            None => self
                .env
                .render_str(&datetime_sub::rewrite(text), ctx.value())
                .map(JValue::from),
        };
        let value = settle(result, ctx, |e| scalar_error(e, node, text))?;
        if value.is_undefined() {
            let what = single_expression(text).unwrap_or(text).trim();
            return Err(Error::at(
                ErrorKind::UndefinedVariable {
                    message: format!("undefined variable `{what}`"),
                },
                &node.span,
            )
            .with_label("not defined"));
        }
        let taint = render.finish();
        // The whole value derives from a secret (or a piece of it was too short to mask inside
        // the text): each of its strings is one, and a short one conceals the task's values.
        if taint.read
            && (taint.short || single_expression(text).is_some())
            && taint::register_whole(&value)
        {
            ctx.inner.concealed.store(true, Ordering::Relaxed);
        }
        Ok(value)
    }

    /// Evaluates a `when:` condition (a bare Jinja expression, as in Ansible).
    pub(crate) fn condition(&self, node: &Node, ctx: &Context) -> Result<bool> {
        if let Some(Resolved::Bool(b)) = node.resolve() {
            return Ok(b);
        }
        let text = node.scalar_text().unwrap_or_default();
        let expr = single_expression(text).unwrap_or(text);
        let result = self
            .env
            .compile_expression(&datetime_sub::rewrite_expr(expr))
            .and_then(|e| e.eval(ctx.value()))
            .map(|v| v.is_true());
        settle(result, ctx, |e| scalar_error(e, node, text))
    }

    /// `query(name, terms)` for a `with_NAME` loop: the loop's items, errors located at `at`.
    pub(crate) fn query(
        &self,
        name: &str,
        terms: &JValue,
        ctx: &Context,
        at: &Node,
    ) -> Result<Vec<JValue>> {
        let expr = format!("query({name:?}, __recon_loop_terms)");
        let result = self.env.compile_expression(&expr).and_then(|e| {
            e.eval(minijinja::context! { __recon_loop_terms => terms, ..ctx.value() })
        });
        let value = settle(result, ctx, |e| scalar_error(e, at, &expr))?;
        Ok(value.try_iter().map(Iterator::collect).unwrap_or_default())
    }

    /// Renders a template file; errors point into that file.
    pub(crate) fn render_file(&self, file: &Arc<SourceFile>, ctx: &Context) -> Result<String> {
        let name = file.name();
        // Ansible's byte-level handling around Jinja (`#jinja2:` line, newlines): compat.rs.
        let (overrides, body) = compat::prepare(&file.text);
        let local;
        let env = if overrides.any() {
            local = compat::environment(&self.env, overrides);
            &local
        } else {
            &self.env
        };
        // A file that read a secret is sensitive as a whole (`Context::used_secret`): its short
        // derived pieces need no word of their own.
        let render = taint::Render::start();
        let rendered = env
            .template_from_named_str(&name, &datetime_sub::rewrite(&body))
            .and_then(|t| t.render(ctx.value()))
            .map(|out| compat::restore_trailing_newlines(&body, out));
        let _ = render.finish();
        rendered.map_err(|e| {
            ctx.take_inner_error()
                .unwrap_or_else(|| file_error(&e, file))
        })
    }
}

thread_local! {
    /// Whether a render on this thread touched a stand-in result (see `stand_in_result`).
    static STAND_IN_TOUCHED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A registered result (or a fact) while `recon check` compiles every task: any attribute,
/// and what any of its methods returns (`.split('.')`), is another stand-in; it is true,
/// iterates as nothing and prints `(known after apply)`. A task whose compile fails after
/// touching one is not an error (its real values exist only on the host, or after apply).
#[derive(Debug)]
struct StandIn;

impl Object for StandIn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn get_value(self: &Arc<Self>, _: &JValue) -> Option<JValue> {
        STAND_IN_TOUCHED.with(|t| t.set(true));
        Some(JValue::from_object(StandIn))
    }
    fn is_true(self: &Arc<Self>) -> bool {
        STAND_IN_TOUCHED.with(|t| t.set(true));
        true
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        STAND_IN_TOUCHED.with(|t| t.set(true));
        Enumerator::Empty
    }
    fn call(
        self: &Arc<Self>,
        _: &State<'_, '_>,
        _: &[JValue],
    ) -> std::result::Result<JValue, minijinja::Error> {
        STAND_IN_TOUCHED.with(|t| t.set(true));
        Ok(JValue::from_object(StandIn))
    }
    fn call_method(
        self: &Arc<Self>,
        _: &State<'_, '_>,
        _: &str,
        _: &[JValue],
    ) -> std::result::Result<JValue, minijinja::Error> {
        STAND_IN_TOUCHED.with(|t| t.set(true));
        Ok(JValue::from_object(StandIn))
    }
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        STAND_IN_TOUCHED.with(|t| t.set(true));
        f.write_str(STAND_IN_TEXT)
    }
}

/// How a stand-in prints: a file name rendered from one (`include_vars: "{{ ansible_os_family
/// }}.yml"`) holds it where the host's value will be.
pub(crate) const STAND_IN_TEXT: &str = "(known after apply)";

/// The files a name rendered from stand-ins may be on a host (`recon check`): each stand-in
/// is any text (`*`), matched against the files of `dirs` (the first folder holding a name
/// wins, as the search does), sorted. Empty when nothing can match, and when a stand-in is in
/// a folder part of the name (not enumerated: the caller treats the name as unknown).
pub(crate) fn stand_in_matches(name: &str, dirs: &[PathBuf]) -> Option<Vec<PathBuf>> {
    let pattern = name.replace(STAND_IN_TEXT, "*");
    let (sub, file) = pattern.rsplit_once('/').unwrap_or(("", pattern.as_str()));
    if sub.contains('*') {
        return None;
    }
    let mut found: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let dir = if sub.is_empty() {
            dir.clone()
        } else {
            dir.join(sub)
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| crate::glob::glob(file, n))
            })
            .collect();
        names.sort();
        for path in names {
            if !found.iter().any(|f| f.file_name() == path.file_name()) {
                found.push(path);
            }
        }
    }
    Some(found)
}

/// A variable whose presence makes every undefined `ansible_*` name a stand-in: `recon check`
/// of a play that gathers facts on a host it does not contact.
pub(crate) const FACT_STAND_INS: &str = "__recon_fact_stand_ins";

/// `ansible_*` names that are connection settings, not facts: never stood in for.
const CONNECTION_PREFIXES: &[&str] = &[
    "ansible_become",
    "ansible_user",
    "ansible_host",
    "ansible_port",
    "ansible_connection",
    "ansible_ssh",
    "ansible_python_interpreter",
    "ansible_password",
    "ansible_private_key_file",
];

/// Whether `name` is the connection setting `prefix` or one of its family (`ansible_ssh_*`,
/// `ansible_become_*`, `ansible_host_key_checking`), but not a fact that only starts the same
/// (`ansible_hostname`, `ansible_user_id`).
fn is_connection_setting(prefix: &str, name: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || (prefix != "ansible_user" && rest.starts_with('_')))
}

/// `value`, noting that a render read a stand-in when it is one (a variable a directive set
/// from one): what the render then fails at (`packages + ['x']`) is the stand-in's doing.
fn read_stand_in(value: JValue) -> JValue {
    if value.downcast_object_ref::<StandIn>().is_some() {
        STAND_IN_TOUCHED.with(|t| t.set(true));
    }
    value
}

/// The stand-in for a registered result (`recon check`).
pub(crate) fn stand_in_result() -> JValue {
    JValue::from_object(StandIn)
}

/// Whether a stand-in result was touched on this thread since the last call (and forgets it).
pub(crate) fn take_stand_in_touched() -> bool {
    STAND_IN_TOUCHED.with(std::cell::Cell::take)
}

thread_local! {
    /// The registered variable the last failed render on this thread needed (see
    /// `take_unknown_use`). A host compiles on one thread, so this never crosses hosts.
    static UNKNOWN_USE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Which registered variable, known only after apply, made a render on this thread fail since
/// the last call (and forgets it): the compiler stops the host's round there instead of failing.
pub(crate) fn take_unknown_use() -> Option<String> {
    UNKNOWN_USE.with(|u| u.borrow_mut().take())
}

/// The template function behind a registered variable (`register:`) whose value exists only
/// after apply: an error naming it, remembered for `take_unknown_use`.
fn known_after_apply(name: &str) -> std::result::Result<JValue, minijinja::Error> {
    UNKNOWN_USE.with(|u| *u.borrow_mut() = Some(name.to_owned()));
    Err(minijinja::Error::new(
        JErrorKind::InvalidOperation,
        format!("`{name}` is registered by an earlier task: its value is known only after apply"),
    ))
}

/// A failure while rendering a variable this render used is the real cause, even when the outer
/// render went on with an undefined value; otherwise the render's own error counts.
fn settle<T>(
    result: Result<T, minijinja::Error>,
    ctx: &Context,
    locate: impl FnOnce(&minijinja::Error) -> Error,
) -> Result<T> {
    if let Some(inner) = ctx.take_inner_error() {
        return Err(inner);
    }
    result.map_err(|e| locate(&e))
}

/// `{{ expr }}` and nothing else: the expression inside.
fn single_expression(text: &str) -> Option<&str> {
    // Spaces around the expression do not count; a newline does (`"{{ x }}\n"` is a string
    // ending in a newline, as in Ansible).
    let inner = text
        .trim_matches([' ', '\t'])
        .strip_prefix("{{")?
        .strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then_some(inner)
}

fn kind_of(err: &minijinja::Error, snippet: &str) -> ErrorKind {
    if err.kind() == JErrorKind::UndefinedError {
        let what = snippet.trim();
        let message = if what.is_empty() || what.len() > 60 {
            "undefined variable".to_owned()
        } else {
            format!("undefined variable `{what}`")
        };
        ErrorKind::UndefinedVariable { message }
    } else {
        ErrorKind::Template {
            message: format!(
                "template error: {}",
                err.detail().unwrap_or(&err.kind().to_string())
            ),
        }
    }
}

/// The variable a filter at `filter_start` is applied to (`drain` in `drain | bool`), when it is
/// a plain name or attribute path.
fn filter_operand(expr: &str, filter_start: usize) -> Option<std::ops::Range<usize>> {
    let before = expr.get(..filter_start)?.trim_end();
    let before = before.strip_suffix('|')?.trim_end();
    let name = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let begin = before
        .char_indices()
        .rev()
        .find(|(_, c)| !name(*c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    (begin < before.len()).then_some(begin..before.len())
}

fn scalar_error(err: &minijinja::Error, node: &Node, text: &str) -> Error {
    let source =
        &node.span.file.text[node.span.start..node.span.end.min(node.span.file.text.len())];
    // Where the template text starts inside the scalar's source (after a quote, say).
    let base = single_expression(text)
        .and_then(|expr| source.find(expr))
        .or_else(|| source.find(text))
        .filter(|_| err.range().is_some());
    let (span, snippet) = match (base, err.range()) {
        (Some(base), Some(r)) => {
            let expr_text = single_expression(text)
                .filter(|_| source.find(text) != Some(base))
                .unwrap_or(text);
            // An undefined value given to a filter (`drain | bool`) is reported at the filter:
            // name the value instead.
            let r = if err.kind() == JErrorKind::UndefinedError {
                filter_operand(expr_text, r.start).unwrap_or(r)
            } else {
                r
            };
            let snippet = expr_text.get(r.clone()).unwrap_or_default().to_owned();
            (node.span.narrow(base + r.start, base + r.end), snippet)
        }
        _ => (node.span.clone(), String::new()),
    };
    let label = if err.kind() == JErrorKind::UndefinedError {
        "not defined"
    } else {
        "here"
    };
    Error::at(kind_of(err, &snippet), &span).with_label(label)
}

fn file_error(err: &minijinja::Error, file: &Arc<SourceFile>) -> Error {
    let text = &file.text;
    let (start, end) = match (err.range(), err.line()) {
        (Some(r), _) if r.end <= text.len() => (r.start, r.end),
        (_, Some(line)) => {
            let start = text
                .split_inclusive('\n')
                .take(line.saturating_sub(1))
                .map(str::len)
                .sum::<usize>();
            let len = text[start..].find('\n').unwrap_or(text.len() - start);
            (start, start + len)
        }
        _ => (0, 0),
    };
    let snippet = text.get(start..end).unwrap_or_default();
    let span = Span {
        file: Arc::clone(file),
        start,
        end,
    };
    let label = if err.kind() == JErrorKind::UndefinedError {
        "not defined"
    } else {
        "here"
    };
    Error::at(kind_of(err, snippet), &span).with_label(label)
}

/// Converts a YAML node into a template value (core schema).
pub(crate) fn to_jinja(node: &Node) -> JValue {
    match &node.value {
        Value::Scalar { .. } => match node.resolve() {
            Some(Resolved::Bool(b)) => JValue::from(b),
            Some(Resolved::Int(i)) => JValue::from(i),
            Some(Resolved::Float(f)) => JValue::from(f),
            Some(Resolved::Str(s)) => JValue::from(s),
            Some(Resolved::Null) | None => JValue::from(()),
        },
        Value::Seq(items) => items.iter().map(to_jinja).collect(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.key().to_owned(), to_jinja(v)))
            .collect(),
    }
}

/// Converts a rendered value back into a node that keeps the span of the scalar it came from.
pub(crate) fn from_jinja(value: &JValue, span: &Span) -> Node {
    use minijinja::value::ValueKind;
    let node_value = if matches!(value.kind(), ValueKind::Seq | ValueKind::Iterable) {
        let items: Vec<JValue> = value.try_iter().map(Iterator::collect).unwrap_or_default();
        Value::Seq(items.iter().map(|v| from_jinja(v, span)).collect())
    } else if value.kind() == ValueKind::Map {
        let entries = value
            .try_iter()
            .map(|keys| {
                keys.map(|k| {
                    let v = value.get_item(&k).unwrap_or_default();
                    (
                        Node::string(k.to_string(), span.clone()),
                        from_jinja(&v, span),
                    )
                })
                .collect()
            })
            .unwrap_or_default();
        Value::Map(entries)
    } else if value.is_none() || value.is_undefined() {
        Value::Scalar {
            text: String::new(),
            plain: true,
        }
    } else {
        let plain = matches!(value.kind(), ValueKind::Bool | ValueKind::Number);
        Value::Scalar {
            text: value.to_string(),
            plain,
        }
    };
    Node {
        value: node_value,
        span: span.clone(),
    }
}

/// A variable before rendering: raw YAML (rendered lazily, in the final context, like Ansible)
/// or a value that is already final (`item`, `groups`, ...).
#[derive(Debug, Clone)]
pub(crate) enum Var {
    Raw(Node),
    Ready(JValue),
}

/// A flattened variable map plus the environment that renders its templated entries on demand.
#[derive(Clone)]
pub(crate) struct Context {
    inner: Arc<LazyVars>,
}

impl Context {
    pub(crate) fn new(templar: &Arc<Templar>, vars: BTreeMap<String, Var>) -> Self {
        Self {
            inner: Arc::new(LazyVars {
                templar: Arc::clone(templar),
                vars,
                cache: Mutex::default(),
                active: Mutex::default(),
                inner_error: Mutex::default(),
                used_secret: AtomicBool::new(false),
                concealed: AtomicBool::new(false),
            }),
        }
    }

    pub(crate) fn value(&self) -> JValue {
        JValue::from_dyn_object(Arc::clone(&self.inner))
    }

    /// The error raised while rendering a variable this render used, if any: it is the real cause.
    fn take_inner_error(&self) -> Option<Error> {
        let me = std::thread::current().id();
        let mut errors = self
            .inner
            .inner_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let at = errors.iter().position(|(thread, _)| *thread == me)?;
        Some(errors.swap_remove(at).1)
    }

    /// One variable's rendered text, `None` when it is unset, `none` or undefined: the lookup
    /// `transport::Target::from_vars` is given, so that `transport` does not import `template`.
    pub(crate) fn text(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .resolve(name)?
            .filter(|v| !v.is_none() && !v.is_undefined())
            .map(|v| v.to_string()))
    }

    /// Fully renders one variable (for `recon inventory` and connection settings).
    pub(crate) fn resolve(&self, name: &str) -> Result<Option<JValue>> {
        let value = self.inner.lookup(name);
        match self.take_inner_error() {
            Some(err) => Err(err),
            None => Ok(value),
        }
    }

    /// Whether anything rendered in this context read a variable whose value holds a secret
    /// (a vault value, a generated password): what it produced is secret even when a filter
    /// transformed the value beyond recognition.
    pub(crate) fn used_secret(&self) -> bool {
        self.inner.used_secret.load(Ordering::Relaxed)
    }

    /// Whether a value rendered in this context derives from a secret but is too short to be
    /// masked inside other text (`{{ token[:2] }}`, `{{ token | length > 3 }}`): it is masked
    /// as a word, and the task's plan masks every attribute value and its diff as a whole, since
    /// a resource may print it reformatted (a mode, a bool).
    pub(crate) fn concealed(&self) -> bool {
        self.inner.concealed.load(Ordering::Relaxed)
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.inner.vars.keys().map(String::as_str)
    }
}

struct LazyVars {
    templar: Arc<Templar>,
    vars: BTreeMap<String, Var>,
    /// Rendered values, with whether each holds a secret.
    cache: Mutex<BTreeMap<String, (JValue, bool)>>,
    /// The variables being rendered, per thread: one context (a host's `hostvars` entry) is
    /// read by the compiles of many hosts at once, and another thread rendering the same
    /// variable is no cycle.
    active: Mutex<Vec<(ThreadId, String)>>,
    /// The first error of a variable render, per thread, for that thread's `settle` only.
    inner_error: Mutex<Vec<(ThreadId, Error)>>,
    /// Set when a variable read through this context held a secret (see `Context::used_secret`).
    used_secret: AtomicBool,
    /// Set when a render in this context made a short derived value (see `Context::concealed`).
    concealed: AtomicBool,
}

impl fmt::Debug for LazyVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyVars")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl LazyVars {
    fn lookup(self: &Arc<Self>, name: &str) -> Option<JValue> {
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned();
        if let Some((value, secret)) = cached {
            self.note_secret(secret);
            return Some(read_stand_in(value));
        }
        let Some(var) = self.vars.get(name) else {
            // `recon check` of a host whose facts were not gathered: any fact stands in.
            if name.starts_with("ansible_")
                && !CONNECTION_PREFIXES
                    .iter()
                    .any(|p| is_connection_setting(p, name))
                && self.vars.contains_key(FACT_STAND_INS)
            {
                STAND_IN_TOUCHED.with(|t| t.set(true));
                return Some(stand_in_result());
            }
            return None;
        };
        let (value, secret) = match var {
            // Final from the start (`groups`, `hostvars`, `item`, `set_fact`): their strings
            // are searched (never other hosts' variables, read through their own context).
            Var::Ready(v) => (v.clone(), taint::holds_secret(v)),
            Var::Raw(node) => {
                let me = std::thread::current().id();
                {
                    let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
                    if active.iter().any(|(t, a)| *t == me && a == name) {
                        let chain = active
                            .iter()
                            .filter(|(t, _)| *t == me)
                            .map(|(_, a)| a.as_str())
                            .collect::<Vec<_>>()
                            .join("` -> `");
                        drop(active);
                        self.record(Error::invalid(
                            format!("variable `{name}` refers to itself (`{chain}` -> `{name}`)"),
                            &node.span,
                        ));
                        return None;
                    }
                    active.push((me, name.to_owned()));
                }
                let ctx = Context {
                    inner: Arc::clone(self),
                };
                let reads = taint::reads();
                let rendered = self.templar.render_node(node, &ctx);
                // Made from a secret, even when no registered text is left in it.
                let derived = taint::reads() > reads;
                self.active
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|(t, a)| *t != me || a != name);
                match rendered {
                    Ok(node) => {
                        let value = to_jinja(&node);
                        let secret = derived
                            || (crate::secret::any()
                                && crate::secret::occurs_in(&value.to_string()));
                        (value, secret)
                    }
                    Err(err) => {
                        self.record(err);
                        return None;
                    }
                }
            }
        };
        self.note_secret(secret);
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), (value.clone(), secret));
        Some(read_stand_in(value))
    }

    /// Remembers that a value holding a secret was read.
    fn note_secret(&self, secret: bool) {
        if secret {
            taint::secret_read();
            self.used_secret.store(true, Ordering::Relaxed);
        }
    }

    fn record(&self, err: Error) {
        let me = std::thread::current().id();
        let mut errors = self
            .inner_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !errors.iter().any(|(thread, _)| *thread == me) {
            errors.push((me, err));
        }
    }
}

impl Object for LazyVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        self.lookup(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.vars.keys().map(|k| JValue::from(k.as_str())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    #[test]
    fn facts_that_start_like_connection_settings_are_not_settings() {
        assert!(is_connection_setting("ansible_host", "ansible_host"));
        assert!(is_connection_setting(
            "ansible_host",
            "ansible_host_key_checking"
        ));
        assert!(!is_connection_setting("ansible_host", "ansible_hostname"));
        assert!(!is_connection_setting("ansible_user", "ansible_user_id"));
        assert!(is_connection_setting(
            "ansible_become",
            "ansible_become_user"
        ));
    }

    #[test]
    fn a_stand_in_name_matches_every_file_a_host_may_pick_first_folder_first() {
        let (a, b) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        for (dir, name) in [
            (&a, "Debian.yml"),
            (&b, "Debian.yml"),
            (&b, "RedHat.yml"),
            (&b, "x.conf"),
        ] {
            std::fs::write(dir.path().join(name), "k: v\n").expect("write");
        }
        let dirs = [a.path().to_path_buf(), b.path().to_path_buf()];
        let found = stand_in_matches(&format!("{STAND_IN_TEXT}.yml"), &dirs).expect("enumerated");
        assert_eq!(
            found,
            [a.path().join("Debian.yml"), b.path().join("RedHat.yml")]
        );
        let none = stand_in_matches(&format!("os/{STAND_IN_TEXT}.yml"), &dirs).expect("enumerated");
        assert!(none.is_empty());
        assert_eq!(
            stand_in_matches(&format!("{STAND_IN_TEXT}/main.yml"), &dirs),
            None
        );
    }

    /// A templar and a context whose variables are `yaml_text`'s top-level keys (raw), and
    /// the parsed document (also for `template/`'s own tests).
    pub(super) fn ctx(yaml_text: &str) -> (Arc<Templar>, Context, Node) {
        let templar = Arc::new(Templar::new());
        let node = yaml::parse(&SourceFile::new("vars.yml", yaml_text)).expect("yaml");
        let vars = node
            .as_map()
            .expect("map")
            .iter()
            .map(|(k, v)| (k.key().to_owned(), Var::Raw(v.clone())))
            .collect();
        (Arc::clone(&templar), Context::new(&templar, vars), node)
    }

    #[test]
    fn variables_render_lazily_in_the_final_context() {
        let (templar, ctx, node) =
            ctx("home: /home/a\nroot: \"{{ home }}/digicam\"\nports: [1, 2]\nall: '{{ ports }}'\n");
        let root = node.get("root").expect("root");
        assert_eq!(
            templar.render_string(root, &ctx).expect("render"),
            "/home/a/digicam"
        );
        let all = templar
            .render_node(node.get("all").expect("all"), &ctx)
            .expect("render");
        assert_eq!(all.as_seq().map(<[Node]>::len), Some(2));
    }

    #[test]
    fn undefined_variable_names_the_variable_and_points_at_it() {
        let (templar, ctx, node) = ctx("path: \"/srv/{{ sqaud }}/x\"\n");
        let err = templar
            .render_string(node.get("path").expect("path"), &ctx)
            .expect_err("undefined");
        assert_eq!(err.to_string(), "undefined variable `sqaud`");
        let span = err.span().expect("span");
        assert_eq!(&span.file.text[span.start..span.end], "sqaud");
    }

    #[test]
    fn an_undefined_value_given_to_a_filter_is_named_not_the_filter() {
        let (templar, ctx, node) = ctx("w: \"{{ drain | bool }}\"\n");
        let err = templar
            .render_string(node.get("w").expect("w"), &ctx)
            .expect_err("undefined");
        assert_eq!(err.to_string(), "undefined variable `drain`");
        let span = err.span().expect("span");
        assert_eq!(&span.file.text[span.start..span.end], "drain");
    }

    #[test]
    fn error_inside_a_variable_points_at_that_variable() {
        let (templar, ctx, node) = ctx("a: '{{ b }}'\nb: '{{ nope }}'\nc: 'x{{ a }}'\n");
        let err = templar
            .render_string(node.get("c").expect("c"), &ctx)
            .expect_err("undefined");
        assert_eq!(err.to_string(), "undefined variable `nope`");
        assert_eq!(err.span().expect("span").line_col().0, 2);
    }

    #[test]
    fn self_reference_is_an_error_not_a_hang() {
        let (templar, ctx, node) = ctx("a: '{{ a }}x'\n");
        let err = templar
            .render_string(node.get("a").expect("a"), &ctx)
            .expect_err("cycle");
        assert!(err.to_string().contains("refers to itself"), "{err}");
    }

    #[test]
    fn files_render_like_ansible() {
        let (templar, ctx, _) = ctx("name: web\n");
        let file = SourceFile::new("t.j2", "{% if true %}\nserver {{ name }};\n{% endif %}\n");
        assert_eq!(
            templar.render_file(&file, &ctx).expect("render"),
            "server web;\n"
        );
        let bad = SourceFile::new("t.j2", "a\nb {{ missing }}\n");
        let err = templar.render_file(&bad, &ctx).expect_err("undefined");
        assert_eq!(err.span().expect("span").line_col().0, 2);
    }
}
