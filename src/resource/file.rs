//! `file: { path, content | src, mode, owner, group, validate }` and
//! `template: { src, dest, mode, owner, group, validate }`: a file with exactly these bytes.
//! Both compile to the same resource; a template's bytes are rendered on the control machine.
//! `file: { path, state: absent }` removes the file (or a symlink or special file at the path);
//! a directory there is refused: removing one is `directory`'s job, with its `recurse` guard.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::args::{path, refuse_with_absent, state, Attrs};
use super::walk::{Reach, Walk};
use super::{BuildContext, Claim, Problem, Resource, Situation};
use crate::artifact::{Artifact, Store};
use crate::error::{Error, Result};
use crate::facts::{sha256_hex, FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{p, w, Piece, Script};
use crate::yaml::Node;

/// A managed regular file.
#[derive(Debug, Clone)]
pub(crate) struct File {
    pub(crate) path: String,
    pub(crate) content: Body,
    pub(crate) sha256: String,
    pub(crate) attrs: Attrs,
    /// A check command run on the candidate (`%s`) before it replaces the live file.
    pub(crate) validate: Option<String>,
    /// A check run with the new file in place (`nginx -t` on the whole config); on failure the
    /// previous file is put back.
    pub(crate) check: Option<String>,
    /// A node-wide lock file held while the file is replaced and checked, so targets sharing a
    /// service never see each other's candidates.
    pub(crate) serialize: Option<String>,
    /// `state: absent`: the path must not exist (content and attributes are not used).
    pub(crate) absent: bool,
    /// How secret the content is: the plan never shows it in clear, and the host's copy is
    /// never read back to diff it (only hashes are compared).
    pub(crate) sensitive: Sensitivity,
}

/// Whether a file's content is secret, and how much of it the plan may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Sensitivity {
    /// Ordinary content: diffs in full.
    #[default]
    Public,
    /// Rendered from a secret value: a new file's content is shown with every secret masked.
    Masked,
    /// The task is `no_log`/`sensitive`, or the content came from a secret that a filter
    /// transformed beyond masking: only size and a short hash.
    Hidden,
}

impl Sensitivity {
    /// `no_log` hides; content holding a known secret is masked; content rendered from a
    /// secret that no longer holds it literally (`| urlencode`) hides.
    pub(super) fn of(content: &[u8], no_log: bool, used_secret: bool) -> Self {
        if no_log {
            Sensitivity::Hidden
        } else if crate::secret::occurs_in(&String::from_utf8_lossy(content)) {
            Sensitivity::Masked
        } else if used_secret {
            Sensitivity::Hidden
        } else {
            Sensitivity::Public
        }
    }
}

/// What `file` and `template` both take once the bytes are known: how the write is checked and
/// serialized (`mode`, `owner`, `group` come from `args::ATTRS`).
const WRITE: &[Arg] = &[
    Arg::str("validate")
        .doc("a command run on the candidate file (`%s`) before it replaces the live one")
        .ansible(&["validate"]),
    Arg::str("check").doc("a command run after the write; on failure the old file comes back"),
    Arg::path("serialize")
        .doc("a lock file: writes (and their checks) under one lock run one at a time"),
];

/// The arguments of `file`.
pub(super) const ARGS: Groups = &[
    &[
        Arg::path("path")
            .required()
            .doc("the file")
            .ansible(&["dest", "path", "name"]),
        Arg::str("content")
            .default_note("`content` or `src`")
            .doc("the exact bytes")
            .ansible(&["content"]),
        Arg::str("src")
            .default_note("`content` or `src`")
            .doc("a control-machine file: role `files/`, playbook `files/`, playbook dir")
            .ansible(&["src"]),
        Arg::one_of("state", &["present", "absent"])
            .default("present")
            .doc("`absent` removes a file, link or special file (never a directory)")
            .ansible(&["state"]),
    ],
    super::args::ATTRS,
    WRITE,
];
/// The arguments of `template`, which shares everything after rendering with `file`.
pub(super) const TEMPLATE_ARGS: Groups = &[
    &[
        Arg::str("src")
            .required()
            .doc("a Jinja template: role `templates/`, then playbook `templates/`")
            .ansible(&["src"]),
        Arg::path("dest")
            .required()
            .doc("the file written")
            .ansible(&["dest"]),
    ],
    super::args::ATTRS,
    WRITE,
];

