//! `supervisor: { name, conf, ctl, command, directory, user, environment, ... }`: a supervisord
//! program. recon writes its `[program:name]` section and knows what changed, so the program
//! restarts exactly once: `update name` when the section changed, `restart name` when only the
//! code changed (a task that notifies this one, typically the `release`), `start` when it is
//! merely down; never `update` and `restart` both. State comes from parsing
//! `supervisorctl status name`, never its exit code (3 whenever anything is stopped).

use std::fmt::Write as _;
use std::sync::Arc;

use super::args::checked_path;
use super::file::text_diff;
use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{sha256_hex, CommandOutput, FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::{scalar, Fields};
use crate::plan::{Action, Change, Field};
use crate::script::{n, p, w, Script};
use crate::yaml::Node;

/// A supervised program.
#[derive(Debug, Clone)]
pub(crate) struct Supervisor {
    pub(crate) name: String,
    pub(crate) conf: String,
    /// The supervisorctl command line (with `-c` or `-s` as the node needs).
    pub(crate) ctl: String,
    pub(crate) section: Arc<String>,
    pub(crate) sha256: String,
    pub(crate) startsecs: u32,
    pub(crate) stderr_log: String,
    /// `keep_running: false`: the section is kept, but the program is never started or
    /// restarted by this task (a `cutover` starts and stops blue/green slots; recon must not
    /// undo a drain nor restart the live slot when the release changes).
    pub(crate) keep_running: bool,
}

/// What `supervisorctl status name` said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProgramState {
    Running,
    Starting,
    Stopped,
    Failed,
    Unknown,
    /// supervisorctl could not reach supervisord.
    Unreachable,
}

/// The one action to take, from the decision table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bounce {
    /// Section changed: `reread` + `update name` (which restarts it once).
    Update,
    /// Only the code changed: `restart name`.
    Restart,
    /// Down, nothing changed: `start name`.
    Start,
}

/// Section changed × code changed × state → at most one action.
pub(crate) fn decide(
    section_changed: bool,
    code_changed: bool,
    state: ProgramState,
) -> Option<Bounce> {
    if section_changed || state == ProgramState::Unknown {
        Some(Bounce::Update)
    } else if code_changed {
        Some(Bounce::Restart)
    } else if matches!(state, ProgramState::Stopped | ProgramState::Failed) {
        Some(Bounce::Start)
    } else {
        None
    }
}

/// Parses one `supervisorctl status name` line.
pub(crate) fn parse_status(output: &str, name: &str) -> ProgramState {
    let line = output.lines().find(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|w| w.trim_end_matches(':') == name || w.ends_with(&format!(":{name}")))
    });
    let Some(line) = line else {
        return if output.contains("refused")
            || output.contains("no such file")
            || output.contains("SHUTDOWN_STATE")
        {
            ProgramState::Unreachable
        } else {
            ProgramState::Unknown
        };
    };
    if line.contains("no such process") || line.contains("ERROR") {
        return ProgramState::Unknown;
    }
    match line.split_whitespace().nth(1).unwrap_or("") {
        "RUNNING" => ProgramState::Running,
        "STARTING" => ProgramState::Starting,
        "STOPPED" | "STOPPING" | "EXITED" => ProgramState::Stopped,
        "FATAL" | "BACKOFF" => ProgramState::Failed,
        _ => ProgramState::Unknown,
    }
}

/// The reasons a `Run` change carries; `script` reads back which one it planned.
const RESTART: &str = "a task it watches changed: restart once";
const START: &str = "the program is not running: start";

/// The arguments of `supervisor`.
pub(super) const ARGS: Groups = &[&[
    Arg::str("name")
        .required()
        .doc("the program name (letters, digits, `-_.`)"),
    Arg::path("conf")
        .required()
        .doc("the file holding `[program:name]`"),
    Arg::str("ctl")
        .default("supervisorctl")
        .doc("the supervisorctl command line"),
    Arg::str("command").required().doc("what supervisord runs"),
    Arg::path("directory").doc("its working folder (absolute)"),
    Arg::str("user").doc("the account it runs as"),
    Arg::map("environment").doc("its environment variables"),
    Arg::bool("autostart")
        .doc("started when supervisord starts")
        .default("true"),
    Arg::bool("autorestart")
        .doc("restarted when it exits")
        .default("true"),
    Arg::int("startsecs")
        .default("1")
        .doc("seconds it must stay up to count as started"),
    Arg::str("stopsignal").doc("the signal that stops it"),
    Arg::path("stdout_logfile")
        .doc("where its output goes (absolute)")
        .default_note("`DIRECTORY/NAME.out.log` (`/tmp` without `directory`)"),
    Arg::path("stderr_logfile")
        .doc("where its errors go (absolute)")
        .default_note("`DIRECTORY/NAME.err.log` (`/tmp` without `directory`)"),
    Arg::bool("keep_running")
        .default("true")
        .doc("false: never started or restarted by this task (`cutover` slots)"),
]];

/// Builds a `supervisor` program from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Supervisor> {
    Supervisor::build(args)
}

