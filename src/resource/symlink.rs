//! `symlink: { path, target }`: a symbolic link, switched atomically (temp link + rename), so
//! there is never a moment without it (the `current -> v1.0.1` release switch).

use super::args::{normalize_path, parent_dirs, path};
use super::Kind;
use crate::error::{Error, Result};
use crate::facts::{Fact, FactValue, PathKind, Want};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::shell::{quote, quote_path};
use crate::yaml::Node;

/// A managed symlink. The target may be relative (to the link's directory) and may not exist yet.
#[derive(Debug, Clone)]
pub(crate) struct Symlink {
    pub(crate) path: String,
    pub(crate) target: String,
}

impl Symlink {
    pub(crate) fn build(args: &Node) -> Result<Self> {
        let f = Fields::new(args, "`symlink`", &["path", "target"])?;
        let target = f.required_string("target")?;
        if target.is_empty() {
            return Err(Error::invalid(
                "`target` is empty",
                &f.require("target")?.span,
            ));
        }
        Ok(Self {
            path: path(&f, "path")?,
            target,
        })
    }

    /// The target as an absolute (or `~/`) path, for dependency edges.
    fn resolved_target(&self) -> String {
        if self.target.starts_with('/') || self.target.starts_with("~/") {
            normalize_path(&self.target)
        } else {
            let dir = parent_dirs(&self.path)
                .into_iter()
                .next()
                .unwrap_or_default();
            normalize_path(&format!("{dir}/{}", self.target))
        }
    }
}

impl Kind for Symlink {
    fn id(&self) -> String {
        format!("{} -> {}", self.path, self.target)
    }

    fn kind_name(&self) -> &'static str {
        "symlink"
    }

    fn claims(&self) -> Vec<String> {
        vec![self.path.clone()]
    }

    fn needs(&self) -> Vec<String> {
        vec![self.resolved_target()]
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
            PathKind::Absent => Ok(Some(Change::new(Action::Create).field(
                Field::Target,
                None,
                Some(self.target.clone()),
            ))),
            PathKind::Link if state.target.as_deref() == Some(self.target.as_str()) => Ok(None),
            PathKind::Link => Ok(Some(Change::new(Action::Update).field(
                Field::Target,
                state.target.clone(),
                Some(self.target.clone()),
            ))),
            other => Err(format!(
                "`{}` exists and is {}, not a symlink",
                self.path,
                other.describe()
            )),
        }
    }

    fn script(&self, _facts: &[&FactValue], _change: &Change) -> String {
        format!("_link {} {}\n", quote(&self.target), quote_path(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::PathState;

    fn link(target: &str) -> FactValue {
        FactValue::Path(PathState {
            kind: PathKind::Link,
            target: Some(target.into()),
            ..PathState::default()
        })
    }

    #[test]
    fn diff_table() {
        let s = Symlink {
            path: "~/app/current".into(),
            target: "v1.0.1".into(),
        };
        assert_eq!(s.diff(&[&link("v1.0.1")]), Ok(None));
        let change = s.diff(&[&link("v1.0.0")]).expect("ok").expect("change");
        assert_eq!(change.fields[0].before.as_deref(), Some("v1.0.0"));
        assert_eq!(change.fields[0].after.as_deref(), Some("v1.0.1"));
        let absent = FactValue::Path(PathState::default());
        assert_eq!(
            s.diff(&[&absent]).expect("ok").expect("change").action,
            Action::Create
        );
        let dir = FactValue::Path(PathState {
            kind: PathKind::Dir,
            ..PathState::default()
        });
        assert!(s.diff(&[&dir]).is_err());
        assert_eq!(s.needs(), ["~/app/v1.0.1"]);
    }
}
