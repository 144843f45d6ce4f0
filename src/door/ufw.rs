//! ufw's rule set as the door sees it: on or off, the default incoming policy and the user
//! rules in order (ufw's own `### tuple ###` records from `/etc/ufw/user.rules` and
//! `user6.rules`), so a `firewall` task can tell whether the session's SSH port stays open
//! after it, with the changes of the firewall tasks before it predicted (`render` writes the
//! same lines back). The first rule that matches decides, else the default policy, as in ufw.
//! ufw's fixed `before.rules` (loopback, established connections) are not modelled: a door
//! is judged by the rules a new connection from the same peer would meet on the network.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::facts::{CommandOutput, FactSet, Facts, Handle};
use crate::script::Script;

/// Read-only; prints nothing when ufw is not installed.
const PROBE: &str = r#"PATH=$PATH:/usr/sbin:/sbin
command -v ufw >/dev/null 2>&1 || exit 0
case $(ufw status 2>/dev/null) in 'Status: active'*) echo 'ufw on';; *) echo 'ufw off';; esac
sed -n 's/^DEFAULT_INPUT_POLICY="\{0,1\}\([A-Z]*\)"\{0,1\}$/incoming \1/p' /etc/default/ufw 2>/dev/null
sed -n 's/^### tuple ### /tuple4 /p' /etc/ufw/user.rules 2>/dev/null
sed -n 's/^### tuple ### /tuple6 /p' /etc/ufw/user6.rules 2>/dev/null
true"#;

/// ufw's state as far as the door is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ufw {
    pub(crate) installed: bool,
    pub(crate) active: bool,
    /// `allow`, `deny` or `reject`.
    pub(crate) incoming: String,
    pub(crate) rules: Vec<Rule>,
}

/// One user rule, as ufw records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    /// `allow`, `deny`, `reject`, `limit`.
    pub(crate) action: String,
    /// `any`, `tcp`, `udp`, ...
    pub(crate) proto: String,
    /// `any`, `22`, `80,443`, `1000:2000`.
    pub(crate) port: String,
    /// `any` or an address or network.
    pub(crate) to: String,
    pub(crate) from: String,
    /// `in`, `out`, or `in_IFACE` (a rule for one interface).
    pub(crate) direction: String,
    /// From `user6.rules`: applies to IPv6 only.
    pub(crate) v6: bool,
}

impl Ufw {
    /// Asks for ufw's state: one shared fact, which each `firewall` task's prediction updates.
    pub(crate) fn ask(facts: &mut FactSet) -> Handle<CommandOutput> {
        facts.output(Script::of(PROBE))
    }

    /// The state as the probe (or the prediction of an earlier task) says.
    pub(crate) fn read(facts: &Facts, asked: Handle<CommandOutput>) -> Self {
        Self::parse(&facts.get(asked).stdout)
    }

    /// Records this state for the `firewall` tasks after the one that leaves it.
    pub(crate) fn predict(&self, facts: &mut Facts, asked: Handle<CommandOutput>) {
        facts.predict_output(
            asked,
            CommandOutput {
                status: 0,
                stdout: self.render(),
            },
        );
    }

    /// Parses the probe's lines.
    pub(crate) fn parse(out: &str) -> Self {
        let mut ufw = Ufw {
            incoming: "deny".to_owned(),
            ..Ufw::default()
        };
        for line in out.lines() {
            let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
            match tag {
                "ufw" => {
                    ufw.installed = true;
                    ufw.active = rest == "on";
                }
                "incoming" => {
                    let policy = match rest {
                        "ACCEPT" | "allow" => "allow",
                        "REJECT" | "reject" => "reject",
                        _ => "deny",
                    };
                    policy.clone_into(&mut ufw.incoming);
                }
                "tuple4" | "tuple6" => ufw.rules.extend(Rule::of_tuple(rest, tag == "tuple6")),
                _ => {}
            }
        }
        ufw
    }

