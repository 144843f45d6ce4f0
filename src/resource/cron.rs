//! `cron: { name, job, minute, hour, day, month, weekday | special_time, user, env, disabled,
//! cron_file, state }`: one named entry in an account's crontab or in an `/etc/cron.d` file.
//!
//! An entry is a block: the marker comment `# recon: NAME`, its `env` lines (`KEY=value`, which
//! cron applies to every later line too, as in any crontab), and the job line (commented out
//! when `disabled`). The plan shows the exact diff of the crontab. The apply edits the table as
//! it is at apply time (an awk pass replaces the block in place or appends it), so several
//! entries of one table in one plan compose instead of overwriting each other.

use super::args::{account_name, checked_path, refuse_with_absent, state};
use super::file::text_diff;
use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Sharing, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle};
use crate::fields::{scalar, Fields};
use crate::plan::{Action, Change, Field};
use crate::script::{p, w, Script};
use crate::yaml::Node;

const KEYS: &[&str] = &[
    "name",
    "job",
    "minute",
    "hour",
    "day",
    "month",
    "weekday",
    "special_time",
    "user",
    "env",
    "disabled",
    "cron_file",
    "state",
];

const SPECIAL: &[&str] = &[
    "reboot", "yearly", "annually", "monthly", "weekly", "daily", "hourly",
];

/// A named cron entry.
#[derive(Debug, Clone)]
pub(crate) struct Cron {
    pub(crate) name: String,
    /// The account whose crontab (or, in a cron file, which account runs the job).
    pub(crate) user: Option<String>,
    pub(crate) file: Option<String>,
    /// The lines after the marker; `None` for `state: absent`.
    pub(crate) lines: Option<Vec<String>>,
}

/// Builds a `cron` entry from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Cron> {
    let f = Fields::new(args, "`cron`", KEYS)?;
    let name = one_line(&f, "name")?.unwrap_or_default();
    if name.trim().is_empty() {
        return Err(f.missing("name"));
    }
    let user = match f.get("user") {
        Some(_) => Some(account_name(&f, "user")?),
        None => None,
    };
    let cron_file = match f.get("cron_file") {
        Some(node) => {
            let text = f.required_string("cron_file")?;
            let full = if text.contains('/') {
                text
            } else {
                format!("/etc/cron.d/{text}")
            };
            Some(checked_path(&full, node)?)
        }
        None => None,
    };
    if cron_file.is_some() && user.is_none() {
        return Err(Error::invalid(
            "a `cron_file` entry needs `user` (the account that runs the job)",
            &f.require("cron_file")?.span,
        ));
    }
    if state(&f, &["present", "absent"])? == "absent" {
        refuse_with_absent(
            &f,
            &[
                "job",
                "minute",
                "hour",
                "day",
                "month",
                "weekday",
                "special_time",
                "env",
            ],
        )?;
        return Ok(Cron {
            name,
            user,
            file: cron_file,
            lines: None,
        });
    }
    let job = one_line(&f, "job")?.ok_or_else(|| f.missing("job"))?;
    let schedule = schedule(&f)?;
    let mut lines = Vec::new();
    if let Some(env) = f.mapping("env")? {
        for (key, value) in env.as_map().unwrap_or_default() {
            let value = scalar(value, "`env` values")?;
            if !crate::script::is_identifier(key.key()) || value.contains(['\n', '\r']) {
                return Err(Error::invalid(
                    "`env` names must be identifiers and values one line",
                    &key.span,
                ));
            }
            lines.push(format!("{}={value}", key.key()));
        }
    }
    let user_column = if cron_file.is_some() {
        format!(" {}", user.clone().unwrap_or_default())
    } else {
        String::new()
    };
    let disabled = if f.boolean("disabled")?.unwrap_or(false) {
        "#"
    } else {
        ""
    };
    lines.push(format!("{disabled}{schedule}{user_column} {job}"));
    Ok(Cron {
        name,
        user,
        file: cron_file,
        lines: Some(lines),
    })
}