/// Builds a `file` from its arguments.
pub(super) fn build(args: &Node, cx: &BuildContext<'_>) -> Result<File> {
    let f = Fields::declared(args, "`file`", ARGS)?;
    if state(&f, &["present", "absent"])? == "absent" {
        refuse_with_absent(
            &f,
            &[
                "content", "src", "mode", "owner", "group", "validate", "check",
            ],
        )?;
        let mut file = File::new(path(&f, "path")?, Vec::new(), &f, cx)?;
        file.absent = true;
        return Ok(file);
    }
    let content = match (f.get("content"), f.get("src")) {
        (Some(_), Some(src)) => {
            return Err(
                Error::invalid("`file` takes `content` or `src`, not both", &src.span)
                    .with_label("second source"),
            )
        }
        // Content is data (it travels as base64), so unlike other strings it may hold NUL.
        (Some(node), None) => node
            .scalar_text()
            .ok_or_else(|| crate::fields::wrong_type(node, "a string", "`content`"))?
            .as_bytes()
            .to_vec(),
        (None, Some(src_node)) => {
            let src = f.required_string("src")?;
            let found = find(&src, &cx.file_dirs)
                .ok_or_else(|| not_found(&src, src_node, &cx.file_dirs))?;
            let io = |e: std::io::Error| Error::io(&found, &e).with_span(&src_node.span);
            let size = std::fs::metadata(&found).map_err(io)?.len();
            if size > INLINE_LIMIT {
                // Never read whole, once per run whatever the number of hosts.
                let artifact = source_artifact(&found).map_err(io)?;
                // Not read here, so only `no_log` can make it sensitive; the cache holds a link
                // to the user's own file, not a copy.
                let sensitive = Sensitivity::of(b"", cx.sensitive, false);
                let body = Body::Artifact(artifact);
                return File::with_body(path(&f, "path")?, body, &f, sensitive);
            }
            std::fs::read(&found).map_err(io)?
        }
        (None, None) => return Err(f.missing("content` or `src")),
    };
    File::new(path(&f, "path")?, content, &f, cx)
}

/// Contents up to this size travel inside the apply script; larger ones are artifacts, sent at
/// most once per account per run and never held whole in memory.
const INLINE_LIMIT: u64 = 64 * 1024;

/// A file's bytes: small ones in memory (plans show their diff), large ones as an artifact.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Inline(Arc<Vec<u8>>),
    Artifact(Artifact),
}

impl Body {
    fn len(&self) -> u64 {
        match self {
            Body::Inline(bytes) => bytes.len() as u64,
            Body::Artifact(artifact) => artifact.size,
        }
    }

    /// The bytes, when they are in memory (for diffs).
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Inline(bytes) => Some(bytes),
            Body::Artifact(_) => None,
        }
    }
}

/// A source file as last seen: path, size and mtime.
type Seen = (PathBuf, u64, Option<SystemTime>);

/// The artifact of a control-machine file, hashed once per run (keyed by path, size and mtime).
fn source_artifact(path: &Path) -> std::io::Result<Artifact> {
    static SEEN: Mutex<BTreeMap<Seen, Artifact>> = Mutex::new(BTreeMap::new());
    let meta = std::fs::metadata(path)?;
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok());
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(artifact) = seen.get(&key) {
        return Ok(artifact.clone());
    }
    let artifact = Store::user()?.add_file(path)?;
    seen.insert(key, artifact.clone());
    Ok(artifact)
}

