//! Playbook × inventory → one resource graph per (play, host). Names are resolved here, once:
//! after compile, tasks refer to each other by index. Everything that can be checked without a
//! host is checked here, so a bad playbook never touches any host.

mod blocks;
mod delegate;
mod directive;
mod gathered;
mod graph;
mod host;
mod hostvars;
mod magic;
mod nodes;
mod once;
mod rounds;
pub(crate) mod serial;
mod shard;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::Value as JValue;
use rayon::prelude::*;

pub(crate) use gathered::{parse as parse_facts, FACT_SCRIPT};
pub(crate) use graph::{EdgeKind, HostGraph, Task};
pub(crate) use shard::Shard;

use crate::error::{Error, Result};
use crate::fields::wrong_type;
use crate::inventory::{self, Inventory};
use crate::playbook::{Play, Playbook};
use crate::registered::Resume;
use crate::source::Span;
use crate::template::{Context, Templar, Var};
use crate::vars::Scopes;
use crate::yaml::{self, Node};

/// What to compile: filters from the command line.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub(crate) limit: Option<String>,
    pub(crate) extra_vars: Vec<(String, Node)>,
    pub(crate) tags: Vec<String>,
    pub(crate) skip_tags: Vec<String>,
    /// Gathered `ansible_facts` per host (see gathered.rs); hosts without are not gathered.
    pub(crate) facts: BTreeMap<String, JValue>,
    /// `recon check`: compile every task; registered results are stand-ins and rounds never
    /// end (nothing will be applied).
    pub(crate) check_only: bool,
    /// `--shard I/N`: only the shard's hosts are compiled (see shard.rs).
    pub(crate) shard: Option<Shard>,
}

/// One play, compiled for each of its hosts.
#[derive(Debug)]
pub(crate) struct PlayRun {
    pub(crate) name: String,
    /// Rolling batch sizes (`serial:`, `serial.rs`), resolved against the play's host count.
    pub(crate) batches: Vec<usize>,
    /// `max_fail_percentage:` (0-100), the share of a batch's hosts that may fail before the
    /// rollout stops; none = Ansible's default, it stops only after a batch where all failed.
    pub(crate) max_fail_percentage: Option<u8>,
    pub(crate) hosts: Vec<HostGraph>,
    /// Every host the play selects before `--shard` kept a part of them, in run order.
    pub(crate) targets: Vec<String>,
}

/// One play and host being compiled: what every `Compiler` method of a host's compile takes.
/// Here, beside `Compiler`, so that the files of `compile/` that take it do not import `host`.
#[derive(Clone, Copy)]
pub(super) struct HostRun<'p> {
    pub(super) play: &'p Play,
    pub(super) host: &'p str,
    pub(super) vars_files: &'p [(String, Node)],
    pub(super) play_become: bool,
}

/// The compiler's shared, read-only state.
pub(crate) struct Compiler<'a> {
    pub(crate) playbook: &'a Playbook,
    pub(crate) inventory: &'a Inventory,
    pub(crate) templar: Arc<Templar>,
    pub(crate) options: &'a Options,
    /// Built-ins every host shares (`groups`, `omit`, the run's magic variables).
    shared: magic::Shared,
    /// The lazy `hostvars` object (see hostvars.rs).
    hostvars: JValue,
    play_hosts: magic::PlayHosts,
    /// Each play's first host of every batch, for `run_once` (see once.rs).
    first_of_batch: once::FirstOfBatch,
    /// Where modules recon has no resource for are looked up in the control machine's Ansible.
    bridge: crate::bridge::Lookup,
}

impl<'a> Compiler<'a> {
    /// The compiler for `playbook` on `inventory`: what every host shares is built once here;
    /// `hostvars` only renders the hosts a template reads.
    pub(crate) fn new(
        playbook: &'a Playbook,
        inventory: &'a Inventory,
        options: &'a Options,
    ) -> Self {
        let templar = Arc::new(Templar::with_files(&playbook.dir));
        let shared = magic::Shared::new(playbook, inventory, options);
        let hostvars = JValue::from_object(hostvars::HostVars::new(
            &templar,
            &inventory.hosts,
            &options.facts,
            &options.extra_vars,
            &shared,
        ));
        Compiler {
            playbook,
            inventory,
            templar,
            options,
            shared,
            hostvars,
            play_hosts: magic::PlayHosts::new(playbook),
            first_of_batch: once::FirstOfBatch::new(playbook),
            bridge: crate::bridge::Lookup::beside(&playbook.dir),
        }
    }

