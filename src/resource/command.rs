//! `command: { cmd | argv, chdir, env, creates, removes, unless }`: run something unless a guard
//! says it is done. `cmd` is a POSIX sh command line (pipes, `&&`, redirections work, as in
//! Ansible's `shell`); `argv` runs a program with no shell at all.

use std::fmt::Write as _;

use super::args::checked_path;
use super::Kind;
use crate::error::{Error, Result};
use crate::facts::{guard_script, Fact, FactValue, PathKind, Want};
use crate::fields::{scalar, wrong_type, Fields};
use crate::plan::{Action, Change};
use crate::shell::{is_identifier, quote, quote_path};
use crate::yaml::Node;

/// A guarded command.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub(crate) program: Program,
    pub(crate) chdir: Option<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) creates: Option<String>,
    pub(crate) removes: Option<String>,
    pub(crate) unless: Option<String>,
    /// A node-wide lock file held while the command runs (`nginx -s reload` for shared nginx).
    pub(crate) serialize: Option<String>,
    /// Node-wide "done" marker, touched after the command succeeds; with `since`, the command
    /// is skipped when the stamp is newer than every `since` path (another target on the node
    /// already ran it after those files changed): a reload runs once per node, not per squad.
    pub(crate) stamp: Option<String>,
    pub(crate) since: Vec<String>,
}

/// What to run.
#[derive(Debug, Clone)]
pub(crate) enum Program {
    Shell(String),
    Argv(Vec<String>),
}

const KEYS: &[&str] = &[
    "cmd",
    "argv",
    "chdir",
    "env",
    "creates",
    "removes",
    "unless",
    "serialize",
    "stamp",
    "since",
];

impl Command {
    pub(crate) fn build(args: &Node) -> Result<Self> {
        // `command: some text` is shorthand for `command: { cmd: some text }`.
        if let Some(text) = args.scalar_text() {
            if text.trim().is_empty() {
                return Err(Error::invalid("`command` is empty", &args.span));
            }
            return Ok(Self {
                program: Program::Shell(text.to_owned()),
                chdir: None,
                env: Vec::new(),
                creates: None,
                removes: None,
                unless: None,
                serialize: None,
                stamp: None,
                since: Vec::new(),
            });
        }
        let f = Fields::new(args, "`command`", KEYS)?;
        let program = match (f.get("cmd"), f.get("argv")) {
            (Some(_), Some(second)) => {
                return Err(Error::invalid(
                    "`command` takes `cmd` or `argv`, not both",
                    &second.span,
                ))
            }
            (Some(_), None) => Program::Shell(f.required_string("cmd")?),
            (None, Some(list)) => {
                let items = list
                    .as_seq()
                    .ok_or_else(|| wrong_type(list, "a list of strings", "`argv`"))?;
                if items.is_empty() {
                    return Err(Error::invalid("`argv` is empty", &list.span));
                }
                Program::Argv(
                    items
                        .iter()
                        .map(|n| scalar(n, "items of `argv`"))
                        .collect::<Result<_>>()?,
                )
            }
            (None, None) => return Err(f.missing("cmd")),
        };
        let mut env = Vec::new();
        if let Some(map) = f.mapping("env")? {
            for (k, v) in map.as_map().unwrap_or_default() {
                if !is_identifier(k.key()) {
                    return Err(Error::invalid(
                        format!("`{}` is not a valid environment variable name", k.key()),
                        &k.span,
                    ));
                }
                env.push((k.key().to_owned(), scalar(v, "`env` values")?));
            }
        }
        let guard_path = |key: &str| -> Result<Option<String>> {
            match f.get(key) {
                Some(node) => Ok(Some(checked_path(&f.required_string(key)?, node)?)),
                None => Ok(None),
            }
        };
        Ok(Self {
            program,
            chdir: guard_path("chdir")?,
            env,
            creates: guard_path("creates")?,
            removes: guard_path("removes")?,
            unless: f.string("unless")?,
            serialize: f.string("serialize")?,
            stamp: guard_path("stamp")?,
            since: f
                .string_list("since")?
                .into_iter()
                .map(|(p, node)| checked_path(&p, node))
                .collect::<Result<_>>()?,
        })
    }

    fn command_line(&self) -> String {
        match &self.program {
            Program::Shell(cmd) => cmd.clone(),
            Program::Argv(argv) => argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "),
        }
    }
}

impl Kind for Command {
    fn id(&self) -> String {
        self.command_line()
    }