impl File {
    /// A file resource from its final bytes (`template` renders them first).
    pub(super) fn new(
        path: String,
        content: Vec<u8>,
        f: &Fields<'_>,
        cx: &BuildContext<'_>,
    ) -> Result<Self> {
        let sensitive = Sensitivity::of(&content, cx.sensitive, cx.vars.used_secret());
        // Sensitive bytes never become an artifact: the cache would hold them in clear. They
        // travel inside the apply script, which a saved plan only holds sealed.
        if content.len() as u64 > INLINE_LIMIT && sensitive == Sensitivity::Public {
            // Rendered per host (a template): stored once per distinct content.
            let artifact = Store::user()
                .and_then(|store| store.add_bytes(&content))
                .map_err(|e| Error::usage(format!("cannot store `{path}`'s content: {e}")))?;
            return Self::with_body(path, Body::Artifact(artifact), f, sensitive);
        }
        // Rendered text comes from a buffer grown by doubling; a fleet's compile keeps one body
        // per host and file until the run ends, so the slack is given back here.
        let mut content = content;
        content.shrink_to_fit();
        Self::with_body(path, Body::Inline(Arc::new(content)), f, sensitive)
    }

    fn with_body(
        path: String,
        content: Body,
        f: &Fields<'_>,
        sensitive: Sensitivity,
    ) -> Result<Self> {
        let validate = super::args::validate(f)?;
        let serialize = match f.get("serialize") {
            Some(node) => Some(super::args::checked_path(
                &f.required_string("serialize")?,
                node,
            )?),
            None => None,
        };
        Ok(Self {
            path,
            sensitive,
            sha256: match &content {
                Body::Inline(bytes) => sha256_hex(bytes),
                Body::Artifact(artifact) => artifact.sha256.clone(),
            },
            content,
            attrs: Attrs::read(f)?,
            validate,
            check: f.string("check")?,
            serialize,
            absent: false,
        })
    }
}

/// The first existing `src` in `dirs` (or `src` itself when absolute).
pub(super) fn find(src: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    if Path::new(src).is_absolute() {
        return Some(PathBuf::from(src)).filter(|p| p.is_file());
    }
    dirs.iter().map(|d| d.join(src)).find(|p| p.is_file())
}

/// A located "not found" naming where recon looked.
pub(super) fn not_found(src: &str, node: &Node, dirs: &[PathBuf]) -> Error {
    let looked: Vec<String> = dirs
        .iter()
        .map(|d| crate::source::display_path(d))
        .collect();
    Error::invalid(format!("source file `{src}` not found"), &node.span)
        .with_label("not found")
        .with_help(format!("looked in: {}", looked.join(", ")))
}

/// A unified diff of two texts, or `None` when either side is binary.
pub(crate) fn text_diff(before: &[u8], after: &[u8]) -> Option<String> {
    let (Ok(a), Ok(b)) = (std::str::from_utf8(before), std::str::from_utf8(after)) else {
        return None;
    };
    if a.contains('\0') || b.contains('\0') {
        return None;
    }
    let diff = similar::TextDiff::from_lines(a, b);
    let mut out = String::new();
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&hunk.to_string());
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Some(out)
}

fn size(bytes: u64) -> String {
    format!("{bytes} bytes")
}

/// A sensitive content's size and short hash: enough to see that (and how) it changes.
fn fingerprint(bytes: u64, sha256: &str) -> String {
    format!(
        "{bytes} bytes, sensitive, sha256 {}",
        sha256.get(..12).unwrap_or(sha256)
    )
}

/// What a planned file change does.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Write the bytes; `mode` is the final mode (given, kept, or the 0644 default).
    Write { mode: u32 },
    /// Same bytes: only set the managed attributes.
    Attributes,
    /// `state: absent`: remove what is at the path.
    Delete,
}