    /// Compiles play number `play` for `host` again, from where an earlier round ended and with
    /// the results it registered (see registered.rs).
    pub(crate) fn compile_round(
        &self,
        play: usize,
        host: &str,
        resume: Resume,
    ) -> Result<HostGraph> {
        let (compiler, playbook, inventory) = (self, self.playbook, self.inventory);
        let Some(this) = playbook.plays.get(play) else {
            return Err(Error::usage(format!(
                "internal error: no play number {play}"
            )));
        };
        // What the earlier plays left on this host (`set_fact`, `include_vars`, results).
        let mut carried = Vec::new();
        for earlier in playbook.plays.iter().take(play) {
            if inventory::select_play(inventory, &earlier.hosts)
                .is_ok_and(|(h, _)| h.contains(&host))
            {
                let vars_files = compiler.vars_files(earlier, host)?;
                let graph = compiler.compile_host(
                    earlier,
                    host,
                    &vars_files,
                    Resume::default(),
                    &carried,
                )?;
                carried = graph.carried;
            }
        }
        let vars_files = compiler.vars_files(this, host)?;
        compiler.compile_host(this, host, &vars_files, resume, &carried)
    }

    /// Compiles every play for every selected host; every error is reported, each once.
    pub(crate) fn compile(
        playbook: &'a Playbook,
        inventory: &'a Inventory,
        options: &'a Options,
    ) -> Result<Vec<PlayRun>> {
        let compiler = Compiler::new(playbook, inventory, options);
        let mut errors = Vec::new();
        let selections = select_plays(playbook, inventory, options, &mut errors)?;
        let picked = options.shard.map(|shard| {
            let selected: Vec<(&Play, Vec<&str>)> = playbook
                .plays
                .iter()
                .zip(&selections)
                .filter_map(|(p, s)| s.as_ref().map(|(_, hosts)| (p, hosts.clone())))
                .collect();
            compiler.pick_shard(&selected, shard)
        });
        let in_shard = picked.as_ref().map(shard::Picked::hosts);
        let mut runs = Vec::new();
        let mut neighbours = Vec::new();
        // Per host, what its earlier plays left (`set_fact`, `include_vars`, results).
        let mut carried: std::collections::HashMap<String, Vec<(String, Var)>> =
            std::collections::HashMap::new();
        for (index, (play, selection)) in playbook.plays.iter().zip(selections).enumerate() {
            let Some((mut all, mut hosts)) = selection else {
                continue;
            };
            let targets: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
            if let Some(in_shard) = &in_shard {
                // Other shards' hosts are on other nodes: neither compiled nor neighbours.
                all.retain(|h| in_shard.contains(h));
                hosts.retain(|h| in_shard.contains(h));
            }
            let results: Vec<Result<HostGraph>> = hosts
                .par_iter()
                .map(|host| {
                    let vars_files = compiler.vars_files(play, host)?;
                    let before = carried.get(*host).map_or(&[][..], Vec::as_slice);
                    compiler.compile_host(play, host, &vars_files, Resume::default(), before)
                })
                .collect();
            let mut graphs = Vec::new();
            for result in results {
                match result {
                    Ok(graph) => {
                        carried.insert(graph.host.clone(), graph.carried.clone());
                        graphs.push(graph);
                    }
                    Err(e) => errors.push(e),
                }
            }
            // Claims are node-wide whatever `--limit`/`--tags` select: the play's other hosts
            // on the selected nodes are compiled (never contacted) for the conflict check.
            neighbours.extend(compiler.neighbours(play, &all, &graphs));
            if let Some(picked) = &picked {
                // A host compiled only for what this play leaves to the shard's later plays.
                graphs.retain(|g| picked.keeps(index, &g.host));
            }
            // The batch size counts the play's whole host list, also in a shard.
            let rollout = serial::batch_sizes(play.serial.as_ref(), targets.len())
                .and_then(|sizes| Ok((sizes, max_fail(play.max_fail_percentage.as_ref())?)));
            let (batches, max_fail_percentage) = match rollout {
                Ok(r) => r,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            runs.push(PlayRun {
                name: play.name.clone(),
                batches,
                max_fail_percentage,
                hosts: graphs,
                targets,
            });
        }
        if let Some(err) = Error::many(errors) {
            return Err(err);
        }
        nodes::check(&runs, &neighbours)?;
        Ok(runs)
    }

    /// Built-in variables for `host`; `role` adds `role_path` and `role_name`, `play` the play's
    /// magic variables (`ansible_play_hosts`, ...).
    fn builtins(
        &self,
        host: &str,
        role: Option<&PathBuf>,
        play: Option<&Play>,
    ) -> Vec<(&'static str, JValue)> {
        let mut out = self.shared.of_host(host, self.inventory.host(host));
        out.push(("hostvars", self.hostvars.clone()));
        if let Some(dir) = role {
            out.push(("role_path", JValue::from(dir.display().to_string())));
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
            out.push(("role_name", JValue::from(name.unwrap_or_default())));
        }
        if let Some(play) = play {
            out.extend(self.play_magic(play));
        }
        out
    }

    /// Where `host` is reached in `play` (its node), without compiling any task. Here, in the
    /// facade, because both a host's compile and its delegated tasks' (delegate.rs) need it.
    pub(super) fn target_of(
        &self,
        play: &Play,
        host: &str,
        vars_files: &[(String, Node)],
        state: &directive::HostState,
    ) -> Result<crate::transport::Target> {
        let scopes = self.scopes(play, host, vars_files, None, None, state);
        let play_ctx = Context::new(&self.templar, scopes.flatten());
        let defaults = self
            .inventory
            .defaults
            .with_remote_user(play.remote_user.as_deref());
        crate::transport::Target::from_vars(host, &|var| play_ctx.text(var), &defaults)
    }

    /// The play's `vars_files` for `host`: each name rendered with the host's inventory
    /// variables, facts and extra variables (`vars/{{ ansible_os_family }}.yml`), and an item
    /// that is a list is the first of its files that exists, as in Ansible.
    pub(super) fn vars_files(&self, play: &Play, host: &str) -> Result<Vec<(String, Node)>> {
        let facts: Vec<(String, Var)> = self
            .options
            .facts
            .get(host)
            .map(gathered::names)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, Var::Ready(v)))
            .collect();
        let scopes = Scopes {
            inventory: self.inventory.host(host).map(|h| &h.vars),
            play: vec![play.vars.as_slice()],
            facts: &facts,
            builtins: self.builtins(host, None, Some(play)),
            extra: &self.options.extra_vars,
            ..Scopes::default()
        };
        let ctx = Context::new(&self.templar, scopes.flatten());
        let mut out = Vec::new();
        for file in &play.vars_files {
            let choices: Vec<&Node> = match file.as_seq() {
                Some(items) => items.iter().collect(),
                None => vec![file],
            };
            let mut found = None;
            let mut names = Vec::new();
            for choice in &choices {
                if choice.scalar_text().is_none() {
                    return Err(wrong_type(choice, "a file name", "`vars_files` items"));
                }
                let name = self.templar.render_string(choice, &ctx)?;
                let path = self.playbook.dir.join(&name);
                if path.is_file() {
                    found = Some(path);
                    break;
                }
                names.push(name);
            }
            let Some(path) = found else {
                return Err(Error::invalid(
                    format!(
                        "vars file {} not found",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                    &file.span,
                )
                .with_label("not found"));
            };
            let node = yaml::load_file(&path)?;
            if node.is_null() {
                continue;
            }
            let entries = node
                .as_map()
                .ok_or_else(|| wrong_type(&node, "a mapping of variables", "a vars file"))?;
            out.extend(entries.iter().map(|(k, v)| (k.key().to_owned(), v.clone())));
        }
        Ok(out)
    }
}

