//! The Ansible Vault format, byte for byte what `ansible-vault` writes and reads
//! (ansible `lib/ansible/parsing/vault/__init__.py`, cipher `VaultAES256`).
//!
//! ```text
//! $ANSIBLE_VAULT;1.1;AES256            (1.2 adds ";label")
//! hex( hex(salt) "\n" hex(hmac) "\n" hex(ciphertext) )   in lines of 80 characters
//! ```
//!
//! PBKDF2-HMAC-SHA256 (10 000 rounds, 32-byte random salt) derives 80 bytes: the AES-256 key,
//! the HMAC-SHA256 key and the 16-byte initial CTR counter. The plaintext is PKCS#7-padded to
//! AES's block size, encrypted with AES-256-CTR, and the HMAC covers the ciphertext. All
//! primitives come from RustCrypto; nothing here is hand-rolled but the framing.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What starts every vault text; `ansible-vault` decides "encrypted or not" on this alone.
pub(crate) const HEADER: &str = "$ANSIBLE_VAULT";
/// The only cipher Ansible writes or reads today.
const CIPHER: &str = "AES256";
/// Fixed by the format.
const ROUNDS: u32 = 10_000;
/// AES's block size, for PKCS#7.
const BLOCK: usize = 16;
/// Ansible's label for secrets that were given without one; never written into a 1.2 header.
pub(crate) const DEFAULT_LABEL: &str = "default";

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type HmacSha256 = Hmac<Sha256>;

/// Why a vault text could not be opened or written, or a password not read; the caller adds
/// where it came from. Cases apart because the keyring tries the next password on
/// `WrongPassword` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VaultError {
    /// Not a well-formed vault text (header, hex, framing or padding).
    Format(String),
    /// The HMAC did not match: the password is wrong (or the data was altered).
    WrongPassword,
    /// Vault data to open, but no password at all.
    NoPasswordToOpen,
    /// Every password given was tried; none fits. `wanted` is the header's vault id.
    NoneFits {
        wanted: Option<String>,
        labels: Vec<String>,
    },
    /// A password could not be read (file, script or prompt); the message says which and why.
    Password(String),
    /// No password to encrypt with; the message says how to give one.
    NoPasswordToSeal(String),
    /// Encrypting needs one password, and the ones given do not name it.
    WhichPassword(String),
    /// The decrypted data was to be text but is not UTF-8.
    NotText,
    /// The system gave no randomness for the salt.
    NoRandomness(String),
}

impl std::fmt::Display for VaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Format(m) => write!(f, "malformed vault data: {m}"),
            Self::WrongPassword => f.write_str("wrong vault password (HMAC check failed)"),
            Self::NoPasswordToOpen => f.write_str(
                "vault-encrypted data, but no vault password was given (use \
                 --vault-password-file FILE, --vault-id LABEL@FILE or RECON_VAULT_PASSWORD_FILE)",
            ),
            Self::NoneFits { wanted, labels } => write!(
                f,
                "wrong vault password{}: none of the passwords given fits (tried vault ids: {})",
                wanted
                    .as_ref()
                    .map(|l| format!(" for vault id `{l}`"))
                    .unwrap_or_default(),
                labels.join(", ")
            ),
            Self::Password(m) | Self::NoPasswordToSeal(m) | Self::WhichPassword(m) => {
                f.write_str(m)
            }
            Self::NotText => f.write_str("the decrypted data is not UTF-8 text"),
            Self::NoRandomness(e) => write!(f, "no randomness for the salt: {e}"),
        }
    }
}

impl std::error::Error for VaultError {}

/// A parsed envelope: the header's facts and the still-encrypted body.
#[derive(Debug)]
pub(crate) struct Envelope {
    /// The vault id of a 1.2 header, used to try the matching password first.
    pub(crate) label: Option<String>,
    /// The hex body with line breaks removed.
    body: String,
}

/// Whether `text` is vault data (after leading whitespace, as inline `!vault |` values may have).
pub(crate) fn is_vault(text: &str) -> bool {
    text.trim_start().starts_with(HEADER)
}

