//! The control-machine side of `release`: where a release's bytes come from (a local tarball, a
//! git reference, a URL) and whether they are safe to unpack. Every member of the archive is
//! checked here, before a single byte reaches a host, so a hostile or broken tarball can never
//! write outside its release folder.
//!
//! No archive is ever whole in memory: a local tarball is checked and hashed in one streaming
//! pass over the file (used in place), and `git archive` or `curl` output is spooled into the
//! artifact store first and checked from there. Only the member list (names and link targets)
//! is kept, for the symlink checks.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use tar::EntryType;

use super::tar_names;
use crate::artifact::{Artifact, SpoolError, Store};
use crate::error::{Error, Result};
use crate::source::{display_path, Span};

/// Where a release comes from (one of these per `release` task).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A local `.tar.gz`/`.tgz` (or plain `.tar`), already found in the search dirs.
    Tarball(PathBuf),
    /// `git archive` of `reference` in the repository at `repo`, run on the control machine.
    Git { repo: PathBuf, reference: String },
    /// `git archive` of `reference` from a remote repository, mirrored on the control machine
    /// into a cache first (host keys verified: see `git_remote`).
    GitUrl { url: String, reference: String },
    /// An `http://` or `https://` URL, fetched once by `curl` on the control machine.
    Url(String),
}

impl Source {
    /// The cache key: one entry per distinct source, so equal sources load once per process.
    fn key(&self) -> String {
        match self {
            Source::Tarball(path) => format!("tarball:{}", path.display()),
            Source::Git { repo, reference } => format!("git:{}\0{reference}", repo.display()),
            Source::GitUrl { url, reference } => format!("giturl:{url}\0{reference}"),
            Source::Url(url) => format!("url:{url}"),
        }
    }

    /// How plans and errors name the release: the tarball's file name, the git ref or the URL.
    fn description(&self) -> String {
        match self {
            Source::Tarball(path) => path.file_name().map_or_else(
                || display_path(path),
                |name| name.to_string_lossy().into_owned(),
            ),
            Source::Git { repo, reference } => {
                format!("git {reference} of {}", display_path(repo))
            }
            Source::GitUrl { url, reference } => format!("git {reference} of {url}"),
            Source::Url(url) => url.clone(),
        }
    }
}

/// A release archive, loaded and checked once on the control machine.
#[derive(Debug)]
pub(crate) struct Archive {
    /// The archive exactly as loaded (gzip-compressed, or a plain tar), shipped to hosts as is:
    /// a file on this machine, streamed when it is sent.
    pub(crate) artifact: Artifact,
    /// The archive is gzip-compressed (the host unpacks with `tar -xz`), else a plain tar.
    pub(crate) gzip: bool,
    /// Hex SHA-256 of the archive (`artifact.sha256`): the release marker that tells "same
    /// version, same content".
    pub(crate) sha256: String,
    /// Regular files in the archive, for the plan line.
    pub(crate) files: usize,
    /// E.g. "digicam-v1.0.1.tar.gz", "git v1.0.1 of /path" or the URL.
    pub(crate) description: String,
    /// Leading path components dropped from every member (`strip_components`), as GNU tar's
    /// `--strip-components` drops them on the host.
    pub(crate) strip: usize,
    /// Every member as unpacked (after stripping): its normal path components and whether it
    /// is a directory, so `release` can refuse an archive that ships a `shared` path.
    pub(crate) entries: Vec<(Vec<OsString>, bool)>,
}

#[cfg(test)]
impl Archive {
    /// The whole archive, verified against its hash (tests compare it with what they built).
    pub(crate) fn read_all(&self) -> io::Result<Vec<u8>> {
        self.artifact.read_all()
    }
}

/// Loaded archives by `Source::key`, so 32 squads deploying one tarball read and check it once.
static CACHE: LazyLock<Mutex<HashMap<String, Arc<Archive>>>> = LazyLock::new(Mutex::default);

/// Loads and checks `source`; `span` is the YAML location of the task's source argument, for
/// errors. The lock is held while loading so that concurrent tasks naming one source wait for the
/// first load instead of repeating it; failures are not cached (the run stops on them anyway).
#[cfg(test)]
pub(crate) fn load(source: &Source, span: &Span) -> Result<Arc<Archive>> {
    load_stripped(source, 0, span)
}

/// [`load`] with `strip` leading components dropped from every member name (a GitHub tag
/// tarball's `project-1.2.0/` folder); the safety checks see the names as the host will unpack
/// them.
pub(crate) fn load_stripped(source: &Source, strip: usize, span: &Span) -> Result<Arc<Archive>> {
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    let key = format!("{}\0strip={strip}", source.key());
    if let Some(archive) = cache.get(&key) {
        return Ok(Arc::clone(archive));
    }
    let archive = Arc::new(load_uncached_stripped(source, strip, span)?);
    cache.insert(key, Arc::clone(&archive));
    Ok(archive)
}

