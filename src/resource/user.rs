//! `user: { name, uid, group, groups, append, shell, home, system, create_home, password,
//! update_password, password_lock, state, remove }`: a Unix account, probed with `getent
//! passwd` and `id` (and `getent shadow` when the task manages the password: `password.rs`),
//! changed with useradd/usermod/userdel. The plan names each attribute that changes, before →
//! after (the password only as `(changed)`). Removing (`state: absent`) the account recon
//! connects as, or root, is refused at plan time: it would lock recon out; so is locking its
//! password, which sshd without PAM takes as a lock on key logins too.

use std::collections::BTreeSet;

use super::args::{account_name, checked_account_name, number, refuse_with_absent, state};
use super::password::{self, Password, Shadow, Step};
use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle};
use crate::fields::arg::{names, Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{w, Script};
use crate::yaml::Node;

/// The account arguments of `user` (then the password's: `password::ARGS`).
const OWN: &[Arg] = &[
    Arg::str("name")
        .required()
        .doc("the account")
        .ansible(&["name"]),
    Arg::int("uid").doc("its user id").ansible(&["uid"]),
    Arg::str("group")
        .doc("its primary group")
        .ansible(&["group"]),
    Arg::strings("groups")
        .doc("supplementary groups (a list or `a,b`)")
        .ansible(&["groups"]),
    Arg::bool("append")
        .default("false")
        .doc("add to `groups` instead of setting exactly them")
        .ansible(&["append"]),
    Arg::path("shell")
        .doc("its login shell")
        .ansible(&["shell"]),
    Arg::path("home").doc("its home folder").ansible(&["home"]),
    Arg::bool("system")
        .default("false")
        .doc("a system account")
        .ansible(&["system"]),
    Arg::bool("create_home")
        .default("true")
        .doc("make the home when the account is created")
        .ansible(&["create_home", "createhome"]),
    Arg::one_of("state", &["present", "absent"])
        .doc("`absent` removes the account")
        .default("present")
        .ansible(&["state"]),
    Arg::bool("remove")
        .default("false")
        .doc("with `absent`: remove the home too")
        .ansible(&["remove"]),
];

/// The arguments of `user`.
pub(super) const ARGS: Groups = &[OWN, password::ARGS];

/// A managed account.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) uid: Option<u64>,
    /// Primary group name.
    pub(crate) group: Option<String>,
    /// Supplementary groups; `None` = not managed.
    pub(crate) groups: Option<Vec<String>>,
    /// Add `groups` to the existing ones instead of making them the exact list.
    pub(crate) append: bool,
    pub(crate) shell: Option<String>,
    pub(crate) home: Option<String>,
    pub(crate) system: bool,
    pub(crate) create_home: bool,
    /// `state: absent`: `Some(remove the home folder too)`.
    pub(crate) absent: Option<bool>,
    /// The shadow entry (`password`, `update_password`, `password_lock`); `None`: not managed.
    pub(crate) password: Option<Password>,
}

/// Builds a `user` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<User> {
    let f = Fields::declared(args, "`user`", ARGS)?;
    let name = account_name(&f, "name")?;
    if state(&f, &["present", "absent"])? == "absent" {
        refuse_with_absent(
            &f,
            &[
                "uid",
                "group",
                "groups",
                "append",
                "shell",
                "home",
                "system",
                "create_home",
            ],
        )?;
        refuse_with_absent(&f, &names(&[password::ARGS]))?;
        return Ok(User {
            name,
            uid: None,
            group: None,
            groups: None,
            append: false,
            shell: None,
            home: None,
            system: false,
            create_home: false,
            absent: Some(f.flag("remove")?),
            password: None,
        });
    }
    let group = match f.get("group") {
        Some(node) => {
            let g = f.required_string("group")?;
            checked_account_name(&g, node)?;
            Some(g)
        }
        None => None,
    };
    let groups = match f.get("groups") {
        Some(_) => Some(
            f.string_list("groups")?
                .into_iter()
                .filter(|(g, _)| !g.is_empty())
                .map(|(g, node)| checked_account_name(&g, node).map(|()| g))
                .collect::<Result<Vec<_>>>()?,
        ),
        None => None,
    };
    Ok(User {
        name,
        uid: number(&f, "uid")?,
        group,
        groups,
        append: f.flag("append")?,
        shell: passwd_field(&f, "shell", false)?,
        home: passwd_field(&f, "home", true)?,
        system: f.flag("system")?,
        create_home: f.flag("create_home")?,
        absent: None,
        password: password::read(&f)?,
    })
}

