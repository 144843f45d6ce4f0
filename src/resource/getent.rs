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

/// The fact a `getent` task sets (`getent_passwd`), from its rendered arguments.
pub(crate) fn fact_name(args: &Node) -> Option<String> {
    let database = args.get("database")?.scalar_text()?;
    Some(format!("getent_{database}"))
}

impl Resource for Getent {
    type Asked = ();
    type Decision = ();

    fn kind(&self) -> &'static str {
        "getent"
    }

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

    fn result_shape(&self) -> crate::registered::Shape {
        crate::registered::Shape::Getent
    }
}
