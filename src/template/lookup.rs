//! `lookup('password', 'PATH length=N chars=SETS')`: a random secret generated on first use and
//! the same ever after, as Ansible's password lookup, except that the file holding it is an
//! Ansible Vault file (encrypted with this run's vault password), never plaintext. Several hosts
//! (and several recon processes) asking for the same path get the same value; the value is
//! registered as a secret, so everything rendered from it is masked.
//!
//! Also the `secret` filter (`{{ value | secret }}`), which marks any value as secret.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use minijinja::{Error as JError, ErrorKind as JErrorKind, Value as JValue};

/// Ansible's default length.
const DEFAULT_LENGTH: usize = 20;
/// Ansible's default character set: `ascii_letters,digits,.,:-_`.
const DEFAULT_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:-_";
/// Longest password recon generates (a typo like `length=2000000` should not hang a run).
const MAX_LENGTH: usize = 4096;

/// The values read or generated in this process, by resolved path: every host sees one value,
/// and a file is decrypted once per run.
fn cache() -> &'static Mutex<BTreeMap<PathBuf, String>> {
    static CACHE: OnceLock<Mutex<BTreeMap<PathBuf, String>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The `lookup` function: only `password` is known; `base` resolves relative paths (the
/// playbook's folder, as in Ansible).
pub(super) fn lookup(base: &Path, kind: &str, term: &str) -> Result<JValue, JError> {
    if kind != "password" {
        return Err(error(format!(
            "unknown lookup `{kind}` (recon knows `password`)"
        )));
    }
    let request = Request::parse(term)?;
    let path = base.join(&request.path);
    let mut cached = cache().lock().unwrap_or_else(PoisonError::into_inner);
    // What is made from a generated password is secret too (see `taint`).
    super::taint::secret_read();
    if let Some(value) = cached.get(&path) {
        return Ok(JValue::from(value.as_str()));
    }
    let value = read_or_create(&path, &request)?;
    crate::secret::register(&value);
    cached.insert(path, value.clone());
    Ok(JValue::from(value))
}

/// The `secret` filter: returns its value unchanged after registering it as a secret.
pub(super) fn secret_filter(value: JValue) -> JValue {
    super::taint::secret_read();
    if let Some(text) = value.as_str() {
        crate::secret::register(text);
    } else if !value.is_none() && !value.is_undefined() {
        crate::secret::register(&value.to_string());
    }
    value
}

fn error(message: String) -> JError {
    JError::new(JErrorKind::InvalidOperation, message)
}

/// One parsed term: `PATH [length=N] [chars=A,B,...]`.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    path: String,
    length: usize,
    chars: Vec<char>,
}

impl Request {
    fn parse(term: &str) -> Result<Request, JError> {
        let mut words = term.split_whitespace();
        let path = words
            .next()
            .ok_or_else(|| {
                error(
                    "lookup('password') needs a path: 'PATH length=20 chars=ascii_letters,digits'"
                        .to_owned(),
                )
            })?
            .to_owned();
        let mut request = Request {
            path,
            length: DEFAULT_LENGTH,
            chars: DEFAULT_CHARS.chars().collect(),
        };
        for word in words {
            match word.split_once('=') {
                Some(("length", n)) => {
                    request.length = n
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LENGTH).contains(n))
                        .ok_or_else(|| {
                            error(format!(
                                "`length={n}`: expected a number from 1 to {MAX_LENGTH}"
                            ))
                        })?;
                }
                Some(("chars", sets)) => request.chars = charset(sets)?,
                _ => {
                    return Err(error(format!(
                        "lookup('password'): unknown parameter `{word}` (recon knows `length` and `chars`)"
                    )))
                }
            }
        }
        Ok(request)
    }
}

/// `ascii_letters,digits,-_` → the characters, each once. Names are Python's `string` constants;
/// anything else is taken literally; `,,` is a comma (Ansible's rules).
fn charset(spec: &str) -> Result<Vec<char>, JError> {
    let mut parts: Vec<String> = Vec::new();
    if spec.contains(",,") {
        parts.push(",".to_owned());
    }
    parts.extend(
        spec.replace(",,", ",")
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
    );
    let mut chars: Vec<char> = Vec::new();
    for part in &parts {
        let set = match part.as_str() {
            "ascii_letters" | "letters" => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "ascii_lowercase" | "lowercase" => "abcdefghijklmnopqrstuvwxyz",
            "ascii_uppercase" | "uppercase" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "digits" => "0123456789",
            "hexdigits" => "0123456789abcdefABCDEF",
            "octdigits" => "01234567",
            "punctuation" => "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
            literal => literal,
        };
        for c in set.chars() {
            if !chars.contains(&c) {
                chars.push(c);
            }
        }
    }
    if chars.is_empty() {
        return Err(error(format!("`chars={spec}` names no characters")));
    }
    Ok(chars)
}

