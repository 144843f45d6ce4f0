//! Compiles one play for one host: variables per task, `when`, `loop`, rendering, resources.

use std::path::PathBuf;

use minijinja::Value as JValue;

use super::graph::{self, Expanded, HostGraph};
use super::Compiler;
use crate::error::{Error, Result};
use crate::playbook::{Play, RoleUse, TaskSpec};
use crate::resource::BuildContext;
use crate::template::{to_jinja, Context};
use crate::transport::Target;
use crate::vars::Scopes;
use crate::yaml::Node;

impl Compiler<'_> {
    pub(super) fn compile_host(
        &self,
        play: &Play,
        host: &str,
        vars_files: &[(String, Node)],
    ) -> Result<HostGraph> {
        let scopes = |role, spec| self.scopes(play, host, vars_files, role, spec);
        let target = self.target_of(play, host, vars_files)?;
        // `ansible_become` on the host overrides the play's keyword, as in Ansible.
        let play_become = target.become_.unwrap_or(play.become_);

        let role_tasks = play
            .roles
            .iter()
            .flat_map(|r| r.role.tasks.iter().map(move |t| (t, Some(r))));
        let tasks_in = role_tasks.chain(play.tasks.iter().map(|t| (t, None)));
        let mut tasks = Vec::new();
        for (spec, role) in tasks_in {
            if !self.selected_by_tags(spec) {
                continue;
            }
            self.expand(
                spec,
                role,
                &scopes(role, Some(spec)),
                play_become,
                &mut tasks,
            )
            .map_err(|e| in_task(e, spec, host))?;
        }
        let role_handlers = play
            .roles
            .iter()
            .flat_map(|r| r.role.handlers.iter().map(move |t| (t, Some(r))));
        let mut handlers = Vec::new();
        for (spec, role) in role_handlers.chain(play.handlers.iter().map(|t| (t, None))) {
            self.expand(
                spec,
                role,
                &scopes(role, Some(spec)),
                play_become,
                &mut handlers,
            )
            .map_err(|e| in_task(e, spec, host))?;
        }
        graph::build(host, &play.name, play_become, target, tasks, handlers)
    }

    /// Where `host` is reached in `play` (its node), without compiling any task.
    pub(super) fn target_of(
        &self,
        play: &Play,
        host: &str,
        vars_files: &[(String, Node)],
    ) -> Result<Target> {
        let scopes = self.scopes(play, host, vars_files, None, None);
        let play_ctx = Context::new(&self.templar, scopes.flatten());
        let defaults = self
            .inventory
            .defaults
            .with_remote_user(play.remote_user.as_deref());
        Target::from_vars(host, &play_ctx, &defaults)
    }

    /// The variable scopes of one task (see `vars.rs` for their precedence).
    fn scopes<'s>(
        &'s self,
        play: &'s Play,
        host: &'s str,
        vars_files: &'s [(String, Node)],
        role: Option<&'s RoleUse>,
        spec: Option<&'s TaskSpec>,
    ) -> Scopes<'s> {
        Scopes {
            role_defaults: play
                .roles
                .iter()
                .map(|r| r.role.defaults.as_slice())
                .collect(),
            inventory: self.inventory.host(host).map(|h| &h.vars),
            play: vec![play.vars.as_slice(), vars_files],
            role_vars: play.roles.iter().map(|r| r.role.vars.as_slice()).collect(),
            role_params: role.map(|r| r.params.as_slice()),
            task: spec.map(|s| s.vars.as_slice()),
            item: None,
            builtins: self.builtins(host, role.map(|r| &r.role.dir)),
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

    /// Evaluates `loop` and `when`, renders and builds the resource(s) of one task.
    fn expand(
        &self,
        spec: &TaskSpec,
        role: Option<&RoleUse>,
        scopes: &Scopes<'_>,
        play_become: bool,
        out: &mut Vec<Expanded>,
    ) -> Result<()> {
        let items: Vec<Option<JValue>> = match &spec.loop_items {
            None => vec![None],
            Some(node) => {
                let ctx = Context::new(&self.templar, scopes.flatten());
                let rendered = self.templar.render_node(node, &ctx)?;
                let list = rendered.as_seq().ok_or_else(|| {
                    Error::invalid(
                        format!("`loop` must be a list, got {}", rendered.kind_name()),
                        &node.span,
                    )
                })?;
                list.iter().map(|n| Some(to_jinja(n))).collect()
            }
        };
        for item in items {
            let mut vars = scopes.flatten();
            if let Some(item) = &item {
                vars.insert("item".to_owned(), crate::template::Var::Ready(item.clone()));
            }
            let ctx = Context::new(&self.templar, vars);
            if let Some(when) = &spec.when {
                if !self.templar.condition(when, &ctx)? {
                    continue;
                }
            }
            let args = self.templar.render_node(&spec.args, &ctx)?;
            let cx = BuildContext {
                templar: &self.templar,
                vars: &ctx,
                template_dirs: self.search_dirs(role, "templates"),
                file_dirs: self.search_dirs(role, "files"),
                sensitive: spec.sensitive,
            };
            let resource = crate::resource::build(&spec.kind, &args, &cx)?;
            let name = match &spec.name {
                Some(node) => self.templar.render_string(node, &ctx)?,
                None => format!("{} {}", resource.kind(), resource.id()),
            };
            let claims = match &spec.claims {
                Some(node) => claims(&self.templar.render_node(node, &ctx)?)?,
                None => Vec::new(),
            };
            out.push(Expanded {
                name,
                claims,
                resource,
                spec: spec.clone(),
                become_: spec.become_.unwrap_or(play_become),
            });
        }
        Ok(())
    }

    /// Role folder first, then the playbook's folder.
    fn search_dirs(&self, role: Option<&RoleUse>, sub: &str) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = role.map(|r| r.role.dir.join(sub)).into_iter().collect();
        dirs.push(self.playbook.dir.join(sub));
        dirs.push(self.playbook.dir.clone());
        dirs
    }
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
