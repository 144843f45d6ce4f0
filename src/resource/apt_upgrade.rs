//! `apt_upgrade: { mode, update_cache, cache_valid_time }`: every upgradable Debian package
//! upgraded, as Ansible's `apt: upgrade:` does with apt-get (`safe`/`yes`: `apt-get upgrade
//! --with-new-pkgs`; `full` and `dist`: `apt-get dist-upgrade`; `no`: nothing).
//!
//! The probe runs apt-get's own simulation (`-s`, read-only, bounded like every probe command),
//! so the plan lists each package it would install, upgrade or remove, before → after, and a
//! host with nothing to upgrade is converged. The apply runs the same apt-get command for real
//! (bounded); the stale-plan check compares the simulation too, so it upgrades what the plan
//! showed. The cache is shared with `package` through the host's one `Packages` fact:
//! `update_cache` refreshes it before a planned upgrade, and `cache_valid_time` also when it is
//! older than that (the plan then says what is upgraded is known after the refresh). An upgrade
//! cannot join `package`'s one `apt-get install` call: it is a call of its own.

use super::package::{PackageState, Packages};
use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Sharing, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::Script;
use crate::yaml::Node;

/// The arguments `apt_upgrade` takes.
/// The arguments of `apt_upgrade`.
pub(super) const ARGS: Groups = &[&[
    Arg::str("mode")
        .required()
        .doc("`dist`/`full`: dist-upgrade; `safe`/`yes`: upgrade --with-new-pkgs; `no`: nothing")
        .ansible(&["upgrade"]),
    Arg::bool("update_cache")
        .default("false")
        .doc("`apt-get update` first when there is something to upgrade")
        .ansible(&["update_cache"]),
    Arg::int("cache_valid_time")
        .doc("seconds: refresh also when the cache is older")
        .ansible(&["cache_valid_time"]),
]];

/// Which apt-get upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `apt-get upgrade --with-new-pkgs`: never removes a package.
    Safe,
    /// `apt-get dist-upgrade`: may install and remove packages to upgrade others.
    Dist,
    /// Nothing (`upgrade: no`).
    No,
}

/// An upgrade of a host's packages.
#[derive(Debug, Clone)]
pub(crate) struct AptUpgrade {
    mode: Mode,
    update_cache: bool,
    cache_valid_time: Option<u64>,
}

/// Builds an `apt_upgrade`; `mode` as Ansible's `upgrade` spells it.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<AptUpgrade> {
    let f = Fields::declared(args, "`apt_upgrade`", ARGS)?;
    let node = f.require("mode")?;
    let text = f.required_string("mode")?;
    let mode = match text.as_str() {
        "safe" | "yes" | "true" | "True" | "on" | "1" => Mode::Safe,
        "full" | "dist" => Mode::Dist,
        "no" | "false" | "False" | "off" | "0" => Mode::No,
        other => {
            return Err(Error::invalid(
                format!("`mode` (Ansible's `upgrade`) must be `dist`, `full`, `safe`, `yes` or `no`, not `{other}`"),
                &node.span,
            )
            .suggest(other, ["dist", "full", "safe", "yes", "no"]))
        }
    };
    let cache_valid_time = super::args::number(&f, "cache_valid_time")?;
    Ok(AptUpgrade {
        mode,
        update_cache: f.flag("update_cache")? || cache_valid_time.is_some(),
        cache_valid_time,
    })
}

impl Mode {
    /// apt-get's words for this upgrade.
    fn command(self) -> &'static str {
        match self {
            Mode::Safe => "upgrade --with-new-pkgs",
            Mode::Dist | Mode::No => "dist-upgrade",
        }
    }
}

/// The simulation in the probe: only apt-get's `Inst` and `Remv` lines, or its last lines and
/// a failing status when the simulation itself fails (a broken dependency, a held lock).
const SIMULATE: &str = r#"_ao=$(LC_ALL=C apt-get -s -q -o Debug::NoLocking=1 "$@" 2>&1) || { printf '%s\n' "$_ao" | tail -n 5; exit 1; }
printf '%s\n' "$_ao" | grep -E '^(Inst|Remv) ' || true"#;

/// One package the simulation touches: name, version before (`None`: new), after (`None`:
/// removed).
type Touched = (String, Option<String>, Option<String>);

/// Parses `Inst NAME [OLD] (NEW REPO [ARCH])` and `Remv NAME [OLD]` lines.
fn parse(out: &str) -> Vec<Touched> {
    let bracketed = |w: &str| {
        w.strip_prefix('[')
            .and_then(|w| w.strip_suffix(']'))
            .map(str::to_owned)
    };
    out.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let tag = words.next()?;
            let name = words.next()?.to_owned();
            let rest: Vec<&str> = words.collect();
            let old = rest.first().and_then(|w| bracketed(w));
            match tag {
                "Inst" => {
                    let new = rest
                        .iter()
                        .find_map(|w| w.strip_prefix('('))
                        .map(str::to_owned);
                    Some((name, old, new))
                }
                "Remv" => Some((name, old, None)),
                _ => None,
            }
        })
        .collect()
}

/// What the probe is asked: the simulation and the host's package state (the cache's age).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked {
    simulation: Handle<CommandOutput>,
    packages: Handle<PackageState>,
}

/// The decision: refresh first or not, and the packages' state afterwards.
#[derive(Debug)]
pub(crate) struct Decision {
    refresh: bool,
    packages: Handle<PackageState>,
    after: PackageState,
}