impl File {
    /// The new content's size as the plan shows it (with a short hash when sensitive).
    fn size(&self) -> String {
        if self.sensitive == Sensitivity::Public {
            size(self.content.len())
        } else {
            fingerprint(self.content.len(), &self.sha256)
        }
    }
}

/// The facts a file asks for: its path, and its `serialize` lock's folder, walked link-safely
/// like the path (the lock is created as whoever writes the file): a lock folder an account
/// swapped for a link is refused at plan time, and after a saved plan makes it stale. Only the
/// lock's reach is asked, not its state: other targets of the node create and take it.
#[derive(Debug)]
pub(crate) struct Asked {
    path: Handle<PathState>,
    lock: Option<Handle<Reach>>,
}

impl Resource for File {
    type Asked = Asked;
    type Decision = Decision;
    const FACT_KINDS: &'static [crate::facts::Registered] = super::walk::DECLARED;

    fn id(&self) -> String {
        self.path.clone()
    }

    fn claims(&self) -> Vec<Claim> {
        vec![Claim::path(&self.path)]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        // A secret file's old content is never read back: its hash says whether it changes.
        // Nor is a file's that is to be removed (it may be an old secret; nothing diffs it).
        let want = if self.sensitive == Sensitivity::Public && !self.absent {
            Want::UnlessSha(self.sha256.clone())
        } else {
            Want::Never
        };
        Asked {
            path: facts.path(&self.path, want),
            lock: self
                .serialize
                .as_ref()
                .map(|lock| facts.ask(Walk::new(lock))),
        }
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        if let (Some(h), Some(lock)) = (asked.lock, &self.serialize) {
            super::refuse_unreached(lock, facts.get(h))?;
        }
        let state = facts.get(asked.path);
        super::refuse_unsafe(&self.path, state)?;
        if self.absent {
            return self.decide_absent(state);
        }
        let new_size = self.content.len();
        let new_bytes = self.content.bytes();
        match state.kind {
            PathKind::Absent => {
                let mut change =
                    Change::new(Action::Create).field(Field::CONTENT, None, Some(self.size()));
                change = self.attrs.create(0o644, change);
                let diff = new_bytes.and_then(|new| text_diff(b"", new));
                change.diff = match self.sensitive {
                    Sensitivity::Public => diff,
                    Sensitivity::Masked => diff.map(|d| crate::secret::scrub(&d).into_owned()),
                    Sensitivity::Hidden => None,
                };
                let mode = self.attrs.mode.unwrap_or(0o644);
                Ok(Some((change, Decision::Write { mode })))
            }
            PathKind::File => {
                let mut change = Change::new(Action::Update);
                let differs = state.sha256.as_deref() != Some(self.sha256.as_str());
                if differs && self.sensitive != Sensitivity::Public {
                    let before = fingerprint(state.size, state.sha256.as_deref().unwrap_or("?"));
                    change = change.field(Field::CONTENT, Some(before), Some(self.size()));
                } else if differs {
                    change =
                        change.field(Field::CONTENT, Some(size(state.size)), Some(size(new_size)));
                    change.diff = state
                        .content
                        .as_deref()
                        .zip(new_bytes)
                        .and_then(|(old, new)| text_diff(old, new));
                }
                change = self.attrs.diff(state, change);
                if change.fields.is_empty() {
                    return Ok(None);
                }
                // A replaced file keeps its current mode unless one is given.
                let decision = if differs {
                    Decision::Write {
                        mode: self.attrs.mode.unwrap_or(state.mode),
                    }
                } else {
                    Decision::Attributes
                };
                Ok(Some((change, decision)))
            }
            other => Err(Problem::new(format!(
                "`{}` exists and is {}, not a regular file",
                self.path,
                other.describe()
            ))),
        }
    }

