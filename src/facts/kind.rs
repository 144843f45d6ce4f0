//! Fact kinds beyond the core four (a path, a guard, an output, a module): each is a type in the
//! file of the resource that asks it, implementing `Kind`, so a new question that needs the
//! probe's own machinery (its own shell function and reply lines, one question merged across
//! resources) is written where it is used. A `FactSet` holds them with their type erased
//! (`Asked`, `Answered`); a saved plan reads them back by name, from the kinds the resources
//! declare (`reading`), as `plan::reading` does for plan attributes.

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::FactValue;
use crate::script::Script;

/// A kind of question the one probe answers, declared where its resource lives. The whole reply
/// is the stale-plan fingerprint (its sha256 is checked before applying a saved plan), so what
/// the kind's lines print should change only when the answer does: a yes/no, never an age.
pub(crate) trait Kind:
    fmt::Debug + Clone + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// Its name in saved plans (`{"Releases": {...}}`): unique among kinds.
    const NAME: &'static str;
    /// The shell functions its probe lines call, added once to a probe that asks it (and so to
    /// the apply script's stale check). Their names are the kind's own (`_rel`, `_pkgs`).
    const FUNCTIONS: &'static str;
    /// The typed answer a `Handle` to it reads.
    type Answer: super::Answer
        + fmt::Debug
        + Clone
        + PartialEq
        + Serialize
        + DeserializeOwned
        + Send
        + Sync;

    /// Appends the probe's line asking this question as fact `index`: its function called with
    /// the index, which each of its reply lines carries after its tag.
    fn ask(&self, index: u64, probe: &mut Script);

    /// Reads one reply line of this fact (its `tag`, then the `words` after the index) into
    /// `answer` (`None` until a line started it).
    fn read(
        &self,
        tag: &str,
        words: &mut dyn Iterator<Item = &str>,
        answer: &mut Option<Self::Answer>,
    ) -> Result<(), &'static str>;

    /// Folds `other`, asked by another resource, into this question so that both read one
    /// answer (one apt call for all of a host's packages): true when it did. By default only
    /// an equal question is shared.
    fn merge(&mut self, _other: &Self) -> bool {
        false
    }

    /// Completes a parsed answer with what the question knew (what was wanted), so `decide`
    /// sees it. By default nothing.
    fn finish(&self, _answer: &mut Self::Answer) {}

    /// What changed, named in the stale-plan message ("the releases under `/srv/app`").
    fn drifted(&self, before: &Self::Answer, after: &Self::Answer) -> String;
}

/// A `Kind` with its type erased, so a `FactSet` holds kinds it does not know.
/// Each method is `Kind`'s of the same name, or what `Clone`, `PartialEq` and `Serialize`
/// need through a box.
trait Question: fmt::Debug + Send + Sync {
    /// `Kind::NAME`.
    fn name(&self) -> &'static str;
    /// `Kind::FUNCTIONS`.
    fn functions(&self) -> &'static str;
    /// For `same`.
    fn as_any(&self) -> &dyn Any;
    /// For `Asked::get_mut` (merging).
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// A clone in a box.
    fn boxed(&self) -> Box<dyn Question>;
    /// Equal to `other` (of the same kind and value).
    fn same(&self, other: &dyn Question) -> bool;
    /// As saved, under its name.
    fn json(&self) -> serde_json::Result<serde_json::Value>;
    /// `Kind::ask`.
    fn ask(&self, index: u64, probe: &mut Script);
    /// `Kind::read`, on the erased slot.
    fn read(
        &self,
        tag: &str,
        words: &mut dyn Iterator<Item = &str>,
        slot: &mut Option<FactValue>,
    ) -> Result<(), &'static str>;
    /// `Kind::finish`; false when `answer` is of another kind.
    fn finish(&self, answer: &mut Answered) -> bool;
    /// `Kind::drifted`; `None` when the answers are of another kind.
    fn drifted(&self, before: &Answered, after: &Answered) -> Option<String>;
}

