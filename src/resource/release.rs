//! `release: { root, version, src | git | url, strip_components, shared, shared_replace, prepare,
//! env, link, activate, keep, force }`: an immutable release folder
//! `{root}/{version}`, unpacked through a temp folder + rename (never half there), recorded by a
//! checksum marker, and the `{root}/{link}` symlink switched to it atomically. Old releases are
//! pruned by semantic version, never the current one, the one it replaces, or the last good one.
//!
//! Markers live in `{root}/.recon-releases/{version}`: `sha256=…` and `status=deployed|good|failed`.
//! `http_check` marks a release good, or failed (and rolls back) when the health gate fails.
//! With `activate: false` the link is left alone: a `cutover` switches it once the new release
//! answers in its own slot (blue/green).

use std::path::PathBuf;
use std::sync::Arc;

use super::archive::{self, Archive, Source};
use super::args::checked_path;
use super::shared;
use super::{BuildContext, Claim, Problem, Resource, Situation};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::facts::{decode, Answer, FactSet, Facts, Handle, Kind, PathKind, PathState};
use crate::fields::arg::{Arg, Groups};
use crate::fields::{wrong_type, Fields};
use crate::plan::{Action, Change, Field};
use crate::script::{n, p, w, Script};
use crate::yaml::Node;

/// The probe's question for a release root: the release folders under `root`, recon's markers
/// for them, and where `root/link` points (`_rel IDX ROOT LINK`). Asked by `release`,
/// `cutover`, `http_check` and `recon releases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Releases {
    pub(crate) root: String,
    pub(crate) link: String,
}

/// What is deployed under a release root.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct ReleaseState {
    /// The `current` link's target, if the link exists.
    pub(crate) link: Option<String>,
    /// Sub-directories (not links), by name.
    pub(crate) dirs: Vec<String>,
    /// `.recon-releases/<version>` marker files: version → content.
    pub(crate) markers: std::collections::BTreeMap<String, String>,
    /// Temp folders an interrupted unpack left behind (`.<version>.tmp-<pid>.<random>`,
    /// `.<version>.old-<pid>`): only those whose script no longer runs, never the one of an apply
    /// unpacking into the same root at this moment (another target's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) leftovers: Vec<String>,
    /// The root (or its marker folder) is behind a link another account controls and that
    /// leads out of its files: nothing under it was read, and nothing is written there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) unsafe_link: Option<String>,
}

impl Answer for ReleaseState {}

impl Releases {
    /// The question for `root` and its `link`.
    pub(crate) fn new(root: &str, link: &str) -> Self {
        Self {
            root: root.to_owned(),
            link: link.to_owned(),
        }
    }
}

