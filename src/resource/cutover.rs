//! `cutover: { root, version, link, slots, upstream, reload, serialize, check, drain }`: a
//! blue/green release switch. The app runs in two slots (two ports, two programs); a new release
//! starts in the idle slot, is checked on that slot's own port, and only then does the front's
//! upstream file point at it (the front reloaded and confirmed by `reload`), `current` switch to
//! it and its marker say `good`; the old slot drains for `drain` seconds, then stops. A release
//! that fails its check never takes traffic: it is marked failed, its slot stopped, and the live
//! slot and `current` stay as they were. Why a resource and not tasks: which slot is idle is only
//! known on the host, and every step depends on the one before it.
//!
//! Each slot's link `{root}/slots/{name}` names the release it runs; the upstream file holds
//! `server 127.0.0.1:PORT;` for the live slot (inside the site's `upstream` block).

use std::fmt::Write as _;

use super::front::{self, Front};
use super::http_check::{HttpCheck, MARK_FUNCTION};
use super::release::{Marker, ReleaseState, Releases, Status};
use super::{BuildContext, Claim, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups, Type};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{n, p, w, Script};
use crate::yaml::Node;

/// One slot: where its program listens and how it is (re)started and stopped.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) name: String,
    pub(crate) port: u16,
    /// A command line that (re)starts the slot's program (it reads the slot's link).
    pub(crate) start: String,
    pub(crate) stop: String,
}

/// A blue/green switch of one release root.
#[derive(Debug, Clone)]
pub(crate) struct Cutover {
    pub(crate) root: String,
    /// The release that must be live; `recon rollback` rewrites it.
    pub(crate) version: String,
    pub(crate) link: String,
    pub(crate) slots: [Slot; 2],
    pub(crate) front: Front,
}

/// The cutover's own arguments (then the front's: `front::ARGS`).
const OWN: &[Arg] = &[
    Arg::path("root").required().doc("the `release` root"),
    Arg::str("version")
        .required()
        .doc("the release to make live"),
    Arg::str("link")
        .default("current")
        .doc("the link naming the live release"),
    Arg::new(
        "slots",
        Type::List("a list of two `{ name, port, start, stop }`"),
    )
    .required()
    .doc("two `{ name, port, start, stop }`: the blue and green programs"),
];

/// The arguments of `cutover`.
pub(super) const ARGS: Groups = &[OWN, front::ARGS];

/// Builds a `cutover` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Cutover> {
    let f = Fields::declared(args, "`cutover`", ARGS)?;
    let root = super::args::checked_path(&f.required_string("root")?, f.require("root")?)?;
    let version_node = f.require("version")?;
    let version = f.required_string("version")?;
    if !plain_name(&version) {
        return Err(Error::invalid(
            format!("`version` `{version}` must be a plain folder name"),
            &version_node.span,
        ));
    }
    let slots_node = f.require("slots")?;
    let slots = slots_node
        .as_seq()
        .unwrap_or_default()
        .iter()
        .map(slot)
        .collect::<Result<Vec<_>>>()?;
    let slots: [Slot; 2] = match <[Slot; 2]>::try_from(slots) {
        Ok(pair) if pair[0].name != pair[1].name && pair[0].port != pair[1].port => pair,
        _ => {
            return Err(Error::invalid(
                "`slots` must list exactly two slots with different names and ports",
                &slots_node.span,
            ))
        }
    };
    Ok(Cutover {
        front: Front::parse(&f, true)?,
        link: f.text("link")?,
        root,
        version,
        slots,
    })
}

/// A folder or link name recon writes under the root: no path, no dot files.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && !name.starts_with('.')
}

/// The arguments of one `slots` entry.
pub(super) const SLOT: Groups = &[&[
    Arg::str("name")
        .required()
        .doc("the slot's folder and program name"),
    Arg::int("port").required().doc("the TCP port it serves on"),
    Arg::str("start").required().doc("the command starting it"),
    Arg::str("stop").required().doc("the command stopping it"),
]];

/// One `slots` entry: `{ name, port, start, stop }`.
fn slot(node: &Node) -> Result<Slot> {
    let f = Fields::declared(node, "a slot", SLOT)?;
    let name = f.required_string("name")?;
    if !plain_name(&name) {
        return Err(Error::invalid(
            format!("slot name `{name}` must be a plain folder name"),
            &f.require("name")?.span,
        ));
    }
    let port_node = f.require("port")?;
    let port = f
        .required_string("port")?
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Error::invalid("`port` must be a TCP port", &port_node.span))?;
    Ok(Slot {
        name,
        port,
        start: f.required_string("start")?,
        stop: f.required_string("stop")?,
    })
}

