//! `directory: { path, mode, owner, group }`: a directory exists with these attributes.
//! `directory: { path, state: absent, recurse }` removes it: an empty one always, a non-empty
//! one only with `recurse: true` (otherwise the plan refuses, naming the path), so a typo in a
//! path can never wipe a tree nobody asked to remove.
//!
//! Missing parents are made too, each with the directory's own mode, owner and group, as
//! Ansible's `file: state=directory` makes them (a role's `rules/fake` with `owner: loki` leaves
//! `rules` owned by `loki` as well).

use super::args::{fmt_mode, path, refuse_with_absent, state, Attrs};
use super::{BuildContext, Claim, Problem, Resource, Sharing, Situation};
use crate::error::Result;
use crate::facts::{Exit, FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{p, w, Script};
use crate::yaml::Node;

/// A managed directory.
#[derive(Debug, Clone)]
pub(crate) struct Directory {
    pub(crate) path: String,
    pub(crate) attrs: Attrs,
    /// `state: absent`: `Some(recurse)`.
    pub(crate) absent: Option<bool>,
}

/// The arguments of `directory`.
pub(super) const ARGS: Groups = &[
    &[
        Arg::path("path")
            .required()
            .doc("the directory")
            .ansible(&["path", "dest", "name"]),
        Arg::one_of("state", &["present", "absent"])
            .doc("`absent` removes an empty directory (a full one with `recurse`)")
            .default("present"),
        Arg::bool("recurse")
            .default("false")
            .doc("with `absent`: remove a non-empty directory too"),
    ],
    super::args::ATTRS,
];

/// Builds a `directory` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Directory> {
    let f = Fields::declared(args, "`directory`", ARGS)?;
    let absent = if state(&f, &["present", "absent"])? == "absent" {
        refuse_with_absent(&f, &["mode", "owner", "group"])?;
        Some(f.flag("recurse")?)
    } else {
        if let Some(node) = f.get("recurse") {
            return Err(crate::error::Error::invalid(
                "`recurse` only applies to `state: absent`",
                &node.span,
            )
            .with_label("not used when the directory is kept"));
        }
        None
    };
    Ok(Directory {
        path: path(&f, "path")?,
        attrs: Attrs::read(&f)?,
        absent,
    })
}

/// The facts a directory needs: its state, and for removal whether it is empty.
#[derive(Debug)]
pub(crate) struct Asked {
    state: Handle<PathState>,
    empty: Option<Handle<Exit>>,
}

/// Whether the directory must be made, and the attributes to set.
#[derive(Debug)]
pub(crate) struct Decision {
    create: bool,
    /// Its ancestors (top down): those missing when it is made are made first, with the same
    /// attributes. Decided by the apply, not asked by the probe: another host's apply may make
    /// a shared parent meanwhile (hosts on one machine), which must not make the plan stale.
    parents: Vec<String>,
    attrs: Attrs,
    /// Remove it instead: `Some(recurse)`.
    delete: Option<bool>,
}

impl Resource for Directory {
    type Asked = Asked;
    type Decision = Decision;

    fn id(&self) -> String {
        self.path.clone()
    }

