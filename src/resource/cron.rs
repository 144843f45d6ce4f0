//! `cron: { name, job, minute, hour, day, month, weekday | special_time, user, env, disabled,
//! cron_file, state }`: one named entry in an account's crontab or in an `/etc/cron.d` file.
//!
//! An entry is marked as Ansible's `cron` module marks it: `#Ansible: NAME` on the line above
//! the job line (commented out when `disabled`), so entries either tool made are the other's
//! too. An entry with `env` lines (`KEY=value`, which cron applies to every later line too, as
//! in any crontab) keeps recon's own block, `# recon: NAME`, the env lines, the job line:
//! Ansible takes the line after its marker as the job, so it has no form for them. Both markers
//! are read, so tables written by earlier recon versions are rewritten to Ansible's marker on
//! the next change, without duplicates. The plan shows the exact diff of the crontab. The
//! apply edits the table as it is at apply time (an awk pass replaces the block in place or
//! appends it), so several entries of one table in one plan compose instead of overwriting
//! each other.
//!
//! A `cron_file` is read and written through the link-safe walk (`script/walk.rs`): as root in
//! a folder another account owns, a folder (or the file itself) that account swapped for a link
//! out of its own files is refused (a located plan error), never read or written through.

use super::args::{account_name, checked_path, refuse_with_absent, state};
use super::file::text_diff;
use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle};
use crate::fields::arg::{Arg, Groups};
use crate::fields::{scalar, Fields};
use crate::plan::{Action, Change, Field};
use crate::script::{p, w, Script};
use crate::yaml::Node;

/// The arguments of `cron`.
pub(super) const ARGS: Groups = &[&[
    Arg::str("name")
        .required()
        .doc("the entry's name (its `#Ansible: NAME` marker)")
        .ansible(&["name"]),
    Arg::str("job")
        .default_note("required unless `absent`")
        .doc("the command line")
        .ansible(&["job", "value"]),
    Arg::str("minute")
        .doc("schedule field")
        .default("*")
        .ansible(&["minute"]),
    Arg::str("hour")
        .doc("schedule field")
        .default("*")
        .ansible(&["hour"]),
    Arg::str("day")
        .doc("schedule field: day of the month")
        .default("*")
        .ansible(&["day", "dom"]),
    Arg::str("month")
        .doc("schedule field")
        .default("*")
        .ansible(&["month"]),
    Arg::str("weekday")
        .doc("schedule field: day of the week")
        .default("*")
        .ansible(&["weekday", "dow"]),
    Arg::str("special_time")
        .doc("`reboot`, `daily`, ... instead of the five fields")
        .ansible(&["special_time", "special"]),
    Arg::str("user")
        .default_note("the connecting account")
        .doc("whose crontab")
        .ansible(&["user"]),
    Arg::map("env").doc("variables set for the job (recon's own, not Ansible's `env: yes`)"),
    Arg::bool("disabled")
        .default("false")
        .doc("the entry is kept commented out")
        .ansible(&["disabled"]),
    Arg::str("cron_file")
        .doc("a name in /etc/cron.d or a path (needs `user`)")
        .ansible(&["cron_file"]),
    Arg::one_of("state", &["present", "absent"])
        .doc("`absent` removes the entry")
        .default("present")
        .ansible(&["state"]),
]];

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
    let f = Fields::declared(args, "`cron`", ARGS)?;
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
    let disabled = if f.flag("disabled")? { "#" } else { "" };
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
        let value = f.text(key)?;
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

/// Ansible's marker of a named entry (`cron.py`: `"#Ansible: " + name` on the line above the
/// job), which recon writes for every entry without `env`.
pub(crate) fn ansible_marker(name: &str) -> String {
    format!("#Ansible: {name}")
}

/// recon's own marker, written for entries with `env` lines (Ansible's `find_job` takes the line
/// right after its marker as the job, so an entry with env lines cannot carry Ansible's), and
/// read on any entry, so tables written by earlier recon versions migrate on the next change.
pub(crate) fn recon_marker(name: &str) -> String {
    format!("# recon: {name}")
}

/// The marker a block is written with: Ansible's for a lone job line, recon's with env lines.
fn marker_for(name: &str, block: &[String]) -> String {
    if block.len() == 1 {
        ansible_marker(name)
    } else {
        recon_marker(name)
    }
}

/// The entry's lines found at `lines[at]` (a marker): how many lines the block spans. An
/// Ansible marker owns the next line; recon's owns its env lines and then the job line
/// (unless Ansible has since put its own marker there).
fn block_len(lines: &[&str], at: usize, name: &str) -> usize {
    let mut end = at + 1;
    if lines[at] == recon_marker(name) {
        while lines.get(end).is_some_and(|l| is_env(l)) {
            end += 1;
        }
        if lines.get(end).is_some_and(|l| !l.starts_with("#Ansible: ")) {
            end += 1;
        }
    } else if end < lines.len() {
        end += 1;
    }
    end - at
}

