//! Compiles one play for one host: variables per task, `when`, `loop`, rendering, resources.
//! Tasks are compiled in order, so `set_fact` and `include_vars` affect the tasks after them, as
//! in Ansible; the directives themselves (`set_fact`, `include_vars`, `fail`, `assert`, dynamic
//! includes) are evaluated here and leave no resource.

use std::path::PathBuf;

use minijinja::Value as JValue;

use super::directive::HostState;
use super::graph::{self, Expanded, HostGraph, Rounds};
use super::{Compiler, HostRun};
use crate::ansible::{self, Mapped};
use crate::error::{Error, ErrorKind, Result};
use crate::playbook::{LoopKind, Play, RoleUse, TaskSpec};
use crate::registered::{Owed, Query, RegisterTag, RegisteredItem, Registration, Resume, Why};
use crate::resource::BuildContext;
use crate::template::{to_jinja, Context, Templar, Var};
use crate::vars::Scopes;
use crate::yaml::{Node, Value};

impl Compiler<'_> {
    pub(super) fn compile_host(
        &self,
        play: &Play,
        host: &str,
        vars_files: &[(String, Node)],
        resume: Resume,
        carried: &[(String, Var)],
    ) -> Result<HostGraph> {
        let mut state = HostState::new(self.options.facts.get(host), resume);
        for (name, value) in carried {
            state.set(name, value.clone());
        }
        let target = self.target_of(play, host, vars_files, &state)?;
        if self.options.check_only
            && !self.options.facts.contains_key(host)
            && super::gathered::play_needs_facts(play, &self.playbook.dir)
        {
            // `recon check` contacts no host: this host's facts stand in for any value.
            state.set(
                crate::template::FACT_STAND_INS,
                Var::Ready(JValue::from(true)),
            );
        }

        // `ansible_become` on the host overrides the play's keyword, as in Ansible.
        let play_become = target.become_.unwrap_or(play.become_);
        let run = HostRun {
            play,
            host,
            vars_files,
            play_become,
        };
        let mut tasks = Vec::new();
        let mut errors = Vec::new();
        for spec in &play.tasks {
            if !self.selected_by_tags(spec) {
                continue;
            }
            if let Err(e) = self.task(&run, spec, &mut state, &mut tasks) {
                errors.push(in_task(e, spec, host));
            }
            if state.horizon.is_some() {
                break;
            }
        }
        // A delegated task's round runs on the delegate: no handler of the host runs there; what
        // its task notifies is owed to the host's next round of its own, which runs it.
        let (mut owed, mut delegated_notify) = (Vec::new(), Vec::new());
        let handlers = if let Some(to) = state.delegate.as_ref().map(|d| d.name.clone()) {
            delegated_notify = super::delegate::owes(&mut tasks, &to);
            Vec::new()
        } else {
            owed = std::mem::take(&mut state.resume.owed);
            self.handlers(&run, &mut tasks, &mut state, &mut owed, &mut errors)
        };
        if let Some(err) = Error::many(errors) {
            return Err(err);
        }
        let delegate = state.delegate.take();
        let (target, play_become) = match &delegate {
            Some(d) => (d.target.clone(), d.become_),
            None => (target, play_become),
        };
        let carried = state.carried(self.options.facts.get(host));
        let rounds = Rounds {
            resume: state.resume,
            registrations: state.registrations,
            horizon: state.horizon,
            owes: delegated_notify,
            shares: state.shares,
        };
        let mut graph = graph::build(
            host,
            &play.name,
            play_become,
            target,
            tasks,
            handlers,
            rounds,
        )?;
        graph.owed = graph::resolve_owed(&graph.handlers, &owed)?;
        graph.carried = carried;
        graph.delegate = delegate.map(|d| d.name);
        Ok(graph)
    }

    /// Compiles the play's handlers (role handlers first) after the round's tasks: a handler
    /// nothing can notify does not count, one that compiles to nothing is dropped from the
    /// tasks' `notify` (and from what delegated rounds before this one `owed`), and one that
    /// reads a result registered in this run is an error.
    fn handlers(
        &self,
        run: &HostRun<'_>,
        tasks: &mut [Expanded],
        state: &mut HostState,
        owed: &mut Vec<Owed>,
        errors: &mut Vec<Error>,
    ) -> Vec<Expanded> {
        let role_handlers = run.play.all_roles().into_iter().flat_map(|r| {
            r.role.handlers.iter().map(move |t| {
                let mut t = t.clone();
                t.role = t.role.or_else(|| Some(std::sync::Arc::clone(r)));
                t
            })
        });
        // A handler nothing can notify is never run, so, as in Ansible, its errors do not count
        // (a role's RedHat-only handler may use variables that only RedHat defines).
        let handler_specs: Vec<TaskSpec> = role_handlers
            .chain(run.play.handlers.iter().cloned())
            .collect();
        let notified: Vec<&str> = tasks
            .iter()
            .flat_map(|t| t.spec.notify.iter())
            .chain(handler_specs.iter().flat_map(|h| h.notify.iter()))
            .map(|(n, _)| n.as_str())
            .chain(owed.iter().map(|o| o.name.as_str()))
            .collect();
        let reachable = |h: &TaskSpec| {
            let name = h.name.as_ref().and_then(Node::scalar_text);
            name.is_none_or(|n| Templar::has_template(n) || notified.contains(&n))
                || h.listen.iter().any(|l| notified.contains(&l.as_str()))
        };
        let mut handlers = Vec::new();
        // Handlers that compile to nothing (a false `when`, `debug`): notifying them does nothing,
        // as in Ansible, instead of naming an unknown handler.
        let mut silent: Vec<String> = Vec::new();
        // Handlers are compiled after the round's tasks, never replayed, and decided with the
        // tasks that notify them: one cannot wait for a result registered in this run.
        let tasks_horizon = state.horizon.take();
        state.seq = state.seq.max(state.resume.at);
        state.in_handlers = true;
        for spec in handler_specs.iter().cloned() {
            if !reachable(&spec) {
                // Compiled only to name it in "did you mean" for a misspelt `notify`; its errors
                // do not count, and nothing can run it.
                let mut unreachable = Vec::new();
                let compiled = self.task(run, &spec, state, &mut unreachable);
                if compiled.is_ok() && state.horizon.take().is_none() {
                    handlers.append(&mut unreachable);
                }
                continue;
            }
            let before = handlers.len();
            let compiled = self.task(run, &spec, state, &mut handlers);
            if let (Ok(()), Some(horizon)) = (&compiled, state.horizon.take()) {
                errors.push(
                    Error::invalid(
                        format!(
                            "handler `{}` reads a result registered in this run ({})",
                            horizon.task,
                            horizon.deferred().reason
                        ),
                        &spec.span,
                    )
                    .with_label("this handler")
                    .with_help("pass the value through a task the handler does not depend on, or run it as a task with `when`"),
                );
                continue;
            }
            if let Err(e) = compiled {
                errors.push(in_task(e, &spec, run.host));
            } else if handlers.len() == before {
                silent.extend(
                    spec.name
                        .as_ref()
                        .and_then(Node::scalar_text)
                        .map(str::to_owned),
                );
                silent.extend(spec.listen.iter().cloned());
            }
        }
        state.horizon = tasks_horizon;
        state.in_handlers = false;
        if !silent.is_empty() {
            let live: Vec<&str> = handlers.iter().map(|h| h.name.as_str()).collect();
            let silent: Vec<String> = silent
                .into_iter()
                .filter(|s| !live.contains(&s.as_str()))
                .collect();
            for task in tasks.iter_mut() {
                task.spec.notify.retain(|(n, _)| !silent.contains(n));
            }
            owed.retain(|o| !silent.contains(&o.name));
        }
        handlers
    }

    /// The variable scopes of one task (see `vars.rs` for their precedence).
    pub(super) fn scopes<'s>(
        &'s self,
        play: &'s Play,
        host: &'s str,
        vars_files: &'s [(String, Node)],
        role: Option<&'s RoleUse>,
        spec: Option<&'s TaskSpec>,
        state: &'s HostState,
    ) -> Scopes<'s> {
        let roles = play.all_roles();
        Scopes {
            role_defaults: roles.iter().map(|r| r.role.defaults.as_slice()).collect(),
            inventory: self.inventory.host(host).map(|h| &h.vars),
            play: vec![play.vars.as_slice(), vars_files],
            role_vars: roles.iter().map(|r| r.role.vars.as_slice()).collect(),
            role_params: role.map(|r| r.params.as_slice()),
            task: spec.map(|s| s.vars.as_slice()),
            facts: &state.facts,
            item: None,
            builtins: self.builtins(host, role.map(|r| &r.role.dir), Some(play)),
            extra: &self.options.extra_vars,
        }
    }

    fn selected_by_tags(&self, spec: &TaskSpec) -> bool {
        let has = |wanted: &[String]| spec.tags.iter().any(|t| wanted.contains(t));
        let included = self.options.tags.is_empty()
            || has(&self.options.tags)
            || spec.tags.iter().any(|t| t == "always");
        included && !has(&self.options.skip_tags)
    }

    /// One task at the next position of the host's run. A task that reads a result this round
    /// registers ends the round here (see registered.rs); tasks that ran in earlier rounds are
    /// replayed for their directives and registered results only.
    pub(super) fn task(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        state: &mut HostState,
        out: &mut Vec<Expanded>,
    ) -> Result<()> {
        let seq = state.seq;
        state.seq += 1;
        let start = out.len();
        let _ = crate::template::take_unknown_use();
        let _ = crate::template::take_stand_in_touched();
        let result = self.task_items(run, spec, seq, state, out);
        if result.is_ok() && seq >= state.resume.at {
            Self::end_of_delegation(spec, seq, start, state, out);
        }
        let stand_in = self.options.check_only && crate::template::take_stand_in_touched();
        let undefined =
            matches!(&result, Err(e) if matches!(e.kind, ErrorKind::UndefinedVariable { .. }));
        // An error at text with no template in it (an unknown key, a literal value) is no
        // stand-in's doing: it is reported even when the task reads one.
        let literal = matches!(&result, Err(e) if e.at_literal());
        // Inside an include `recon check` cannot decide, nothing is an error (`undecided`).
        let excused =
            state.undecided || (!literal && (stand_in || (state.vars_unknown && undefined)));
        if result.is_err() && excused {
            // `recon check`: this task reads a value that exists only on the host or after
            // apply (a registered result, a fact, or a variable a directive would have set
            // from one); what it would make of a stand-in is no error.
            out.truncate(start);
            if let Some(name) = &spec.register {
                state.register_unknown(name, spec, true);
            }
            if is_directive(spec) {
                state.vars_unknown = true;
            }
            return Ok(());
        }
        if let Err(err) = result {
            let replay = seq < state.resume.at;
            return match crate::template::take_unknown_use() {
                Some(name) if !replay && state.horizon.is_none() => {
                    out.truncate(start);
                    state.horizon = Some(super::rounds::horizon_at(spec, seq, Why::Uses { name }));
                    Ok(())
                }
                _ => {
                    // Later uses of its result end the round instead of adding errors of their
                    // own: this task's error is the cause.
                    if let Some(name) = &spec.register {
                        state.register_unknown(name, spec, self.options.check_only);
                    }
                    Err(err)
                }
            };
        }
        Ok(())
    }

    /// `task_items` once the task's block has had its say.
    pub(super) fn task_items_unguarded(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        seq: usize,
        state: &mut HostState,
        out: &mut Vec<Expanded>,
    ) -> Result<()> {
        let replay = seq < state.resume.at;
        let items = self.items(run, spec, state)?;
        let looped = spec.loop_items.is_some();
        let mut registered = Vec::new();
        let mut judged = false;
        let mut queries: Option<Query> = None;
        // The fact a task sets instead of (or besides) a `register` (`Resource::sets_fact`).
        let mut fact_name: Option<String> = None;
        let first = earlier_items(state, seq, &mut registered);
        for (index, item) in items.into_iter().enumerate().skip(first) {
            let (ctx, retry_vars) = self.item_context(run, spec, state, index, item.as_ref());
            let gate = self.gate(run, spec, &ctx, state, out)?;
            match gate {
                Gate::Done if state.horizon.is_some() => return Ok(()),
                Gate::Done => continue,
                Gate::Skip => {
                    registered.push(RegisteredItem::skipped(item));
                    continue;
                }
                Gate::Run | Gate::Undecided => {}
            }
            let undecided = gate == Gate::Undecided;
            if spec.kind == "debug" && !self.options.check_only {
                // It prints nothing in recon: its message is rendered by `recon check` only
                // (one that reads a registered result would end the round for nothing).
                continue;
            }
            let Some((kind, args)) = self.resource_args(spec, &ctx)? else {
                continue;
            };
            if let Some(name) = crate::resource::sets_fact(kind, &args) {
                // It sets a fact, which this run binds as a registered result.
                fact_name = Some(name);
            }
            let Some(item_run) = self.item_run(run, spec, (seq, index), &ctx, state, out)? else {
                continue;
            };
            let run = &item_run;
            let (become_, become_user) = self.become_of(run, spec, &ctx, &args)?;
            let resource = self.build_resource(spec, kind, &args, &ctx, become_user.as_deref())?;
            let judgement = super::rounds::judge(&self.templar, spec, &ctx)?;
            let query = self.as_query(spec, &resource, judgement.query);
            registered.push(RegisteredItem {
                item,
                skipped: false,
                shape: resource.result_shape(),
            });
            if let Some(body) = query {
                // A read-only task: it runs between rounds, the round ends before it.
                let retry = match (retry_vars, &spec.outcome.until) {
                    (Some(vars), Some(until)) => Some(self.retry(spec, until, vars, &ctx)?),
                    _ => None,
                };
                let query = queries.get_or_insert_with(|| Query {
                    seq,
                    items: Vec::new(),
                    become_: become_ && !run.play_become,
                    ignore_errors: judgement.ignore_errors || judgement.judged,
                    retry,
                    sensitive: spec.sensitive,
                });
                let body = match &become_user {
                    Some(user) => crate::script::under_sudo(Some(user), &body),
                    None => body,
                };
                query.items.push((index, body));
                continue;
            }
            judged |= judgement.judged;
            if undecided {
                continue;
            }
            let (name, claims) = self.name_and_claims(spec, &ctx, &resource)?;
            out.push(Expanded {
                name,
                claims,
                resource,
                spec: spec.clone(),
                become_,
                register: spec
                    .register
                    .as_ref()
                    .map(|_| RegisterTag { seq, item: index }),
                ignore_errors: judgement.ignore_errors || judgement.judged,
                caught: super::blocks::caught(spec, state),
                become_user,
                concealed: ctx.concealed(),
            });
        }
        let registration = Registration {
            seq,
            looped,
            items: registered,
        };
        let ended = Ended {
            registration,
            queries,
            fact_name,
            judged: judged && !replay,
        };
        self.end_of_items(run, spec, ended, state)
    }

    /// After a task's items: a query ends the round (its registration waits for its answer),
    /// else the task's result is registered, and a judged task (`changed_when`/`failed_when`
    /// on its result) ends the round after it.
    fn end_of_items(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        ended: Ended,
        state: &mut HostState,
    ) -> Result<()> {
        let Ended {
            registration,
            queries,
            fact_name,
            judged,
        } = ended;
        let seq = registration.seq;
        if let Some(horizon) = state.horizon.as_ref().filter(|h| h.resume_at == seq) {
            // The round ends before this task (it delegates): it is compiled next round. Or it
            // ends inside the task's loop: its items so far are registered, the rest go on.
            if horizon.item > 0 {
                if queries.is_some() {
                    return Err(super::delegate::split_query(spec));
                }
                if spec.register.is_some() {
                    // The items from the one the round ends before run in the next rounds.
                    let mut registration = registration;
                    registration.items.truncate(horizon.item);
                    state.registrations.push(registration);
                }
            }
            return Ok(());
        }
        if let Some(query) = queries {
            state.horizon = Some(super::rounds::horizon_at(spec, seq + 1, Why::Query(query)));
            if spec.register.is_some() || fact_name.is_some() {
                state.registrations.push(registration);
            }
            if let Some(name) = fact_name.as_ref().filter(|_| spec.register.is_none()) {
                state.register_unknown(name, spec, self.options.check_only);
            }
            self.share_once(run, spec, seq, state);
            return Ok(());
        }
        if let Some(name) = spec.register.as_ref().or(fact_name.as_ref()) {
            self.finish_registration(run, spec, name, registration, state)?;
        }
        self.share_once(run, spec, seq, state);
        if judged && state.horizon.is_none() && !self.options.check_only {
            state.horizon = Some(super::rounds::horizon_at(spec, seq + 1, Why::Judged));
        }
        Ok(())
    }

    /// Whether the task runs under `become`, and as whom (`refuse_home_paths` refuses `~` paths
    /// under `become_user`).
    fn become_of(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        ctx: &Context,
        args: &Node,
    ) -> Result<(bool, Option<String>)> {
        let become_ = spec.become_.unwrap_or(run.play_become);
        let become_user = if become_ {
            spec.become_user(&self.templar, ctx)?
        } else {
            None
        };
        if let Some(user) = &become_user {
            refuse_home_paths(args, user)?;
        }
        Ok((become_, become_user))
    }

    /// The task's resource, built from its rendered arguments with its role's search paths and
    /// the account it runs as (`become_user`).
    fn build_resource(
        &self,
        spec: &TaskSpec,
        kind: &str,
        args: &Node,
        ctx: &Context,
        become_user: Option<&str>,
    ) -> Result<crate::resource::Compiled> {
        let role = spec.role.as_deref();
        let cx = BuildContext {
            templar: &self.templar,
            vars: ctx,
            template_dirs: self.search_dirs(role, "templates"),
            file_dirs: self.search_dirs(role, "files"),
            sensitive: spec.sensitive,
            bridge: &self.bridge,
            become_user,
        };
        crate::resource::build(kind, args, &cx)
    }

    /// One loop item's template context (the loop variable and index set) and, for a task with
    /// `until`, a copy of its variables to decide each attempt's result in.
    fn item_context(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        state: &HostState,
        index: usize,
        item: Option<&JValue>,
    ) -> (Context, Option<std::collections::BTreeMap<String, Var>>) {
        let role = spec.role.as_deref();
        let mut vars = self
            .scopes(run.play, run.host, run.vars_files, role, Some(spec), state)
            .flatten();
        if let (Some(item), Some(l)) = (item, &spec.loop_items) {
            vars.insert(l.var.clone(), Var::Ready(item.clone()));
            if let Some(index_var) = &l.index_var {
                vars.insert(index_var.clone(), Var::Ready(JValue::from(index)));
            }
        }
        // A query with `until` decides it on each attempt's result, in these variables.
        let retry_vars = spec.outcome.until.as_ref().map(|_| vars.clone());
        (Context::new(&self.templar, vars), retry_vars)
    }

    /// The body of an item that runs as a read-only query between rounds (a judged command, a
    /// kind that only reads, a registered kind that answers as a query); `None`: planned.
    fn as_query(
        &self,
        spec: &TaskSpec,
        resource: &crate::resource::Compiled,
        judged_query: bool,
    ) -> Option<crate::script::Script> {
        resource.query().filter(|_| {
            !self.options.check_only
                && (judged_query
                    || resource.reads_only()
                    || (spec.register.is_some() && resource.query_when_registered()))
        })
    }

    /// The task's rendered arguments (omitted ones dropped) as the recon resource they map to;
    /// `None`: the module does nothing in recon.
    fn resource_args(
        &self,
        spec: &TaskSpec,
        ctx: &Context,
    ) -> Result<Option<(&'static str, Node)>> {
        let args = without_omitted(self.templar.render_node(&spec.args, ctx)?);
        let mapped = resolved(ansible::map(&spec.kind, args, &spec.key, &self.bridge)?);
        Ok(match mapped {
            Some(("command", args)) if !spec.environment.is_empty() => {
                Some(("command", self.with_environment(spec, ctx, args)?))
            }
            other => other,
        })
    }

    /// A command's arguments with the task's `environment:` (play, blocks, task; a later
    /// mapping wins per name) under its `env`, whose own names win over them all.
    fn with_environment(&self, spec: &TaskSpec, ctx: &Context, mut args: Node) -> Result<Node> {
        let mut merged: Vec<(Node, Node)> = Vec::new();
        for node in &spec.environment {
            let rendered = self.templar.render_node(node, ctx)?;
            let Some(entries) = rendered.as_map() else {
                return Err(Error::invalid(
                    "`environment` must be a mapping of variable names to values",
                    &node.span,
                ));
            };
            for (k, v) in entries {
                merged.retain(|(old, _)| old.key() != k.key());
                merged.push((k.clone(), v.clone()));
            }
        }
        let Value::Map(entries) = &mut args.value else {
            return Ok(args);
        };
        let own: Vec<(Node, Node)> = match entries.iter().position(|(k, _)| k.key() == "env") {
            Some(i) => entries
                .remove(i)
                .1
                .as_map()
                .map(<[_]>::to_vec)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        for (k, v) in own {
            merged.retain(|(old, _)| old.key() != k.key());
            merged.push((k, v));
        }
        let span = args.span.clone();
        if let Value::Map(entries) = &mut args.value {
            entries.push((
                Node::string("env".to_owned(), span.clone()),
                Node {
                    value: Value::Map(merged),
                    span,
                },
            ));
        }
        Ok(args)
    }

    /// The task's loop items, rendered (`[None]`: no loop).
    fn items(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        state: &HostState,
    ) -> Result<Vec<Option<JValue>>> {
        let role = spec.role.as_deref();
        Ok({
            let scopes = self.scopes(run.play, run.host, run.vars_files, role, Some(spec), state);
            match &spec.loop_items {
                None => vec![None],
                Some(l) => {
                    let ctx = Context::new(&self.templar, scopes.flatten());
                    let rendered = self.templar.render_node(&l.items, &ctx)?;
                    if self.options.check_only
                        && !is_directive(spec)
                        && rendered
                            .scalar_text()
                            .is_some_and(|t| t.contains(crate::template::STAND_IN_TEXT))
                    {
                        // `recon check`: a loop over a stand-in (a list a vars file picked by a
                        // fact holds) has items only on the host. A directive's loop still
                        // fails, which leaves what it would set unknown.
                        return Ok(Vec::new());
                    }
                    if let LoopKind::Lookup(name) = l.kind {
                        self.templar
                            .query(name, &to_jinja(&rendered), &ctx, &l.items)?
                    } else {
                        self.loop_items(l.kind, &rendered, &l.items, role)?
                    }
                    .into_iter()
                    .map(Some)
                    .collect()
                }
            }
        })
    }

    /// What an item's `when` makes of it.
    fn gate(
        &self,
        run: &HostRun<'_>,
        spec: &TaskSpec,
        ctx: &Context,
        state: &mut HostState,
        out: &mut Vec<Expanded>,
    ) -> Result<Gate> {
        let (skip, when_undecided) = self.when_of(spec, ctx)?;
        let undecided = when_undecided || state.undecided;
        if (!skip || when_undecided)
            && undecided
            && self.undecided_directive(run, spec, ctx, state, out)?
        {
            return Ok(Gate::Done);
        }
        if !skip && self.directive(run, spec, ctx, state, out)? {
            return Ok(Gate::Done);
        }
        Ok(if skip {
            Gate::Skip
        } else if undecided {
            Gate::Undecided
        } else {
            Gate::Run
        })
    }

    /// Whether a `when` condition skips the item (they are evaluated in order, up to the first
    /// false) and, for `recon check`, whether that is undecided: a task whose `when` reads a
    /// stand-in result may or may not run; it is compiled (its arguments are checked) but not
    /// put in the graph, where it could clash with the task its real condition excludes.
    fn when_of(&self, spec: &TaskSpec, ctx: &Context) -> Result<(bool, bool)> {
        let _ = crate::template::take_stand_in_touched();
        let mut skip = false;
        for when in &spec.when {
            if !self.templar.condition(when, ctx)? {
                skip = true;
                break;
            }
        }
        let undecided = self.options.check_only && crate::template::take_stand_in_touched();
        Ok((skip, undecided))
    }

    /// A task item's name (its `name`, else its kind and id) and its rendered claims.
    fn name_and_claims(
        &self,
        spec: &TaskSpec,
        ctx: &Context,
        resource: &crate::resource::Compiled,
    ) -> Result<(String, Vec<(String, String)>)> {
        let name = match &spec.name {
            Some(node) => self.templar.render_string(node, ctx)?,
            None => format!("{} {}", resource.kind(), resource.id()),
        };
        let claims = match &spec.claims {
            Some(node) => claims(&self.templar.render_node(node, ctx)?)?,
            None => Vec::new(),
        };
        Ok((name, claims))
    }

    /// A loop's items by its keyword: `with_items` flattens one level, `with_dict` makes
    /// `{key, value}` items, `with_fileglob` lists matching control-machine files.
    fn loop_items(
        &self,
        kind: LoopKind,
        rendered: &Node,
        at: &Node,
        role: Option<&RoleUse>,
    ) -> Result<Vec<JValue>> {
        let not = |what: &str| {
            Error::invalid(
                format!("the loop must be {what}, got {}", rendered.kind_name()),
                &at.span,
            )
            .with_label("here")
        };
        match kind {
            LoopKind::List => Ok(rendered
                .as_seq()
                .ok_or_else(|| not("a list"))?
                .iter()
                .map(to_jinja)
                .collect()),
            LoopKind::Items => Ok(match rendered.as_seq() {
                Some(items) => items
                    .iter()
                    .flat_map(|n| match n.as_seq() {
                        Some(inner) => inner.iter().map(to_jinja).collect(),
                        None => vec![to_jinja(n)],
                    })
                    .collect(),
                None if rendered.scalar_text().is_some() => vec![to_jinja(rendered)],
                None => return Err(not("a list")),
            }),
            LoopKind::Dict => Ok(rendered
                .as_map()
                .ok_or_else(|| not("a mapping"))?
                .iter()
                .map(|(k, v)| {
                    [("key", JValue::from(k.key())), ("value", to_jinja(v))]
                        .into_iter()
                        .collect()
                })
                .collect()),
            LoopKind::Fileglob => {
                let patterns: Vec<String> = match rendered.as_seq() {
                    Some(items) => items
                        .iter()
                        .map(|n| n.scalar_text().unwrap_or_default().to_owned())
                        .collect(),
                    None => vec![rendered.scalar_text().unwrap_or_default().to_owned()],
                };
                let dirs = self.search_dirs(role, "files");
                Ok(super::directive::fileglob(&patterns, &dirs)
                    .into_iter()
                    .map(JValue::from)
                    .collect())
            }
            // Handled by the caller, which has the task's variables for the lookup.
            LoopKind::Lookup(_) => Ok(Vec::new()),
        }
    }

    /// Role folder first, then the playbook's folder; each folder itself after its `sub`, as
    /// Ansible does, so that `src: templates/site.j2` in a role finds the role's template.
    pub(super) fn search_dirs(&self, role: Option<&RoleUse>, sub: &str) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = role
            .map(|r| [r.role.dir.join(sub), r.role.dir.clone()])
            .into_iter()
            .flatten()
            .collect();
        dirs.push(self.playbook.dir.join(sub));
        dirs.push(self.playbook.dir.clone());
        dirs
    }
}

