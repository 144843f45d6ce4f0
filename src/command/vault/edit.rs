//! Editing plaintext with `$EDITOR` without leaving it around: the text goes into a file in a
//! fresh 0700 temp folder, the editor runs on it, and the folder is removed afterwards whatever
//! happened.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};

/// The editor's command line runs through `sh` (like Ansible's shlex split, `EDITOR="code
/// --wait"` works); the file name is passed as `$1`, never formatted into the script.
const RUN_EDITOR: &str = r#"eval "${EDITOR:-vi} \"\$1\"""#;

/// Lets the user edit `text` and returns the result; `like` gives the temp file's name (so the
/// editor picks the right syntax).
pub(super) fn edit(text: &[u8], like: &Path) -> Result<Vec<u8>> {
    let dir = tempfile::Builder::new()
        .prefix("recon-vault-")
        .tempdir()
        .map_err(|e| Error::io(&std::env::temp_dir(), &e))?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(dir.path(), &e))?;
    let name = like
        .file_name()
        .unwrap_or(std::ffi::OsStr::new("vault.yml"));
    let path = dir.path().join(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(&path, &e))?;
    file.write_all(text)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(&path, &e))?;
    drop(file);
    let status = Command::new("sh")
        .arg("-c")
        .arg(RUN_EDITOR)
        .arg("sh")
        .arg(&path)
        .status()
        .map_err(|e| Error::usage(format!("cannot run the editor: {e}")))?;
    if !status.success() {
        return Err(Error::usage(format!(
            "the editor failed ({status}); nothing was written"
        )));
    }
    std::fs::read(&path).map_err(|e| Error::io(&path, &e))
    // `dir` drops here: the folder and the plaintext in it are removed.
}