    fn claims(&self) -> Vec<Claim> {
        // Targets of one node may share a directory when they want it the same way; tasks of
        // one host when no attribute differs.
        let state = if self.absent.is_some() {
            "absent"
        } else {
            "present"
        };
        vec![Claim::path(&self.path)
            .shared(Sharing::SameAttributes)
            .wanting([
                ("state", Some(state.to_owned())),
                ("mode", self.attrs.mode.map(fmt_mode)),
                ("owner", self.attrs.owner.clone()),
                ("group", self.attrs.group.clone()),
            ])]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        let empty = self.absent.map(|_| {
            let mut s = Script::new();
            s.fill("[ -z \"$(ls -A -- {} 2>/dev/null)\" ]", [p(&self.path)]);
            facts.guard(s)
        });
        Asked {
            state: facts.path(&self.path, Want::Never),
            empty,
        }
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let state = facts.get(asked.state);
        super::refuse_unsafe(&self.path, state)?;
        if let Some(recurse) = self.absent {
            let empty = asked.empty.is_some_and(|h| *facts.get(h) == Exit(0));
            return self.decide_absent(state, empty, recurse);
        }
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
                        parents: ancestors(&self.path),
                        attrs,
                        delete: None,
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
                            parents: Vec::new(),
                            attrs,
                            delete: None,
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
        match decision.delete {
            Some(true) => {
                out.fill("_rm {} r || exit 1\n", [p(&self.path)]);
                return;
            }
            Some(false) => {
                // rmdir refuses a directory that filled up since the plan: nothing is lost.
                out.fill("rmdir -- {} || exit 1\n", [p(&self.path)]);
                return;
            }
            None => {}
        }
        if decision.create {
            // `-m` gives the new directory its final mode at creation: never wider, not even
            // for a moment.
            let mode = fmt_mode(decision.attrs.mode.unwrap_or(0o755));
            // A mode the task gives is given to a folder found made too (`m`); without one,
            // such a folder keeps its own.
            let given = if decision.attrs.mode.is_some() {
                " m"
            } else {
                ""
            };
            let owner_and_group = Attrs {
                mode: None,
                ..decision.attrs.clone()
            };
            for parent in &decision.parents {
                // Another host's apply may make the same parent meanwhile: as with Ansible's
                // `file`, a parent that is a directory by then is fine.
                out.fill("if ! [ -d {} ]; then\n", [p(parent)]);
                out.fill("_mkdir {} {}", [w(&mode), p(parent)])
                    .code(given)
                    .fill(" 2>/dev/null || [ -d {} ] || exit 1\n", [p(parent)]);
                owner_and_group.apply_script(parent, out);
                out.code("fi\n");
            }
            // `_mkdir` gave the folder its mode: only owner and group are left to set.
            out.fill("_mkdir {} {}", [w(&mode), p(&self.path)])
                .code(given)
                .code(" || exit 1\n");
            owner_and_group.apply_script(&self.path, out);
            return;
        }
        decision.attrs.apply_script(&self.path, out);
    }

    fn predict(&self, decision: &Decision, set: &FactSet, facts: &mut Facts) {
        if decision.delete.is_some() {
            facts.predict_path(set, &self.path, &PathState::default());
            return;
        }
        let state = PathState {
            kind: PathKind::Dir,
            mode: self.attrs.mode.unwrap_or(0o755),
            ..PathState::default()
        };
        facts.predict_path(set, &self.path, &state);
    }
}

/// The folders above `path`, top down, without `/` (`/a/b/c` → `/a`, `/a/b`).
fn ancestors(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    // `~/a/b`: the home folder is there already; its folders are `~/a`, not `/~/a`.
    let (mut at, rest) = match path.strip_prefix("~/") {
        Some(rest) => ("~".to_owned(), rest),
        None => (String::new(), path),
    };
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        at.push('/');
        at.push_str(part);
        out.push(at.clone());
    }
    out
}

