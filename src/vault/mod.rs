//! Ansible Vault: encrypted files and inline `!vault` values, readable wherever recon reads YAML.
//! The `recon vault` command that writes what `ansible-vault` reads back is `command/vault.rs`.
//!
//! Passwords are named once per process (`configure`, from the command line and environment)
//! and read lazily on the first encrypted value, so runs without vault data never run a password
//! script or prompt.

pub(crate) mod format;
pub(crate) mod keyring;

use std::sync::OnceLock;

pub(crate) use format::{is_vault, VaultError};

use keyring::{Identity, Keyring};

/// Where the passwords come from, set once by the command being run.
static IDENTITIES: OnceLock<Vec<Identity>> = OnceLock::new();
/// The passwords, read on first use; a failure to read them is kept and reported at each value.
static KEYRING: OnceLock<Result<Keyring, VaultError>> = OnceLock::new();

/// Records the password sources of this run (`--vault-password-file`, `--vault-id`, the
/// environment). Without a call, only the environment variables count.
/// `from_config` is `ansible.cfg`'s `vault_password_file`, used when the command line names no
/// password (as in Ansible, where the command line wins over the configuration).
/// The sources come as plain lists (not the CLI's struct) so that the loader below the CLI
/// does not depend on it.
pub(crate) fn configure(
    files: &[std::path::PathBuf],
    ids: &[String],
    from_config: Option<&std::path::Path>,
) {
    let configured: Vec<std::path::PathBuf> = from_config
        .map(std::path::Path::to_path_buf)
        .into_iter()
        .collect();
    let files = if files.is_empty() && ids.is_empty() {
        configured.as_slice()
    } else {
        files
    };
    let _ = IDENTITIES.set(keyring::identities(files, ids));
}

/// Decrypts a vault text (a whole file or an inline value) with this run's passwords. The error
/// says why (no password, wrong password, malformed data); the caller says where.
pub(crate) fn open(text: &str) -> Result<String, VaultError> {
    String::from_utf8(open_bytes(text)?).map_err(|_| VaultError::NotText)
}

/// `open` for binary plaintext (a compressed saved plan).
pub(crate) fn open_bytes(text: &str) -> Result<Vec<u8>, VaultError> {
    let (plain, _) = keyring()?.decrypt(text)?;
    Ok(plain)
}

/// This run's passwords, read on first use.
fn keyring() -> Result<&'static Keyring, VaultError> {
    KEYRING
        .get_or_init(|| {
            let identities = IDENTITIES.get_or_init(|| keyring::identities(&[], &[]));
            Keyring::load(identities, false)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// How to give a vault password, for errors that need one.
pub(crate) const HOW_TO_GIVE_A_PASSWORD: &str = "give one with --vault-password-file FILE, \
     --vault-id LABEL@FILE or the environment variable RECON_VAULT_PASSWORD_FILE";

/// Encrypts `plain` with this run's vault password (the only one, or the first of several) into
/// a vault text, so what recon stores for later (generated passwords, saved plans with secrets)
/// is never in clear. Errors when no password was given.
pub(crate) fn seal(plain: &[u8]) -> Result<String, VaultError> {
    let keyring = keyring()?;
    let secret = keyring.secrets.first().ok_or_else(|| {
        VaultError::NoPasswordToSeal(format!(
            "no vault password was given: {HOW_TO_GIVE_A_PASSWORD}"
        ))
    })?;
    format::encrypt(plain, &secret.password, &secret.label)
}
