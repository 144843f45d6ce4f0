//! `command: { cmd | argv, chdir, env, creates, removes, unless }`: run something unless a guard
//! says it is done. `cmd` is a POSIX sh command line (pipes, `&&`, redirections work, as in
//! Ansible's `shell`); `argv` runs a program with no shell at all.

use super::args::checked_path;
use super::walk::{Reach, Walk};
use super::{BuildContext, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{guard_script, Exit, FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups, Type};
use crate::fields::{scalar, wrong_type, Fields};
use crate::plan::{Action, Change};
use crate::script::{is_identifier, p, Piece, Script};
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

/// The arguments of `command` (or a bare command line: `command: make install`).
pub(super) const ARGS: Groups = &[&[
    Arg::str("cmd")
        .default_note("`cmd` or `argv`")
        .doc("a `sh` command line")
        .ansible(&["cmd", "free_form"]),
    Arg::new("argv", Type::List("a list of strings"))
        .default_note("`cmd` or `argv`")
        .doc("the program and its arguments, no shell")
        .ansible(&["argv"]),
    Arg::path("chdir")
        .doc("the folder it runs in")
        .ansible(&["chdir"]),
    Arg::map("env").doc("environment variables for the command"),
    Arg::path("creates")
        .doc("runs only while this path does not exist")
        .ansible(&["creates"]),
    Arg::path("removes")
        .doc("runs only while this path exists")
        .ansible(&["removes"]),
    Arg::str("unless").doc("a read-only `sh` guard: exit 0 means done (runs during `plan` too)"),
    Arg::str("serialize").doc("a lock name: commands under one lock run one at a time on the node"),
    Arg::path("stamp")
        .doc("a file written after success; the command runs again when `since` is newer"),
    Arg::strings("since").doc("paths whose change makes a `stamp`ed command run again"),
]];

/// Builds a `command` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Command> {
    Command::build(args)
}