    /// The probe's lines for this state.
    pub(crate) fn render(&self) -> String {
        if !self.installed {
            return String::new();
        }
        let mut out = format!(
            "ufw {}\nincoming {}\n",
            if self.active { "on" } else { "off" },
            self.incoming
        );
        for r in &self.rules {
            let _ = writeln!(
                out,
                "tuple{} {} {} {} {} any {} {}",
                if r.v6 { 6 } else { 4 },
                r.action,
                r.proto,
                r.port,
                r.to,
                r.from,
                r.direction
            );
        }
        out
    }

    /// Whether a new TCP connection from `peer` to `server:port` gets in (`as_if_enabled`:
    /// judged as if ufw were on).
    pub(crate) fn admits(
        &self,
        peer: IpAddr,
        server: Option<IpAddr>,
        port: u16,
        as_if_enabled: bool,
    ) -> bool {
        if !self.installed || !(self.active || as_if_enabled) {
            return true;
        }
        match self.rules.iter().find(|r| r.matches(peer, server, port)) {
            Some(rule) => matches!(rule.action.as_str(), "allow" | "limit"),
            None => self.incoming == "allow",
        }
    }

    /// ufw's words for a rule (`allow in from any to any port 22 proto tcp comment x`)
    /// appended (`delete`: removed) as `ufw RULE` does.
    pub(crate) fn apply_rule(&mut self, words: &[String], delete: bool) {
        let added = Rule::of_words(words);
        if delete {
            self.rules.retain(|r| !added.contains(r));
        } else {
            for rule in added {
                if !self.rules.contains(&rule) {
                    self.rules.push(rule);
                }
            }
        }
    }
}

impl Rule {
    /// `ACTION PROTO DPORT DST SPORT SRC [DAPP SAPP] DIRECTION [comment=HEX]`.
    fn of_tuple(text: &str, v6: bool) -> Option<Rule> {
        let fields: Vec<&str> = text
            .split_whitespace()
            .filter(|f| !f.starts_with("comment="))
            .collect();
        let direction = match fields.len() {
            7 => fields[6],
            9 => fields[8],
            _ => return None,
        };
        let any = |a: &str| {
            if matches!(a, "0.0.0.0/0" | "::/0") {
                "any".to_owned()
            } else {
                a.to_owned()
            }
        };
        Some(Rule {
            action: fields[0].split('_').next().unwrap_or(fields[0]).to_owned(),
            proto: fields[1].to_owned(),
            port: fields[2].to_owned(),
            to: any(fields[3]),
            from: any(fields[5]),
            direction: direction.to_owned(),
            v6,
        })
    }

    /// The rules `ufw WORDS` adds: one per address family its addresses allow.
    fn of_words(words: &[String]) -> Vec<Rule> {
        let after = |key: &str| {
            words
                .iter()
                .position(|w| w == key)
                .and_then(|i| words.get(i + 1))
                .map(String::as_str)
        };
        let port = match after("port") {
            Some("ssh") => "22",
            Some(p) => p,
            None => "any",
        };
        let rule = Rule {
            action: words.first().cloned().unwrap_or_default(),
            proto: after("proto").unwrap_or("any").to_owned(),
            port: port.to_owned(),
            to: after("to").unwrap_or("any").to_owned(),
            from: after("from").unwrap_or("any").to_owned(),
            direction: words.get(1).cloned().unwrap_or_else(|| "in".to_owned()),
            v6: false,
        };
        let family = |a: &str| (a != "any").then(|| a.contains(':'));
        match family(&rule.from).or(family(&rule.to)) {
            Some(v6) => vec![Rule { v6, ..rule }],
            None => vec![rule.clone(), Rule { v6: true, ..rule }],
        }
    }

    /// Whether a new TCP connection from `peer` to `server:port` meets this rule.
    fn matches(&self, peer: IpAddr, server: Option<IpAddr>, port: u16) -> bool {
        self.direction == "in"
            && self.v6 == peer.is_ipv6()
            && matches!(self.proto.as_str(), "any" | "tcp")
            && port_in(&self.port, port)
            && (self.from == "any" || in_network(&self.from, peer))
            && (self.to == "any" || server.is_none_or(|s| in_network(&self.to, s)))
    }
}

