//! The `Walk` fact: whether a path's folder is reached without following a link another account
//! controls, and nothing else about it. For node-wide locks and stamps (`file`'s `serialize:`,
//! `command`'s lock and stamp), which other targets create and touch: their state would change
//! this host's answer, and its saved plan's fingerprint, whenever a neighbour applies; their
//! reach changes only when a folder is swapped for a link.

use serde::{Deserialize, Serialize};

use crate::facts::{decode, Answer, Kind, Registered};
use crate::script::{n, p, Script};

/// The question: is `path`'s folder reached safely?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Walk {
    pub(crate) path: String,
}

/// Whether the link-safe walk reaches a path's folder.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct Reach {
    /// The link another account controls that leads out of its files, met on the way.
    pub(crate) unsafe_link: Option<String>,
}

impl Answer for Reach {}

/// The kinds that ask it declare it (`Resource::FACT_KINDS`).
pub(super) const DECLARED: &[Registered] = &[Registered::of::<Walk>()];

impl Walk {
    /// The question for `path`.
    pub(crate) fn new(path: &str) -> Self {
        Self {
            path: path.to_owned(),
        }
    }
}

impl Kind for Walk {
    const NAME: &'static str = "Walk";
    /// `_wk IDX PATH` says only whether the walk to PATH's folder is safe (`W IDX ok`, or
    /// `unsafe` and the link).
    const FUNCTIONS: &'static str = r#"_wk() {
  _pd=${2%/*}; [ -n "$_pd" ] || _pd=/
  ( _walk "$_pd"
    if [ "$?" = 2 ]; then printf 'W %s unsafe ' "$1"; printf %s "$_wbad" | base64 -w0; echo; else printf 'W %s ok\n' "$1"; fi )
}
"#;
    type Answer = Reach;

    fn ask(&self, index: u64, probe: &mut Script) {
        probe.fill("  _wk {} {}\n", [n(index), p(&self.path)]);
    }

    fn read(
        &self,
        tag: &str,
        words: &mut dyn Iterator<Item = &str>,
        answer: &mut Option<Reach>,
    ) -> Result<(), &'static str> {
        if tag != "W" {
            return Err("unknown tag");
        }
        let unsafe_link = match words.next() {
            Some("ok") => None,
            Some("unsafe") => {
                Some(String::from_utf8_lossy(&decode(words.next().unwrap_or(""))?).into_owned())
            }
            _ => return Err("bad reach"),
        };
        *answer = Some(Reach { unsafe_link });
        Ok(())
    }

    fn drifted(&self, _: &Reach, _: &Reach) -> String {
        format!("the folders leading to `{}`", self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactSet;

    #[test]
    fn a_walked_lock_answers_the_same_whether_a_neighbour_made_it_or_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = dir.path().join("locks/site.lock");
        let lock = lock.to_str().expect("utf8");
        let mut set = FactSet::default();
        let h = set.ask(Walk::new(lock));
        let before = set.run_here().get(h).clone();
        std::fs::create_dir(dir.path().join("locks")).expect("folder");
        std::fs::write(lock, "").expect("lock");
        assert_eq!(set.run_here().get(h), &before);
        assert_eq!(before, Reach::default(), "reached");
        // The whole reply, hence the saved plan's fingerprint, is the same too.
        std::fs::remove_file(lock).expect("unlock");
        let without = set.reply_here();
        std::fs::write(lock, "taken").expect("lock");
        assert_eq!(set.reply_here(), without);
    }
}
