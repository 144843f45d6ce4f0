//! Vault passwords: where they come from (files, executables, prompts, as Ansible reads them)
//! and the keyring that tries them on a vault text, matching label first.

use std::io::IsTerminal;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::format::{self, VaultError, DEFAULT_LABEL};

/// Environment variables naming a default password file (recon's own first, then Ansible's).
pub(crate) const ENV_VARS: [&str; 2] = ["RECON_VAULT_PASSWORD_FILE", "ANSIBLE_VAULT_PASSWORD_FILE"];

/// Where one labelled password comes from, before it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) label: String,
    source: Source,
}

/// A password file (or executable), or a prompt on the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    File(PathBuf),
    Prompt,
}

impl Identity {
    /// Parses `--vault-id`: `label@source` or just `source` (label `default`); source `prompt`
    /// asks on the terminal.
    pub(crate) fn parse(spec: &str) -> Identity {
        let (label, source) = match spec.split_once('@') {
            Some((label, source)) if !label.is_empty() => (label, source),
            Some((_, source)) => (DEFAULT_LABEL, source),
            None => (DEFAULT_LABEL, spec),
        };
        let source = if source == "prompt" {
            Source::Prompt
        } else {
            Source::File(PathBuf::from(source))
        };
        Identity {
            label: label.to_owned(),
            source,
        }
    }

    /// A password file (or executable) for `label`.
    pub(crate) fn file(label: &str, path: &Path) -> Identity {
        Identity {
            label: label.to_owned(),
            source: Source::File(path.to_path_buf()),
        }
    }

    /// A prompt for `label` (the vault commands ask when given no password at all).
    pub(crate) fn prompt(label: &str) -> Identity {
        Identity {
            label: label.to_owned(),
            source: Source::Prompt,
        }
    }

    /// Reads the password; `confirm` asks twice at a prompt (for new passwords).
    fn read(&self, confirm: bool) -> Result<Vec<u8>, VaultError> {
        match &self.source {
            Source::File(path) => read_password_file(&expand_home(path), &self.label),
            Source::Prompt => prompt(&self.label, confirm),
        }
    }
}

/// Every identity the options and environment name, in Ansible's order: `--vault-id`s, then
/// `--vault-password-file`s, then the environment variables. Duplicates are dropped.
pub(crate) fn identities(password_files: &[PathBuf], vault_ids: &[String]) -> Vec<Identity> {
    let mut out: Vec<Identity> = vault_ids.iter().map(|s| Identity::parse(s)).collect();
    let from_env = ENV_VARS
        .iter()
        .filter_map(std::env::var_os)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    for path in password_files.iter().cloned().chain(from_env) {
        out.push(Identity::file(DEFAULT_LABEL, &path));
    }
    let mut unique = Vec::with_capacity(out.len());
    for identity in out {
        if !unique.contains(&identity) {
            unique.push(identity);
        }
    }
    unique
}

fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// A password file's trimmed content, or an executable's stdout (a `*-client` script gets
/// `--vault-id LABEL`), as Ansible's `get_file_vault_secret` does.
fn read_password_file(path: &Path, label: &str) -> Result<Vec<u8>, VaultError> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| {
        VaultError::Password(format!("vault password file `{shown}` cannot be read: {e}"))
    })?;
    if meta.is_dir() {
        return Err(VaultError::Password(format!(
            "vault password file `{shown}` is a directory"
        )));
    }
    let password = if meta.permissions().mode() & 0o111 != 0 {
        // `./` keeps a bare name from being looked up on PATH: it names this file.
        let mut command = Command::new(Path::new(".").join(path));
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if stem.ends_with("-client") {
            command.arg("--vault-id").arg(label);
        }
        let output = command
            .stdin(Stdio::inherit())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| {
                VaultError::Password(format!("vault password script `{shown}` cannot run: {e}"))
            })?;
        if !output.status.success() {
            return Err(VaultError::Password(format!(
                "vault password script `{shown}` failed ({})",
                output.status
            )));
        }
        trim_bytes(&output.stdout, |b| matches!(b, b'\r' | b'\n'))
    } else {
        let bytes = std::fs::read(path).map_err(|e| {
            VaultError::Password(format!("vault password file `{shown}` cannot be read: {e}"))
        })?;
        trim_bytes(&bytes, |b| b.is_ascii_whitespace() || b == 0x0b)
    };
    if password.is_empty() {
        return Err(VaultError::Password(format!(
            "vault password file `{shown}` gave an empty password"
        )));
    }
    Ok(password)
}

fn trim_bytes(bytes: &[u8], strip: impl Fn(u8) -> bool) -> Vec<u8> {
    let start = bytes.iter().position(|b| !strip(*b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !strip(*b))
        .map_or(start, |e| e + 1);
    bytes[start..end].to_vec()
}

/// Asks for `label`'s password on the terminal (twice with `confirm`).
fn prompt(label: &str, confirm: bool) -> Result<Vec<u8>, VaultError> {
    if !std::io::stdin().is_terminal() {
        return Err(VaultError::Password(format!(
            "cannot prompt for vault password `{label}`: stdin is not a terminal (use \
             --vault-password-file FILE or --vault-id {label}@FILE)"
        )));
    }
    let what = if label == DEFAULT_LABEL {
        "Vault password: ".to_owned()
    } else {
        format!("Vault password ({label}): ")
    };
    let ask = |p: &str| {
        rpassword::prompt_password(p)
            .map_err(|e| VaultError::Password(format!("cannot read the password: {e}")))
    };
    let first = ask(&if confirm {
        format!("New {what}")
    } else {
        what.clone()
    })?;
    if confirm && ask(&format!("Confirm new {what}"))? != first {
        return Err(VaultError::Password("the passwords do not match".into()));
    }
    if first.is_empty() {
        return Err(VaultError::Password(
            "an empty vault password is not allowed".into(),
        ));
    }
    Ok(first.into_bytes())
}

/// One password with its label.
#[derive(Clone)]
pub(crate) struct Secret {
    pub(crate) label: String,
    pub(crate) password: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", self.label)
    }
}

