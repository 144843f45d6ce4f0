//! `http_check: { url, host, status, contains, timeout, release, link, restart }`: the health
//! gate. It runs when a task it watches changed (`notify`), or while its release is not yet
//! marked good. It GETs `url` on the host itself (curl, else python3) until the expected status
//! (and text) or the timeout. Success marks the current release good. Failure, with `release`
//! set, marks it failed, switches the link back to the previous good release, runs `restart`,
//! checks again and fails the host with the reason.

use super::release::{last_good, Marker, Status};
use super::release::{ReleaseState, Releases};
use super::{BuildContext, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{FactSet, Facts, Handle};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change};
use crate::script::{n, p, w, Script};
use crate::yaml::Node;

/// A health check, optionally gating a release.
#[derive(Debug, Clone)]
pub(crate) struct HttpCheck {
    pub(crate) url: String,
    pub(crate) host: Option<String>,
    pub(crate) status: u16,
    pub(crate) contains: Option<String>,
    pub(crate) timeout: u32,
    pub(crate) release: Option<String>,
    pub(crate) link: String,
    pub(crate) restart: Option<String>,
    /// Text the answer (headers or body) must carry to count as this app's own answer; an
    /// answer without it never marks a release good or failed.
    pub(crate) identity: Option<String>,
    /// The app's own address, bypassing the front (nginx): when `url` fails, it tells "the
    /// front is down or routes elsewhere" (the app answers here) from "the release is broken".
    pub(crate) direct: Option<String>,
}

/// The arguments of `http_check`.
pub(super) const ARGS: Groups = &[&[
    Arg::str("url")
        .required()
        .doc("what is fetched (http:// or https://)"),
    Arg::str("host").doc("the Host header"),
    Arg::int("status").default("200").doc("the status expected"),
    Arg::str("contains").doc("text the body must contain"),
    Arg::int("timeout")
        .default("30")
        .doc("seconds the check keeps trying"),
    Arg::path("release").doc("a release root: a failed check rolls its link back"),
    Arg::str("link")
        .default("current")
        .doc("the release link that is rolled back"),
    Arg::str("restart").doc("a command restarting the app after a rollback"),
    Arg::str("identity").doc("text only this app's answers carry (tells it from another's)"),
    Arg::str("direct").doc("the app's own URL, behind the front, to tell whose fault a failure is"),
]];

/// Builds an `http_check` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<HttpCheck> {
    HttpCheck::build(args)
}

/// `_get URL HOST` prints the HTTP status of GET URL (with `Host: HOST` when set), always three
/// digits (`000`: nothing answered), and leaves the body in `$_hb` and the headers in `$_hh`:
/// curl when there is one, else python3. Values come in variables, never text.
const GET_FUNCTION: &str = r#"_get() {
  : > "$_hb"; : > "$_hh"
  if command -v curl >/dev/null 2>&1; then
    # curl prints 000 itself when nothing answered; its exit status is not the answer.
    if [ -n "$2" ]; then
      _c=$(curl -s -o "$_hb" -D "$_hh" -w '%{http_code}' --max-time 5 -H "Host: $2" -- "$1" 2>/dev/null)
    else
      _c=$(curl -s -o "$_hb" -D "$_hh" -w '%{http_code}' --max-time 5 -- "$1" 2>/dev/null)
    fi
  else
    _c=$(python3 -c '
import sys, urllib.request
req = urllib.request.Request(sys.argv[1])
if sys.argv[2]: req.add_header("Host", sys.argv[2])
try:
    r = urllib.request.urlopen(req, timeout=5); code, body, hdrs = r.status, r.read(), r.headers
except urllib.error.HTTPError as e:
    code, body, hdrs = e.code, e.read(), e.headers
except Exception:
    code, body, hdrs = 0, b"", {}
open(sys.argv[3], "wb").write(body)
open(sys.argv[4], "w").write("".join("%s: %s\r\n" % kv for kv in hdrs.items()))
print("%03d" % code)
' "$1" "$2" "$_hb" "$_hh" 2>/dev/null)
  fi
  # Exactly the last three digits, whatever a tool printed around them.
  _c=${_c#"${_c%???}"}
  case $_c in [0-9][0-9][0-9]) ;; *) _c=000 ;; esac
  printf '%s\n' "$_c"
}
_ours() { [ -z "$_id" ] || grep -qF -- "$_id" "$_hh" "$_hb"; }
_healthy() {
  [ "$_code" = "$_status" ] && { [ -z "$_want" ] || grep -qF -- "$_want" "$_hb"; } && _ours
}
_check() {
  _end=$(( $(date +%s) + _timeout ))
  while :; do
    _code=$(_get "$_url" "$_host")
    if [ "$1" = any ]; then [ "$_code" = "$_status" ] && return 0
    elif _healthy; then return 0; fi
    [ "$(date +%s)" -ge "$_end" ] && return 1
    sleep 1
  done
}
_answer() {
  if [ "$1" = 000 ]; then printf 'nothing answered (connection refused or timed out)'; else printf 'answered %s' "$1"; fi
}
_failed() {
  printf 'health check failed: GET %s %s after %ss, expected %s' "$_url" "$(_answer "$_code")" "$_timeout" "$_status"
  if [ -n "$_want" ]; then printf ' containing %s' "$_want"; fi
  if [ -n "$_id" ]; then printf ' from the app identified by %s' "$_id"; fi
  echo
  head -c 300 "$_hb" 2>/dev/null; echo
}
# Who is to blame for a failed check: returns 0 (the release) or 1 (the infrastructure: the
# front is down or answers for someone else while the app is fine), the reason in $_why.
_blame() {
  if [ -n "$_id" ] && [ "$_code" != 000 ] && _ours; then
    _why="the app itself answered, unhealthy"; return 0
  fi
  if [ -n "$_direct" ]; then
    _fc=$_code
    _code=$(_get "$_direct" "")
    if _healthy; then
      _why="the app answers healthy at $_direct but GET $_url $(_answer "$_fc")"
      [ "$_fc" != 000 ] && [ -n "$_id" ] && _why="$_why without the app's identity (another app or the front's own page)"
      _code=$_fc; return 1
    fi
    _why="the app does not answer healthy at $_direct either ($(_answer "$_code"))"; _code=$_fc; return 0
  fi
  case $_code in
    000) _why="nothing answers at $_url: the front is down"; return 1 ;;
    502|503|504) _why="the front answered $_code: the app behind it does not answer"; return 0 ;;
  esac
  if [ -n "$_id" ]; then
    _why="the answer does not carry the app's identity: another app or the front's own page answered"; return 1
  fi
  _why="the app answered, unhealthy"; return 0
}
_infrastructure() {
  echo "infrastructure, not the release: $_why; nothing marked, nothing rolled back (the check runs again on the next apply)"
  exit 1
}
"#;

