//! `package: { name, state, update_cache, cache_valid_time }`: Debian packages via dpkg-query,
//! apt-cache policy and apt-get.
//!
//! All package resources of a host share ONE fact (`Packages`, merged as each asks: `Kind::merge`), so
//! the batch is decided at plan time: the first package step of the host that finds anything
//! to do installs, upgrades and removes every package the plan changes on that host in ONE
//! `apt-get install` call (`name=version` pins the versions the plan shows, `name-` removes),
//! after an `apt-get update` when one is due. It then predicts the packages in their wanted
//! state, so the later package steps find nothing left to do. The plan lists each package with
//! its version before → after.
//!
//! `update_cache: true` refreshes the cache before a planned change; with `cache_valid_time:
//! SECONDS` it also refreshes a cache older than that when nothing else changes. The cache's
//! age is the mtime of `/var/lib/apt/periodic/update-success-stamp` (touched after each
//! refresh) or of `/var/lib/apt/lists`.

use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Sharing, Situation};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::facts::{Answer, FactSet, Facts, Handle, Kind};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{n, w, Script};
use crate::yaml::Node;

/// What a `package` resource wants for one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PackageWant {
    Present,
    Latest,
    Absent,
}

/// The probe's question for a host's Debian packages: every package the host's `package`
/// resources name, with what each wants. ONE per host, merged as resources ask
/// (`Kind::merge`), so the first package step can change them all in one apt call.
/// `cache_valid_time` is the smallest any of them gave.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct Packages {
    wants: Vec<(String, PackageWant)>,
    update_cache: bool,
    cache_valid_time: Option<u64>,
}

/// The host's packages as the probe found them, with the wants of the fact they answer (copied
/// in when the reply is parsed, so `decide` sees the whole host's batch).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct PackageState {
    pub(crate) wants: Vec<(String, PackageWant)>,
    pub(crate) update_cache: bool,
    /// Installed version by name (`ii` or `hi` in dpkg's status).
    pub(crate) installed: std::collections::BTreeMap<String, String>,
    /// `apt-cache policy` candidate by name.
    pub(crate) candidates: std::collections::BTreeMap<String, String>,
    /// The cache is older than `cache_valid_time` (false when none was given).
    pub(crate) cache_stale: bool,
}

impl Answer for PackageState {}

impl Packages {
    /// The question for `wants` (a name given twice keeps its stronger want).
    pub(crate) fn new(
        wants: &[(String, PackageWant)],
        update_cache: bool,
        cache_valid_time: Option<u64>,
    ) -> Self {
        let mut all = Self::default();
        all.merge(&Self {
            wants: wants.to_vec(),
            update_cache,
            cache_valid_time,
        });
        all
    }
}