/// Arguments whose text is run or written rather than a path on the host.
const NOT_PATHS: &[&str] = &[
    "content", "block", "line", "cmd", "argv", "job", "regexp", "unless", "marker", "env",
];

/// A `become_user` task's host paths must not start with `~`: the plan reads the host as the
/// play's user, whose home that is, while the step runs as `user` (a located error, never a
/// plan about one file and a write to another).
fn refuse_home_paths(args: &Node, user: &str) -> Result<()> {
    for (key, value) in args.as_map().unwrap_or_default() {
        if NOT_PATHS.contains(&key.key()) {
            continue;
        }
        let values: Vec<&Node> = match value.as_seq() {
            Some(items) => items.iter().collect(),
            None => vec![value],
        };
        for v in values {
            if v.scalar_text()
                .is_some_and(|t| t == "~" || t.starts_with("~/"))
            {
                return Err(Error::invalid(
                    format!("`{}` starts with `~` in a task that runs as `{user}`", key.key()),
                    &v.span,
                )
                .with_label("whose home?")
                .with_help(format!(
                    "write the path from `/`: recon reads the host as the play's user, so `~` would be that user's home in the plan and `{user}`'s when the step runs"
                )));
            }
        }
    }
    Ok(())
}

/// What an item's `when` makes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// It runs: compiled into the graph.
    Run,
    /// Its `when` is false: not compiled, registered as skipped.
    Skip,
    /// `recon check` cannot decide it (it reads a stand-in, or the item is inside an include
    /// that does): compiled, not put in the graph.
    Undecided,
    /// A directive, already done (`directive`, or `undecided_directive` when undecided).
    Done,
}