    fn script(&self, decision: &Decision, out: &mut Script) {
        let mode = match decision {
            Decision::Write { mode } => mode,
            Decision::Attributes => {
                self.attrs.apply_script(&self.path, out);
                return;
            }
            Decision::Delete => {
                if let Some(lock) = &self.serialize {
                    out.fill("_serialize {} || exit 1\n", [p(lock)]);
                }
                // `-d` first: a directory that appeared since the plan is not ours to remove.
                out.fill(
                    "if [ -d {} ] && ! [ -L {} ]; then echo 'a directory is in the way' >&2; exit 1; fi\n_rm {} || exit 1\n",
                    [p(&self.path), p(&self.path), p(&self.path)],
                );
                return;
            }
        };
        if let Body::Artifact(artifact) = &self.content {
            // Checked by hash before use; `_put` then copies its raw bytes.
            out.code("_blob ")
                .artifact_id(artifact)
                .code(" || exit 1\n_raw=1\n");
        }
        if let Some(lock) = &self.serialize {
            out.fill("_serialize {} || exit 1\n", [p(lock)]);
        }
        if self.check.is_some() {
            // Copied and put back inside the folder the walk entered, like the write itself.
            out.fill("_b=$(_backup {}) || exit 1\n", [p(&self.path)]);
        }
        let mut put = Script::new();
        put.fill("_put {}", [p(&self.path)]);
        self.attrs.shell_args(Some(*mode), &mut put);
        if let Some(validate) = &self.validate {
            put.fill(" {}", [w(&validate.replace("%s", "\"$1\""))]);
        }
        match &self.content {
            Body::Inline(bytes) => {
                out.put_content(&put, bytes);
            }
            Body::Artifact(artifact) => {
                // `_put` reads the blob's raw bytes instead of base64 from its input.
                out.script(&put).code(" < ").artifact(artifact).code("\n");
            }
        }
        match &self.check {
            None => {
                out.code("[ $? -eq 0 ] || exit 1\n");
            }
            Some(check) => {
                out.code("[ $? -eq 0 ] || { [ -z \"$_b\" ] || _rm \"$_b\"; exit 1; }\n");
                out.fill(
                    "if ! {} </dev/null; then\n  _restore \"$_b\" {}\n  echo 'check failed; the previous file was restored'\n  exit 1\nfi\n[ -z \"$_b\" ] || _rm \"$_b\"\n",
                    [Piece::Code(&user(check)), p(&self.path)],
                );
            }
        }
    }

    fn predict(&self, decision: &Decision, set: &FactSet, facts: &mut Facts) {
        if matches!(decision, Decision::Delete) {
            facts.predict_path(set, &self.path, &PathState::default());
            return;
        }
        let state = PathState {
            kind: PathKind::File,
            sha256: Some(self.sha256.clone()),
            size: self.content.len(),
            ..PathState::default()
        };
        facts.predict_path(set, &self.path, &state);
    }
}

impl File {
    /// `state: absent`: delete a file, link or special file; a directory is refused.
    fn decide_absent(&self, state: &PathState) -> Result<Option<(Change, Decision)>, Problem> {
        let before = match state.kind {
            PathKind::Absent => return Ok(None),
            PathKind::File => size(state.size),
            PathKind::Link => format!("symlink -> {}", state.target.as_deref().unwrap_or("?")),
            PathKind::Other | PathKind::Unreadable | PathKind::Unsafe => state.kind.describe().to_owned(),
            PathKind::Dir => {
                return Err(Problem::new(format!(
                    "`{}` is a directory; `file: {{ state: absent }}` removes files only (use `directory: {{ state: absent }}`)",
                    self.path
                )))
            }
        };
        let change = Change::new(Action::Delete).field(Field::CONTENT, Some(before), None);
        Ok(Some((change, Decision::Delete)))
    }
}

