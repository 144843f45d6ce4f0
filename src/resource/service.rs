//! `service: { name, state: started|stopped|restarted|reloaded, enabled, masked, daemon_reload }`:
//! a system service,
//! through systemd where it runs (`/run/systemd/system` exists: `systemctl is-active` /
//! `is-enabled`), else through the `/etc/init.d` script (`status` exit code, `S??name` links in
//! `/etc/rc[2-5].d`, `update-rc.d`). The manager is found by the probe; the decision table is
//! the same for both.
//!
//! On systemd, unit files are reloaded (`daemon-reload`) before the unit is acted on whenever
//! systemd reports `NeedDaemonReload=yes` (a unit file changed on disk, e.g. by an earlier task
//! of the same apply), or always with `daemon_reload: true`: a restart never brings back the
//! old definition. A unit systemd does not know yet whose file in `/etc/systemd/system` an
//! earlier task writes is planned (known after apply) instead of refused. A failed action
//! prints `systemctl status` and the unit's last journal lines into the step's output.
//!
//! `masked` (systemd only) links the unit to `/dev/null` so nothing can start it: a unit is
//! unmasked before it is enabled or started, and masked after it is stopped, as Ansible's
//! `systemd` module does; asking a unit to be masked and running (or enabled) is an error.
//!
//! `restarted`/`reloaded` on a service some task notifies act only when notified, so a
//! notified service restarts exactly once per run (never start + restart); one nothing can
//! notify restarts on every apply, as Ansible's does.
//!
//! `scope: user` manages a unit of the account the task runs as (the connecting account, or
//! `become_user`) through its own systemd user manager (`systemctl --user`; `user_manager.rs`):
//! the same decisions, the unit files looked for in the user-unit folders.

use super::user_manager::{self, UserManager};
use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle, PathKind, PathState, Want as PathWant};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{w, Script};
use crate::yaml::Node;

/// The state asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    Started,
    Stopped,
    Restarted,
    Reloaded,
}

/// A managed service.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) name: String,
    pub(crate) want: Option<Want>,
    pub(crate) enabled: Option<bool>,
    /// `masked: true|false` (systemd): whether nothing may start the unit.
    pub(crate) masked: Option<bool>,
    /// `daemon_reload: true`: reload unit files before acting, even when systemd does not ask.
    pub(crate) daemon_reload: bool,
    /// `scope: user`: a unit of the account's own user manager, not of PID 1.
    pub(crate) user_scope: bool,
    /// The account the task runs as when it is `become_user` (the user scope's account).
    pub(crate) become_user: Option<String>,
}

/// The arguments `service` takes (also what an Ansible `service` task with nothing to manage
/// is checked against).
/// The arguments of `service`.
pub(crate) const ARGS: Groups = &[&[
    Arg::str("name")
        .required()
        .doc("the unit or init script (letters, digits, `@._:-`)")
        .ansible(&["name", "unit", "service"]),
    Arg::one_of("state", &["started", "stopped", "restarted", "reloaded"])
        .default_note("not managed")
        .doc("one of `state`, `enabled`, `masked` is needed")
        .ansible(&["state"]),
    Arg::bool("enabled")
        .default_note("not managed")
        .doc("started at boot")
        .ansible(&["enabled"]),
    Arg::bool("masked")
        .default_note("not managed")
        .doc("systemd: unmasked before enable/start, masked after stop")
        .ansible(&["masked"]),
    Arg::bool("daemon_reload")
        .default("false")
        .doc("`systemctl daemon-reload` first")
        .ansible(&["daemon_reload"]),
    Arg::one_of("scope", &["system", "user", "global"])
        .default("system")
        .doc("`user`: the account's own systemd user manager; `global` is refused")
        .ansible(&["scope"]),
]];