impl Resource for AptUpgrade {
    type Asked = Asked;
    type Decision = Decision;
    const FACT_KINDS: &'static [crate::facts::Registered] =
        &[crate::facts::Registered::of::<Packages>()];

    /// apt and dpkg serve one target at a time (their own lock, waited for 120 s).
    fn account_wide(&self) -> bool {
        true
    }

    fn id(&self) -> String {
        format!("apt-get {}", self.mode.command())
    }

    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::new(ClaimKind::Other("apt_upgrade".to_owned()), "all packages")
                .shared(Sharing::Ordered),
        ]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        let mut s = Script::new();
        s.code("set -- ")
            .code(self.mode.command())
            .code("\n")
            .code(SIMULATE);
        Asked {
            simulation: facts.output(s),
            packages: facts.ask(Packages::new(&[], self.update_cache, self.cache_valid_time)),
        }
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        if self.mode == Mode::No {
            return Ok(None);
        }
        let simulation = facts.get(asked.simulation);
        if simulation.status != 0 {
            return Err(Problem::new(format!(
                "apt-get's simulation of `{}` failed: {}",
                self.mode.command(),
                simulation.stdout.trim()
            )));
        }
        let touched = parse(&simulation.stdout);
        let state = facts.get(asked.packages);
        let refresh = self.update_cache && (!touched.is_empty() || state.cache_stale);
        if touched.is_empty() && !refresh {
            return Ok(None);
        }
        let mut after = state.clone();
        after.cache_stale = false;
        let mut change = Change::new(Action::Update);
        for (name, old, new) in &touched {
            match new {
                Some(v) => after.installed.insert(name.clone(), v.clone()),
                None => after.installed.remove(name),
            };
            change = change.field(
                Field::PACKAGE,
                old.as_ref().map(|v| format!("{name} {v}")),
                new.as_ref().map(|v| format!("{name} {v}")),
            );
        }
        let mut reason = format!(
            "`apt-get {}` simulated: {}",
            self.mode.command(),
            crate::text::count(touched.len(), "package")
        );
        if refresh {
            reason = format!(
                "the package cache is refreshed first: what it upgrades is known after the refresh; {reason}"
            );
        }
        Ok(Some((
            change.reason(reason),
            Decision {
                refresh,
                packages: asked.packages,
                after,
            },
        )))
    }

    fn script(&self, decision: &Decision, out: &mut Script) {
        out.code("export DEBIAN_FRONTEND=noninteractive\n");
        if decision.refresh {
            out.bounded().code(super::package::REFRESH);
        }
        // Waits for another apt or dpkg run (unattended-upgrades) instead of failing at once.
        out.bounded()
            .code("apt-get -y -q -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold ")
            .code(self.mode.command())
            .code(" </dev/null || exit 1\n");
    }

    fn predict(&self, decision: &Decision, _: &FactSet, facts: &mut Facts) {
        facts.predict::<Packages>(decision.packages, decision.after.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::decide;

    const SIMULATED: &str = "Inst recon-dummy [1.0] (2.0 localhost [all])\nInst newdep (0.5 localhost [all])\nRemv olddep [0.1]\n";

    fn answers(status: i32, stdout: &str, stale: bool) -> Vec<FactValue> {
        vec![
            FactValue::Output(CommandOutput {
                status,
                stdout: stdout.to_owned(),
            }),
            FactValue::of::<Packages>(PackageState {
                cache_stale: stale,
                ..PackageState::default()
            }),
        ]
    }

    fn upgrade(mode: Mode, update_cache: bool) -> AptUpgrade {
        AptUpgrade {
            mode,
            update_cache,
            cache_valid_time: None,
        }
    }

    #[test]
    fn the_plan_lists_what_the_simulation_touches_and_nothing_to_upgrade_is_converged() {
        let (change, d) = decide(&upgrade(Mode::Dist, false), answers(0, SIMULATED, false))
            .expect("ok")
            .expect("change");
        let shown: Vec<(Option<&str>, Option<&str>)> = change
            .fields
            .iter()
            .map(|f| (f.before.as_deref(), f.after.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                (Some("recon-dummy 1.0"), Some("recon-dummy 2.0")),
                (None, Some("newdep 0.5")),
                (Some("olddep 0.1"), None)
            ]
        );
        assert!(!d.refresh);
        assert_eq!(
            d.after.installed.get("recon-dummy").map(String::as_str),
            Some("2.0")
        );
        assert!(decide(&upgrade(Mode::Dist, false), answers(0, "", false))
            .expect("ok")
            .is_none());
        assert!(
            decide(&upgrade(Mode::No, false), answers(0, SIMULATED, false))
                .expect("ok")
                .is_none()
        );
        assert!(decide(
            &upgrade(Mode::Safe, false),
            answers(100, "E: broken", false)
        )
        .is_err());
    }

    #[test]
    fn a_stale_cache_is_refreshed_first_even_with_nothing_known_to_upgrade() {
        let (change, d) = decide(&upgrade(Mode::Safe, true), answers(0, "", true))
            .expect("ok")
            .expect("change");
        assert!(d.refresh);
        assert!(change
            .reason
            .is_some_and(|r| r.contains("known after the refresh")));
        assert!(decide(&upgrade(Mode::Safe, true), answers(0, "", false))
            .expect("ok")
            .is_none());
    }
}
