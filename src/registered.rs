//! Registered results (`register:`) and the rounds they cause. A task that reads the result of an
//! earlier task cannot be decided before that task ran, so the compiler stops a host's round
//! there (the *horizon*); the plan shows the rest as known after apply. Once the round is applied
//! (or found converged), the results are built here from what the steps reported, and the host
//! is compiled again from the horizon on with those results known.

use std::collections::BTreeMap;

use minijinja::Value as JValue;
use serde::{Deserialize, Serialize};

use crate::source::Location;

/// Which registered task (and loop item) a compiled resource comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RegisterTag {
    /// The task's position in the host's run of tasks (includes expanded), the same in every
    /// round.
    pub(crate) seq: usize,
    pub(crate) item: usize,
}

/// What one round leaves for the next: where to resume and the results known so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resume {
    /// Tasks before this position ran in earlier rounds: only their directives are replayed.
    pub(crate) at: usize,
    /// Registered results by task position.
    pub(crate) known: BTreeMap<usize, JValue>,
    /// Blocks (their group) whose tasks failed in an earlier round, with what failed: their
    /// `rescue` runs; without one, the host fails after their `always`.
    pub(crate) failed_blocks: BTreeMap<u64, String>,
    /// A round after the host's first (a delegated task is never in the first round: that one
    /// is the host's own, for the node-wide checks, `--shard` and `recon graph`).
    pub(crate) later: bool,
    /// Handlers that delegated rounds since the host's last round of its own triggered: they
    /// run at the end of the host's next round (see `Owed`).
    pub(crate) owed: Vec<Owed>,
    /// The loop items of the task at `at` that ran in earlier rounds (its items delegate to
    /// several hosts, each host's run of items a round): compiling resumes at this item.
    pub(crate) from_item: usize,
    /// Those items as registered, with their results (`None`: skipped), for the task's result.
    pub(crate) partial: Vec<(RegisteredItem, Option<ItemResult>)>,
}

/// A handler a delegated task notified, owed to the delegating host once the task changed
/// something: as in Ansible, the handler runs on the host of the play, not on the delegate, so
/// the delegated round (on the delegate's connection) cannot run it; the host's next round of
/// its own does, at its end, once, with the handlers its own tasks trigger.
#[derive(Debug, Clone)]
pub(crate) struct Owed {
    /// The `notify` name: a handler's name or a `listen` topic.
    pub(crate) name: String,
    pub(crate) at: crate::source::Span,
    /// The delegated task and its delegate, for the plan's reason.
    pub(crate) task: String,
    pub(crate) to: String,
}

impl Resume {
    /// Adds what a delegated round that changed something owes the host (each name once).
    pub(crate) fn owe(&mut self, owes: &[Owed]) {
        for owed in owes {
            if !self.owed.iter().any(|o| o.name == owed.name) {
                self.owed.push(owed.clone());
            }
        }
    }
}

/// A task of this round that registers its result.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub(crate) seq: usize,
    /// The task has a loop: its result holds `results`, one per item.
    pub(crate) looped: bool,
    pub(crate) items: Vec<RegisteredItem>,
}

/// How a registered result holds what its task printed, besides `changed`/`failed`/`skipped`
/// (a kind's `Resource::result_shape`). Open: the shapes several kinds share are here, a kind's
/// own is a `const` in its file (`stat`, `getent`, `uri`'s, a bridged module's).
#[derive(Clone, Copy)]
pub(crate) struct Shape {
    /// For debugging output.
    name: &'static str,
    /// What the result holds, from the item's outcome.
    build: fn(&ItemResult) -> Shaped,
}

/// What a shape makes of an item's outcome.
pub(crate) enum Shaped {
    /// Fields beside recon's own (`changed`, `failed`, `skipped`, `item`, which win).
    Fields(BTreeMap<String, JValue>),
    /// The whole result (`getent`'s fact: a mapping of entries).
    Whole(JValue),
}

impl Shape {
    /// Nothing more (files, packages, services ...).
    pub(crate) const PLAIN: Shape = Shape::new("plain", |_| Shaped::Fields(BTreeMap::new()));
    /// `rc`, `stdout`, `stdout_lines`, `stderr`, `stderr_lines`.
    pub(crate) const COMMAND: Shape = Shape::new("command", command_fields);