impl<K: Kind> Question for K {
    fn name(&self) -> &'static str {
        K::NAME
    }
    fn functions(&self) -> &'static str {
        K::FUNCTIONS
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn boxed(&self) -> Box<dyn Question> {
        Box::new(self.clone())
    }
    fn same(&self, other: &dyn Question) -> bool {
        other.as_any().downcast_ref::<K>() == Some(self)
    }
    fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
    fn ask(&self, index: u64, probe: &mut Script) {
        Kind::ask(self, index, probe);
    }
    fn read(
        &self,
        tag: &str,
        words: &mut dyn Iterator<Item = &str>,
        slot: &mut Option<FactValue>,
    ) -> Result<(), &'static str> {
        let mut answer = match slot.take() {
            None => None,
            Some(FactValue::Own(own)) => Some(own.take::<K::Answer>().ok_or("another kind")?),
            Some(_) => return Err("another kind"),
        };
        let read = Kind::read(self, tag, words, &mut answer);
        *slot = answer.map(FactValue::of::<K>);
        read
    }
    fn finish(&self, answer: &mut Answered) -> bool {
        answer
            .value
            .as_any_mut()
            .downcast_mut::<K::Answer>()
            .map(|a| Kind::finish(self, a))
            .is_some()
    }
    fn drifted(&self, before: &Answered, after: &Answered) -> Option<String> {
        Some(Kind::drifted(self, before.get()?, after.get()?))
    }
}

/// A `Kind::Answer` with its type erased, as `FactValue::Own` holds it.
trait Reply: fmt::Debug + Send + Sync {
    /// For `Answered::get`.
    fn as_any(&self) -> &dyn Any;
    /// For `Kind::finish`.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// For `Answered::take` (reading further reply lines into it).
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    /// A clone in a box.
    fn boxed(&self) -> Box<dyn Reply>;
    /// Equal to `other` (of the same type and value).
    fn same(&self, other: &dyn Reply) -> bool;
    /// As saved, under its kind's name.
    fn json(&self) -> serde_json::Result<serde_json::Value>;
}

impl<T: fmt::Debug + Clone + PartialEq + Serialize + Send + Sync + 'static> Reply for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
    fn boxed(&self) -> Box<dyn Reply> {
        Box::new(self.clone())
    }
    fn same(&self, other: &dyn Reply) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
    fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// One question of a `Kind`, as `Fact::Own` holds it; saved as `{NAME: question}`.
pub(crate) struct Asked(Box<dyn Question>);

impl Asked {
    /// Holds `question`.
    pub(super) fn new<K: Kind>(question: K) -> Self {
        Self(Box::new(question))
    }

    /// The question, if it is of kind `K`, to merge another into.
    pub(super) fn get_mut<K: Kind>(&mut self) -> Option<&mut K> {
        self.0.as_any_mut().downcast_mut()
    }

    /// Its kind's name.
    pub(super) fn name(&self) -> &'static str {
        self.0.name()
    }

    /// Its kind's shell functions.
    pub(super) fn functions(&self) -> &'static str {
        self.0.functions()
    }

    /// Appends its probe line as fact `index`.
    pub(super) fn ask(&self, index: u64, probe: &mut Script) {
        self.0.ask(index, probe);
    }

    /// Reads one of its reply lines into its slot.
    pub(super) fn read(
        &self,
        tag: &str,
        words: &mut dyn Iterator<Item = &str>,
        slot: &mut Option<FactValue>,
    ) -> Result<(), &'static str> {
        self.0.read(tag, words, slot)
    }

    /// Completes its answer; false when `answer` is of another kind.
    pub(super) fn finish(&self, answer: &mut Answered) -> bool {
        answer.name == self.name() && self.0.finish(answer)
    }

    /// Its wording in the stale-plan message (`None`: the answers are of another kind).
    pub(super) fn drifted(&self, before: &Answered, after: &Answered) -> Option<String> {
        self.0.drifted(before, after)
    }
}

/// The answer to an `Asked`, as `FactValue::Own` holds it; saved as `{NAME: answer}`.
pub(crate) struct Answered {
    name: &'static str,
    value: Box<dyn Reply>,
}

impl Answered {
    /// Holds `value`, an answer of kind `K`.
    pub(super) fn of<K: Kind>(value: K::Answer) -> Self {
        Self {
            name: K::NAME,
            value: Box::new(value),
        }
    }

    /// The answer, if it is a `T`.
    pub(super) fn get<T: 'static>(&self) -> Option<&T> {
        self.value.as_any().downcast_ref()
    }

    /// The answer moved out, if it is a `T`.
    fn take<T: 'static>(self) -> Option<T> {
        self.value.into_any().downcast().ok().map(|b| *b)
    }
}

