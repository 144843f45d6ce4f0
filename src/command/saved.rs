//! Saved plans (`plan -o`, `apply FILE`): the format, and writing them privately.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::probe::PlannedHost;

/// A plan for every play, as saved by `plan -o` and read back by `apply FILE`.
#[derive(Serialize, Deserialize)]
pub(super) struct SavedPlan {
    pub(super) format: String,
    pub(super) plays: Vec<SavedPlay>,
}

pub(super) const PLAN_FORMAT: &str = "recon-plan/1";

#[derive(Serialize, Deserialize)]
pub(super) struct SavedPlay {
    pub(super) name: String,
    pub(super) batch: usize,
    pub(super) hosts: Vec<PlannedHost>,
}

/// Writes a file only its owner can read (a saved plan may hold secrets), through a temp file
/// created 0600 beside it and a rename: never readable by others, never half-written.
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = written.and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(())
}

pub(super) fn is_saved_plan(path: &Path) -> bool {
    let mut head = [0u8; 32];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let n = std::io::Read::read(&mut file, &mut head).unwrap_or(0);
    String::from_utf8_lossy(&head[..n]).starts_with("{\"format\":\"recon-plan/")
}

pub(super) fn load_saved_plan(path: &Path) -> Result<Vec<SavedPlay>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
    let saved: SavedPlan = serde_json::from_str(&text).map_err(|e| {
        Error::new(ErrorKind::SavedPlan {
            message: format!("`{}` is not a valid saved plan: {e}", path.display()),
        })
    })?;
    if saved.format != PLAN_FORMAT {
        return Err(Error::new(ErrorKind::SavedPlan {
            message: format!(
                "`{}` has format `{}`; this recon reads `{PLAN_FORMAT}`",
                path.display(),
                saved.format
            ),
        }));
    }
    Ok(saved.plays)
}