impl HttpCheck {
    fn build(args: &Node) -> Result<Self> {
        let f = Fields::declared(args, "`http_check`", ARGS)?;
        let url_node = f.require("url")?;
        let url = f.required_string("url")?;
        let web = |key: &str, url: &str, node: &Node| {
            if url.starts_with("http://") || url.starts_with("https://") {
                Ok(())
            } else {
                Err(Error::invalid(
                    format!("`{key}` must start with http:// or https://, not `{url}`"),
                    &node.span,
                ))
            }
        };
        web("url", &url, url_node)?;
        let direct = f.string("direct")?;
        if let (Some(d), Some(node)) = (&direct, f.get("direct")) {
            web("direct", d, node)?;
        }
        let release = match f.get("release") {
            Some(node) => Some(super::args::checked_path(
                &f.required_string("release")?,
                node,
            )?),
            None => None,
        };
        Ok(Self {
            status: u16::try_from(f.whole("status")?).unwrap_or(200),
            timeout: u32::try_from(f.whole("timeout")?).unwrap_or(u32::MAX),
            host: f.string("host")?,
            contains: f.string("contains")?,
            link: f.text("link")?,
            restart: f.string("restart")?,
            identity: f.string("identity")?.filter(|i| !i.is_empty()),
            direct,
            release,
            url,
        })
    }

    /// The check's settings as shell variables, private body and header files, the functions
    /// (also what `cutover` checks a slot with).
    pub(super) fn settings(&self, s: &mut Script) {
        s.fill(
            "_url={}\n_host={}\n_want={}\n_id={}\n_direct={}\n_status={}\n_timeout={}\n",
            [
                w(&self.url),
                w(self.host.as_deref().unwrap_or("")),
                w(self.contains.as_deref().unwrap_or("")),
                w(self.identity.as_deref().unwrap_or("")),
                w(self.direct.as_deref().unwrap_or("")),
                n(self.status),
                n(self.timeout),
            ],
        )
        .code("_hb=$(mktemp) || exit 1\n_hh=$(mktemp) || exit 1\ntrap 'rm -f \"$_hb\" \"$_hh\"' EXIT\n")
        .code(GET_FUNCTION);
    }
}

/// Whether the gate runs, and where to roll back to if it fails.
#[derive(Debug)]
pub(crate) struct Decision {
    /// Rollback candidates, best first: what was current before this apply, then the newest
    /// good releases.
    candidates: Vec<String>,
}

impl Resource for HttpCheck {
    type Asked = Option<Handle<ReleaseState>>;
    type Decision = Decision;