/// `_up URL CONTAINS IDENTITY` (probe, read-only): whether a slot answers healthy on its own
/// port (a 2xx/3xx answer carrying both texts). It prints nothing: the probe prints up or down.
const UP_FUNCTION: &str = r#"_up() {
  if command -v curl >/dev/null 2>&1; then
    _b=$(curl -sf --max-time 2 -- "$1" 2>/dev/null) || return 1
  else
    _b=$(python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode("utf-8", "replace"))' "$1" 2>/dev/null) || return 1
  fi
  case $_b in *"$2"*) ;; *) return 1 ;; esac
  case $_b in *"$3"*) return 0 ;; esac
  return 1
}
"#;

impl Cutover {
    fn slot_link(&self, slot: &Slot) -> String {
        format!("{}/slots/{}", self.root, slot.name)
    }

    fn url(&self, slot: &Slot) -> String {
        format!("http://127.0.0.1:{}{}", slot.port, self.front.check.path)
    }

    /// The upstream file's exact bytes when `slot` is live: the probe tells the live slot by them.
    fn upstream_text(slot: &Slot) -> String {
        format!(
            "# Managed by recon (cutover): the live slot is {}\nserver 127.0.0.1:{};\n",
            slot.name, slot.port
        )
    }

    /// The probe's read-only question: which slots answer healthy now (`NAME up|down` lines).
    fn health_probe(&self) -> Script {
        let mut s = Script::of(UP_FUNCTION);
        for slot in &self.slots {
            s.fill(
                "if _up {} {} {}; then echo {} up; else echo {} down; fi\n",
                [
                    w(&self.url(slot)),
                    w(self.front.check.contains.as_deref().unwrap_or("")),
                    w(self.front.check.identity.as_deref().unwrap_or("")),
                    w(&slot.name),
                    w(&slot.name),
                ],
            );
        }
        s
    }

    /// The slot's health check as an `http_check` aimed at its own port (the gate's machinery).
    fn gate(&self, slot: &Slot, timeout: u32) -> HttpCheck {
        let mut gate = self
            .front
            .gate(self.url(slot), Some((self.root.clone(), self.link.clone())));
        gate.timeout = timeout;
        gate
    }
}

/// The facts a cutover reads.
#[derive(Debug)]
pub(crate) struct Asked {
    releases: Handle<ReleaseState>,
    slots: [Handle<PathState>; 2],
    upstream: Handle<PathState>,
    health: Handle<CommandOutput>,
}

/// What the step does, decided from the host's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The slot that goes live.
    target: usize,
    /// Point its link at the release (it runs another one, or nothing).
    retarget: bool,
    /// (Re)start it before the check; else it is warm and is checked as it runs (and
    /// restarted only when that check fails).
    restart: bool,
    /// Write the upstream file and reload the front.
    switch: bool,
    /// The slot that served until now: drained, then stopped.
    retire: Option<usize>,
}

/// A slot as the probe saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    release: Option<String>,
    up: bool,
}

impl Resource for Cutover {
    type Asked = Asked;
    type Decision = Decision;

    fn id(&self) -> String {
        format!("{} ({})", self.root, self.version)
    }

    fn claims(&self) -> Vec<Claim> {
        let mut claims = vec![
            Claim::path(&self.front.upstream),
            Claim::path(&format!("{}/{}", self.root, self.link)),
        ];
        claims.extend(self.slots.iter().map(|s| Claim::path(&self.slot_link(s))));
        claims
    }

    fn ask(&self, facts: &mut FactSet) -> Asked {
        Asked {
            releases: facts.ask(Releases::new(&self.root, &self.link)),
            slots: [
                facts.path(&self.slot_link(&self.slots[0]), Want::Never),
                facts.path(&self.slot_link(&self.slots[1]), Want::Never),
            ],
            upstream: facts.path(&self.front.upstream, Want::Always),
            health: facts.output(self.health_probe()),
        }
    }

