//! `sysctl: { name, value, state, sysctl_file, reload, sysctl_set, ignoreerrors }`: a kernel
//! parameter in a sysctl file (and running), as ansible.posix's `sysctl` keeps it: the file is
//! rewritten with every setting as `key=value` (one line per key, the last one's value, comments
//! and blank lines kept); with `reload` (the default) `sysctl -p FILE` runs after any change, also
//! when only the running value differs; with `sysctl_set` the value is set with `sysctl -w`.
//! The new file is computed here, so the plan shows its exact diff.

use super::args::path;
use super::text_edit::{current_text, Rewrite};
use super::{BuildContext, Claim, Problem, Resource, Sharing, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::{scalar, Fields};
use crate::plan::{Action, Change, Field};
use crate::script::Script;
use crate::yaml::Node;

/// One kernel parameter.
#[derive(Debug, Clone)]
pub(crate) struct Sysctl {
    pub(crate) name: String,
    /// The value as Ansible normalises it (`yes`/`true` → `1`, `no`/`false` → `0`, trimmed).
    pub(crate) value: String,
    pub(crate) present: bool,
    pub(crate) file: String,
    pub(crate) reload: bool,
    pub(crate) set: bool,
    pub(crate) ignore_errors: bool,
}

/// The arguments of `sysctl`.
pub(super) const ARGS: Groups = &[&[
    Arg::str("name")
        .required()
        .doc("the kernel parameter (`net.ipv4.ip_forward`)")
        .ansible(&["name", "key"]),
    Arg::str("value")
        .default_note("required unless `absent`")
        .doc("its value (`yes`/`true` → `1`)")
        .ansible(&["value", "val"]),
    Arg::one_of("state", &["present", "absent"])
        .doc("`absent` removes the line from the file")
        .default("present")
        .ansible(&["state"]),
    Arg::path("sysctl_file")
        .default("/etc/sysctl.conf")
        .doc("the file holding the `key=value` line")
        .ansible(&["sysctl_file"]),
    Arg::bool("reload")
        .default("true")
        .doc("`sysctl -p FILE` after a change, also when only the running value differs")
        .ansible(&["reload"]),
    Arg::bool("sysctl_set")
        .default("false")
        .doc("set the running value with `sysctl -w`")
        .ansible(&["sysctl_set"]),
    Arg::bool("ignoreerrors")
        .default("false")
        .doc("unknown keys are not an error")
        .ansible(&["ignoreerrors"]),
]];

/// Builds a `sysctl` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Sysctl> {
    let f = Fields::declared(args, "`sysctl`", ARGS)?;
    let name_node = f.require("name")?;
    let name = f.required_string("name")?.trim().to_owned();
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '=') {
        return Err(Error::invalid(
            "`name` must be a kernel parameter name (no spaces, no `=`)",
            &name_node.span,
        ));
    }
    let present = super::args::state(&f, &["present", "absent"])? == "present";
    let value = match f.get("value") {
        Some(node) => normalise(&scalar(node, "`value`")?),
        None if present => {
            f.require("value")?;
            String::new()
        }
        None => String::new(),
    };
    if present && value.is_empty() {
        return Err(Error::invalid(
            "`value` must not be blank with `state: present`",
            &f.require("value")?.span,
        ));
    }
    Ok(Sysctl {
        name,
        value,
        present,
        file: if f.get("sysctl_file").is_some() {
            path(&f, "sysctl_file")?
        } else {
            f.text("sysctl_file")?
        },
        reload: f.flag("reload")?,
        set: f.flag("sysctl_set")?,
        ignore_errors: f.flag("ignoreerrors")?,
    })
}

/// Ansible's `_parse_value`: booleans as `1`/`0`, anything else trimmed.
fn normalise(value: &str) -> String {
    match value.trim().to_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" => "1".to_owned(),
        "n" | "no" | "off" | "0" | "false" | "f" => "0".to_owned(),
        _ => value.trim().to_owned(),
    }
}

