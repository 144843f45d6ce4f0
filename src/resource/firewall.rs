//! `firewall:` ufw on the host, one of three things per task:
//! - a rule: `{ rule: allow|deny|reject|limit, port, proto, from, to, direction: in|out,
//!   comment, app, delete }` (`app`: an application profile, as `ufw allow app NAME`);
//! - ufw itself: `{ state: enabled|disabled|reset }`;
//! - a default policy: `{ policy: allow|deny|reject, direction: incoming|outgoing|routed }`;
//! - logging: `{ logging: on|off|low|medium|high|full }` (`LOGLEVEL` in /etc/ufw/ufw.conf).
//!
//! Whether a rule exists is asked of ufw itself, read-only: `ufw --dry-run RULE` says "Skipping
//! adding existing rule" exactly when ufw would not add it (its own matching, comment included),
//! so recon never re-implements ufw's rule syntax. State and policies come from `ufw status` and
//! `/etc/default/ufw`. Where the kernel refuses iptables (a container without `CAP_NET_ADMIN`),
//! planning fails with a message that says so instead of a half-applied firewall.
//!
//! Over SSH, a task whose result refuses new connections to the session's SSH port from its
//! peer (ufw enabled or a default policy with no rule letting it in, a deny of the port or the
//! peer, a `reset` that takes away the rule the next `enable` needs) is refused at plan time
//! unless it says `allow_lockout: true` (see `door/`); each task's effect on the rule set is
//! predicted for the firewall tasks after it.

use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Sharing, Situation};
use crate::door::Ufw;
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::Script;
use crate::yaml::Node;

/// What one `firewall` task manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Firewall {
    /// A rule, as ufw's arguments (`allow in from any to any port 22 proto tcp`).
    Rule { words: Vec<String>, delete: bool },
    /// ufw on (`true`) or off.
    State(bool),
    /// `ufw --force reset`: off, every user rule gone.
    Reset,
    /// `ufw default POLICY DIRECTION`.
    Policy { policy: String, direction: String },
    /// `ufw logging LEVEL` (`on` is any level but `off`; ufw makes it `low` when it was off).
    Logging(String),
}

/// The arguments `firewall` takes (also what an Ansible `ufw` task with nothing to manage is
/// checked against).
/// The arguments of `firewall`: exactly one of `rule`, `state`, `policy`, `logging`.
pub(crate) const ARGS: Groups = &[&[
    Arg::one_of("rule", &["allow", "deny", "reject", "limit"])
        .doc("a ufw rule")
        .ansible(&["rule"]),
    Arg::str("port")
        .doc("rule: the destination port or range")
        .ansible(&["to_port", "port"]),
    Arg::str("proto")
        .doc("rule: `tcp`, `udp`, `any`, ...")
        .ansible(&["proto", "protocol"]),
    Arg::str("from")
        .default("any")
        .doc("rule: the source address or network")
        .ansible(&["from_ip", "from", "src"]),
    Arg::str("to")
        .default("any")
        .doc("rule: the destination address or network")
        .ansible(&["to_ip", "to", "dest"]),
    Arg::str("direction")
        .doc("rule: `in`/`out`; policy: `incoming`/`outgoing`/`routed`")
        .ansible(&["direction"]),
    Arg::str("comment")
        .doc("rule: ufw's comment")
        .ansible(&["comment"]),
    Arg::str("app")
        .doc("rule: an application profile of `ufw app list`")
        .ansible(&["name", "app"]),
    Arg::bool("delete")
        .default("false")
        .doc("rule: removed instead of added")
        .ansible(&["delete"]),
    Arg::one_of("state", &["enabled", "disabled", "reset"])
        .doc("ufw on, off, or reset")
        .ansible(&["state"]),
    Arg::one_of("policy", &["allow", "deny", "reject"])
        .doc("the default policy for `direction`")
        .ansible(&["policy", "default"]),
    Arg::str("logging")
        .doc("`on`/`off`/`low`/`medium`/`high`/`full`")
        .ansible(&["logging"]),
]];

