//! A host's resource graph: implicit edges (a path after whatever manages its parent directory, a
//! symlink after the resource that makes its target), explicit `after:`, notify → handlers;
//! duplicate claims and cycles are errors; order is topological, file order where no edge decides.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::{Error, ErrorKind, Result};
use crate::playbook::TaskSpec;
use crate::registered::{Horizon, Owed, RegisterTag, Registration, Resume};
use crate::resource::{parent_dirs, Claim, ClaimKind, Compiled, OnHost};
use crate::source::Span;
use crate::transport::Target;

/// A task after rendering, before names are resolved.
pub(crate) struct Expanded {
    pub(crate) name: String,
    pub(crate) claims: Vec<(String, String)>,
    pub(crate) resource: Compiled,
    pub(crate) spec: TaskSpec,
    pub(crate) become_: bool,
    /// The task registers its result: which task and item this resource is.
    pub(crate) register: Option<RegisterTag>,
    /// A failure does not fail the host (`ignore_errors`, `failed_when`).
    pub(crate) ignore_errors: bool,
    /// In a block with a `rescue` (its group): a failure is caught.
    pub(crate) caught: Option<u64>,
    /// A `become` task that runs as this user, not root (`sudo -u`).
    pub(crate) become_user: Option<String>,
    /// Its rendering made a value too short to mask inside text from a secret
    /// (`Context::concealed`): its plan masks every attribute value and its diff.
    pub(crate) concealed: bool,
}

/// What a round of a host's compile leaves for planning and for the next round.
#[derive(Debug, Default)]
pub(crate) struct Rounds {
    /// What this round was compiled with.
    pub(crate) resume: Resume,
    /// This round's tasks that register results.
    pub(crate) registrations: Vec<Registration>,
    /// Where this round ends; `None`: the play's last task is in it.
    pub(crate) horizon: Option<Horizon>,
    /// A delegated round's task's `notify`: owed to the host's handlers if the round changes.
    pub(crate) owes: Vec<Owed>,
    /// `run_once` tasks whose result this host shares with its batch (see `Why::Once`).
    pub(crate) shares: Vec<usize>,
}

/// A compiled task (or handler).
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) name: String,
    pub(crate) resource: Compiled,
    pub(crate) span: Span,
    /// Rendered `claims:` (kind, value), checked per node.
    pub(crate) claims: Vec<(String, String)>,
    pub(crate) become_: bool,
    /// Handlers (indices into `HostGraph::handlers`) notified when this task changes something.
    pub(crate) notify: Vec<usize>,
    /// Tasks (indices into `HostGraph::tasks`) whose change this task reacts to.
    pub(crate) notified_by: Vec<usize>,
    /// For handlers: topics (besides the name) that `notify` may use.
    pub(crate) listen: Vec<String>,
    /// `no_log`/`sensitive`: its diff and output are never shown or stored.
    pub(crate) sensitive: bool,
    /// The task registers its result: which task and item this resource is.
    pub(crate) register: Option<RegisterTag>,
    /// A failure does not fail the host (`ignore_errors`, `failed_when`).
    pub(crate) ignore_errors: bool,
    /// In a block with a `rescue` (its group): a failure is caught.
    pub(crate) caught: Option<u64>,
    /// A `become` task that runs as this user, not root (`sudo -u`).
    pub(crate) become_user: Option<String>,
    /// `allow_lockout: true`: it may shut the way recon came in by (see `door/`).
    pub(crate) allow_lockout: bool,
    /// See `Expanded::concealed`.
    pub(crate) concealed: bool,
}

/// Why one task must follow another (shown by `recon graph`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EdgeKind {
    Path,
    After,
    /// A task notifies a later task (not a handler): that task reacts to the change.
    Notify,
}

/// One play compiled for one host.
#[derive(Debug)]
pub(crate) struct HostGraph {
    pub(crate) host: String,
    pub(crate) play: String,
    pub(crate) target: Target,
    /// The whole play runs under sudo (`become: true` on the play).
    pub(crate) become_: bool,
    /// In execution order.
    pub(crate) tasks: Vec<Task>,
    /// Direct predecessors of each task (indices into `tasks`, always smaller).
    pub(crate) deps: Vec<Vec<usize>>,
    pub(crate) edges: Vec<(usize, usize, EdgeKind)>,
    pub(crate) handlers: Vec<Task>,
    /// When set (by `recon rollback`), only these tasks are planned; the rest count as unchanged.
    pub(crate) selected: Option<Vec<bool>>,
    /// Registered results and where this round of the play ends.
    pub(crate) rounds: Rounds,
    /// What this play leaves on the host for the plays after it (`set_fact`, `include_vars`,
    /// results known when it was compiled).
    pub(crate) carried: Vec<(String, crate::template::Var)>,
    /// A delegated task's round (see delegate.rs): the inventory host whose connection `target`
    /// is; the task is compiled with this host's variables.
    pub(crate) delegate: Option<String>,
    /// Handlers (indices into `handlers`) that delegated rounds before this one triggered, with
    /// the plan's reason: they run at this round's end whatever its own steps do.
    pub(crate) owed: Vec<(usize, String)>,
}