/// Builds a `service` from its arguments.
pub(super) fn build(args: &Node, cx: &BuildContext<'_>) -> Result<Service> {
    let f = Fields::declared(args, "`service`", ARGS)?;
    let name_node = f.require("name")?;
    let name = f.required_string("name")?;
    let ok = |c: char| c.is_ascii_alphanumeric() || "@._:-".contains(c);
    if name.is_empty() || name.starts_with('-') || !name.chars().all(ok) {
        return Err(Error::invalid(
            format!("`{name}` is not a service name (letters, digits, `@._:-`)"),
            &name_node.span,
        )
        .with_label("invalid service name"));
    }
    let want = match f.get("state") {
        None => None,
        Some(_) => Some(
            match super::args::state(&f, &["started", "stopped", "restarted", "reloaded"])? {
                "stopped" => Want::Stopped,
                "restarted" => Want::Restarted,
                "reloaded" => Want::Reloaded,
                _ => Want::Started,
            },
        ),
    };
    let enabled = f.boolean("enabled")?;
    let masked = f.boolean("masked")?;
    let daemon_reload = f.flag("daemon_reload")?;
    let user_scope =
        match f.get("scope") {
            None => false,
            Some(node) => match super::args::state_of(&f, "scope", &["system", "user", "global"])? {
                "user" => true,
                "global" => return Err(Error::invalid(
                    "`scope: global` (a unit enabled for every account) is not supported by recon",
                    &node.span,
                )
                .with_label("use `scope: user` as each account, or `scope: system`")),
                _ => false,
            },
        };
    if want.is_none() && enabled.is_none() && masked.is_none() {
        return Err(f.missing("state`, `enabled` or `masked"));
    }
    let runs = want.is_some_and(|w| w != Want::Stopped) || enabled == Some(true);
    if let (Some(true), true, Some(node)) = (masked, runs, f.get("masked")) {
        return Err(Error::invalid(
            "a masked unit can be neither running nor enabled: systemd refuses to start it",
            &node.span,
        )
        .with_label("masked here"));
    }
    Ok(Service {
        name,
        want,
        enabled,
        masked,
        daemon_reload,
        user_scope,
        become_user: cx.become_user.map(str::to_owned),
    })
}

/// Which init system answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Manager {
    Systemd,
    SysV,
}

/// What the probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observed {
    pub(crate) manager: Manager,
    /// `None`: the service does not exist.
    pub(crate) running: Option<bool>,
    pub(crate) enabled: bool,
    /// systemd says `masked` (or `masked-runtime`).
    pub(crate) masked: bool,
}

/// Parses the probe's `manager`, `active`/`status` and `enabled` lines.
pub(crate) fn parse(out: &str) -> Observed {
    let mut o = Observed {
        manager: Manager::SysV,
        running: None,
        enabled: false,
        masked: false,
    };
    for line in out.lines() {
        let (tag, value) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "manager" => {
                o.manager = if value == "systemd" {
                    Manager::Systemd
                } else {
                    Manager::SysV
                };
            }
            // systemctl is-active: `unknown`/empty for a unit that does not exist.
            "active" => {
                o.running = match value {
                    "active" | "reloading" | "activating" => Some(true),
                    "inactive" | "failed" | "deactivating" => Some(false),
                    _ => None,
                };
            }
            "is-enabled" => {
                o.enabled = matches!(
                    value,
                    "enabled" | "enabled-runtime" | "static" | "alias" | "indirect" | "generated"
                );
                o.masked = matches!(value, "masked" | "masked-runtime");
                // systemd answers `inactive` for a unit it has no file for; no unit file
                // state (empty, `not-found`) is what says the unit does not exist.
                if value.is_empty() || value == "not-found" {
                    o.running = None;
                } else if o.running.is_none() {
                    o.running = Some(false);
                }
            }
            // LSB: `status` exits 0 when running, 1-3 when not; no script → no line.
            "status" => o.running = Some(value == "0"),
            "enabled" => o.enabled = value == "yes",
            _ => {}
        }
    }
    o
}

/// What to do to the running state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    Start,
    Stop,
    Restart,
    Reload,
}

