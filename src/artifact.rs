//! Content-addressed artifacts on the control machine: a release archive or any other large
//! payload is a file named by its SHA-256, never a `Vec<u8>` held by every host's plan. Files a
//! user already has are used in place; process output (`git archive`, `curl`) is spooled into a
//! private cache by streaming. Whoever sends an artifact reads it through
//! [`Artifact::open_verified`], which fails when the bytes no longer match the hash the plan
//! was made from.
//!
//! The cache is `$XDG_CACHE_HOME/recon/blobs` (or `~/.cache/recon/blobs`), mode 0700. Every
//! entry is written under a unique temp name in that directory and renamed into place, so many
//! rayon workers and several recon processes can fill it at once: a reader sees a whole blob or
//! none. An entry is a regular file (spooled or generated content, 0600) or a symlink to a file
//! used in place (so a saved plan can find it again by hash).

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Copy buffer size: large enough that hashing, not syscalls, is the cost.
const CHUNK: usize = 64 * 1024;

/// One immutable payload. Serialized as `sha256` and `size` only: the path is a property of this
/// machine, found again with [`Store::find`] when a saved plan is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Artifact {
    /// Lowercase hex SHA-256 of the content.
    pub(crate) sha256: String,
    /// Content length in bytes.
    pub(crate) size: u64,
    /// Where the content is read from: a blob in the cache or the user's own file.
    #[serde(skip)]
    pub(crate) path: PathBuf,
}

impl Artifact {
    /// Opens the content for streaming. The reader checks size and hash as it goes and fails at
    /// the end (or as soon as the file is too long) when the file changed since it was hashed, so
    /// a consumer must read to EOF and treat an error as "nothing was sent".
    pub(crate) fn open_verified(&self) -> io::Result<VerifiedReader> {
        let file = File::open(&self.path)?;
        let actual = file.metadata()?.len();
        if actual != self.size {
            return Err(changed(
                &self.path,
                &format!("{actual} bytes, not {}", self.size),
            ));
        }
        Ok(VerifiedReader {
            inner: HashingReader::new(BufReader::with_capacity(CHUNK, file)),
            expected: self.clone(),
        })
    }

    /// The whole content, verified (tests compare it with what they stored).
    #[cfg(test)]
    pub(crate) fn read_all(&self) -> io::Result<Vec<u8>> {
        let mut reader = self.open_verified()?;
        let mut out = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0));
        reader.read_to_end(&mut out)?;
        Ok(out)
    }
}

/// The "file changed under us" error, naming the path.
fn changed(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{} changed since it was checked ({why}); run recon again",
            path.display()
        ),
    )
}

/// Streams an artifact's bytes and fails unless they are exactly the hashed ones.
pub(crate) struct VerifiedReader {
    /// The file, hashed as it is read.
    inner: HashingReader<BufReader<File>>,
    /// What the bytes must add up to.
    expected: Artifact,
}

impl Read for VerifiedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let seen = self.inner.len;
        if seen > self.expected.size {
            return Err(changed(&self.expected.path, "it grew"));
        }
        if n == 0 && !buf.is_empty() {
            if seen != self.expected.size {
                return Err(changed(&self.expected.path, "it shrank"));
            }
            if self.inner.hex() != self.expected.sha256 {
                return Err(changed(&self.expected.path, "different content"));
            }
        }
        Ok(n)
    }
}