/// Fetches and checks `source` without the cache (tests use it to prove git output is stable).
#[cfg(test)]
fn load_uncached(source: &Source, span: &Span) -> Result<Archive> {
    load_uncached_stripped(source, 0, span)
}

/// [`load_uncached`] with `strip` leading components dropped from every member.
fn load_uncached_stripped(source: &Source, strip: usize, span: &Span) -> Result<Archive> {
    let description = source.description();
    let store = Store::user()
        .map_err(|e| Error::invalid(format!("cannot open recon's artifact cache: {e}"), span))?;
    let (artifact, read) = match source {
        Source::Tarball(path) => {
            File::open(path).map_err(|e| Error::io(path, &e).with_span(span))?;
            store.add_file_reading(path, members)
        }
        Source::Git { .. } | Source::GitUrl { .. } | Source::Url(_) => {
            let artifact = fetch(&store, source, span)?;
            read_members(&artifact).map(|read| (artifact, read))
        }
    }
    .map_err(|e| not_a_tar(&description, &e, span))?;
    let (members, gzip) = read;
    let members = strip_members(members, strip, &description, span)?;
    let files = check(&members, &description, span)?;
    Ok(Archive {
        sha256: artifact.sha256.clone(),
        artifact,
        gzip,
        files,
        description,
        strip,
        entries: members
            .into_iter()
            .map(|m| (m.path, m.kind == EntryType::Directory))
            .collect(),
    })
}

/// The member list of an artifact already in the store, read through the hash check.
fn read_members(artifact: &Artifact) -> io::Result<(Vec<Member>, bool)> {
    let mut reader = artifact.open_verified()?;
    let read = members(&mut reader)?;
    io::copy(&mut reader, &mut io::sink())?;
    Ok(read)
}

/// The error for bytes that are not a (gzipped) tar archive.
fn not_a_tar(description: &str, e: &io::Error, span: &Span) -> Error {
    Error::invalid(
        format!("release archive `{description}` is not a valid (gzipped) tar archive: {e}"),
        span,
    )
}

