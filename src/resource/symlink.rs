//! `symlink: { path, target }`: a symbolic link, switched atomically (temp link + rename), so
//! there is never a moment without it (the `current -> v1.0.1` release switch).
//! `symlink: { path, state: absent }` removes the link, never what it points at, and refuses
//! to remove anything at the path that is not a link.

use super::args::{normalize_path, parent_dirs, path, state};
use super::{BuildContext, Claim, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{p, w, Script};
use crate::yaml::Node;

/// A managed symlink. The target may be relative (to the link's directory) and may not exist yet.
#[derive(Debug, Clone)]
pub(crate) struct Symlink {
    pub(crate) path: String,
    pub(crate) target: String,
    /// `state: absent`: the link must not exist (`target` is then empty).
    pub(crate) absent: bool,
}

/// The arguments of `symlink`.
pub(super) const ARGS: Groups = &[&[
    Arg::path("path")
        .required()
        .doc("the link")
        .ansible(&["path", "dest", "name"]),
    Arg::str("target")
        .default_note("required unless `absent`")
        .doc("what the link points to (may be relative, may not exist yet)")
        .ansible(&["src"]),
    Arg::one_of("state", &["present", "absent"])
        .default("present")
        .doc("`absent` removes only a link"),
]];

/// Builds a `symlink` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Symlink> {
    let f = Fields::declared(args, "`symlink`", ARGS)?;
    if state(&f, &["present", "absent"])? == "absent" {
        super::args::refuse_with_absent(&f, &["target"])?;
        return Ok(Symlink {
            path: path(&f, "path")?,
            target: String::new(),
            absent: true,
        });
    }
    let target = f.required_string("target")?;
    if target.is_empty() {
        return Err(Error::invalid(
            "`target` is empty",
            &f.require("target")?.span,
        ));
    }
    Ok(Symlink {
        path: path(&f, "path")?,
        target,
        absent: false,
    })
}

impl Symlink {
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

impl Resource for Symlink {
    type Asked = Handle<PathState>;
    /// Point the link at the target (`false`) or remove it (`true`, for `state: absent`).
    type Decision = bool;

    fn id(&self) -> String {
        if self.absent {
            return self.path.clone();
        }
        format!("{} -> {}", self.path, self.target)
    }

    fn claims(&self) -> Vec<Claim> {
        vec![Claim::path(&self.path)]
    }

    fn needs(&self) -> Vec<String> {
        if self.absent {
            return Vec::new();
        }
        vec![self.resolved_target()]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        facts.path(&self.path, Want::Never)
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, bool)>, Problem> {
        let state = facts.get(*asked);
        super::refuse_unsafe(&self.path, state)?;
        if self.absent {
            return match state.kind {
                PathKind::Absent => Ok(None),
                PathKind::Link => Ok(Some((
                    Change::new(Action::Delete).field(Field::TARGET, state.target.clone(), None),
                    true,
                ))),
                other => Err(Problem::new(format!(
                    "`{}` is {}, not a symlink; refusing to remove it",
                    self.path,
                    other.describe()
                ))),
            };
        }
        let change = match state.kind {
            PathKind::Absent => {
                Change::new(Action::Create).field(Field::TARGET, None, Some(self.target.clone()))
            }
            PathKind::Link if state.target.as_deref() == Some(self.target.as_str()) => {
                return Ok(None)
            }
            PathKind::Link => Change::new(Action::Update).field(
                Field::TARGET,
                state.target.clone(),
                Some(self.target.clone()),
            ),
            other => {
                return Err(Problem::new(format!(
                    "`{}` exists and is {}, not a symlink",
                    self.path,
                    other.describe()
                )))
            }
        };
        Ok(Some((change, false)))
    }