impl Act {
    fn verb(self) -> &'static str {
        match self {
            Act::Start => "start",
            Act::Stop => "stop",
            Act::Restart => "restart",
            Act::Reload => "reload",
        }
    }
}

/// The decision table: want × running × notified (× watched) → at most one action.
pub(crate) fn act(want: Want, running: bool, triggered: bool, watched: bool) -> Option<Act> {
    let bounce = triggered || !watched;
    match want {
        Want::Stopped => running.then_some(Act::Stop),
        _ if !running => Some(Act::Start),
        Want::Started => triggered.then_some(Act::Restart),
        Want::Restarted => bounce.then_some(Act::Restart),
        Want::Reloaded => bounce.then_some(Act::Reload),
    }
}

/// The step: one action on the running state and/or the boot setting.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    manager: Manager,
    /// The probe's lines about who answered (all but `active`/`is-enabled`): kept in the
    /// prediction a later step of the same unit decides from.
    header: String,
    act: Option<Act>,
    enable: Option<bool>,
    mask: Option<bool>,
    /// Where the probe's answer is, and whether it runs / is enabled after this step.
    handle: Handle<CommandOutput>,
    running_after: bool,
    enabled_after: bool,
    masked_after: bool,
}

/// Where unit files are written: by an administrator (`/etc`) or as a package ships them.
const UNIT_DIRS: [&str; 3] = [
    "/etc/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// Whether a service starts at boot.
const ENABLED: Field = Field::new("enabled");
/// Whether systemd refuses to start the unit at all (`masked`).
const MASKED: Field = Field::new("masked");

impl Resource for Service {
    /// The manager's answer, and the unit's file in each folder its manager reads units from
    /// that a play may write (an earlier task of the plan may write one).
    type Asked = (Handle<CommandOutput>, Vec<(String, Handle<PathState>)>);
    type Decision = Decision;
    const FIELDS: &'static [Field] = &[ENABLED, MASKED];

    fn id(&self) -> String {
        self.name.clone()
    }

    fn claims(&self) -> Vec<Claim> {
        // `restarted`/`reloaded` leave it running as `started` does: they agree with it.
        let running = self
            .want
            .map(|w| if w == Want::Stopped { "no" } else { "yes" });
        // A user unit is the account's own (`~/` claims are per connecting account).
        let (kind, value) = match (self.user_scope, &self.become_user) {
            (false, _) => ("service", self.name.clone()),
            (true, None) => ("user service", format!("~/{}", self.name)),
            (true, Some(user)) => ("user service", format!("~{user}/{}", self.name)),
        };
        vec![
            Claim::new(ClaimKind::Other(kind.to_owned()), value).wanting([
                ("running", running.map(str::to_owned)),
                ("enabled", self.enabled.map(|e| e.to_string())),
                ("masked", self.masked.map(|m| m.to_string())),
            ]),
        ]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        let answer = facts.output(if self.user_scope {
            user_manager::probe(&self.name, self.become_user.as_deref())
        } else {
            self.system_probe()
        });
        let dirs = self.unit_dirs();
        let files = dirs.iter().map(|dir| {
            let file = self.unit_file(dir);
            let handle = facts.path(&file, PathWant::Never);
            (file, handle)
        });
        (answer, files.collect())
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let out = &facts.get(asked.0).stdout;
        let o = parse(out);
        if self.user_scope {
            let keeps_running =
                self.want.is_some_and(|w| w != Want::Stopped) || self.enabled == Some(true);
            let manager = UserManager::parse(out);
            let refusal = match o.manager {
                Manager::SysV if !manager.account.is_empty() => Some(Problem::new(
                    "`scope: user` needs systemd, which is not running here",
                )),
                _ => manager.refusal(keeps_running, self.become_user.as_deref()),
            };
            if let Some(problem) = refusal {
                return Err(problem);
            }
        }
        let unit_written = asked
            .1
            .iter()
            .find(|(_, h)| facts.get(*h).kind == PathKind::File)
            .map(|(file, _)| file.clone());
        // A unit systemd does not know yet that an earlier step writes, or may bring (a
        // package a bridged module installs), is known after apply.
        let unknown_unit = o.manager == Manager::Systemd && o.running.is_none();
        let after = match (&unit_written, facts.unseen()) {
            (Some(file), _) => Some(format!(
                "its unit file `{file}` is written earlier in this plan"
            )),
            (None, Some(step)) => Some(format!("{step}, earlier in this plan, may bring the unit")),
            (None, None) => None,
        }
        .filter(|_| unknown_unit);
        let known_after_apply = after.is_some();
        let Some(running) = o.running.or(known_after_apply.then_some(false)) else {
            return Err(Problem::new(match o.manager {
                Manager::Systemd => format!("systemd knows no unit `{}`", self.name),
                Manager::SysV => format!(
                    "no init script `/etc/init.d/{}` (and systemd is not running)",
                    self.name
                ),
            }));
        };
        let action = self
            .want
            .and_then(|want| act(want, running, situation.triggered, situation.watched));
        let enable = self.enabled.filter(|e| *e != o.enabled);
        let mask = self.masked.filter(|m| *m != o.masked);
        if mask.is_some() && o.manager == Manager::SysV {
            return Err(Problem::new(format!(
                "`masked` needs systemd, which is not running here (`{}` has an init script)",
                self.name
            )));
        }
        if action.is_none() && enable.is_none() && mask.is_none() {
            return Ok(None);
        }
        let mut change = Change::new(if action.is_some() {
            Action::Run
        } else {
            Action::Update
        });
        let word = |r: bool| if r { "running" } else { "stopped" };
        if let Some(a) = action {
            let after = match a {
                Act::Stop => "stopped",
                Act::Start => "running",
                Act::Restart => "running (restarted)",
                Act::Reload => "running (reloaded)",
            };
            change = change.field(
                Field::STATE,
                Some(word(running).to_owned()),
                Some(after.to_owned()),
            );
            if matches!(a, Act::Restart | Act::Reload) && situation.triggered {
                change = change.reason("a task it watches changed");
            }
        }
        if let Some(why) = after {
            change = change.reason(format!("known after apply: {why}"));
        }
        let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
        if let Some(e) = enable {
            change = change.field(ENABLED, Some(yes(o.enabled)), Some(yes(e)));
        }
        if let Some(m) = mask {
            change = change.field(MASKED, Some(yes(o.masked)), Some(yes(m)));
        }
        Ok(Some((
            change,
            Decision {
                manager: o.manager,
                header: header(out),
                act: action,
                enable,
                mask,
                handle: asked.0,
                running_after: action.map_or(running, |a| a != Act::Stop),
                enabled_after: enable.unwrap_or(o.enabled),
                masked_after: mask.unwrap_or(o.masked),
            },
        )))
    }

    fn predict(&self, d: &Decision, _: &FactSet, facts: &mut Facts) {
        facts.predict_output(d.handle, Self::predicted(d));
    }

    fn script(&self, d: &Decision, out: &mut Script) {
        out.fill("_n={}\n", [w(&self.name)]);
        if d.manager == Manager::Systemd {
            // `_sc`/`_jl`: systemctl and the unit's journal, of PID 1 or of the account's manager.
            out.code(if self.user_scope {
                user_manager::STEP_PRELUDE
            } else {
                "_sc() { systemctl \"$@\"; }\n_jl() { journalctl -u \"$_n\" -n 10 --no-pager -o cat 2>&1; }\n"
            });
            // Before enabling or acting: a changed unit file must be what starts.
            if self.daemon_reload {
                out.code("_sc daemon-reload || exit 1\n");
            } else {
                out.code("[ \"$(_sc show -p NeedDaemonReload --value -- \"$_n\" 2>/dev/null)\" != yes ] || _sc daemon-reload || exit 1\n");
            }
            // Unmasked before anything may enable or start it.
            if d.mask == Some(false) {
                out.code("_sc unmask -- \"$_n\" || exit 1\n");
            }
        }
        match (d.manager, d.enable) {
            (Manager::Systemd, Some(true)) => out.code("_sc enable -- \"$_n\" || exit 1\n"),
            (Manager::Systemd, Some(false)) => out.code("_sc disable -- \"$_n\" || exit 1\n"),
            (Manager::SysV, Some(true)) => out.code(
                "update-rc.d \"$_n\" defaults >/dev/null && update-rc.d \"$_n\" enable >/dev/null || exit 1\n",
            ),
            (Manager::SysV, Some(false)) => {
                out.code("update-rc.d \"$_n\" disable >/dev/null || exit 1\n")
            }
            (_, None) => out,
        };
        if let Some(a) = d.act {
            out.fill("_a={}\n", [w(a.verb())]);
            out.code(match d.manager {
                Manager::Systemd => "_sc \"$_a\" -- \"$_n\" || { printf '%s %s failed\\n' \"$_n\" \"$_a\"; _sc status --no-pager -l -n 0 -- \"$_n\" 2>&1 | head -n 12; printf -- '--- last journal lines\\n'; _jl; exit 1; }\n",
                // Daemons an init script starts inherit its open files: not the step's
                // output (nobody would see its end) and not the apply's lock (fd 9) or a
                // `serialize` lock (fd 8), which they would hold for their whole life.
                Manager::SysV => "\"/etc/init.d/$_n\" \"$_a\" </dev/null >/dev/null 2>&1 8>&- 9>&- || { printf '%s %s failed\\n' \"$_n\" \"$_a\"; exit 1; }\n",
            });
        }
        // Masked once it is stopped (and disabled), so nothing starts it again.
        if d.mask == Some(true) {
            out.code("_sc mask -- \"$_n\" || exit 1\n");
        }
    }
}

/// The probe's lines other than the unit's state (`manager`, and the user scope's account,
/// lingering and manager lines).
fn header(out: &str) -> String {
    let lines = out.lines().filter(|l| {
        let tag = l.split_once(' ').map_or(*l, |(tag, _)| tag);
        !matches!(tag, "active" | "is-enabled" | "status" | "enabled")
    });
    lines.fold(String::new(), |mut all, line| {
        all.push_str(line);
        all.push('\n');
        all
    })
}

impl Service {
    /// The system scope's probe: PID 1's answers, or the init script's.
    fn system_probe(&self) -> Script {
        let mut s = Script::new();
        s.fill("_n={}\n", [w(&self.name)]).code(
            "if [ -d /run/systemd/system ]; then\n  echo 'manager systemd'\n  printf 'active %s\\n' \"$(systemctl is-active -- \"$_n\" 2>/dev/null)\"\n  printf 'is-enabled %s\\n' \"$(systemctl is-enabled -- \"$_n\" 2>/dev/null)\"\nelse\n  echo 'manager sysv'\n  if [ -x \"/etc/init.d/$_n\" ]; then \"/etc/init.d/$_n\" status >/dev/null 2>&1 </dev/null; printf 'status %s\\n' $?; fi\n  if ls /etc/rc[2345].d/S[0-9][0-9]\"$_n\" >/dev/null 2>&1; then echo 'enabled yes'; else echo 'enabled no'; fi\nfi",
        );
        s
    }

    /// The folders this scope's manager reads unit files from that a play may write.
    fn unit_dirs(&self) -> Vec<&'static str> {
        if self.user_scope {
            user_manager::unit_dirs(self.become_user.as_deref())
        } else {
            UNIT_DIRS.to_vec()
        }
    }

    /// The unit's file in `dir` (one of `unit_dirs`): `DIR/NAME`, with `.service` added when
    /// the name has no unit suffix.
    fn unit_file(&self, dir: &str) -> String {
        if self.name.contains('.') {
            format!("{dir}/{}", self.name)
        } else {
            format!("{dir}/{}.service", self.name)
        }
    }

    /// The probe's answer after a step: what a later step (a handler) decides from.
    fn predicted(d: &Decision) -> CommandOutput {
        let stdout = match d.manager {
            Manager::Systemd => format!(
                "{}active {}\nis-enabled {}",
                d.header,
                if d.running_after {
                    "active"
                } else {
                    "inactive"
                },
                if d.masked_after {
                    "masked"
                } else if d.enabled_after {
                    "enabled"
                } else {
                    "disabled"
                }
            ),
            Manager::SysV => format!(
                "{}status {}\nenabled {}",
                d.header,
                if d.running_after { 0 } else { 3 },
                if d.enabled_after { "yes" } else { "no" }
            ),
        };
        CommandOutput { status: 0, stdout }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::decide_in;

    #[test]
    fn decision_table_acts_at_most_once() {
        use Want::{Reloaded, Restarted, Started, Stopped};
        assert_eq!(act(Started, false, false, false), Some(Act::Start));
        assert_eq!(act(Started, true, false, true), None);
        assert_eq!(act(Started, true, true, true), Some(Act::Restart));
        assert_eq!(
            act(Started, false, true, true),
            Some(Act::Start),
            "never start + restart"
        );
        assert_eq!(
            act(Restarted, true, false, true),
            None,
            "watched, not notified"
        );
        assert_eq!(act(Restarted, true, true, true), Some(Act::Restart));
        assert_eq!(
            act(Restarted, true, false, false),
            Some(Act::Restart),
            "like Ansible"
        );
        assert_eq!(act(Reloaded, true, true, true), Some(Act::Reload));
        assert_eq!(act(Stopped, true, true, true), Some(Act::Stop));
        assert_eq!(act(Stopped, false, false, false), None);
    }

    fn answer(text: &str) -> Vec<FactValue> {
        answer_with_unit(text, PathKind::Absent)
    }

    /// The probe's answer plus the state of the unit's file in `/etc/systemd/system`.
    fn answer_with_unit(text: &str, unit: PathKind) -> Vec<FactValue> {
        vec![
            FactValue::Output(CommandOutput {
                status: 0,
                stdout: text.to_owned(),
            }),
            // In `/etc/systemd/system`; not in the package folders.
            FactValue::Path(PathState {
                kind: unit,
                ..PathState::default()
            }),
            FactValue::Path(PathState::default()),
            FactValue::Path(PathState::default()),
        ]
    }

    #[test]
    fn a_unit_whose_file_an_earlier_task_writes_is_known_after_apply() {
        let s = Service {
            name: "app".into(),
            want: Some(Want::Started),
            enabled: None,
            masked: None,
            daemon_reload: false,
            user_scope: false,
            become_user: None,
        };
        let unknown = "manager systemd\nactive inactive\nis-enabled \n";
        let (change, d) = decide_in(
            &s,
            answer_with_unit(unknown, PathKind::File),
            Situation::default(),
        )
        .expect("ok")
        .expect("change");
        assert_eq!(d.act, Some(Act::Start));
        assert!(change
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("known after apply")));
        assert!(decide_in(&s, answer(unknown), Situation::default()).is_err());
    }

    #[test]
    fn a_unit_an_earlier_unseen_step_may_bring_is_known_after_apply() {
        let s = Service {
            name: "loki".into(),
            want: Some(Want::Started),
            enabled: None,
            masked: None,
            daemon_reload: false,
            user_scope: false,
            become_user: None,
        };
        let mut set = FactSet::default();
        let asked = s.ask(&mut set);
        let mut facts = Facts::answered(answer("manager systemd\nactive inactive\nis-enabled \n"));
        assert!(s.decide(&asked, &facts, Situation::default()).is_err());
        facts.predict_unseen("installing loki".to_owned());
        let (change, d) = s
            .decide(&asked, &facts, Situation::default())
            .expect("ok")
            .expect("change");
        assert_eq!(d.act, Some(Act::Start));
        assert!(
            change.reason.as_deref().is_some_and(|r| r.contains(
                "known after apply: installing loki, earlier in this plan, may bring the unit"
            )),
            "{change:?}"
        );
    }

    #[test]
    fn systemd_answers_decide_like_init_scripts() {
        let s = Service {
            name: "nginx".into(),
            want: Some(Want::Started),
            enabled: Some(true),
            masked: None,
            daemon_reload: false,
            user_scope: false,
            become_user: None,
        };
        let sd = answer("manager systemd\nactive inactive\nis-enabled disabled\n");
        let (change, d) = decide_in(&s, sd, Situation::default())
            .expect("ok")
            .expect("change");
        assert_eq!(d.manager, Manager::Systemd);
        assert_eq!((d.act, d.enable), (Some(Act::Start), Some(true)));
        assert_eq!(change.fields[0].before.as_deref(), Some("stopped"));
        let up = answer("manager systemd\nactive active\nis-enabled enabled\n");
        assert!(decide_in(&s, up, Situation::default())
            .expect("ok")
            .is_none());
        let sysv = answer("manager sysv\nstatus 3\nenabled no\n");
        let (_, d) = decide_in(&s, sysv, Situation::default())
            .expect("ok")
            .expect("change");
        assert_eq!((d.manager, d.act), (Manager::SysV, Some(Act::Start)));
        let missing = answer("manager systemd\nactive unknown\nis-enabled \n");
        assert!(decide_in(&s, missing, Situation::default()).is_err());
        assert!(decide_in(
            &s,
            answer("manager sysv\nenabled no\n"),
            Situation::default()
        )
        .is_err());
    }

    #[test]
    fn masking_stops_first_and_unmasking_comes_before_the_start() {
        let mut s = Service {
            name: "hello".into(),
            want: Some(Want::Stopped),
            enabled: None,
            masked: Some(true),
            daemon_reload: false,
            user_scope: false,
            become_user: None,
        };
        let running = answer("manager systemd\nactive active\nis-enabled enabled\n");
        let (change, d) = decide_in(&s, running, Situation::default())
            .expect("ok")
            .expect("change");
        assert_eq!((d.act, d.mask), (Some(Act::Stop), Some(true)));
        assert!(change.fields.iter().any(|f| f.field == MASKED));
        let mut script = Script::new();
        s.script(&d, &mut script);
        let text = script.as_str();
        let (stop, mask) = (
            text.find("_sc \"$_a\"").expect("act"),
            text.find("_sc mask").expect("mask"),
        );
        assert!(stop < mask, "{text}");
        assert_eq!(
            Service::predicted(&d).stdout,
            "manager systemd\nactive inactive\nis-enabled masked"
        );
        let masked = answer("manager systemd\nactive inactive\nis-enabled masked\n");
        assert!(decide_in(&s, masked.clone(), Situation::default())
            .expect("ok")
            .is_none());
        s.want = Some(Want::Started);
        s.masked = Some(false);
        let (_, d) = decide_in(&s, masked, Situation::default())
            .expect("ok")
            .expect("change");
        let mut script = Script::new();
        s.script(&d, &mut script);
        let text = script.as_str();
        let (unmask, start) = (
            text.find("_sc unmask").expect("unmask"),
            text.find("_sc \"$_a\"").expect("act"),
        );
        assert!(unmask < start, "{text}");
        // Without systemd nothing can be masked; "unmasked" already holds.
        let sysv = || answer("manager sysv\nstatus 3\nenabled no\n");
        s.want = Some(Want::Stopped);
        assert!(decide_in(&s, sysv(), Situation::default())
            .expect("ok")
            .is_none());
        s.masked = Some(true);
        assert!(decide_in(&s, sysv(), Situation::default()).is_err());
    }
}