/// `_ctl ARGS…` runs the user's `ctl` command line with ARGS appended as separate words.
const CTL_FUNCTION: &str = "_ctl() { sh -c \"$_ctl_cmd\"' \"$@\"' recon-ctl \"$@\"; }\n";

impl Supervisor {
    fn build(args: &Node) -> Result<Self> {
        let f = Fields::declared(args, "`supervisor`", ARGS)?;
        let name_node = f.require("name")?;
        let name = f.required_string("name")?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(Error::invalid(
                format!("program name `{name}` may only use letters, digits, `-`, `_` and `.`"),
                &name_node.span,
            ));
        }
        let conf = checked_path(&f.required_string("conf")?, f.require("conf")?)?;
        let absolute = |key: &str| -> Result<Option<String>> {
            let Some(node) = f.get(key) else {
                return Ok(None);
            };
            let text = f.required_string(key)?;
            if !text.starts_with('/') {
                return Err(Error::invalid(
                    format!("`{key}` must be an absolute path (supervisord does not expand `~`)"),
                    &node.span,
                ));
            }
            Ok(Some(text))
        };
        let command = f.required_string("command")?;
        let directory = absolute("directory")?;
        let startsecs = u32::try_from(f.whole("startsecs")?).unwrap_or(u32::MAX);
        let log_dir = directory.clone().unwrap_or_else(|| "/tmp".to_owned());
        let stdout_log =
            absolute("stdout_logfile")?.unwrap_or_else(|| format!("{log_dir}/{name}.out.log"));
        let stderr_log =
            absolute("stderr_logfile")?.unwrap_or_else(|| format!("{log_dir}/{name}.err.log"));
        let mut section = format!("[program:{name}]\ncommand={command}\n");
        if let Some(dir) = &directory {
            let _ = writeln!(section, "directory={dir}");
        }
        if let Some(user) = f.string("user")? {
            let _ = writeln!(section, "user={user}");
        }
        let _ = writeln!(section, "autostart={}", f.flag("autostart")?);
        let _ = writeln!(section, "autorestart={}", f.flag("autorestart")?);
        let _ = writeln!(section, "startsecs={startsecs}");
        if let Some(signal) = f.string("stopsignal")? {
            let _ = writeln!(section, "stopsignal={signal}");
        }
        let _ = writeln!(
            section,
            "stdout_logfile={stdout_log}\nstderr_logfile={stderr_log}"
        );
        if let Some(env) = f.mapping("environment")? {
            let pairs: Vec<String> = env
                .as_map()
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| {
                    Ok(format!(
                        "{}=\"{}\"",
                        k.key(),
                        scalar(v, "`environment` values")?.replace('"', "\\\"")
                    ))
                })
                .collect::<Result<_>>()?;
            let _ = writeln!(section, "environment={}", pairs.join(","));
        }
        Ok(Self {
            ctl: f.text("ctl")?,
            sha256: sha256_hex(section.as_bytes()),
            section: Arc::new(section),
            name,
            conf,
            startsecs,
            stderr_log,
            keep_running: f.flag("keep_running")?,
        })
    }

    /// The status line without its pid and uptime, and STARTING reported as RUNNING (both
    /// mean "up, nothing to start"): the probe's answer must stay the same while nothing
    /// changes, or every apply would find its plan stale.
    fn status_script(&self) -> Script {
        let mut s = Script::new();
        s.fill("_ctl_cmd={}\n", [w(&self.ctl)])
            .code(CTL_FUNCTION)
            .fill(
            "_ctl status {} | sed -e 's/ *pid [0-9]*, uptime .*//' -e 's/ STARTING *$/ RUNNING/'",
            [w(&self.name)],
        );
        s
    }
}

/// The facts a program needs: its section file and its state.
#[derive(Debug)]
pub(crate) struct Asked {
    conf: Handle<PathState>,
    status: Handle<CommandOutput>,
}

/// What the step does: write the section (when it changed), then exactly one of update,
/// restart or start.
#[derive(Debug)]
pub(crate) struct Decision {
    restart: Bounce,
    write_section: bool,
}

impl Resource for Supervisor {
    type Asked = Asked;
    type Decision = Decision;

