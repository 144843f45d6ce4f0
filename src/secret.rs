//! The process-wide set of secret values (everything recon decrypted from a vault) and scrubbing
//! of text that may contain them, so output paths can mask secrets without knowing where they
//! came from.
//!
//! Values shorter than [`MIN_LEN`] characters are not registered: masking every `on` or `80` in
//! the output would destroy it while hiding almost nothing. A multi-line secret (a key, a
//! certificate) is registered whole and line by line, so a snippet that shows only some of its
//! lines is masked too.

use std::borrow::Cow;
use std::sync::{OnceLock, PoisonError, RwLock};

/// What a secret is replaced with.
pub(crate) const MASK: &str = "********";
/// Shorter values are not secrets worth masking (see the module doc).
pub(crate) const MIN_LEN: usize = 4;

/// A thread-safe set of secret strings, longest first so a secret that contains another is
/// masked whole.
#[derive(Debug, Default)]
pub(crate) struct Secrets {
    values: RwLock<Vec<String>>,
}

impl Secrets {
    /// The set every decrypting loader registers into and every output path scrubs with.
    pub(crate) fn global() -> &'static Secrets {
        static GLOBAL: OnceLock<Secrets> = OnceLock::new();
        GLOBAL.get_or_init(Secrets::default)
    }

    /// Adds `value` (and, when it spans lines, each of its lines) unless too short.
    pub(crate) fn register(&self, value: &str) {
        let mut candidates = vec![value];
        if value.contains('\n') {
            candidates.extend(value.lines().map(str::trim));
        }
        let mut values = self.values.write().unwrap_or_else(PoisonError::into_inner);
        for candidate in candidates {
            if candidate.chars().count() >= MIN_LEN && !values.iter().any(|v| v == candidate) {
                values.push(candidate.to_owned());
            }
        }
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// `text` with every registered secret replaced by [`MASK`]; borrowed when nothing matched.
    pub(crate) fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let values = self.values.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = Cow::Borrowed(text);
        for value in values.iter() {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), MASK));
            }
        }
        out
    }
}

/// Registers `value` in the process-wide set.
pub(crate) fn register(value: &str) {
    Secrets::global().register(value);
}

/// Scrubs `text` with the process-wide set.
pub(crate) fn scrub(text: &str) -> Cow<'_, str> {
    Secrets::global().scrub(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_and_borrows_when_clean() {
        let secrets = Secrets::default();
        secrets.register("hunter2");
        assert_eq!(
            secrets.scrub("pw=hunter2; again hunter2"),
            "pw=********; again ********"
        );
        assert!(matches!(secrets.scrub("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn short_values_are_ignored() {
        let secrets = Secrets::default();
        secrets.register("on");
        secrets.register("abc");
        assert_eq!(secrets.scrub("on abc"), "on abc");
        secrets.register("abcd");
        assert_eq!(secrets.scrub("on abcd"), "on ********");
    }

    #[test]
    fn longer_secret_wins_over_the_one_it_contains() {
        let secrets = Secrets::default();
        secrets.register("pass");
        secrets.register("password123");
        assert_eq!(secrets.scrub("password123 pass"), "******** ********");
    }

    #[test]
    fn multi_line_secrets_mask_line_by_line() {
        let secrets = Secrets::default();
        secrets.register("-----BEGIN KEY-----\nAAAAB3Nza\n-----END KEY-----\n");
        assert_eq!(secrets.scrub("line 2: AAAAB3Nza"), "line 2: ********");
    }

    #[test]
    fn registering_from_many_threads_is_safe() {
        let secrets = Secrets::default();
        std::thread::scope(|s| {
            for i in 0..8 {
                let secrets = &secrets;
                s.spawn(move || secrets.register(&format!("secret-{i}")));
            }
        });
        assert_eq!(secrets.scrub("secret-3 secret-7"), "******** ********");
    }
}