    fn kind_name(&self) -> &'static str {
        "command"
    }

    fn claims(&self) -> Vec<String> {
        Vec::new()
    }

    fn needs(&self) -> Vec<String> {
        self.chdir.iter().cloned().collect()
    }

    fn facts(&self) -> Vec<Fact> {
        let path = |p: &String| Fact::Path {
            path: p.clone(),
            content: Want::Never,
        };
        let mut facts: Vec<Fact> = self.creates.iter().chain(&self.removes).map(path).collect();
        if let Some(check) = &self.unless {
            facts.push(Fact::Guard {
                script: guard_script(check, self.chdir.as_deref(), &self.env),
            });
        }
        facts
    }

    fn diff(&self, facts: &[&FactValue]) -> Result<Option<Change>, String> {
        let mut facts = facts.iter();
        let mut reasons = Vec::new();
        if let Some(creates) = &self.creates {
            if matches!(facts.next(), Some(FactValue::Path(s)) if s.kind != PathKind::Absent) {
                return Ok(None);
            }
            reasons.push(format!("`{creates}` does not exist"));
        }
        if let Some(removes) = &self.removes {
            if matches!(facts.next(), Some(FactValue::Path(s)) if s.kind == PathKind::Absent) {
                return Ok(None);
            }
            reasons.push(format!("`{removes}` exists"));
        }
        if let Some(check) = &self.unless {
            if matches!(facts.next(), Some(FactValue::Guard(0))) {
                return Ok(None);
            }
            reasons.push(format!("`{check}` failed"));
        }
        let change = Change::new(Action::Run);
        Ok(Some(if reasons.is_empty() {
            change
        } else {
            change.reason(reasons.join(", "))
        }))
    }

    fn script(&self, _facts: &[&FactValue], _change: &Change) -> String {
        let mut s = String::new();
        // Guards are checked again: an earlier step of this apply may have satisfied them.
        if let Some(p) = &self.creates {
            let q = quote_path(p);
            let _ = writeln!(s, "if [ -e {q} ] || [ -L {q} ]; then exit 100; fi");
        }
        if let Some(p) = &self.removes {
            let q = quote_path(p);
            let _ = writeln!(s, "if ! [ -e {q} ] && ! [ -L {q} ]; then exit 100; fi");
        }
        if let Some(lock) = &self.serialize {
            let _ = writeln!(
                s,
                "_serialize {} || {{ echo 'cannot take the lock {lock}'; exit 1; }}",
                quote_path(lock)
            );
        }
        if let Some(stamp) = &self.stamp {
            // Skip when another run touched the stamp after every `since` file changed.
            let newer: Vec<String> = self
                .since
                .iter()
                .map(|p| format!("[ {} -nt {} ]", quote_path(stamp), quote_path(p)))
                .collect();
            if !newer.is_empty() {
                let _ = writeln!(
                    s,
                    "if {}; then echo 'already done on this node since the change'; exit 100; fi",
                    newer.join(" && ")
                );
            }
        }
        if let Some(dir) = &self.chdir {
            let _ = writeln!(s, "cd -- {} || exit 1", quote_path(dir));
        }
        for (k, v) in &self.env {
            let _ = writeln!(s, "export {k}={}", quote(v));
        }
        let run = match &self.program {
            Program::Shell(cmd) => format!("sh -c {} </dev/null", quote(cmd)),
            Program::Argv(_) => format!("{} </dev/null", self.command_line()),
        };
        match &self.stamp {
            Some(stamp) => {
                let q = quote_path(stamp);
                let _ = writeln!(s, "{run} || exit $?\nif ! [ -e {q} ]; then : >> {q} && chmod 666 {q} 2>/dev/null; fi\ntouch -- {q}");
            }
            None => {
                let _ = writeln!(s, "{run}");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::PathState;

    fn command(creates: Option<&str>, unless: Option<&str>) -> Command {
        Command {
            program: Program::Shell("make install".into()),
            chdir: None,
            env: Vec::new(),
            creates: creates.map(Into::into),
            removes: None,
            unless: unless.map(Into::into),
            serialize: None,
            stamp: None,
            since: Vec::new(),
        }
    }

    #[test]
    fn guards_decide() {
        let exists = FactValue::Path(PathState {
            kind: PathKind::Dir,
            ..PathState::default()
        });
        let absent = FactValue::Path(PathState::default());
        assert_eq!(command(Some("/opt/x"), None).diff(&[&exists]), Ok(None));
        let run = command(Some("/opt/x"), None)
            .diff(&[&absent])
            .expect("ok")
            .expect("change");
        assert_eq!(
            (run.action, run.reason.as_deref()),
            (Action::Run, Some("`/opt/x` does not exist"))
        );
        assert_eq!(
            command(None, Some("test -f x")).diff(&[&FactValue::Guard(0)]),
            Ok(None)
        );
        assert!(command(None, Some("test -f x"))
            .diff(&[&FactValue::Guard(1)])
            .expect("ok")
            .is_some());
        assert_eq!(
            command(None, None).diff(&[]).expect("ok").map(|c| c.action),
            Some(Action::Run)
        );
    }
}
