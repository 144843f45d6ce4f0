//! Resources: the kinds of things recon manages. Each kind is one file implementing `Resource`:
//! it asks for the facts it needs (typed handles), decides from their answers (pure) and writes
//! the shell for exactly what it decided. `registry.rs` holds one line per kind; nothing else in
//! recon names a kind.

mod ansible_module;
mod apt_upgrade;
pub(crate) mod archive;
mod args;
mod attributes;
mod authorized_key;
mod block;
mod claim;
mod command;
mod compose_grants;
mod compose_swap;
mod cron;
pub(crate) mod cutover;
#[cfg(test)]
mod declared_tests;
mod directory;
mod docker_compose;
mod download;
mod file;
mod firewall;
mod front;
mod getent;
mod git;
mod git_remote;
mod group;
mod http_check;
#[cfg(test)]
mod kinds_test;
mod line;
/// The guide's worked example (docs/ARCHITECTURE.md, "Adding a resource"), compiled and
/// registered by the unit tests only.
#[cfg(test)]
mod mark;
mod package;
mod password;
mod pip;
mod pip_spec;
pub(crate) mod reference;
mod registry;
pub(crate) mod release;
mod replace;
mod service;
mod shared;
mod stat;
mod supervisor;
mod symlink;
mod sysctl;
mod tar_names;
mod template;
mod text_edit;
mod unpack;
mod user;
mod user_manager;
mod version;
mod wait_for;
mod walk;

use std::any::Any;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

pub(crate) use args::parent_dirs;
pub(crate) use claim::{Claim, ClaimKind, OnHost, Sharing};
pub(crate) use cutover::Cutover;
pub(crate) use registry::{
    args_of, build, declared_fact_kinds, declared_fields, help, is_kind, sets_fact, KINDS,
};
pub(crate) use release::Release;

use crate::facts::{FactSet, Facts};
use crate::plan::{Change, Field};
use crate::script::Script;
use crate::template::{Context, Templar};
use crate::yaml::Node;

/// Why a host's state makes a resource's change unsafe or impossible (a file where a directory
/// should be, a release that failed before). Shown located at the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem(pub(crate) String);

impl Problem {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// A lockout refused by `door::guard` is a problem of the host's state, shown at the task.
impl From<crate::door::Lockout> for Problem {
    fn from(lockout: crate::door::Lockout) -> Self {
        Self(lockout.to_string())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Refuses a path the probe found behind a link another account controls: writing there as
/// root (or as another user) would act on whatever that account points the link at.
pub(crate) fn refuse_unsafe(path: &str, state: &crate::facts::PathState) -> Result<(), Problem> {
    if state.kind != crate::facts::PathKind::Unsafe {
        return Ok(());
    }
    Err(refused_link(path, state.target.as_deref().unwrap_or("?")))
}

/// The same refusal for a path only walked to (`walk::Walk`: a node-wide lock or stamp).
pub(crate) fn refuse_unreached(path: &str, reach: &walk::Reach) -> Result<(), Problem> {
    match &reach.unsafe_link {
        Some(link) => Err(refused_link(path, link)),
        None => Ok(()),
    }
}

/// The refusal for `path`, found (by a probe command's own walk) behind `link`, a link another
/// account controls that leads out of its files.
pub(crate) fn refused_link(path: &str, link: &str) -> Problem {
    Problem::new(format!(
        "`{path}` is behind the link `{link}`, which another account controls and which leads out of that account's files: recon neither reads nor writes through it (replace the link with a folder, or point it into that account's own files)"
    ))
}

/// What else the plan knows when a resource decides.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Situation {
    /// A task that notifies this one changes in the same plan (a program restarts because its
    /// release changed; a health check runs).
    pub(crate) triggered: bool,
    /// Something (a task or the handler mechanism) can notify this resource. A check nothing
    /// can notify runs on every apply, as Ansible's `uri` does.
    pub(crate) watched: bool,
    /// An earlier step of this host's plan changes something: a check that holds now (a port
    /// open, a URL answering) may not hold after it (a restart), so it is checked again then.
    pub(crate) after_changes: bool,
    /// The task says `allow_lockout: true`: a change that would shut the session's way in
    /// (`door/`) goes through, shown in the plan, instead of being refused.
    pub(crate) allow_lockout: bool,
}

/// What a resource kind must answer. Implement this; `AnyResource` is derived.
pub(crate) trait Resource: fmt::Debug + Send + Sync + 'static {
    /// The handles of the facts this resource asked for.
    type Asked: Send + Sync + 'static;
    /// What `decide` concluded, consumed by `script`: nothing is decided twice.
    type Decision: Send + Sync + 'static;

