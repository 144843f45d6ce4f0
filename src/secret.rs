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

    /// Whether any registered secret occurs in `text` (a rendered file that used one is
    /// sensitive).
    pub(crate) fn occurs_in(&self, text: &str) -> bool {
        let values = self.values.read().unwrap_or_else(PoisonError::into_inner);
        values.iter().any(|v| text.contains(v.as_str()))
    }

    /// Every registered value, to carry into a saved plan (sealed) so `apply FILE` masks the
    /// same values.
    pub(crate) fn values(&self) -> Vec<String> {
        self.values
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every string inside a JSON value scrubbed (keys too), so `--json` masks a secret
    /// whatever escaping JSON would give it.
    pub(crate) fn scrub_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value as J;
        match value {
            J::String(s) => {
                if let Cow::Owned(clean) = self.scrub(s) {
                    *s = clean;
                }
            }
            J::Array(items) => items.iter_mut().for_each(|v| self.scrub_json(v)),
            J::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut v) in entries {
                    self.scrub_json(&mut v);
                    map.insert(self.scrub(&k).into_owned(), v);
                }
            }
            J::Null | J::Bool(_) | J::Number(_) => {}
        }
    }
}

/// Whether a registered secret occurs in `text`.
pub(crate) fn occurs_in(text: &str) -> bool {
    Secrets::global().occurs_in(text)
}

/// Whether any secret is registered at all: lets callers skip building text to search (a run
/// without secrets pays nothing for taint tracking).
pub(crate) fn any() -> bool {
    !Secrets::global()
        .values
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .is_empty()
}

/// Every registered secret (see [`Secrets::values`]).
pub(crate) fn values() -> Vec<String> {
    Secrets::global().values()
}

/// `value` serialized as pretty JSON with every secret masked.
pub(crate) fn json_pretty(value: &impl serde::Serialize) -> String {
    let mut json = serde_json::to_value(value).unwrap_or_default();
    Secrets::global().scrub_json(&mut json);
    serde_json::to_string_pretty(&json).unwrap_or_default()
}

/// Prints `text` to stdout with every secret masked: the one way commands print results.
pub(crate) fn print(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(scrub(text).as_bytes());
    let _ = out.flush();
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
    fn json_strings_and_keys_are_scrubbed_whatever_their_escaping() {
        let secrets = Secrets::default();
        secrets.register("p\"w\\1");
        let mut value = serde_json::json!({ "out": "x p\"w\\1 y", "p\"w\\1": [1, "p\"w\\1"] });
        secrets.scrub_json(&mut value);
        let text = value.to_string();
        assert!(!text.contains("p\\\"w"), "{text}");
        assert!(secrets.occurs_in("a p\"w\\1"));
        assert!(!secrets.occurs_in("a p\"w"));
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