    fn id(&self) -> String {
        self.name.clone()
    }

    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::path(&self.conf),
            Claim::new(ClaimKind::Program, &self.name),
        ]
    }

    fn ask(&self, facts: &mut FactSet) -> Asked {
        Asked {
            conf: facts.path(&self.conf, Want::UnlessSha(self.sha256.clone())),
            status: facts.output(self.status_script()),
        }
    }

    fn decide(
        &self,
        asked: &Asked,
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let conf = facts.get(asked.conf);
        if !matches!(conf.kind, PathKind::Absent | PathKind::File) {
            return Err(Problem::new(format!(
                "`{}` exists and is {}, not a regular file",
                self.conf,
                conf.kind.describe()
            )));
        }
        let changed = conf.sha256.as_deref() != Some(self.sha256.as_str());
        let status = &facts.get(asked.status).stdout;
        let state = parse_status(status, &self.name);
        if state == ProgramState::Unreachable {
            return Err(Problem::new(format!(
                "supervisord is not reachable with `{} status {}`: {}",
                self.ctl,
                self.name,
                status.trim()
            )));
        }
        let Some(restart) = decide(changed, situation.triggered, state)
            // A slot the cutover drives: recon only keeps its section (an update), never
            // restarts or starts it on its own.
            .filter(|b| self.keep_running || *b == Bounce::Update)
        else {
            return Ok(None);
        };
        let change = match restart {
            Bounce::Update => {
                let mut c = Change::new(
                    if conf.kind == PathKind::Absent && state == ProgramState::Unknown {
                        Action::Create
                    } else {
                        Action::Update
                    },
                );
                if changed {
                    c = c.field(
                        Field::CONTENT,
                        None,
                        Some(format!("[program:{}]", self.name)),
                    );
                    c.diff = text_diff(
                        conf.content.as_deref().unwrap_or_default(),
                        self.section.as_bytes(),
                    );
                }
                c.reason("the program section changed: reread + update (restarts it once)")
            }
            Bounce::Restart => Change::new(Action::Run).reason(RESTART),
            Bounce::Start => Change::new(Action::Run).reason(START),
        };
        Ok(Some((
            change,
            Decision {
                restart,
                write_section: changed,
            },
        )))
    }

    fn script(&self, d: &Decision, s: &mut Script) {
        if d.write_section {
            s.fill("_put {} 0644 - -", [p(&self.conf)])
                .base64_heredoc(self.section.as_bytes())
                .code("[ $? -eq 0 ] || exit 1\n");
        }
        s.fill("_ctl_cmd={}\n_name={}\n", [w(&self.ctl), w(&self.name)])
            .code(CTL_FUNCTION);
        if !self.keep_running {
            // Known to supervisord is all this task asks; the cutover starts it.
            s.code(
                "_ctl reread >/dev/null && _ctl update \"$_name\" || exit 1\n\
                 case $(_ctl status \"$_name\" 2>&1) in *'no such'*) printf 'supervisord does not know %s after update\\n' \"$_name\"; exit 1;; esac\n\
                 exit 0\n",
            );
            return;
        }
        s.code(match d.restart {
            // `start` after `update` is a no-op for a running program (no second restart) and
            // brings up one with `autostart=false`.
            Bounce::Update => {
                "_ctl reread >/dev/null && _ctl update \"$_name\"; _ctl start \"$_name\" >/dev/null 2>&1 || true\n"
            }
            Bounce::Restart => "_ctl restart \"$_name\" || true\n",
            Bounce::Start => "_ctl start \"$_name\" || true\n",
        });
        s.fill(
            "_end=$(( $(date +%s) + {} ))\n\
             while :; do\n  _st=$(_ctl status \"$_name\" 2>&1)\n  case $_st in\n    *RUNNING*) exit 0;;\n    *FATAL*|*BACKOFF*|*EXITED*|*STOPPED*|*'no such'*) break;;\n  esac\n  [ \"$(date +%s)\" -ge \"$_end\" ] && break\n  sleep 0.5\ndone\n\
             printf 'program %s did not reach RUNNING: %s\\n' \"$_name\" \"$_st\"\n_log={}\nprintf -- '--- tail of %s\\n' \"$_log\"\ntail -n 20 -- \"$_log\" 2>&1\nexit 1\n",
            [n(u64::from(self.startsecs) + 15), w(&self.stderr_log)],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_table_restarts_exactly_once() {
        use super::Bounce::{Restart, Start, Update};
        use ProgramState::{Running, Stopped, Unknown};
        for state in [Running, Stopped] {
            assert_eq!(
                decide(true, true, state),
                Some(Update),
                "section changed wins; never both"
            );
            assert_eq!(decide(true, false, state), Some(Update));
            assert_eq!(decide(false, true, state), Some(Restart));
        }
        assert_eq!(decide(false, false, Running), None);
        assert_eq!(decide(false, false, Stopped), Some(Start));
        assert_eq!(decide(false, false, ProgramState::Failed), Some(Start));
        assert_eq!(
            decide(false, false, Unknown),
            Some(Update),
            "not known to supervisord yet"
        );
    }

    #[test]
    fn status_is_parsed_not_exit_coded() {
        assert_eq!(
            parse_status(
                "digicam-a   RUNNING   pid 12, uptime 0:01:02\n",
                "digicam-a"
            ),
            ProgramState::Running
        );
        assert_eq!(
            parse_status("digicam-a   STOPPED   Nov 24 01:00 PM\n", "digicam-a"),
            ProgramState::Stopped
        );
        assert_eq!(
            parse_status("digicam-a   FATAL     Exited too quickly\n", "digicam-a"),
            ProgramState::Failed
        );
        assert_eq!(
            parse_status("digicam-a: ERROR (no such process)\n", "digicam-a"),
            ProgramState::Unknown
        );
        assert_eq!(
            parse_status("unix:///x/supervisor.sock no such file\n", "digicam-a"),
            ProgramState::Unreachable
        );
        assert_eq!(
            parse_status("other   RUNNING   pid 1\n", "digicam-a"),
            ProgramState::Unknown
        );
    }
}
