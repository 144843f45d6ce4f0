//! `wait_for: { port | path | url, ... }`: a condition on the host, waited for (Ansible's
//! `wait_for`, and `uri` with GET or HEAD). The probe checks it once, read-only: a condition
//! that holds while nothing earlier in the plan changes is converged, so a converged host plans
//! nothing. Otherwise the apply waits (after `delay`, every `sleep` seconds, until `timeout`)
//! and fails with `msg` when it never holds. Waiting changes nothing: a step that saw its
//! condition hold reports "ok" (exit 100), never "changed".
//!
//! Conditions: a TCP `port` on `host` accepting connections (`state: started`) or refusing
//! them (`stopped`), or without active connections (`drained`, from /proc/net/tcp); a `path`
//! existing (`present`, optionally holding `search_regex`, a Python regex) or gone (`absent`);
//! a `url` answering one of `status` (and holding `contains`). With none, it just sleeps
//! `timeout` seconds on every apply.

use super::args::number;
use super::{BuildContext, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{Exit, FactSet, Facts, Handle};
use crate::fields::arg::{Arg, Groups};
use crate::fields::{scalar, Fields};
use crate::plan::{Action, Change};
use crate::registered::{Shape, Shaped};
use crate::script::{n, p, w, Script};
use crate::yaml::Node;

/// A condition waited for.
#[derive(Debug, Clone)]
pub(crate) struct WaitFor {
    pub(crate) condition: Condition,
    /// Seconds before giving up (0: one attempt).
    pub(crate) timeout: u32,
    /// Seconds before the first check.
    pub(crate) delay: u32,
    /// Seconds between checks.
    pub(crate) sleep: u32,
    /// Seconds one connection attempt or request may take.
    pub(crate) connect_timeout: u32,
    pub(crate) msg: Option<String>,
}

/// What is waited for.
#[derive(Debug, Clone)]
pub(crate) enum Condition {
    Port {
        host: String,
        port: u16,
        open: bool,
    },
    Drained {
        port: u16,
    },
    Path {
        path: String,
        present: bool,
        regex: Option<String>,
    },
    Url {
        url: String,
        status: Vec<u16>,
        contains: Option<String>,
        headers: Vec<String>,
        head: bool,
        follow: bool,
        insecure: bool,
    },
    /// No condition: `timeout` seconds pass.
    Sleep,
}

/// The arguments of `wait_for`: one of `port`, `path`, `url`, or none (a sleep).
pub(super) const ARGS: Groups = &[&[
    Arg::int("port")
        .doc("a TCP port (1 to 65535)")
        .ansible(&["port"]),
    Arg::str("host")
        .default("127.0.0.1")
        .doc("with `port`: where it is")
        .ansible(&["host"]),
    Arg::path("path")
        .doc("a path that must exist (or not)")
        .ansible(&["path"]),
    Arg::str("url")
        .doc("an http:// or https:// URL that must answer")
        .ansible(&["url"]),
    Arg::one_of(
        "state",
        &["started", "present", "stopped", "absent", "drained"],
    )
    .default_note("`started` (port), `present` (path)")
    .doc("port: started/stopped/drained; path: present/absent")
    .ansible(&["state"]),
    Arg::str("search_regex")
        .doc("with `path`: a regex the file must contain")
        .ansible(&["search_regex"]),
    Arg::strings("status")
        .default("200")
        .doc("with `url`: accepted statuses (a list or `200,201`)")
        .ansible(&["status_code"]),
    Arg::str("contains").doc("with `url`: text the body must contain"),
    Arg::map("headers")
        .doc("with `url`: request headers")
        .ansible(&["headers"]),
    Arg::str("method")
        .default("GET")
        .doc("with `url`: `GET` or `HEAD` (a check is read-only)")
        .ansible(&["method"]),
    Arg::bool("follow_redirects")
        .default("true")
        .doc("with `url`")
        .ansible(&["follow_redirects"]),
    Arg::bool("validate_certs")
        .default("true")
        .doc("with `url`")
        .ansible(&["validate_certs"]),
    Arg::int("timeout")
        .default("300")
        .doc("seconds before it fails (without a condition: the sleep)")
        .ansible(&["timeout"]),
    Arg::int("delay")
        .default("0")
        .doc("seconds before the first check")
        .ansible(&["delay"]),
    Arg::int("sleep")
        .default("1")
        .doc("seconds between checks")
        .ansible(&["sleep"]),
    Arg::int("connect_timeout")
        .default("5")
        .doc("seconds per connection attempt")
        .ansible(&["connect_timeout"]),
    Arg::str("msg")
        .doc("the message when it fails")
        .ansible(&["msg"]),
]];

/// Builds a `wait_for` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<WaitFor> {
    let f = Fields::declared(args, "`wait_for`", ARGS)?;
    let secs = |key: &str| -> Result<u32> { Ok(u32::try_from(f.whole(key)?).unwrap_or(u32::MAX)) };
    let given: Vec<&str> = ["port", "path", "url"]
        .into_iter()
        .filter(|k| f.get(k).is_some())
        .collect();
    if let [_, second, ..] = given.as_slice() {
        return Err(Error::invalid(
            "`wait_for` waits for one of `port`, `path` or `url`",
            &f.require(second)?.span,
        )
        .with_label("second condition"));
    }
    let state = f.string("state")?;
    let bad_state = |allowed: &str| -> Error {
        let node = f.get("state").unwrap_or(args);
        Error::invalid(
            format!(
                "`state` must be one of {allowed} here, not `{}`",
                state.as_deref().unwrap_or("")
            ),
            &node.span,
        )
    };
    let only = |key: &str, with: &str| -> Result<()> {
        match f.get(key) {
            Some(node) => Err(Error::invalid(
                format!("`{key}` is only used with {with}"),
                &node.span,
            )
            .with_label("here")),
            None => Ok(()),
        }
    };
    let condition = match given.first().copied() {
        Some("port") => {
            only("search_regex", "`path`")?;
            let (host, port) = host_and_port(&f)?;
            match state.as_deref().unwrap_or("started") {
                "started" | "present" => Condition::Port {
                    host,
                    port,
                    open: true,
                },
                "stopped" | "absent" => Condition::Port {
                    host,
                    port,
                    open: false,
                },
                "drained" => Condition::Drained { port },
                _ => return Err(bad_state("started, stopped, drained")),
            }
        }
        Some("path") => {
            let path = super::args::path(&f, "path")?;
            let regex = f.string("search_regex")?;
            let present = match state.as_deref().unwrap_or("present") {
                "present" | "started" => true,
                "absent" | "stopped" => false,
                _ => return Err(bad_state("present, absent")),
            };
            if !present {
                only("search_regex", "`state: present`")?;
            }
            Condition::Path {
                path,
                present,
                regex,
            }
        }
        Some(_) => url_condition(&f)?,
        None => Condition::Sleep,
    };
    if !matches!(condition, Condition::Url { .. }) {
        for key in [
            "status",
            "contains",
            "headers",
            "method",
            "follow_redirects",
            "validate_certs",
        ] {
            only(key, "`url`")?;
        }
    }
    if !matches!(condition, Condition::Port { .. }) {
        only("host", "`port`")?;
    }
    Ok(WaitFor {
        condition,
        timeout: secs("timeout")?,
        delay: secs("delay")?,
        sleep: secs("sleep")?.max(1),
        connect_timeout: secs("connect_timeout")?.max(1),
        msg: f.string("msg")?,
    })
}