impl HostGraph {
    /// The name the run's connection pool knows `target` by (the delegate's in its round).
    pub(crate) fn connection(&self) -> &str {
        self.delegate.as_deref().unwrap_or(&self.host)
    }
}

/// The delegate of a round's task (at most one task, to one host; see delegate.rs).
#[derive(Debug, Clone)]
pub(crate) struct Delegate {
    pub(crate) name: String,
    pub(crate) target: Target,
    /// `become` on the delegate: its `ansible_become`, else the play's keyword.
    pub(crate) become_: bool,
}

pub(super) fn build(
    host: &str,
    play: &str,
    play_become: bool,
    target: Target,
    tasks: Vec<Expanded>,
    handlers: Vec<Expanded>,
    rounds: Rounds,
) -> Result<HostGraph> {
    let handler_tasks = resolve_handlers(handlers);
    let mut edges = edges(host, &tasks)?;
    edges.extend(notify_edges(&tasks, &handler_tasks));
    let order = stable_toposort(&tasks, &edges)?;
    let mut position = vec![0; tasks.len()];
    for (pos, &i) in order.iter().enumerate() {
        position[i] = pos;
    }
    let notifies: Vec<Vec<usize>> = tasks
        .iter()
        .map(|t| resolve_notify(&t.spec.notify, &handler_tasks, &tasks))
        .collect::<Result<_>>()?;
    let mut compiled: Vec<Option<Task>> = tasks
        .into_iter()
        .zip(notifies)
        .map(|(t, notify)| {
            Ok(Some(Task {
                name: t.name,
                resource: t.resource,
                span: t.spec.span,
                claims: t.claims,
                become_: t.become_,
                notify,
                notified_by: Vec::new(),
                listen: Vec::new(),
                sensitive: t.spec.sensitive,
                register: t.register,
                ignore_errors: t.ignore_errors,
                caught: t.caught,
                become_user: t.become_user,
                allow_lockout: t.spec.allow_lockout,
                concealed: t.concealed,
            }))
        })
        .collect::<Result<_>>()?;
    // Sized up front: `filter_map` gives no size hint, and a vector grown by doubling kept up
    // to twice the tasks' room in every host's graph for the whole run (a third of a fleet's
    // compile memory).
    let mut tasks: Vec<Task> = Vec::with_capacity(order.len());
    tasks.extend(order.iter().filter_map(|&i| compiled[i].take()));
    let edges: Vec<(usize, usize, EdgeKind)> = edges
        .into_iter()
        .map(|(a, b, k)| (position[a], position[b], k))
        .collect();
    let mut deps = vec![Vec::new(); tasks.len()];
    for &(a, b, kind) in &edges {
        if !deps[b].contains(&a) {
            deps[b].push(a);
        }
        if kind == EdgeKind::Notify {
            tasks[b].notified_by.push(a);
        }
    }
    Ok(HostGraph {
        host: host.to_owned(),
        play: play.to_owned(),
        become_: play_become,
        target,
        tasks,
        deps,
        edges,
        handlers: handler_tasks,
        selected: None,
        rounds,
        carried: Vec::new(),
        delegate: None,
        owed: Vec::new(),
    })
}