impl Kind for Packages {
    const NAME: &'static str = "Packages";
    /// `_pkgs IDX VALID W=NAME...` (W: `p`resent, `l`atest, `a`bsent) prints `K IDX`, each
    /// installed version (`KI`) and the apt candidate (`KV`) of those that need one (missing or
    /// latest), and with VALID seconds whether the apt cache is older (`KC`): a yes/no, never
    /// the age itself, so the answer stays the same while nothing changes. One `apt-cache
    /// policy` call for all names: each call costs about 2 s on a host without a `pkgcache.bin`.
    const FUNCTIONS: &'static str = r#"_pkgs() {
  _pi=$1; _pv=$2; shift 2
  printf 'K %s\n' "$_pi"
  if [ "$_pv" != - ]; then
    _ps=/var/lib/apt/periodic/update-success-stamp; [ -e "$_ps" ] || _ps=/var/lib/apt/lists
    _pt=$(stat -c %Y -- "$_ps" 2>/dev/null || echo 0)
    if [ $(( $(date +%s) - _pt )) -gt "$_pv" ]; then printf 'KC %s\n' "$_pi"; fi
  fi
  _pl=
  for _pw in "$@"; do
    _pn=${_pw#?=}
    _pq=$(dpkg-query -W -f='${db:Status-Abbrev} ${Version}' -- "$_pn" 2>/dev/null)
    case $_pq in
      ii*|hi*) printf 'KI %s %s %s\n' "$_pi" "$_pn" "${_pq##* }"; case $_pw in l=*) _pl="$_pl $_pn";; esac;;
      *) case $_pw in a=*) ;; *) _pl="$_pl $_pn";; esac;;
    esac
  done
  [ -n "$_pl" ] || return 0
  set -f
  # shellcheck disable=SC2086 # names are checked package names, one word each
  apt-cache policy -- $_pl 2>/dev/null | awk -v i="$_pi" '/^[^ ].*:$/ { n = substr($0, 1, length($0) - 1) }
    /^  Candidate: / && $2 != "(none)" { print "KV " i " " n " " $2 }'
  set +f
}
"#;
    type Answer = PackageState;

    fn ask(&self, index: u64, probe: &mut Script) {
        let valid = self
            .cache_valid_time
            .map_or_else(|| "-".to_owned(), |v| v.to_string());
        probe.fill("  _pkgs {} {}", [n(index), w(&valid)]);
        let words: Vec<String> = self
            .wants
            .iter()
            .map(|(name, want)| {
                let w = match want {
                    PackageWant::Present => 'p',
                    PackageWant::Latest => 'l',
                    PackageWant::Absent => 'a',
                };
                format!("{w}={name}")
            })
            .collect();
        probe.words(words.iter().map(String::as_str));
        probe.code("\n");
    }

    fn read(
        &self,
        tag: &str,
        words: &mut dyn Iterator<Item = &str>,
        answer: &mut Option<PackageState>,
    ) -> Result<(), &'static str> {
        if tag == "K" {
            *answer = Some(PackageState::default());
            return Ok(());
        }
        let state = answer.as_mut().ok_or("package line before `K`")?;
        let map = match tag {
            "KC" => {
                state.cache_stale = true;
                return Ok(());
            }
            "KI" => &mut state.installed,
            "KV" => &mut state.candidates,
            _ => return Err("unknown tag"),
        };
        let name = words.next().ok_or("no package name")?.to_owned();
        let version = words.next().ok_or("no version")?.to_owned();
        map.insert(name, version);
        Ok(())
    }

    /// Every packages question of a host folds into the first: a name asked twice keeps the
    /// stronger want (absent > latest > present).
    fn merge(&mut self, other: &Self) -> bool {
        for (name, want) in &other.wants {
            match self.wants.iter_mut().find(|(n, _)| n == name) {
                Some((_, w)) => *w = (*w).max(*want),
                None => self.wants.push((name.clone(), *want)),
            }
        }
        self.update_cache |= other.update_cache;
        self.cache_valid_time = match (self.cache_valid_time, other.cache_valid_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        true
    }

    fn finish(&self, answer: &mut PackageState) {
        answer.wants.clone_from(&self.wants);
        answer.update_cache = self.update_cache;
    }

    fn drifted(&self, _: &PackageState, _: &PackageState) -> String {
        "the installed packages or the apt cache".to_owned()
    }
}

/// Packages of one task.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    pub(crate) names: Vec<String>,
    pub(crate) want: PackageWant,
    pub(crate) update_cache: bool,
    pub(crate) cache_valid_time: Option<u64>,
}

/// The arguments `package` takes (also what an Ansible `apt` task with nothing to install is
/// checked against).
/// The arguments of `package`.
pub(crate) const ARGS: Groups = &[&[
    Arg::strings("name")
        .required()
        .doc("Debian package names (`NAME`, `NAME:ARCH`)")
        .ansible(&["name", "pkg", "package"]),
    Arg::one_of("state", &["present", "latest", "absent"])
        .default("present")
        .doc("Ansible's `installed`/`removed` are read as `present`/`absent`")
        .ansible(&["state"]),
    Arg::bool("update_cache")
        .default("false")
        .doc("`apt-get update` first")
        .ansible(&["update_cache"]),
    Arg::int("cache_valid_time")
        .doc("seconds: update the cache only when older (implies `update_cache`)")
        .ansible(&["cache_valid_time"]),
]];