/// The passwords recon may decrypt with.
#[derive(Debug, Default)]
pub(crate) struct Keyring {
    pub(crate) secrets: Vec<Secret>,
}

impl Keyring {
    /// Reads every identity's password now (a prompt asks now). `confirm` is for new passwords.
    pub(crate) fn load(identities: &[Identity], confirm: bool) -> Result<Keyring, VaultError> {
        let secrets = identities
            .iter()
            .map(|id| {
                Ok(Secret {
                    label: id.label.clone(),
                    password: id.read(confirm)?,
                })
            })
            .collect::<Result<_, VaultError>>()?;
        Ok(Keyring { secrets })
    }

    /// A keyring of given passwords.
    #[cfg(test)]
    pub(crate) fn of(secrets: Vec<Secret>) -> Keyring {
        Keyring { secrets }
    }

    /// Decrypts a vault text, trying the password whose label matches the header first, then the
    /// others (Ansible's default). Returns the plaintext and the label of the password that fit.
    pub(crate) fn decrypt(&self, text: &str) -> Result<(Vec<u8>, &Secret), VaultError> {
        let envelope = format::parse(text)?;
        if self.secrets.is_empty() {
            return Err(VaultError::NoPasswordToOpen);
        }
        let wanted = envelope.label.as_deref();
        let ordered = self
            .secrets
            .iter()
            .filter(|s| Some(s.label.as_str()) == wanted)
            .chain(
                self.secrets
                    .iter()
                    .filter(|s| Some(s.label.as_str()) != wanted),
            );
        for secret in ordered {
            match envelope.decrypt(&secret.password) {
                Ok(plain) => return Ok((plain, secret)),
                Err(VaultError::WrongPassword) => {}
                Err(e) => return Err(e),
            }
        }
        Err(VaultError::NoneFits {
            wanted: wanted.map(str::to_owned),
            labels: self.secrets.iter().map(|s| s.label.clone()).collect(),
        })
    }

    /// The password to encrypt with: the one labelled `label`, or the only one.
    pub(crate) fn for_encryption(&self, label: Option<&str>) -> Result<&Secret, VaultError> {
        match (label, self.secrets.as_slice()) {
            (_, []) => Err(VaultError::NoPasswordToSeal(
                "no vault password given".into(),
            )),
            (Some(label), secrets) => secrets.iter().find(|s| s.label == label).ok_or_else(|| {
                VaultError::WhichPassword(format!(
                    "--encrypt-vault-id `{label}` names no --vault-id given"
                ))
            }),
            (None, [only]) => Ok(only),
            (None, secrets) => {
                let first = &secrets[0];
                if secrets.iter().all(|s| s.label == first.label) {
                    Ok(first)
                } else {
                    Err(VaultError::WhichPassword(
                        "several vault ids are given: choose one with --encrypt-vault-id".into(),
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_id_specs_parse_like_ansible() {
        assert_eq!(Identity::parse("prod@/pw").label, "prod");
        assert_eq!(
            Identity::parse("prod@/pw").source,
            Source::File("/pw".into())
        );
        assert_eq!(Identity::parse("/pw").label, DEFAULT_LABEL);
        assert_eq!(Identity::parse("dev@prompt").source, Source::Prompt);
    }

    #[test]
    fn password_file_is_trimmed_and_script_stdout_is_used() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pw");
        std::fs::write(&file, "  hunter2 \n").expect("write");
        assert_eq!(
            read_password_file(&file, "default").expect("read"),
            b"hunter2"
        );
        let script = dir.path().join("pw-client.sh");
        std::fs::write(&script, "#!/bin/sh\nprintf 'from-%s\\r\\n' \"$2\"\n").expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        assert_eq!(
            read_password_file(&script, "prod").expect("run"),
            b"from-prod"
        );
        let failing = dir.path().join("fail");
        std::fs::write(&failing, "#!/bin/sh\nexit 3\n").expect("write");
        std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        assert!(read_password_file(&failing, "x")
            .expect_err("fails")
            .to_string()
            .contains("failed"));
        let missing = read_password_file(&dir.path().join("none"), "x").expect_err("missing");
        assert!(missing.to_string().contains("none"), "{missing}");
    }

    #[test]
    fn matching_label_is_tried_first_and_others_still_work() {
        let secret = |label: &str, pw: &str| Secret {
            label: label.into(),
            password: pw.as_bytes().to_vec(),
        };
        let keyring = Keyring::of(vec![secret("dev", "a"), secret("prod", "b")]);
        let text = format::encrypt(b"x", b"b", "prod").expect("encrypt");
        assert_eq!(keyring.decrypt(&text).expect("decrypt").1.label, "prod");
        let unlabelled = format::encrypt(b"y", b"b", DEFAULT_LABEL).expect("encrypt");
        assert_eq!(keyring.decrypt(&unlabelled).expect("decrypt").0, b"y");
        let wrong = format::encrypt(b"z", b"c", DEFAULT_LABEL).expect("encrypt");
        assert!(keyring
            .decrypt(&wrong)
            .expect_err("wrong")
            .to_string()
            .contains("wrong vault password"));
        assert!(keyring.for_encryption(None).is_err());
        assert_eq!(
            keyring.for_encryption(Some("dev")).expect("dev").label,
            "dev"
        );
    }
}
