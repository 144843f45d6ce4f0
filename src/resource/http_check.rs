//! `http_check: { url, host, status, contains, timeout, release, link, restart }`: the health
//! gate. It runs when a task it watches changed (`notify`), or while its release is not yet
//! marked good. It GETs `url` on the host itself (curl, else python3) until the expected status
//! (and text) or the timeout. Success marks the current release good. Failure, with `release`
//! set, marks it failed, switches the link back to the previous good release, runs `restart`,
//! checks again and fails the host with the reason.

use std::fmt::Write as _;

use super::release::{last_good, Marker, Status};
use super::Kind;
use crate::error::{Error, Result};
use crate::facts::{Fact, FactValue};
use crate::fields::Fields;
use crate::plan::{Action, Change};
use crate::shell::{quote, quote_path};
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
}

const KEYS: &[&str] = &[
    "url", "host", "status", "contains", "timeout", "release", "link", "restart",
];

impl HttpCheck {
    pub(crate) fn build(args: &Node) -> Result<Self> {
        let f = Fields::new(args, "`http_check`", KEYS)?;
        let url_node = f.require("url")?;
        let url = f.required_string("url")?;
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(Error::invalid(
                format!("`url` must start with http:// or https://, not `{url}`"),
                &url_node.span,
            ));
        }
        let number = |key: &str, default: u32| -> Result<u32> {
            match f.string(key)? {
                Some(t) => t.parse().map_err(|_| {
                    Error::invalid(format!("`{key}` must be a number"), &url_node.span)
                }),
                None => Ok(default),
            }
        };
        let release = match f.get("release") {
            Some(node) => Some(super::args::checked_path(
                &f.required_string("release")?,
                node,
            )?),
            None => None,
        };
        Ok(Self {
            status: u16::try_from(number("status", 200)?).unwrap_or(200),
            timeout: number("timeout", 30)?,
            host: f.string("host")?,
            contains: f.string("contains")?,
            link: f.string("link")?.unwrap_or_else(|| "current".to_owned()),
            restart: f.string("restart")?,
            release,
            url,
        })
    }

    /// GET with curl (or python3), the body into `$_hb`, the status on stdout.
    fn get_function(&self) -> String {
        let host = self.host.as_deref().unwrap_or("");
        format!(
            "_hb=\"${{TMPDIR:-/tmp}}/.recon-http.$$\"\n_get() {{\n  if command -v curl >/dev/null 2>&1; then\n    curl -s -o \"$_hb\" -w '%{{http_code}}' --max-time 5 {hdr}{url} 2>/dev/null || echo 000\n  else\n    python3 -c '\nimport sys, urllib.request\nreq = urllib.request.Request(sys.argv[1])\nif sys.argv[2]: req.add_header(\"Host\", sys.argv[2])\ntry:\n    r = urllib.request.urlopen(req, timeout=5); code, body = r.status, r.read()\nexcept urllib.error.HTTPError as e:\n    code, body = e.code, e.read()\nexcept Exception:\n    code, body = 0, b\"\"\nopen(sys.argv[3], \"wb\").write(body); print(\"%03d\" % code)\n' {url} {qhost} \"$_hb\"\n  fi\n}}\n",
            hdr = if host.is_empty() { String::new() } else { format!("-H {} ", quote(&format!("Host: {host}"))) },
            url = quote(&self.url),
            qhost = quote(host),
        )
    }
}

impl Kind for HttpCheck {
    fn id(&self) -> String {
        match &self.host {
            Some(h) => format!("{} (Host: {h})", self.url),
            None => self.url.clone(),
        }
    }