/// Directives that define variables (or tasks) for what follows.
fn is_directive(spec: &TaskSpec) -> bool {
    matches!(
        spec.kind.as_str(),
        "set_fact" | "include_vars" | "include_tasks" | "include" | "import_tasks" | "include_role"
    )
}

/// The recon resource a mapped module becomes (`None`: nothing to do); a bridge fallback
/// `ansible::map` kept is its native resource.
fn resolved(mapped: Mapped) -> Option<(&'static str, Node)> {
    match mapped {
        Mapped::Skip => None,
        Mapped::Resource { kind, args } => Some((kind, args)),
        Mapped::Bridge(native) => resolved(*native),
    }
}

/// Drops mapping entries rendered to `omit` (Ansible's "as if not given").
fn without_omitted(mut node: Node) -> Node {
    if let crate::yaml::Value::Map(entries) = &mut node.value {
        entries.retain(|(_, v)| v.scalar_text() != Some(crate::template::OMIT));
        for (_, v) in entries.iter_mut() {
            *v = without_omitted(std::mem::replace(
                v,
                Node::string(String::new(), v.span.clone()),
            ));
        }
    }
    node
}

/// `claims: { port: 8001, server_name: [a, b] }` → (kind, value) pairs.
fn claims(node: &Node) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (kind, value) in node.as_map().unwrap_or_default() {
        let values: Vec<&Node> = match value.as_seq() {
            Some(items) => items.iter().collect(),
            None => vec![value],
        };
        for v in values {
            let text = crate::fields::scalar(v, &format!("`claims.{}`", kind.key()))?;
            out.push((kind.key().to_owned(), text));
        }
    }
    Ok(out)
}