    /// A shape named `name` (for debugging output) whose result `build` makes.
    pub(crate) const fn new(name: &'static str, build: fn(&ItemResult) -> Shaped) -> Self {
        Self { name, build }
    }
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Shape({})", self.name)
    }
}

/// A command's result: its exit code and its output, whole and in lines, as Ansible's.
fn command_fields(r: &ItemResult) -> Shaped {
    let stdout = r.stdout.strip_suffix('\n').unwrap_or(&r.stdout);
    let stderr = r.stderr.strip_suffix('\n').unwrap_or(&r.stderr);
    Shaped::Fields(BTreeMap::from([
        ("rc".to_owned(), JValue::from(r.rc)),
        ("stdout".to_owned(), JValue::from(stdout)),
        ("stdout_lines".to_owned(), lines(stdout)),
        ("stderr".to_owned(), JValue::from(stderr)),
        ("stderr_lines".to_owned(), lines(stderr)),
    ]))
}

/// One item of a registering task.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredItem {
    /// The loop item (`item` in each of `results`).
    pub(crate) item: Option<JValue>,
    /// Skipped by `when`; otherwise compiled to a resource.
    pub(crate) skipped: bool,
    /// What its result holds.
    pub(crate) shape: Shape,
}

impl RegisteredItem {
    /// An item its `when` skipped.
    pub(crate) fn skipped(item: Option<JValue>) -> Self {
        Self {
            item,
            skipped: true,
            shape: Shape::PLAIN,
        }
    }
}

/// Where and why a host's round stops.
#[derive(Debug, Clone)]
pub(crate) struct Horizon {
    /// The next round compiles resources from this task position on.
    pub(crate) resume_at: usize,
    /// And, within that task's loop, from this item on (0: the whole task).
    pub(crate) item: usize,
    /// The task the round stops at (or after), for the plan.
    pub(crate) task: String,
    pub(crate) at: Location,
    pub(crate) why: Why,
}

/// Why a round stops.
#[derive(Debug, Clone)]
pub(crate) enum Why {
    /// The task reads a registered result of this round.
    Uses { name: String },
    /// The task only reads (`changed_when: false`): it runs between rounds and its output is
    /// its registered result.
    Query(Query),
    /// The task's `failed_when`/`changed_when` reads its own result: the next round judges it
    /// before anything that follows runs.
    Judged,
    /// The task is the first of a `rescue`: it runs only if its block failed in this round.
    Rescue,
    /// The task is the first of an `always`: whether its block failed is known after this round.
    Always,
    /// The task is the last of an `always` whose block failed with no `rescue`: the host fails
    /// once it ran.
    Reraise,
    /// A task delegated to `to` (`delegate_to`, `local_action`) is a round of its own, on the
    /// delegate's connection: the round ends before it (`after: false`) or after it.
    Delegated { to: String, after: bool },
    /// A `run_once` task that registers: the first host of the batch runs it and its result is
    /// every host's of the batch, as in Ansible. The round ends after it: on the first host
    /// (`leader: None`) its result is built and shared; on another the task does not run and
    /// the next round takes the first host's result.
    Once { leader: Option<String> },
}

/// A read-only task run between rounds.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub(crate) seq: usize,
    /// Each loop item's body (a subshell body, as an apply step's), by item position.
    pub(crate) items: Vec<(usize, crate::script::Script)>,
    /// Runs under `sudo -n` (the task has `become`).
    pub(crate) become_: bool,
    /// A failure does not fail the host (`ignore_errors: true`, `failed_when: false`, or a
    /// `failed_when` the next round decides on the result).
    pub(crate) ignore_errors: bool,
    /// `until`: run again until the condition holds.
    pub(crate) retry: Option<Retry>,
    /// `no_log`: its output is never shown (a failure says only that it failed).
    pub(crate) sensitive: bool,
}

/// A query's `until`, with what it takes to decide it on each attempt's result.
#[derive(Clone)]
pub(crate) struct Retry {
    pub(crate) until: crate::yaml::Node,
    /// Attempts after the first (`retries`, Ansible's default 3).
    pub(crate) retries: u32,
    /// Seconds between attempts (`delay`, default 5).
    pub(crate) delay: u32,
    /// The task's variables; its registered name is bound to each attempt's result.
    pub(crate) vars: BTreeMap<String, crate::template::Var>,
    pub(crate) templar: std::sync::Arc<crate::template::Templar>,
    pub(crate) register: Option<String>,
}