/// Splits a vault text into header facts and body.
pub(crate) fn parse(text: &str) -> Result<Envelope, VaultError> {
    let mut lines = text.trim().lines();
    let header = lines.next().unwrap_or_default().trim();
    let parts: Vec<&str> = header.split(';').map(str::trim).collect();
    if parts.first() != Some(&HEADER) || parts.len() < 3 {
        return Err(VaultError::Format(format!(
            "expected a header like `{HEADER};1.1;{CIPHER}`"
        )));
    }
    if parts[2] != CIPHER {
        return Err(VaultError::Format(format!(
            "unsupported cipher `{}` (only {CIPHER})",
            parts[2]
        )));
    }
    if !matches!(parts[1], "1.1" | "1.2") {
        return Err(VaultError::Format(format!(
            "unsupported format version `{}`",
            parts[1]
        )));
    }
    let body: String = lines.map(str::trim).collect();
    Ok(Envelope {
        label: parts.get(3).map(|l| (*l).to_owned()),
        body,
    })
}

/// The three derived secrets of one (password, salt) pair.
struct Keys {
    cipher: [u8; 32],
    mac: [u8; 32],
    iv: [u8; 16],
}

fn derive(password: &[u8], salt: &[u8]) -> Keys {
    let mut out = [0u8; 80];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, &mut out);
    let mut keys = Keys {
        cipher: [0; 32],
        mac: [0; 32],
        iv: [0; 16],
    };
    keys.cipher.copy_from_slice(&out[..32]);
    keys.mac.copy_from_slice(&out[32..64]);
    keys.iv.copy_from_slice(&out[64..]);
    keys
}

fn unhex(text: &[u8], what: &str) -> Result<Vec<u8>, VaultError> {
    hex::decode(text).map_err(|e| VaultError::Format(format!("{what}: {e}")))
}

impl Envelope {
    /// Decrypts the body with `password`, verifying the HMAC (in constant time) first.
    pub(crate) fn decrypt(&self, password: &[u8]) -> Result<Vec<u8>, VaultError> {
        let inner = unhex(self.body.as_bytes(), "body")?;
        let mut parts = inner.splitn(3, |b| *b == b'\n');
        let (Some(salt), Some(mac), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(VaultError::Format(
                "body must hold salt, HMAC and ciphertext".into(),
            ));
        };
        let salt = unhex(salt, "salt")?;
        let mac = unhex(mac, "HMAC")?;
        let mut data = unhex(data, "ciphertext")?;
        let keys = derive(password, &salt);
        let mut check = <HmacSha256 as Mac>::new_from_slice(&keys.mac)
            .map_err(|e| VaultError::Format(e.to_string()))?;
        check.update(&data);
        check
            .verify_slice(&mac)
            .map_err(|_| VaultError::WrongPassword)?;
        Aes256Ctr::new(&keys.cipher.into(), &keys.iv.into()).apply_keystream(&mut data);
        unpad(data)
    }
}

/// Strips PKCS#7 padding; Ansible always pads, so a missing pad is corrupt data.
fn unpad(mut data: Vec<u8>) -> Result<Vec<u8>, VaultError> {
    let bad = || VaultError::Format("bad padding".into());
    let n = usize::from(*data.last().ok_or_else(bad)?);
    if n == 0
        || n > BLOCK
        || n > data.len()
        || !data[data.len() - n..].iter().all(|b| usize::from(*b) == n)
    {
        return Err(bad());
    }
    data.truncate(data.len() - n);
    Ok(data)
}

/// Encrypts `plaintext` into a complete vault text (header, 80-column lines, final newline) with
/// a fresh random salt. `label` other than `default` makes a 1.2 header, as Ansible does.
pub(crate) fn encrypt(
    plaintext: &[u8],
    password: &[u8],
    label: &str,
) -> Result<String, VaultError> {
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt).map_err(|e| VaultError::NoRandomness(e.to_string()))?;
    Ok(encrypt_with_salt(plaintext, password, label, &salt))
}