impl Kind for Releases {
    const NAME: &'static str = "Releases";
    /// `_rel IDX ROOT LINK`: `R IDX`, then one line per thing found, each value base64: `RL`
    /// the link's target, `RD` a release folder, `RT` a leftover temp folder, `RM` a marker
    /// (name, content), `RU` the link another account controls that stopped the walk.
    const FUNCTIONS: &'static str = r#"_rel() {
  printf 'R %s\n' "$1"
  ( _walk "$2"; _ws=$?
    if [ "$_ws" = 2 ]; then printf 'RU %s ' "$1"; printf %s "$_wbad" | base64 -w0; echo; exit 0; fi
    [ "$_ws" = 0 ] || exit 0
    if [ -L "./$3" ]; then printf 'RL %s ' "$1"; readlink -- "./$3" | base64 -w0; echo; fi
    for _e in ./*; do
      if [ -d "$_e" ] && ! [ -L "$_e" ]; then printf 'RD %s ' "$1"; basename -- "$_e" | base64 -w0; echo; fi
    done
    for _e in ./.*.tmp-* ./.*.old-*; do
      [ -d "$_e" ] && ! [ -L "$_e" ] || continue
      _lp=${_e##*.tmp-}; _lp=${_lp##*.old-}; _lp=${_lp%%.*}
      case $_lp in ''|*[!0-9]*) ;; *)
        if [ -d "/proc/$_lp" ] && [ "$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$_lp/stat" 2>/dev/null)" != Z ]; then continue; fi;;
      esac
      printf 'RT %s ' "$1"; basename -- "$_e" | base64 -w0; echo
    done
    if [ -L ./.recon-releases ]; then printf 'RU %s ' "$1"; printf %s "${PWD%/}/.recon-releases" | base64 -w0; echo; exit 0; fi
    for _e in ./.recon-releases/*; do
      if [ -f "$_e" ] && ! [ -L "$_e" ]; then
        printf 'RM %s %s ' "$1" "$(basename -- "$_e" | base64 -w0)"; base64 -w0 < "$_e"; echo
      fi
    done )
}
"#;
    type Answer = ReleaseState;

    fn ask(&self, index: u64, probe: &mut Script) {
        probe.fill(
            "  _rel {} {} {}\n",
            [n(index), p(&self.root), w(&self.link)],
        );
    }

    fn read(
        &self,
        tag: &str,
        words: &mut dyn Iterator<Item = &str>,
        answer: &mut Option<ReleaseState>,
    ) -> Result<(), &'static str> {
        if tag == "R" {
            *answer = Some(ReleaseState::default());
            return Ok(());
        }
        let state = answer.as_mut().ok_or("release line before `R`")?;
        let mut text = || {
            let bytes = decode(words.next().unwrap_or(""))?;
            Ok::<_, &'static str>(
                String::from_utf8_lossy(&bytes)
                    .trim_end_matches('\n')
                    .to_owned(),
            )
        };
        match tag {
            "RL" => state.link = Some(text()?),
            "RD" => state.dirs.push(text()?),
            "RT" => state.leftovers.push(text()?),
            "RU" => state.unsafe_link = Some(text()?),
            "RM" => {
                let name = text()?;
                let content = text()?;
                state.markers.insert(name, content);
            }
            _ => return Err("unknown tag"),
        }
        Ok(())
    }

    fn drifted(&self, _: &ReleaseState, _: &ReleaseState) -> String {
        format!("the releases under `{}`", self.root)
    }
}

/// A deployed release and the link that makes it current.
#[derive(Debug, Clone)]
pub(crate) struct Release {
    pub(crate) root: String,
    pub(crate) version: String,
    pub(crate) archive: Arc<Archive>,
    pub(crate) link: String,
    pub(crate) keep: Option<usize>,
    pub(crate) force: bool,
    /// Whether this task switches the link (false: a `cutover` does, after its check).
    pub(crate) activate: bool,
    /// Set by `recon rollback`: switch to an existing release, never unpack.
    pub(crate) switch_only: bool,
    /// Shared paths and prepare commands, applied to a new release before it goes live.
    pub(crate) build: shared::Build,
}

/// A marker's recorded status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Deployed,
    Good,
    Failed,
    /// Written before the unpacked folder is renamed into place and replaced once the release
    /// is complete: a folder with this marker is recon's own unfinished write (a full disk, a
    /// kill), which the next apply redoes instead of refusing it as foreign.
    Unpacking,
}

impl Status {
    /// A complete release that may be switched or rolled back to.
    pub(crate) fn usable(self) -> bool {
        matches!(self, Status::Deployed | Status::Good)
    }
}

/// One parsed marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    pub(crate) sha256: String,
    pub(crate) status: Status,
    /// What failed, when recon knows (`prepare`); empty for a failed health check.
    pub(crate) reason: String,
}

impl Marker {
    pub(crate) fn parse(text: &str) -> Self {
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let status = match field("status=").as_str() {
            "good" => Status::Good,
            "failed" => Status::Failed,
            "unpacking" => Status::Unpacking,
            _ => Status::Deployed,
        };
        Self {
            sha256: field("sha256="),
            status,
            reason: field("reason="),
        }
    }
}

/// The arguments of `release`: one of `src`, `git`, `url`.
const ARGS_OWN: &[Arg] = &[
    Arg::path("root")
        .required()
        .doc("the folder holding `releases/`, the link and `shared/`"),
    Arg::str("version")
        .required()
        .doc("the release's folder name"),
    Arg::str("src").doc("a tarball on the control machine (role or playbook `files/`)"),
    Arg::map("git")
        .doc("`{ repo, ref }`: a local repository or a URL; `ref` defaults to `version`"),
    Arg::str("url").doc("a tarball the host fetches"),
    Arg::int("strip_components")
        .default("0")
        .doc("leading folders dropped from the archive's members"),
    Arg::strings("shared").doc("paths linked into `shared/`, kept across releases"),
    Arg::bool("shared_replace")
        .default("false")
        .doc("a shared path the archive ships is replaced by the link"),
    Arg::strings("prepare").doc("commands run in the new release before it is activated"),
    Arg::map("env").doc("environment variables for `prepare`"),
    Arg::str("link")
        .default("current")
        .doc("the link that makes a release current"),
    Arg::bool("activate")
        .default("true")
        .doc("switch the link (false: a `cutover` does)"),
    Arg::int("keep").doc("releases kept (older ones pruned; 1 or more)"),
    Arg::bool("force")
        .default("false")
        .doc("deploy a version even if it is marked failed"),
];

/// The arguments of `release`.
pub(super) const ARGS: Groups = &[ARGS_OWN];

/// The arguments of a `release`'s `git` source.
pub(super) const GIT: Groups = &[&[
    Arg::str("repo")
        .required()
        .doc("a repository: a local path (from the playbook) or a URL"),
    Arg::str("ref")
        .default_note("the release's `version`")
        .doc("the branch, tag or commit archived"),
]];

/// Where the release comes from: one of `src` (a tarball on the control machine, looked up in
/// the role's and playbook's files), `git` (a repository and ref, by default the version) or
/// `url`; with the span to point errors at.
fn source_of(
    f: &Fields<'_>,
    args: &Node,
    cx: &BuildContext<'_>,
    version: &str,
) -> Result<(Source, crate::source::Span)> {
    Ok(match (f.get("src"), f.get("git"), f.get("url")) {
        (Some(node), None, None) => {
            let src = f.required_string("src")?;
            let found = cx
                .file_dirs
                .iter()
                .map(|d| d.join(&src))
                .chain(std::iter::once(PathBuf::from(&src)))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    Error::invalid(format!("release archive `{src}` not found"), &node.span)
                        .with_label("not found")
                })?;
            (Source::Tarball(found), node.span.clone())
        }
        (None, Some(node), None) => {
            let g = Fields::declared(node, "`git`", GIT)?;
            let repo = g.required_string("repo")?;
            let reference = g.string("ref")?.unwrap_or_else(|| version.to_owned());
            let source = if super::git_remote::is_url(&repo) {
                Source::GitUrl {
                    url: repo,
                    reference,
                }
            } else {
                Source::Git {
                    repo: cx
                        .file_dirs
                        .last()
                        .map_or_else(|| PathBuf::from(&repo), |dir| dir.join(&repo)),
                    reference,
                }
            };
            (source, node.span.clone())
        }
        (None, None, Some(node)) => (Source::Url(f.required_string("url")?), node.span.clone()),
        (None, None, None) => return Err(f.missing("src` (or `git`, or `url")),
        _ => {
            return Err(Error::invalid(
                "`release` takes one of `src`, `git` or `url`",
                &args.span,
            ))
        }
    })
}

/// Builds a `release` from its arguments (loading and checking its archive once per run).
pub(super) fn build(args: &Node, cx: &BuildContext<'_>) -> Result<Release> {
    Release::build(args, cx)
}

impl Release {
    fn build(args: &Node, cx: &BuildContext<'_>) -> Result<Self> {
        let f = Fields::declared(args, "`release`", ARGS)?;
        let root_node = f.require("root")?;
        let root = checked_path(&f.required_string("root")?, root_node)?;
        let version_node = f.require("version")?;
        let version = f.required_string("version")?;
        if version.is_empty() || version.contains('/') || version.starts_with('.') {
            return Err(Error::invalid(
                format!("`version` `{version}` must be a plain folder name"),
                &version_node.span,
            ));
        }
        let (source, span) = source_of(&f, args, cx, &version)?;
        let keep = match f.get("keep") {
            Some(node) => Some(
                node.scalar_text()
                    .and_then(|t| t.parse::<usize>().ok())
                    .filter(|k| *k >= 1)
                    .ok_or_else(|| {
                        wrong_type(node, "a number of releases (1 or more)", "`keep`")
                    })?,
            ),
            None => None,
        };
        let strip = match f.get("strip_components") {
            Some(node) => node
                .scalar_text()
                .and_then(|t| t.parse::<usize>().ok())
                .ok_or_else(|| {
                    wrong_type(
                        node,
                        "a number of leading folders (0 or more)",
                        "`strip_components`",
                    )
                })?,
            None => 0,
        };
        let build = shared::Build::from_fields(&f)?;
        let link = f.text("link")?;
        if !build.shared.is_empty() && (version == shared::SHARED_DIR || link == shared::SHARED_DIR)
        {
            return Err(Error::invalid(
                format!(
                    "`{}` holds the shared paths; name the version or link otherwise",
                    shared::SHARED_DIR
                ),
                &version_node.span,
            ));
        }
        let archive = archive::load_stripped(&source, strip, &span)?;
        if let Some((entry, member)) = build.conflict(&archive) {
            let node = f.get("shared").unwrap_or(args);
            let help = if build.replace {
                "a file or link stands where a folder of the shared path must be; change the archive"
            } else {
                "remove it from the archive, or set `shared_replace: true` to replace the release's copy with the link"
            };
            return Err(Error::invalid(
                format!(
                    "release archive `{}` ships `{member}`, which is the shared path `{entry}` (or in its way)",
                    archive.description
                ),
                &node.span,
            )
            .with_label("shared path shipped by the archive")
            .with_help(help));
        }
        Ok(Self {
            archive,
            root,
            version,
            link,
            keep,
            force: f.flag("force")?,
            activate: f.flag("activate")?,
            switch_only: false,
            build,
        })
    }

    pub(crate) fn dir(&self) -> String {
        format!("{}/{}", self.root, self.version)
    }

    fn link_path(&self) -> String {
        format!("{}/{}", self.root, self.link)
    }

    /// What has to happen, decided from the host's release state (pure).
    /// What to do about this release on a host with `state`.
    pub(crate) fn plan(&self, state: &ReleaseState) -> Result<Decision, Problem> {
        if let Some(link) = &state.unsafe_link {
            return Err(super::refused_link(&self.root, link));
        }
        let marker = state.markers.get(&self.version).map(|m| Marker::parse(m));
        let exists = state.dirs.contains(&self.version);
        let mut unpack = !exists;
        let unfinished = marker
            .as_ref()
            .is_some_and(|m| m.status == Status::Unpacking);
        match (&marker, exists) {
            (Some(_), true) if unfinished && self.switch_only => {
                return Err(Problem(format!(
                    "release `{}` was never completely written on the host (an interrupted deploy); deploy it again",
                    self.version
                )));
            }
            // recon's own interrupted write: unpacked again from scratch.
            (Some(_), true) if unfinished => unpack = true,
            (None, true) => {
                return Err(Problem(format!("`{}` exists but was not deployed by recon (no marker); remove it or deploy another version", self.dir())))
            }
            (Some(m), true) if m.sha256 != self.archive.sha256 && !self.switch_only => {
                if !self.force {
                    return Err(Problem(format!(
                        "release `{}` on the host has other content (sha256 {}) than {} ({}); bump the version, or set `force: true`",
                        self.version,
                        short(&m.sha256),
                        self.archive.description,
                        short(&self.archive.sha256)
                    )));
                }
                unpack = true;
            }
            (Some(m), true) if m.status == Status::Failed && !self.force => {
                let what = if m.reason == "prepare" {
                    "failed its prepare commands"
                } else {
                    "failed its health check"
                };
                return Err(Problem(format!(
                    "release `{}` {what} before; deploy another version, or set `force: true`",
                    self.version
                )));
            }
            // Forced again after a failure: unpack afresh, so the prepare commands run again.
            (Some(m), true) if m.status == Status::Failed && !self.switch_only => unpack = true,
            _ => {}
        }
        if self.switch_only && !exists {
            return Err(Problem(format!(
                "release `{}` is not on the host",
                self.version
            )));
        }
        let switch = self.activate && state.link.as_deref() != Some(self.version.as_str());
        let prune = self.prune_list(state);
        Ok(Decision {
            leftovers: state.leftovers.clone(),
            unfinished: unfinished && exists,
            unpack,
            switch,
            previous: state.link.clone(),
            prune,
        })
    }

    /// Oldest first beyond `keep`, never the new current, the one it replaces, or the last good.
    fn prune_list(&self, state: &ReleaseState) -> Vec<String> {
        let Some(keep) = self.keep else {
            return Vec::new();
        };
        let mut versions: Vec<&String> = state
            .dirs
            .iter()
            .filter(|d| state.markers.contains_key(*d))
            .collect();
        if !versions.contains(&&self.version) {
            versions.push(&self.version);
        }
        versions.sort_by(|a, b| compare_versions(b, a));
        // Planned against the state after the switch, so one apply converges: the new release
        // is current, and the rollback target is the newest good release other than it — the
        // same before and after the health gate marks the new one good, so a later plan finds
        // nothing more to prune.
        let rollback_target = last_good(state, Some(&self.version));
        versions
            .into_iter()
            .skip(keep)
            .filter(|v| **v != self.version && Some(v.as_str()) != rollback_target.as_deref())
            // Not activated here: what is live stays live until the cutover, so it is kept.
            .filter(|v| self.activate || Some(v.as_str()) != state.link.as_deref())
            .cloned()
            .collect()
    }
}

/// The outcome of comparing a release with the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Temp folders of an interrupted run to remove first.
    pub(crate) leftovers: Vec<String>,
    /// The folder is there but an interrupted deploy left it unfinished (redone).
    pub(crate) unfinished: bool,
    pub(crate) unpack: bool,
    pub(crate) switch: bool,
    pub(crate) previous: Option<String>,
    pub(crate) prune: Vec<String>,
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// The newest release marked good (else deployed, never failed), other than `except`.
pub(crate) fn last_good(state: &ReleaseState, except: Option<&str>) -> Option<String> {
    let mut candidates: Vec<(&String, Status)> = state
        .markers
        .iter()
        .filter(|(v, _)| state.dirs.contains(v) && Some(v.as_str()) != except)
        .map(|(v, m)| (v, Marker::parse(m).status))
        .filter(|(_, s)| s.usable())
        .collect();
    candidates.sort_by(|a, b| {
        (a.1 == Status::Good)
            .cmp(&(b.1 == Status::Good))
            .then_with(|| compare_versions(a.0, b.0))
    });
    candidates.last().map(|(v, _)| (*v).clone())
}

pub(crate) use super::version::compare_versions;

/// Shell that writes `.recon-releases/{version}` under the entered root (`_root`) atomically
/// (temp + rename) and fails the step when any part of the write fails.
fn marker_script(version: &str, sha: &str, status: &str, out: &mut Script) {
    marker_script_with(version, sha, status, "", out);
}

/// [`marker_script`] with a `reason=` line saying what failed (none when empty). Written with
/// `_put` (link-safe walk, random exclusive temp name, rename), never through a link the
/// root's owner planted in the marker folder.
fn marker_script_with(version: &str, sha: &str, status: &str, reason: &str, out: &mut Script) {
    out.code("_mkdir 0755 ./.recon-releases || exit 1\n");
    if reason.is_empty() {
        out.fill(
            "printf 'sha256=%s\\nstatus=%s\\n' {} {}",
            [w(sha), w(status)],
        );
    } else {
        out.fill(
            "printf 'sha256=%s\\nstatus=%s\\nreason=%s\\n' {} {} {}",
            [w(sha), w(status), w(reason)],
        );
    }
    out.fill(
        " | base64 | _put ./.recon-releases/{} 0644 - - || exit 1\n",
        [w(version)],
    );
}

/// Releases `keep:` removes.
const PRUNE: Field = Field::new("prune");

impl Resource for Release {
    type Asked = Handle<ReleaseState>;
    type Decision = Decision;
    const FIELDS: &'static [Field] = &[PRUNE, shared::SHARED, shared::PREPARE];
    const FACT_KINDS: &'static [crate::facts::Registered] =
        &[crate::facts::Registered::of::<Releases>()];

    fn id(&self) -> String {
        format!("{} ({})", self.dir(), self.archive.description)
    }

    fn claims(&self) -> Vec<Claim> {
        let mut claims = vec![Claim::path(&self.dir())];
        if self.activate {
            claims.push(Claim::path(&self.link_path()));
        }
        claims
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        facts.ask(Releases::new(&self.root, &self.link))
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let d = self.plan(facts.get(*asked))?;
        if !d.unpack && !d.switch && d.prune.is_empty() && d.leftovers.is_empty() {
            return Ok(None);
        }
        let mut change = Change::new(if d.unpack {
            Action::Create
        } else {
            Action::Update
        });
        if d.unpack {
            change = change.field(
                Field::CONTENT,
                None,
                Some(format!(
                    "{} files, sha256 {}",
                    self.archive.files,
                    short(&self.archive.sha256)
                )),
            );
            change = self.build.show(change);
            if d.unfinished {
                change =
                    change.reason("an interrupted deploy left it unfinished: it is unpacked again");
            }
        }
        if d.switch {
            change = change.field(
                Field::TARGET,
                d.previous.clone(),
                Some(self.version.clone()),
            );
        }
        if !d.prune.is_empty() {
            change = change.field(PRUNE, Some(d.prune.join(", ")), None);
        }
        if !d.leftovers.is_empty() {
            change = change.field(Field::LEFTOVERS, Some(d.leftovers.join(", ")), None);
        }
        change.housekeeping = !d.unpack && !d.switch;
        Ok(Some((change, d)))
    }

    fn script(&self, d: &Decision, s: &mut Script) {
        let (root, v) = (&self.root, &self.version);
        // Everything below happens inside the root, entered link-safely (`_root`: the account
        // that owns it cannot redirect the unpack, the renames or the pruning with a link).
        s.fill("_root {} || exit 1\n", [p(root)]);
        // An interrupted run's: the probe lists a temp folder only when the script whose pid
        // its name holds (`.V.tmp-PID.XXXXXXXX`, `.V.old-PID`) no longer runs, so another
        // target's apply unpacking into the same root at this moment keeps its own.
        for leftover in &d.leftovers {
            s.fill("rm -rf -- \"$_r\"/{} || exit 1\n", [w(leftover)]);
        }
        if d.unpack {
            let z = if self.archive.gzip { "-xzf" } else { "-xf" };
            // The archive reaches the host's blob store before the script runs (streamed, once
            // per account per run) and is checked by hash before use. Unpack into a temp
            // folder, then rename: never a half-written release. tar sees no path at all (GNU
            // tar unquotes backslashes in names it is given). Every write is checked before
            // the next one starts; the marker is written before the link moves, so a release
            // is only ever current once it is recorded.
            s.code("_blob ")
                .artifact_id(&self.archive.artifact)
                .fill(
                    " || exit 1\n_t=$(mktemp -d \"$_r\"/.{}.tmp-$$.XXXXXXXX) || exit 1\n",
                    [w(v)],
                )
                .fill(
                    "if ! (_walk \"$_t\" || exit 1\nchmod 755 . && tar {} - --no-same-owner",
                    [w(z)],
                );
            if self.archive.strip > 0 {
                s.fill(" --strip-components={}", [n(self.archive.strip as u64)]);
            }
            s.code(") < ").artifact(&self.archive.artifact).code(
                "; then rm -rf -- \"$_t\"; echo 'cannot unpack the release' >&2; exit 1; fi\n",
            );
            // Shared links go into the temp folder: the release appears with them or not at all.
            // It has a random name, and everything in it happens inside it (`_walk`): the
            // root's owner can rename it, never redirect what root writes there.
            if !self.build.shared.is_empty() {
                self.build.shared_script(s);
                s.code("if ! (_walk \"$_t\" || exit 1\n");
                self.build.link_script(s);
                s.code(") then rm -rf -- \"$_t\"; exit 1; fi\n");
            }
            // The folder only ever appears with a marker: a write that fails from here on
            // (a full disk, a kill) leaves one the next apply recognises as its own.
            s.code("if ! (");
            marker_script(v, &self.archive.sha256, "unpacking", s);
            s.code(") then rm -rf -- \"$_t\"; exit 1; fi\n");
            s.fill(
                    "if [ -e \"$_r\"/{} ]; then rm -rf -- \"$_r\"/.{}.old-$$ && mv -T -- \"$_r\"/{} \"$_r\"/.{}.old-$$ || exit 1; fi\n\
                     mv -T -- \"$_t\" \"$_r\"/{} || { rm -rf -- \"$_t\"; exit 1; }\nrm -rf -- \"$_r\"/.{}.old-$$\n",
                    [w(v), w(v), w(v), w(v), w(v), w(v)],
                );
            // Prepare runs in place, before the link moves, while the release is still marked
            // unfinished: a failed prepare marks it failed, an interrupted one is redone by
            // the next apply; neither is ever switched to.
            let mut mark_failed = Script::new();
            marker_script_with(
                v,
                &self.archive.sha256,
                "failed",
                "prepare",
                &mut mark_failed,
            );
            self.build.prepare_script(v, &mark_failed, s);
            marker_script(v, &self.archive.sha256, "deployed", s);
        }
        if d.switch {
            s.fill("_link {} \"$_r\"/{} || exit 1\n", [w(v), w(&self.link)]);
        }
        for old in &d.prune {
            s.fill(
                "rm -rf -- \"$_r\"/{} && _rm \"$_r\"/.recon-releases/{} r || exit 1\n",
                [w(old), w(old)],
            );
        }
    }

    fn predict(&self, _: &Decision, set: &FactSet, facts: &mut Facts) {
        let dir = PathState {
            kind: PathKind::Dir,
            ..PathState::default()
        };
        facts.predict_path(set, &self.dir(), &dir);
        if !self.activate {
            return;
        }
        let link = PathState {
            kind: PathKind::Link,
            target: Some(self.version.clone()),
            ..PathState::default()
        };
        facts.predict_path(set, &self.link_path(), &link);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(version: &str, keep: Option<usize>) -> Release {
        Release {
            root: "~/app".into(),
            version: version.into(),
            archive: Arc::new(Archive {
                artifact: crate::artifact::Artifact {
                    sha256: "aaa".into(),
                    size: 0,
                    path: PathBuf::new(),
                },
                gzip: true,
                sha256: "aaa".into(),
                files: 1,
                description: "t.tar.gz".into(),
                strip: 0,
                entries: Vec::new(),
            }),
            link: "current".into(),
            keep,
            force: false,
            activate: true,
            switch_only: false,
            build: shared::Build::default(),
        }
    }

    fn state(link: &str, releases: &[(&str, &str, &str)]) -> ReleaseState {
        ReleaseState {
            link: Some(link.into()),
            dirs: releases.iter().map(|r| r.0.to_owned()).collect(),
            markers: releases
                .iter()
                .map(|(v, sha, st)| ((*v).to_owned(), format!("sha256={sha}\nstatus={st}\n")))
                .collect(),
            leftovers: Vec::new(),
            unsafe_link: None,
        }
    }

    #[test]
    fn new_version_unpacks_and_switches() {
        let d = release("v1.0.1", None)
            .plan(&state("v1.0.0", &[("v1.0.0", "x", "good")]))
            .expect("ok");
        assert_eq!(
            d,
            Decision {
                leftovers: vec![],
                unfinished: false,
                unpack: true,
                switch: true,
                previous: Some("v1.0.0".into()),
                prune: vec![]
            }
        );
    }

    #[test]
    fn same_version_same_content_is_converged() {
        let r = release("v1.0.1", None);
        let d = r
            .plan(&state("v1.0.1", &[("v1.0.1", "aaa", "good")]))
            .expect("ok");
        assert!(!d.unpack && !d.switch && d.prune.is_empty());
    }

    #[test]
    fn same_version_other_content_is_refused_unless_forced() {
        let st = state("v1.0.1", &[("v1.0.1", "bbb", "good")]);
        assert!(release("v1.0.1", None)
            .plan(&st)
            .expect_err("refused")
            .0
            .contains("other content"));
        let mut forced = release("v1.0.1", None);
        forced.force = true;
        assert!(forced.plan(&st).expect("forced").unpack);
    }

    #[test]
    fn a_failed_release_is_refused_and_never_a_rollback_target() {
        let st = state(
            "v1.0.1",
            &[("v1.0.1", "x", "good"), ("v1.0.2", "aaa", "failed")],
        );
        assert!(release("v1.0.2", None)
            .plan(&st)
            .expect_err("refused")
            .0
            .contains("failed its health check"));
        assert_eq!(last_good(&st, None).as_deref(), Some("v1.0.1"));
        assert_eq!(last_good(&st, Some("v1.0.1")), None);
    }

    #[test]
    fn an_unfinished_release_of_recons_own_is_unpacked_again_and_never_a_rollback_target() {
        // Other content and no `force`: still recon's own unfinished write, so redone.
        let st = state(
            "v1.0.1",
            &[("v1.0.1", "x", "good"), ("v1.0.2", "bbb", "unpacking")],
        );
        let d = release("v1.0.2", None).plan(&st).expect("healed");
        assert!(d.unpack && d.unfinished && d.switch, "{d:?}");
        assert_eq!(last_good(&st, Some("v1.0.1")), None);
        let mut rollback = release("v1.0.2", None);
        rollback.switch_only = true;
        assert!(rollback
            .plan(&st)
            .expect_err("not a release")
            .0
            .contains("never completely written"));
        // A folder without any marker is still not recon's to replace.
        let mut foreign = state("v1.0.1", &[("v1.0.1", "x", "good")]);
        foreign.dirs.push("v1.0.2".into());
        assert!(release("v1.0.2", None)
            .plan(&foreign)
            .expect_err("refused")
            .0
            .contains("not deployed by recon"));
    }

    #[test]
    fn the_folder_appears_only_after_its_unfinished_marker_is_written() {
        let d = release("v1.0.2", None)
            .plan(&state("v1.0.1", &[("v1.0.1", "x", "good")]))
            .expect("ok");
        let mut s = Script::new();
        release("v1.0.2", None).script(&d, &mut s);
        let text = s.as_str();
        let marker = text.find("status=%s").expect("marker written");
        let rename = text.find("mv -T -- \"$_t\"").expect("rename");
        assert!(marker < rename, "{text}");
        assert!(text.contains("'unpacking'"), "{text}");
    }

    #[test]
    fn pruning_keeps_the_new_release_and_the_rollback_target_and_converges_in_one_apply() {
        let st = state(
            "v1.0.3",
            &[
                ("v1.0.0", "x", "good"),
                ("v1.0.1", "x", "failed"),
                ("v1.0.2", "x", "deployed"),
                ("v1.0.3", "x", "failed"),
                ("v1.0.10", "x", "deployed"),
            ],
        );
        // Keeping 2: v1.0.11 (new) and v1.0.10; v1.0.0 is the rollback target (newest good).
        // v1.0.3 is current now but replaced by this apply: pruned now, not by the next run.
        let d = release("v1.0.11", Some(2)).plan(&st).expect("ok");
        assert_eq!(d.prune, ["v1.0.3", "v1.0.2", "v1.0.1"]);
        // The host after that apply, before and after the gate marks v1.0.11 good: no change.
        for status in ["deployed", "good"] {
            let after = state(
                "v1.0.11",
                &[
                    ("v1.0.0", "x", "good"),
                    ("v1.0.10", "x", "deployed"),
                    ("v1.0.11", "aaa", status),
                ],
            );
            let d = release("v1.0.11", Some(2)).plan(&after).expect("ok");
            assert!(
                d.prune.is_empty() && !d.unpack && !d.switch,
                "{status}: {d:?}"
            );
        }
    }

    #[test]
    fn semver_order() {
        use std::cmp::Ordering;
        assert_eq!(compare_versions("v1.10.0", "v1.9.9"), Ordering::Greater);
        assert_eq!(compare_versions("v2", "v10"), Ordering::Less);
        assert_eq!(compare_versions("v1.0.0-rc1", "v1.0.0"), Ordering::Less);
    }
}
