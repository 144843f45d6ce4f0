//! `group: { name, gid, system, state }`: a Unix group, probed with `getent group`, changed with
//! groupadd/groupmod/groupdel. Removing root's group or the primary group of the account recon
//! connects as is refused at plan time.

use super::args::{account_name, number, refuse_with_absent, state};
use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Situation};
use crate::error::Result;
use crate::facts::{CommandOutput, FactSet, Facts, Handle};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{n, w, Script};
use crate::yaml::Node;

/// A managed group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) gid: Option<u64>,
    pub(crate) system: bool,
    pub(crate) absent: bool,
}

/// The arguments of `group`.
pub(super) const ARGS: Groups = &[&[
    Arg::str("name")
        .required()
        .doc("the group name")
        .ansible(&["name"]),
    Arg::int("gid").doc("the group id").ansible(&["gid"]),
    Arg::bool("system")
        .default("false")
        .doc("a system group (gid from the system range)")
        .ansible(&["system"]),
    Arg::one_of("state", &["present", "absent"])
        .doc("`absent` removes the group")
        .default("present")
        .ansible(&["state"]),
]];

/// Builds a `group` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Group> {
    let f = Fields::declared(args, "`group`", ARGS)?;
    let absent = state(&f, &["present", "absent"])? == "absent";
    if absent {
        refuse_with_absent(&f, &["gid", "system"])?;
    }
    Ok(Group {
        name: account_name(&f, "name")?,
        gid: number(&f, "gid")?,
        system: f.flag("system")?,
        absent,
    })
}

/// What the probe found: the group's gid (if it exists), and the gid of the connecting
/// account's primary group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Probed {
    pub(crate) gid: Option<u64>,
    pub(crate) my_gid: Option<u64>,
}

/// Parses the probe's `group NAME:x:GID:MEMBERS` and `me GID` lines.
pub(crate) fn parse(out: &str) -> Probed {
    let mut probed = Probed::default();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("group ") {
            probed.gid = rest.split(':').nth(2).and_then(|g| g.parse().ok());
        } else if let Some(rest) = line.strip_prefix("me ") {
            probed.my_gid = rest.trim().parse().ok();
        }
    }
    probed
}

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Create,
    /// groupmod -g.
    Renumber,
    Delete,
}

/// A group's numeric id.
const GID: Field = Field::new("gid");

impl Resource for Group {
    type Asked = Handle<CommandOutput>;
    type Decision = Decision;
    const FIELDS: &'static [Field] = &[GID];

    /// The account database (`/etc/group`, `/etc/gshadow`) is every target's: useradd and
    /// its kin lock it themselves but give up after a few seconds; the account's targets take
    /// turns instead.
    fn account_wide(&self) -> bool {
        true
    }

    fn id(&self) -> String {
        self.name.clone()
    }

    fn claims(&self) -> Vec<Claim> {
        let state = if self.absent { "absent" } else { "present" };
        vec![
            Claim::new(ClaimKind::Other("group".to_owned()), &self.name).wanting([
                ("state", Some(state.to_owned())),
                ("gid", self.gid.map(|gid| gid.to_string())),
                ("system", self.system.then(|| "true".to_owned())),
            ]),
        ]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        let mut s = Script::new();
        s.fill(
            "if _l=$(getent group -- {}); then printf 'group %s\\n' \"$_l\"; fi\nprintf 'me %s\\n' \"$(id -g -- \"${SUDO_USER:-$(id -un)}\")\"",
            [w(&self.name)],
        );
        facts.output(s)
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let probed = parse(&facts.get(*asked).stdout);
        match (probed.gid, self.absent) {
            (None, true) => Ok(None),
            (Some(gid), true) => {
                if gid == 0 || Some(gid) == probed.my_gid {
                    return Err(Problem::new(format!(
                        "refusing to remove group `{}`: it is root's group or the primary group of the account recon connects as",
                        self.name
                    )));
                }
                let change = Change::new(Action::Delete).field(GID, Some(gid.to_string()), None);
                Ok(Some((change, Decision::Delete)))
            }
            (None, false) => {
                let mut change = Change::new(Action::Create);
                if let Some(g) = self.gid {
                    change = change.field(GID, None, Some(g.to_string()));
                }
                if self.system {
                    change = change.field(Field::SYSTEM, None, Some("yes".to_owned()));
                }
                Ok(Some((change, Decision::Create)))
            }
            (Some(gid), false) => Ok(self.gid.filter(|g| *g != gid).map(|g| {
                let change = Change::new(Action::Update).field(
                    GID,
                    Some(gid.to_string()),
                    Some(g.to_string()),
                );
                (change, Decision::Renumber)
            })),
        }
    }

    fn script(&self, decision: &Decision, out: &mut Script) {
        match decision {
            Decision::Create => {
                out.code("groupadd");
                if let Some(g) = self.gid {
                    out.fill(" -g {}", [n(g)]);
                }
                if self.system {
                    out.code(" -r");
                }
            }
            Decision::Renumber => {
                out.fill("groupmod -g {}", [n(self.gid.unwrap_or_default())]);
            }
            Decision::Delete => {
                out.code("groupdel");
            }
        }
        out.fill(" -- {} || exit 1\n", [w(&self.name)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::decide;

    fn answer(text: &str) -> Vec<FactValue> {
        vec![FactValue::Output(CommandOutput {
            status: 0,
            stdout: text.to_owned(),
        })]
    }

    #[test]
    fn decision_table() {
        let mut g = Group {
            name: "docker".into(),
            gid: Some(990),
            system: true,
            absent: false,
        };
        let (c, d) = decide(&g, answer("me 1000\n"))
            .expect("ok")
            .expect("change");
        assert_eq!((c.action, d), (Action::Create, Decision::Create));
        let (c, d) = decide(&g, answer("group docker:x:991:\nme 1000\n"))
            .expect("ok")
            .expect("change");
        assert_eq!(
            (c.fields[0].before.as_deref(), d),
            (Some("991"), Decision::Renumber)
        );
        assert!(decide(&g, answer("group docker:x:990:a,b\nme 1000\n"))
            .expect("ok")
            .is_none());
        g.absent = true;
        assert!(
            decide(&g, answer("group docker:x:1000:\nme 1000\n")).is_err(),
            "my group"
        );
        let (c, _) = decide(&g, answer("group docker:x:990:\nme 1000\n"))
            .expect("ok")
            .expect("change");
        assert_eq!(c.action, Action::Delete);
    }
}