/// Spools the archive of `source` into the store: `git archive` or `curl` output, or a local
/// tarball registered in place.
fn fetch(store: &Store, source: &Source, span: &Span) -> Result<Artifact> {
    match source {
        Source::Tarball(path) => store
            .add_file(path)
            .map_err(|e| Error::io(path, &e).with_span(span)),
        Source::Git { repo, reference } => {
            // A reference like `--output=/x` would be taken as an option by `git archive`.
            if reference.is_empty() || reference.starts_with('-') {
                return Err(Error::invalid(
                    format!("git reference `{reference}` is not a valid reference"),
                    span,
                )
                .with_help("name a tag, branch or commit, e.g. `v1.0.1`"));
            }
            let mut cmd = Command::new("git");
            cmd.arg("-C")
                .arg(repo)
                .args(["archive", "--format=tar.gz", reference.as_str()]);
            run(store, cmd, "git", &source.description(), span)
        }
        Source::GitUrl { url, reference } => {
            let mirror = super::git_remote::mirror(url, span)?;
            let local = Source::Git {
                repo: mirror,
                reference: reference.clone(),
            };
            fetch(store, &local, span)
        }
        Source::Url(url) => {
            let scheme_ok = ["http://", "https://"].iter().any(|scheme| {
                url.get(..scheme.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
            });
            if !scheme_ok {
                return Err(Error::invalid(
                    format!("release url `{url}` is not an `http://` or `https://` URL"),
                    span,
                )
                .with_label("unsupported scheme"));
            }
            let mut cmd = Command::new("curl");
            // `--globoff`: `[1-3]` or `{a,b}` in a URL is text, not a curl pattern; redirects may
            // not switch to `file://` or other schemes.
            cmd.args([
                "-fsSL",
                "--globoff",
                "--proto",
                "=http,https",
                "--proto-redir",
                "=http,https",
                "--max-time",
                "60",
                url.as_str(),
            ]);
            run(store, cmd, "curl", url, span)
        }
    }
}

/// Runs `cmd` (`git` or `curl`) and spools its stdout; a failure quotes the tool's stderr.
fn run(
    store: &Store,
    cmd: Command,
    tool: &str,
    description: &str,
    span: &Span,
) -> Result<Artifact> {
    match store.add_output(cmd) {
        Ok(artifact) => Ok(artifact),
        Err(SpoolError::Spawn(e)) => Err(Error::invalid(
            format!("cannot run `{tool}` to fetch `{description}`: {e}"),
            span,
        )
        .with_help(format!("`{tool}` must be installed on the control machine"))),
        Err(SpoolError::Io(e)) => Err(Error::invalid(
            format!("cannot store the output of `{tool}` for `{description}`: {e}"),
            span,
        )),
        Err(SpoolError::Failed { status, stderr }) => {
            let why = if stderr.is_empty() {
                status.to_string()
            } else {
                stderr
            };
            Err(Error::invalid(
                format!("`{tool}` failed to fetch release `{description}`: {why}"),
                span,
            )
            .with_label("fetch failed"))
        }
    }
}

/// One member of the archive, as much of it as the safety checks need.
struct Member {
    /// Why its headers are refused (GNU tar could write it under another name).
    problem: Option<String>,
    /// The path as written in the archive, for messages.
    raw: String,
    /// The path's normal components (`.` and `..` dropped); empty for the release root itself.
    path: Vec<OsString>,
    /// The path starts at `/`.
    absolute: bool,
    /// The path has only normal and `.` components: no root, no `..`.
    plain: bool,
    kind: EntryType,
    /// The link target of a symlink or hard link.
    target: Option<PathBuf>,
}

impl Member {
    /// A header refused as a whole (a global header GNU tar would apply to every member).
    fn refused(why: String, kind: EntryType) -> Self {
        Member {
            problem: Some(why),
            raw: String::new(),
            path: Vec::new(),
            absolute: false,
            plain: true,
            kind,
            target: None,
        }
    }
}

/// Walks every member (of a gzip-compressed or plain tar) and refuses anything that could write
/// outside the release folder or create something other than files, directories and links.
/// Returns the number of regular files.
fn check(members: &[Member], description: &str, span: &Span) -> Result<usize> {
    let unsafe_member = |why: String| unsafe_archive(description, &why, span);
    let mut seen: HashSet<&[OsString]> = HashSet::new();
    let mut regular: HashSet<&[OsString]> = HashSet::new();
    let mut symlinks: HashMap<&[OsString], &Path> = HashMap::new();
    if members.is_empty() {
        return Err(Error::invalid(
            format!("release archive `{description}` is empty: it has no members"),
            span,
        )
        .with_label("empty archive"));
    }
    let mut files = 0;
    for m in members {
        if let Some(why) = &m.problem {
            return Err(unsafe_member(why.clone()));
        }
        if let Some(why) = member_path_problem(m) {
            return Err(unsafe_member(why));
        }
        if !seen.insert(&m.path) && m.kind != EntryType::Directory {
            return Err(unsafe_member(format!("member `{}` appears twice", m.raw)));
        }
        match m.kind {
            EntryType::Regular | EntryType::Continuous => {
                files += 1;
                regular.insert(&m.path);
            }
            EntryType::Directory => {}
            EntryType::Symlink => {
                let target = m.target.as_deref().unwrap_or_else(|| Path::new(""));
                if target.has_root() {
                    return Err(unsafe_member(format!(
                        "symlink `{}` points to absolute path `{}`",
                        m.raw,
                        target.display()
                    )));
                }
                symlinks.insert(&m.path, target);
            }
            EntryType::Link => {
                let target = m.target.as_deref().unwrap_or_else(|| Path::new(""));
                let shown = target.display();
                if target.has_root() {
                    return Err(unsafe_member(format!(
                        "hard link `{}` points to absolute path `{shown}`",
                        m.raw
                    )));
                }
                let Some(normal) = normal_components(target) else {
                    return Err(unsafe_member(format!(
                        "hard link `{}` -> `{shown}` escapes the release directory",
                        m.raw
                    )));
                };
                // A target that is not an earlier file would link to whatever the host has there.
                if !regular.contains(normal.as_slice()) {
                    return Err(unsafe_member(format!(
                        "hard link `{}` -> `{shown}` does not name an earlier file of the archive",
                        m.raw
                    )));
                }
            }
            other => {
                return Err(unsafe_member(format!(
                    "member `{}` is {}; only files, directories and links are allowed",
                    m.raw,
                    type_name(other)
                )));
            }
        }
    }
    if let Some(why) = through_symlinks(members, &symlinks) {
        return Err(unsafe_member(why));
    }
    Ok(files)
}

/// Second pass over the members, once every symlink is known: nothing may be written through a
/// symlink, and no symlink may lead out of the release, even by way of other symlinks.
fn through_symlinks(members: &[Member], symlinks: &HashMap<&[OsString], &Path>) -> Option<String> {
    for m in members {
        for end in 1..m.path.len() {
            if symlinks.contains_key(&m.path[..end]) {
                return Some(format!(
                    "member `{}` is inside symlink `{}`",
                    m.raw,
                    join(&m.path[..end])
                ));
            }
        }
        if m.kind == EntryType::Symlink {
            let target = m.target.as_deref().unwrap_or_else(|| Path::new(""));
            let dir = &m.path[..m.path.len().saturating_sub(1)];
            let mut hops = 0;
            if let Err(escape) = resolve(dir, target, symlinks, false, &mut hops) {
                let why = match escape {
                    Escape::Outside => "escapes the release directory",
                    Escape::Absolute => "leads through a symlink to an absolute path",
                    Escape::Loop => "is part of a symlink loop",
                };
                return Some(format!(
                    "symlink `{}` -> `{}` {why}",
                    m.raw,
                    target.display()
                ));
            }
        }
    }
    None
}

/// Streams the member list of a tar out of `input`, gunzipping first when it starts with the gzip
/// magic (also returned: the host must then unpack with `-z`). File contents are read and
/// dropped, never kept. Every gzip stream is read, as `gzip -d` on the host would: a hostile
/// member hidden in a second, concatenated stream must be seen too. Extension headers (GNU long
/// names, pax) are folded into their member by the `tar` crate.
fn members(input: &mut dyn Read) -> io::Result<(Vec<Member>, bool)> {
    let mut input = BufReader::new(input);
    let gzip = input.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read + '_> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(input))
    } else {
        Box::new(input)
    };
    let mut archive = tar::Archive::new(reader);
    let mut members = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        // A pax global header (git archive writes one with the commit id) is metadata, not a
        // file, as long as it carries nothing GNU tar would apply to the members.
        if kind == EntryType::XGlobalHeader {
            if let Some(why) = tar_names::global_problem(&mut entry)? {
                members.push(Member::refused(why, kind));
            }
            continue;
        }
        let problem = tar_names::member_problem(&mut entry)?;
        let raw_path = entry.path()?;
        let target = entry.link_name()?.map(std::borrow::Cow::into_owned);
        members.push(Member {
            problem,
            raw: raw_path.display().to_string(),
            absolute: raw_path.has_root(),
            plain: raw_path
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir)),
            path: raw_path
                .components()
                .filter_map(|c| match c {
                    Component::Normal(name) => Some(name.to_os_string()),
                    _ => None,
                })
                .collect(),
            kind,
            target,
        });
    }
    tar_names::expect_only_padding(&mut archive.into_inner())?;
    Ok((members, gzip))
}