/// Each play's hosts: all that its pattern matches, and those `--limit` selects among them;
/// `None` for a play whose pattern is wrong (its error goes to `errors`).
type Selection<'i> = Option<(Vec<&'i str>, Vec<&'i str>)>;

/// The hosts of every play of `playbook` (see `Selection`); a bad `--limit` is an error.
fn select_plays<'i>(
    playbook: &Playbook,
    inventory: &'i Inventory,
    options: &Options,
    errors: &mut Vec<Error>,
) -> Result<Vec<Selection<'i>>> {
    let limited: Option<std::collections::HashSet<&str>> = match &options.limit {
        Some(pattern) => Some(inventory::select(inventory, pattern)?.into_iter().collect()),
        None => None,
    };
    let mut selections = Vec::new();
    for play in &playbook.plays {
        match inventory::select_play(inventory, &play.hosts) {
            Ok((all, unmatched)) => {
                // Ansible's words: a play whose terms all miss is skipped, not an error.
                for term in unmatched {
                    eprintln!("[WARNING]: Could not match supplied host pattern, ignoring: {term}");
                }
                let mut hosts = all.clone();
                if let Some(limit) = &limited {
                    hosts.retain(|h| limit.contains(h));
                }
                selections.push(Some((all, hosts)));
            }
            Err(e) => {
                errors.push(e.with_span(&play.hosts_span));
                selections.push(None);
            }
        }
    }
    Ok(selections)
}

/// `max_fail_percentage: 30`: a whole percentage, 0 to 100 (0 = any failure stops the rollout).
fn max_fail(node: Option<&Node>) -> Result<Option<u8>> {
    let Some(node) = node else {
        return Ok(None);
    };
    let text = node.scalar_text().unwrap_or_default().trim();
    match text.parse::<u8>() {
        Ok(pct) if pct <= 100 => Ok(Some(pct)),
        _ => Err(Error::invalid(
            format!("`max_fail_percentage` must be a whole number from 0 to 100, not `{text}`"),
            &node.span,
        )),
    }
}

