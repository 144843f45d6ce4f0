//! A kind of its own in one file and one registry line: the guide's worked example (`mark.rs`,
//! registered for the unit tests) plans with its own attribute, its plan reads back, its result
//! has its own shape; a kind sets a fact through the trait; the guide shows `mark.rs` verbatim.

use std::collections::BTreeMap;

use super::{declared_fields, sets_fact, Situation};
use crate::facts::{FactSet, FactValue, Facts, PathState};
use crate::plan::{Change, Field};
use crate::registered::{value, ItemResult, RegisteredItem, Registration};
use crate::source::SourceFile;
use crate::yaml::Node;

/// A task's arguments, as the compiler hands them to a builder.
fn args(yaml: &str) -> Node {
    let file = SourceFile::new("task.yml", yaml);
    crate::yaml::parse(&file).expect("the test's YAML parses")
}

/// `mark` built through the registry, its change planned against an absent path.
fn planned_mark() -> (super::Compiled, Change) {
    let mark = super::testing::build_from_yaml("mark", "path: /srv/mark\ntext: hello\n", None)
        .expect("builds");
    let mut set = FactSet::default();
    let asked = mark.ask(&mut set);
    let facts = Facts::answered(vec![FactValue::Path(PathState::default())]);
    let decided = mark.decide(&*asked, &facts, Situation::default());
    let change = decided.expect("decides").expect("a change").change;
    (mark, change)
}

#[test]
fn a_kind_of_its_own_plans_with_its_own_attribute_and_its_plan_reads_back() {
    let (mark, change) = planned_mark();
    assert_eq!(mark.kind(), "mark", "the kind is the registry line's name");
    let text = change.fields[0].field;
    assert_eq!(
        (text.name(), change.fields[0].after.as_deref()),
        ("text", Some("hello"))
    );
    assert!(mark.declares(text) && !Field::COMMON.contains(&text));
    let json = serde_json::to_string(&change).expect("serializes");
    assert!(json.contains(r#""field":"text""#), "{json}");
    let back: Change = crate::plan::reading(declared_fields(), || serde_json::from_str(&json))
        .expect("a declared attribute reads back");
    assert_eq!(back, change);
    // Read without the kinds' attributes (as a plan of a recon that has no `mark`): refused.
    let err = serde_json::from_str::<Change>(&json).expect_err("an unknown attribute");
    assert!(
        err.to_string().contains("`text`, which no resource kind"),
        "{err}"
    );
    assert!(err.to_string().contains("plan again"), "{err}");
}

#[test]
fn a_kind_of_its_own_shapes_its_registered_result() {
    let (mark, _) = planned_mark();
    let registration = Registration {
        seq: 0,
        looped: false,
        items: vec![RegisteredItem {
            item: None,
            skipped: false,
            shape: mark.result_shape(),
        }],
    };
    let result = value(&registration, |_| {
        Some(ItemResult {
            changed: true,
            stdout: "hello\n".into(),
            ..ItemResult::default()
        })
    });
    let marked = result.get_attr("marked").expect("marked");
    assert_eq!(marked.as_str(), Some("hello"));
    assert!(result.get_attr("changed").expect("changed").is_true());
}

#[test]
fn a_kind_sets_its_fact_through_the_trait() {
    let getent = args("database: passwd\n");
    assert_eq!(
        sets_fact("getent", &getent).as_deref(),
        Some("getent_passwd")
    );
    assert_eq!(sets_fact("mark", &args("path: /x\ntext: y\n")), None);
    assert_eq!(sets_fact("no_such_kind", &getent), None);
}

#[test]
fn every_attribute_name_has_one_meaning() {
    let mut seen: BTreeMap<&str, Field> = BTreeMap::new();
    for field in Field::COMMON.iter().chain(&declared_fields()) {
        let first = *seen.entry(field.name()).or_insert(*field);
        assert_eq!(
            first,
            *field,
            "`{}` declared twice, differently",
            field.name()
        );
    }
    assert!(seen.len() > Field::COMMON.len(), "kinds declare their own");
}

/// Plans saved before attributes were open name them as the closed list did: each still reads
/// back (and as the same attribute, written back under the same name).
#[test]
fn every_attribute_a_plan_saved_earlier_names_still_reads_back() {
    let earlier = "content mode owner group target kind prune leftovers package uid gid shell \
                   home primary groups system password locked key state enabled masked logging \
                   entry commit remote service rule policy shared prepare value";
    for name in earlier.split_whitespace() {
        let json = format!("\"{name}\"");
        let field: Field = crate::plan::reading(declared_fields(), || serde_json::from_str(&json))
            .unwrap_or_else(|e| panic!("`{name}` no longer reads back: {e}"));
        assert_eq!(serde_json::to_string(&field).expect("writes"), json);
    }
}

/// docs/ARCHITECTURE.md's worked example is `mark.rs`, so it compiles, passes fmt and clippy,
/// and its tests run.
#[test]
fn the_guide_shows_the_worked_example_verbatim() {
    let guide = include_str!("../../docs/ARCHITECTURE.md");
    let section = guide
        .split_once("## Adding a resource")
        .expect("the guide has the section")
        .1;
    let example = section
        .split_once("```rust\n")
        .and_then(|(_, rest)| rest.split_once("```\n"))
        .expect("the section opens with a Rust example")
        .0;
    assert_eq!(example, include_str!("mark.rs"));
}
