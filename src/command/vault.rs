//! `recon vault create|edit|encrypt|decrypt|view|rekey|encrypt-string`: the `ansible-vault`
//! commands, writing files `ansible-vault` reads back (and reading the files it writes).

use std::path::{Path, PathBuf};

use self::edit::edit;
use self::files::is_stdio;
use crate::cli::{
    VaultAction, VaultArgs, VaultEditArgs, VaultFilesArgs, VaultKeys, VaultRekeyArgs,
    VaultStringArgs,
};
use crate::error::{Error, Result};
use crate::exit;
use crate::vault::format::{self, DEFAULT_LABEL};
use crate::vault::keyring::{self, Identity, Keyring, Secret};

// `$EDITOR` on plaintext and the command's file I/O: only `recon vault` edits or writes vault
// files, so they live with the command, not with the format.
mod edit;
mod files;

/// Indentation of the ciphertext under `!vault |`, as `ansible-vault encrypt_string` prints it.
const INLINE_INDENT: &str = "          ";

/// Runs one `recon vault` action.
pub(crate) fn run(args: &VaultArgs) -> Result<i32> {
    match &args.action {
        VaultAction::Create(a) => create(a),
        VaultAction::Edit(a) => edit_file(a),
        VaultAction::Encrypt(a) => encrypt(a),
        VaultAction::Decrypt(a) => decrypt(a, false),
        VaultAction::View(a) => decrypt(a, true),
        VaultAction::Rekey(a) => rekey(a),
        VaultAction::EncryptString(a) => encrypt_string(a),
    }?;
    Ok(exit::OK)
}

/// The passwords the options name; with none, a prompt (on a terminal only).
fn keyring(keys: &VaultKeys, confirm: bool) -> Result<Keyring> {
    let mut ids = keyring::identities(&keys.passwords.password_files, &keys.passwords.vault_ids);
    if ids.is_empty() {
        ids.push(Identity::prompt(
            keys.encrypt_vault_id.as_deref().unwrap_or(DEFAULT_LABEL),
        ));
    }
    Keyring::load(&ids, confirm).map_err(|e| Error::usage(e.to_string()))
}

fn encryption_secret(keys: &VaultKeys) -> Result<Secret> {
    let keyring = keyring(keys, true)?;
    keyring
        .for_encryption(keys.encrypt_vault_id.as_deref())
        .cloned()
        .map_err(|e| Error::usage(e.to_string()))
}

fn seal(plain: &[u8], secret: &Secret) -> Result<String> {
    format::encrypt(plain, &secret.password, &secret.label).map_err(|e| Error::usage(e.to_string()))
}

/// Decrypts `bytes` read from `path`, naming the file in errors.
fn open(bytes: &[u8], path: &Path, keyring: &Keyring) -> Result<(Vec<u8>, Secret)> {
    let text = std::str::from_utf8(bytes)
        .ok()
        .filter(|t| format::is_vault(t))
        .ok_or_else(|| Error::usage(format!("`{}` is not vault-encrypted", shown(path))))?;
    keyring
        .decrypt(text)
        .map(|(plain, secret)| (plain, secret.clone()))
        .map_err(|e| Error::usage(format!("cannot decrypt `{}`: {e}", shown(path))))
}

fn shown(path: &Path) -> String {
    if is_stdio(path) {
        "stdin".into()
    } else {
        crate::source::display_path(path)
    }
}

fn create(args: &VaultEditArgs) -> Result<()> {
    if args.file.exists() {
        return Err(Error::usage(format!(
            "`{}` already exists; use `recon vault edit`",
            shown(&args.file)
        )));
    }
    let secret = encryption_secret(&args.keys)?;
    let plain = edit(b"", &args.file)?;
    files::write(&args.file, seal(&plain, &secret)?.as_bytes())
}

fn edit_file(args: &VaultEditArgs) -> Result<()> {
    let keyring = keyring(&args.keys, false)?;
    let (plain, secret) = open(&files::read(&args.file)?, &args.file, &keyring)?;
    let edited = edit(&plain, &args.file)?;
    if edited == plain {
        eprintln!("{}: unchanged", shown(&args.file));
        return Ok(());
    }
    // Re-encrypted with the password that opened it, keeping its vault id, as Ansible does.
    files::write(&args.file, seal(&edited, &secret)?.as_bytes())
}

