//! Reading inputs and writing vault results: stdin/stdout for `-`, and files written 0600
//! through a temp file in the same folder and a rename, so a reader never sees half a file and
//! a crash never leaves plaintext where ciphertext was.

use std::io::{Read as _, Write as _};
use std::path::Path;

use crate::error::{Error, Result};

/// `-` means stdin/stdout, as in `ansible-vault`.
pub(super) fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The bytes of `path`, or of stdin for `-`.
pub(super) fn read(path: &Path) -> Result<Vec<u8>> {
    if is_stdio(path) {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, &e))?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| Error::io(path, &e))
}

/// Writes `bytes` to `path` (stdout for `-`): a 0600 temp file beside it, synced, then renamed.
pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if is_stdio(path) {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|e| Error::io(path, &e));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile creates the file 0600 with O_EXCL and removes it if we fail before persisting.
    let mut temp = tempfile::Builder::new()
        .prefix(".recon-vault-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, &e))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| Error::io(path, &e))?;
    temp.persist(path).map_err(|e| Error::io(path, &e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn written_files_are_private_and_replace_the_old_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets.yml");
        std::fs::write(&path, "old").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write(&path, b"new").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers = std::fs::read_dir(dir.path()).expect("ls").count();
        assert_eq!(leftovers, 1, "no temp file left behind");
    }
}
