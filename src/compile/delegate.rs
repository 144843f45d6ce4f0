//! `delegate_to` and `local_action`: a task that runs on another inventory host's connection
//! (its address, user, port and become settings), with this host's variables, as in Ansible.
//! A delegated task is a round of its own (see registered.rs): the host's round ends before it,
//! the next round holds only the delegated task and is planned and applied on the delegate's
//! connection (its probe, its lock, its stale-plan check), and the round after it goes on on the
//! host. So every invariant of a round holds for it unchanged; its registered result reaches
//! the tasks after it like any other. Handlers it notifies run on the host, as in Ansible: a
//! change of the delegated round owes them to the host's next round of its own (`Owed`). A
//! loop whose items run on different hosts is split the same way, item by item: each run of
//! consecutive items on one host is a round (`Horizon::item`, `Resume::from_item`).

use super::directive::HostState;
use super::graph::{Delegate, Expanded};
use super::{Compiler, HostRun};
use crate::error::{Error, ErrorKind, Result};
use crate::playbook::{Play, TaskSpec};
use crate::registered::{Owed, Resume, Why};
use crate::template::{Context, Templar};
use crate::yaml::Node;

/// What an item of a task that may delegate does in this round.
enum Delegation {
    /// It runs on the host itself (no `delegate_to`, to itself, or `recon check`).
    Here,
    /// It delegates, and the round has steps before it or is the host's first: the round ends
    /// before the task (or before the item, when earlier items of the task are in the round;
    /// and so for every later item).
    Stop,
    /// It delegates, and this round is the task's own: compiled to run on the delegate,
    /// under the delegate's `become` (the value).
    Delegated(bool),
}

impl Compiler<'_> {
    /// How one item of `spec` (`at`: task position and item index) is compiled in this round:
    /// with `run`, with `run` under the delegate's `become` (a delegated round), or into no
    /// resource (`None`: it ran in an earlier round, whose result is known; a `run_once` task
    /// another host of the batch runs; a delegated task or item the round ends before).
    pub(super) fn item_run<'p>(
        &self,
        run: &HostRun<'p>,
        spec: &TaskSpec,
        at: (usize, usize),
        ctx: &Context,
        state: &mut HostState,
        out: &[Expanded],
    ) -> Result<Option<HostRun<'p>>> {
        if at.0 < state.resume.at || self.runs_once_elsewhere(run, spec) {
            return Ok(None);
        }
        Ok(match self.delegation(run, spec, at, ctx, state, out)? {
            Delegation::Here => Some(*run),
            Delegation::Stop => None,
            Delegation::Delegated(play_become) => Some(HostRun {
                play_become,
                ..*run
            }),
        })
    }

    /// Where one item of `spec` (`at`: task position and item index) runs, in the item's
    /// context `ctx`. `out` holds what the round compiled before it. A delegate that is not an
    /// inventory host (nor the implicit `localhost`) is a located error. Loop items that run on
    /// different hosts are rounds of their own, in item order: the round ends before the first
    /// item that runs elsewhere than the items before it in this round.
    fn delegation(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        (seq, index): (usize, usize),
        ctx: &Context,
        state: &mut HostState,
        out: &[Expanded],
    ) -> Result<Delegation> {
        let Some(node) = &spec.delegate_to else {
            return Ok(Delegation::Here);
        };
        let to = self.templar.render_string(node, ctx)?.trim().to_owned();
        if self.inventory.host(&to).is_none() {
            return Err(Error::invalid(
                format!("`delegate_to: {to}` is not a host of the inventory"),
                &node.span,
            )
            .with_label("delegated here")
            .with_help("delegate to an inventory host, or to `localhost` (the control machine)"));
        }
        if self.options.check_only {
            return Ok(Delegation::Here);
        }
        if matches!(&state.horizon, Some(h) if h.resume_at == seq) {
            // An earlier item ended the round before this task (or before itself).
            return Ok(Delegation::Stop);
        }
        if let Some(delegate) = &state.delegate {
            if delegate.name == to {
                return Ok(Delegation::Delegated(delegate.become_));
            }
            // This item runs elsewhere: the delegate's round ends after the items before it.
            let why = Why::Delegated {
                to: delegate.name.clone(),
                after: true,
            };
            state.horizon = Some(super::rounds::horizon_at_item(spec, seq, index, why));
            return Ok(Delegation::Stop);
        }
        if to == run.host {
            state.here_items = Some(seq);
            return Ok(Delegation::Here);
        }
        if state.in_handlers {
            return Err(Error::invalid(
                "a handler cannot be delegated yet: handlers run on their host",
                &node.span,
            )
            .with_label("delegated here")
            .with_help(
                "run the delegated work as a task (with `when: changed_result is changed`)",
            ));
        }
        check_notify(run.play, spec)?;
        // Its connection settings are read now, so that a bad one is a compile error.
        let vars_files = self.vars_files(run.play, &to)?;
        let own = HostState::new(self.options.facts.get(&to), Resume::default());
        let target = self.target_of(run.play, &to, &vars_files, &own)?;
        let become_ = target.become_.unwrap_or(run.play.become_);
        if state.here_items == Some(seq) || !out.is_empty() || !state.resume.later {
            // Earlier items of this task run on the host in this round (it ends after them),
            // or earlier tasks do, or it is the host's first round (it ends before the task).
            let item = if state.here_items == Some(seq) {
                index
            } else {
                0
            };
            let why = Why::Delegated { to, after: false };
            state.horizon = Some(super::rounds::horizon_at_item(spec, seq, item, why));
            return Ok(Delegation::Stop);
        }
        state.delegate = Some(Delegate {
            name: to,
            target,
            become_,
        });
        Ok(Delegation::Delegated(become_))
    }

    /// After a task compiled at `seq` (its resources from `start` in `out`): a round that ended
    /// before its delegated task drops what the task's earlier items compiled; the delegated
    /// task's own round ends after it (or, when a later item runs elsewhere, before that item).
    pub(super) fn end_of_delegation(
        spec: &TaskSpec,
        seq: usize,
        start: usize,
        state: &mut HostState,
        out: &mut Vec<Expanded>,
    ) {
        match (&state.horizon, &state.delegate) {
            (Some(horizon), _)
                if horizon.resume_at == seq
                    && horizon.item == 0
                    && matches!(horizon.why, Why::Delegated { after: false, .. }) =>
            {
                out.truncate(start);
            }
            (None, Some(delegate)) => {
                let to = delegate.name.clone();
                state.horizon = Some(super::rounds::horizon_at(
                    spec,
                    seq + 1,
                    Why::Delegated { to, after: true },
                ));
            }
            _ => {}
        }
    }
}