impl std::fmt::Debug for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retry")
            .field("until", &self.until.scalar_text())
            .field("retries", &self.retries)
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

impl Retry {
    /// Whether `until` holds for `value`, the attempt's registered result (an error counts as
    /// not holding: the next attempt may answer).
    pub(crate) fn holds(&self, value: &JValue) -> bool {
        let mut vars = self.vars.clone();
        if let Some(name) = &self.register {
            vars.insert(name.clone(), crate::template::Var::Ready(value.clone()));
        }
        let ctx = crate::template::Context::new(&self.templar, vars);
        self.templar.condition(&self.until, &ctx).unwrap_or(false)
    }
}

/// How a round's horizon reads in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Deferred {
    /// The task the round ends at: the first not planned yet, or with `after`, the last planned.
    pub(crate) task: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) after: bool,
    pub(crate) reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) at: Option<Location>,
}

impl Horizon {
    /// The plan's note for the tasks from here on.
    pub(crate) fn deferred(&self) -> Deferred {
        let reason = match &self.why {
            Why::Uses { name } => {
                format!("it uses `{name}`, registered by a task this run changes")
            }
            Why::Query(_) => {
                "it only reads the host (`changed_when: false`), after the steps before it"
                    .to_owned()
            }
            Why::Judged => "they wait for its `failed_when` to judge its result".to_owned(),
            Why::Rescue => "it is a `rescue`: it runs only if its block fails".to_owned(),
            Why::Always => "it is an `always`: it runs after its block, failed or not".to_owned(),
            Why::Reraise => "its block failed: the host fails after its `always`".to_owned(),
            Why::Delegated { to, after: false } => {
                format!("it is delegated to `{to}`: it runs there after the steps before it")
            }
            Why::Delegated { to, after: true } => {
                format!("they run after the task delegated to `{to}`")
            }
            Why::Once { leader: None } => {
                "it runs once for its batch (`run_once`), which shares its result".to_owned()
            }
            Why::Once {
                leader: Some(first),
            } => format!(
                "it runs once for its batch (`run_once`), on `{first}`, whose result they use"
            ),
        };
        Deferred {
            task: self.task.clone(),
            after: matches!(
                self.why,
                Why::Judged | Why::Reraise | Why::Delegated { after: true, .. } | Why::Once { .. }
            ),
            reason,
            at: Some(self.at.clone()),
        }
    }
}

/// What a host's plan needs to go on after its round: kept with the planned host, never saved.
#[derive(Debug, Clone)]
pub(crate) struct NextRound {
    /// The play's position in the playbook.
    pub(crate) play: usize,
    pub(crate) resume: Resume,
    pub(crate) registrations: Vec<Registration>,
    pub(crate) horizon: Horizon,
    /// What the round owes the host's handlers if a step of it changes (a delegated task's
    /// `notify`).
    pub(crate) owes: Vec<Owed>,
    /// `run_once` tasks (positions) whose result this host, the first of its batch, shares
    /// with the batch once it is known.
    pub(crate) shares: Vec<usize>,
}

impl NextRound {
    /// Where the next round resumes: every registration of this round bound to its result
    /// (`result_of(tag)`, a resource with no step being unchanged), the query's to `query`.
    pub(crate) fn resume_after(
        &self,
        result_of: impl Fn(RegisterTag) -> Option<ItemResult>,
        query: &[(usize, ItemResult)],
        failed_blocks: &[(u64, String)],
    ) -> Resume {
        let mut known = self.resume.known.clone();
        let mut partial = Vec::new();
        let query_seq = match &self.horizon.why {
            Why::Query(q) => Some(q.seq),
            _ => None,
        };
        for registration in &self.registrations {
            let seq = registration.seq;
            // Items an earlier round of this very task ran (see `Resume::partial`).
            let earlier = |item: usize| {
                (seq == self.resume.at)
                    .then(|| self.resume.partial.get(item))
                    .flatten()
                    .map(|(_, result)| result.clone())
            };
            let result = |item: usize| {
                earlier(item).unwrap_or_else(|| {
                    Some(result_of(RegisterTag { seq, item }).unwrap_or_else(ItemResult::unchanged))
                })
            };
            if self.horizon.item > 0 && seq == self.horizon.resume_at {
                // The task's loop goes on in the next round: its result is not complete yet.
                partial = (registration.items.iter().enumerate())
                    .map(|(i, it)| (it.clone(), result(i).filter(|_| !it.skipped)))
                    .collect();
                continue;
            }
            let value = if query_seq == Some(seq) {
                value(registration, |item| {
                    query
                        .iter()
                        .find(|(i, _)| *i == item)
                        .map(|(_, r)| r.clone())
                })
            } else {
                value(registration, result)
            };
            known.insert(seq, value);
        }
        let mut failed = self.resume.failed_blocks.clone();
        failed.extend(failed_blocks.iter().cloned());
        Resume {
            at: self.horizon.resume_at,
            known,
            failed_blocks: failed,
            later: true,
            owed: self.resume.owed.clone(),
            from_item: self.horizon.item,
            partial,
        }
    }
}

