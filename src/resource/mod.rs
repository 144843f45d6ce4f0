//! Resources: the kinds of things recon manages. Each kind lives in its own file and implements
//! `Kind`: it declares the facts it needs, diffs them (pure) and writes the shell for its change.

pub(crate) mod archive;
mod args;
mod command;
mod directory;
mod file;
mod http_check;
mod line;
pub(crate) mod release;
mod supervisor;
mod symlink;

use std::path::PathBuf;

pub(crate) use args::parent_dirs;
pub(crate) use command::Command;
pub(crate) use directory::Directory;
pub(crate) use file::File;
pub(crate) use http_check::HttpCheck;
pub(crate) use line::Line;
pub(crate) use release::Release;
pub(crate) use supervisor::Supervisor;
pub(crate) use symlink::Symlink;

use crate::error::Result;
use crate::facts::{Fact, FactValue};
use crate::plan::Change;
use crate::template::{Context, Templar};
use crate::yaml::Node;

/// What a resource kind must answer. `diff` and `script` see only the facts the resource declared.
pub(crate) trait Kind {
    /// The managed object as shown in plans: a path or a command.
    fn id(&self) -> String;
    /// The resource type as the user wrote it (`template` compiles to a file but says `template`).
    fn kind_name(&self) -> &'static str;
    /// Paths this resource creates or owns; two resources claiming one path is a compile error.
    fn claims(&self) -> Vec<String>;
    /// Paths that must exist first (besides the parents of its claims): link targets, `chdir`, ...
    fn needs(&self) -> Vec<String> {
        Vec::new()
    }
    fn facts(&self) -> Vec<Fact>;
    /// `Ok(None)`: already converged. `Err`: the host's state makes the change unsafe.
    fn diff(&self, facts: &[&FactValue]) -> Result<Option<Change>, String>;
    /// Like `diff`, knowing whether a task that notifies this one changes in the same plan (a
    /// program restarts when its release changed). Most kinds ignore it.
    fn diff_triggered(
        &self,
        facts: &[&FactValue],
        triggered: bool,
    ) -> Result<Option<Change>, String> {
        let _ = triggered;
        self.diff(facts)
    }
    /// POSIX sh that performs the change; runs in a subshell, exit 0 = changed, 100 = nothing to
    /// do after all (a guard became true), anything else = failed.
    fn script(&self, facts: &[&FactValue], change: &Change) -> String;
}

/// A compiled resource: one variant per kind (the serde-style registry: one YAML key, one file).
#[derive(Debug, Clone)]
pub(crate) enum Resource {
    Directory(Directory),
    File(File),
    Symlink(Symlink),
    Line(Line),
    Command(Command),
    Release(Release),
    Supervisor(Supervisor),
    HttpCheck(HttpCheck),
}

/// What building a resource from its rendered arguments may need.
pub(crate) struct BuildContext<'a> {
    pub(crate) templar: &'a Templar,
    pub(crate) vars: &'a Context,
    /// Where `template` sources are looked up, in order (role `templates/`, playbook `templates/`).
    pub(crate) template_dirs: Vec<PathBuf>,
    /// Where `file: { src }` sources are looked up (role `files/`, playbook `files/`, playbook dir).
    pub(crate) file_dirs: Vec<PathBuf>,
}

impl Resource {
    /// Validates rendered arguments and builds the resource; `kind` is a key of `RESOURCE_KINDS`.
    pub(crate) fn build(kind: &str, args: &Node, cx: &BuildContext<'_>) -> Result<Self> {
        Ok(match kind {
            "directory" => Resource::Directory(Directory::build(args)?),
            "file" => Resource::File(File::build_file(args, cx)?),
            "template" => Resource::File(File::build_template(args, cx)?),
            "symlink" => Resource::Symlink(Symlink::build(args)?),
            "line" => Resource::Line(Line::build(args)?),
            "release" => Resource::Release(Release::build(args, cx)?),
            "supervisor" => Resource::Supervisor(Supervisor::build(args)?),
            "http_check" => Resource::HttpCheck(HttpCheck::build(args)?),
            _ => Resource::Command(Command::build(args)?),
        })
    }

    /// The one dispatch point: everything else goes through `Kind`.
    pub(crate) fn kind(&self) -> &dyn Kind {
        match self {
            Resource::Directory(r) => r,
            Resource::File(r) => r,
            Resource::Symlink(r) => r,
            Resource::Line(r) => r,
            Resource::Command(r) => r,
            Resource::Release(r) => r,
            Resource::Supervisor(r) => r,
            Resource::HttpCheck(r) => r,
        }
    }
}