/// `@special` or the five schedule fields (`*` where not given).
fn schedule(f: &Fields<'_>) -> Result<String> {
    if let Some(node) = f.get("special_time") {
        for key in ["minute", "hour", "day", "month", "weekday"] {
            if let Some(other) = f.get(key) {
                return Err(Error::invalid(
                    format!("`special_time` and `{key}` cannot be combined"),
                    &other.span,
                ));
            }
        }
        let text = f.required_string("special_time")?;
        if !SPECIAL.contains(&text.as_str()) {
            return Err(Error::invalid(
                format!("`special_time` must be one of {}", SPECIAL.join(", ")),
                &node.span,
            )
            .suggest(&text, SPECIAL.iter().copied()));
        }
        return Ok(format!("@{text}"));
    }
    let mut parts = Vec::new();
    for key in ["minute", "hour", "day", "month", "weekday"] {
        let value = f.string(key)?.unwrap_or_else(|| "*".to_owned());
        if value.is_empty() || value.contains(char::is_whitespace) {
            return Err(Error::invalid(
                format!("`{key}` must be one cron field without spaces, not `{value}`"),
                &f.require(key)?.span,
            ));
        }
        parts.push(value);
    }
    Ok(parts.join(" "))
}

/// A string argument that must be one line (it becomes one crontab line).
fn one_line(f: &Fields<'_>, key: &str) -> Result<Option<String>> {
    let Some(text) = f.string(key)? else {
        return Ok(None);
    };
    if text.contains(['\n', '\r']) {
        return Err(Error::invalid(
            format!("`{key}` must be one line: a crontab line cannot hold a line break"),
            &f.require(key)?.span,
        ));
    }
    Ok(Some(text))
}

/// Whether a crontab line is an environment setting (`NAME=value`).
fn is_env(line: &str) -> bool {
    line.split_once('=')
        .is_some_and(|(k, _)| crate::script::is_identifier(k.trim()))
}