fn one_of(f: &Fields<'_>, key: &str, allowed: &[&str], default: &str) -> Result<String> {
    match f.string(key)? {
        None => Ok(default.to_owned()),
        Some(v) if allowed.contains(&v.as_str()) => Ok(v),
        Some(v) => Err(Error::invalid(
            format!(
                "`{key}` must be one of {}, not `{v}`",
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &f.require(key)?.span,
        )
        .suggest(&v, allowed.iter().copied())),
    }
}

/// Builds a `firewall` task from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Firewall> {
    let f = Fields::declared(args, "`firewall`", ARGS)?;
    let given: Vec<&str> = ["rule", "state", "policy", "logging"]
        .into_iter()
        .filter(|k| f.get(k).is_some())
        .collect();
    if given.len() != 1 {
        return Err(Error::invalid(
            "a `firewall` task manages exactly one of `rule`, `state`, `policy` or `logging`",
            &args.span,
        ));
    }
    let rule_only = ["port", "proto", "from", "to", "comment", "app", "delete"];
    if given[0] != "rule" {
        if let Some(key) = rule_only.iter().find(|k| f.get(k).is_some()) {
            return Err(Error::invalid(
                format!("`{key}` only applies to a `rule`"),
                &f.require(key)?.span,
            ));
        }
    }
    match given[0] {
        "state" => {
            if let Some(node) = f.get("direction") {
                return Err(Error::invalid(
                    "`direction` does not apply to `state`",
                    &node.span,
                ));
            }
            match one_of(&f, "state", &["enabled", "disabled", "reset"], "enabled")?.as_str() {
                "reset" => Ok(Firewall::Reset),
                state => Ok(Firewall::State(state == "enabled")),
            }
        }
        "logging" => {
            if let Some(node) = f.get("direction") {
                return Err(Error::invalid(
                    "`direction` does not apply to `logging`",
                    &node.span,
                ));
            }
            // YAML 1.1 readers (Ansible's) take a bare `on`/`off` for a boolean.
            let level = match f.boolean("logging") {
                Ok(Some(on)) => if on { "on" } else { "off" }.to_owned(),
                _ => one_of(
                    &f,
                    "logging",
                    &["on", "off", "low", "medium", "high", "full"],
                    "on",
                )?,
            };
            Ok(Firewall::Logging(level))
        }
        "policy" => Ok(Firewall::Policy {
            policy: one_of(&f, "policy", &["allow", "deny", "reject"], "deny")?,
            direction: one_of(
                &f,
                "direction",
                &["incoming", "outgoing", "routed"],
                "incoming",
            )?,
        }),
        _ => rule(&f),
    }
}

fn rule(f: &Fields<'_>) -> Result<Firewall> {
    let action = one_of(f, "rule", &["allow", "deny", "reject", "limit"], "allow")?;
    let direction = one_of(f, "direction", &["in", "out"], "in")?;
    let proto = one_of(
        f,
        "proto",
        &["any", "tcp", "udp", "ah", "esp", "gre", "ipv6", "igmp"],
        "any",
    )?;
    let mut words = vec![
        action,
        direction,
        "from".to_owned(),
        f.text("from")?,
        "to".to_owned(),
        f.text("to")?,
    ];
    if let Some(port) = f.string("port")? {
        if port.is_empty()
            || !port
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == ',')
        {
            return Err(Error::invalid(
                format!("`port` must be a port, a range `a:b` or a list `a,b`, not `{port}`"),
                &f.require("port")?.span,
            ));
        }
        words.extend(["port".to_owned(), port]);
    }
    if proto != "any" {
        words.extend(["proto".to_owned(), proto]);
    }
    // An application profile (`ufw app list`): ufw's own syntax `... to any app NAME`.
    if let Some(app) = f.string("app")? {
        if app.is_empty() || app.contains(['\n', '\r']) {
            return Err(Error::invalid(
                "`app` must be an application profile name",
                &f.require("app")?.span,
            ));
        }
        words.extend(["app".to_owned(), app]);
    }
    if let Some(comment) = f.string("comment")? {
        // ufw refuses `'` (it quotes comments with it) and stores one rule per line.
        if comment.contains(['\'', '\n', '\r']) {
            return Err(Error::invalid(
                "`comment` must not contain `'` or line breaks (ufw refuses them)",
                &f.require("comment")?.span,
            ));
        }
        words.extend(["comment".to_owned(), comment]);
    }
    Ok(Firewall::Rule {
        words,
        delete: f.flag("delete")?,
    })
}

