//! The shadow side of `user`: `password` (the *crypted* hash, as Ansible's `user` takes it),
//! `update_password` (`always` / `on_create`) and `password_lock`, with Ansible's semantics:
//! the hash is compared with any leading `!` stripped on both sides (a locked account with the
//! wanted hash keeps its lock), `password_lock: true` locks an unlocked account (`usermod -L`)
//! and `false` unlocks a locked one (`usermod -U`), a hash set together with the lock is
//! written `!`-prefixed. The hash never leaves the control machine in the clear except in the
//! apply script: the probe prints only its sha256 and whether it is locked, the plan says
//! `password: (changed)`, and the hash is registered as a secret so every output masks it.

use crate::error::{Error, Result};
use crate::facts::sha256_hex;
use crate::fields::arg::Arg;
use crate::fields::Fields;

/// The keys this file reads from a `user` task.
/// The password arguments of `user`.
pub(super) const ARGS: &[Arg] = &[
    Arg::str("password")
        .doc("the crypted hash for /etc/shadow; `!` or `*` lock without a hash")
        .ansible(&["password"]),
    Arg::one_of("update_password", &["always", "on_create"])
        .default("always")
        .doc("`on_create`: an existing account's hash is left")
        .ansible(&["update_password"]),
    Arg::bool("password_lock")
        .default_note("not managed")
        .doc("`true` locks, `false` unlocks")
        .ansible(&["password_lock"]),
];

/// What a task wants of an account's shadow entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Password {
    /// The crypted hash (or a lock value such as `!` or `*`); `None`: not managed.
    pub(crate) hash: Option<String>,
    /// `update_password: always` (Ansible's default): an existing account's hash is updated too.
    pub(crate) always: bool,
    /// `password_lock`: `None` leaves the lock as it is.
    pub(crate) lock: Option<bool>,
}

/// Reads the password keys; `None` when the task sets none of them.
pub(super) fn read(f: &Fields<'_>) -> Result<Option<Password>> {
    let hash = match f.get("password") {
        Some(node) => {
            let text = f.required_string("password")?;
            if text.contains([':', '\n', '\r']) {
                return Err(Error::invalid(
                    "`password` must be a crypted hash without `:` or line breaks",
                    &node.span,
                )
                .with_label("not usable in /etc/shadow"));
            }
            crate::secret::register(&text);
            Some(text)
        }
        None => None,
    };
    let always = match f.string("update_password")?.as_deref() {
        None | Some("always") => true,
        Some("on_create") => false,
        Some(other) => {
            return Err(Error::invalid(
                format!("`update_password` must be `always` or `on_create`, not `{other}`"),
                &f.require("update_password")?.span,
            )
            .suggest(other, ["always", "on_create"]))
        }
    };
    let lock = f.boolean("password_lock")?;
    Ok((hash.is_some() || lock.is_some()).then_some(Password { hash, always, lock }))
}

/// The probe's part, run after `$_u` is set, only for tasks that manage the password: `shadow
/// DIGEST LOCKED` (the sha256 of the hash without its leading `!`s, and 1 when it has one),
/// or `shadow ?` when the entry cannot be read (`getent shadow` needs root). Nothing is
/// printed for an account that does not exist.
pub(super) const PROBE: &str = r#"
if getent passwd -- "$_u" >/dev/null; then
  if _s=$(getent shadow -- "$_u" 2>/dev/null); then
    _h=${_s#*:}; _h=${_h%%:*}
    case $_h in '!'*) _k=1;; *) _k=0;; esac
    _h=${_h#"${_h%%[!!]*}"}
    printf 'shadow %s %s\n' "$(printf '%s' "$_h" | sha256sum | cut -d' ' -f1)" "$_k"
  else
    echo 'shadow ?'
  fi
fi"#;

/// An existing account's shadow entry as the probe saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shadow {
    /// The sha256 of the hash without leading `!`s, and whether it is locked (`!`-prefixed).
    Known { digest: String, locked: bool },
    /// Not readable by the probing account.
    Unreadable,
}

/// Parses the rest of a `shadow` line.
pub(crate) fn parse(rest: &str) -> Shadow {
    let mut words = rest.split_whitespace();
    match (words.next(), words.next()) {
        (Some(digest), Some(locked)) if digest != "?" => Shadow::Known {
            digest: digest.to_owned(),
            locked: locked == "1",
        },
        _ => Shadow::Unreadable,
    }
}

/// What to change in an existing account's shadow entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// `usermod -p VALUE` (the hash, `!`-prefixed when it is to be locked too).
    Set(String),
    /// `usermod -L`.
    Lock,
    /// `usermod -U`.
    Unlock,
}

impl Step {
    /// Whether the entry starts with `!` after this step.
    pub(crate) fn locks(&self) -> bool {
        match self {
            Step::Set(value) => value.starts_with('!'),
            Step::Lock => true,
            Step::Unlock => false,
        }
    }
}