/// A user's command line as a script (`sh -c WORD`).
fn user(command: &str) -> Script {
    let mut s = Script::new();
    s.user_command(command);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::{decide, script_of};

    fn file(content: &str, mode: Option<u32>) -> File {
        File {
            path: "/etc/app.conf".into(),
            sha256: sha256_hex(content.as_bytes()),
            content: Body::Inline(Arc::new(content.as_bytes().to_vec())),
            attrs: Attrs {
                mode,
                ..Attrs::default()
            },
            validate: None,
            check: None,
            serialize: None,
            absent: false,
            sensitive: Sensitivity::Public,
        }
    }

    fn on_host(content: &str, mode: u32, send_content: bool) -> FactValue {
        FactValue::Path(PathState {
            kind: PathKind::File,
            mode,
            size: content.len() as u64,
            sha256: Some(sha256_hex(content.as_bytes())),
            content: send_content.then(|| content.as_bytes().to_vec()),
            ..PathState::default()
        })
    }

    fn changed(f: &File, host: FactValue) -> (Change, Decision) {
        decide(f, vec![host]).expect("ok").expect("change")
    }

    #[test]
    fn a_serialize_lock_behind_a_link_another_account_controls_is_refused() {
        let f = File {
            serialize: Some("/home/app/locks/conf.lock".into()),
            ..file("a\n", None)
        };
        let behind = FactValue::of::<Walk>(Reach {
            unsafe_link: Some("/home/app/locks".into()),
        });
        let problem =
            decide(&f, vec![FactValue::Path(PathState::default()), behind]).expect_err("refused");
        assert!(
            problem
                .0
                .contains("`/home/app/locks/conf.lock` is behind the link `/home/app/locks`"),
            "{problem:?}"
        );
        let free = FactValue::of::<Walk>(Reach::default());
        assert!(decide(&f, vec![FactValue::Path(PathState::default()), free]).is_ok());
    }

    #[test]
    fn converged_file_has_no_change() {
        assert!(decide(
            &file("a\n", Some(0o644)),
            vec![on_host("a\n", 0o644, false)]
        )
        .expect("ok")
        .is_none());
    }

    #[test]
    fn content_change_carries_a_unified_diff_and_keeps_the_mode() {
        let (change, decision) =
            changed(&file("a\nB\nc\n", None), on_host("a\nb\nc\n", 0o600, true));
        assert_eq!(change.action, Action::Update);
        assert_eq!(change.fields.len(), 1, "mode is not managed");
        assert_eq!(
            change.diff.as_deref(),
            Some("@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n")
        );
        assert!(matches!(decision, Decision::Write { mode: 0o600 }));
    }

    #[test]
    fn mode_only_change() {
        let (change, decision) = changed(&file("a\n", Some(0o640)), on_host("a\n", 0o644, false));
        assert_eq!(change.fields[0].field, Field::MODE);
        assert_eq!(change.diff, None);
        assert!(matches!(decision, Decision::Attributes));
    }

    #[test]
    fn absent_file_is_created_and_directory_is_refused() {
        let absent = FactValue::Path(PathState::default());
        let (change, decision) = changed(&file("x", None), absent);
        assert_eq!(change.action, Action::Create);
        assert!(matches!(decision, Decision::Write { mode: 0o644 }));
        let dir = FactValue::Path(PathState {
            kind: PathKind::Dir,
            ..PathState::default()
        });
        assert!(decide(&file("x", None), vec![dir]).is_err());
    }

    #[test]
    fn a_new_file_is_never_readable_beyond_its_final_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("secret");
        let mut f = file("s3cret\n", Some(0o600));
        f.path = target.to_str().expect("utf8").to_owned();
        let (_, decision) = changed(&f, FactValue::Path(PathState::default()));
        let mut script = Script::of(crate::script::WRITE_FUNCTIONS);
        // Watch every file the write creates: none may ever be group- or world-readable.
        script.code("umask 022\n");
        script.script(&script_of(&f, &decision));
        let out = std::process::Command::new("sh")
            .args(["-c", script.as_str()])
            .output()
            .expect("sh runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta = std::fs::metadata(&target).expect("written");
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
            0o600
        );
        assert_eq!(std::fs::read(&target).expect("read"), b"s3cret\n");
        assert!(WRITE_TEMP_IS_PRIVATE
            .iter()
            .all(|c| crate::script::WRITE_FUNCTIONS.contains(c)));
    }

    /// The temp file of `_put` is created exclusively (`set -C`) under umask 077, or under the
    /// complement of its final mode when that mode has no execute or special bit: never
    /// readable beyond its final mode, until its attributes are set through its descriptor.
    const WRITE_TEMP_IS_PRIVATE: &[&str] = &[
        "_pm=077; _fm=$2",
        "_pm=$((7 - _pa))$((7 - _pb))$((7 - _pc)); _fm=-;;",
        "umask \"$_pm\"; set -C",
        "exec 7>\"$_t\"",
    ];

    #[test]
    fn absent_deletes_files_and_links_and_refuses_directories() {
        let mut f = file("", None);
        f.absent = true;
        assert!(decide(&f, vec![FactValue::Path(PathState::default())])
            .expect("ok")
            .is_none());
        let (change, decision) = changed(&f, on_host("abc", 0o644, false));
        assert_eq!(change.action, Action::Delete);
        assert_eq!(change.fields[0].before.as_deref(), Some("3 bytes"));
        assert!(matches!(decision, Decision::Delete));
        let dir = FactValue::Path(PathState {
            kind: PathKind::Dir,
            ..PathState::default()
        });
        let problem = decide(&f, vec![dir]).expect_err("a directory");
        assert!(problem.0.contains("directory: { state: absent }"));
    }

    #[test]
    fn a_sensitive_file_is_never_read_back_and_shows_only_sizes_and_hashes() {
        let mut f = file("user=app\npassword=Fil3-S3cret\n", Some(0o600));
        f.sensitive = Sensitivity::Masked;
        let mut set = FactSet::default();
        f.ask(&mut set);
        assert!(
            matches!(
                &set.facts[0],
                crate::facts::Fact::Path {
                    content: Want::Never,
                    ..
                }
            ),
            "{:?}",
            set.facts
        );
        let (change, _) = changed(&f, on_host("user=app\npassword=old\n", 0o600, false));
        assert_eq!(change.diff, None);
        let field = &change.fields[0];
        assert!(
            field
                .before
                .as_deref()
                .is_some_and(|b| b.starts_with("22 bytes, sensitive, sha256 ")),
            "{field:?}"
        );
        assert!(
            field
                .after
                .as_deref()
                .is_some_and(|a| a.starts_with("30 bytes, sensitive, sha256 ")),
            "{field:?}"
        );
    }

    #[test]
    fn a_new_sensitive_file_shows_its_text_masked_or_nothing() {
        crate::secret::register("Fil3-S3cret-new");
        let mut f = file("user=app\npassword=Fil3-S3cret-new\n", None);
        f.sensitive = Sensitivity::of(b"user=app\npassword=Fil3-S3cret-new\n", false, false);
        assert_eq!(f.sensitive, Sensitivity::Masked);
        let (change, _) = changed(&f, FactValue::Path(PathState::default()));
        assert_eq!(
            change.diff.as_deref(),
            Some("@@ -0,0 +1,2 @@\n+user=app\n+password=********\n")
        );
        f.sensitive = Sensitivity::Hidden;
        assert_eq!(f.sensitive, Sensitivity::Hidden);
        let (change, _) = changed(&f, FactValue::Path(PathState::default()));
        assert_eq!(change.diff, None);
        assert_eq!(
            Sensitivity::of(b"c2VjcmV0", false, true),
            Sensitivity::Hidden,
            "a transformed secret hides the whole content"
        );
        assert_eq!(Sensitivity::of(b"plain", false, false), Sensitivity::Public);
    }

    #[test]
    fn binary_content_has_no_text_diff() {
        assert_eq!(text_diff(b"\0\x01", b"\0\x02"), None);
    }
}