    fn decide(
        &self,
        asked: &Asked,
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let releases = facts.get(asked.releases);
        if let Some(link) = &releases.unsafe_link {
            return Err(super::refused_link(&self.root, link));
        }
        let upstream = facts.get(asked.upstream);
        super::refuse_unsafe(&self.front.upstream, upstream)?;
        let health = &facts.get(asked.health).stdout;
        let mut seen = Vec::new();
        for (slot, handle) in self.slots.iter().zip(asked.slots) {
            let link = facts.get(handle);
            super::refuse_unsafe(&self.slot_link(slot), link)?;
            let release = match link.kind {
                PathKind::Link => link
                    .target
                    .as_deref()
                    .map(|t| t.trim_start_matches("../").to_owned()),
                PathKind::Absent => None,
                other => {
                    return Err(Problem::new(format!(
                        "`{}` is {}, not a slot link",
                        self.slot_link(slot),
                        other.describe()
                    )))
                }
            };
            let up = health.lines().any(|l| l == format!("{} up", slot.name));
            seen.push(Seen { release, up });
        }
        let marker = releases
            .markers
            .get(&self.version)
            .map(|m| Marker::parse(m).status);
        if marker == Some(Status::Failed) {
            return Err(Problem::new(format!(
                "release `{}` failed before; it never goes live (deploy another version)",
                self.version
            )));
        }
        let content = upstream.content.as_deref().unwrap_or_default();
        let live = (0..2).find(|&i| content == Self::upstream_text(&self.slots[i]).as_bytes());
        let d = plan(&self.version, &seen, live, situation.triggered);
        let converged = d.is_none()
            && releases.link.as_deref() == Some(self.version.as_str())
            && marker == Some(Status::Good);
        let d = match d {
            Some(d) => d,
            None if converged => return Ok(None),
            // Live and answering, but `current` or the marker lag (an interrupted cutover).
            None => Decision {
                target: live.unwrap_or(0),
                retarget: false,
                restart: false,
                switch: false,
                retire: None,
            },
        };
        Ok(Some((
            self.describe(&d, &seen, live, situation.triggered),
            d,
        )))
    }

    fn script(&self, d: &Decision, s: &mut Script) {
        let target = &self.slots[d.target];
        s.fill(
            "_r={}\n_cur={}\n_slot={}\n",
            [p(&self.root), w(&self.version), w(&target.name)],
        )
        .code(MARK_FUNCTION);
        // The release must be complete (unpacked and prepared by the `release` task before).
        s.code(
            "_st=$(_root \"$_r\" && sed -n 's/^status=//p' ./.recon-releases/\"$_cur\" 2>/dev/null)\n\
             case $_st in deployed|good) ;; *) echo \"release $_cur is not ready on the host (status: ${_st:-none}); nothing goes live\"; exit 1 ;; esac\n",
        );
        // A failure from here on: the target slot never took traffic; it is stopped.
        s.code("_stop_target() {\n  ")
            .user_command(&target.stop)
            .code(" </dev/null >/dev/null 2>&1\n}\n");
        if d.retarget {
            s.code("( _root \"$_r\" && _mkdir 0755 ./slots && _link ../\"$_cur\" ./slots/\"$_slot\" ) || exit 1\n");
        }
        let gate = self.gate(target, self.front.check.timeout);
        if d.restart {
            s.code("if ! ")
                .user_command(&target.start)
                .code(" </dev/null; then echo \"cannot start slot $_slot\"; fi\n");
        } else {
            // Warm: one look first; restarted and checked in full only when it does not answer.
            let mut warm = gate.clone();
            warm.timeout = 0;
            s.code("if ! (\n");
            warm.settings(s);
            s.code("_check body\n) then\n  echo \"slot $_slot does not answer healthy: restarting it\"\n  ")
                .user_command(&target.start)
                .code(" </dev/null\nfi\n");
        }
        s.code("if ! (\n");
        gate.settings(s);
        s.code(
            "if _check body; then exit 0; fi\n_failed\nexit 1\n) then\n\
             _mark failed\n_stop_target\n\
             echo \"release $_cur failed its check on slot $_slot and never took traffic; it is marked failed and the live slot keeps serving\"\n\
             exit 1\nfi\n",
        );
        if d.switch {
            s.code("if ! (\n");
            if let Some(lock) = &self.front.serialize {
                s.fill("_serialize {} || exit 1\n", [p(lock)]);
            }
            s.fill("_put {} 0644 - -", [p(&self.front.upstream)])
                .base64_heredoc(Self::upstream_text(target).as_bytes())
                .code("[ $? -eq 0 ] || exit 1\n")
                .user_command(&self.front.reload)
                .code(
                    " </dev/null\n) then\n_stop_target\n\
                     echo \"the front did not load the switch to slot $_slot: the live slot keeps serving\"\n\
                     exit 1\nfi\n",
                );
        }
        s.code("( _root \"$_r\" && _link \"$_cur\" ./")
            .word(&self.link)
            .code(" ) || exit 1\n_mark good || exit 1\n");
        if let Some(old) = d.retire {
            let old = &self.slots[old];
            s.fill(
                "echo {}\nsleep {}\n",
                [
                    w(&format!(
                        "slot {} takes traffic; slot {} drains {}s, then stops",
                        target.name, old.name, self.front.drain
                    )),
                    n(self.front.drain),
                ],
            );
            s.code("if ! ")
                .user_command(&old.stop)
                .code(" </dev/null; then echo \"warning: could not stop the drained slot\"; fi\n");
        }
        s.code("exit 0\n");
    }

