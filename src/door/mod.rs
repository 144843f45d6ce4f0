//! The door: how this run's SSH session came in, so the resources that could shut it behind
//! recon (`authorized_key`, `user`, `firewall`) know it, and a change that would is a located
//! error at plan time unless the task says `allow_lockout: true` (then the plan shows it). A
//! closed door is a host nobody can reach again: every later run fails to authenticate, to
//! `sudo`, or to connect at all.
//!
//! What makes the door: the public key the session authenticated with (from the transport),
//! the account, its login shell, the groups its `sudo` comes from (the sudoers rules naming
//! `%group` that match the account, read on the host), and the session's SSH port and peer
//! address (`SSH_CONNECTION`, found through the process tree when `sudo` reset the
//! environment). Only a probe that came over SSH has a door; a local connection has none.

mod ufw;

use std::collections::BTreeSet;
use std::net::IpAddr;

pub(crate) use ufw::Ufw;

use crate::facts::{CommandOutput, FactSet, Facts, Handle};
use crate::plan::Change;
use crate::script::Script;

/// The probe's part (read-only; prints only what concerns the connecting account). The
/// account is the one recon logged in as (`SUDO_USER` under `become`). `SSH_CONNECTION` is
/// looked up the process tree when `sudo` reset it (sudo's own environment still holds it);
/// only the peer address, the server address and port are printed, never the peer's port,
/// so the answer (and the stale-plan fingerprint) stays the same from one connection to the
/// next; every error is kept out of the answer (it would name the probe's line numbers).
/// Sudoers files are read directly as root, else through `sudo -n` (which fails quietly
/// without a passwordless rule); only the lines naming the account or one of its groups count.
const PROBE: &str = r#"_du=${SUDO_USER:-$(id -un)}
printf 'account %s\n' "$_du"
if _dl=$(getent passwd -- "$_du"); then printf 'shell %s\n' "${_dl##*:}"; fi
_dg=$(id -Gn -- "$_du" 2>/dev/null)
for _dx in $_dg; do printf 'group %s\n' "$_dx"; done
_dc=${SSH_CONNECTION-}
_dp=$$
while [ -z "$_dc" ] && [ "${_dp:-0}" -gt 1 ]; do
  _dp=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$_dp/status" 2>/dev/null)
  [ -n "$_dp" ] && [ "$_dp" -gt 1 ] || break
  _dc=$(tr '\0' '\n' 2>/dev/null < "/proc/$_dp/environ" | sed -n 's/^SSH_CONNECTION=//p')
done
if [ -n "$_dc" ]; then
  printf '%s\n' "$_dc" | { read -r _da _db _dd _de _dz; printf 'ssh %s %s %s\n' "$_da" "$_dd" "$_de"; }
fi
sed -n 's|^\(/[^[:space:]#]*\).*|validshell \1|p' /etc/shells 2>/dev/null
_dr='for _f in /etc/sudoers /etc/sudoers.d/*; do case ${_f##*/} in *.*|*~) continue;; esac; [ -f "$_f" ] && cat -- "$_f"; done; true'
if [ "$(id -u)" = 0 ]; then _ds=$(sh -c "$_dr" 2>/dev/null); else _ds=$(sudo -n sh -c "$_dr" 2>/dev/null); fi
if [ -n "$_ds" ]; then
  echo sudoers
  printf '%s\n' "$_ds" | awk -v u="$_du" -v gs=" $_dg " '
    $1 ~ /^(#|@|Defaults|User_Alias|Runas_Alias|Host_Alias|Cmnd_Alias)/ { next }
    { n = split($1, who, ",")
      for (i = 1; i <= n; i++) {
        if (who[i] == u) print "sudouser"
        else if (substr(who[i], 1, 1) == "%" && index(gs, " " substr(who[i], 2) " ")) print "sudogroup " substr(who[i], 2)
      } }' | sort -u
fi
true"#;

/// The way this run came in, as far as it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Door {
    /// The account recon logged in as.
    pub(crate) account: String,
    /// `type base64` of the key the session authenticated with (unknown: no key checks).
    pub(crate) public_key: Option<String>,
    /// Its login shell now.
    pub(crate) shell: Option<String>,
    /// Every group it is in now (primary included).
    pub(crate) groups: BTreeSet<String>,
    /// The sudoers could be read: `sudo_groups` and `sudo_user` are known.
    pub(crate) sudoers_known: bool,
    /// Its groups that a sudoers rule names (`%group`).
    pub(crate) sudo_groups: BTreeSet<String>,
    /// A sudoers rule names the account itself: its groups do not decide its `sudo`.
    pub(crate) sudo_user: bool,
    /// Who connected and to which address and port (from `SSH_CONNECTION`).
    pub(crate) peer: Option<IpAddr>,
    pub(crate) server: Option<IpAddr>,
    pub(crate) port: Option<u16>,
    /// The login shells `/etc/shells` lists (empty: no such file).
    pub(crate) shells: Vec<String>,
}