/// Two values alike once split on whitespace (`"4096 87380"` and `"4096\t87380"`).
fn same(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// What the sysctl file holds: the setting's value there (the last line's), and the file as
/// Ansible rewrites it for this task.
fn rewrite(text: &str, name: &str, value: Option<&str>) -> (Option<String>, String) {
    let (mut found, mut checked, mut out) = (None, Vec::<String>::new(), String::new());
    for line in text.lines() {
        let line = line.trim();
        let setting = line
            .split_once('=')
            .filter(|_| !line.is_empty() && !line.starts_with(['#', ';']));
        let Some((k, v)) = setting else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k == name {
            found = Some(v.to_owned());
        }
        if checked.iter().any(|c| c == k) {
            continue;
        }
        checked.push(k.to_owned());
        match (k == name, value) {
            (true, Some(value)) => push_setting(&mut out, k, value),
            (true, None) => {}
            (false, _) => push_setting(&mut out, k, v),
        }
    }
    if let (false, Some(value)) = (checked.iter().any(|c| c == name), value) {
        push_setting(&mut out, name, value);
    }
    (found, out)
}

/// One `key=value` line, as Ansible writes each setting.
fn push_setting(out: &mut String, key: &str, value: &str) {
    out.push_str(key);
    out.push('=');
    out.push_str(value);
    out.push('\n');
}

/// The facts a sysctl asks for: the file, and the running value when it matters.
#[derive(Debug)]
pub(crate) struct Asked {
    file: Handle<PathState>,
    running: Option<Handle<CommandOutput>>,
}

/// What the apply does.
#[derive(Debug)]
pub(crate) struct Decision {
    write: Option<Rewrite>,
    set_running: bool,
}

/// `sysctl` from root's PATH even in a login whose PATH lacks the sbin folders.
const SYSCTL: &str = "PATH=\"$PATH:/usr/sbin:/sbin\" sysctl";

/// A kernel parameter's value in its sysctl file.
const VALUE: Field = Field::new("value");

impl Resource for Sysctl {
    type Asked = Asked;
    type Decision = Decision;
    const FIELDS: &'static [Field] = &[VALUE];

    fn id(&self) -> String {
        format!("{}: {}", self.file, self.name)
    }

    fn claims(&self) -> Vec<Claim> {
        // Every setting of one file rewrites it: the edits are chained in file order.
        vec![Claim {
            sharing: Sharing::Ordered,
            ..Claim::path(&self.file)
        }]
    }

    fn ask(&self, facts: &mut FactSet) -> Asked {
        let running = (self.present && (self.reload || self.set)).then(|| {
            let mut s = Script::new();
            s.code(SYSCTL).code(" -e -n").words([self.name.as_str()]);
            facts.output(s)
        });
        Asked {
            file: facts.path(&self.file, Want::Always),
            running,
        }
    }

    fn decide(
        &self,
        asked: &Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let state = facts.get(asked.file);
        super::refuse_unsafe(&self.file, state)?;
        let text = match state.kind {
            PathKind::File => current_text(&self.file, state)?,
            PathKind::Absent => "",
            other => {
                return Err(Problem(format!(
                    "`{}` is {}, not a sysctl file",
                    self.file,
                    other.describe()
                )))
            }
        };
        let wanted = self.present.then_some(self.value.as_str());
        let (in_file, new_text) = rewrite(text, &self.name, wanted);
        let running = asked
            .running
            .map(|h| facts.get(h))
            .filter(|out| out.status == 0)
            .map(|out| out.stdout.trim().to_owned());
        let differs = |now: &Option<String>| now.as_deref().is_none_or(|v| !same(v, &self.value));
        let write = match (&in_file, self.present) {
            (None, false) => false,
            (Some(_), false) | (None, true) => true,
            (Some(v), true) => *v != self.value,
        };
        let reload_for_running = !write && self.present && self.reload && differs(&running);
        let set_running = self.set && self.present && differs(&running);
        if !write && !reload_for_running && !set_running {
            return Ok(None);
        }
        let rewrite = write.then(|| {
            let mode = if state.kind == PathKind::File {
                state.mode
            } else {
                0o644
            };
            Rewrite::new(state, new_text, mode)
        });
        let change = if let Some(r) = &rewrite {
            r.change().field(VALUE, in_file, wanted.map(str::to_owned))
        } else {
            let mut change = Change::new(Action::Update);
            change.reason = Some(format!(
                "`{}` runs with {} and the file says {}",
                self.name,
                running.as_deref().unwrap_or("no value"),
                self.value
            ));
            change
        };
        Ok(Some((
            with_running(change, self, running.as_deref()),
            Decision {
                write: rewrite,
                set_running,
            },
        )))
    }

    fn script(&self, d: &Decision, out: &mut Script) {
        if let Some(rewrite) = &d.write {
            rewrite.script(&self.file, out);
        }
        let ignore = if self.ignore_errors { " -e" } else { "" };
        if d.set_running {
            let setting = format!("{}={}", self.name, self.value);
            out.code("_e=$(")
                .code(SYSCTL)
                .code(ignore)
                .code(" -w")
                .words([setting.as_str()])
                .code(FAILED)
                .code(REFUSED);
        }
        if self.reload {
            out.code("_e=$(")
                .code(SYSCTL)
                .code(ignore)
                .code(" -p ")
                .path(&self.file)
                .code(FAILED)
                .code(REFUSED);
        }
    }

    fn predict(&self, d: &Decision, set: &FactSet, facts: &mut Facts) {
        if let Some(rewrite) = &d.write {
            rewrite.predict(&self.file, set, facts);
        }
    }
}

/// The end of a `sysctl` call: its messages kept, and shown when it fails.
const FAILED: &str = " 2>&1 >/dev/null) || { printf '%s\\n' \"$_e\"; exit 1; }\n";

/// sysctl can refuse a key and still exit 0; Ansible fails on these lines, and so does recon.
const REFUSED: &str = "if printf '%s\\n' \"$_e\" | grep -Eq '^sysctl: setting key \"[^\"]+\": (Invalid argument|Read-only file system)$'; then printf '%s\\n' \"$_e\"; exit 1; fi\n";

/// `change` with the running value's before and after, when the task sets it.
fn with_running(change: Change, s: &Sysctl, running: Option<&str>) -> Change {
    if s.set && s.present {
        change.field(
            Field::STATE,
            running.map(str::to_owned),
            Some(s.value.clone()),
        )
    } else {
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_rewritten_as_ansible_rewrites_it() {
        let text =
            "# tuning\nvm.swappiness = 60\n\nnet.core.somaxconn=128\nvm.swappiness=10\n; old\n";
        let (found, new) = rewrite(text, "vm.swappiness", Some("5"));
        assert_eq!(found.as_deref(), Some("10"), "the last line's value");
        assert_eq!(
            new,
            "# tuning\nvm.swappiness=5\n\nnet.core.somaxconn=128\n; old\n"
        );
        let (_, removed) = rewrite(text, "vm.swappiness", None);
        assert_eq!(removed, "# tuning\n\nnet.core.somaxconn=128\n; old\n");
        let (found, added) = rewrite("", "fs.file-max", Some("100"));
        assert_eq!((found, added.as_str()), (None, "fs.file-max=100\n"));
    }

    #[test]
    fn values_normalise_and_compare_as_ansible_does() {
        assert_eq!(normalise(" yes "), "1");
        assert_eq!(normalise("False"), "0");
        assert_eq!(normalise(" 4096 87380 "), "4096 87380");
        assert!(same("4096\t87380\n", "4096 87380"));
        assert!(!same("4096", "4096 87380"));
    }
}