    fn predict(&self, d: &Decision, set: &FactSet, facts: &mut Facts) {
        let link = PathState {
            kind: PathKind::Link,
            target: Some(self.version.clone()),
            ..PathState::default()
        };
        facts.predict_path(set, &format!("{}/{}", self.root, self.link), &link);
        let upstream = PathState {
            kind: PathKind::File,
            content: Some(Self::upstream_text(&self.slots[d.target]).into_bytes()),
            ..PathState::default()
        };
        facts.predict_path(set, &self.front.upstream, &upstream);
    }
}

impl Cutover {
    /// The plan line: which slot goes live, when, and what happens to the other.
    fn describe(
        &self,
        d: &Decision,
        seen: &[Seen],
        live: Option<usize>,
        triggered: bool,
    ) -> Change {
        let target = &self.slots[d.target];
        let show = |i: usize| {
            let s = &self.slots[i];
            format!(
                "{} ({}): {}",
                s.name,
                s.port,
                seen[i].release.as_deref().unwrap_or("nothing")
            )
        };
        let change = Change::new(Action::Update).field(
            Field::TARGET,
            live.map(show),
            Some(format!(
                "{} ({}): {}",
                target.name, target.port, self.version
            )),
        );
        let mut reason = if d.switch {
            format!(
                "{} goes live on {} ({}) after its check",
                self.version, target.name, target.port
            )
        } else {
            format!(
                "{} is live on {}: `{}` and its marker catch up",
                self.version, target.name, self.link
            )
        };
        if !d.restart && d.switch {
            reason.push_str(" (warm: it already runs there)");
        }
        if let Some(old) = d.retire {
            let o = &self.slots[old];
            let _ = write!(
                reason,
                "; {} ({}) drains {}s, then stops",
                o.name,
                seen[old].release.as_deref().unwrap_or("nothing"),
                self.front.drain
            );
        }
        if triggered {
            reason.push_str(" (a task it watches changed)");
        }
        change.reason(reason)
    }
}