impl Password {
    /// Whether the probe must read the shadow entry of an existing account.
    pub(super) fn reads_shadow(&self) -> bool {
        (self.hash.is_some() && self.always) || self.lock.is_some()
    }

    /// The value `useradd -p` writes for a new account, if any.
    pub(crate) fn on_create(&self) -> Option<String> {
        self.hash.as_ref().map(|h| self.locked_value(h))
    }

    /// `hash`, `!`-prefixed when the task also locks.
    fn locked_value(&self, hash: &str) -> String {
        if self.lock == Some(true) && !hash.starts_with('!') {
            format!("!{hash}")
        } else {
            hash.to_owned()
        }
    }

    /// A short digest for claims: two tasks wanting different hashes disagree, and the claim
    /// (which errors print) never holds the hash.
    pub(super) fn claim(&self) -> Option<String> {
        self.hash
            .as_ref()
            .map(|h| sha256_hex(h.as_bytes()).chars().take(16).collect())
    }

    /// What an existing account needs (`Ok(None)`: nothing), Ansible's way; an error when the
    /// entry could not be read.
    pub(crate) fn decide(
        &self,
        name: &str,
        shadow: Option<&Shadow>,
    ) -> Result<Option<Step>, super::Problem> {
        if !self.reads_shadow() {
            return Ok(None);
        }
        let Some(Shadow::Known { digest, locked }) = shadow else {
            return Err(super::Problem(format!(
                "reading the password of `{name}` needs root (`getent shadow` cannot read \
                 /etc/shadow as this account): add `become: true` to the task or its play"
            )));
        };
        if let Some(hash) = self.hash.as_ref().filter(|_| self.always) {
            let wanted = sha256_hex(hash.trim_start_matches('!').as_bytes());
            if wanted != *digest {
                return Ok(Some(Step::Set(self.locked_value(hash))));
            }
        }
        Ok(match self.lock {
            Some(true) if !locked => Some(Step::Lock),
            Some(false) if *locked => Some(Step::Unlock),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$6$salt$abcdefghijklmnop";

    fn known(hash: &str) -> Shadow {
        let stripped = hash.trim_start_matches('!');
        Shadow::Known {
            digest: sha256_hex(stripped.as_bytes()),
            locked: hash.starts_with('!'),
        }
    }

    fn want(hash: Option<&str>, always: bool, lock: Option<bool>) -> Password {
        Password {
            hash: hash.map(str::to_owned),
            always,
            lock,
        }
    }

    #[test]
    fn the_probe_reads_digest_and_lock_under_a_real_sh() {
        // The probe's text with a fake `getent` that answers a shadow line for any account.
        let dir = tempfile::tempdir().expect("tempdir");
        let getent = dir.path().join("getent");
        std::fs::write(
            &getent,
            "#!/bin/sh\n[ \"$1\" = shadow ] && echo 'x:!!$6$s$h:19000:0:99999:7:::'\nexit 0\n",
        )
        .expect("write");
        std::fs::set_permissions(&getent, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("_u=x{PROBE}"))
            .env("PATH", path)
            .output()
            .expect("sh");
        let text = String::from_utf8_lossy(&out.stdout);
        let rest = text.trim().strip_prefix("shadow ").expect("a shadow line");
        assert_eq!(parse(rest), known("!$6$s$h"));
        assert_eq!(parse("?"), Shadow::Unreadable);
    }

    #[test]
    fn ansible_semantics_compare_without_the_lock_and_lock_or_unlock_only_when_needed() {
        let set = want(Some(HASH), true, None);
        assert_eq!(set.decide("u", Some(&known(HASH))), Ok(None));
        assert_eq!(set.decide("u", Some(&known(&format!("!{HASH}")))), Ok(None));
        assert_eq!(
            set.decide("u", Some(&known("$6$old$x"))),
            Ok(Some(Step::Set(HASH.to_owned())))
        );
        assert_eq!(want(Some(HASH), false, None).decide("u", None), Ok(None));
        let locking = want(Some(HASH), true, Some(true));
        assert_eq!(
            locking.decide("u", Some(&known("*"))),
            Ok(Some(Step::Set(format!("!{HASH}"))))
        );
        assert_eq!(
            locking.decide("u", Some(&known(HASH))),
            Ok(Some(Step::Lock))
        );
        let unlock = want(None, true, Some(false));
        assert_eq!(
            unlock.decide("u", Some(&known("!x"))),
            Ok(Some(Step::Unlock))
        );
        assert_eq!(unlock.decide("u", Some(&known("x"))), Ok(None));
        assert_eq!(
            want(Some("!"), true, None).decide("u", Some(&known("$6$a$b"))),
            Ok(Some(Step::Set("!".to_owned())))
        );
        let refused = set
            .decide("u", Some(&Shadow::Unreadable))
            .expect_err("root");
        assert!(refused.0.contains("become: true"), "{refused}");
    }
}
