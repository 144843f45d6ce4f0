//! `supervisor: { name, conf, ctl, command, directory, user, environment, ... }`: a supervisord
//! program. recon writes its `[program:name]` section and knows what changed, so the program
//! restarts exactly once: `update name` when the section changed, `restart name` when only the
//! code changed (a task that notifies this one, typically the `release`), `start` when it is
//! merely down; never `update` and `restart` both. State comes from parsing
//! `supervisorctl status name`, never its exit code (3 whenever anything is stopped).

use std::fmt::Write as _;
use std::sync::Arc;

use super::args::{checked_path, heredoc_base64};
use super::file::text_diff;
use super::Kind;
use crate::error::{Error, Result};
use crate::facts::{sha256_hex, Fact, FactValue, PathKind, Want};
use crate::fields::{scalar, Fields};
use crate::plan::{Action, Change, Field};
use crate::shell::{quote, quote_path};
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
pub(crate) enum Decision {
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
) -> Option<Decision> {
    if section_changed || state == ProgramState::Unknown {
        Some(Decision::Update)
    } else if code_changed {
        Some(Decision::Restart)
    } else if matches!(state, ProgramState::Stopped | ProgramState::Failed) {
        Some(Decision::Start)
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

const KEYS: &[&str] = &[
    "name",
    "conf",
    "ctl",
    "command",
    "directory",
    "user",
    "environment",
    "autostart",
    "autorestart",
    "startsecs",
    "stopsignal",
    "stdout_logfile",
    "stderr_logfile",
];

impl Supervisor {
    pub(crate) fn build(args: &Node) -> Result<Self> {
        let f = Fields::new(args, "`supervisor`", KEYS)?;
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
        let startsecs: u32 = match (f.string("startsecs")?, f.get("startsecs")) {
            (Some(t), Some(node)) => t.parse().map_err(|_| {
                Error::invalid("`startsecs` must be a number of seconds", &node.span)
            })?,
            _ => 1,
        };
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
        let _ = writeln!(
            section,
            "autostart={}",
            f.boolean("autostart")?.unwrap_or(true)
        );
        let _ = writeln!(
            section,
            "autorestart={}",
            f.boolean("autorestart")?.unwrap_or(true)
        );
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
            ctl: f
                .string("ctl")?
                .unwrap_or_else(|| "supervisorctl".to_owned()),
            sha256: sha256_hex(section.as_bytes()),
            section: Arc::new(section),
            name,
            conf,
            startsecs,
            stderr_log,
        })
    }

    /// The status line without its pid and uptime, and STARTING reported as RUNNING (both
    /// mean "up, nothing to start"): the probe's answer must stay the same while nothing
    /// changes, or every apply would find its plan stale.
    fn status_script(&self) -> String {
        format!(
            "{} status {} | sed -e 's/ *pid [0-9]*, uptime .*//' -e 's/ STARTING *$/ RUNNING/'",
            self.ctl,
            quote(&self.name)
        )
    }

    /// Section facts, then program state.
    fn read(&self, facts: &[&FactValue]) -> Result<(bool, Option<Vec<u8>>, ProgramState), String> {
        let [FactValue::Path(conf), FactValue::Output { stdout, .. }] = facts else {
            return Err("missing facts".into());
        };
        if !matches!(conf.kind, PathKind::Absent | PathKind::File) {
            return Err(format!(
                "`{}` exists and is {}, not a regular file",
                self.conf,
                conf.kind.describe()
            ));
        }
        let changed = conf.sha256.as_deref() != Some(self.sha256.as_str());
        let state = parse_status(stdout, &self.name);
        if state == ProgramState::Unreachable {
            return Err(format!(
                "supervisord is not reachable with `{}`: {}",
                self.status_script(),
                stdout.trim()
            ));
        }
        Ok((changed, conf.content.clone(), state))
    }
}

impl Kind for Supervisor {
    fn id(&self) -> String {
        self.name.clone()
    }

    fn kind_name(&self) -> &'static str {
        "supervisor"
    }

    fn claims(&self) -> Vec<String> {
        vec![self.conf.clone()]
    }

    fn facts(&self) -> Vec<Fact> {
        vec![
            Fact::Path {
                path: self.conf.clone(),
                content: Want::UnlessSha(self.sha256.clone()),
            },
            Fact::Output {
                script: self.status_script(),
            },
        ]
    }

    fn diff(&self, facts: &[&FactValue]) -> Result<Option<Change>, String> {
        self.diff_triggered(facts, false)
    }

    fn diff_triggered(
        &self,
        facts: &[&FactValue],
        triggered: bool,
    ) -> Result<Option<Change>, String> {
        let (changed, old, state) = self.read(facts)?;
        let Some(decision) = decide(changed, triggered, state) else {
            return Ok(None);
        };
        let change = match decision {
            Decision::Update => {
                let mut c = Change::new(if old.is_none() && state == ProgramState::Unknown {
                    Action::Create
                } else {
                    Action::Update
                });
                if changed {
                    c = c.field(
                        Field::Content,
                        None,
                        Some(format!("[program:{}]", self.name)),
                    );
                    c.diff = text_diff(old.as_deref().unwrap_or_default(), self.section.as_bytes());
                }
                c.reason("the program section changed: reread + update (restarts it once)")
            }
            Decision::Restart => Change::new(Action::Run).reason(RESTART),
            Decision::Start => Change::new(Action::Run).reason(START),
        };
        Ok(Some(change))
    }

    fn script(&self, facts: &[&FactValue], change: &Change) -> String {
        let ctl = &self.ctl;
        let name = quote(&self.name);
        let mut s = String::new();
        let section_changed = self.read(facts).is_ok_and(|(c, _, _)| c);
        if section_changed {
            let _ = write!(
                s,
                "_put {} 0644 - - <<'RECON_DATA'\n{}RECON_DATA\n",
                quote_path(&self.conf),
                heredoc_base64(self.section.as_bytes())
            );
        }
        let action = if change.action != Action::Run || section_changed {
            // `start` after `update` is a no-op for a running program (no second restart) and
            // brings up one with `autostart=false`.
            format!("{ctl} reread >/dev/null && {ctl} update {name}; {ctl} start {name} >/dev/null 2>&1")
        } else if change.reason.as_deref() == Some(RESTART) {
            format!("{ctl} restart {name}")
        } else {
            format!("{ctl} start {name}")
        };
        let wait = u64::from(self.startsecs) + 15;
        let _ = write!(
            s,
            "{action} || true\n\
             _end=$(( $(date +%s) + {wait} ))\n\
             while :; do\n  _st=$({ctl} status {name} 2>&1)\n  case $_st in\n    *RUNNING*) exit 0;;\n    *FATAL*|*BACKOFF*|*EXITED*|*STOPPED*|*'no such'*) break;;\n  esac\n  [ \"$(date +%s)\" -ge \"$_end\" ] && break\n  sleep 0.5\ndone\n\
             echo \"program {n} did not reach RUNNING: $_st\"\necho '--- tail of {log}'\ntail -n 20 {qlog} 2>&1\nexit 1\n",
            n = self.name,
            log = self.stderr_log,
            qlog = quote(&self.stderr_log),
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_table_restarts_exactly_once() {
        use Decision::{Restart, Start, Update};
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
