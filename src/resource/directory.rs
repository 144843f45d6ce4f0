//! `directory: { path, mode, owner, group }`: a directory exists with these attributes.

use super::args::{path, Attrs};
use super::Kind;
use crate::error::Result;
use crate::facts::{Fact, FactValue, PathKind, Want};
use crate::fields::Fields;
use crate::plan::{Action, Change};
use crate::shell::quote_path;
use crate::yaml::Node;

/// A directory (parents are created as needed, with default modes).
#[derive(Debug, Clone)]
pub(crate) struct Directory {
    pub(crate) path: String,
    pub(crate) attrs: Attrs,
}

impl Directory {
    pub(crate) fn build(args: &Node) -> Result<Self> {
        let f = Fields::new(args, "`directory`", &["path", "mode", "owner", "group"])?;
        Ok(Self {
            path: path(&f, "path")?,
            attrs: Attrs::read(&f)?,
        })
    }
}

impl Kind for Directory {
    fn id(&self) -> String {
        self.path.clone()
    }

    fn kind_name(&self) -> &'static str {
        "directory"
    }

    fn claims(&self) -> Vec<String> {
        vec![self.path.clone()]
    }

    fn facts(&self) -> Vec<Fact> {
        vec![Fact::Path {
            path: self.path.clone(),
            content: Want::Never,
        }]
    }

    fn diff(&self, facts: &[&FactValue]) -> Result<Option<Change>, String> {
        let [FactValue::Path(state)] = facts else {
            return Err("missing facts".into());
        };
        match state.kind {
            PathKind::Absent => Ok(Some(self.attrs.create(0o755, Change::new(Action::Create)))),
            PathKind::Dir => {
                let change = self.attrs.diff(state, Change::new(Action::Update));
                Ok((!change.fields.is_empty()).then_some(change))
            }
            other => Err(format!(
                "`{}` exists and is {}, not a directory",
                self.path,
                other.describe()
            )),
        }
    }

    fn script(&self, facts: &[&FactValue], _change: &Change) -> String {
        let exists = matches!(facts, [FactValue::Path(s)] if s.kind == PathKind::Dir);
        let mkdir = if exists {
            String::new()
        } else {
            format!("mkdir -p -- {}\n", quote_path(&self.path))
        };
        let attrs = Attrs {
            mode: self.attrs.mode.or((!exists).then_some(0o755)),
            ..self.attrs.clone()
        };
        format!("{mkdir}{}", attrs.apply_script(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::PathState;
    use crate::plan::Field;

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
    fn diff_table() {
        let absent = state(PathKind::Absent, 0);
        let change = dir(Some(0o750))
            .diff(&[&absent])
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Create);
        assert_eq!(change.fields[0].after.as_deref(), Some("0750"));

        let same = state(PathKind::Dir, 0o750);
        assert_eq!(dir(Some(0o750)).diff(&[&same]), Ok(None));
        assert_eq!(dir(None).diff(&[&same]), Ok(None), "mode not managed");

        let other_mode = state(PathKind::Dir, 0o755);
        let change = dir(Some(0o750))
            .diff(&[&other_mode])
            .expect("ok")
            .expect("change");
        assert_eq!(
            (change.action, change.fields[0].field),
            (Action::Update, Field::Mode)
        );
        assert_eq!(change.fields[0].before.as_deref(), Some("0755"));

        let file = state(PathKind::File, 0o644);
        assert!(dir(None)
            .diff(&[&file])
            .expect_err("conflict")
            .contains("not a directory"));
    }
}