/// `port:` (1 to 65535) and the `host` it is on (127.0.0.1 by default).
fn host_and_port(f: &Fields<'_>) -> Result<(String, u16)> {
    let port_node = f.require("port")?;
    let port = number(f, "port")?
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| Error::invalid("`port` must be 1 to 65535", &port_node.span))?;
    let host = f.text("host")?;
    Ok((host, port))
}

/// `url:` with its check: the statuses, text and headers to expect, GET or HEAD only.
fn url_condition(f: &Fields<'_>) -> Result<Condition> {
    let url_node = f.require("url")?;
    let url = f.required_string("url")?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::invalid(
            format!("`url` must start with http:// or https://, not `{url}`"),
            &url_node.span,
        ));
    }
    Ok(Condition::Url {
        url,
        status: statuses(f)?,
        contains: f.string("contains")?,
        headers: headers(f)?,
        head: match f.string("method")?.as_deref().unwrap_or("GET") {
            "GET" => false,
            "HEAD" => true,
            other => {
                let node = f.require("method")?;
                return Err(Error::invalid(
                    format!("`method` must be GET or HEAD, not `{other}`: a check is read-only"),
                    &node.span,
                ));
            }
        },
        follow: f.flag("follow_redirects")?,
        insecure: !f.flag("validate_certs")?,
    })
}