/// Asks for the door's facts: one shared fact, whoever asks.
pub(crate) fn ask(facts: &mut FactSet) -> Handle<CommandOutput> {
    facts.output(Script::of(PROBE))
}

/// The door, when the probe came over SSH (`None`: a local run has no door to shut).
pub(crate) fn read(facts: &Facts, asked: Handle<CommandOutput>) -> Option<Door> {
    let session = facts.session()?;
    let mut door = parse(&facts.get(asked).stdout);
    door.public_key.clone_from(&session.public_key);
    Some(door)
}

/// Parses the probe's lines.
pub(crate) fn parse(out: &str) -> Door {
    let mut door = Door::default();
    for line in out.lines() {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "account" => rest.clone_into(&mut door.account),
            "shell" => door.shell = Some(rest.to_owned()),
            "group" => {
                door.groups.insert(rest.to_owned());
            }
            "ssh" => {
                let mut words = rest.split(' ');
                door.peer = words.next().and_then(|w| w.parse().ok());
                door.server = words.next().and_then(|w| w.parse().ok());
                door.port = words.next().and_then(|w| w.parse().ok());
            }
            "validshell" => door.shells.push(rest.to_owned()),
            "sudoers" => door.sudoers_known = true,
            "sudouser" => door.sudo_user = true,
            "sudogroup" => {
                door.sudo_groups.insert(rest.to_owned());
            }
            _ => {}
        }
    }
    door
}

impl Door {
    /// Whether `kind blob` is the key this session came in with.
    pub(crate) fn is_session_key(&self, kind: &str, blob: &str) -> bool {
        self.public_key.as_deref().is_some_and(|k| {
            let mut words = k.split(' ');
            words.next() == Some(kind) && words.next() == Some(blob)
        })
    }