    fn id(&self) -> String {
        match &self.host {
            Some(h) => format!("{} (Host: {h})", self.url),
            None => self.url.clone(),
        }
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        self.release
            .as_ref()
            .map(|root| facts.ask(Releases::new(root, &self.link)))
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let state = asked.map(|h| facts.get(h));
        let change = if situation.triggered {
            Change::new(Action::Run).reason("a task it watches changed")
        } else if !situation.watched {
            Change::new(Action::Run).reason("checks on every apply (no task notifies it)")
        } else {
            let Some(state) = state else {
                return Ok(None);
            };
            let current = state.link.as_deref().unwrap_or("");
            let status = state.markers.get(current).map(|m| Marker::parse(m).status);
            if current.is_empty() || status == Some(Status::Good) {
                return Ok(None);
            }
            Change::new(Action::Run).reason(format!("release `{current}` is not marked good yet"))
        };
        let mut candidates: Vec<String> = Vec::new();
        if let Some(state) = state {
            if let Some(prev) = &state.link {
                if state
                    .markers
                    .get(prev)
                    .is_some_and(|m| Marker::parse(m).status.usable())
                {
                    candidates.push(prev.clone());
                }
            }
            let mut others = state.clone();
            while let Some(v) = last_good(&others, None) {
                others.markers.remove(&v);
                if !candidates.contains(&v) {
                    candidates.push(v);
                }
            }
        }
        Ok(Some((change, Decision { candidates })))
    }

    fn script(&self, d: &Decision, s: &mut Script) {
        self.settings(s);
        let Some(root) = &self.release else {
            s.code("if _check body; then exit 0; fi\n_failed\n_blame || _infrastructure\necho \"$_why\"\nexit 1\n");
            return;
        };
        s.fill("_r={}\n_l={}\n", [p(root), w(&self.link)])
            .code(MARK_FUNCTION);
        s.code("_cur=$(readlink -- \"$_r/$_l\")\nif _check body; then _mark good || exit 1; exit 0; fi\n_failed\n_blame || _infrastructure\necho \"release $_cur is to blame: $_why\"\n_mark failed\n_prev=\nfor _p in");
        s.words(d.candidates.iter().map(String::as_str));
        s.code("; do\n  if [ \"$_p\" != \"$_cur\" ] && [ -d \"$_r/$_p\" ]; then _prev=$_p; break; fi\ndone\n\
            if [ -z \"$_prev\" ]; then echo \"release $_cur is marked failed; no earlier good release to roll back to\"; exit 1; fi\n\
            _link \"$_prev\" \"$_r/$_l\" || exit 1\n");
        if let Some(restart) = &self.restart {
            s.user_command(restart).code(" </dev/null\n");
        }
        s.code("if _check any; then echo \"rolled back to $_prev, which answers; release $_cur is marked failed\"; else echo \"rolled back to $_prev, which does not answer either\"; fi\nexit 1\n");
    }
}

