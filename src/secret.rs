//! The process-wide set of secret values (everything recon decrypted from a vault) and scrubbing
//! of text that may contain them, so output paths can mask secrets without knowing where they
//! came from.
//!
//! Values shorter than [`MIN_LEN`] characters are not registered as secrets: masking every `on`
//! or `80` inside other text would destroy the output while hiding almost nothing. A short value
//! *derived* from a secret (`{{ token[:2] }}`, `{{ token | length }}`, a bool a test on a secret
//! gave) is registered as a **word** instead: masked wherever it stands as a whole word (not
//! inside a longer one), so it is hidden where it is printed without wrecking other text. A
//! multi-line secret (a key, a certificate) is registered whole and line by line, so a snippet
//! that shows only some of its lines is masked too.

use std::borrow::Cow;
use std::sync::{OnceLock, PoisonError, RwLock};

/// What a secret is replaced with.
pub(crate) const MASK: &str = "********";
/// Shorter values are not secrets worth masking (see the module doc).
pub(crate) const MIN_LEN: usize = 4;

/// A thread-safe set of secret strings, longest first so a secret that contains another is
/// masked whole, and of short derived values masked as whole words.
#[derive(Debug, Default)]
pub(crate) struct Secrets {
    values: RwLock<Vec<String>>,
    words: RwLock<Vec<String>>,
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

    /// Adds a short value derived from a secret as a word (see the module doc). A bool is a
    /// word in both spellings (`True`, `true`).
    pub(crate) fn register_word(&self, value: &str) {
        if !value.chars().any(char::is_alphanumeric) {
            // Empty, or only punctuation: as a word it would mask every `*` and `-` printed.
            return;
        }
        let mut words = self.words.write().unwrap_or_else(PoisonError::into_inner);
        let lower = value.to_lowercase();
        let spellings: &[&str] = match lower.as_str() {
            "true" | "false" => &[value, &lower],
            _ => &[value],
        };
        for spelling in spellings {
            if !words.iter().any(|w| w == spelling) {
                words.push((*spelling).to_owned());
            }
        }
    }

    /// `text` with every registered secret replaced by [`MASK`], and every registered word
    /// that stands as a whole word; borrowed when nothing matched.
    pub(crate) fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let values = self.values.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = Cow::Borrowed(text);
        for value in values.iter() {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), MASK));
            }
        }
        let words = self.words.read().unwrap_or_else(PoisonError::into_inner);
        for word in words.iter() {
            if let Some(masked) = mask_word(&out, word) {
                out = Cow::Owned(masked);
            }
        }
        out
    }

    /// Whether a registered word stands as a whole word in `text` (a loop item or a fact made
    /// of a short derived value is secret too).
    pub(crate) fn word_in(&self, text: &str) -> bool {
        let words = self.words.read().unwrap_or_else(PoisonError::into_inner);
        words.iter().any(|w| mask_word(text, w).is_some())
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

    /// Every registered word (see [`Secrets::values`]).
    pub(crate) fn words(&self) -> Vec<String> {
        self.words
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

/// `text` with each occurrence of `word` that stands as a whole word (no letter, digit or `_`
/// on either side) replaced by [`MASK`]; `None` when there is none.
fn mask_word(text: &str, word: &str) -> Option<String> {
    let inside = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::new();
    let mut rest = 0;
    let mut found = false;
    for (at, _) in text.match_indices(word) {
        let end = at + word.len();
        if inside(text[..at].chars().next_back()) || inside(text[end..].chars().next()) {
            continue;
        }
        out.push_str(&text[rest..at]);
        out.push_str(MASK);
        rest = end;
        found = true;
    }
    if !found {
        return None;
    }
    out.push_str(&text[rest..]);
    Some(out)
}

/// Whether a registered secret occurs in `text`.
pub(crate) fn occurs_in(text: &str) -> bool {
    Secrets::global().occurs_in(text)
}

/// Whether a registered secret or word occurs in `text` (a ready-made value holds one).
pub(crate) fn holds(text: &str) -> bool {
    occurs_in(text) || Secrets::global().word_in(text)
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

/// Every registered word (see [`Secrets::words`]).
pub(crate) fn words() -> Vec<String> {
    Secrets::global().words()
}

/// Registers a word (see [`Secrets::register_word`]).
pub(crate) fn register_word(value: &str) {
    Secrets::global().register_word(value);
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
    fn short_derived_values_are_masked_as_whole_words_only() {
        let secrets = Secrets::default();
        secrets.register_word("Ab");
        secrets.register_word("True");
        secrets.register_word("-");
        assert_eq!(
            secrets.scrub("x: Ab; Abc, cAb, (Ab) true True trueish - a-b"),
            "x: ********; Abc, cAb, (********) ******** ******** trueish - a-b"
        );
        assert!(secrets.word_in("[Ab]") && !secrets.word_in("Abc"));
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