    /// The plan attributes this kind declares in its file (beside `Field::COMMON`): a saved
    /// plan naming one reads back only if it is listed here.
    const FIELDS: &'static [Field] = &[];

    /// The fact kinds this kind asks that it (or another kind) declares in its file
    /// (`facts::Kind`): a saved plan asking one reads back only if some kind lists it here.
    const FACT_KINDS: &'static [crate::facts::Registered] = &[];

    /// The managed object as shown in plans: a path, a command, a program.
    fn id(&self) -> String;
    /// Things this resource takes on its host or node (paths, ports, programs ...).
    fn claims(&self) -> Vec<Claim> {
        Vec::new()
    }
    /// Paths that must exist first besides the parents of its path claims (link targets, chdir).
    fn needs(&self) -> Vec<String> {
        Vec::new()
    }
    /// Its step edits, as it finds it at apply time, something every target of the account
    /// may edit too without claiming the same value (a crontab holding several named entries,
    /// the installed packages, the account database, a Python environment, whatever a bridged
    /// module touches). Targets of one account apply at once, each under its own lock, so such
    /// a step runs holding the account's lock (`script/apply.rs`, `LOCK`): one at a time per
    /// account, as every step of the account was before, and no edit is lost between two
    /// targets' read and write.
    fn account_wide(&self) -> bool {
        false
    }
    /// Asks for the facts it needs; the probe answers them all in one round trip.
    fn ask(&self, facts: &mut FactSet) -> Self::Asked;
    /// `Ok(None)`: converged. `Ok(Some)`: what the plan shows and what the script will do.
    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<(Change, Self::Decision)>, Problem>;
    /// POSIX sh (a subshell body) that carries out `decision`: exit 0 = changed, 100 = nothing
    /// to do after all (a guard became true), anything else = failed.
    fn script(&self, decision: &Self::Decision, out: &mut Script);
    /// Records what the change leaves behind, so later resources are planned against it (a file
    /// in a directory this plan creates). Most kinds leave nothing others ask about.
    fn predict(&self, decision: &Self::Decision, set: &FactSet, facts: &mut Facts) {
        let _ = (decision, set, facts);
    }
    /// For a task that only reads (a command with `changed_when: false`): writes the body that
    /// runs it, whose output becomes the task's registered result, and says true. Kinds that
    /// change things cannot be run as a query and say false.
    fn query(&self, out: &mut Script) -> bool {
        let _ = out;
        false
    }
    /// A kind that only reads (`stat`): always run as a query, whatever `changed_when` says.
    fn reads_only(&self) -> bool {
        false
    }
    /// A kind whose registered result is what it read (`uri`): run as a query when the task
    /// registers it, else a step as usual.
    fn query_when_registered(&self) -> bool {
        false
    }
    /// How its registered result is shaped from what it printed (`Shape::COMMAND`, or a shape
    /// declared in the kind's file).
    fn result_shape(&self) -> crate::registered::Shape {
        crate::registered::Shape::PLAIN
    }
    /// The fact a task of this kind sets besides (or instead of) a `register` (`getent` sets
    /// `getent_<database>`), from its rendered arguments: this run binds it as a registered
    /// result. Read from the arguments, not a built resource: tasks replayed in a later round
    /// are not built but still bind it.
    fn sets_fact(args: &Node) -> Option<String> {
        let _ = args;
        None
    }
    /// What a registered task found converged registers, when its probe answer is its result
    /// (a bridged module's check-mode result, in `result_shape`'s form); `None`: an unchanged
    /// result with nothing more.
    fn converged_result(&self, asked: &Self::Asked, facts: &Facts) -> Option<String> {
        let _ = (asked, facts);
        None
    }
}

/// A decision with its change, type-erased for the planner.
pub(crate) struct Decided {
    pub(crate) change: Change,
    decision: Box<dyn Any + Send + Sync>,
}

/// The object-safe face of `Resource`, implemented for every resource by the blanket impl below:
/// the planner holds `Arc<dyn AnyResource>` and never names a kind.
pub(crate) trait AnyResource: fmt::Debug + Send + Sync {
    fn kind(&self) -> &'static str;
    fn id(&self) -> String;
    fn claims(&self) -> Vec<Claim>;
    fn needs(&self) -> Vec<String>;
    fn account_wide(&self) -> bool;
    fn ask(&self, facts: &mut FactSet) -> Box<dyn Any + Send + Sync>;
    fn decide(
        &self,
        asked: &(dyn Any + Send + Sync),
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<Decided>, Problem>;
    fn script(&self, decided: &Decided) -> Script;
    fn predict(&self, decided: &Decided, set: &FactSet, facts: &mut Facts);
    fn query(&self) -> Option<Script>;
    fn reads_only(&self) -> bool;
    fn query_when_registered(&self) -> bool;
    fn result_shape(&self) -> crate::registered::Shape;
    /// Whether `field` may appear in this kind's changes: a common one or one it declares
    /// (`Resource::FIELDS`); a saved plan could not read back any other.
    fn declares(&self, field: Field) -> bool;
    fn converged_result(&self, asked: &(dyn Any + Send + Sync), facts: &Facts) -> Option<String>;
    /// For the few commands that work on one kind (`releases`, `rollback`).
    fn as_any(&self) -> &dyn Any;
}

/// A resource with the kind its registry line names: the kind's file does not repeat its name
/// (and `template` builds a `File` that says `template`).
#[derive(Debug)]
struct Named<R> {
    kind: &'static str,
    resource: R,
}

/// `resource` as the planner holds it, under `kind` (its registry line's name).
fn named<R: Resource>(kind: &'static str, resource: R) -> Compiled {
    Arc::new(Named { kind, resource })
}

/// `resource` in place of `old` (its kind's name kept): `rollback` edits a compiled release.
pub(crate) fn replaced<R: Resource>(old: &Compiled, resource: R) -> Compiled {
    named(old.kind(), resource)
}

impl<R: Resource> AnyResource for Named<R> {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn id(&self) -> String {
        Resource::id(&self.resource)
    }
    fn claims(&self) -> Vec<Claim> {
        Resource::claims(&self.resource)
    }
    fn needs(&self) -> Vec<String> {
        Resource::needs(&self.resource)
    }
    fn account_wide(&self) -> bool {
        Resource::account_wide(&self.resource)
    }
    fn ask(&self, facts: &mut FactSet) -> Box<dyn Any + Send + Sync> {
        Box::new(Resource::ask(&self.resource, facts))
    }
    fn decide(
        &self,
        asked: &(dyn Any + Send + Sync),
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<Decided>, Problem> {
        let asked = asked
            .downcast_ref::<R::Asked>()
            .ok_or_else(|| Problem::new("internal error: facts asked by another resource"))?;
        Ok(
            Resource::decide(&self.resource, asked, facts, situation)?.map(|(change, decision)| {
                Decided {
                    change,
                    decision: Box::new(decision),
                }
            }),
        )
    }
    fn script(&self, decided: &Decided) -> Script {
        let mut out = Script::new();
        match decided.decision.downcast_ref::<R::Decision>() {
            Some(decision) => Resource::script(&self.resource, decision, &mut out),
            None => {
                out.code("echo 'internal error: decision of another resource' >&2\nexit 1\n");
            }
        }
        out
    }
    fn predict(&self, decided: &Decided, set: &FactSet, facts: &mut Facts) {
        if let Some(decision) = decided.decision.downcast_ref::<R::Decision>() {
            Resource::predict(&self.resource, decision, set, facts);
        }
    }
    fn query(&self) -> Option<Script> {
        let mut out = Script::new();
        Resource::query(&self.resource, &mut out).then_some(out)
    }
    fn reads_only(&self) -> bool {
        Resource::reads_only(&self.resource)
    }
    fn query_when_registered(&self) -> bool {
        Resource::query_when_registered(&self.resource)
    }
    fn result_shape(&self) -> crate::registered::Shape {
        Resource::result_shape(&self.resource)
    }
    fn declares(&self, field: Field) -> bool {
        Field::COMMON.contains(&field) || R::FIELDS.contains(&field)
    }
    fn converged_result(&self, asked: &(dyn Any + Send + Sync), facts: &Facts) -> Option<String> {
        Resource::converged_result(&self.resource, asked.downcast_ref::<R::Asked>()?, facts)
    }
    fn as_any(&self) -> &dyn Any {
        &self.resource
    }
}

/// A compiled resource, shared between the graph, the planner and the commands.
pub(crate) type Compiled = Arc<dyn AnyResource>;

/// What building a resource from its rendered arguments may need.
pub(crate) struct BuildContext<'a> {
    pub(crate) templar: &'a Templar,
    pub(crate) vars: &'a Context,
    /// Where `template` sources are looked up, in order (role `templates/`, playbook `templates/`).
    pub(crate) template_dirs: Vec<PathBuf>,
    /// Where `file: { src }` sources are looked up (role `files/`, playbook `files/`, playbook dir).
    pub(crate) file_dirs: Vec<PathBuf>,
    /// The task is `no_log`/`sensitive`: content it carries is secret.
    pub(crate) sensitive: bool,
    /// Where a bridged module is looked up (`ansible_module`).
    pub(crate) bridge: &'a crate::bridge::Lookup,
    /// The account a `become_user` task runs as (not root): whose user-level systemd units a
    /// `service` with `scope: user` manages, and whose manager its probe asks.
    pub(crate) become_user: Option<&'a str>,
}

/// Running a resource's decision against hand-written answers, for the unit tests of each kind.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Problem, Resource, Situation};
    use crate::facts::{FactSet, FactValue, Facts};
    use crate::plan::Change;
    use crate::script::Script;