/// Drops `n` leading components from every member, exactly as GNU tar's `--strip-components`
/// does on the host: every `/`-separated segment counts (`.` too), members with no more than
/// `n` segments are skipped, and so are hard links whose target has none left (tar strips hard
/// link targets too; symlink targets are kept as written). The raw names are checked first (an
/// absolute or climbing name is refused even when the part that climbs would be stripped), then
/// `check` sees the names the host will write.
fn strip_members(
    members: Vec<Member>,
    n: usize,
    description: &str,
    span: &Span,
) -> Result<Vec<Member>> {
    if n == 0 {
        return Ok(members);
    }
    let stripped = |text: &str| -> Option<PathBuf> {
        let segments: Vec<&str> = text.split('/').filter(|s| !s.is_empty()).collect();
        (segments.len() > n).then(|| segments[n..].iter().collect())
    };
    let mut out = Vec::new();
    for mut m in members {
        if let Some(why) = member_path_problem(&m) {
            return Err(unsafe_archive(description, &why, span));
        }
        let Some(rest) = stripped(&m.raw) else {
            continue;
        };
        if m.kind == EntryType::Link {
            let target = m
                .target
                .as_deref()
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            match stripped(&target) {
                Some(t) => m.target = Some(t),
                None => continue,
            }
        }
        m.plain = rest
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        m.absolute = rest.has_root();
        m.path = rest
            .components()
            .filter_map(|c| match c {
                Component::Normal(name) => Some(name.to_os_string()),
                _ => None,
            })
            .collect();
        out.push(m);
    }
    Ok(out)
}

/// The error for an archive with a member recon will not unpack, located at the task.
fn unsafe_archive(description: &str, why: &str, span: &Span) -> Error {
    Error::invalid(
        format!("release archive `{description}` is unsafe: {why}"),
        span,
    )
    .with_label("unsafe archive")
}

/// Why a member's own path is unsafe: absolute, climbing with `..`, or empty for a non-directory.
fn member_path_problem(m: &Member) -> Option<String> {
    if m.absolute {
        return Some(format!("member `{}` has an absolute path", m.raw));
    }
    if !m.plain {
        return Some(format!("member `{}` escapes the release directory", m.raw));
    }
    if m.path.is_empty() && m.kind != EntryType::Directory {
        return Some(format!("member `{}` has an empty path", m.raw));
    }
    None
}