/// `status: 200` or `status: [200, 201]`.
fn statuses(f: &Fields<'_>) -> Result<Vec<u16>> {
    let Some(node) = f.get("status") else {
        return Ok(vec![200]);
    };
    let items: Vec<&Node> = match node.as_seq() {
        Some(items) => items.iter().collect(),
        None => vec![node],
    };
    let mut out = Vec::new();
    for item in items {
        // Ansible reads a list from `200,201` too.
        for code in scalar(item, "`status`")?.split(',') {
            let code = code
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| {
                    Error::invalid(
                        "`status` must be HTTP status codes (100 to 599)",
                        &item.span,
                    )
                })?;
            out.push(code);
        }
    }
    Ok(out)
}

/// `headers: { Name: value }` as `Name: value` lines, checked.
fn headers(f: &Fields<'_>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if let Some(map) = f.mapping("headers")? {
        for (k, v) in map.as_map().unwrap_or_default() {
            let value = scalar(v, "`headers` values")?;
            if k.key().is_empty() || k.key().contains([':', '\r', '\n']) {
                return Err(Error::invalid("not an HTTP header name", &k.span));
            }
            if value.contains(['\r', '\n']) {
                return Err(Error::invalid(
                    "an HTTP header value cannot hold a line break",
                    &v.span,
                ));
            }
            out.push(format!("{}: {value}", k.key()));
        }
    }
    Ok(out)
}

/// One attempt at each kind of condition; exit 0 when it holds, 1 when not, 2 when the host
/// cannot check it. Values arrive as arguments, never as text.
const FUNCTIONS: &str = r#"_wf_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3])).close()
except OSError:
    sys.exit(1)' "$1" "$2" "$3"
  elif command -v nc >/dev/null 2>&1; then
    nc -z -w "$3" "$1" "$2" || return 1
  else
    echo 'wait_for needs python3 or nc on the host to check a port' >&2; return 2
  fi
}
_wf_drained() {
  _wh=$(printf ':%04X' "$1")
  ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$_wh" 'substr($2, length($2) - 4) == p && $4 ~ /^0[1-6]$/ { f = 1 } END { exit !f }'
}
_wf_path() {
  [ -e "$1" ] || return 1
  [ -z "$2" ] && return 0
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import re, sys
sys.exit(0 if re.search(sys.argv[1], open(sys.argv[2], errors="replace").read(), re.M) else 1)' "$2" "$1"
  else
    grep -Eq -- "$2" "$1"
  fi
}
_wf_url() {
  _wu=$1; _ws=$2; _wc=$3; _wm=$4; _wl=$5; _wk=$6; _wt=$7; shift 7
  if command -v curl >/dev/null 2>&1; then
    for _wh do shift; set -- "$@" -H "$_wh"; done
    [ "$_wm" = HEAD ] && set -- "$@" -I
    [ "$_wl" = 1 ] && set -- "$@" -L
    [ "$_wk" = 1 ] && set -- "$@" -k
    _wr=$(curl -s -w '\n%{http_code}' --max-time "$_wt" "$@" -- "$_wu" 2>/dev/null)
  elif command -v python3 >/dev/null 2>&1; then
    _wr=$(python3 -c 'import ssl, sys, urllib.request
url, method, insecure, timeout = sys.argv[1], sys.argv[2], sys.argv[3] == "1", float(sys.argv[4])
req = urllib.request.Request(url, method=method)
for h in sys.argv[5:]:
    k, _, v = h.partition(": "); req.add_header(k, v)
ctx = ssl._create_unverified_context() if insecure else None
try:
    r = urllib.request.urlopen(req, timeout=timeout, context=ctx); code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
except Exception:
    code, body = 0, b""
sys.stdout.write(body.decode("utf-8", "replace") + "\n%03d" % code)' "$_wu" "$_wm" "$_wk" "$_wt" "$@" 2>/dev/null)
  else
    echo 'wait_for needs curl or python3 on the host to check a URL' >&2; return 2
  fi
  _wcode=${_wr##*"
"}
  case $_wcode in [0-9][0-9][0-9]) ;; *) _wcode=000 ;; esac
  case " $_ws " in *" $_wcode "*) ;; *) return 1 ;; esac
  [ -z "$_wc" ] && return 0
  case ${_wr%???} in *"$_wc"*) return 0 ;; esac
  return 1
}
"#;