/// Checks every claim of every task (its `claims:` and its resource's) against the host's other
/// tasks: a contradiction is an error naming both. Returns, per path, the last task claiming it,
/// and the edges keeping ordered edits and agreeing duplicates of one path in file order.
fn host_claims(host: &str, tasks: &[Expanded]) -> Result<ClaimedPaths> {
    let mut seen: BTreeMap<(ClaimKind, String), Vec<(usize, Claim)>> = BTreeMap::new();
    let mut claimed = ClaimedPaths::default();
    for (i, task) in tasks.iter().enumerate() {
        let explicit = task
            .claims
            .iter()
            .map(|(k, v)| Claim::new(ClaimKind::named(k), v));
        for claim in explicit.chain(task.resource.claims()) {
            let earlier = seen
                .entry((claim.kind.clone(), claim.value.clone()))
                .or_default();
            // A task may claim one thing twice (under `claims:` and by its resource).
            let others: Vec<&(usize, Claim)> = earlier.iter().filter(|(j, _)| *j != i).collect();
            for (j, first) in &others {
                if let OnHost::Conflict(why) = first.on_host(&claim) {
                    return Err(duplicate(host, &claim, why, &tasks[*j], task));
                }
            }
            if claim.kind == ClaimKind::Path {
                if let Some((j, _)) = others.last() {
                    claimed.edges.push((*j, i, EdgeKind::Path));
                }
                claimed.last.insert(claim.value.clone(), i);
            }
            earlier.push((i, claim));
        }
    }
    Ok(claimed)
}

/// What `host_claims` leaves for the graph's path edges.
#[derive(Default)]
struct ClaimedPaths {
    /// Each claimed path and the last task (file order) claiming it.
    last: BTreeMap<String, usize>,
    /// Earlier claimant → later one, for paths two tasks may both claim.
    edges: Vec<(usize, usize, EdgeKind)>,
}

fn edges(host: &str, tasks: &[Expanded]) -> Result<Vec<(usize, usize, EdgeKind)>> {
    let ClaimedPaths {
        last: claims,
        mut edges,
    } = host_claims(host, tasks)?;
    for (i, task) in tasks.iter().enumerate() {
        let resource = &task.resource;
        let mut required: Vec<String> = resource
            .claims()
            .iter()
            .filter(|c| c.kind == ClaimKind::Path)
            .flat_map(|c| parent_dirs(&c.value))
            .collect();
        for need in resource.needs() {
            required.extend(parent_dirs(&need));
            required.push(need);
        }
        for path in required {
            if let Some(&j) = claims.get(&path) {
                if j != i && !edges.iter().any(|&(a, b, _)| a == j && b == i) {
                    edges.push((j, i, EdgeKind::Path));
                }
            }
        }
        for (name, span) in &task.spec.after {
            let found: Vec<usize> = tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| t.name == *name)
                .map(|(j, _)| j)
                .collect();
            if found.is_empty() {
                return Err(
                    Error::at(ErrorKind::UnknownTask { name: name.clone() }, span)
                        .with_label("no task has this name")
                        .suggest(name, tasks.iter().map(|t| t.name.as_str())),
                );
            }
            edges.extend(found.into_iter().map(|j| (j, i, EdgeKind::After)));
        }
    }
    Ok(edges)
}