/// The probe's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Observed {
    /// ufw is not installed.
    pub(crate) missing: bool,
    /// What ufw or iptables said when they could not run (not root, kernel refused).
    pub(crate) error: Option<String>,
    pub(crate) active: bool,
    /// `incoming deny`, … from /etc/default/ufw.
    pub(crate) policies: Vec<(String, String)>,
    /// The rule exists (ufw would skip adding it).
    pub(crate) exists: bool,
    /// `LOGLEVEL` from /etc/ufw/ufw.conf (`off`, `low`, …; empty when unset).
    pub(crate) logging: String,
}

/// Parses the probe's lines.
pub(crate) fn parse(output: &str) -> Observed {
    let mut o = Observed::default();
    for line in output.lines() {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "missing" => o.missing = true,
            "error" => o.error = Some(crate::text::from_base64(rest).trim().to_owned()),
            "status" => o.active = rest.trim() == "active",
            "policy" => {
                if let Some((direction, policy)) = rest.split_once(' ') {
                    o.policies.push((direction.to_owned(), policy.to_owned()));
                }
            }
            "exists" => o.exists = true,
            "logging" => rest.trim().clone_into(&mut o.logging),
            _ => {}
        }
    }
    o
}

/// Explains why ufw could not run, telling the kernel's refusal apart from a missing `become`.
pub(crate) fn explain(error: &str) -> String {
    if error.contains("need to be root") {
        format!("ufw must run as root (connect as root or set `become: true`): {error}")
    } else if error.contains("Permission denied")
        || error.contains("Operation not permitted")
        || error.contains("initcaps")
        || error.contains("can't initialize")
    {
        format!(
            "the kernel refuses firewall changes on this host (no iptables/nftables permission, \
             e.g. a container without CAP_NET_ADMIN); ufw cannot be managed here: {error}"
        )
    } else {
        format!("ufw cannot run: {error}")
    }
}

/// ufw's default file names the policy by chain (`DEFAULT_INPUT_POLICY="DROP"`); the probe maps
/// them to ufw's words (`incoming deny`).
const POLICIES: &str = "sed -n 's/^DEFAULT_\\(INPUT\\|OUTPUT\\|FORWARD\\)_POLICY=\"\\{0,1\\}\\([A-Z]*\\)\"\\{0,1\\}$/\\1 \\2/p' /etc/default/ufw 2>/dev/null \\\n\
\x20 | sed -e 's/^INPUT/incoming/' -e 's/^OUTPUT/outgoing/' -e 's/^FORWARD/routed/' -e 's/DROP$/deny/' -e 's/ACCEPT$/allow/' -e 's/REJECT$/reject/' \\\n\
\x20 | sed 's/^/policy /'\n";

impl Firewall {
    fn probe(&self) -> Script {
        let mut s = Script::new();
        s.code(
            "PATH=$PATH:/usr/sbin:/sbin\n\
             command -v ufw >/dev/null 2>&1 || { echo missing; exit 0; }\n\
             if ! _e=$(ufw status 2>&1) || ! _i=$(iptables -S INPUT 2>&1 >/dev/null); then\n\
             \x20 printf 'error '; printf '%s %s' \"$_e\" \"$_i\" | base64 -w0; echo; exit 0\n\
             fi\n\
             case $_e in 'Status: active'*) echo 'status active';; *) echo 'status inactive';; esac\n",
        );
        s.code(POLICIES);
        if let Firewall::Logging(_) = self {
            s.code("printf 'logging %s\\n' \"$(sed -n 's/^LOGLEVEL=//p' /etc/ufw/ufw.conf 2>/dev/null)\"\n");
        }
        if let Firewall::Rule { words, .. } = self {
            s.code("case $(ufw --dry-run");
            s.words(words.iter().map(String::as_str));
            s.code(" 2>&1) in *'Skipping adding existing rule'*) echo exists;; esac\n");
        }
        s
    }
}