impl Directory {
    /// Removal: nothing to do when absent; an empty directory goes, a non-empty one only with
    /// `recurse: true`; anything else at the path is refused.
    fn decide_absent(
        &self,
        state: &PathState,
        empty: bool,
        recurse: bool,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        match state.kind {
            PathKind::Absent => Ok(None),
            PathKind::Dir if empty || recurse => {
                let what = if empty {
                    "empty"
                } else {
                    "with all its contents"
                };
                let change = Change::new(Action::Delete).field(
                    Field::KIND,
                    Some(format!("directory ({what})")),
                    None,
                );
                Ok(Some((
                    change,
                    Decision {
                        create: false,
                        parents: Vec::new(),
                        attrs: Attrs::default(),
                        delete: Some(recurse),
                    },
                )))
            }
            PathKind::Dir => Err(Problem::new(format!(
                "`{}` is not empty; add `recurse: true` to remove it with everything in it",
                self.path
            ))),
            other => Err(Problem::new(format!(
                "`{}` is {}, not a directory; refusing to remove it",
                self.path,
                other.describe()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::decide;

    fn dir(mode: Option<u32>) -> Directory {
        Directory {
            path: "/srv/app".into(),
            attrs: Attrs {
                mode,
                ..Attrs::default()
            },
            absent: None,
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
    fn missing_parents_are_made_with_the_directorys_attributes() {
        let d = Directory {
            path: "/srv/app".into(),
            attrs: Attrs {
                mode: Some(0o750),
                owner: Some("loki".into()),
                ..Attrs::default()
            },
            absent: None,
        };
        let (_, decision) = decide(&d, vec![state(PathKind::Absent, 0)])
            .expect("ok")
            .expect("change");
        assert_eq!(decision.parents, ["/srv"]);
        let mut script = Script::new();
        d.script(&decision, &mut script);
        let text = script.as_str();
        let (parent, own) = (
            text.find("_mkdir '0750' '/srv' ").expect("parent made"),
            text.find("_mkdir '0750' '/srv/app'").expect("made"),
        );
        assert!(parent < own, "{text}");
        assert_eq!(
            text.matches("loki").count(),
            2,
            "both get the owner: {text}"
        );
    }

    #[test]
    fn the_parents_of_a_home_path_are_in_the_home_not_under_the_root() {
        assert_eq!(
            ancestors("~/.config/systemd/user"),
            ["~/.config", "~/.config/systemd"]
        );
        assert_eq!(ancestors("/srv/app/data"), ["/srv", "/srv/app"]);
        assert!(ancestors("~/top").is_empty() && ancestors("/top").is_empty());
    }

    #[test]
    fn decision_table() {
        let (change, _) = decide(&dir(Some(0o750)), vec![state(PathKind::Absent, 0)])
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Create);
        assert_eq!(change.fields[0].after.as_deref(), Some("0750"));

        assert!(decide(&dir(Some(0o750)), vec![state(PathKind::Dir, 0o750)])
            .expect("ok")
            .is_none());
        assert!(
            decide(&dir(None), vec![state(PathKind::Dir, 0o750)])
                .expect("ok")
                .is_none(),
            "mode not managed"
        );

        let (change, _) = decide(&dir(Some(0o750)), vec![state(PathKind::Dir, 0o755)])
            .expect("ok")
            .expect("change");
        assert_eq!(
            (change.action, change.fields[0].field),
            (Action::Update, Field::MODE)
        );
        assert_eq!(change.fields[0].before.as_deref(), Some("0755"));

        let problem = decide(&dir(None), vec![state(PathKind::File, 0o644)]).expect_err("conflict");
        assert!(problem.0.contains("not a directory"));
    }

    #[test]
    fn removal_needs_recurse_for_a_non_empty_directory() {
        let mut d = dir(None);
        d.absent = Some(false);
        let answers = |kind, empty: bool| {
            vec![
                FactValue::Guard(Exit(i32::from(!empty))),
                state(kind, 0o755),
            ]
        };
        assert!(decide(&d, answers(PathKind::Absent, true))
            .expect("ok")
            .is_none());
        let (change, decision) = decide(&d, answers(PathKind::Dir, true))
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Delete);
        assert_eq!(decision.delete, Some(false));
        let problem = decide(&d, answers(PathKind::Dir, false)).expect_err("not empty");
        assert!(problem.0.contains("recurse: true"), "{problem}");
        assert!(
            decide(&d, answers(PathKind::File, true)).is_err(),
            "not a directory"
        );
        d.absent = Some(true);
        let (change, decision) = decide(&d, answers(PathKind::Dir, false))
            .expect("ok")
            .expect("change");
        assert_eq!(
            change.fields[0].before.as_deref(),
            Some("directory (with all its contents)")
        );
        assert_eq!(decision.delete, Some(true));
    }
}