impl Command {
    fn build(args: &Node) -> Result<Self> {
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
        let f = Fields::declared(args, "`command`", ARGS)?;
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

    /// The command as shown in plans.
    fn command_line(&self) -> String {
        match &self.program {
            Program::Shell(cmd) => cmd.clone(),
            Program::Argv(argv) => argv
                .iter()
                .map(|a| {
                    if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'') {
                        format!("{a:?}")
                    } else {
                        a.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// The facts a command's guards asked for.
#[derive(Debug)]
pub(crate) struct Guards {
    creates: Option<Handle<PathState>>,
    removes: Option<Handle<PathState>>,
    unless: Option<Handle<Exit>>,
    /// The `serialize` lock file's folder, walked link-safely (it is created as root); only
    /// its reach, not the file, which other targets of the node create (`walk::Walk`).
    lock: Option<Handle<Reach>>,
    /// The `stamp` file's folder, walked the same way: it is created and touched as root.
    stamp: Option<Handle<Reach>>,
    /// The `chdir` folder, entered (`DIR/.`: a link as the folder itself is judged too) the
    /// same way: the command runs in it.
    chdir: Option<Handle<PathState>>,
}

impl Resource for Command {
    type Asked = Guards;
    /// A command has nothing to decide beyond running.
    type Decision = ();
    const FACT_KINDS: &'static [crate::facts::Registered] = super::walk::DECLARED;

    fn id(&self) -> String {
        self.command_line()
    }

    fn needs(&self) -> Vec<String> {
        self.chdir.iter().cloned().collect()
    }

    fn ask(&self, facts: &mut FactSet) -> Guards {
        Guards {
            creates: self.creates.as_ref().map(|p| facts.path(p, Want::Never)),
            removes: self.removes.as_ref().map(|p| facts.path(p, Want::Never)),
            unless: self
                .unless
                .as_ref()
                .map(|check| facts.guard(guard_script(check, self.chdir.as_deref(), &self.env))),
            lock: self
                .serialize
                .as_ref()
                .filter(|lock| lock.starts_with('/'))
                .map(|lock| facts.ask(Walk::new(lock))),
            stamp: self.stamp.as_ref().map(|stamp| facts.ask(Walk::new(stamp))),
            chdir: self
                .chdir
                .as_ref()
                .map(|dir| facts.path(&format!("{dir}/."), Want::Never)),
        }
    }

    fn decide(
        &self,
        asked: &Guards,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, ())>, Problem> {
        // What each guard decided, in the plan: guards ran in the probe (during `plan`, so they
        // must be read-only) and run again right before the command at apply.
        if let (Some(h), Some(lock)) = (asked.lock, &self.serialize) {
            super::refuse_unreached(lock, facts.get(h))?;
        }
        if let (Some(h), Some(stamp)) = (asked.stamp, &self.stamp) {
            super::refuse_unreached(stamp, facts.get(h))?;
        }
        if let (Some(h), Some(dir)) = (asked.chdir, &self.chdir) {
            super::refuse_unsafe(dir, facts.get(h))?;
        }
        let mut reasons = Vec::new();
        if let (Some(h), Some(path)) = (asked.creates, &self.creates) {
            if facts.get(h).kind != PathKind::Absent {
                return Ok(None);
            }
            reasons.push(format!("guard creates `{path}`: absent"));
        }
        if let (Some(h), Some(path)) = (asked.removes, &self.removes) {
            if facts.get(h).kind == PathKind::Absent {
                return Ok(None);
            }
            reasons.push(format!("guard removes `{path}`: present"));
        }
        if let (Some(h), Some(check)) = (asked.unless, &self.unless) {
            let Exit(status) = *facts.get(h);
            if status == 0 {
                return Ok(None);
            }
            reasons.push(format!("guard unless `{check}`: exited {status}"));
        }
        let change = Change::new(Action::Run);
        Ok(Some((
            if reasons.is_empty() {
                change
            } else {
                change.reason(reasons.join(", "))
            },
            (),
        )))
    }

    /// Run as a query, the command is the same body: its guards decide whether it runs.
    fn query(&self, out: &mut Script) -> bool {
        self.script(&(), out);
        true
    }

    fn result_shape(&self) -> crate::registered::Shape {
        crate::registered::Shape::COMMAND
    }

    fn script(&self, (): &(), s: &mut Script) {
        // Guards are checked again: an earlier step of this apply may have satisfied them.
        if let Some(path) = &self.creates {
            s.fill(
                "if [ -e {} ] || [ -L {} ]; then exit 100; fi\n",
                [p(path), p(path)],
            );
        }
        if let Some(path) = &self.removes {
            s.fill(
                "if ! [ -e {} ] && ! [ -L {} ]; then exit 100; fi\n",
                [p(path), p(path)],
            );
        }
        if let Some(check) = &self.unless {
            let guard = guard_script(check, self.chdir.as_deref(), &self.env);
            s.fill(
                "if ( {}\n) </dev/null >/dev/null 2>&1; then exit 100; fi\n",
                [Piece::Code(&guard)],
            );
        }
        if let Some(lock) = &self.serialize {
            s.fill("_serialize {} || exit 1\n", [p(lock)]);
        }
        if let Some(stamp) = &self.stamp {
            // Skip when another run touched the stamp after every `since` file changed.
            if !self.since.is_empty() {
                s.code("if true");
                for since in &self.since {
                    s.fill(" && [ {} -nt {} ]", [p(stamp), p(since)]);
                }
                s.code("; then echo 'already done on this node since the change'; exit 100; fi\n");
            }
        }
        if let Some(dir) = &self.chdir {
            // Entered with the link-safe walk: as root, a `chdir` the account swapped for a
            // link out of its files is refused, not run in.
            s.fill("_cd {} || exit 1\n", [p(dir)]);
        }
        for (k, v) in &self.env {
            s.export(k, v);
        }
        match &self.program {
            Program::Shell(cmd) => s.user_command(cmd),
            // `command --` runs a program, never one of the script's own functions.
            Program::Argv(argv) => s.code("command --").words(argv.iter().map(String::as_str)),
        };
        s.code(" </dev/null");
        match &self.stamp {
            Some(stamp) => {
                s.fill(" || exit $?\n_stamp {} || exit 1\n", [p(stamp)]);
            }
            None => {
                s.code("\n");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::{decide, script_of};

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
    fn a_stamp_behind_a_link_another_account_controls_is_refused() {
        let c = Command {
            stamp: Some("/home/app/run/done".into()),
            ..command(None, None)
        };
        let behind = FactValue::of::<Walk>(Reach {
            unsafe_link: Some("/home/app/run".into()),
        });
        let problem = decide(&c, vec![behind]).expect_err("refused");
        assert!(
            problem
                .0
                .contains("`/home/app/run/done` is behind the link"),
            "{problem:?}"
        );
        assert!(decide(&c, vec![FactValue::of::<Walk>(Reach::default())]).is_ok());
    }

    #[test]
    fn guards_decide() {
        let exists = FactValue::Path(PathState {
            kind: PathKind::Dir,
            ..PathState::default()
        });
        let absent = FactValue::Path(PathState::default());
        assert!(decide(&command(Some("/opt/x"), None), vec![exists])
            .expect("ok")
            .is_none());
        let (run, ()) = decide(&command(Some("/opt/x"), None), vec![absent])
            .expect("ok")
            .expect("change");
        assert_eq!(
            (run.action, run.reason.as_deref()),
            (Action::Run, Some("guard creates `/opt/x`: absent"))
        );
        let unless = command(None, Some("test -f x"));
        assert!(decide(&unless, vec![FactValue::Guard(Exit(0))])
            .expect("ok")
            .is_none());
        let (run, ()) = decide(&unless, vec![FactValue::Guard(Exit(1))])
            .expect("ok")
            .expect("change");
        assert_eq!(
            run.reason.as_deref(),
            Some("guard unless `test -f x`: exited 1")
        );
        let (run, ()) = decide(&command(None, None), vec![])
            .expect("ok")
            .expect("change");
        assert_eq!(run.action, Action::Run);
    }

    #[test]
    fn argv_runs_a_program_never_a_script_function_and_passes_words_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let hostile = "$(touch pwned) `id` ' \" ; & \\ \r\n";
        let c = Command {
            program: Program::Argv(vec![
                "sh".into(),
                "-c".into(),
                "printf %s \"$1\" > \"$2\"".into(),
                "x".into(),
                hostile.into(),
                out.to_str().expect("utf8").into(),
            ]),
            ..command(None, None)
        };
        let mut s = Script::of("sh() { echo hijacked; }\n");
        s.script(&script_of(&c, &()));
        let run = std::process::Command::new("dash")
            .args(["-c", s.as_str()])
            .current_dir(dir.path())
            .output()
            .expect("dash runs");
        assert!(run.status.success(), "{run:?}");
        assert_eq!(std::fs::read_to_string(&out).expect("written"), hostile);
        assert!(!dir.path().join("pwned").exists());
    }
}