/// The normal components of a relative path without `..`; `None` when it has `..` or a root.
fn normal_components(path: &Path) -> Option<Vec<OsString>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(name) => out.push(name.to_os_string()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Why a symlink target is refused.
#[derive(Debug)]
enum Escape {
    /// The walk climbed above the release root.
    Outside,
    /// A symlink on the way points to an absolute path.
    Absolute,
    /// More hops than a kernel would follow (40): a loop.
    Loop,
}

/// Resolves `target` as the kernel would from directory `dir` inside the release, following the
/// archive's own symlinks on the way (and the last component too when `follow_last`), and fails
/// when the walk leaves the release root. `hops` counts followed links across the whole walk.
fn resolve(
    dir: &[OsString],
    target: &Path,
    symlinks: &HashMap<&[OsString], &Path>,
    follow_last: bool,
    hops: &mut usize,
) -> Result<Vec<OsString>, Escape> {
    const MAX_HOPS: usize = 40;
    let mut at = dir.to_vec();
    let components: Vec<Component<'_>> = target.components().collect();
    for (i, c) in components.iter().enumerate() {
        match c {
            Component::RootDir | Component::Prefix(_) => return Err(Escape::Absolute),
            Component::CurDir => {}
            Component::ParentDir => {
                if at.pop().is_none() {
                    return Err(Escape::Outside);
                }
            }
            Component::Normal(name) => {
                at.push(name.to_os_string());
                let last = i + 1 == components.len();
                if let Some(next) = symlinks.get(at.as_slice()).filter(|_| follow_last || !last) {
                    *hops += 1;
                    if *hops > MAX_HOPS {
                        return Err(Escape::Loop);
                    }
                    at.pop();
                    at = resolve(&at, next, symlinks, true, hops)?;
                }
            }
        }
    }
    Ok(at)
}

/// Path components joined with `/`, for messages.
fn join(components: &[OsString]) -> String {
    components
        .iter()
        .map(|c| c.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A refused entry type in words.
fn type_name(kind: EntryType) -> String {
    match kind {
        EntryType::Char => "a character device".to_owned(),
        EntryType::Block => "a block device".to_owned(),
        EntryType::Fifo => "a fifo".to_owned(),
        EntryType::GNUSparse => "a sparse file".to_owned(),
        other => format!("an entry of type `{}`", char::from(other.as_byte())),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use tar::{Builder, Header};

    use super::*;
    use crate::facts::sha256_hex;
    use crate::source::SourceFile;

    /// A span standing for the task's `src:` argument.
    fn span() -> Span {
        Span {
            file: SourceFile::new("play.yml", "src: app.tar.gz\n"),
            start: 5,
            end: 15,
        }
    }

    /// One member to put in a test tarball.
    enum M<'a> {
        Dir(&'a str),
        File(&'a str, &'a [u8]),
        Symlink(&'a str, &'a str),
        HardLink(&'a str, &'a str),
        /// A header of any type, name and link written as raw bytes (no safety checks).
        Raw(&'a str, EntryType, &'a str),
    }

    /// A plain tar holding `members` in order.
    fn tar(members: &[M<'_>]) -> Vec<u8> {
        let mut b = Builder::new(Vec::new());
        for m in members {
            let mut h = Header::new_gnu();
            h.set_mode(0o644);
            h.set_mtime(1);
            h.set_size(0);
            match *m {
                M::Dir(path) => {
                    h.set_entry_type(EntryType::Directory);
                    h.set_mode(0o755);
                    b.append_data(&mut h, path, std::io::empty())
                }
                M::File(path, data) => {
                    h.set_size(data.len() as u64);
                    b.append_data(&mut h, path, data)
                }
                M::Symlink(path, target) => {
                    h.set_entry_type(EntryType::Symlink);
                    b.append_link(&mut h, path, target)
                }
                M::HardLink(path, target) => {
                    h.set_entry_type(EntryType::Link);
                    b.append_link(&mut h, path, target)
                }
                M::Raw(path, kind, link) => {
                    h.set_entry_type(kind);
                    h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
                    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
                    h.set_cksum();
                    b.append(&h, std::io::empty())
                }
            }
            .expect("writing to a Vec cannot fail");
        }
        b.into_inner().expect("writing to a Vec cannot fail")
    }

    /// `bytes` as one gzip stream.
    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).expect("writing to a Vec cannot fail");
        gz.finish().expect("writing to a Vec cannot fail")
    }

    /// Writes `bytes` as `name` in a fresh temp dir and loads it as a tarball.
    fn load_bytes(name: &str, bytes: &[u8]) -> (tempfile::TempDir, Result<Arc<Archive>>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write tarball");
        let result = load(&Source::Tarball(path), &span());
        (dir, result)
    }

    /// Loads `members` (gzipped) and returns the refusal message.
    fn refused(members: &[M<'_>]) -> String {
        let (_dir, result) = load_bytes("bad.tar.gz", &gzip(&tar(members)));
        let err = result.expect_err("hostile archive must be refused");
        assert!(err.span().is_some(), "error points at the task");
        let message = err.to_string();
        assert!(
            message.starts_with("release archive `bad.tar.gz` is unsafe: "),
            "{message}"
        );
        message
    }

    #[test]
    fn good_archive_loads_with_checksum_and_file_count() {
        let bytes = gzip(&tar(&[
            M::Dir("./"),
            M::Dir("bin/"),
            M::File("bin/app", b"#!/bin/sh\n"),
            M::File("./README", b"hi\n"),
            M::Symlink("current", "bin"),
            M::Symlink("bin/readme", "../README"),
            M::Symlink("bin/self", "../current/app"),
            M::HardLink("bin/app2", "bin/app"),
        ]));
        let (dir, result) = load_bytes("digicam-v1.0.1.tar.gz", &bytes);
        let archive = result.expect("good archive loads");
        assert_eq!(archive.sha256, sha256_hex(&bytes));
        assert_eq!(archive.artifact.sha256, archive.sha256);
        assert_eq!(archive.artifact.size, bytes.len() as u64);
        assert!(archive.gzip);
        assert_eq!(archive.read_all().expect("verified"), bytes);
        assert_eq!(
            archive.artifact.path,
            std::fs::canonicalize(dir.path().join("digicam-v1.0.1.tar.gz")).expect("exists"),
            "a local tarball is used in place, not copied"
        );
        assert_eq!(archive.files, 2);
        assert_eq!(archive.description, "digicam-v1.0.1.tar.gz");
        let again = load(
            &Source::Tarball(dir.path().join("digicam-v1.0.1.tar.gz")),
            &span(),
        )
        .expect("cached");
        assert!(Arc::ptr_eq(&archive, &again), "second load hits the cache");
    }

    #[test]
    fn tarball_changed_after_the_check_is_refused_when_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("app.tar");
        std::fs::write(&path, tar(&[M::File("a", b"1")])).expect("write");
        let archive = load_uncached(&Source::Tarball(path.clone()), &span()).expect("loads");
        // A hostile member swapped in after the check must not reach a host.
        std::fs::write(&path, tar(&[M::Raw("/a", EntryType::Regular, "")])).expect("swap");
        let err = archive.read_all().expect_err("changed content refused");
        assert!(
            err.to_string().contains("changed since it was checked"),
            "{err}"
        );
    }

    #[test]
    fn plain_tar_is_accepted() {
        let bytes = tar(&[M::File("a", b"1"), M::File("b/c", b"2")]);
        let (_dir, result) = load_bytes("app.tar", &bytes);
        let archive = result.expect("plain tar loads");
        assert_eq!(archive.files, 2);
        assert_eq!(archive.sha256, sha256_hex(&bytes));
        assert!(!archive.gzip);
    }

    #[test]
    fn absolute_member_is_refused() {
        let m = refused(&[M::Raw("/etc/passwd", EntryType::Regular, "")]);
        assert!(
            m.contains("member `/etc/passwd` has an absolute path"),
            "{m}"
        );
    }

    #[test]
    fn parent_member_is_refused() {
        let m = refused(&[
            M::File("ok", b""),
            M::Raw("../etc/passwd", EntryType::Regular, ""),
        ]);
        assert!(
            m.contains("member `../etc/passwd` escapes the release directory"),
            "{m}"
        );
    }

    #[test]
    fn symlink_to_absolute_path_is_refused() {
        let m = refused(&[M::Raw("etc", EntryType::Symlink, "/etc")]);
        assert!(
            m.contains("symlink `etc` points to absolute path `/etc`"),
            "{m}"
        );
    }

    #[test]
    fn escaping_symlink_is_refused() {
        let m = refused(&[M::Dir("a"), M::Raw("a/b", EntryType::Symlink, "../../x")]);
        assert!(
            m.contains("symlink `a/b` -> `../../x` escapes the release directory"),
            "{m}"
        );
    }

    #[test]
    fn symlink_escaping_through_another_symlink_is_refused() {
        // `a/up -> ..` is the root itself; `b -> a/up/..` looks like `a` but is the parent of
        // the release once `a/up` is followed.
        let m = refused(&[
            M::Raw("a/up", EntryType::Symlink, ".."),
            M::Raw("b", EntryType::Symlink, "a/up/.."),
        ]);
        assert!(m.contains("symlink `b` -> `a/up/..` escapes"), "{m}");
    }

    #[test]
    fn symlink_loop_is_refused() {
        let m = refused(&[
            M::Raw("a", EntryType::Symlink, "b"),
            M::Raw("b", EntryType::Symlink, "a"),
            M::Raw("c", EntryType::Symlink, "a/x"),
        ]);
        assert!(
            m.contains("symlink `c` -> `a/x` is part of a symlink loop"),
            "{m}"
        );
    }

    #[test]
    fn member_inside_symlink_is_refused() {
        let m = refused(&[
            M::Dir("data"),
            M::Symlink("lib", "data"),
            M::File("lib/evil", b"x"),
        ]);
        assert!(
            m.contains("member `lib/evil` is inside symlink `lib`"),
            "{m}"
        );
    }

    #[test]
    fn escaping_hard_link_is_refused() {
        let m = refused(&[M::Raw("h", EntryType::Link, "../x")]);
        assert!(
            m.contains("hard link `h` -> `../x` escapes the release directory"),
            "{m}"
        );
        let m = refused(&[M::Raw("h", EntryType::Link, "/etc/shadow")]);
        assert!(
            m.contains("hard link `h` points to absolute path `/etc/shadow`"),
            "{m}"
        );
        let m = refused(&[M::Raw("h", EntryType::Link, "etc/shadow")]);
        assert!(
            m.contains("hard link `h` -> `etc/shadow` does not name an earlier file"),
            "{m}"
        );
    }

    #[test]
    fn special_files_are_refused() {
        let m = refused(&[M::Raw("pipe", EntryType::Fifo, "")]);
        assert!(m.contains("member `pipe` is a fifo"), "{m}");
        let m = refused(&[M::File("a", b""), M::Raw("dev/null", EntryType::Char, "")]);
        assert!(m.contains("member `dev/null` is a character device"), "{m}");
        let m = refused(&[M::Raw("sda", EntryType::Block, "")]);
        assert!(m.contains("member `sda` is a block device"), "{m}");
    }

    #[test]
    fn member_in_second_gzip_stream_is_seen() {
        // `gzip -d` on the host decompresses concatenated streams as one: tar's end-of-archive
        // blocks are stripped from the first part so the second part's members follow.
        let first = tar(&[M::File("ok", b"1")]);
        let end = first.len() - 1024;
        let mut bytes = gzip(&first[..end]);
        bytes.extend(gzip(&tar(&[M::Raw("../evil", EntryType::Regular, "")])));
        let (_dir, result) = load_bytes("bad.tar.gz", &bytes);
        let message = result.expect_err("hidden member refused").to_string();
        assert!(message.contains("member `../evil` escapes"), "{message}");
    }

    #[test]
    fn duplicate_member_is_refused() {
        let m = refused(&[M::File("x", b"1"), M::Symlink("x", "y")]);
        assert!(m.contains("member `x` appears twice"), "{m}");
    }

    #[test]
    fn garbage_is_not_an_archive() {
        let (_dir, result) = load_bytes("junk.tar.gz", &gzip(b"not a tar at all"));
        let message = result.expect_err("garbage refused").to_string();
        assert!(
            message.contains("is not a valid (gzipped) tar archive"),
            "{message}"
        );
    }

    #[test]
    fn git_reference_loads_deterministically() {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = dir.path();
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .arg("-C")
                .arg(repo)
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
                .args(args)
                .output()
                .expect("git runs");
            assert!(out.status.success(), "git {args:?}: {out:?}");
        };
        git(&["init", "-q"]);
        std::fs::create_dir(repo.join("bin")).expect("mkdir");
        std::fs::write(repo.join("bin/app"), "echo hi\n").expect("write");
        git(&["add", "."]);
        git(&["commit", "-q", "-m", "first"]);
        git(&["tag", "v1"]);
        let source = Source::Git {
            repo: repo.to_path_buf(),
            reference: "v1".to_owned(),
        };
        let first = load_uncached(&source, &span()).expect("git archive loads");
        let second = load_uncached(&source, &span()).expect("git archive loads again");
        assert_eq!(first.sha256, second.sha256, "git archive is deterministic");
        assert_eq!(first.artifact, second.artifact);
        assert!(first.gzip);
        assert_eq!(first.files, 1);
        assert!(
            first.description.starts_with("git v1 of "),
            "{}",
            first.description
        );
        let names: Vec<String> = read_members(&first.artifact)
            .expect("readable")
            .0
            .into_iter()
            .filter(|m| m.kind == EntryType::Regular)
            .map(|m| m.raw)
            .collect();
        assert_eq!(names, ["bin/app"]);
        let cached = load(&source, &span()).expect("loads");
        assert!(Arc::ptr_eq(
            &cached,
            &load(&source, &span()).expect("loads")
        ));
        assert_eq!(cached.sha256, first.sha256);

        let missing = Source::Git {
            repo: repo.to_path_buf(),
            reference: "v9".to_owned(),
        };
        let message = load(&missing, &span())
            .expect_err("no such ref")
            .to_string();
        assert!(
            message.starts_with("`git` failed to fetch release `git v9 of "),
            "{message}"
        );
        let option = Source::Git {
            repo: repo.to_path_buf(),
            reference: "--output=/tmp/x".to_owned(),
        };
        let message = load(&option, &span())
            .expect_err("option refused")
            .to_string();
        assert!(message.contains("is not a valid reference"), "{message}");
    }

    #[test]
    fn url_is_fetched_by_curl_into_the_store() {
        use std::io::{BufRead as _, Write as _};
        let body = gzip(&tar(&[M::File("bin/app", b"#!/bin/sh\n")]));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let response = body.clone();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("curl connects");
            let mut reader = io::BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                response.len()
            )
            .and_then(|()| stream.write_all(&response))
            .expect("respond");
        });
        let url = format!("http://127.0.0.1:{port}/app-[1].tar.gz");
        let archive = load_uncached(&Source::Url(url.clone()), &span()).expect("fetched");
        server.join().expect("server thread");
        assert_eq!(archive.sha256, sha256_hex(&body));
        assert_eq!(archive.files, 1);
        assert_eq!(archive.description, url);
        assert!(
            archive
                .artifact
                .path
                .ends_with(format!("recon/blobs/{}", archive.sha256)),
            "spooled into the store: {}",
            archive.artifact.path.display()
        );
        assert_eq!(archive.read_all().expect("verified"), body);
    }

    #[test]
    fn unsupported_url_scheme_is_refused() {
        let source = Source::Url("ftp://example.com/app.tar.gz".to_owned());
        let message = load(&source, &span()).expect_err("ftp refused").to_string();
        assert_eq!(
            message,
            "release url `ftp://example.com/app.tar.gz` is not an `http://` or `https://` URL"
        );
        let source = Source::Url("file:///etc/passwd".to_owned());
        assert!(load(&source, &span()).is_err());
    }

    /// Loads `members` (gzipped) with `strip` components dropped.
    fn load_strip(members: &[M<'_>], strip: usize) -> (tempfile::TempDir, Result<Arc<Archive>>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("gh.tar.gz");
        std::fs::write(&path, gzip(&tar(members))).expect("write tarball");
        let result = load_stripped(&Source::Tarball(path), strip, &span());
        (dir, result)
    }

    fn entry_names(archive: &Archive) -> Vec<String> {
        archive.entries.iter().map(|(p, _)| join(p)).collect()
    }

    #[test]
    fn github_style_archive_loses_its_top_folder() {
        let members = [
            M::Dir("app-1.2.0/"),
            M::Dir("app-1.2.0/bin/"),
            M::File("app-1.2.0/bin/app", b"#!/bin/sh\n"),
            M::HardLink("app-1.2.0/bin/app2", "app-1.2.0/bin/app"),
            M::Symlink("app-1.2.0/run", "bin/app"),
        ];
        let (_dir, result) = load_strip(&members, 1);
        let archive = result.expect("loads stripped");
        assert_eq!(archive.strip, 1);
        assert_eq!(archive.files, 1);
        assert_eq!(
            entry_names(&archive),
            ["bin", "bin/app", "bin/app2", "run"],
            "the top folder itself is dropped, as tar drops it"
        );
    }

    #[test]
    fn every_segment_counts_when_stripping_as_in_gnu_tar() {
        // GNU tar counts `.` as a component: `./app/x` stripped once is `app/x`.
        let (_dir, result) = load_strip(&[M::Raw("./app/x", EntryType::Regular, "")], 1);
        assert_eq!(entry_names(&result.expect("loads")), ["app/x"]);
    }

    #[test]
    fn safety_checks_see_the_stripped_names() {
        // Unstripped, `top/a -> ../x` stays inside; stripped it is `a -> ../x`, outside.
        let members = [M::Dir("top"), M::Raw("top/a", EntryType::Symlink, "../x")];
        let (_dir, result) = load_strip(&members, 0);
        result.expect("inside the release when not stripped");
        let (_dir, result) = load_strip(&members, 1);
        let message = result.expect_err("escapes once stripped").to_string();
        assert!(
            message.contains("escapes the release directory"),
            "{message}"
        );
        // Stripping never hides a climbing name: it is refused as written.
        let (_dir, result) = load_strip(&[M::Raw("x/../../etc/passwd", EntryType::Regular, "")], 1);
        let message = result.expect_err("refused as written").to_string();
        assert!(
            message.contains("escapes the release directory"),
            "{message}"
        );
    }
}