impl fmt::Debug for Asked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Answered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl Clone for Asked {
    fn clone(&self) -> Self {
        Self(self.0.boxed())
    }
}

impl Clone for Answered {
    fn clone(&self) -> Self {
        Self {
            name: self.name,
            value: self.value.boxed(),
        }
    }
}

impl PartialEq for Asked {
    fn eq(&self, other: &Self) -> bool {
        self.0.same(other.0.as_ref())
    }
}

impl Eq for Asked {}

impl PartialEq for Answered {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.value.same(other.value.as_ref())
    }
}

impl Eq for Answered {}

/// Writes `{name: json}`, the form the core facts' variants have too.
fn tagged<S: Serializer>(
    s: S,
    name: &'static str,
    json: serde_json::Result<serde_json::Value>,
) -> Result<S::Ok, S::Error> {
    let json = json.map_err(serde::ser::Error::custom)?;
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry(name, &json)?;
    map.end()
}

impl Serialize for Asked {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        tagged(s, self.name(), self.0.json())
    }
}

impl Serialize for Answered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        tagged(s, self.name, self.value.json())
    }
}

/// A kind as a saved plan reads it back: its name and how to read its question and answer.
#[derive(Clone, Copy)]
pub(crate) struct Registered {
    name: &'static str,
    question: fn(serde_json::Value) -> serde_json::Result<Asked>,
    answer: fn(serde_json::Value) -> serde_json::Result<Answered>,
}

impl Registered {
    /// Kind `K`'s entry, for the `FACT_KINDS` of the resources that ask it.
    pub(crate) const fn of<K: Kind>() -> Self {
        Self {
            name: K::NAME,
            question: |json| serde_json::from_value::<K>(json).map(Asked::new),
            answer: |json| serde_json::from_value::<K::Answer>(json).map(Answered::of::<K>),
        }
    }
}

thread_local! {
    /// The kinds the resources declare, while `reading` a plan.
    static DECLARED: RefCell<Vec<Registered>> = const { RefCell::new(Vec::new()) };
}

/// Runs `read` (deserializing plans) with `declared` (every resource's fact kinds) known, so
/// each named question and answer reads back as its kind. Facts cannot ask the resources
/// themselves: they sit above them.
pub(crate) fn reading<T>(declared: Vec<Registered>, read: impl FnOnce() -> T) -> T {
    let before = DECLARED.with(|d| d.replace(declared));
    let out = read();
    DECLARED.with(|d| d.replace(before));
    out
}

/// Reads `{name: json}` and the declared kind of that name.
fn untag<'de, D: Deserializer<'de>>(d: D) -> Result<(Registered, serde_json::Value), D::Error> {
    let map = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
    let mut entries = map.into_iter();
    let (Some((name, json)), None) = (entries.next(), entries.next()) else {
        return Err(D::Error::custom("a fact is one kind's name and its value"));
    };
    let kind = DECLARED.with(|d| d.borrow().iter().copied().find(|k| k.name == name));
    let kind = kind.ok_or_else(|| {
        D::Error::custom(format!(
            "it asks the fact `{name}`, which no resource kind of this recon has \
             (a plan made by another version: plan again)"
        ))
    })?;
    Ok((kind, json))
}

impl<'de> Deserialize<'de> for Asked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (kind, json) = untag(d)?;
        (kind.question)(json).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Answered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (kind, json) = untag(d)?;
        (kind.answer)(json).map_err(D::Error::custom)
    }
}

/// Reads a saved fact or answer, `{NAME: value}`: with `core` (the derived reading) when NAME
/// is one of `core_names`, else as the declared kind of that name, wrapped by `own`. Read
/// through a JSON value so that an undeclared kind is refused in those words.
pub(super) fn read_saved<'de, D, T, O>(
    d: D,
    core_names: &[&str],
    core: impl FnOnce(serde_json::Value) -> serde_json::Result<T>,
    own: impl FnOnce(O) -> T,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    O: Deserialize<'static>,
{
    let json = serde_json::Value::deserialize(d)?;
    let name = json.as_object().and_then(|m| m.keys().next());
    if name.is_some_and(|n| core_names.contains(&n.as_str())) {
        core(json)
    } else {
        O::deserialize(json).map(own)
    }
    .map_err(D::Error::custom)
}