/// What the apply runs (the script is the task's own); where the rule set it leaves is
/// predicted for the firewall tasks after it.
#[derive(Debug)]
pub(crate) struct Decision {
    ufw: Handle<CommandOutput>,
}

/// The task's own facts, the door's and ufw's rule set (shared by the host's firewall tasks).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked {
    own: Handle<CommandOutput>,
    door: Handle<CommandOutput>,
    ufw: Handle<CommandOutput>,
}

impl Firewall {
    /// ufw's rule set once this task ran.
    fn after(&self, before: &Ufw) -> Ufw {
        let mut after = before.clone();
        match self {
            Firewall::Rule { words, delete } => after.apply_rule(words, *delete),
            Firewall::State(on) => after.active = *on,
            Firewall::Reset => {
                after.active = false;
                after.rules.clear();
            }
            Firewall::Policy { policy, direction } => {
                if direction == "incoming" {
                    policy.clone_into(&mut after.incoming);
                }
            }
            Firewall::Logging(_) => {}
        }
        after
    }
}

/// One ufw rule.
const RULE: Field = Field::new("rule");
/// A ufw default policy.
const POLICY: Field = Field::new("policy");
/// ufw's log level (`logging`).
const LOGGING: Field = Field::new("logging");

impl Resource for Firewall {
    type Asked = Asked;
    type Decision = Decision;
    const FIELDS: &'static [Field] = &[RULE, POLICY, LOGGING];

    fn id(&self) -> String {
        match self {
            Firewall::Rule { words, .. } => words.join(" "),
            Firewall::State(_) | Firewall::Reset => "ufw".to_owned(),
            Firewall::Policy { direction, .. } => format!("default {direction}"),
            Firewall::Logging(_) => "logging".to_owned(),
        }
    }

    fn claims(&self) -> Vec<Claim> {
        // Rules of one host are edited in graph order; ufw's on/off and each policy once.
        let claim = |value: String| Claim::new(ClaimKind::Other("firewall".to_owned()), value);
        vec![match self {
            // A reset rewrites the rule set (and turns ufw off): ordered with the rules.
            Firewall::Rule { .. } | Firewall::Reset => {
                claim("rules".to_owned()).shared(Sharing::Ordered)
            }
            Firewall::State(on) => {
                claim("state".to_owned()).wanting([("enabled", Some(on.to_string()))])
            }
            Firewall::Policy { direction, policy } => {
                claim(format!("policy {direction}")).wanting([("policy", Some(policy.clone()))])
            }
            Firewall::Logging(level) => {
                claim("logging".to_owned()).wanting([("level", Some(level.clone()))])
            }
        }]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        Asked {
            own: facts.output(self.probe()),
            door: crate::door::ask(facts),
            ufw: Ufw::ask(facts),
        }
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let o = parse(&facts.get(asked.own).stdout);
        if o.missing {
            return Err(Problem::new(
                "ufw is not installed on the host (install the `ufw` package first)",
            ));
        }
        if let Some(error) = &o.error {
            return Err(Problem::new(explain(error)));
        }
        let change = match self {
            Firewall::Rule { words, delete } => {
                let text = words.join(" ");
                match (o.exists, delete) {
                    (false, false) => Change::new(Action::Create).field(RULE, None, Some(text)),
                    (true, true) => Change::new(Action::Delete).field(RULE, Some(text), None),
                    _ => return Ok(None),
                }
            }
            Firewall::State(on) => {
                if o.active == *on {
                    return Ok(None);
                }
                let word = |active: bool| if active { "active" } else { "inactive" };
                Change::new(Action::Update).field(
                    Field::STATE,
                    Some(word(o.active).to_owned()),
                    Some(word(*on).to_owned()),
                )
            }
            Firewall::Policy { policy, direction } => {
                let now = o
                    .policies
                    .iter()
                    .find(|(d, _)| d == direction)
                    .map(|(_, p)| p.clone());
                if now.as_deref() == Some(policy.as_str()) {
                    return Ok(None);
                }
                Change::new(Action::Update).field(POLICY, now, Some(policy.clone()))
            }
            Firewall::Logging(level) => {
                let now = if o.logging.is_empty() {
                    "off"
                } else {
                    o.logging.as_str()
                };
                let holds = match level.as_str() {
                    "on" => now != "off",
                    level => now == level,
                };
                if holds {
                    return Ok(None);
                }
                Change::new(Action::Update).field(
                    LOGGING,
                    Some(now.to_owned()),
                    Some(level.clone()),
                )
            }
            Firewall::Reset => {
                let before = Ufw::read(facts, asked.ufw);
                if !o.active && before.rules.is_empty() {
                    return Ok(None);
                }
                Change::new(Action::Update).field(
                    Field::STATE,
                    Some(format!(
                        "{}, {} rules",
                        if o.active { "active" } else { "inactive" },
                        before.rules.len()
                    )),
                    Some("reset: inactive, no rules".to_owned()),
                )
            }
        };
        let change = match crate::door::read(facts, asked.door) {
            Some(door) => {
                let before = Ufw::read(facts, asked.ufw);
                let shut = door.firewall_shuts(
                    &before,
                    &self.after(&before),
                    matches!(self, Firewall::Reset),
                );
                crate::door::guard(change, shut, situation.allow_lockout)?
            }
            None => change,
        };
        Ok(Some((change, Decision { ufw: asked.ufw })))
    }

