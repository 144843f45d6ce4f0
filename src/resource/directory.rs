//! `directory: { path, mode, owner, group }`: a directory exists with these attributes.

use super::args::{fmt_mode, path, Attrs};
use super::{BuildContext, Claim, Problem, Resource, Sharing, Situation};
use crate::error::Result;
use crate::facts::{FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::Fields;
use crate::plan::{Action, Change};
use crate::script::{p, w, Script};
use crate::yaml::Node;

/// A managed directory.
#[derive(Debug, Clone)]
pub(crate) struct Directory {
    pub(crate) path: String,
    pub(crate) attrs: Attrs,
}

/// Builds a `directory` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Directory> {
    let f = Fields::new(args, "`directory`", &["path", "mode", "owner", "group"])?;
    Ok(Directory {
        path: path(&f, "path")?,
        attrs: Attrs::read(&f)?,
    })
}

/// Whether the directory must be made, and the attributes to set.
#[derive(Debug)]
pub(crate) struct Decision {
    create: bool,
    attrs: Attrs,
}

impl Resource for Directory {
    type Asked = Handle<PathState>;
    type Decision = Decision;

    fn kind(&self) -> &'static str {
        "directory"
    }

    fn id(&self) -> String {
        self.path.clone()
    }

    fn claims(&self) -> Vec<Claim> {
        // Targets of one node may share a directory when they want it the same way.
        let attrs = format!(
            "{:?}",
            (self.attrs.mode, &self.attrs.owner, &self.attrs.group)
        );
        vec![Claim {
            sharing: Sharing::SameAttributes(attrs),
            ..Claim::path(&self.path)
        }]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        facts.path(&self.path, Want::Never)
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let state = facts.get(*asked);
        match state.kind {
            PathKind::Absent => {
                let attrs = Attrs {
                    mode: Some(self.attrs.mode.unwrap_or(0o755)),
                    ..self.attrs.clone()
                };
                let change = self.attrs.create(0o755, Change::new(Action::Create));
                Ok(Some((
                    change,
                    Decision {
                        create: true,
                        attrs,
                    },
                )))
            }
            PathKind::Dir => {
                let change = self.attrs.diff(state, Change::new(Action::Update));
                Ok((!change.fields.is_empty()).then(|| {
                    let attrs = self.attrs.clone();
                    (
                        change,
                        Decision {
                            create: false,
                            attrs,
                        },
                    )
                }))
            }
            other => Err(Problem::new(format!(
                "`{}` exists and is {}, not a directory",
                self.path,
                other.describe()
            ))),
        }
    }

    fn script(&self, decision: &Decision, out: &mut Script) {
        if decision.create {
            // `-m` gives the new directory its final mode at creation: never wider, not even
            // for a moment.
            let mode = fmt_mode(decision.attrs.mode.unwrap_or(0o755));
            out.fill(
                "mkdir -m {} -p -- {} || exit 1\n",
                [w(&mode), p(&self.path)],
            );
        }
        decision.attrs.apply_script(&self.path, out);
    }

    fn predict(&self, _: &Decision, set: &FactSet, facts: &mut Facts) {
        let state = PathState {
            kind: PathKind::Dir,
            mode: self.attrs.mode.unwrap_or(0o755),
            ..PathState::default()
        };
        facts.predict_path(set, &self.path, &state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::plan::Field;
    use crate::resource::testing::decide;

    fn dir(mode: Option<u32>) -> Directory {
        Directory {
            path: "/srv/app".into(),
            attrs: Attrs {
                mode,
                ..Attrs::default()
            },
        }
    }

    fn state(kind: PathKind, mode: u32) -> FactValue {
        FactValue::Path(PathState {
            kind,
            mode,
            ..PathState::default()
        })
    }

    #[test]
    fn decision_table() {
        let (change, _) = decide(&dir(Some(0o750)), vec![state(PathKind::Absent, 0)])
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Create);
        assert_eq!(change.fields[0].after.as_deref(), Some("0750"));

        let same = state(PathKind::Dir, 0o750);
        assert!(decide(&dir(Some(0o750)), vec![same.clone()])
            .expect("ok")
            .is_none());
        assert!(
            decide(&dir(None), vec![same]).expect("ok").is_none(),
            "mode not managed"
        );

        let (change, _) = decide(&dir(Some(0o750)), vec![state(PathKind::Dir, 0o755)])
            .expect("ok")
            .expect("change");
        assert_eq!(
            (change.action, change.fields[0].field),
            (Action::Update, Field::Mode)
        );
        assert_eq!(change.fields[0].before.as_deref(), Some("0755"));

        let problem = decide(&dir(None), vec![state(PathKind::File, 0o644)]).expect_err("conflict");
        assert!(problem.0.contains("not a directory"));
    }
}