impl WaitFor {
    /// The functions and `_wf_once`, which checks the condition once.
    fn once(&self) -> Script {
        let mut s = Script::new();
        s.code(FUNCTIONS).code("_wf_once() {\n  ");
        let t = n(self.connect_timeout);
        match &self.condition {
            Condition::Port { host, port, open } => {
                s.fill("_wf_port {} {} {}", [w(host), n(*port), t]);
                if !*open {
                    // Refused, not "cannot check": a host without the tools never passes.
                    s.code("\n  [ $? -eq 1 ]");
                }
            }
            Condition::Drained { port } => {
                s.fill("_wf_drained {}", [n(*port)]);
            }
            Condition::Path {
                path,
                present,
                regex,
            } => {
                if *present {
                    s.fill(
                        "_wf_path {} {}",
                        [p(path), w(regex.as_deref().unwrap_or(""))],
                    );
                } else {
                    s.fill("! [ -e {} ] && ! [ -L {} ]", [p(path), p(path)]);
                }
            }
            Condition::Url {
                url,
                status,
                contains,
                headers,
                head,
                follow,
                insecure,
            } => {
                let codes: Vec<String> = status.iter().map(u16::to_string).collect();
                s.fill(
                    "_wf_url {} {} {} {} {} {} {}",
                    [
                        w(url),
                        w(&codes.join(" ")),
                        w(contains.as_deref().unwrap_or("")),
                        w(if *head { "HEAD" } else { "GET" }),
                        n(u8::from(*follow)),
                        n(u8::from(*insecure)),
                        t,
                    ],
                )
                .words(headers.iter().map(String::as_str));
            }
            Condition::Sleep => {
                s.code("true");
            }
        }
        s.code("\n}\n");
        s
    }

    /// The condition in words, for plans and the timeout message.
    fn describe(&self) -> String {
        match &self.condition {
            Condition::Port { host, port, open } => {
                format!(
                    "{host}:{port} {}",
                    if *open {
                        "accepting connections"
                    } else {
                        "refusing connections"
                    }
                )
            }
            Condition::Drained { port } => format!("port {port} without active connections"),
            Condition::Path {
                path,
                present: true,
                regex: Some(re),
            } => format!("`{re}` in {path}"),
            Condition::Path { path, present, .. } => {
                format!("{path} {}", if *present { "present" } else { "absent" })
            }
            Condition::Url {
                url,
                status,
                contains,
                head,
                ..
            } => {
                let codes: Vec<String> = status.iter().map(u16::to_string).collect();
                let mut d = format!(
                    "{} {url} answering {}",
                    if *head { "HEAD" } else { "GET" },
                    codes.join(" or ")
                );
                if let Some(c) = contains {
                    d.push_str(" with `");
                    d.push_str(c);
                    d.push('`');
                }
                d
            }
            Condition::Sleep => format!("{} seconds", self.timeout),
        }
    }
}

impl Resource for WaitFor {
    type Asked = Option<Handle<Exit>>;
    type Decision = ();

