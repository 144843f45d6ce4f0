//! `stat: { path, follow, get_checksum }`: reads a path's state for a later task, as Ansible's
//! `stat` module does. It only reads: it never changes anything and never is a step; it runs as a
//! query between rounds (see registered.rs) and its result is `{ stat: { exists, isdir, ... } }`.

use std::collections::BTreeMap;

use minijinja::Value as JValue;

use super::args::checked_path;
use super::{BuildContext, Problem, Resource, Situation};
use crate::error::Result;
use crate::facts::{FactSet, Facts};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::Change;
use crate::registered::{Shape, Shaped};
use crate::script::{p, Script};
use crate::yaml::Node;

/// A path to describe.
#[derive(Debug, Clone)]
pub(crate) struct Stat {
    pub(crate) path: String,
    /// Describe what a link points to rather than the link.
    pub(crate) follow: bool,
    pub(crate) checksum: bool,
}

/// The arguments of `stat`.
pub(super) const ARGS: Groups = &[&[
    Arg::path("path")
        .required()
        .doc("the path read")
        .ansible(&["path"]),
    Arg::bool("follow")
        .default("false")
        .doc("follow a final symbolic link")
        .ansible(&["follow"]),
    Arg::bool("get_checksum")
        .default("true")
        .doc("the sha1 `checksum` of a regular file")
        .ansible(&["get_checksum"]),
    Arg::str("checksum_algorithm")
        .default("sha1")
        .doc("only `sha1`")
        .ansible(&["checksum_algorithm"]),
    Arg::bool("get_mime").doc("ignored").ansible(&["get_mime"]),
    Arg::bool("get_attributes")
        .doc("ignored")
        .ansible(&["get_attributes"]),
    Arg::bool("get_md5").doc("ignored").ansible(&["get_md5"]),
]];

/// Builds a `stat` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Stat> {
    let f = Fields::declared(args, "`stat`", ARGS)?;
    let path = checked_path(&f.required_string("path")?, f.require("path")?)?;
    if let Some(algorithm) = f.string("checksum_algorithm")? {
        if algorithm != "sha1" {
            return Err(crate::error::Error::invalid(
                format!("`checksum_algorithm: {algorithm}` is not supported (recon reports sha1, Ansible's default)"),
                &f.require("checksum_algorithm")?.span,
            )
            .with_label("here"));
        }
    }
    Ok(Stat {
        path,
        follow: f.flag("follow")?,
        checksum: f.flag("get_checksum")?,
    })
}

/// Prints `key=value` lines about `$1` (the fields of Ansible's `stat` result); `$2` = `-L` to
/// follow a link, `$3` = `1` for the sha1 checksum of a regular file.
const STAT_BODY: &str = r#"_sp=$1
if ! [ -e "$_sp" ] && ! [ -L "$_sp" ]; then echo exists=false; exit 0; fi
if [ "$2" = -L ] && ! [ -e "$_sp" ]; then echo exists=false; exit 0; fi
echo exists=true
stat $2 -c 'mode=%a
uid=%u
gid=%g
size=%s
pw_name=%U
gr_name=%G
mtime=%Y
nlink=%h
inode=%i
dev=%d' -- "$_sp" || exit 1
_t=; if [ "$2" = -L ]; then _t=-L; fi
if [ -d "$_sp" ] && { [ -n "$_t" ] || ! [ -L "$_sp" ]; }; then echo isdir=true; else echo isdir=false; fi
if [ -f "$_sp" ] && { [ -n "$_t" ] || ! [ -L "$_sp" ]; }; then echo isreg=true; else echo isreg=false; fi
if [ -L "$_sp" ] && [ -z "$_t" ]; then
  echo islnk=true
  printf 'lnk_target=%s\n' "$(readlink -- "$_sp")"
  printf 'lnk_source=%s\n' "$(readlink -f -- "$_sp")"
else echo islnk=false; fi
if [ -r "$_sp" ]; then echo readable=true; else echo readable=false; fi
if [ -w "$_sp" ]; then echo writeable=true; else echo writeable=false; fi
if [ -x "$_sp" ]; then echo executable=true; else echo executable=false; fi
if [ "$3" = 1 ] && [ -f "$_sp" ] && [ -r "$_sp" ]; then
  _c=$(sha1sum < "$_sp") && printf 'checksum=%s\n' "${_c%% *}"
fi
"#;

impl Resource for Stat {
    type Asked = ();
    type Decision = ();

    fn id(&self) -> String {
        self.path.clone()
    }

    fn ask(&self, _: &mut FactSet) {}

    /// Never a step: it only reads, as a query.
    fn decide(&self, (): &(), _: &Facts, _: Situation) -> Result<Option<(Change, ())>, Problem> {
        Ok(None)
    }

    fn script(&self, (): &(), _: &mut Script) {}

    fn query(&self, out: &mut Script) -> bool {
        out.fill(
            "set -- {} {} {}\n",
            [
                p(&self.path),
                crate::script::w(if self.follow { "-L" } else { "" }),
                crate::script::w(if self.checksum { "1" } else { "0" }),
            ],
        )
        .code(STAT_BODY);
        true
    }

    fn reads_only(&self) -> bool {
        true
    }

    fn result_shape(&self) -> Shape {
        STAT
    }
}

/// A `stat` result: the `key=value` lines printed, as a mapping under `stat`.
const STAT: Shape = Shape::new("stat", |r| {
    Shaped::Fields(BTreeMap::from([("stat".to_owned(), stat_value(&r.stdout))]))
});

/// A `stat` result from its `key=value` lines: `true`/`false` as booleans, numbers as numbers,
/// `mode` as Ansible's four-digit octal text.
fn stat_value(text: &str) -> JValue {
    let mut map: BTreeMap<String, JValue> = BTreeMap::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let typed = match (key, value) {
            ("mode", v) => JValue::from(format!("{v:0>4}")),
            (_, "true") => JValue::from(true),
            (_, "false") => JValue::from(false),
            ("lnk_target" | "lnk_source" | "checksum" | "pw_name" | "gr_name", v) => {
                JValue::from(v)
            }
            (_, v) => v
                .parse::<i64>()
                .map_or_else(|_| JValue::from(v), JValue::from),
        };
        map.insert(key.to_owned(), typed);
    }
    JValue::from_iter(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_result_is_typed() {
        let v = stat_value("exists=true\nmode=644\nuid=0\npw_name=root\nisdir=false\n");
        assert_eq!(v.get_attr("mode").expect("mode").as_str(), Some("0644"));
        assert!(v.get_attr("exists").expect("exists").is_true());
        assert!(!v.get_attr("isdir").expect("isdir").is_true());
        assert_eq!(v.get_attr("uid").expect("uid").as_i64(), Some(0));
    }
}