/// Takes the `notify` off a delegated round's tasks (its graph has no handlers: they run on the
/// host, not on the delegate) as what the round owes the host's next round of its own if it
/// changes something.
pub(super) fn owes(tasks: &mut [Expanded], to: &str) -> Vec<Owed> {
    let mut owes: Vec<Owed> = Vec::new();
    for task in tasks {
        for (name, at) in std::mem::take(&mut task.spec.notify) {
            if !owes.iter().any(|o| o.name == name) {
                owes.push(Owed {
                    name,
                    at,
                    task: task.name.clone(),
                    to: to.to_owned(),
                });
            }
        }
    }
    owes
}

/// A delegated task's `notify` is resolved in the host's round after it, once the task ran: a
/// name no handler of the play answers to (by name or `listen`) is refused now, before anything
/// runs. A templated handler name may be any name.
fn check_notify(play: &Play, spec: &TaskSpec) -> Result<()> {
    let roles = play.all_roles();
    let handlers: Vec<&TaskSpec> = roles
        .iter()
        .flat_map(|r| r.role.handlers.iter())
        .chain(&play.handlers)
        .collect();
    let names: Vec<&str> = handlers
        .iter()
        .filter_map(|h| h.name.as_ref().and_then(Node::scalar_text))
        .collect();
    if names.iter().any(|n| Templar::has_template(n)) {
        return Ok(());
    }
    let heard = |name: &str| {
        names.contains(&name) || handlers.iter().any(|h| h.listen.iter().any(|l| l == name))
    };
    match spec.notify.iter().find(|(name, _)| !heard(name)) {
        Some((name, at)) => Err(
            Error::at(ErrorKind::UnknownHandler { name: name.clone() }, at)
                .with_label("no handler has this name")
                .suggest(name, names.iter().copied()),
        ),
        None => Ok(()),
    }
}

/// A read-only loop (`changed_when: false`) runs between rounds as one query on one host: one
/// whose items run on different hosts is refused, located.
pub(super) fn split_query(spec: &TaskSpec) -> Error {
    let span = spec.delegate_to.as_ref().map_or(&spec.span, |n| &n.span);
    Error::invalid(
        "this read-only task's items run on different hosts: recon runs a query on one host",
        span,
    )
    .with_label("delegated here")
    .with_help("write one task per delegate, or let the task change something")
}