    fn predict(&self, decision: &Decision, _: &FactSet, facts: &mut Facts) {
        let before = Ufw::read(facts, decision.ufw);
        self.after(&before).predict(facts, decision.ufw);
    }

    fn script(&self, _: &Decision, s: &mut Script) {
        s.code("PATH=$PATH:/usr/sbin:/sbin\n");
        match self {
            Firewall::Rule { words, delete } => {
                s.code(if *delete { "ufw delete" } else { "_o=$(ufw" });
                s.words(words.iter().map(String::as_str));
                if *delete {
                    s.code(" || exit 1\n");
                } else {
                    s.code(
                        " 2>&1) || { printf '%s\\n' \"$_o\" >&2; exit 1; }\n\
                         printf '%s\\n' \"$_o\"\n\
                         case $_o in *'Skipping adding existing rule'*) exit 100;; esac\n",
                    );
                }
            }
            Firewall::State(true) => {
                s.code("ufw --force enable || exit 1\n");
            }
            Firewall::State(false) => {
                s.code("ufw disable || exit 1\n");
            }
            Firewall::Reset => {
                s.code("ufw --force reset || exit 1\n");
            }
            Firewall::Policy { policy, direction } => {
                s.code("ufw default")
                    .words([policy.as_str(), direction.as_str()])
                    .code(" || exit 1\n");
            }
            Firewall::Logging(level) => {
                s.code("ufw logging")
                    .words([level.as_str()])
                    .code(" || exit 1\n");
            }
        }
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

    /// Recorded from ufw 0.36.2 in a network namespace (Debian 12): status, policies, dry-run.
    const ACTIVE: &str =
        "status active\npolicy incoming deny\npolicy outgoing allow\npolicy routed deny\n";

    fn ssh_rule(delete: bool) -> Firewall {
        Firewall::Rule {
            words: "allow in from any to any port 22 proto tcp"
                .split(' ')
                .map(str::to_owned)
                .collect(),
            delete,
        }
    }

    #[test]
    fn rules_state_and_policies_plan_exactly() {
        let (change, _) = decide(&ssh_rule(false), answer(ACTIVE))
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Create);
        assert_eq!(
            change.fields[0].after.as_deref(),
            Some("allow in from any to any port 22 proto tcp")
        );
        let exists = format!("{ACTIVE}exists\n");
        assert!(decide(&ssh_rule(false), answer(&exists))
            .expect("ok")
            .is_none());
        assert!(decide(&ssh_rule(true), answer(ACTIVE))
            .expect("ok")
            .is_none());
        let (change, _) = decide(&ssh_rule(true), answer(&exists))
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Delete);