/// Two tasks of one host contradict each other on `claim`; `why` is the attribute they set
/// differently, when that is the reason.
fn duplicate(
    host: &str,
    claim: &Claim,
    why: Option<(&'static str, String, String)>,
    first: &Expanded,
    second: &Expanded,
) -> Error {
    // A crontab entry's claim is "table\nname".
    let value = claim.value.replace('\n', " ");
    let other = Error::invalid(
        format!("`{value}` is first managed by task `{}`", first.name),
        &first.spec.span,
    )
    .with_label("first task");
    let err = Error::at(
        ErrorKind::Duplicate {
            what: claim.kind.name().to_owned(),
            value,
            host: host.to_owned(),
        },
        &second.spec.span,
    )
    .with_label(format!("task `{}` also manages it", second.name))
    .with_related(other);
    match why {
        Some((attribute, a, b)) => err.with_help(format!(
            "task `{}` wants {attribute} `{a}`, task `{}` wants {attribute} `{b}`: applying both would change it back and forth on every run; make them agree, or keep one",
            first.name, second.name
        )),
        None => err.with_help("keep one of the two tasks (or give each its own value)"),
    }
}

/// Kahn's algorithm, always taking the lowest file position that is ready: deterministic, and
/// file order wherever no edge decides.
fn stable_toposort(tasks: &[Expanded], edges: &[(usize, usize, EdgeKind)]) -> Result<Vec<usize>> {
    let n = tasks.len();
    let mut indegree = vec![0usize; n];
    let mut successors = vec![Vec::new(); n];
    for &(a, b, _) in edges {
        indegree[b] += 1;
        successors[a].push(b);
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| indegree[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &s in &successors[i] {
            indegree[s] -= 1;
            if indegree[s] == 0 {
                ready.push(Reverse(s));
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    Err(cycle_error(tasks, edges))
}

/// Finds one cycle with petgraph's strongly connected components and names every task in it.
fn cycle_error(tasks: &[Expanded], edges: &[(usize, usize, EdgeKind)]) -> Error {
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..tasks.len()).map(|i| graph.add_node(i)).collect();
    for &(a, b, _) in edges {
        graph.add_edge(nodes[a], nodes[b], ());
    }
    let scc = petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .find(|c| c.len() > 1 || c.iter().any(|&n| graph.contains_edge(n, n)))
        .unwrap_or_default();
    let members: Vec<usize> = scc.iter().map(|n| graph[*n]).collect();
    // Walk successors inside the component until a task repeats: that walk is the circle.
    let mut walk: Vec<usize> = members.iter().copied().min().into_iter().collect();
    while let Some(&last) = walk.last() {
        let Some(next) = edges
            .iter()
            .filter(|e| e.0 == last && members.contains(&e.1))
            .map(|e| e.1)
            .min()
        else {
            break;
        };
        if let Some(pos) = walk.iter().position(|&w| w == next) {
            walk.drain(..pos);
            break;
        }
        walk.push(next);
    }
    let names: Vec<String> = walk.iter().map(|&i| tasks[i].name.clone()).collect();
    let mut err = Error::new(ErrorKind::Cycle { names });
    if let Some((&first, rest)) = walk.split_first() {
        err = err
            .with_span(&tasks[first].spec.span)
            .with_label(format!("`{}` is part of the cycle", tasks[first].name));
        for &i in rest {
            err = err.with_related(
                Error::invalid(
                    format!("`{}` is part of the cycle", tasks[i].name),
                    &tasks[i].spec.span,
                )
                .with_label("here"),
            );
        }
    }
    err.with_help("remove one `after:` (or a path dependency) to break the cycle")
}

fn resolve_handlers(handlers: Vec<Expanded>) -> Vec<Task> {
    handlers
        .into_iter()
        .map(|h| Task {
            name: h.name,
            resource: h.resource,
            span: h.spec.span,
            claims: h.claims,
            become_: h.become_,
            notify: Vec::new(),
            notified_by: Vec::new(),
            sensitive: h.spec.sensitive,
            listen: h.spec.listen,
            register: None,
            ignore_errors: h.ignore_errors,
            caught: None,
            become_user: h.become_user,
            allow_lockout: h.spec.allow_lockout,
            concealed: h.concealed,
        })
        .collect()
}

/// `notify:` naming a task (not a handler) orders the notified task after the notifier and lets
/// it react to the notifier's change.
fn notify_edges(tasks: &[Expanded], handlers: &[Task]) -> Vec<(usize, usize, EdgeKind)> {
    let mut edges = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        for (name, _) in &task.spec.notify {
            if is_handler(handlers, name) {
                continue;
            }
            edges.extend(
                tasks
                    .iter()
                    .enumerate()
                    .filter(|(j, t)| *j != i && t.name == *name)
                    .map(|(j, _)| (i, j, EdgeKind::Notify)),
            );
        }
    }
    edges
}

fn is_handler(handlers: &[Task], name: &str) -> bool {
    handlers
        .iter()
        .any(|h| h.name == name || h.listen.iter().any(|l| l == name))
}

/// The handlers `notify` names (a name that is a task's, not a handler's, is that task's
/// reaction): a name nothing answers to is a located error.
fn resolve_notify(
    notify: &[(String, Span)],
    handlers: &[Task],
    tasks: &[Expanded],
) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for (name, span) in notify {
        if !is_handler(handlers, name) && tasks.iter().any(|t| t.name == *name) {
            continue;
        }
        let found: Vec<usize> = handlers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.name == *name || h.listen.contains(name))
            .map(|(i, _)| i)
            .collect();
        if found.is_empty() {
            return Err(
                Error::at(ErrorKind::UnknownHandler { name: name.clone() }, span)
                    .with_label("no handler has this name")
                    .suggest(
                        name,
                        handlers
                            .iter()
                            .map(|h| h.name.as_str())
                            .chain(tasks.iter().map(|t| t.name.as_str())),
                    ),
            );
        }
        out.extend(found);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The handlers `owed` names (see `Owed`), each with the plan's reason: a name no handler
/// answers to is the located error of an unknown `notify`.
pub(super) fn resolve_owed(handlers: &[Task], owed: &[Owed]) -> Result<Vec<(usize, String)>> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for o in owed {
        let why = format!("notified by `{}`, delegated to `{}`", o.task, o.to);
        for h in resolve_notify(&[(o.name.clone(), o.at.clone())], handlers, &[])? {
            if !out.iter().any(|(i, _)| *i == h) {
                out.push((h, why.clone()));
            }
        }
    }
    Ok(out)
}