/// Builds a `package` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Package> {
    let f = Fields::declared(args, "`package`", ARGS)?;
    f.require("name")?;
    let names = f
        .string_list("name")?
        .into_iter()
        .map(|(name, node)| {
            if valid_name(&name) {
                Ok(name)
            } else {
                Err(Error::invalid(
                    format!(
                        "`{name}` is not a Debian package name (`a-z0-9+.-`, optionally `:ARCH`)"
                    ),
                    &node.span,
                )
                .with_label("invalid package name"))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let want = match super::args::state(&f, &["present", "latest", "absent"])? {
        "latest" => PackageWant::Latest,
        "absent" => PackageWant::Absent,
        _ => PackageWant::Present,
    };
    let cache_valid_time = super::args::number(&f, "cache_valid_time")?;
    Ok(Package {
        names,
        want,
        update_cache: f.flag("update_cache")? || cache_valid_time.is_some(),
        cache_valid_time,
    })
}

/// Debian policy: lowercase letters, digits, `+ - .`, at least two characters, starting with
/// a letter or digit; an architecture may follow a `:`.
fn valid_name(name: &str) -> bool {
    let (base, arch) = name.split_once(':').unwrap_or((name, "x"));
    base.len() >= 2
        && base.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && base
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
        && !arch.is_empty()
        && arch.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The host's batch: what one apt call does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Batch {
    /// `name=version`, or the bare name when the version is only known after the refresh.
    pub(crate) install: Vec<String>,
    pub(crate) remove: Vec<String>,
    pub(crate) refresh: bool,
}

/// The decision: the batch, and where to record its outcome.
#[derive(Debug)]
pub(crate) struct Decision {
    batch: Batch,
    handle: Handle<PackageState>,
    after: PackageState,
}

/// The apt candidate of `name` (`apt-cache policy` heads `name:arch` as `name`).
fn candidate_of<'a>(state: &'a PackageState, name: &str) -> Option<&'a String> {
    let base = name.split_once(':').map_or(name, |(b, _)| b);
    state
        .candidates
        .get(name)
        .or_else(|| state.candidates.get(base))
}

/// Works out the host's batch from the probe: the change the plan shows, the apt arguments and
/// the packages' state afterwards.
pub(crate) fn batch(state: &PackageState) -> Result<(Change, Batch, PackageState), Problem> {
    let mut b = Batch::default();
    let mut after = state.clone();
    let mut fields = Vec::new();
    let mut missing = Vec::new();
    let changes = state.wants.iter().filter(|(name, want)| {
        let installed = state.installed.get(name);
        match want {
            PackageWant::Present => installed.is_none(),
            PackageWant::Latest => installed.is_none() || installed != candidate_of(state, name),
            PackageWant::Absent => installed.is_some(),
        }
    });
    let changes: Vec<&(String, PackageWant)> = changes.collect();
    b.refresh = state.update_cache && (!changes.is_empty() || state.cache_stale);
    for (name, want) in changes {
        let installed = state.installed.get(name).cloned();
        if *want == PackageWant::Absent {
            b.remove.push(name.clone());
            after.installed.remove(name);
            fields.push((
                Some(format!("{name} {}", installed.unwrap_or_default())),
                None,
            ));
            continue;
        }
        let candidate = candidate_of(state, name).cloned();
        match (&candidate, b.refresh) {
            (Some(version), false) => b.install.push(format!("{name}={version}")),
            (_, true) => b.install.push(name.clone()),
            (None, false) => {
                missing.push(name.clone());
                continue;
            }
        }
        let shown = candidate.clone().map_or_else(
            || format!("{name} (candidate after the cache refresh)"),
            |v| format!("{name} {v}"),
        );
        after
            .installed
            .insert(name.clone(), candidate.unwrap_or_default());
        fields.push((installed.map(|v| format!("{name} {v}")), Some(shown)));
    }
    if !missing.is_empty() {
        return Err(Problem::new(format!(
            "no installation candidate for {} (unknown to apt on this host; `update_cache: true` refreshes the package lists first)",
            missing.join(", ")
        )));
    }
    after.cache_stale = false;
    after.update_cache = false;
    let action = if fields.iter().all(|(before, _)| before.is_none()) && !fields.is_empty() {
        Action::Create
    } else if fields.iter().all(|(_, after)| after.is_none()) && !fields.is_empty() {
        Action::Delete
    } else {
        Action::Update
    };
    let mut change = Change::new(action);
    for (before, after_version) in fields {
        change = change.field(Field::PACKAGE, before, after_version);
    }
    let mut reason = vec![format!(
        "one apt call for all {} package change(s) this plan makes on the host",
        b.install.len() + b.remove.len()
    )];
    if b.refresh {
        reason.insert(0, "the package cache is refreshed first".to_owned());
    }
    Ok((change.reason(reason.join("; ")), b, after))
}

/// Refreshes apt's package lists (bounded by the caller) and records when, for the age
/// `cache_valid_time` reads; shared with `apt_upgrade`.
pub(super) const REFRESH: &str = "apt-get update -q -o DPkg::Lock::Timeout=120 >/dev/null || exit 1\nmkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp\n";