/// A passwd field (`shell`, `home`): an absolute path without `:` or a line break, which would
/// corrupt `/etc/passwd` (useradd refuses them too, but later and less clearly).
fn passwd_field(f: &Fields<'_>, key: &str, _home: bool) -> Result<Option<String>> {
    let Some(node) = f.get(key) else {
        return Ok(None);
    };
    let text = f.required_string(key)?;
    if !text.starts_with('/') || text.contains([':', '\n', '\r']) {
        return Err(Error::invalid(
            format!("`{key}` must be an absolute path without `:` or line breaks"),
            &node.span,
        )
        .with_label("not usable in /etc/passwd"));
    }
    Ok(Some(text))
}

/// What the probe found about an account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Account {
    pub(crate) uid: u64,
    pub(crate) home: String,
    pub(crate) shell: String,
    pub(crate) primary: String,
    pub(crate) groups: BTreeSet<String>,
    /// The shadow entry, when the task manages the password (`None`: not asked).
    pub(crate) shadow: Option<Shadow>,
}

/// The probe's answer: the account (if it exists) and who recon connects as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Probed {
    pub(crate) account: Option<Account>,
    pub(crate) me: String,
}

/// Parses the `passwd`/`primary`/`groups`/`me` lines the probe prints.
pub(crate) fn parse(out: &str) -> Probed {
    let mut probed = Probed::default();
    let mut account = Account::default();
    let mut found = false;
    for line in out.lines() {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "passwd" => {
                let fields: Vec<&str> = rest.split(':').collect();
                if let [_, _, uid, _, _, home, shell] = fields.as_slice() {
                    found = true;
                    account.uid = uid.parse().unwrap_or(u64::MAX);
                    (*home).clone_into(&mut account.home);
                    (*shell).clone_into(&mut account.shell);
                }
            }
            "primary" => rest.trim().clone_into(&mut account.primary),
            "groups" => account.groups = rest.split_whitespace().map(str::to_owned).collect(),
            "me" => rest.trim().clone_into(&mut probed.me),
            "shadow" => account.shadow = Some(password::parse(rest)),
            _ => {}
        }
    }
    account.groups.remove(&account.primary);
    probed.account = found.then_some(account);
    probed
}

/// The attributes a useradd/usermod call sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selected {
    uid: bool,
    group: bool,
    shell: bool,
    home: bool,
    /// The `-G` list (all wanted groups; with `append`, `-a` keeps the others).
    groups: Option<Vec<String>>,
    /// `-p VALUE`, `-L` or `-U`.
    password: Option<Step>,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Create,
    /// usermod with only what differs.
    Modify(Selected),
    Delete,
}

/// The account's facts and the door's (`door/`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked {
    account: Handle<CommandOutput>,
    door: Handle<CommandOutput>,
}

/// An account's numeric id.
const UID: Field = Field::new("uid");
/// An account's login shell.
const SHELL: Field = Field::new("shell");
/// An account's home folder.
const HOME: Field = Field::new("home");
/// An account's primary group.
const PRIMARY: Field = Field::new("primary");
/// An account's supplementary groups.
const GROUPS: Field = Field::new("groups");
/// An account's password hash: only ever shown as `(set)` or `(changed)`, never the hash.
const PASSWORD: Field = Field::new("password");
/// Whether an account's password is locked (its shadow entry starts with `!`).
const LOCKED: Field = Field::new("locked");

impl Resource for User {
    type Asked = Asked;
    type Decision = Decision;
    const FIELDS: &'static [Field] = &[UID, SHELL, HOME, PRIMARY, GROUPS, PASSWORD, LOCKED];

    /// The account database (`/etc/passwd`, `/etc/shadow`, `/etc/group`) is every target's: useradd and
    /// its kin lock it themselves but give up after a few seconds; the account's targets take
    /// turns instead.
    fn account_wide(&self) -> bool {
        true
    }

    fn id(&self) -> String {
        self.name.clone()
    }

