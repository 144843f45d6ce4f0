//! `recon run PATTERN -- COMMAND`: one command on many hosts, in parallel, over the same
//! transports as apply. Read-only by intent, not by construction: it runs what it is given.

use std::fmt::Write as _;
use std::sync::atomic::AtomicBool;

use minijinja::Value as JValue;
use rayon::prelude::*;
use serde::Serialize;

use crate::compile::parse_extra_vars;
use crate::error::Result;
use crate::inventory::{self, Inventory};
use crate::script::{Script, BECOME_PRELUDE};
use crate::template::{Context, Templar};
use crate::transport::{Pool, Target};
use crate::vars::Scopes;

/// What one host answered.
#[derive(Debug, Serialize)]
pub(crate) struct HostOutput {
    pub(crate) host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exit_code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// The script for `command`: one argument is a `sh` command line, several are argv (a program
/// and its arguments, no shell).
pub(crate) fn script(command: &[String]) -> Script {
    let mut s = Script::of(BECOME_PRELUDE);
    match command {
        [one] => s.user_command(one),
        words => s.code("command --").words(words.iter().map(String::as_str)),
    };
    s.code("\n");
    s
}

/// Runs `command` on every host matching `pattern`.
pub(crate) fn run(
    inventory: &Inventory,
    pattern: &str,
    extra: &[String],
    command: &[String],
    become_: bool,
    connections: &Pool,
    workers: &rayon::ThreadPool,
) -> Result<Vec<HostOutput>> {
    let hosts = inventory::select(inventory, pattern)?;
    let extra = parse_extra_vars(extra)?;
    let templar = std::sync::Arc::new(Templar::new());
    let targets = hosts
        .iter()
        .map(|name| {
            let vars = inventory.host(name).map(|h| &h.vars);
            let scopes = Scopes {
                inventory: vars,
                extra: &extra,
                builtins: vec![
                    ("inventory_hostname", JValue::from(*name)),
                    (
                        "inventory_dir",
                        JValue::from(inventory.dir.display().to_string()),
                    ),
                ],
                ..Scopes::default()
            };
            let ctx = Context::new(&templar, scopes.flatten());
            Ok((
                *name,
                Target::from_vars(name, &|var| ctx.text(var), &inventory.defaults)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let script = script(command);
    let stop = AtomicBool::new(false);
    Ok(workers.install(|| {
        targets
            .par_iter()
            .map(|(host, target)| {
                let result = connections.with(host, target, |t| {
                    t.run_script(script.as_bytes(), target.become_.unwrap_or(become_), &stop)
                });
                match result.and_then(|r| r) {
                    Ok(out) => HostOutput {
                        host: (*host).to_owned(),
                        exit_code: Some(out.status),
                        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                        error: None,
                    },
                    Err(e) => HostOutput {
                        host: (*host).to_owned(),
                        exit_code: None,
                        stdout: String::new(),
                        stderr: String::new(),
                        error: Some(e.message),
                    },
                }
            })
            .collect()
    }))
}

/// `host | exit N` headers with each stream below.
pub(crate) fn render(outputs: &[HostOutput]) -> String {
    let mut out = String::new();
    for o in outputs {
        match (&o.error, o.exit_code) {
            (Some(e), _) => {
                let _ = writeln!(out, "{} | unreachable: {e}", o.host);
            }
            (None, code) => {
                let _ = writeln!(out, "{} | exit {}", o.host, code.unwrap_or(-1));
                out.push_str(&o.stdout);
                if !o.stdout.is_empty() && !o.stdout.ends_with('\n') {
                    out.push('\n');
                }
                for line in o.stderr.lines() {
                    let _ = writeln!(out, "stderr: {line}");
                }
            }
        }
    }
    out
}