/// Passes reads through while hashing and counting them: one pass over a file both checks and
/// hashes it.
pub(crate) struct HashingReader<R> {
    /// The source.
    inner: R,
    /// SHA-256 of everything read so far.
    hasher: Sha256,
    /// Bytes read so far.
    len: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`; nothing read yet.
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Reads whatever the consumer left (trailing bytes count too) and returns hash and size.
    pub(crate) fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((self.hex(), self.len))
    }

    /// Hex digest of what was read so far.
    fn hex(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// Lowercase hex of a digest.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Copies `source` into `file` (a fresh temp blob), hashing on the way; returns hash and size.
fn spool(source: impl Read, file: File) -> io::Result<(String, u64)> {
    let mut reader = HashingReader::new(source);
    let mut writer = io::BufWriter::with_capacity(CHUNK, file);
    io::copy(&mut reader, &mut writer)?;
    writer
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()?;
    Ok((reader.hex(), reader.len))
}

/// Why spooling a process's output failed: the caller words the message for its own tool.
#[derive(Debug)]
pub(crate) enum SpoolError {
    /// The program could not be started (not installed?).
    Spawn(io::Error),
    /// Reading its output or writing the cache failed.
    Io(io::Error),
    /// It exited unsuccessfully; its stderr, trimmed.
    Failed { status: ExitStatus, stderr: String },
}

/// The blob cache: one directory, private to the user.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    /// The private folder holding blobs and links named by hash.
    dir: PathBuf,
}

impl Store {
    /// The user's cache: `$XDG_CACHE_HOME/recon/blobs`, else `$HOME/.cache/recon/blobs`.
    pub(crate) fn user() -> io::Result<Self> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .filter(|p| p.is_absolute())
                    .map(|home| home.join(".cache"))
            })
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "neither XDG_CACHE_HOME nor HOME is set: no place for recon's artifact cache",
                )
            })?;
        Self::at(base.join("recon").join("blobs"))
    }

    /// A store in `dir`, created 0700 when missing; an existing `dir` open to others is made
    /// private (or refused when it is not ours to change).
    pub(crate) fn at(dir: PathBuf) -> io::Result<Self> {
        DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        let meta = std::fs::symlink_metadata(&dir)?;
        if !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", dir.display()),
            ));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self { dir })
    }

    /// An existing file, used in place: hashed by streaming it once. It is registered in the
    /// store (a symlink named by its hash) so that [`Store::find`] finds it later.
    pub(crate) fn add_file(&self, path: &Path) -> io::Result<Artifact> {
        Ok(self.add_file_reading(path, |_| Ok(()))?.0)
    }

    /// Like [`Store::add_file`], but `inspect` reads the file first (e.g. to check an archive)
    /// and the hash covers exactly the bytes it saw plus any it left: one pass over the disk,
    /// and the checked content is the hashed content even if the file changes meanwhile.
    pub(crate) fn add_file_reading<T>(
        &self,
        path: &Path,
        inspect: impl FnOnce(&mut dyn Read) -> io::Result<T>,
    ) -> io::Result<(Artifact, T)> {
        let path = std::fs::canonicalize(path)?;
        let file = File::open(&path)?;
        let mut reader = HashingReader::new(BufReader::with_capacity(CHUNK, file));
        let seen = inspect(&mut reader)?;
        let (sha256, size) = reader.finish()?;
        self.register(&path, &sha256, size)?;
        Ok((Artifact { sha256, size, path }, seen))
    }

    /// Small generated content (a rendered file, a script): hashed in memory, written once.
    pub(crate) fn add_bytes(&self, bytes: &[u8]) -> io::Result<Artifact> {
        let sha256 = hex(&Sha256::digest(bytes));
        let size = bytes.len() as u64;
        let blob = self.dir.join(&sha256);
        if std::fs::symlink_metadata(&blob).is_ok_and(|m| m.is_file() && m.len() == size) {
            return Ok(Artifact {
                sha256,
                size,
                path: blob,
            });
        }
        let (mut file, temp) = self.temp_file()?;
        let written = file.write_all(bytes).and_then(|()| file.sync_all());
        self.commit(written, &temp, sha256, size)
    }

    /// Runs `cmd` and spools its stdout into the store by streaming, hashing as it writes. Its
    /// stderr is collected (on a thread, so neither pipe can fill up and stall it) for the error.
    pub(crate) fn add_output(&self, mut cmd: Command) -> Result<Artifact, SpoolError> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(SpoolError::Spawn)?;
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                let _ = pipe.read_to_end(&mut text);
                text
            })
        });
        let (file, temp) = self.temp_file().map_err(SpoolError::Io)?;
        let spooled = match child.stdout.take() {
            Some(stdout) => spool(stdout, file),
            None => Err(io::Error::other("no stdout pipe")),
        };
        // Always reap the child, even when spooling failed (it gets EPIPE and exits).
        let status = child.wait();
        let stderr = stderr
            .and_then(|t| t.join().ok())
            .map(|t| String::from_utf8_lossy(&t).trim().to_owned())
            .unwrap_or_default();
        match (status, spooled) {
            (Ok(status), Ok((sha256, size))) if status.success() => self
                .commit(Ok(()), &temp, sha256, size)
                .map_err(SpoolError::Io),
            (status, spooled) => {
                // Output of a failed run is never committed under a hash.
                let _ = std::fs::remove_file(&temp);
                match status {
                    Ok(status) if !status.success() => Err(SpoolError::Failed { status, stderr }),
                    Ok(_) => Err(SpoolError::Io(
                        spooled
                            .err()
                            .unwrap_or_else(|| io::Error::other("spooling failed")),
                    )),
                    Err(e) => Err(SpoolError::Io(e)),
                }
            }
        }
    }

    /// Renames a fully written temp file to its hash, or removes it when writing failed.
    fn commit(
        &self,
        written: io::Result<()>,
        temp: &Path,
        sha256: String,
        size: u64,
    ) -> io::Result<Artifact> {
        let blob = self.dir.join(&sha256);
        if let Err(e) = written.and_then(|()| std::fs::rename(temp, &blob)) {
            let _ = std::fs::remove_file(temp);
            return Err(e);
        }
        Ok(Artifact {
            sha256,
            size,
            path: blob,
        })
    }

    /// Records that `path` holds content `sha256`: a symlink named by the hash. A blob or a
    /// working link already there is kept (it has the same content); a stale link is replaced.
    fn register(&self, path: &Path, sha256: &str, size: u64) -> io::Result<()> {
        let entry = self.dir.join(sha256);
        match std::os::unix::fs::symlink(path, &entry) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            Err(_) => {}
        }
        if std::fs::metadata(&entry).is_ok_and(|m| m.is_file() && m.len() == size) {
            return Ok(());
        }
        let temp = self.unique_name();
        std::os::unix::fs::symlink(path, &temp)?;
        std::fs::rename(&temp, &entry).inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })
    }

    /// The artifact with this hash, if this machine has it (a blob, or a registered file that
    /// still exists). Its content is checked when it is opened, not here.
    pub(crate) fn find(&self, sha256: &str) -> io::Result<Option<Artifact>> {
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{sha256}` is not a lowercase hex SHA-256"),
            ));
        }
        let entry = self.dir.join(sha256);
        match std::fs::metadata(&entry) {
            Ok(meta) if meta.is_file() => Ok(Some(Artifact {
                sha256: sha256.to_owned(),
                size: meta.len(),
                path: entry,
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A new 0600 file under a name no other writer uses.
    fn temp_file(&self) -> io::Result<(File, PathBuf)> {
        loop {
            let path = self.unique_name();
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => return Ok((file, path)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// `.tmp-PID-COUNTER-NANOS` in the store: unique across threads (counter) and processes
    /// (pid), and not a hash name, so `find` never sees it.
    fn unique_name(&self) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(".tmp-{}-{n}-{nanos}", std::process::id());
        self.dir.join(OsStr::new(&name))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    /// A store in a fresh temp dir (the dir guard must outlive the store).
    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::at(dir.path().join("cache/recon/blobs")).expect("store");
        (dir, store)
    }

    /// SHA-256 of `abc`, from FIPS 180-2.
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn store_is_private_and_blobs_are_0600() {
        let (_dir, store) = store();
        let mode = std::fs::metadata(&store.dir).expect("dir").mode() & 0o777;
        assert_eq!(mode, 0o700);
        let a = store.add_bytes(b"abc").expect("stored");
        assert_eq!(a.sha256, ABC);
        assert_eq!(a.size, 3);
        assert_eq!(a.path, store.dir.join(ABC));
        assert_eq!(
            std::fs::metadata(&a.path).expect("blob").mode() & 0o777,
            0o600
        );
        assert_eq!(a.read_all().expect("reads"), b"abc");
        let again = store.add_bytes(b"abc").expect("stored again");
        assert_eq!(again, a);
        let leftovers: Vec<_> = std::fs::read_dir(&store.dir)
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "no temp files left: {leftovers:?}");
    }

    #[test]
    fn open_store_dir_is_made_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = dir.path().join("blobs");
        std::fs::create_dir(&blobs).expect("mkdir");
        std::fs::set_permissions(&blobs, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        Store::at(blobs.clone()).expect("store");
        assert_eq!(
            std::fs::metadata(&blobs).expect("dir").mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn file_is_used_in_place_and_found_by_hash() {
        let (dir, store) = store();
        let path = dir.path().join("release.tar.gz");
        std::fs::write(&path, b"abc").expect("write");
        let a = store.add_file(&path).expect("hashed");
        assert_eq!(a.sha256, ABC);
        assert_eq!(a.path, std::fs::canonicalize(&path).expect("canonical"));
        let found = store.find(ABC).expect("find").expect("registered");
        assert_eq!((found.sha256.as_str(), found.size), (ABC, 3));
        assert_eq!(found.read_all().expect("reads"), b"abc");
        // Same content from another source: the existing entry stays valid.
        assert_eq!(store.add_bytes(b"abc").expect("blob").sha256, ABC);
        assert_eq!(store.add_file(&path).expect("again"), a);
    }

    #[test]
    fn changed_file_fails_verification() {
        let (dir, store) = store();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").expect("write");
        let a = store.add_file(&path).expect("hashed");
        std::fs::write(&path, b"abd").expect("same size, other bytes");
        let err = a.read_all().expect_err("content changed");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("different content"), "{err}");
        std::fs::write(&path, b"abcd").expect("longer");
        assert!(a.open_verified().is_err(), "size checked at open");
        // A file that grows after it was opened: the reader stops at the recorded size.
        std::fs::write(&path, b"abc").expect("restored");
        let mut reader = a.open_verified().expect("opens");
        std::fs::write(&path, b"abcdef").expect("grows after open");
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).expect_err("grew");
        assert!(err.to_string().contains("it grew"), "{err}");
    }

    #[test]
    fn command_output_is_spooled() {
        let (_dir, store) = store();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "printf abc; printf noise >&2"]);
        let a = store.add_output(cmd).expect("spooled");
        assert_eq!(a.sha256, ABC);
        assert_eq!(a.path, store.dir.join(ABC));
        assert_eq!(std::fs::read(&a.path).expect("blob"), b"abc");
        assert_eq!(store.find(ABC).expect("find"), Some(a));

        // Large output: streamed through a pipe far bigger than its buffer.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "head -c 3000000 /dev/zero"]);
        let big = store.add_output(cmd).expect("spooled");
        assert_eq!(big.size, 3_000_000);
        assert_eq!(big.read_all().expect("verified").len(), 3_000_000);

        let mut cmd = Command::new("sh");
        cmd.args(["-c", "printf partial; echo 'no such ref' >&2; exit 3"]);
        match store.add_output(cmd) {
            Err(SpoolError::Failed { status, stderr }) => {
                assert_eq!(status.code(), Some(3));
                assert_eq!(stderr, "no such ref");
            }
            other => panic!("expected a failure, got {other:?}"),
        }
        let cmd = Command::new("/nonexistent/tool");
        assert!(matches!(store.add_output(cmd), Err(SpoolError::Spawn(_))));
    }

    #[test]
    fn find_refuses_non_hashes_and_misses_cleanly() {
        let (_dir, store) = store();
        assert!(store.find("../../etc/passwd").is_err());
        assert!(store.find(&ABC.to_uppercase()).is_err());
        assert_eq!(store.find(ABC).expect("find"), None);
    }

    #[test]
    fn serialized_artifact_is_hash_and_size_only() {
        let (_dir, store) = store();
        let a = store.add_bytes(b"abc").expect("stored");
        let json = serde_json::to_string(&a).expect("json");
        assert_eq!(json, format!(r#"{{"sha256":"{ABC}","size":3}}"#));
        let back: Artifact = serde_json::from_str(&json).expect("parses");
        let found = store.find(&back.sha256).expect("find").expect("found");
        assert_eq!(found, a);
    }

    #[test]
    fn concurrent_writers_of_one_content_agree() {
        let (_dir, store) = store();
        let data = vec![7u8; 1 << 20];
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let a = store.add_bytes(&data).expect("stored");
                    assert_eq!(a.read_all().expect("whole blob"), data);
                });
            }
        });
        let names: Vec<_> = std::fs::read_dir(&store.dir)
            .expect("list")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "one blob, no temp files: {names:?}");
    }
}