    fn claims(&self) -> Vec<Claim> {
        // `append` groups add to whatever the account has: they agree with any list.
        let groups = self.groups.as_ref().filter(|_| !self.append).map(|groups| {
            let mut sorted = groups.clone();
            sorted.sort();
            sorted.join(",")
        });
        let state = if self.absent.is_some() {
            "absent"
        } else {
            "present"
        };
        vec![Claim::new(ClaimKind::User, &self.name).wanting([
            ("state", Some(state.to_owned())),
            ("uid", self.uid.map(|uid| uid.to_string())),
            ("group", self.group.clone()),
            ("groups", groups),
            ("shell", self.shell.clone()),
            ("home", self.home.clone()),
            ("system", self.system.then(|| "true".to_owned())),
            ("password", self.password.as_ref().and_then(Password::claim)),
        ])]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        let mut s = Script::new();
        s.fill(
            "_u={}\nif _l=$(getent passwd -- \"$_u\"); then printf 'passwd %s\\n' \"$_l\"; printf 'primary %s\\n' \"$(id -gn -- \"$_u\")\"; printf 'groups %s\\n' \"$(id -Gn -- \"$_u\")\"; fi\nprintf 'me %s\\n' \"${SUDO_USER:-$(id -un)}\"",
            [w(&self.name)],
        );
        if self.password.as_ref().is_some_and(Password::reads_shadow) {
            s.code(password::PROBE);
        }
        Asked {
            account: facts.output(s),
            door: crate::door::ask(facts),
        }
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let probed = parse(&facts.get(asked.account).stdout);
        if self.absent.is_some() {
            return self.decide_absent(&probed, situation.allow_lockout);
        }
        let Some(account) = probed.account else {
            return Ok(Some((self.create_change(), Decision::Create)));
        };
        let mut change = Change::new(Action::Update);
        let uid = self.uid.filter(|u| *u != account.uid);
        if let Some(uid) = uid {
            change = change.field(UID, Some(account.uid.to_string()), Some(uid.to_string()));
        }
        let group = self.group.as_ref().filter(|g| **g != account.primary);
        if let Some(g) = group {
            change = change.field(PRIMARY, Some(account.primary.clone()), Some(g.clone()));
        }
        let shell = self.shell.as_ref().filter(|s| **s != account.shell);
        if let Some(s) = shell {
            change = change.field(SHELL, Some(account.shell.clone()), Some(s.clone()));
        }
        let home = self.home.as_ref().filter(|h| **h != account.home);
        if let Some(h) = home {
            change = change.field(HOME, Some(account.home.clone()), Some(h.clone()));
        }
        let groups = self.groups.as_ref().and_then(|wanted| {
            let wanted: BTreeSet<String> = wanted.iter().cloned().collect();
            let after: BTreeSet<String> = if self.append {
                account.groups.union(&wanted).cloned().collect()
            } else {
                wanted.clone()
            };
            (after != account.groups).then(|| {
                change = std::mem::replace(&mut change, Change::new(Action::Update)).field(
                    GROUPS,
                    Some(join(&account.groups)),
                    Some(join(&after)),
                );
                wanted.into_iter().collect::<Vec<String>>()
            })
        });
        let was_locked = matches!(account.shadow, Some(Shadow::Known { locked: true, .. }));
        let step = match &self.password {
            Some(wanted) => wanted.decide(&self.name, account.shadow.as_ref())?,
            None => None,
        };
        if let Some(step) = &step {
            if let Step::Set(_) = step {
                change = change.field(PASSWORD, None, Some("(changed)".to_owned()));
            }
            if step.locks() != was_locked {
                let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
                change = change.field(LOCKED, Some(yes_no(was_locked)), Some(yes_no(step.locks())));
            }
        }
        if change.fields.is_empty() {
            return Ok(None);
        }
        if let Some(door) = crate::door::read(facts, asked.door).filter(|d| d.account == self.name)
        {
            let mut after: BTreeSet<String> = match (&groups, self.append) {
                (Some(wanted), false) => wanted.iter().cloned().collect(),
                (Some(wanted), true) => account.groups.iter().chain(wanted).cloned().collect(),
                (None, _) => account.groups.clone(),
            };
            after.insert(group.unwrap_or(&account.primary).clone());
            let shut = shell
                .and_then(|s| door.shell_shuts(s))
                .or_else(|| door.groups_shut(&after))
                .or_else(|| door.lock_shuts(was_locked, step.as_ref().is_some_and(Step::locks)));
            change = crate::door::guard(change, shut, situation.allow_lockout)?;
        }
        Ok(Some((
            change,
            Decision::Modify(Selected {
                uid: uid.is_some(),
                group: group.is_some(),
                shell: shell.is_some(),
                home: home.is_some(),
                groups,
                password: step,
            }),
        )))
    }