impl Resource for Package {
    type Asked = Handle<PackageState>;
    type Decision = Decision;
    const FACT_KINDS: &'static [crate::facts::Registered] =
        &[crate::facts::Registered::of::<Packages>()];

    /// apt and dpkg serve one target at a time (their own lock, waited for 120 s): packages of
    /// several targets are installed in turn instead of timing out.
    fn account_wide(&self) -> bool {
        true
    }

    fn id(&self) -> String {
        self.names.join(", ")
    }

    fn claims(&self) -> Vec<Claim> {
        // Several tasks may want one package installed (roles overlap); one that removes it
        // conflicts with any other.
        let (sharing, state) = if self.want == PackageWant::Absent {
            (Sharing::Exclusive, "absent")
        } else {
            (Sharing::Ordered, "present")
        };
        self.names
            .iter()
            .map(|name| {
                Claim::new(ClaimKind::Other("package".to_owned()), name)
                    .shared(sharing.clone())
                    .wanting([("state", Some(state.to_owned()))])
            })
            .collect()
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        let wants: Vec<(String, PackageWant)> =
            self.names.iter().map(|n| (n.clone(), self.want)).collect();
        facts.ask(Packages::new(
            &wants,
            self.update_cache,
            self.cache_valid_time,
        ))
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let (change, b, after) = batch(facts.get(*asked))?;
        if b.install.is_empty() && b.remove.is_empty() && !b.refresh {
            return Ok(None);
        }
        Ok(Some((
            change,
            Decision {
                batch: b,
                handle: *asked,
                after,
            },
        )))
    }

    fn script(&self, decision: &Decision, out: &mut Script) {
        out.code("export DEBIAN_FRONTEND=noninteractive\n");
        if decision.batch.refresh {
            out.bounded().code(REFRESH);
        }
        let b = &decision.batch;
        if b.install.is_empty() && b.remove.is_empty() {
            return;
        }
        // Waits for another apt or dpkg run (unattended-upgrades) instead of failing at once.
        out.bounded()
            .code("apt-get install -y -q -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold");
        out.words(b.install.iter().map(String::as_str));
        for name in &b.remove {
            out.fill(" {}", [w(&format!("{name}-"))]);
        }
        out.code(" </dev/null || exit 1\n");
    }