/// The stored value, or a new one written there first (by whichever process wins the race).
fn read_or_create(path: &Path, request: &Request) -> Result<String, JError> {
    if let Some(value) = read(path)? {
        return Ok(value);
    }
    let value = generate(request)?;
    let sealed = crate::vault::seal(format!("{value}\n").as_bytes()).map_err(|e| {
        error(format!(
            "cannot store the generated password in `{}`: {e}",
            path.display()
        ))
    })?;
    publish(path, sealed.as_bytes())
        .map_err(|e| error(format!("cannot write `{}`: {e}", path.display())))?;
    // Another process may have published first: the file decides.
    read(path)?.ok_or_else(|| {
        error(format!(
            "`{}` vanished after it was written",
            path.display()
        ))
    })
}

/// The value stored at `path`: a vault file (what recon writes) or Ansible's plaintext
/// (`VALUE` or `VALUE salt=...` on the first line). `None` when there is no file.
fn read(path: &Path) -> Result<Option<String>, JError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(error(format!("cannot read `{}`: {e}", path.display()))),
    };
    let plain = if crate::vault::is_vault(&text) {
        crate::vault::open(&text).map_err(|e| error(format!("`{}`: {e}", path.display())))?
    } else {
        text
    };
    let first = plain.lines().next().unwrap_or_default();
    let value = first.split(" salt=").next().unwrap_or_default().to_owned();
    if value.is_empty() {
        return Err(error(format!("`{}` holds no password", path.display())));
    }
    Ok(Some(value))
}

/// `length` characters drawn uniformly from `chars` with the OS's randomness (rejection
/// sampling: no character is likelier than another).
fn generate(request: &Request) -> Result<String, JError> {
    let n =
        u32::try_from(request.chars.len()).map_err(|_| error("too many characters".to_owned()))?;
    let limit = u32::MAX - u32::MAX % n;
    let mut out = String::with_capacity(request.length);
    while out.chars().count() < request.length {
        let mut buf = [0u8; 4];
        getrandom::fill(&mut buf).map_err(|e| error(format!("no randomness: {e}")))?;
        let r = u32::from_le_bytes(buf);
        if r < limit {
            let index = usize::try_from(r % n).unwrap_or(0);
            out.push(request.chars[index]);
        }
    }
    Ok(out)
}

/// Writes `bytes` to `path` unless it exists: a private temp file beside it, linked into place
/// (the link fails when another writer got there first, so nobody's value is overwritten).
fn publish(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)?;
    let linked = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::hard_link(&temp, path));
    let _ = std::fs::remove_file(&temp);
    match linked {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_parse_like_ansible() {
        let r = Request::parse("creds/db length=12 chars=ascii_lowercase,digits").expect("ok");
        assert_eq!(r.path, "creds/db");
        assert_eq!(r.length, 12);
        assert_eq!(r.chars.len(), 36);
        let d = Request::parse("x").expect("ok");
        assert_eq!((d.length, d.chars.len()), (20, 67));
        assert_eq!(charset("digits,,").expect("ok")[0], ',');
        assert!(Request::parse("x length=0").is_err());
        assert!(Request::parse("x seed=1").is_err());
        assert!(Request::parse("").is_err());
    }

    #[test]
    fn generated_values_have_the_length_and_only_the_characters_asked() {
        let r = Request::parse("x length=64 chars=hexdigits").expect("ok");
        let a = generate(&r).expect("random");
        let b = generate(&r).expect("random");
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn publish_never_overwrites_and_ansible_plaintext_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/pw");
        publish(&path, b"first\n").expect("write");
        publish(&path, b"second\n").expect("no error when it exists");
        assert_eq!(std::fs::read(&path).expect("read"), b"first\n");
        let mode = std::fs::metadata(&path).expect("meta");
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
        std::fs::write(&path, "abc123 salt=xyz\n").expect("write");
        assert_eq!(read(&path).expect("read").as_deref(), Some("abc123"));
    }
}
