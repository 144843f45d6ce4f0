//! What `service` with `scope: user` adds to the system scope: the account's own systemd user
//! manager (`systemctl --user`), found and reached without a login session.
//!
//! A non-login SSH command session has no `XDG_RUNTIME_DIR` when the host has no `pam_systemd`
//! (and `sudo -u` drops it), so the scripts set it to `/run/user/UID` unless it names a folder
//! the account owns. The manager listens on `$XDG_RUNTIME_DIR/systemd/private`; without that
//! socket there is no manager to ask, and the probe says so instead of letting `systemctl`
//! fail with a D-Bus error. A manager that runs without lingering lives only as long as the
//! account's sessions (with `pam_systemd`, the very session recon came in by): a unit started
//! there stops when recon logs out, so that is refused too, naming the fix.

use super::Problem;
use crate::script::{w, Script};

/// The probe's body, `$1` the unit: who asks, whether the account lingers, whether its manager
/// runs, and then the manager's answers (the same `active`/`is-enabled` lines as the system
/// scope's).
const PROBE: &str = "_n=$1
_u=$(id -un)
printf 'account %s\\n' \"$_u\"
if [ -e \"/var/lib/systemd/linger/$_u\" ]; then echo 'linger yes'; else echo 'linger no'; fi
if [ ! -d /run/systemd/system ]; then echo 'manager sysv'; exit 0; fi
echo 'manager systemd'
[ -O \"${XDG_RUNTIME_DIR:-/nonexistent}\" ] || XDG_RUNTIME_DIR=/run/user/$(id -u)
export XDG_RUNTIME_DIR
if [ ! -S \"$XDG_RUNTIME_DIR/systemd/private\" ]; then echo 'user-manager none'; exit 0; fi
echo 'user-manager running'
printf 'active %s\\n' \"$(systemctl --user is-active -- \"$_n\" 2>/dev/null)\"
printf 'is-enabled %s\\n' \"$(systemctl --user is-enabled -- \"$_n\" 2>/dev/null)\"
";

/// The probe command for unit `name` of the account the task runs as: the connecting account,
/// or `become_user` (reached with `sudo -n -H -u`, read-only, when the probe runs as another).
pub(super) fn probe(name: &str, become_user: Option<&str>) -> Script {
    let mut s = Script::new();
    s.fill("_n={}\n", [w(name)]);
    match become_user {
        None => s.fill("sh -c {} _ \"$_n\"\n", [w(PROBE)]),
        Some(user) => s.fill(
            "_u={}\nif [ \"$(id -un)\" = \"$_u\" ]; then sh -c {} _ \"$_n\"; else sudo -n -H -u \"$_u\" sh -c {} _ \"$_n\"; fi\n",
            [w(user), w(PROBE), w(PROBE)],
        ),
    };
    s
}

/// The step's prelude in the user scope: the manager's runtime folder, and `_sc`/`_jl` as the
/// account's `systemctl --user` and its journal of the unit `$_n`.
pub(super) const STEP_PRELUDE: &str =
    "[ -O \"${XDG_RUNTIME_DIR:-/nonexistent}\" ] || XDG_RUNTIME_DIR=/run/user/$(id -u)
export XDG_RUNTIME_DIR
_sc() { systemctl --user \"$@\"; }
_jl() { journalctl --user-unit \"$_n\" -n 10 --no-pager -o cat 2>&1; }
";

/// What the probe said about the account's manager.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct UserManager {
    /// The account the probe ran as (empty: the probe never got that far, e.g. sudo refused).
    pub(super) account: String,
    /// `/var/lib/systemd/linger/ACCOUNT` exists.
    pub(super) linger: bool,
    /// Its socket exists: `systemctl --user` can be asked.
    pub(super) running: bool,
}

impl UserManager {
    /// Reads the probe's `account`, `linger` and `user-manager` lines.
    pub(super) fn parse(out: &str) -> Self {
        let mut m = Self::default();
        for line in out.lines() {
            match line.split_once(' ').unwrap_or((line, "")) {
                ("account", name) => name.clone_into(&mut m.account),
                ("linger", value) => m.linger = value == "yes",
                ("user-manager", value) => m.running = value == "running",
                _ => {}
            }
        }
        m
    }

    /// Why the unit cannot be managed here, if it cannot: no answer, no manager, or (for a unit
    /// meant to run or start at boot) a manager that stops with the account's last session.
    pub(super) fn refusal(
        &self,
        keeps_running: bool,
        become_user: Option<&str>,
    ) -> Option<Problem> {
        let account = self.account.as_str();
        let fix = |account: &str| {
            format!(
                "as root, run `loginctl enable-linger {account}` (in a play: `command: loginctl enable-linger {account}` with `creates: /var/lib/systemd/linger/{account}`)"
            )
        };
        if account.is_empty() {
            let who = become_user.unwrap_or("the connecting account");
            return Some(Problem::new(format!(
                "could not ask the systemd user manager of {who} (`sudo -n -H -u {who}` refused?)"
            )));
        }
        if !self.running {
            return Some(Problem::new(format!(
                "`{account}` has no running systemd user manager (lingering is off and it has no session): {}",
                fix(account)
            )));
        }
        if keeps_running && !self.linger {
            return Some(Problem::new(format!(
                "lingering is off for `{account}`: its systemd user manager runs only while it has a session, so the unit would stop when recon logs out: {}",
                fix(account)
            )));
        }
        None
    }
}

/// The folders a user manager reads the account's units from that a play may write: the
/// account's own (when it is the connecting account: `~/` is its home) and the system-wide
/// user-unit folders.
pub(super) fn unit_dirs(become_user: Option<&str>) -> Vec<&'static str> {
    let mut dirs = Vec::with_capacity(3);
    if become_user.is_none() {
        dirs.push("~/.config/systemd/user");
    }
    dirs.extend(["/etc/systemd/user", "/usr/lib/systemd/user"]);
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_manager_and_a_session_bound_one_name_the_fix() {
        let none =
            UserManager::parse("account app\nlinger no\nmanager systemd\nuser-manager none\n");
        let refusal = none.refusal(false, None).expect("refused").0;
        assert!(refusal.contains("loginctl enable-linger app"), "{refusal}");
        assert!(refusal.contains("/var/lib/systemd/linger/app"), "{refusal}");
        let session = UserManager::parse("account app\nlinger no\nuser-manager running\n");
        assert!(session.refusal(true, None).is_some());
        assert!(
            session.refusal(false, None).is_none(),
            "stopping needs no lingering"
        );
        let lingers = UserManager::parse("account app\nlinger yes\nuser-manager running\n");
        assert!(lingers.refusal(true, None).is_none());
        let refused = UserManager::default()
            .refusal(true, Some("app"))
            .expect("refused")
            .0;
        assert!(refused.contains("sudo -n -H -u app"), "{refused}");
    }

    #[test]
    fn the_probe_runs_as_the_account_and_reports_no_manager_without_a_socket() {
        let s = probe("app", None);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(s.as_str())
            .env("XDG_RUNTIME_DIR", "/nonexistent-recon-test")
            .output()
            .expect("sh");
        let text = String::from_utf8_lossy(&out.stdout);
        let m = UserManager::parse(&text);
        let me = String::from_utf8_lossy(
            &std::process::Command::new("id")
                .arg("-un")
                .output()
                .expect("id")
                .stdout,
        )
        .trim()
        .to_owned();
        assert_eq!(m.account, me, "{text}");
        assert!(text.contains("linger "), "{text}");
    }
}