    fn predict(&self, decision: &Decision, _: &FactSet, facts: &mut Facts) {
        facts.predict::<Packages>(decision.handle, decision.after.clone());
        // What an installed package ships (its unit, its account) is not in the plan's facts.
        if !decision.batch.install.is_empty() {
            facts.predict_unseen(format!("installing {}", decision.batch.install.join(", ")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::decide;

    fn host(wants: &[(&str, PackageWant)], installed: &[(&str, &str)]) -> PackageState {
        PackageState {
            wants: wants.iter().map(|(n, w)| ((*n).to_owned(), *w)).collect(),
            installed: installed
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            candidates: [("sl", "5.02"), ("tree", "2.1.0"), ("cowsay", "3.03")]
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            ..PackageState::default()
        }
    }

    #[test]
    fn one_batch_installs_upgrades_and_removes_with_pinned_versions() {
        use PackageWant::{Absent, Latest, Present};
        let state = host(
            &[("sl", Present), ("tree", Latest), ("cowsay", Absent)],
            &[("tree", "2.0.0"), ("cowsay", "3.03")],
        );
        let (change, b, after) = batch(&state).expect("ok");
        assert_eq!(b.install, ["sl=5.02", "tree=2.1.0"]);
        assert_eq!(b.remove, ["cowsay"]);
        assert!(!b.refresh);
        assert_eq!(change.action, Action::Update);
        assert_eq!(change.fields[1].before.as_deref(), Some("tree 2.0.0"));
        assert_eq!(change.fields[1].after.as_deref(), Some("tree 2.1.0"));
        assert_eq!(change.fields[2].after, None);
        let (_, again, _) = batch(&after).expect("ok");
        assert_eq!(
            again,
            Batch::default(),
            "later package steps find nothing to do"
        );
    }

    #[test]
    fn cache_refresh_and_unknown_packages() {
        let mut state = host(&[("nosuch", PackageWant::Present)], &[]);
        assert!(batch(&state).is_err(), "no candidate, no refresh");
        state.update_cache = true;
        let (_, b, _) = batch(&state).expect("ok");
        assert_eq!((b.install, b.refresh), (vec!["nosuch".to_owned()], true));
        let mut fresh = host(&[("sl", PackageWant::Present)], &[("sl", "5.02")]);
        fresh.update_cache = true;
        assert_eq!(batch(&fresh).expect("ok").1, Batch::default());
        fresh.cache_stale = true;
        assert!(batch(&fresh).expect("ok").1.refresh, "stale cache");
    }

    #[test]
    fn the_first_step_takes_the_batch() {
        let p = Package {
            names: vec!["sl".into()],
            want: PackageWant::Present,
            update_cache: false,
            cache_valid_time: None,
        };
        let state = host(
            &[("sl", PackageWant::Present), ("tree", PackageWant::Present)],
            &[],
        );
        let (change, d) = decide(&p, vec![FactValue::of::<Packages>(state)])
            .expect("ok")
            .expect("change");
        assert_eq!(change.fields.len(), 2, "tree of another task too");
        assert_eq!(d.batch.install, ["sl=5.02", "tree=2.1.0"]);
    }

    #[test]
    fn package_wants_of_a_host_merge_into_one_fact() {
        let mut set = FactSet::default();
        let a = set.ask(Packages::new(
            &[("sl".into(), PackageWant::Present)],
            false,
            None,
        ));
        let b = set.ask(Packages::new(
            &[
                ("tree".into(), PackageWant::Present),
                ("sl".into(), PackageWant::Latest),
            ],
            true,
            Some(600),
        ));
        assert_eq!(set.facts.len(), 1);
        assert_eq!(
            serde_json::to_value(&set.facts[0]).expect("saves"),
            serde_json::json!({"Packages": {
                "wants": [["sl", "latest"], ["tree", "present"]],
                "update_cache": true,
                "cache_valid_time": 600,
            }}),
            "merged, and saved as before"
        );
        let facts = set
            .parse("@@probe\nK 0\nKC 0\nKI 0 sl 5.0\nKV 0 sl 5.1\n@@end\n")
            .expect("parses");
        let state = facts.get(a);
        assert_eq!(state, facts.get(b), "one answer for both");
        assert!(state.cache_stale && state.update_cache);
        assert_eq!(state.wants.len(), 2, "the wants travel with the answer");
        assert_eq!(state.installed.get("sl").map(String::as_str), Some("5.0"));
        assert_eq!(state.candidates.get("sl").map(String::as_str), Some("5.1"));
    }

    #[test]
    fn the_probe_asks_dpkg_and_apt_once_for_the_merged_wants() {
        let bin = tempfile::tempdir().expect("tempdir");
        let stub = |name: &str, body: &str| {
            let path = bin.path().join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}")).expect("stub");
            let mut perms = std::fs::metadata(&path).expect("stat").permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(&path, perms).expect("chmod");
        };
        stub(
            "dpkg-query",
            r#"for a; do n=$a; done; [ "$n" = sl ] && printf 'ii  5.0'; exit 0"#,
        );
        stub(
            "apt-cache",
            r#"echo "$*" >> "${0%/*}/asked"; for a; do case $a in policy|--) ;; *) printf '%s:\n  Candidate: 9.%s\n' "$a" "${#a}";; esac; done"#,
        );
        let mut set = FactSet::default();
        let h = set.ask(Packages::new(
            &[("sl".into(), PackageWant::Latest)],
            false,
            None,
        ));
        set.ask(Packages::new(
            &[("tree".into(), PackageWant::Present)],
            false,
            None,
        ));
        let path = format!(
            "{}:{}",
            bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = std::process::Command::new("sh")
            .args(["-c", set.probe_script().as_str()])
            .env("PATH", path)
            .output()
            .expect("sh runs");
        let facts = set
            .parse(&String::from_utf8_lossy(&out.stdout))
            .expect("parses");
        let state = facts.get(h);
        assert_eq!(state.installed.get("sl").map(String::as_str), Some("5.0"));
        assert_eq!(state.candidates.get("sl").map(String::as_str), Some("9.2"));
        assert_eq!(
            state.candidates.get("tree").map(String::as_str),
            Some("9.4")
        );
        let asked = std::fs::read_to_string(bin.path().join("asked")).expect("asked");
        assert_eq!(asked, "policy -- sl tree\n", "one apt-cache call");
    }
}