/// `_mark STATUS` rewrites the current release's marker with STATUS, keeping its sha256. The
/// root is entered link-safely (`_root`) and the marker written with `_put`: the account that
/// owns the root cannot redirect the write with a link, nor with a `current` link naming a
/// path instead of a release.
pub(super) const MARK_FUNCTION: &str = r#"_mark() (
  case $_cur in ''|.|..|*/*) printf 'the current link names no release: %s\n' "$_cur" >&2; exit 1;; esac
  _root "$_r" || exit 1
  _sha=$(sed -n 's/^sha256=//p' "./.recon-releases/$_cur" 2>/dev/null)
  printf 'sha256=%s\nstatus=%s\n' "$_sha" "$1" | base64 | _put "./.recon-releases/$_cur" 0644 - -
)
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::{decide, decide_in, script_of, stand_in};

    fn check(release: bool) -> HttpCheck {
        HttpCheck {
            url: "http://127.0.0.1:9001/health".into(),
            host: None,
            status: 200,
            contains: None,
            timeout: 5,
            release: release.then(|| "~/app".into()),
            link: "current".into(),
            restart: None,
            identity: None,
            direct: None,
        }
    }

    fn state(current: &str, status: &str) -> FactValue {
        FactValue::of::<Releases>(ReleaseState {
            link: Some(current.into()),
            dirs: vec![current.into()],
            markers: [(current.to_owned(), format!("sha256=x\nstatus={status}\n"))]
                .into_iter()
                .collect(),
            leftovers: Vec::new(),
            unsafe_link: None,
        })
    }

    #[test]
    fn runs_when_triggered_unwatched_or_while_the_release_is_unproven() {
        let triggered = Situation {
            triggered: true,
            watched: true,
            ..Situation::default()
        };
        let watched = Situation {
            triggered: false,
            watched: true,
            ..Situation::default()
        };
        assert!(decide_in(&check(false), vec![], triggered)
            .expect("ok")
            .is_some());
        assert!(
            decide_in(&check(false), vec![], watched)
                .expect("ok")
                .is_none(),
            "nothing to gate, nothing changed"
        );
        let (standalone, _) = decide(&check(false), vec![]).expect("ok").expect("runs");
        assert_eq!(
            standalone.reason.as_deref(),
            Some("checks on every apply (no task notifies it)")
        );
        assert!(decide_in(&check(true), vec![state("v1", "good")], watched)
            .expect("ok")
            .is_none());
        assert!(
            decide_in(&check(true), vec![state("v1", "deployed")], watched)
                .expect("ok")
                .is_some()
        );
    }

    /// Runs the check's script under dash with a stand-in `curl` (shell text) first on PATH.
    fn run_with_curl(c: &HttpCheck, curl: &str) -> (bool, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = stand_in(dir.path(), "curl", curl);
        let (_, decision) = decide(c, vec![]).expect("ok").expect("runs");
        let body = script_of(c, &decision);
        let out = std::process::Command::new("dash")
            .args(["-c", body.as_str()])
            .current_dir(dir.path())
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .output()
            .expect("dash runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    #[test]
    fn a_dead_front_is_the_infrastructure_and_the_status_is_three_digits() {
        // Whatever a tool prints around it, the status shown is three digits.
        let c = HttpCheck {
            timeout: 0,
            ..check(false)
        };
        let (ok, out) = run_with_curl(&c, "#!/bin/sh\nprintf 000000\nexit 7\n");
        assert!(!ok);
        assert!(
            out.contains("nothing answered (connection refused or timed out)"),
            "{out}"
        );
        assert!(!out.contains("000000"), "{out}");
        assert!(
            out.contains("infrastructure, not the release: nothing answers at"),
            "{out}"
        );
        // The front answers 502 (its app is down): the app is to blame.
        let (ok, out) = run_with_curl(&c, "#!/bin/sh\nprintf 502\n");
        assert!(!ok);
        assert!(out.contains("answered 502"), "{out}");
        assert!(!out.contains("infrastructure"), "{out}");
        // Another app answers 200 without the identity: not this app's answer, nothing judged.
        let c = HttpCheck {
            identity: Some("squad-a".into()),
            ..c
        };
        let (ok, out) = run_with_curl(
            &c,
            "#!/bin/sh\nwhile [ \"$1\" != -o ]; do shift; done\necho squad-b > \"$2\"\nprintf 200\n",
        );
        assert!(!ok);
        assert!(out.contains("does not carry the app's identity"), "{out}");
    }

    #[test]
    fn hostile_url_host_and_contains_run_nothing_and_arrive_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A stand-in curl that records its arguments and answers 200 with the wanted text.
        let args = dir.path().join("args");
        let bin = stand_in(
            dir.path(),
            "curl",
            &format!(
                "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > '{}'\nwhile [ \"$1\" != -o ]; do shift; done\nprintf '%s' \"$CONTAINS\" > \"$2\"\nprintf 200\n",
                args.display()
            ),
        );
        let hostile = "http://x/$(touch pwned)`touch pwned2`'\";&\\";
        let c = HttpCheck {
            url: hostile.into(),
            host: Some("h$(touch pwned3)'".into()),
            contains: Some("ok$(touch pwned4)\"'".into()),
            // The body the stand-in writes carries it: the answer counts as the app's own.
            identity: Some("$(touch pwned5)".into()),
            direct: Some("http://y/$(touch pwned6)".into()),
            ..check(false)
        };
        let (_, decision) = decide(&c, vec![]).expect("ok").expect("runs");
        let body = script_of(&c, &decision);
        let out = std::process::Command::new("dash")
            .args(["-c", body.as_str()])
            .current_dir(dir.path())
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("CONTAINS", "ok$(touch pwned4)\"'$(touch pwned5)")
            .output()
            .expect("dash runs");
        assert!(out.status.success(), "{out:?}");
        let recorded = std::fs::read(&args).expect("curl ran");
        let words: Vec<&[u8]> = recorded.split(|b| *b == 0).collect();
        assert!(words.contains(&hostile.as_bytes()), "{words:?}");
        assert!(
            words.contains(&&b"Host: h$(touch pwned3)'"[..]),
            "{words:?}"
        );
        for canary in ["pwned", "pwned2", "pwned3", "pwned4", "pwned5", "pwned6"] {
            assert!(!dir.path().join(canary).exists(), "{canary} ran");
        }
    }
}