/// The table with entry `name`'s block replaced by `block` (removed when `None`), in place when
/// it exists, else appended: the same rule as the awk pass of the apply script.
pub(crate) fn edit(table: &str, name: &str, block: Option<&[String]>) -> String {
    let marker = format!("# recon: {name}");
    let mut out: Vec<String> = Vec::new();
    let mut lines = table.lines().peekable();
    let mut placed = false;
    while let Some(line) = lines.next() {
        if line == marker {
            while lines.peek().is_some_and(|l| is_env(l)) {
                lines.next();
            }
            lines.next();
            if let (Some(b), false) = (block, placed) {
                out.push(marker.clone());
                out.extend(b.iter().cloned());
                placed = true;
            }
            continue;
        }
        out.push(line.to_owned());
    }
    if let (Some(b), false) = (block, placed) {
        out.push(marker);
        out.extend(b.iter().cloned());
    }
    let mut text = out.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

/// The awk pass: drops the block of `$_n`, prints `$_blk` (when set) in its place or at the end.
const EDIT_AWK: &str = r##"awk 'BEGIN { m = "# recon: " ENVIRON["_n"]; b = ENVIRON["_blk"]; keep = ENVIRON["_keep"] }
$0 == m { skip = 1; if (keep == "1" && !done) { print m; print b; done = 1 }; next }
skip == 1 && $0 ~ /^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*=/ { next }
skip == 1 { skip = 0; next }
{ print }
END { if (keep == "1" && !done) { print m; print b } }'"##;

/// `_ct ARGS`: `crontab ARGS` for the account `$_cu`: `-u` only for another account (only
/// root may use `-u`, even for itself on some systems).
const CT_FUNCTION: &str = "_ct() { if [ \"$(id -un)\" = \"$_cu\" ]; then crontab \"$@\"; else crontab -u \"$_cu\" \"$@\"; fi; }\n";

/// What the probe found: the table's text.
#[derive(Debug)]
pub(crate) struct Decision {
    keep: bool,
}

impl Cron {
    /// Prints the current table (empty when there is none).
    fn read_script(&self) -> Script {
        let mut s = Script::new();
        match (&self.file, &self.user) {
            (Some(file), _) => {
                s.fill("cat -- {} 2>/dev/null", [p(file)]);
            }
            (None, Some(user)) => {
                s.fill("_cu={}\n", [w(user)])
                    .code(CT_FUNCTION)
                    .code("_ct -l 2>/dev/null");
            }
            (None, None) => {
                s.code("crontab -l 2>/dev/null");
            }
        }
        s
    }
}

impl Resource for Cron {
    type Asked = Handle<CommandOutput>;
    type Decision = Decision;

    fn kind(&self) -> &'static str {
        "cron"
    }

    fn id(&self) -> String {
        match (&self.file, &self.user) {
            (Some(file), _) => format!("{} in {file}", self.name),
            (None, Some(user)) => format!("{} (crontab of {user})", self.name),
            (None, None) => self.name.clone(),
        }
    }

    fn claims(&self) -> Vec<Claim> {
        let table = self
            .file
            .clone()
            .or_else(|| self.user.clone())
            .unwrap_or_default();
        vec![Claim {
            kind: ClaimKind::Other("cron".to_owned()),
            value: format!("{table}\n{}", self.name),
            sharing: Sharing::Exclusive,
        }]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        facts.output(self.read_script())
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let table = &facts.get(*asked).stdout;
        let table = if table.is_empty() || table.ends_with('\n') {
            table.clone()
        } else {
            format!("{table}\n")
        };
        let after = edit(&table, &self.name, self.lines.as_deref());
        if after == table {
            return Ok(None);
        }
        let marker = format!("# recon: {}", self.name);
        let existed = table.lines().any(|l| l == marker);
        let old_job = existed
            .then(|| {
                let lines: Vec<&str> = table.lines().collect();
                let at = lines.iter().position(|l| *l == marker)?;
                lines[at + 1..]
                    .iter()
                    .find(|l| !is_env(l))
                    .map(|l| (*l).to_owned())
            })
            .flatten();
        let new_job = self.lines.as_ref().and_then(|l| l.last().cloned());
        let action = match (existed, self.lines.is_some()) {
            (false, _) => Action::Create,
            (true, true) => Action::Update,
            (true, false) => Action::Delete,
        };
        let mut change = Change::new(action).field(Field::Entry, old_job, new_job);
        change.diff = text_diff(table.as_bytes(), after.as_bytes());
        Ok(Some((
            change,
            Decision {
                keep: self.lines.is_some(),
            },
        )))
    }

    fn script(&self, decision: &Decision, out: &mut Script) {
        let block = self
            .lines
            .as_ref()
            .map(|l| l.join("\n"))
            .unwrap_or_default();
        out.fill("export _n={} _blk={}", [w(&self.name), w(&block)]);
        out.code(if decision.keep {
            " _keep=1\n"
        } else {
            " _keep=0\n"
        });
        if let (None, Some(user)) = (&self.file, &self.user) {
            out.fill("_cu={}\n", [w(user)]).code(CT_FUNCTION);
        }
        out.code("_cur=$(")
            .script(&self.read_script())
            .code(")\n_new=$( { [ -z \"$_cur\" ] || printf '%s\\n' \"$_cur\"; } | ")
            .code(EDIT_AWK)
            .code(") || exit 1\n");
        match (&self.file, &self.user) {
            (Some(file), _) => {
                out.fill(
                    "if [ -z \"$_new\" ]; then rm -f -- {} || exit 1; else printf '%s\\n' \"$_new\" | base64 | _put {} 0644 - - || exit 1; fi\n",
                    [p(file), p(file)],
                );
            }
            (None, Some(_)) => {
                // `_cu` and `_ct` are set above.
                out.code("if [ -z \"$_new\" ]; then _ct -r; else printf '%s\\n' \"$_new\" | _ct -; fi || exit 1\n");
            }
            (None, None) => {
                out.code("if [ -z \"$_new\" ]; then crontab -r; else printf '%s\\n' \"$_new\" | crontab -; fi || exit 1\n");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_replaced_in_place_appended_or_removed() {
        let table = "MAILTO=x\n# recon: renew\nA=1\n17 2 * * * certbot renew\n0 1 * * * other\n";
        let new = vec!["B=2".to_owned(), "18 3 * * * certbot renew".to_owned()];
        assert_eq!(
            edit(table, "renew", Some(&new)),
            "MAILTO=x\n# recon: renew\nB=2\n18 3 * * * certbot renew\n0 1 * * * other\n"
        );
        assert_eq!(edit(table, "renew", None), "MAILTO=x\n0 1 * * * other\n");
        assert_eq!(
            edit("", "x", Some(&["@daily true".to_owned()])),
            "# recon: x\n@daily true\n"
        );
        assert_eq!(edit("", "x", None), "");
    }
}
