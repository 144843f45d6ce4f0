//! `getent: { database, key, split, fail_key }`: reads a name-service database for later tasks,
//! as Ansible's `getent` module does. It only reads: it runs as a query between rounds (see
//! registered.rs) and sets the fact `getent_<database>` (a mapping of each entry's first field
//! to the list of its other fields).

use super::{BuildContext, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{FactSet, Facts};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::Change;
use crate::registered::{Shape, Shaped};
use crate::script::{w, Script};
use crate::yaml::Node;

/// A database lookup.
#[derive(Debug, Clone)]
pub(crate) struct Getent {
    pub(crate) database: String,
    pub(crate) key: Option<String>,
    /// The field separator (`:` for passwd, group, shadow and gshadow; else whitespace).
    pub(crate) split: Option<String>,
    /// A missing `key` fails the task (Ansible's default).
    pub(crate) fail_key: bool,
}

/// The arguments of `getent`.
pub(super) const ARGS: Groups = &[&[
    Arg::str("database")
        .required()
        .doc("`passwd`, `group`, `hosts`, ...: the fact is `getent_<database>`")
        .ansible(&["database"]),
    Arg::str("key")
        .default_note("every entry")
        .doc("one entry")
        .ansible(&["key"]),
    Arg::str("split")
        .default_note("`:` for passwd, group, shadow, gshadow; else whitespace")
        .doc("the field separator")
        .ansible(&["split"]),
    Arg::bool("fail_key")
        .default("true")
        .doc("a missing `key` fails the task")
        .ansible(&["fail_key"]),
    Arg::str("service")
        .doc("accepted and not used: the host's nsswitch.conf decides")
        .ansible(&["service"]),
]];

/// Databases whose entries Ansible splits at `:`.
const COLON: &[&str] = &["passwd", "shadow", "group", "gshadow"];

/// Builds a `getent` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Getent> {
    let f = Fields::declared(args, "`getent`", ARGS)?;
    let database = f.required_string("database")?;
    if !database
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(Error::invalid(
            format!("`{database}` is not a getent database"),
            &f.require("database")?.span,
        )
        .with_label("here"));
    }
    let split = f
        .string("split")?
        .or_else(|| COLON.contains(&database.as_str()).then(|| ":".to_owned()));
    Ok(Getent {
        key: f.string("key")?,
        split,
        fail_key: f.flag("fail_key")?,
        database,
    })
}

impl Resource for Getent {
    type Asked = ();
    type Decision = ();

    fn id(&self) -> String {
        match &self.key {
            Some(key) => format!("{} {key}", self.database),
            None => self.database.clone(),
        }
    }

    fn ask(&self, _: &mut FactSet) {}

    /// Never a step: it only reads, as a query.
    fn decide(&self, (): &(), _: &Facts, _: Situation) -> Result<Option<(Change, ())>, Problem> {
        Ok(None)
    }

    fn script(&self, (): &(), _: &mut Script) {}

    /// Prints the separator on the first line, then `getent`'s answer; exit 2 (a missing key)
    /// is a success when `fail_key` is off.
    fn query(&self, out: &mut Script) -> bool {
        out.fill(
            "printf '%s\\n' {}\ngetent {}",
            [w(self.split.as_deref().unwrap_or("")), w(&self.database)],
        );
        if let Some(key) = &self.key {
            out.code(" --").words([key.as_str()]);
        }
        out.code("\n_rc=$?\n");
        if !self.fail_key {
            out.code("[ $_rc -eq 2 ] && exit 0\n");
        }
        out.code("exit $_rc\n");
        true
    }

    fn reads_only(&self) -> bool {
        true
    }

    /// `getent_<database>` (`getent_passwd`).
    fn sets_fact(args: &Node) -> Option<String> {
        let database = args.get("database")?.scalar_text()?;
        Some(format!("getent_{database}"))
    }

    fn result_shape(&self) -> Shape {
        FACT
    }
}

/// A `getent` result: the fact itself, a mapping of entries (the first line printed is the
/// field separator, the rest `getent`'s answer).
const FACT: Shape = Shape::new("getent", |r| {
    let (split, rest) = r.stdout.split_once('\n').unwrap_or(("", ""));
    Shaped::Whole(entries(rest, Some(split).filter(|s| !s.is_empty())))
});

/// The `getent` fact's value from `getent`'s output: each line's first field to its other
/// fields.
fn entries(output: &str, split: Option<&str>) -> minijinja::Value {
    let mut map: std::collections::BTreeMap<String, minijinja::Value> =
        std::collections::BTreeMap::new();
    for line in output.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = match split {
            Some(sep) if !sep.is_empty() => line.split(sep).collect(),
            _ => line.split_whitespace().collect(),
        };
        if let Some((first, rest)) = fields.split_first() {
            let rest: Vec<minijinja::Value> =
                rest.iter().map(|f| minijinja::Value::from(*f)).collect();
            map.insert((*first).to_owned(), minijinja::Value::from(rest));
        }
    }
    minijinja::Value::from_iter(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getent_entries_map_the_first_field_to_the_others() {
        let v = entries("root:x:0:0:root:/root:/bin/bash\n", Some(":"));
        let root = v.get_attr("root").expect("root");
        assert_eq!(root.len(), Some(6));
        let v = entries("http  80/tcp  www\n", None);
        assert_eq!(v.get_attr("http").expect("http").len(), Some(2));
    }
}