    fn script(&self, delete: &bool, out: &mut Script) {
        if *delete {
            // Only a link: whatever replaced it since the plan is left alone. Removed inside
            // the folder the link-safe walk entered (a missing folder: nothing to remove).
            out.fill("_in {} 2>/dev/null\n", [p(&self.path)]).code(
                "case $? in 0) ;; 2) _refused; exit 1;; *) exit 100;; esac\n                 if [ -L \"./$_n\" ]; then rm -f -- \"./$_n\" || exit 1; else exit 100; fi\n",
            );
            return;
        }
        out.fill("_link {} {} || exit 1\n", [w(&self.target), p(&self.path)]);
    }

    fn predict(&self, delete: &bool, set: &FactSet, facts: &mut Facts) {
        if *delete {
            facts.predict_path(set, &self.path, &PathState::default());
            return;
        }
        let state = PathState {
            kind: PathKind::Link,
            target: Some(self.target.clone()),
            ..PathState::default()
        };
        facts.predict_path(set, &self.path, &state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::decide;

    fn link(target: &str) -> FactValue {
        FactValue::Path(PathState {
            kind: PathKind::Link,
            target: Some(target.into()),
            ..PathState::default()
        })
    }

    #[test]
    fn decision_table() {
        let s = Symlink {
            path: "~/app/current".into(),
            target: "v1.0.1".into(),
            absent: false,
        };
        assert!(decide(&s, vec![link("v1.0.1")]).expect("ok").is_none());
        let (change, _) = decide(&s, vec![link("v1.0.0")])
            .expect("ok")
            .expect("change");
        assert_eq!(change.fields[0].before.as_deref(), Some("v1.0.0"));
        assert_eq!(change.fields[0].after.as_deref(), Some("v1.0.1"));
        let absent = FactValue::Path(PathState::default());
        let (change, _) = decide(&s, vec![absent]).expect("ok").expect("change");
        assert_eq!(change.action, Action::Create);
        let dir = FactValue::Path(PathState {
            kind: PathKind::Dir,
            ..PathState::default()
        });
        assert!(decide(&s, vec![dir]).is_err());
        assert_eq!(Resource::needs(&s), ["~/app/v1.0.1"]);
    }

    /// Runs the removal of the link at `path` under a real `sh`; returns the exit status.
    fn remove(path: &std::path::Path) -> i32 {
        let s = Symlink {
            path: path.to_str().expect("utf-8").into(),
            target: String::new(),
            absent: true,
        };
        let body = crate::resource::testing::script_of(&s, &true);
        let script = format!("{}{}", crate::script::WRITE_FUNCTIONS, body.as_str());
        let status = std::process::Command::new("sh")
            .args(["-c", &script])
            .status()
            .expect("sh runs");
        status.code().unwrap_or(-1)
    }

    #[test]
    fn a_link_is_removed_only_inside_a_folder_the_walk_entered() {
        let at = crate::script::Swappable::new("app");
        std::os::unix::fs::symlink("v1", at.folder.join("current")).expect("link");
        std::os::unix::fs::symlink("root", at.secret.join("current")).expect("link");
        assert_eq!(remove(&at.folder.join("current")), 0);
        assert!(std::fs::symlink_metadata(at.folder.join("current")).is_err());
        assert_eq!(
            remove(&at.home.join("gone/current")),
            100,
            "nothing to remove"
        );
        at.swap();
        assert_eq!(remove(&at.folder.join("current")), 1, "refused");
        assert!(std::fs::symlink_metadata(at.secret.join("current")).is_ok());
    }

    #[test]
    fn absent_removes_only_a_link() {
        let s = Symlink {
            path: "~/app/current".into(),
            target: String::new(),
            absent: true,
        };
        let absent = FactValue::Path(PathState::default());
        assert!(decide(&s, vec![absent]).expect("ok").is_none());
        let (change, delete) = decide(&s, vec![link("v1")]).expect("ok").expect("change");
        assert!(delete);
        assert_eq!(change.action, Action::Delete);
        assert_eq!(change.fields[0].before.as_deref(), Some("v1"));
        let file = FactValue::Path(PathState {
            kind: PathKind::File,
            ..PathState::default()
        });
        assert!(decide(&s, vec![file]).is_err());
        assert!(Resource::needs(&s).is_empty());
    }
}