/// `-e key=value`, `-e @file.yml` or `-e '{"key": ...}'` (JSON or YAML inline, Ansible's test:
/// the argument starts with `{` or `[`) → variables (values are YAML scalars, like Ansible).
pub(crate) fn parse_extra_vars(args: &[String]) -> Result<Vec<(String, Node)>> {
    let mut out = Vec::new();
    for arg in args {
        let inline = arg.starts_with('{') || arg.starts_with('[');
        if arg.starts_with('@') || inline {
            let node = match arg.strip_prefix('@') {
                Some(path) => yaml::load_file(std::path::Path::new(path))?,
                None => yaml::parse_text(std::path::Path::new("-e"), arg.clone())?,
            };
            let what = if inline { "`-e`" } else { "an extra-vars file" };
            let entries = node
                .as_map()
                .ok_or_else(|| wrong_type(&node, "a mapping of variables", what))?;
            out.extend(entries.iter().map(|(k, v)| (k.key().to_owned(), v.clone())));
        } else {
            out.extend(key_values(arg)?);
        }
    }
    Ok(out)
}

/// `-e 'a=1 b="two words"'`: every word `key=value`, quoted as Ansible's `parse_kv` reads them;
/// an argument whose later words are not `key=value` (`-e 'msg=hello world'`) is one variable.
fn key_values(arg: &str) -> Result<Vec<(String, Node)>> {
    let (k, v) = arg
        .split_once('=')
        .ok_or_else(|| Error::usage(format!("`-e {arg}`: expected key=value or @file.yml")))?;
    let file = crate::source::SourceFile::new(format!("-e {k}"), arg.to_owned());
    let whole = Span {
        start: 0,
        end: arg.len(),
        file,
    };
    if let Ok(words) =
        crate::ansible::parse_free_form(&Node::string(arg.to_owned(), whole.clone()), false)
    {
        if let Some(entries) = words.as_map().filter(|e| e.len() > 1) {
            return Ok(entries
                .iter()
                .map(|(k, v)| (k.key().to_owned(), v.clone()))
                .collect());
        }
    }
    let span = Span {
        start: k.len() + 1,
        ..whole
    };
    Ok(vec![(
        k.to_owned(),
        Node {
            value: yaml::Value::Scalar {
                text: v.to_owned(),
                plain: true,
            },
            span,
        },
    )])
}

/// Variables as a plain map for `recon inventory`: every variable rendered.
pub(crate) fn resolved_host_vars(
    inventory: &Inventory,
    host: &str,
    extra: &[(String, Node)],
) -> Result<BTreeMap<String, JValue>> {
    let templar = Arc::new(Templar::new());
    let Some(h) = inventory.host(host) else {
        return Ok(BTreeMap::new());
    };
    let scopes = Scopes {
        inventory: Some(&h.vars),
        extra,
        builtins: vec![
            ("inventory_hostname", JValue::from(host)),
            (
                "inventory_dir",
                JValue::from(inventory.dir.display().to_string()),
            ),
        ],
        ..Scopes::default()
    };
    let vars: BTreeMap<String, Var> = scopes.flatten();
    let ctx = Context::new(&templar, vars);
    let names: Vec<String> = ctx.names().map(str::to_owned).collect();
    names
        .into_iter()
        .map(|n| Ok((n.clone(), ctx.resolve(&n)?.unwrap_or_default())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_extra_vars;

    /// The variables `-e` arguments give, as `name = YAML text`.
    fn vars(args: &[&str]) -> Vec<String> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        parse_extra_vars(&args)
            .expect("parses")
            .iter()
            .map(|(k, v)| format!("{k} = {}", crate::template::to_jinja(v)))
            .collect()
    }

    #[test]
    fn inline_json_and_yaml_extra_vars_are_mappings_like_ansibles() {
        assert_eq!(
            vars(&[
                r#"{"version": "v2", "ports": [80, 443], "on": true}"#,
                "a=1"
            ]),
            ["version = v2", "ports = [80, 443]", "on = True", "a = 1"]
        );
        assert_eq!(vars(&["{x: {y: 2}}"]), [r#"x = {"y": 2}"#]);
        let args = vec!["[1, 2]".to_owned()];
        let err = parse_extra_vars(&args).expect_err("a list is not variables");
        assert!(err.to_string().contains("mapping"), "{err}");
    }

    #[test]
    fn several_key_values_in_one_argument_are_several_variables() {
        assert_eq!(
            vars(&[r#"version=v2 drain=false msg="two words""#]),
            ["version = v2", "drain = False", "msg = two words"]
        );
        assert_eq!(vars(&["msg=hello world"]), ["msg = hello world"]);
        assert_eq!(vars(&["url=http://x/?a=b"]), ["url = http://x/?a=b"]);
    }
}