/// `encrypt` with a given salt (tests compare against fixed vectors).
pub(crate) fn encrypt_with_salt(
    plaintext: &[u8],
    password: &[u8],
    label: &str,
    salt: &[u8],
) -> String {
    let keys = derive(password, salt);
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut data = Vec::with_capacity(plaintext.len() + pad);
    data.extend_from_slice(plaintext);
    data.resize(plaintext.len() + pad, u8::try_from(pad).unwrap_or(16));
    Aes256Ctr::new(&keys.cipher.into(), &keys.iv.into()).apply_keystream(&mut data);
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(&keys.mac).expect("HMAC takes any key length");
    mac.update(&data);
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(salt),
        hex::encode(mac.finalize().into_bytes()),
        hex::encode(&data)
    );
    let body = hex::encode(inner);
    let mut out = if label.is_empty() || label == DEFAULT_LABEL {
        format!("{HEADER};1.1;{CIPHER}\n")
    } else {
        format!("{HEADER};1.2;{CIPHER};{label}\n")
    };
    for line in body.as_bytes().chunks(80) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by ansible-vault 2.19 (`printf 's3cret value' | ansible-vault encrypt`, password
    /// `hunter2`): a known answer independent of this module's own encryption.
    const FROM_ANSIBLE: &str = "$ANSIBLE_VAULT;1.1;AES256
37356533616665363530623263303632333064316137653738343036343630616239616364326361
3364376635393433323533383739333835623164643261660a636138333463646665613932333462
63663232353431383934626338653764396131366263353165393137313439333330303961653439
3263663239303530610a313963633264646565353865333134346563663737303761343939663462
3365
";

    #[test]
    fn round_trip_keeps_bytes_and_header() {
        for text in [
            &b""[..],
            b"x",
            b"exactly16bytes!!",
            "héllo\nworld\n".as_bytes(),
        ] {
            let vault = encrypt(text, b"pw", DEFAULT_LABEL).expect("encrypt");
            assert!(vault.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
            assert!(vault.lines().skip(1).all(|l| l.len() <= 80));
            let env = parse(&vault).expect("parse");
            assert_eq!(env.decrypt(b"pw").expect("decrypt"), text);
        }
        let labelled = encrypt(b"s", b"pw", "prod").expect("encrypt");
        assert!(labelled.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
        assert_eq!(
            parse(&labelled).expect("parse").label.as_deref(),
            Some("prod")
        );
    }

    #[test]
    fn wrong_password_fails_the_hmac() {
        let vault = encrypt(b"secret", b"right", DEFAULT_LABEL).expect("encrypt");
        let env = parse(&vault).expect("parse");
        assert_eq!(env.decrypt(b"wrong"), Err(VaultError::WrongPassword));
    }

    #[test]
    fn tampered_ciphertext_fails_the_hmac() {
        let vault = encrypt(b"secret value", b"pw", DEFAULT_LABEL).expect("encrypt");
        let mut lines: Vec<String> = vault.lines().map(str::to_owned).collect();
        let last = lines.last_mut().expect("body");
        let flipped = if last.ends_with('0') { '1' } else { '0' };
        last.pop();
        last.push(flipped);
        let env = parse(&lines.join("\n")).expect("parse");
        assert!(env.decrypt(b"pw").is_err());
    }

    #[test]
    fn malformed_headers_are_format_errors() {
        assert!(matches!(
            parse("$ANSIBLE_VAULT;1.1"),
            Err(VaultError::Format(_))
        ));
        assert!(matches!(
            parse("$ANSIBLE_VAULT;1.1;AES"),
            Err(VaultError::Format(_))
        ));
        assert!(matches!(
            parse("$ANSIBLE_VAULT;9.9;AES256\n00"),
            Err(VaultError::Format(_))
        ));
        let env = parse("$ANSIBLE_VAULT;1.1;AES256\nzz\n").expect("header is fine");
        assert!(matches!(env.decrypt(b"pw"), Err(VaultError::Format(_))));
    }

    #[test]
    fn known_vector_from_ansible_decrypts() {
        let env = parse(FROM_ANSIBLE).expect("parse");
        assert_eq!(env.decrypt(b"hunter2").expect("decrypt"), b"s3cret value");
    }

    #[test]
    fn same_salt_gives_ansibles_exact_bytes() {
        let env = parse(FROM_ANSIBLE).expect("parse");
        let inner = hex::decode(&env.body).expect("hex");
        let salt_hex = inner.split(|b| *b == b'\n').next().expect("salt");
        let salt = hex::decode(salt_hex).expect("hex salt");
        let ours = encrypt_with_salt(b"s3cret value", b"hunter2", DEFAULT_LABEL, &salt);
        assert_eq!(ours, FROM_ANSIBLE);
    }
}