    fn script(&self, decision: &Decision, out: &mut Script) {
        match decision {
            Decision::Create => {
                out.code("useradd");
                self.options(
                    out,
                    &Selected {
                        uid: true,
                        group: true,
                        shell: true,
                        home: true,
                        groups: self.groups.clone(),
                        password: None,
                    },
                );
                if let Some(value) = self.password.as_ref().and_then(Password::on_create) {
                    out.fill(" -p {}", [w(&value)]);
                }
                if self.system {
                    out.code(" -r");
                }
                out.code(if self.create_home { " -m" } else { " -M" });
                out.fill(" -- {} || exit 1\n", [w(&self.name)]);
            }
            Decision::Modify(selected) => {
                out.code("usermod");
                if self.append && selected.groups.is_some() {
                    out.code(" -a");
                }
                self.options(out, selected);
                out.fill(" -- {} || exit 1\n", [w(&self.name)]);
            }
            Decision::Delete => {
                out.code("userdel");
                if self.absent == Some(true) {
                    out.code(" -r");
                }
                out.fill(" -- {} || exit 1\n", [w(&self.name)]);
            }
        }
    }
}

impl User {
    /// The options of useradd/usermod for the attributes selected.
    fn options(&self, out: &mut Script, sel: &Selected) {
        if let Some(u) = self.uid.filter(|_| sel.uid) {
            out.fill(" -u {}", [crate::script::n(u)]);
        }
        if let Some(g) = self.group.as_ref().filter(|_| sel.group) {
            out.fill(" -g {}", [w(g)]);
        }
        if let Some(s) = self.shell.as_ref().filter(|_| sel.shell) {
            out.fill(" -s {}", [w(s)]);
        }
        if let Some(h) = self.home.as_ref().filter(|_| sel.home) {
            out.fill(" -d {}", [w(h)]);
        }
        if let Some(list) = &sel.groups {
            out.fill(" -G {}", [w(&list.join(","))]);
        }
        match &sel.password {
            Some(Step::Set(value)) => {
                out.fill(" -p {}", [w(value)]);
            }
            Some(Step::Lock) => {
                out.code(" -L");
            }
            Some(Step::Unlock) => {
                out.code(" -U");
            }
            None => {}
        }
    }

    fn create_change(&self) -> Change {
        let mut change = Change::new(Action::Create);
        if let Some(u) = self.uid {
            change = change.field(UID, None, Some(u.to_string()));
        }
        if let Some(g) = &self.group {
            change = change.field(PRIMARY, None, Some(g.clone()));
        }
        if let Some(s) = &self.shell {
            change = change.field(SHELL, None, Some(s.clone()));
        }
        let home = match (&self.home, self.create_home) {
            (Some(h), true) => Some(format!("{h} (created)")),
            (Some(h), false) => Some(h.clone()),
            (None, true) => Some("default (created)".to_owned()),
            (None, false) => None,
        };
        if let Some(h) = home {
            change = change.field(HOME, None, Some(h));
        }
        if let Some(groups) = self.groups.as_ref().filter(|g| !g.is_empty()) {
            change = change.field(GROUPS, None, Some(groups.join(", ")));
        }
        if self.system {
            change = change.field(Field::SYSTEM, None, Some("yes".to_owned()));
        }
        if let Some(value) = self.password.as_ref().and_then(Password::on_create) {
            change = change.field(PASSWORD, None, Some("(set)".to_owned()));
            if value.starts_with('!') {
                change = change.field(LOCKED, None, Some("yes".to_owned()));
            }
        }
        change
    }