    fn kind_name(&self) -> &'static str {
        "http_check"
    }

    fn claims(&self) -> Vec<String> {
        Vec::new()
    }

    fn facts(&self) -> Vec<Fact> {
        self.release
            .iter()
            .map(|root| Fact::Releases {
                root: root.clone(),
                link: self.link.clone(),
            })
            .collect()
    }

    fn diff(&self, facts: &[&FactValue]) -> Result<Option<Change>, String> {
        self.diff_triggered(facts, false)
    }

    fn diff_triggered(
        &self,
        facts: &[&FactValue],
        triggered: bool,
    ) -> Result<Option<Change>, String> {
        if triggered {
            return Ok(Some(
                Change::new(Action::Run).reason("a task it watches changed"),
            ));
        }
        if let [FactValue::Releases(state)] = facts {
            let current = state.link.as_deref().unwrap_or("");
            let status = state.markers.get(current).map(|m| Marker::parse(m).status);
            if !current.is_empty() && status != Some(Status::Good) {
                return Ok(Some(
                    Change::new(Action::Run)
                        .reason(format!("release `{current}` is not marked good yet")),
                ));
            }
        }
        Ok(None)
    }

    fn script(&self, facts: &[&FactValue], _change: &Change) -> String {
        let mut s = self.get_function();
        let want = self.contains.as_deref().map(quote).unwrap_or_default();
        let _ = write!(
            s,
            "_check() {{\n  _end=$(( $(date +%s) + {t} ))\n  while :; do\n    _code=$(_get)\n    if [ \"$_code\" = {st} ] && {{ [ \"$1\" = any ] || [ -z {want_or_empty} ] || grep -qF -- {want_or_empty} \"$_hb\"; }}; then return 0; fi\n    [ \"$(date +%s)\" -ge \"$_end\" ] && return 1\n    sleep 1\n  done\n}}\n",
            t = self.timeout,
            st = self.status,
            want_or_empty = if want.is_empty() { "''".to_owned() } else { want.clone() },
        );
        let Some(root) = &self.release else {
            let _ = write!(
                s,
                "if _check body; then rm -f \"$_hb\"; exit 0; fi\n{}",
                self.failure_message()
            );
            s.push_str("rm -f \"$_hb\"\nexit 1\n");
            return s;
        };
        let r = quote_path(root);
        let l = quote(&self.link);
        let mark = |status: &str| {
            format!(
                "_m={r}/.recon-releases/\"$_cur\"; _sha=$(sed -n 's/^sha256=//p' \"$_m\" 2>/dev/null); printf 'sha256=%s\\nstatus={status}\\n' \"$_sha\" > \"$_m.tmp\" && mv -f -- \"$_m.tmp\" \"$_m\"\n"
            )
        };
        // Rollback candidates, best first: what was current before this apply, then the newest good.
        let mut candidates: Vec<String> = Vec::new();
        if let [FactValue::Releases(state)] = facts {
            if let Some(prev) = &state.link {
                if state
                    .markers
                    .get(prev)
                    .is_some_and(|m| Marker::parse(m).status != Status::Failed)
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
        let list = candidates.iter().fold(String::new(), |mut out, c| {
            let _ = write!(out, " {}", quote(c));
            out
        });
        let restart = self
            .restart
            .as_deref()
            .map(|c| format!("sh -c {} </dev/null\n", quote(c)))
            .unwrap_or_default();
        let _ = write!(
            s,
            "_cur=$(readlink -- {r}/{l})\nif _check body; then\n  {good}  rm -f \"$_hb\"; exit 0\nfi\n{fail}\
             {failed}_prev=\nfor _p in{list}; do\n  if [ \"$_p\" != \"$_cur\" ] && [ -d {r}/\"$_p\" ]; then _prev=$_p; break; fi\ndone\n\
             if [ -z \"$_prev\" ]; then echo \"release $_cur is marked failed; no earlier good release to roll back to\"; rm -f \"$_hb\"; exit 1; fi\n\
             _link \"$_prev\" {r}/{l} || exit 1\n{restart}\
             if _check any; then echo \"rolled back to $_prev, which answers; release $_cur is marked failed\"; else echo \"rolled back to $_prev, which does not answer either\"; fi\nrm -f \"$_hb\"\nexit 1\n",
            good = mark("good"),
            fail = self.failure_message(),
            failed = mark("failed"),
        );
        s
    }
}

impl HttpCheck {
    fn failure_message(&self) -> String {
        let expect = match &self.contains {
            Some(text) => format!("{} containing {text:?}", self.status),
            None => self.status.to_string(),
        };
        format!(
            "echo \"health check failed: GET {} answered $_code after {}s, expected {}\"\nhead -c 300 \"$_hb\" 2>/dev/null; echo\n",
            self.id().replace('"', "'"),
            self.timeout,
            expect.replace('"', "'")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ReleaseState;

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
        }
    }

    fn state(current: &str, status: &str) -> FactValue {
        FactValue::Releases(ReleaseState {
            link: Some(current.into()),
            dirs: vec![current.into()],
            markers: [(current.to_owned(), format!("sha256=x\nstatus={status}\n"))]
                .into_iter()
                .collect(),
        })
    }

    #[test]
    fn runs_when_triggered_or_while_the_release_is_unproven() {
        assert!(check(false)
            .diff_triggered(&[], true)
            .expect("ok")
            .is_some());
        assert_eq!(
            check(false).diff(&[]),
            Ok(None),
            "nothing to gate, nothing watched"
        );
        assert_eq!(check(true).diff(&[&state("v1", "good")]), Ok(None));
        assert!(check(true)
            .diff(&[&state("v1", "deployed")])
            .expect("ok")
            .is_some());
    }
}