        assert!(decide(&Firewall::State(true), answer(ACTIVE))
            .expect("ok")
            .is_none());
        let (change, _) = decide(&Firewall::State(false), answer(ACTIVE))
            .expect("ok")
            .expect("change");
        assert_eq!(change.fields[0].before.as_deref(), Some("active"));

        let policy = |p: &str, d: &str| Firewall::Policy {
            policy: p.into(),
            direction: d.into(),
        };
        assert!(decide(&policy("deny", "incoming"), answer(ACTIVE))
            .expect("ok")
            .is_none());
        let (change, _) = decide(&policy("deny", "outgoing"), answer(ACTIVE))
            .expect("ok")
            .expect("change");
        assert_eq!(
            (
                change.fields[0].before.as_deref(),
                change.fields[0].after.as_deref()
            ),
            (Some("allow"), Some("deny"))
        );
    }

    #[test]
    fn shutting_the_session_port_is_refused_unless_allowed() {
        use crate::door::testing::{answer as door, DEPLOY, KEY};
        use crate::resource::testing::decide_over_ssh;
        let off = "status inactive\npolicy incoming deny\n";
        let allow22 = "ufw off\nincoming DROP\ntuple4 allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n";
        let open = "ufw on\nincoming ACCEPT\n";
        let rule = |words: &str| Firewall::Rule {
            words: words.split(' ').map(str::to_owned).collect(),
            delete: false,
        };
        let policy = |p: &str| Firewall::Policy {
            policy: p.into(),
            direction: "incoming".into(),
        };
        // (task, ufw's rule set, the task's own probe)
        let shut: [(Firewall, &str, &str); 6] = [
            (Firewall::State(true), "ufw off\nincoming DROP\n", off),
            (Firewall::Reset, allow22, off),
            (rule("deny in from 10.0.0.5 to any"), open, off),
            (
                rule("reject in from any to any port 22 proto tcp"),
                open,
                off,
            ),
            (
                policy("deny"),
                open,
                "status active\npolicy incoming allow\n",
            ),
            (
                ssh_rule(true),
                &allow22.replace("ufw off", "ufw on"),
                "status active\nexists\n",
            ),
        ];
        for (task, ufw, own) in &shut {
            let answers = || vec![door(own), door(DEPLOY), door(ufw)];
            let refused = decide_over_ssh(task, answers(), KEY, false).expect_err("refused");
            assert!(refused.0.contains("SSH port 22 from 10.0.0.5"), "{refused}");
            assert!(decide_over_ssh(task, answers(), KEY, true).is_ok());
        }
        let fine: [(Firewall, &str); 4] = [
            (Firewall::State(true), allow22),
            (rule("deny in from 10.0.0.9 to any port 22"), open),
            (rule("deny in from any to any port 80"), open),
            (rule("deny in from any to any port 22"), allow22),
        ];
        for (task, ufw) in &fine {
            let answers = vec![door(off), door(DEPLOY), door(ufw)];
            assert!(
                decide_over_ssh(task, answers, KEY, false).is_ok(),
                "{task:?}"
            );
        }
    }

    #[test]
    fn the_kernel_refusing_is_said_plainly() {
        use base64::Engine as _;
        // What ufw 0.36.2 prints without CAP_NET_ADMIN (recorded under `setpriv`).
        let refused = "ERROR: problem running iptables: iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)";
        let line = format!(
            "error {}\n",
            base64::engine::general_purpose::STANDARD.encode(refused)
        );
        let problem = decide(&ssh_rule(false), answer(&line)).expect_err("refused");
        assert!(
            problem.0.contains("the kernel refuses firewall changes"),
            "{problem}"
        );
        let root = explain("ERROR: You need to be root to run this script");
        assert!(root.contains("become: true"));
        let missing = decide(&Firewall::State(true), answer("missing\n")).expect_err("missing");
        assert!(missing.0.contains("not installed"));
    }
}
