//! `attributes: { path, mode, owner, group, kind }`: the mode, owner and group of a path that
//! must already be there, never created and never written: Ansible's `file` with `state: file`
//! (or with no `state`, its default), which fails on a missing path, and which roles use to
//! tighten what a package installed (`/etc/shadow`, `/bin/su`).
//!
//! It claims nothing: the task that writes a file and the one that then sets its mode name the
//! same path, as in Ansible. A link at the path is refused: its attributes would be the ones of
//! whatever it names, which recon never changes through a link.

use super::args::{path, state_of, Attrs};
use super::{BuildContext, Claim, Problem, Resource, Situation};
use crate::error::Result;
use crate::facts::{FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change};
use crate::script::Script;
use crate::yaml::Node;

/// The attributes of an existing path.
#[derive(Debug, Clone)]
pub(crate) struct Attributes {
    path: String,
    attrs: Attrs,
    /// `kind: file`: a directory there is an error (Ansible's `state: file`); `any`: a file or
    /// a directory.
    file_only: bool,
}

/// The arguments of `attributes`.
pub(super) const ARGS: Groups = &[
    &[
        Arg::path("path")
            .required()
            .doc("the existing file or directory")
            .ansible(&["path", "dest", "name"]),
        Arg::one_of("kind", &["any", "file"])
            .default("any")
            .doc("`file`: a directory at the path is an error"),
    ],
    &[
        Arg::mode("mode")
            .default_note("kept")
            .doc("octal mode, quoted (`\"0644\"`)")
            .ansible(&["mode"]),
        super::args::OWNER,
        super::args::GROUP,
    ],
];

/// Builds `attributes` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Attributes> {
    let f = Fields::declared(args, "`attributes`", ARGS)?;
    Ok(Attributes {
        path: path(&f, "path")?,
        attrs: Attrs::read(&f)?,
        file_only: state_of(&f, "kind", &["any", "file"])? == "file",
    })
}

impl Resource for Attributes {
    type Asked = Handle<PathState>;
    /// The path's state once its attributes are set.
    type Decision = PathState;

    fn id(&self) -> String {
        self.path.clone()
    }

    fn claims(&self) -> Vec<Claim> {
        Vec::new()
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        facts.path(&self.path, Want::Never)
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, PathState)>, Problem> {
        let state = facts.get(*asked);
        super::refuse_unsafe(&self.path, state)?;
        match state.kind {
            PathKind::File => {}
            PathKind::Dir if !self.file_only => {}
            PathKind::Absent => {
                return Err(Problem::new(format!(
                    "`{}` does not exist: this task sets the attributes of what is there (write the file with `file` or `template` to create it)",
                    self.path
                )))
            }
            other => {
                return Err(Problem::new(format!(
                    "`{}` is {}, not {}",
                    self.path,
                    other.describe(),
                    if self.file_only {
                        "a file"
                    } else {
                        "a file or a directory"
                    }
                )))
            }
        }
        let change = self.attrs.diff(state, Change::new(Action::Update));
        let after = PathState {
            mode: self.attrs.mode.unwrap_or(state.mode),
            owner: self
                .attrs
                .owner
                .clone()
                .unwrap_or_else(|| state.owner.clone()),
            group: self
                .attrs
                .group
                .clone()
                .unwrap_or_else(|| state.group.clone()),
            ..state.clone()
        };
        Ok((!change.fields.is_empty()).then_some((change, after)))
    }

    fn script(&self, _: &PathState, out: &mut Script) {
        self.attrs.apply_script(&self.path, out);
    }

    fn predict(&self, after: &PathState, set: &FactSet, facts: &mut Facts) {
        facts.predict_path(set, &self.path, after);
    }
}