    /// Why `authorized_keys` options on the session's key would stop recon from getting in
    /// with it: a forced `command=` (every exec runs that instead of recon's script) or a
    /// `from=` list the session's peer address does not match. `restrict`, `no-pty` and the
    /// other `no-*` options are harmless: recon asks for no terminal and forwards nothing.
    pub(crate) fn options_shut(&self, options: Option<&str>) -> Option<String> {
        for option in split_options(options?) {
            let (name, value) = option.split_once('=').unwrap_or((option, ""));
            let value = value.trim_matches('"');
            match name.to_ascii_lowercase().as_str() {
                "command" => {
                    return Some(format!(
                        "`command=\"{value}\"` would run instead of recon on every later connection"
                    ))
                }
                "from" => {
                    if let Some(peer) = self.peer {
                        if !from_admits(value, peer) {
                            return Some(format!(
                                "`from=\"{value}\"` does not admit {peer}, where this session comes from"
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Why making `shell` the account's login shell shuts it: sshd runs every command
    /// through the login shell, and `nologin`/`false` (or anything `/etc/shells` does not list)
    /// runs none.
    pub(crate) fn shell_shuts(&self, shell: &str) -> Option<String> {
        let name = shell.rsplit('/').next().unwrap_or(shell);
        let refusing = matches!(name, "nologin" | "false" | "true");
        let unlisted = !self.shells.is_empty() && !self.shells.iter().any(|s| s == shell);
        (refusing || unlisted).then(|| {
            format!(
                "`{shell}` as the login shell of `{}` (the account recon logs in as) runs no command{}",
                self.account,
                if refusing { "" } else { ": /etc/shells does not list it" }
            )
        })
    }

    /// Why leaving the account in exactly `after` (primary included) shuts its `sudo`: a
    /// sudoers rule gives it through groups it would all leave, and no rule names it.
    pub(crate) fn groups_shut(&self, after: &BTreeSet<String>) -> Option<String> {
        if !self.sudoers_known || self.sudo_user || self.sudo_groups.is_empty() {
            return None;
        }
        if self.sudo_groups.iter().any(|g| after.contains(g)) {
            return None;
        }
        let names: Vec<&str> = self.sudo_groups.iter().map(String::as_str).collect();
        Some(format!(
            "`{}` (the account recon logs in as) would leave {}, which its `sudo` comes from",
            self.account,
            names
                .iter()
                .map(|g| format!("`{g}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    /// Why locking the account's password (`before` → `after`: its shadow entry starting with
    /// `!`) shuts it: sshd without PAM (`UsePAM no`) takes a `!`-prefixed entry as a locked
    /// account and refuses even its key logins. An entry that is locked already shuts nothing
    /// new (this very session came in past it). `*` is no lock to sshd on Linux.
    pub(crate) fn lock_shuts(&self, before: bool, after: bool) -> Option<String> {
        (after && !before).then(|| {
            format!(
                "locking the password of `{}` (the account recon logs in as) makes sshd refuse \
                 its key logins too when it runs without PAM (`UsePAM no`)",
                self.account
            )
        })
    }

    /// Why the firewall going from `before` to `after` shuts the session's port (`None`: it
    /// stays open, it was not open before, or the session's address and port are unknown).
    /// A `reset` (`as_if_enabled`) is judged as if ufw were on: it leaves ufw off but takes
    /// away the rules the next `enable` would need.
    pub(crate) fn firewall_shuts(
        &self,
        before: &Ufw,
        after: &Ufw,
        as_if_enabled: bool,
    ) -> Option<String> {
        let (peer, port) = (self.peer?, self.port?);
        let admits = |ufw: &Ufw| ufw.admits(peer, self.server, port, as_if_enabled);
        (admits(before) && !admits(after)).then(|| {
            format!(
                "ufw would refuse new connections to the SSH port {port} from {peer}, where this session comes from"
            )
        })
    }
}

/// A change refused because it would shut recon's way in (`why`) without `allow_lockout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lockout {
    pub(crate) why: String,
}

impl std::fmt::Display for Lockout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "this would lock recon out of the host: {}; every later run would fail. \
             If that is what you mean, add `allow_lockout: true` to this task",
            self.why
        )
    }
}

impl std::error::Error for Lockout {}

/// What a task that `shut` the door gets: with `allow_lockout` the change, saying so in the
/// plan; without, the refusal, which the resource reports located at its task.
pub(crate) fn guard(
    change: Change,
    shut: Option<String>,
    allow_lockout: bool,
) -> Result<Change, Lockout> {
    let Some(why) = shut else {
        return Ok(change);
    };
    if !allow_lockout {
        return Err(Lockout { why });
    }
    let said = format!("`allow_lockout: true` lets it shut the way in: {why}");
    let reason = match &change.reason {
        Some(earlier) => format!("{earlier}; {said}"),
        None => said,
    };
    Ok(change.reason(reason))
}

/// `authorized_keys` options split at commas outside double quotes.
fn split_options(options: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in options.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&options[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&options[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .collect()
}

/// sshd's `from=` pattern list: `*`/`?` wildcards or CIDR, `!` negates; a negated match
/// refuses, else any match admits. Host names are not resolved: they admit no address.
fn from_admits(list: &str, peer: IpAddr) -> bool {
    let text = peer.to_string();
    let mut admitted = false;
    for pattern in list.split(',').map(str::trim) {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        let hit = ufw::in_network(pattern, peer) || crate::glob::glob(pattern, &text);
        if hit && negated {
            return false;
        }
        admitted |= hit;
    }
    admitted
}

/// Door probe answers written by hand, for the unit tests of the resources that use them.
#[cfg(test)]
pub(crate) mod testing {
    use crate::facts::{CommandOutput, FactValue};

    /// The door's fact answered with `text` (the probe's lines).
    pub(crate) fn answer(text: &str) -> FactValue {
        FactValue::Output(CommandOutput {
            status: 0,
            stdout: text.to_owned(),
        })
    }

    /// `deploy`, in `deploy` and `wheel` (its sudo), over SSH from 10.0.0.5 to port 22.
    pub(crate) const DEPLOY: &str = "account deploy\nshell /bin/bash\ngroup deploy\ngroup wheel\nssh 10.0.0.5 10.0.0.1 22\nvalidshell /bin/sh\nvalidshell /bin/bash\nsudoers\nsudogroup wheel\n";

    /// The key `deploy` came in with.
    pub(crate) const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx5";
}

#[cfg(test)]
mod tests {
    use super::testing::{DEPLOY, KEY};
    use super::*;
    use crate::plan::Action;

    fn door() -> Door {
        let mut door = parse(DEPLOY);
        door.public_key = Some(KEY.to_owned());
        door
    }

    #[test]
    fn the_probe_answer_is_parsed() {
        let d = door();
        assert_eq!(d.account, "deploy");
        assert_eq!(d.port, Some(22));
        assert_eq!(d.peer, "10.0.0.5".parse().ok());
        assert!(d.is_session_key("ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIGx5"));
        assert!(!d.is_session_key("ssh-rsa", "AAAAC3NzaC1lZDI1NTE5AAAAIGx5"));
        assert_eq!(d.sudo_groups.iter().collect::<Vec<_>>(), ["wheel"]);
    }

    #[test]
    fn the_probe_runs_under_a_real_sh_and_finds_the_connection_up_the_process_tree() {
        let run = |env: Option<&str>| {
            let mut sh = std::process::Command::new("sh");
            sh.arg("-c").arg(PROBE).env_remove("SSH_CONNECTION");
            if let Some(value) = env {
                sh.env("SSH_CONNECTION", value);
            }
            let out = sh.output().expect("sh");
            assert!(out.status.success());
            parse(&String::from_utf8_lossy(&out.stdout))
        };
        let direct = run(Some("10.1.2.3 50000 10.1.2.4 2222"));
        assert!(!direct.account.is_empty());
        assert_eq!(
            (direct.peer, direct.port),
            ("10.1.2.3".parse().ok(), Some(2222))
        );
        assert_eq!(direct.server, "10.1.2.4".parse().ok());
        // A child shell with the variable cleared, as `sudo` leaves it: found in its parent.
        let mut parent = std::process::Command::new("sh");
        parent
            .arg("-c")
            .arg("env -u SSH_CONNECTION sh -c \"$0\"")
            .arg(PROBE)
            .env("SSH_CONNECTION", "10.9.9.9 1 10.9.9.1 22");
        let out = parent.output().expect("sh");
        let found = parse(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(
            (found.peer, found.port),
            ("10.9.9.9".parse().ok(), Some(22))
        );
    }

    #[test]
    fn forced_commands_and_foreign_from_lists_shut_the_key_other_options_do_not() {
        let d = door();
        assert!(d.options_shut(Some("command=\"/bin/true\"")).is_some());
        assert!(d.options_shut(Some("no-pty,COMMAND=\"x,y\"")).is_some());
        assert!(d.options_shut(Some("from=\"192.168.0.0/16\"")).is_some());
        assert!(d
            .options_shut(Some("from=\"10.0.0.0/8,!10.0.0.5\""))
            .is_some());
        assert_eq!(d.options_shut(Some("from=\"10.0.0.0/8\"")), None);
        assert_eq!(d.options_shut(Some("from=\"10.0.0.*\"")), None);
        assert_eq!(
            d.options_shut(Some("restrict,no-pty,no-agent-forwarding")),
            None
        );
        assert_eq!(d.options_shut(None), None);
    }

    #[test]
    fn nologin_false_and_unlisted_shells_shut_the_account() {
        let d = door();
        assert!(d.shell_shuts("/usr/sbin/nologin").is_some());
        assert!(d.shell_shuts("/bin/false").is_some());
        assert!(d.shell_shuts("/usr/bin/python3").is_some());
        assert_eq!(d.shell_shuts("/bin/sh"), None);
        let no_list = Door {
            shells: Vec::new(),
            ..door()
        };
        assert_eq!(no_list.shell_shuts("/usr/bin/zsh"), None);
    }

    #[test]
    fn leaving_every_sudo_group_shuts_sudo_unless_a_rule_names_the_account() {
        let d = door();
        let set = |g: &[&str]| g.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        assert!(d.groups_shut(&set(&["deploy", "docker"])).is_some());
        assert_eq!(d.groups_shut(&set(&["deploy", "wheel"])), None);
        let named = Door {
            sudo_user: true,
            ..door()
        };
        assert_eq!(named.groups_shut(&set(&["deploy"])), None);
        let unknown = Door {
            sudoers_known: false,
            ..door()
        };
        assert_eq!(unknown.groups_shut(&set(&["deploy"])), None);
    }

    #[test]
    fn guard_refuses_or_says_so_in_the_plan() {
        let change = || Change::new(Action::Update);
        assert!(guard(change(), None, false).is_ok());
        let refused = guard(change(), Some("why".into()), false).expect_err("refused");
        assert!(
            refused.to_string().contains("allow_lockout: true"),
            "{refused}"
        );
        let allowed = guard(change(), Some("why".into()), true).expect("allowed");
        assert!(allowed
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("allow_lockout")));
    }
}