/// Says which task and host an error came from, unless it already explains itself.
fn in_task(err: Error, spec: &TaskSpec, host: &str) -> Error {
    if err.help.is_some() {
        return err;
    }
    let name = spec
        .name
        .as_ref()
        .and_then(Node::scalar_text)
        .map_or_else(|| spec.kind.clone(), str::to_owned);
    let err = err.with_help(format!("in task `{name}` for host `{host}`"));
    if err.at.is_none() {
        err.with_span(&spec.span)
    } else {
        err
    }
}

/// What a task's items left for `end_of_items`.
struct Ended {
    registration: Registration,
    /// The read-only items, run between rounds.
    queries: Option<Query>,
    /// The fact the task sets instead of (or besides) a `register` (`getent_passwd`).
    fact_name: Option<String>,
    /// A planned item is judged on its result (`changed_when`/`failed_when`).
    judged: bool,
}

/// The items of the task at `seq` that ran in earlier rounds (its loop's items delegate to
/// several hosts, see delegate.rs): their registrations go first into `registered`; returns
/// how many items this round skips.
fn earlier_items(state: &HostState, seq: usize, registered: &mut Vec<RegisteredItem>) -> usize {
    if seq != state.resume.at {
        return 0;
    }
    registered.extend(state.resume.partial.iter().map(|(r, _)| r.clone()));
    state.resume.from_item
}