/// What one item of a registered task did.
#[derive(Debug, Clone, Default)]
pub(crate) struct ItemResult {
    pub(crate) changed: bool,
    pub(crate) failed: bool,
    pub(crate) rc: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl ItemResult {
    /// A resource found converged (or a command whose guard found nothing to do): nothing ran.
    pub(crate) fn unchanged() -> Self {
        Self::default()
    }
}

/// Ansible's `stdout_lines`: the text split at line ends.
fn lines(text: &str) -> JValue {
    text.lines().map(JValue::from).collect()
}

/// One item's result as Ansible shapes it.
fn item_value(item: &RegisteredItem, result: Option<&ItemResult>) -> JValue {
    let mut map: BTreeMap<String, JValue> = BTreeMap::new();
    match result {
        None => {
            map.insert("changed".to_owned(), JValue::from(false));
            map.insert("skipped".to_owned(), JValue::from(true));
            map.insert(
                "skip_reason".to_owned(),
                JValue::from("Conditional result was False"),
            );
        }
        Some(r) => {
            match (item.shape.build)(r) {
                Shaped::Whole(value) => return value,
                Shaped::Fields(fields) => map.extend(fields),
            }
            map.insert("changed".to_owned(), JValue::from(r.changed));
            map.insert("failed".to_owned(), JValue::from(r.failed));
            map.insert("skipped".to_owned(), JValue::from(false));
        }
    }
    if let Some(value) = &item.item {
        map.insert("item".to_owned(), value.clone());
    }
    JValue::from_iter(map)
}

/// The registered value of `registration`, from each item's result (`None` = skipped).
pub(crate) fn value(
    registration: &Registration,
    result_of: impl Fn(usize) -> Option<ItemResult>,
) -> JValue {
    let items: Vec<(JValue, bool, bool)> = registration
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let result = if item.skipped { None } else { result_of(i) };
            let changed = result.as_ref().is_some_and(|r| r.changed);
            let failed = result.as_ref().is_some_and(|r| r.failed);
            (item_value(item, result.as_ref()), changed, failed)
        })
        .collect();
    if !registration.looped {
        return items
            .into_iter()
            .next()
            .map_or_else(|| JValue::from(()), |(v, _, _)| v);
    }
    let changed = items.iter().any(|(_, c, _)| *c);
    let failed = items.iter().any(|(_, _, f)| *f);
    let skipped = registration.items.iter().all(|i| i.skipped);
    let results: Vec<JValue> = items.into_iter().map(|(v, _, _)| v).collect();
    JValue::from_iter([
        ("changed", JValue::from(changed)),
        ("failed", JValue::from(failed)),
        ("skipped", JValue::from(skipped)),
        ("msg", JValue::from("All items completed")),
        ("results", JValue::from(results)),
    ])
}

/// Runs each item's body of a query in turn (`_query ITEM SECS BODY`, under the probe bound,
/// with the walk helpers as probe commands have them: `script::HELPERS_FUNCTIONS`) and
/// reports `@@query ITEM RC STDOUT STDERR` (base64), through a private temp folder
/// (`script/temp.rs`).
const QUERY_FUNCTIONS: &str = r#"_tmp_open || exit 1
_helpers || exit 1
_query() {
  _qt=$(date +%s)
  _bounded "$2" env "_recon_helpers=$_rt/helpers" sh -c "$_helped$3" >"$_o" 2>"$_e" </dev/null; _qrc=$?
  if _timed_out "$_qrc" "$_qt" "$2"; then
    printf 'stopped: it did not finish within %s s (RECON_PROBE_TIMEOUT sets the bound)\n' "$2" >>"$_e"
  fi
  printf '@@query %s %s ' "$1" "$_qrc"; base64 -w0 < "$_o"; printf ' '; base64 -w0 < "$_e"; echo
}
"#;