    fn id(&self) -> String {
        self.describe()
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        if matches!(self.condition, Condition::Sleep) {
            return None;
        }
        let mut s = self.once();
        s.code("_wf_once");
        Some(facts.guard(s))
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<(Change, ())>, Problem> {
        let reason = match asked.map(|h| facts.get(h).0) {
            None => "sleeps on every apply (nothing to wait for)".to_owned(),
            Some(0) if !situation.after_changes => return Ok(None),
            Some(0) => "holds now; checked again after this apply's earlier changes".to_owned(),
            Some(1) => "does not hold yet".to_owned(),
            Some(status) => format!("the probe could not check it (exit {status})"),
        };
        Ok(Some((Change::new(Action::Run).reason(reason), ())))
    }

    fn script(&self, (): &(), s: &mut Script) {
        if matches!(self.condition, Condition::Sleep) {
            s.fill(
                "sleep {}\nexit 100\n",
                [n(self.delay.saturating_add(self.timeout))],
            );
            return;
        }
        let msg = self
            .msg
            .clone()
            .unwrap_or_else(|| format!("timeout when waiting for {}", self.describe()));
        s.script(&self.once())
            .fill(
                "_wf_end=$(( $(date +%s) + {} ))\nsleep {}\n",
                [n(self.timeout), n(self.delay)],
            )
            .fill(
                "while :; do\n  _wf_once\n  case $? in 0) exit 100 ;; 2) exit 1 ;; esac\n  [ \"$(date +%s)\" -ge \"$_wf_end\" ] && break\n  sleep {}\ndone\nprintf '%s\\n' {} >&2\nexit 1\n",
                [n(self.sleep), w(&msg)],
            );
    }

    /// `uri` (a URL checked once): a read-only request whose status and body are its result.
    fn query(&self, out: &mut Script) -> bool {
        if !self.query_when_registered() {
            return false;
        }
        out.script(&self.once()).code(
            "_wf_once; _wrc=$?\nprintf 'status=%s\\n' \"${_wcode:-000}\"\nprintf '%s' \"${_wr%????}\"\nexit $_wrc\n",
        );
        true
    }

    fn query_when_registered(&self) -> bool {
        matches!(self.condition, Condition::Url { .. }) && self.timeout == 0
    }

    fn result_shape(&self) -> Shape {
        match &self.condition {
            Condition::Url { .. } => HTTP,
            _ => Shape::PLAIN,
        }
    }
}

/// `uri`'s result: `status` (the first line printed), `content` (the rest) and `json` when the
/// content parses as JSON.
const HTTP: Shape = Shape::new("http", |r| {
    use minijinja::Value as JValue;
    let (first, content) = r.stdout.split_once('\n').unwrap_or((&r.stdout, ""));
    let status = first.strip_prefix("status=").unwrap_or("0");
    // Nothing answered (`000`) is Ansible's -1.
    let status = status.trim().parse::<i64>().unwrap_or(0);
    let mut map = std::collections::BTreeMap::from([
        (
            "status".to_owned(),
            JValue::from(if status == 0 { -1 } else { status }),
        ),
        ("content".to_owned(), JValue::from(content)),
        (
            "msg".to_owned(),
            JValue::from(format!("OK ({} bytes)", content.len())),
        ),
    ]);
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(content) {
        map.insert("json".to_owned(), JValue::from_serialize(&json));
    }
    Shaped::Fields(map)
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::{decide, decide_in, script_of};

    fn wait(condition: Condition) -> WaitFor {
        WaitFor {
            condition,
            timeout: 1,
            delay: 0,
            sleep: 1,
            connect_timeout: 1,
            msg: None,
        }
    }

    /// Runs `_wf_once` for `c` under dash in `dir`; its exit status.
    fn once(c: &WaitFor, dir: &std::path::Path) -> i32 {
        let mut s = c.once();
        s.code("_wf_once");
        std::process::Command::new("dash")
            .args(["-c", s.as_str()])
            .current_dir(dir)
            .status()
            .expect("dash runs")
            .code()
            .unwrap_or(-1)
    }

    #[test]
    fn a_condition_that_holds_is_converged_unless_earlier_steps_change_things() {
        let c = wait(Condition::Port {
            host: "127.0.0.1".into(),
            port: 1,
            open: true,
        });
        assert!(decide(&c, vec![FactValue::Guard(Exit(0))])
            .expect("ok")
            .is_none());
        let after = Situation {
            after_changes: true,
            ..Situation::default()
        };
        assert!(decide_in(&c, vec![FactValue::Guard(Exit(0))], after)
            .expect("ok")
            .is_some());
        let (change, ()) = decide(&c, vec![FactValue::Guard(Exit(1))])
            .expect("ok")
            .expect("waits");
        assert_eq!(change.reason.as_deref(), Some("does not hold yet"));
    }

    #[test]
    fn ports_paths_and_regexes_are_checked_on_the_real_host() {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let open = |open| {
            wait(Condition::Port {
                host: "127.0.0.1".into(),
                port,
                open,
            })
        };
        assert_eq!(once(&open(true), dir.path()), 0);
        assert_eq!(once(&open(false), dir.path()), 1);
        drop(listener);
        assert_eq!(once(&open(true), dir.path()), 1);
        assert_eq!(once(&open(false), dir.path()), 0);
        let hostile = "$(touch pwned)`touch pwned2`'\";&\\ x";
        let file = dir.path().join(hostile);
        std::fs::write(&file, "ready: yes\n").expect("write");
        let path = |regex: Option<&str>| {
            wait(Condition::Path {
                path: file.to_str().expect("utf-8").into(),
                present: true,
                regex: regex.map(Into::into),
            })
        };
        assert_eq!(once(&path(None), dir.path()), 0);
        assert_eq!(once(&path(Some(r"^ready: (yes|y)$")), dir.path()), 0);
        assert_eq!(once(&path(Some(hostile)), dir.path()), 1);
        for canary in ["pwned", "pwned2"] {
            assert!(!dir.path().join(canary).exists(), "{canary} ran");
        }
    }

    #[test]
    fn the_apply_waits_until_the_timeout_then_fails_with_the_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = WaitFor {
            msg: Some("never $(touch pwned)".into()),
            ..wait(Condition::Path {
                path: dir.path().join("never").to_str().expect("utf-8").into(),
                present: true,
                regex: None,
            })
        };
        let out = std::process::Command::new("dash")
            .args(["-c", script_of(&c, &()).as_str()])
            .current_dir(dir.path())
            .output()
            .expect("dash runs");
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "never $(touch pwned)\n"
        );
        assert!(!dir.path().join("pwned").exists());
    }
}