/// Where each input's result goes: `--output`, stdout for stdin, or in place.
fn outputs<'a>(
    files: &'a [PathBuf],
    output: Option<&'a PathBuf>,
) -> Result<Vec<(&'a PathBuf, &'a PathBuf)>> {
    if output.is_some() && files.len() > 1 {
        return Err(Error::usage("--output takes exactly one input file"));
    }
    Ok(files.iter().map(|f| (f, output.unwrap_or(f))).collect())
}

fn encrypt(args: &VaultFilesArgs) -> Result<()> {
    let targets = outputs(&args.files, args.output.as_ref())?;
    let secret = encryption_secret(&args.keys)?;
    for (input, output) in targets {
        let plain = files::read(input)?;
        if std::str::from_utf8(&plain).is_ok_and(format::is_vault) {
            return Err(Error::usage(format!(
                "`{}` is already vault-encrypted",
                shown(input)
            )));
        }
        files::write(output, seal(&plain, &secret)?.as_bytes())?;
    }
    eprintln!("Encryption successful");
    Ok(())
}

/// `decrypt` (in place or to `--output`) and `view` (to stdout).
fn decrypt(args: &VaultFilesArgs, view: bool) -> Result<()> {
    let stdout = PathBuf::from("-");
    let targets = outputs(&args.files, args.output.as_ref())?;
    let keyring = keyring(&args.keys, false)?;
    // Decrypt everything before writing anything: one wrong file changes nothing.
    let mut plain = Vec::new();
    for (input, output) in targets {
        let (text, _) = open(&files::read(input)?, input, &keyring)?;
        plain.push((if view { &stdout } else { output }, text));
    }
    for (output, text) in &plain {
        files::write(output, text)?;
    }
    if !view {
        eprintln!("Decryption successful");
    }
    Ok(())
}

fn rekey(args: &VaultRekeyArgs) -> Result<()> {
    let old = keyring(&args.keys, false)?;
    let new_id = match (&args.new_vault_id, &args.new_vault_password_file) {
        (Some(spec), _) => Identity::parse(spec),
        (None, Some(file)) => Identity::file(DEFAULT_LABEL, file),
        (None, None) => Identity::prompt(DEFAULT_LABEL),
    };
    let new = Keyring::load(&[new_id], true).map_err(|e| Error::usage(e.to_string()))?;
    let secret = new
        .for_encryption(None)
        .map_err(|e| Error::usage(e.to_string()))?;
    let mut sealed = Vec::new();
    for file in &args.files {
        let (plain, _) = open(&files::read(file)?, file, &old)?;
        sealed.push((file, seal(&plain, secret)?));
    }
    for (file, text) in &sealed {
        files::write(file, text.as_bytes())?;
    }
    eprintln!("Rekey successful");
    Ok(())
}

fn encrypt_string(args: &VaultStringArgs) -> Result<()> {
    let plain = match &args.string {
        Some(s) => s.clone().into_bytes(),
        None => files::read(Path::new("-"))?,
    };
    if plain.is_empty() {
        return Err(Error::usage("nothing to encrypt: the string is empty"));
    }
    let secret = encryption_secret(&args.keys)?;
    let block = inline(args.name.as_deref(), &seal(&plain, &secret)?);
    files::write(Path::new("-"), format!("{block}\n").as_bytes())?;
    eprintln!("Encryption successful");
    Ok(())
}

/// `NAME: !vault |` (or a bare `!vault |`) with the vault text indented under it.
fn inline(name: Option<&str>, vault: &str) -> String {
    let mut out = match name {
        Some(name) => format!("{name}: !vault |"),
        None => "!vault |".to_owned(),
    };
    for line in vault.lines() {
        out.push('\n');
        out.push_str(INLINE_INDENT);
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_block_is_ansibles_shape() {
        let block = inline(
            Some("db_password"),
            "$ANSIBLE_VAULT;1.1;AES256\n3131\n3232\n",
        );
        assert_eq!(
            block,
            "db_password: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          3131\n          3232"
        );
    }
}