/// The script that runs `query` on the host: read-only by the task's own declaration.
pub(crate) fn query_script(query: &Query) -> crate::script::Script {
    use crate::script::{n, w, Script, BOUND_FUNCTIONS, HELPERS_FUNCTIONS, TEMP_FUNCTIONS};
    let mut s = Script::of(BOUND_FUNCTIONS);
    s.code(TEMP_FUNCTIONS)
        .code(HELPERS_FUNCTIONS)
        .code(QUERY_FUNCTIONS);
    let limit = crate::script::probe_limit();
    for (item, body) in &query.items {
        let item = u64::try_from(*item).unwrap_or(u64::MAX);
        s.fill("_query {} {} {}\n", [n(item), n(limit), w(body.as_str())]);
    }
    s
}

/// The results a query script reported, by item; exit 100 means a guard found nothing to do.
pub(crate) fn query_results(stdout: &str) -> Vec<(usize, ItemResult)> {
    let decode = |text: Option<&str>| crate::text::from_base64(text.unwrap_or(""));

    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("@@query "))
        .filter_map(|rest| {
            let mut words = rest.split(' ');
            let item = words.next()?.parse().ok()?;
            let status: i32 = words.next()?.parse().ok()?;
            Some((
                item,
                ItemResult {
                    changed: false,
                    failed: status != 0 && status != 100,
                    rc: if status == 100 { 0 } else { status },
                    stdout: decode(words.next()),
                    stderr: decode(words.next()),
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command_item(item: Option<&str>, skipped: bool) -> RegisteredItem {
        RegisteredItem {
            item: item.map(JValue::from),
            skipped,
            shape: Shape::COMMAND,
        }
    }

    #[test]
    fn a_command_result_has_ansible_fields() {
        let reg = Registration {
            seq: 3,
            looped: false,
            items: vec![command_item(None, false)],
        };
        let v = value(&reg, |_| {
            Some(ItemResult {
                changed: true,
                rc: 0,
                stdout: "a\nb\n".into(),
                ..ItemResult::default()
            })
        });
        assert_eq!(v.get_attr("stdout").expect("stdout").as_str(), Some("a\nb"));
        assert_eq!(v.get_attr("stdout_lines").expect("lines").len(), Some(2));
        assert!(v.get_attr("changed").expect("changed").is_true());
        assert_eq!(v.get_attr("rc").expect("rc").as_i64(), Some(0));
    }

    #[test]
    fn a_loop_collects_results_and_skips() {
        let reg = Registration {
            seq: 1,
            looped: true,
            items: vec![
                command_item(Some("x"), false),
                command_item(Some("y"), true),
            ],
        };
        let v = value(&reg, |_| Some(ItemResult::unchanged()));
        let results = v.get_attr("results").expect("results");
        assert_eq!(results.len(), Some(2));
        let second = results.get_item(&JValue::from(1)).expect("second");
        assert!(second.get_attr("skipped").expect("skipped").is_true());
        assert_eq!(second.get_attr("item").expect("item").as_str(), Some("y"));
        assert!(!v.get_attr("changed").expect("changed").is_true());
    }

    #[test]
    fn a_query_script_reports_each_item_and_a_guard_is_neither_failed_nor_changed() {
        let body = |code: &'static str| crate::script::Script::of(code);
        let query = Query {
            seq: 0,
            items: vec![
                (0, body("printf 'a\\nb\\n'\n")),
                (1, body("echo boom >&2; exit 3\n")),
                (2, body("exit 100\n")),
            ],
            become_: false,
            ignore_errors: false,
            retry: None,
            sensitive: false,
        };
        let out = std::process::Command::new("sh")
            .args(["-c", query_script(&query).as_str()])
            .output()
            .expect("sh runs");
        let results = query_results(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(results.len(), 3, "{results:?}");
        assert_eq!(results[0].1.stdout, "a\nb\n");
        assert!(results[1].1.failed && results[1].1.rc == 3);
        assert_eq!(results[1].1.stderr, "boom\n");
        let guarded = &results[2].1;
        assert!(!guarded.failed && !guarded.changed && guarded.rc == 0);
    }
}