/// Which slot goes live and how, from what each slot runs, which one the front routes to, and
/// whether a watched task changed (the program must restart with it); `None`: nothing to switch.
fn plan(version: &str, seen: &[Seen], live: Option<usize>, triggered: bool) -> Option<Decision> {
    let runs = |i: usize| seen[i].release.as_deref() == Some(version);
    if let Some(l) = live {
        if runs(l) && seen[l].up && !triggered {
            return None;
        }
    }
    // The idle slot: the one the front does not route to (blue when it routes to neither).
    let target = match live {
        Some(l) => 1 - l,
        None => (0..2).find(|&i| runs(i) && seen[i].up).unwrap_or(0),
    };
    let warm = runs(target) && seen[target].up && !triggered;
    Some(Decision {
        target,
        retarget: !runs(target),
        restart: !warm,
        switch: true,
        retire: live.filter(|&l| l != target),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::front::Check;
    use crate::resource::testing::decide;

    fn cutover(version: &str) -> Cutover {
        let slot = |name: &str, port| Slot {
            name: name.into(),
            port,
            start: "true".into(),
            stop: "true".into(),
        };
        Cutover {
            root: "~/app".into(),
            version: version.into(),
            link: "current".into(),
            slots: [slot("blue", 9201), slot("green", 9202)],
            front: Front {
                upstream: "~/app/conf/upstream.conf".into(),
                reload: "true".into(),
                serialize: None,
                check: Check {
                    path: "/health".into(),
                    timeout: 5,
                    ..Check::default()
                },
                drain: 2,
            },
        }
    }

    /// The host: `current`, markers (version, status), each slot's release, the live slot,
    /// which slots answer — in the order the cutover asks.
    fn host(
        current: &str,
        markers: &[(&str, &str)],
        slots: [Option<&str>; 2],
        live: Option<usize>,
        up: &str,
    ) -> Vec<FactValue> {
        let c = cutover("v");
        let link = |release: Option<&str>| {
            FactValue::Path(PathState {
                kind: release.map_or(PathKind::Absent, |_| PathKind::Link),
                target: release.map(|r| format!("../{r}")),
                ..PathState::default()
            })
        };
        vec![
            FactValue::of::<Releases>(ReleaseState {
                link: Some(current.into()),
                dirs: markers.iter().map(|m| m.0.to_owned()).collect(),
                markers: markers
                    .iter()
                    .map(|(v, s)| ((*v).to_owned(), format!("sha256=x\nstatus={s}\n")))
                    .collect(),
                leftovers: Vec::new(),
                unsafe_link: None,
            }),
            link(slots[0]),
            link(slots[1]),
            FactValue::Path(PathState {
                kind: PathKind::File,
                content: live.map(|l| Cutover::upstream_text(&c.slots[l]).into_bytes()),
                ..PathState::default()
            }),
            FactValue::Output(CommandOutput {
                status: 0,
                stdout: up.into(),
            }),
        ]
    }

    #[test]
    fn the_plan_names_the_slot_going_live_and_the_one_draining() {
        let answers = host(
            "v1.0.0",
            &[("v1.0.0", "good")],
            [Some("v1.0.0"), None],
            Some(0),
            "blue up\ngreen down\n",
        );
        let (change, d) = decide(&cutover("v1.0.1"), answers)
            .expect("ok")
            .expect("switch");
        assert_eq!((d.target, d.retire), (1, Some(0)));
        assert_eq!(
            change.reason.as_deref(),
            Some("v1.0.1 goes live on green (9202) after its check; blue (v1.0.0) drains 2s, then stops")
        );
        // Converged: live, answering, `current` and a good marker.
        let answers = host(
            "v1.0.0",
            &[("v1.0.0", "good")],
            [Some("v1.0.0"), None],
            Some(0),
            "blue up\ngreen down\n",
        );
        assert!(decide(&cutover("v1.0.0"), answers).expect("ok").is_none());
        // A release that failed before never goes live.
        let answers = host(
            "v1.0.1",
            &[("v1.0.1", "good"), ("v1.0.2", "failed")],
            [None, Some("v1.0.1")],
            Some(1),
            "blue down\ngreen up\n",
        );
        let refused = decide(&cutover("v1.0.2"), answers).expect_err("refused");
        assert!(refused.0.contains("never goes live"), "{refused}");
    }

    fn seen(release: Option<&str>, up: bool) -> Seen {
        Seen {
            release: release.map(str::to_owned),
            up,
        }
    }

    #[test]
    fn a_new_release_goes_to_the_idle_slot_and_the_live_one_retires() {
        let s = [seen(Some("v1"), true), seen(None, false)];
        let d = plan("v2", &s, Some(0), false).expect("switch");
        assert_eq!(
            d,
            Decision {
                target: 1,
                retarget: true,
                restart: true,
                switch: true,
                retire: Some(0)
            }
        );
        // Converged: the live slot runs it and answers.
        assert_eq!(plan("v1", &s, Some(0), false), None);
        // A watched change redeploys into the idle slot even so.
        assert_eq!(plan("v1", &s, Some(0), true).expect("redo").target, 1);
    }

    #[test]
    fn a_warm_slot_is_switched_back_without_a_restart() {
        let s = [seen(Some("v1"), true), seen(Some("v2"), true)];
        let d = plan("v1", &s, Some(1), false).expect("rollback");
        assert!(
            !d.restart && !d.retarget && d.switch && d.retire == Some(1),
            "{d:?}"
        );
        // First deploy: nothing routed anywhere, blue it is.
        let fresh = [seen(None, false), seen(None, false)];
        let d = plan("v1", &fresh, None, false).expect("first");
        assert_eq!((d.target, d.retire), (0, None));
        // The live slot died: the other slot takes over.
        let dead = [seen(Some("v1"), false), seen(None, false)];
        assert_eq!(plan("v1", &dead, Some(0), false).expect("heal").target, 1);
    }
}