/// Whether `port` is in ufw's port list (`22`, `80,443`, `1000:2000`, `any`).
fn port_in(list: &str, port: u16) -> bool {
    list == "any"
        || list.split(',').any(|p| match p.split_once(':') {
            Some((a, b)) => match (a.parse::<u16>(), b.parse::<u16>()) {
                (Ok(a), Ok(b)) => (a..=b).contains(&port),
                _ => false,
            },
            None => p.parse::<u16>() == Ok(port),
        })
}

/// Whether `address` is the address `network` names, or inside it (`10.0.0.0/8`).
pub(super) fn in_network(network: &str, address: IpAddr) -> bool {
    let (base, bits) = match network.split_once('/') {
        Some((base, bits)) => (base, bits.parse::<u32>().ok()),
        None => (network, None),
    };
    let Ok(base) = base.parse::<IpAddr>() else {
        return false;
    };
    match (base, address) {
        (IpAddr::V4(b), IpAddr::V4(a)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(b) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(b), IpAddr::V6(a)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(b) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the probe printed for ufw 0.36.2 after `ufw allow 22/tcp`, a commented deny from
    /// one address and an outgoing reject (recorded in a network namespace, Debian 12).
    const RECORDED: &str = "ufw on\nincoming DROP\n\
        tuple4 allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n\
        tuple4 deny tcp 2222 0.0.0.0/0 any 10.0.0.1 in comment=68692078\n\
        tuple4 reject any 53 0.0.0.0/0 any 0.0.0.0/0 out\n\
        tuple6 allow tcp 22 ::/0 any ::/0 in\n";

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn recorded_rules_are_read_in_order_and_written_back_the_same() {
        let ufw = Ufw::parse(RECORDED);
        assert!(ufw.active && ufw.installed);
        assert_eq!(ufw.incoming, "deny");
        assert_eq!(ufw.rules.len(), 4);
        assert_eq!(ufw.rules[1].from, "10.0.0.1");
        assert_eq!(Ufw::parse(&ufw.render()), ufw);
        assert_eq!(
            Ufw::parse(""),
            Ufw {
                incoming: "deny".into(),
                ..Ufw::default()
            }
        );
    }

    #[test]
    fn the_first_matching_rule_decides_else_the_default_policy() {
        let mut ufw = Ufw::parse(RECORDED);
        let peer = ip("10.0.0.5");
        assert!(ufw.admits(peer, None, 22, false));
        assert!(!ufw.admits(peer, None, 2200, false), "default deny");
        assert!(
            !ufw.admits(ip("10.0.0.1"), None, 2222, false),
            "explicit deny"
        );
        assert!(ufw.admits(ip("::1"), None, 22, false), "the v6 rule");
        ufw.apply_rule(&words("allow in from any to any port 22 proto tcp"), true);
        assert!(!ufw.admits(peer, None, 22, false), "its rule deleted");
        ufw.active = false;
        assert!(ufw.admits(peer, None, 22, false), "ufw off");
        assert!(!ufw.admits(peer, None, 22, true), "as if enabled");
        ufw.apply_rule(
            &words("deny in from 10.0.0.0/8 to any port 22 proto tcp"),
            false,
        );
        ufw.apply_rule(&words("allow in from any to any port ssh"), false);
        assert!(!ufw.admits(peer, None, 22, true), "the earlier deny wins");
        assert!(
            ufw.admits(ip("192.168.1.1"), None, 22, true),
            "the allow after it"
        );
        ufw.apply_rule(&words("limit in from any to any port 1000:3000,22"), false);
        ufw.incoming = "allow".into();
        assert!(ufw.admits(ip("192.168.1.1"), None, 2500, true));
    }

    #[test]
    fn networks_and_ports_match_exactly() {
        assert!(in_network("10.0.0.0/8", ip("10.200.0.1")));
        assert!(!in_network("10.0.0.0/8", ip("11.0.0.1")));
        assert!(in_network("0.0.0.0/0", ip("1.2.3.4")));
        assert!(in_network("fe80::/10", ip("fe80::1")));
        assert!(!in_network("10.0.0.1", ip("::1")));
        assert!(!in_network("example.org", ip("10.0.0.1")));
        assert!(port_in("80,1000:2000", 1500));
        assert!(!port_in("80,1000:2000", 22));
        assert!(port_in("any", 22));
    }
}