    /// Asks `resource` for its facts, answers them with `answers` (in the order asked) and
    /// returns its decision.
    pub(crate) fn decide_in<R: Resource>(
        resource: &R,
        answers: Vec<FactValue>,
        situation: Situation,
    ) -> Result<Option<(Change, R::Decision)>, Problem> {
        let mut set = FactSet::default();
        let asked = resource.ask(&mut set);
        let facts = Facts::answered(answers);
        resource.decide(&asked, &facts, situation)
    }

    /// `decide_in` for a probe that came over SSH with `public_key`, so the door checks
    /// (`door/`) run; `allow_lockout` as the task says.
    pub(crate) fn decide_over_ssh<R: Resource>(
        resource: &R,
        answers: Vec<FactValue>,
        public_key: &str,
        allow_lockout: bool,
    ) -> Result<Option<(Change, R::Decision)>, Problem> {
        let mut set = FactSet::default();
        let asked = resource.ask(&mut set);
        let mut facts = Facts::answered(answers);
        facts.set_session(Some(crate::transport::Session {
            public_key: Some(public_key.to_owned()),
        }));
        let situation = Situation {
            allow_lockout,
            ..Situation::default()
        };
        resource.decide(&asked, &facts, situation)
    }

    /// Builds `kind` through the registry from the task arguments in `yaml`, its templates and
    /// files looked up in `dir` (none when `None`), as the compiler would with no variables.
    pub(crate) fn build_from_yaml(
        kind: &str,
        yaml: &str,
        dir: Option<&std::path::Path>,
    ) -> crate::error::Result<super::Compiled> {
        use std::sync::Arc;
        let file = crate::source::SourceFile::new("task.yml", yaml);
        let node = crate::yaml::parse(&file).expect("the test's YAML parses");
        let templar = Arc::new(crate::template::Templar::new());
        let vars = crate::template::Context::new(&templar, std::collections::BTreeMap::new());
        let bridge = crate::bridge::Lookup::default();
        let dirs: Vec<std::path::PathBuf> =
            dir.map(std::path::Path::to_path_buf).into_iter().collect();
        let cx = super::BuildContext {
            templar: &templar,
            vars: &vars,
            template_dirs: dirs.clone(),
            file_dirs: dirs,
            sensitive: false,
            bridge: &bridge,
            become_user: None,
        };
        super::build(kind, &node, &cx)
    }

    /// `decide_in` when nothing notifies the resource.
    pub(crate) fn decide<R: Resource>(
        resource: &R,
        answers: Vec<FactValue>,
    ) -> Result<Option<(Change, R::Decision)>, Problem> {
        decide_in(resource, answers, Situation::default())
    }

    /// The script for a decision.
    pub(crate) fn script_of<R: Resource>(resource: &R, decision: &R::Decision) -> Script {
        let mut out = Script::new();
        resource.script(decision, &mut out);
        out
    }

    /// A `bin` folder in `dir` holding an executable `name` with `script` as its text: a
    /// stand-in for a program (`curl`) the scripts under test run, put first on PATH.
    pub(crate) fn stand_in(dir: &std::path::Path, name: &str, script: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).expect("mkdir bin");
        let program = bin.join(name);
        std::fs::write(&program, script).expect("write stand-in");
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
            .expect("chmod stand-in");
        bin
    }
}
