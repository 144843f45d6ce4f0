//! How a task's result is judged (`changed_when`, `failed_when`, `ignore_errors`) and what it
//! registers, as the compiler sees them: conditions that can be decided now are decided now; those
//! that read the task's own result are decided when the next round replays the task with its
//! result known (see registered.rs for the rounds).

use minijinja::Value as JValue;

use super::directive::HostState;
use super::{Compiler, HostRun};
use crate::error::{Error, Result};
use crate::playbook::TaskSpec;
use crate::registered::{self, Horizon, Registration, Why};
use crate::template::{Context, Templar, Var};
use crate::yaml::Node;

/// What a task's outcome keywords say before it runs.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Judgement {
    /// `changed_when: false`: the task only reads; a command then runs as a query.
    pub(super) query: bool,
    /// A failure does not fail the host (`ignore_errors`, `failed_when: false`, or a
    /// `failed_when` that is decided after the task ran).
    pub(super) ignore_errors: bool,
    /// `failed_when` reads the task's own result: the round ends after the task, and the next
    /// round decides whether it failed.
    pub(super) judged: bool,
}

/// Whether `text` names the variable `name` (as a whole word).
fn mentions(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// The conditions of an outcome keyword (a list means all of them).
fn conditions(node: &Node) -> Vec<&Node> {
    match node.as_seq() {
        Some(items) => items.iter().collect(),
        None => vec![node],
    }
}

/// Whether any condition reads `name`.
fn reads(node: &Node, name: Option<&str>) -> bool {
    name.is_some_and(|name| {
        conditions(node)
            .iter()
            .any(|c| c.scalar_text().is_some_and(|t| mentions(t, name)))
    })
}

/// All conditions of `node` now, or `None` when one needs a result not known yet.
fn decide_now(templar: &Templar, node: &Node, ctx: &Context) -> Result<Option<bool>> {
    let mut all = true;
    for condition in conditions(node) {
        match templar.condition(condition, ctx) {
            Ok(value) => all &= value,
            Err(_) if crate::template::take_unknown_use().is_some() => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some(all))
}

/// Reads a task's outcome keywords for one item.
pub(super) fn judge(templar: &Templar, spec: &TaskSpec, ctx: &Context) -> Result<Judgement> {
    let own = spec.register.as_deref();
    let mut out = Judgement::default();
    if let Some(node) = &spec.outcome.changed_when {
        if !reads(node, own) && decide_now(templar, node, ctx)? == Some(false) {
            out.query = true;
        }
    }
    if let Some(node) = &spec.outcome.ignore_errors {
        out.ignore_errors = decide_now(templar, node, ctx)?.unwrap_or(false);
    }
    if let Some(node) = &spec.outcome.failed_when {
        if !reads(node, own) && decide_now(templar, node, ctx)? == Some(false) {
            out.ignore_errors = true;
        } else {
            out.judged = true;
        }
    }
    Ok(out)
}

/// The horizon of a round that ends at (or after) `spec`.
pub(super) fn horizon_at(spec: &TaskSpec, resume_at: usize, why: Why) -> Horizon {
    horizon_at_item(spec, resume_at, 0, why)
}

/// A horizon inside the loop of the task at `resume_at`: the next round compiles its items
/// from `item` on (a loop whose items delegate to several hosts).
pub(super) fn horizon_at_item(spec: &TaskSpec, resume_at: usize, item: usize, why: Why) -> Horizon {
    let task = spec
        .name
        .as_ref()
        .and_then(Node::scalar_text)
        .map_or_else(|| spec.kind.clone(), str::to_owned);
    Horizon {
        resume_at,
        item,
        task,
        at: spec.span.location(),
        why,
    }
}

impl Compiler<'_> {
    /// A query's `until` with its `retries` (default 3) and `delay` (default 5 seconds).
    pub(super) fn retry(
        &self,
        spec: &TaskSpec,
        until: &Node,
        vars: std::collections::BTreeMap<String, Var>,
        ctx: &Context,
    ) -> Result<registered::Retry> {
        let number = |node: Option<&Node>, default: u32| -> Result<u32> {
            let Some(node) = node else {
                return Ok(default);
            };
            let text = self.templar.render_string(node, ctx)?;
            text.trim().parse().map_err(|_| {
                Error::invalid(format!("`{text}` is not a number"), &node.span).with_label("here")
            })
        };
        Ok(registered::Retry {
            until: until.clone(),
            retries: number(spec.outcome.retries.as_ref(), 3)?,
            delay: number(spec.outcome.delay.as_ref(), 5)?,
            vars,
            templar: std::sync::Arc::clone(&self.templar),
            register: spec.register.clone(),
        })
    }

    /// Binds `name` after its task: to the result an earlier round recorded (judged now by
    /// `changed_when`/`failed_when` that read it), to a skipped result, or to a result known
    /// only after this round.
    pub(super) fn finish_registration(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        name: &str,
        registration: Registration,
        state: &mut HostState,
    ) -> Result<()> {
        let seq = registration.seq;
        if seq < state.resume.at {
            let value = match state.resume.known.get(&seq) {
                Some(value) => value.clone(),
                None => registered::value(&registration, |_| None),
            };
            state.set(name, Var::Ready(value.clone()));
            return self.judge_result(run, spec, name, value, state);
        }
        if registration.items.iter().all(|i| i.skipped) {
            let value = registered::value(&registration, |_| None);
            // Known now: the next rounds (and a `run_once` batch, see once.rs) take it as is.
            state.resume.known.insert(seq, value.clone());
            state.set(name, Var::Ready(value));
        } else {
            state.register_unknown(name, spec, self.options.check_only);
            state.registrations.push(registration);
        }
        Ok(())
    }

    /// `changed_when`/`failed_when` that read the task's own result, decided on the result.
    fn judge_result(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        name: &str,
        value: JValue,
        state: &mut HostState,
    ) -> Result<()> {
        let own = Some(name);
        let context = |state: &HostState| {
            let role = spec.role.as_deref();
            let vars = self
                .scopes(run.play, run.host, run.vars_files, role, Some(spec), state)
                .flatten();
            Context::new(&self.templar, vars)
        };
        let mut value = value;
        if let Some(node) = spec.outcome.changed_when.as_ref().filter(|n| reads(n, own)) {
            let changed = decide_now(&self.templar, node, &context(state))?.unwrap_or(true);
            value = with_field(&value, "changed", changed);
            state.set(name, Var::Ready(value.clone()));
        }
        if let Some(node) = spec.outcome.failed_when.as_ref() {
            let failed = decide_now(&self.templar, node, &context(state))?.unwrap_or(false);
            value = with_field(&value, "failed", failed);
            state.set(name, Var::Ready(value.clone()));
            let ignored = match &spec.outcome.ignore_errors {
                Some(n) => decide_now(&self.templar, n, &context(state))?.unwrap_or(false),
                None => false,
            };
            if failed && !ignored {
                let stderr = value
                    .get_attr("stderr")
                    .ok()
                    .filter(|v| !v.is_undefined())
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                let err = Error::invalid("the task failed: its `failed_when` is true", &node.span)
                    .with_label("true for this result");
                return Err(if stderr.trim().is_empty() {
                    err
                } else {
                    err.with_help(format!("stderr: {}", stderr.trim()))
                });
            }
        }
        Ok(())
    }
}

/// `value` (a mapping) with `key` set to `flag`.
fn with_field(value: &JValue, key: &str, flag: bool) -> JValue {
    let mut map: std::collections::BTreeMap<String, JValue> = std::collections::BTreeMap::new();
    if let Ok(keys) = value.try_iter() {
        for k in keys {
            if let (Some(name), Ok(v)) = (k.as_str(), value.get_item(&k)) {
                map.insert(name.to_owned(), v);
            }
        }
    }
    map.insert(key.to_owned(), JValue::from(flag));
    JValue::from_iter(map)
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn a_variable_is_named_only_as_a_whole_word() {
        assert!(mentions("result.rc != 0", "result"));
        assert!(mentions("'x' in result.stdout", "result"));
        assert!(!mentions("my_result.rc != 0", "result"));
        assert!(!mentions("results", "result"));
    }
}
