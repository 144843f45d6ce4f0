//! `firewall:` ufw on the host, one of three things per task:
//! - a rule: `{ rule: allow|deny|reject|limit, port, proto, from, to, direction: in|out,
//!   comment, app, delete }` (`app`: an application profile, as `ufw allow app NAME`);
//! - ufw itself: `{ state: enabled|disabled }`;
//! - a default policy: `{ policy: allow|deny|reject, direction: incoming|outgoing|routed }`.
//!
//! Whether a rule exists is asked of ufw itself, read-only: `ufw --dry-run RULE` says "Skipping
//! adding existing rule" exactly when ufw would not add it (its own matching, comment included),
//! so recon never re-implements ufw's rule syntax. State and policies come from `ufw status` and
//! `/etc/default/ufw`. Where the kernel refuses iptables (a container without `CAP_NET_ADMIN`),
//! planning fails with a message that says so instead of a half-applied firewall.

use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Sharing, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle};
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
    /// `ufw default POLICY DIRECTION`.
    Policy { policy: String, direction: String },
}

const KEYS: &[&str] = &[
    "rule",
    "port",
    "proto",
    "from",
    "to",
    "direction",
    "comment",
    "app",
    "delete",
    "state",
    "policy",
];

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
    let f = Fields::new(args, "`firewall`", KEYS)?;
    let given: Vec<&str> = ["rule", "state", "policy"]
        .into_iter()
        .filter(|k| f.get(k).is_some())
        .collect();
    if given.len() != 1 {
        return Err(Error::invalid(
            "a `firewall` task manages exactly one of `rule`, `state` or `policy`",
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
            Ok(Firewall::State(
                one_of(&f, "state", &["enabled", "disabled"], "enabled")? == "enabled",
            ))
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
        f.string("from")?.unwrap_or_else(|| "any".to_owned()),
        "to".to_owned(),
        f.string("to")?.unwrap_or_else(|| "any".to_owned()),
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
        delete: f.boolean("delete")?.unwrap_or(false),
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
        if let Firewall::Rule { words, .. } = self {
            s.code("case $(ufw --dry-run");
            s.words(words.iter().map(String::as_str));
            s.code(" 2>&1) in *'Skipping adding existing rule'*) echo exists;; esac\n");
        }
        s
    }
}

/// What the apply runs.
#[derive(Debug)]
pub(crate) struct Decision;

impl Resource for Firewall {
    type Asked = Handle<CommandOutput>;
    type Decision = Decision;

    fn kind(&self) -> &'static str {
        "firewall"
    }

    fn id(&self) -> String {
        match self {
            Firewall::Rule { words, .. } => words.join(" "),
            Firewall::State(_) => "ufw".to_owned(),
            Firewall::Policy { direction, .. } => format!("default {direction}"),
        }
    }

    fn claims(&self) -> Vec<Claim> {
        // Rules of one host are edited in graph order; ufw's on/off and each policy once.
        let (value, sharing) = match self {
            Firewall::Rule { .. } => ("rules".to_owned(), Sharing::Ordered),
            Firewall::State(_) => ("state".to_owned(), Sharing::Exclusive),
            Firewall::Policy { direction, .. } => {
                (format!("policy {direction}"), Sharing::Exclusive)
            }
        };
        vec![Claim {
            kind: ClaimKind::Other("firewall".to_owned()),
            value,
            sharing,
        }]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        facts.output(self.probe())
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let o = parse(&facts.get(*asked).stdout);
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
                    (false, false) => {
                        Change::new(Action::Create).field(Field::Rule, None, Some(text))
                    }
                    (true, true) => {
                        Change::new(Action::Delete).field(Field::Rule, Some(text), None)
                    }
                    _ => return Ok(None),
                }
            }
            Firewall::State(on) => {
                if o.active == *on {
                    return Ok(None);
                }
                let word = |active: bool| if active { "active" } else { "inactive" };
                Change::new(Action::Update).field(
                    Field::State,
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
                Change::new(Action::Update).field(Field::Policy, now, Some(policy.clone()))
            }
        };
        Ok(Some((change, Decision)))
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
            Firewall::Policy { policy, direction } => {
                s.code("ufw default")
                    .words([policy.as_str(), direction.as_str()])
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