/// Whether `line` is a marker of entry `name`, in either style.
fn is_marker(line: &str, name: &str) -> bool {
    line == ansible_marker(name) || line == recon_marker(name)
}

/// The table with entry `name`'s block replaced by `block` (removed when `None`), in place when
/// it exists, else appended: the same rule as the awk pass of the apply script. Without a
/// marker, a line equal to a lone job is adopted (its marker inserted above it), as Ansible's
/// `find_job` does, so a hand-written or Ansible-adopted line is never duplicated.
pub(crate) fn edit(table: &str, name: &str, block: Option<&[String]>) -> String {
    let lines: Vec<&str> = table.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut placed = false;
    let mut i = 0;
    while i < lines.len() {
        if is_marker(lines[i], name) {
            let len = block_len(&lines, i, name);
            i += len;
            if let (Some(b), false) = (block, placed) {
                out.push(marker_for(name, b));
                out.extend(b.iter().cloned());
                placed = true;
            }
            continue;
        }
        out.push(lines[i].to_owned());
        i += 1;
    }
    if let (Some(b), false) = (block, placed) {
        let marker = marker_for(name, b);
        if let Some(at) = adoptable(&out, b) {
            out.insert(at, marker);
        } else {
            out.push(marker);
            out.extend(b.iter().cloned());
        }
    }
    let mut text = out.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

/// Where Ansible's `find_job` adopts an unmarked job: the first line equal to it whose line
/// above (the last line, for the first: Python's `lines[-1]`) is no Ansible marker.
fn adoptable(lines: &[String], block: &[String]) -> Option<usize> {
    let [job] = block else {
        return None;
    };
    (0..lines.len()).find(|&i| {
        let above = if i == 0 { lines.len() - 1 } else { i - 1 };
        lines[i] == *job && !lines[above].starts_with("#Ansible: ")
    })
}

/// The awk pass, `edit` in awk: drops every block of `$_n` (either marker), prints `$_blk`
/// (when `$_keep` is 1) with marker `$_m` in place of the first, else adopts an equal
/// unmarked job line or appends at the end.
const EDIT_AWK: &str = r##"awk 'function env(s) { return s ~ /^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*=/ }
BEGIN { a = "#Ansible: " ENVIRON["_n"]; r = "# recon: " ENVIRON["_n"]; b = ENVIRON["_blk"] ""; m = ENVIRON["_m"] ""; keep = ENVIRON["_keep"] "" }
{ l[++n] = $0 }
END {
  o = 0; done = 0
  for (i = 1; i <= n; i++) {
    if (l[i] == a || l[i] == r) {
      if (l[i] == r) { while (i < n && env(l[i + 1])) i++; if (i < n && index(l[i + 1], "#Ansible: ") != 1) i++ }
      else if (i < n) i++
      if (keep == "1" && !done) { out[++o] = m; out[++o] = b; done = 1 }
      continue
    }
    out[++o] = l[i]
  }
  at = 0
  if (keep == "1" && !done && index(b, "\n") == 0) {
    for (i = 1; i <= o && !at; i++) { up = (i == 1) ? o : i - 1; if (out[i] == b && index(out[up], "#Ansible: ") != 1) at = i }
  }
  for (i = 1; i <= o; i++) { if (i == at) print m; print out[i] }
  if (keep == "1" && !done && !at) { print m; print b }
}'"##;

/// `_ct ARGS`: `crontab ARGS` for the account `$_cu`: `-u` only for another account (only
/// root may use `-u`, even for itself on some systems).
const CT_FUNCTION: &str = "_ct() { if [ \"$(id -un)\" = \"$_cu\" ]; then crontab \"$@\"; else crontab -u \"$_cu\" \"$@\"; fi; }\n";

/// The read's exit status when `cron_file` is behind a link another account controls (the
/// link on stdout).
const UNSAFE_FILE: i32 = 2;

/// What the probe found: the table's text.
#[derive(Debug)]
pub(crate) struct Decision {
    keep: bool,
}

impl Cron {
    /// Prints the current table (empty when there is none). A `cron_file` is read inside its
    /// folder, entered with `_walk`; behind a link another account controls (a folder, or the
    /// file itself in that account's folder), it prints the link and exits 2.
    fn read_script(&self) -> Script {
        let mut s = Script::new();
        match (&self.file, &self.user) {
            (Some(file), _) => {
                s.fill("(_f={}\n", [p(file)]).code(
                    "_fd=${_f%/*}; _fn=${_f##*/}; [ -n \"$_fd\" ] || _fd=/\n\
                     _walk \"$_fd\"; _ws=$?\n\
                     if [ \"$_ws\" = 2 ]; then printf '%s\\n' \"$_wbad\"; exit 2; fi\n\
                     [ \"$_ws\" = 0 ] || exit 0\n\
                     _fo=$(stat -c %u -- .) || exit 0\n\
                     if [ -L \"./$_fn\" ] && [ \"$_fo\" != 0 ] && [ \"$_fo\" != \"$(id -u)\" ]; then printf '%s\\n' \"${PWD%/}/$_fn\"; exit 2; fi\n\
                     cat -- \"./$_fn\" 2>/dev/null)",
                );
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

/// A cron entry's line (schedule and job) and its environment lines.
const ENTRY: Field = Field::new("entry");

impl Resource for Cron {
    type Asked = Handle<CommandOutput>;
    type Decision = Decision;
    const FIELDS: &'static [Field] = &[ENTRY];

    /// A table (the account's crontab, another account's, a cron file) holds many targets'
    /// entries: the edit reads it and writes it back whole, so two at once would lose one.
    fn account_wide(&self) -> bool {
        true
    }

    fn id(&self) -> String {
        match (&self.file, &self.user) {
            (Some(file), _) => format!("{} in {file}", self.name),
            (None, Some(user)) => format!("{} (crontab of {user})", self.name),
            (None, None) => self.name.clone(),
        }
    }

    fn claims(&self) -> Vec<Claim> {
        // No `user`: the connecting account's own table (`~/` makes the claim per account).
        let table = self
            .file
            .clone()
            .or_else(|| self.user.clone())
            .unwrap_or_else(|| "~/crontab".to_owned());
        let entry = self
            .lines
            .as_ref()
            .map_or_else(|| "absent".to_owned(), |l| l.join("\n"));
        vec![Claim::new(
            ClaimKind::Other("cron".to_owned()),
            format!("{table}\n{}", self.name),
        )
        .wanting([("entry", Some(entry))])]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        // Read through the walk every probe command has (`facts::PROBE_FUNCTIONS`).
        facts.output(self.read_script())
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let read = facts.get(*asked);
        if let (Some(file), UNSAFE_FILE) = (&self.file, read.status) {
            return Err(super::refused_link(file, read.stdout.trim_end()));
        }
        let table = &read.stdout;
        let table = if table.is_empty() || table.ends_with('\n') {
            table.clone()
        } else {
            format!("{table}\n")
        };
        let after = edit(&table, &self.name, self.lines.as_deref());
        if after == table {
            return Ok(None);
        }
        let lines: Vec<&str> = table.lines().collect();
        let found = lines.iter().position(|l| is_marker(l, &self.name));
        let existed = found.is_some();
        // The old block's last line is its job; a marker alone (at the end) has none.
        let old_job = found.and_then(|at| {
            let len = block_len(&lines, at, &self.name);
            (len > 1).then(|| lines[at + len - 1].to_owned())
        });
        let new_job = self.lines.as_ref().and_then(|l| l.last().cloned());
        let action = match (existed, self.lines.is_some()) {
            (false, _) => Action::Create,
            (true, true) => Action::Update,
            (true, false) => Action::Delete,
        };
        // Only the marker changes (an entry recon wrote before it used Ansible's): show that.
        let (old_job, new_job) = match (found, &self.lines) {
            (Some(at), Some(block)) if old_job == new_job => (
                Some(lines[at].to_owned()),
                Some(marker_for(&self.name, block)),
            ),
            _ => (old_job, new_job),
        };
        let mut change = Change::new(action).field(ENTRY, old_job, new_job);
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
        let marker = self
            .lines
            .as_ref()
            .map(|l| marker_for(&self.name, l))
            .unwrap_or_default();
        out.fill(
            "export _n={} _blk={} _m={}",
            [w(&self.name), w(&block), w(&marker)],
        );
        out.code(if decision.keep {
            " _keep=1\n"
        } else {
            " _keep=0\n"
        });
        if let (None, Some(user)) = (&self.file, &self.user) {
            out.fill("_cu={}\n", [w(user)]).code(CT_FUNCTION);
        }
        // `$( (`, never `$((`: the read may start with a subshell.
        out.code("_cur=$( ").script(&self.read_script()).code(")\n");
        if self.file.is_some() {
            // Swapped for a link since the plan (a stale plan is refused first, this is the
            // step's own check).
            out.code("if [ $? = 2 ]; then _wbad=$_cur; _refused; exit 1; fi\n");
        }
        out.code("_new=$( { [ -z \"$_cur\" ] || printf '%s\\n' \"$_cur\"; } | ")
            .code(EDIT_AWK)
            .code(") || exit 1\n");
        match (&self.file, &self.user) {
            (Some(file), _) => {
                out.fill(
                    "if [ -z \"$_new\" ]; then _rm {} || exit 1; else printf '%s\\n' \"$_new\" | base64 | _put {} 0644 - - || exit 1; fi\n",
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

    fn one(line: &str) -> Vec<String> {
        vec![line.to_owned()]
    }

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
            edit("", "x", Some(&one("@daily true"))),
            "#Ansible: x\n@daily true\n"
        );
        assert_eq!(edit("", "x", None), "");
    }

    #[test]
    fn ansible_entries_are_recognised_and_old_recon_ones_migrate() {
        let ansible = "#Ansible: x\n0 1 * * * a\n#Ansible: y\n@daily b\n";
        assert_eq!(edit(ansible, "x", Some(&one("0 1 * * * a"))), ansible);
        assert_eq!(
            edit(ansible, "x", Some(&one("0 2 * * * a"))),
            "#Ansible: x\n0 2 * * * a\n#Ansible: y\n@daily b\n"
        );
        assert_eq!(edit(ansible, "y", None), "#Ansible: x\n0 1 * * * a\n");
        // The old marker becomes Ansible's in place; no duplicate.
        let old = "M=1\n# recon: x\n0 1 * * * a\nz\n";
        assert_eq!(
            edit(old, "x", Some(&one("0 1 * * * a"))),
            "M=1\n#Ansible: x\n0 1 * * * a\nz\n"
        );
        assert_eq!(edit(old, "x", None), "M=1\nz\n");
        // Ansible adopted an old recon entry's job (its marker under recon's): one entry again.
        let both = "# recon: x\n#Ansible: x\n0 1 * * * a\n";
        assert_eq!(
            edit(both, "x", Some(&one("0 1 * * * a"))),
            "#Ansible: x\n0 1 * * * a\n"
        );
        // An env entry keeps recon's block, replacing an Ansible one of the same name.
        let env = vec!["P=/bin".to_owned(), "0 1 * * * a".to_owned()];
        assert_eq!(
            edit(ansible, "x", Some(&env)),
            "# recon: x\nP=/bin\n0 1 * * * a\n#Ansible: y\n@daily b\n"
        );
    }

    #[test]
    fn an_unmarked_equal_job_is_adopted_as_ansible_does() {
        assert_eq!(
            edit("a\n0 1 * * * j\nb\n", "x", Some(&one("0 1 * * * j"))),
            "a\n#Ansible: x\n0 1 * * * j\nb\n"
        );
        // Another entry's job line is not adopted.
        assert_eq!(
            edit("#Ansible: o\n0 1 * * * j\n", "x", Some(&one("0 1 * * * j"))),
            "#Ansible: o\n0 1 * * * j\n#Ansible: x\n0 1 * * * j\n"
        );
    }

    /// The awk pass of the apply must edit exactly as `edit` plans, under the real `sh`/`awk`.
    #[test]
    fn the_awk_pass_edits_exactly_as_planned() {
        let tables = [
            "",
            "MAILTO=x\n# recon: n\nA=1\n17 2 * * * c\n0 1 * * * o\n",
            "#Ansible: n\n0 1 * * * a\n#Ansible: y\n@daily b\n",
            "a\n0 1 * * * j\nb\n",
            "0 1 * * * j\n#Ansible: o\n",
            "#Ansible: o\n0 1 * * * j\n",
            "# recon: n\n#Ansible: n\n0 1 * * * j\n",
            "x\n#Ansible: n\n",
            "1\n1.0\n#Ansible: n\n1\n",
        ];
        let blocks: [Option<Vec<String>>; 5] = [
            None,
            Some(one("0 1 * * * j")),
            Some(one("1.0")),
            Some(one("#@daily j 'q' \"$(x)\" \\")),
            Some(vec!["A=1".into(), "B= 2".into(), "17 2 * * * c".into()]),
        ];
        for table in tables {
            for block in &blocks {
                let want = edit(table, "n", block.as_deref());
                let lines = block.clone().unwrap_or_default();
                let mut s = Script::new();
                s.fill(
                    "export _n=n _blk={} _m={} _keep={}\n_cur={}\n",
                    [
                        w(&lines.join("\n")),
                        w(&block
                            .as_ref()
                            .map(|b| marker_for("n", b))
                            .unwrap_or_default()),
                        w(if block.is_some() { "1" } else { "0" }),
                        w(table.trim_end_matches('\n')),
                    ],
                )
                .code("{ [ -z \"$_cur\" ] || printf '%s\\n' \"$_cur\"; } | ")
                .code(EDIT_AWK);
                let out = std::process::Command::new("sh")
                    .args(["-c", s.as_str()])
                    .output()
                    .expect("sh runs");
                assert!(out.status.success(), "{out:?}");
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    want,
                    "table {table:?}, block {block:?}"
                );
            }
        }
    }
}