    fn decide_absent(
        &self,
        probed: &Probed,
        allow_lockout: bool,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let Some(account) = &probed.account else {
            return Ok(None);
        };
        if self.name == "root" || account.uid == 0 {
            return Err(Problem::new(format!(
                "refusing to remove account `{}`: it is root",
                self.name
            )));
        }
        let mut change = Change::new(Action::Delete);
        let shut = (self.name == probed.me)
            .then(|| format!("`{}` is the account recon logs in as", self.name));
        change = crate::door::guard(change, shut, allow_lockout)?;
        change = change.field(UID, Some(account.uid.to_string()), None);
        if self.absent == Some(true) {
            change = change.field(HOME, Some(account.home.clone()), None);
        }
        Ok(Some((change, Decision::Delete)))
    }
}

fn join(groups: &BTreeSet<String>) -> String {
    if groups.is_empty() {
        return "(none)".to_owned();
    }
    groups.iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::decide;

    fn user() -> User {
        User {
            name: "cartogram".into(),
            uid: None,
            group: None,
            groups: Some(vec!["docker".into()]),
            append: true,
            shell: Some("/bin/bash".into()),
            home: None,
            system: false,
            create_home: true,
            absent: None,
            password: None,
        }
    }

    fn probe(text: &str) -> Vec<FactValue> {
        vec![FactValue::Output(CommandOutput {
            status: 0,
            stdout: text.to_owned(),
        })]
    }

    const EXISTS: &str = "passwd cartogram:x:1001:1001::/home/cartogram:/bin/sh\nprimary cartogram\ngroups cartogram users\nme deploy\n";

    #[test]
    fn probe_output_is_parsed() {
        let p = parse(EXISTS);
        let a = p.account.expect("exists");
        assert_eq!((a.uid, a.shell.as_str()), (1001, "/bin/sh"));
        assert_eq!(a.groups.into_iter().collect::<Vec<_>>(), ["users"]);
        assert_eq!(p.me, "deploy");
        assert_eq!(parse("me root\n").account, None);
    }

    #[test]
    fn changes_are_exact_and_append_keeps_other_groups() {
        let (change, decision) = decide(&user(), probe(EXISTS)).expect("ok").expect("change");
        assert_eq!(change.action, Action::Update);
        assert_eq!(change.fields[0].field, SHELL);
        assert_eq!(change.fields[1].before.as_deref(), Some("users"));
        assert_eq!(change.fields[1].after.as_deref(), Some("docker, users"));
        assert!(matches!(
            decision,
            Decision::Modify(Selected {
                shell: true,
                uid: false,
                ..
            })
        ));
        let mut exact = user();
        exact.append = false;
        let (change, _) = decide(&exact, probe(EXISTS)).expect("ok").expect("change");
        assert_eq!(change.fields[1].after.as_deref(), Some("docker"));
        let done = "passwd cartogram:x:1001:1001::/home/cartogram:/bin/bash\nprimary cartogram\ngroups cartogram users docker\nme deploy\n";
        assert!(decide(&user(), probe(done)).expect("ok").is_none());
    }

    #[test]
    fn a_shell_that_runs_nothing_or_leaving_the_sudo_group_is_refused_unless_allowed() {
        use crate::door::testing::{answer, DEPLOY, KEY};
        use crate::resource::testing::decide_over_ssh;
        let now = "passwd deploy:x:1000:1000::/home/deploy:/bin/bash\nprimary deploy\ngroups deploy wheel\nme deploy\n";
        let deploy = |shell: Option<&str>, groups: Option<&[&str]>, append: bool| User {
            name: "deploy".into(),
            shell: shell.map(str::to_owned),
            groups: groups.map(|g| g.iter().map(|s| (*s).to_owned()).collect()),
            append,
            ..user()
        };
        let answers = || vec![answer(now), answer(DEPLOY)];
        for shut in [
            deploy(Some("/usr/sbin/nologin"), None, false),
            deploy(Some("/bin/false"), None, false),
            deploy(None, Some(&["docker"]), false),
        ] {
            let refused = decide_over_ssh(&shut, answers(), KEY, false).expect_err("refused");
            assert!(refused.0.contains("lock recon out"), "{refused}");
            let (change, _) = decide_over_ssh(&shut, answers(), KEY, true)
                .expect("allowed")
                .expect("change");
            assert!(change.reason.is_some_and(|r| r.contains("allow_lockout")));
        }
        for fine in [
            deploy(Some("/bin/sh"), None, false),
            deploy(None, Some(&["docker"]), true),
            deploy(None, Some(&["wheel", "docker"]), false),
        ] {
            assert!(
                decide_over_ssh(&fine, answers(), KEY, false).is_ok(),
                "{fine:?}"
            );
        }
        let mut other = deploy(Some("/usr/sbin/nologin"), None, false);
        other.name = "cartogram".into();
        let theirs = vec![answer(EXISTS), answer(DEPLOY)];
        assert!(
            decide_over_ssh(&other, theirs, KEY, false).is_ok(),
            "another account"
        );
        let mut gone = deploy(None, None, false);
        gone.absent = Some(false);
        let (change, d) = decide_over_ssh(&gone, answers(), KEY, true)
            .expect("allowed")
            .expect("change");
        assert_eq!((change.action, d), (Action::Delete, Decision::Delete));
    }

    #[test]
    fn a_password_shows_no_hash_and_locking_the_connecting_account_is_refused_unless_allowed() {
        use crate::door::testing::{answer, DEPLOY, KEY};
        use crate::facts::sha256_hex;
        use crate::resource::testing::decide_over_ssh;
        let hash = "$6$salt$wantedhashwantedhash";
        let now = |field: &str| {
            let locked = u8::from(field.starts_with('!'));
            let digest = sha256_hex(field.trim_start_matches('!').as_bytes());
            format!("passwd deploy:x:1000:1000::/home/deploy:/bin/bash\nprimary deploy\ngroups deploy wheel\nshadow {digest} {locked}\nme deploy\n")
        };
        let deploy = |hash: Option<&str>, lock: Option<bool>| User {
            name: "deploy".into(),
            groups: None,
            shell: None,
            password: Some(Password {
                hash: hash.map(str::to_owned),
                always: true,
                lock,
            }),
            ..user()
        };
        let answers = |field: &str| vec![answer(&now(field)), answer(DEPLOY)];
        let (change, d) = decide_over_ssh(&deploy(Some(hash), None), answers("*"), KEY, false)
            .expect("a new hash keeps key logins")
            .expect("change");
        assert_eq!(change.fields[0].field, PASSWORD);
        assert_eq!(change.fields[0].after.as_deref(), Some("(changed)"));
        assert!(!format!("{change:?}").contains(hash), "{change:?}");
        assert!(matches!(
            d,
            Decision::Modify(Selected {
                password: Some(Step::Set(_)),
                ..
            })
        ));
        assert!(
            decide_over_ssh(&deploy(Some(hash), None), answers(hash), KEY, false)
                .expect("ok")
                .is_none()
        );
        for locking in [
            deploy(Some("!"), None),
            deploy(None, Some(true)),
            deploy(Some(hash), Some(true)),
        ] {
            let refused = decide_over_ssh(&locking, answers("*"), KEY, false).expect_err("refused");
            assert!(refused.0.contains("UsePAM no"), "{refused}");
            let (change, _) = decide_over_ssh(&locking, answers("*"), KEY, true)
                .expect("allowed")
                .expect("change");
            assert!(change.fields.iter().any(|f| f.field == LOCKED));
        }
        // Locked already: this session came in past the lock, so sshd uses PAM.
        assert!(decide_over_ssh(&deploy(Some("!"), None), answers("!x"), KEY, false).is_ok());
    }

    #[test]
    fn removing_the_connecting_account_or_root_is_refused() {
        let mut u = user();
        u.absent = Some(false);
        u.name = "deploy".into();
        let me = "passwd deploy:x:1000:1000::/home/deploy:/bin/sh\nprimary deploy\ngroups deploy\nme deploy\n";
        assert!(decide(&u, probe(me)).is_err());
        u.name = "root".into();
        let root = "passwd root:x:0:0::/root:/bin/sh\nprimary root\ngroups root\nme deploy\n";
        assert!(decide(&u, probe(root)).is_err());
        u.name = "cartogram".into();
        let (change, d) = decide(&u, probe(EXISTS)).expect("ok").expect("change");
        assert_eq!((change.action, d), (Action::Delete, Decision::Delete));
        assert!(decide(&u, probe("me deploy\n")).expect("ok").is_none());
    }
}
