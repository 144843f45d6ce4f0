//! A fact kind defined in this file alone (as a resource's file would), shown to be probed by
//! the one probe under a real `sh`, parsed into its typed answer, merged across resources,
//! fingerprinted (the reply a saved plan is checked against), worded in the stale-plan message
//! and read back from a saved plan only when declared.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{sha256_hex, Answer, FactSet, FactValue, Facts, Kind, Registered};
use crate::script::{n, p, Script};

/// Which of `names` exist in `dir`: one question per folder, the names of every resource
/// asking about it merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Present {
    dir: String,
    names: Vec<String>,
}

/// The names found, and how many were asked (completed from the question).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
struct Found {
    names: BTreeSet<String>,
    asked: usize,
}

impl Answer for Found {}

impl Kind for Present {
    const NAME: &'static str = "Present";
    const FUNCTIONS: &'static str = r#"_present() {
  _xi=$1; _xd=$2; shift 2
  printf 'X %s\n' "$_xi"
  for _xn in "$@"; do [ -e "$_xd/$_xn" ] && printf 'XF %s %s\n' "$_xi" "$_xn"; done
  return 0
}
"#;
    type Answer = Found;

    fn ask(&self, index: u64, probe: &mut Script) {
        probe.fill("  _present {} {}", [n(index), p(&self.dir)]);
        probe.words(self.names.iter().map(String::as_str));
        probe.code("\n");
    }

    fn read(
        &self,
        tag: &str,
        words: &mut dyn Iterator<Item = &str>,
        answer: &mut Option<Found>,
    ) -> Result<(), &'static str> {
        match tag {
            "X" => *answer = Some(Found::default()),
            "XF" => {
                let found = answer.as_mut().ok_or("`XF` before `X`")?;
                found
                    .names
                    .insert(words.next().ok_or("no name")?.to_owned());
            }
            _ => return Err("unknown tag"),
        }
        Ok(())
    }

    fn merge(&mut self, other: &Self) -> bool {
        if other.dir != self.dir {
            return false;
        }
        for name in &other.names {
            if !self.names.contains(name) {
                self.names.push(name.clone());
            }
        }
        true
    }

    fn finish(&self, answer: &mut Found) {
        answer.asked = self.names.len();
    }

    fn drifted(&self, before: &Found, after: &Found) -> String {
        format!(
            "the names present in `{}` (was {:?}, now {:?})",
            self.dir, before.names, after.names
        )
    }
}

/// A saved plan's facts and answers.
type Saved = (FactSet, Vec<FactValue>);

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_kind_in_one_file_is_probed_merged_parsed_fingerprinted_and_worded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_text = dir.path().to_str().expect("utf8").to_owned();
    std::fs::write(dir.path().join("a"), "").expect("a");
    let mut set = FactSet::default();
    let first = set.ask(Present {
        dir: dir_text.clone(),
        names: names(&["a", "b"]),
    });
    set.path("/", super::Want::Never);
    let second = set.ask(Present {
        dir: dir_text.clone(),
        names: names(&["b", "c"]),
    });
    let elsewhere = set.ask(Present {
        dir: "/nonexistent".into(),
        names: names(&["a"]),
    });
    assert_eq!(set.facts.len(), 3, "merged by folder, not by resource");
    let script = set.probe_script();
    assert_eq!(
        script.as_str().matches("_present() {").count(),
        1,
        "functions once"
    );

    let before_reply = set.reply_here();
    let before: Facts = set.parse(&before_reply).expect("parses");
    let found = before.get(first);
    assert_eq!(found.names, BTreeSet::from(["a".to_owned()]));
    assert_eq!(found.asked, 3, "finished with the merged question");
    assert_eq!(before.get(second), found, "both resources read one answer");
    assert!(before.get(elsewhere).names.is_empty());

    // The fingerprint (sha256 of the reply) holds while nothing asked about changes...
    std::fs::write(dir.path().join("unrelated"), "").expect("unrelated");
    assert_eq!(
        sha256_hex(set.reply_here().as_bytes()),
        sha256_hex(before_reply.as_bytes())
    );
    // ... and moves when the answer does, which the stale-plan message names.
    std::fs::write(dir.path().join("c"), "").expect("c");
    let now_reply = set.reply_here();
    assert_ne!(
        sha256_hex(now_reply.as_bytes()),
        sha256_hex(before_reply.as_bytes())
    );
    let now = set.parse(&now_reply).expect("parses");
    let drifted: Vec<String> = set
        .facts
        .iter()
        .zip(before.values())
        .zip(now.values())
        .filter(|((_, was), now)| was != now)
        .map(|((fact, was), now)| fact.drifted(was, now))
        .collect();
    assert_eq!(
        drifted,
        [format!(
            "the names present in `{dir_text}` (was {{\"a\"}}, now {{\"a\", \"c\"}})"
        )]
    );
}

#[test]
fn a_saved_plan_reads_a_kind_back_only_where_a_resource_declares_it() {
    let mut set = FactSet::default();
    set.ask(Present {
        dir: "/srv".into(),
        names: names(&["x"]),
    });
    let facts = set.parse("@@probe\nX 0\nXF 0 x\n@@end\n").expect("parses");
    let saved = serde_json::to_string(&(&set, facts.values())).expect("saves");
    assert!(
        saved.contains(r#"{"Present":{"dir":"/srv","names":["x"]}}"#),
        "{saved}"
    );
    let back: Saved = super::reading(vec![Registered::of::<Present>()], || {
        serde_json::from_str(&saved)
    })
    .expect("reads back");
    assert_eq!(back.0.facts, set.facts);
    assert_eq!(back.1, facts.values());
    let refused = serde_json::from_str::<Saved>(&saved).expect_err("undeclared: refused");
    assert!(
        refused
            .to_string()
            .contains("asks the fact `Present`, which no resource kind of this recon has"),
        "{refused}"
    );
}

#[test]
fn core_facts_and_answers_read_back_as_before_without_any_kind() {
    let mut set = FactSet::default();
    set.path("/etc", super::Want::UnlessSha("ab".into()));
    set.guard(Script::of("true"));
    set.output(Script::of("echo hi"));
    set.module(b"print(1)", "python3", "summary");
    let values = vec![
        FactValue::Path(super::PathState::default()),
        FactValue::Guard(super::Exit(1)),
        FactValue::Output(super::CommandOutput {
            status: 0,
            stdout: "hi".into(),
        }),
        FactValue::Output(super::CommandOutput {
            status: 0,
            stdout: "{}".into(),
        }),
    ];
    let saved = serde_json::to_string(&(&set, &values)).expect("saves");
    assert!(
        saved.starts_with(r#"[{"facts":[{"Path":{"path":"/etc""#),
        "{saved}"
    );
    let back: Saved = serde_json::from_str(&saved).expect("reads back");
    assert_eq!((back.0.facts, back.1), (set.facts, values));
}
