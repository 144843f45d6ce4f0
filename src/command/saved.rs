//! Saved plans (`plan -o`, `apply FILE`): the format, and writing them privately.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::probe::PlannedHost;

/// A plan for every play, as saved by `plan -o` and read back by `apply FILE`. A plan that
/// involves secrets keeps its plays only in `sealed`: see [`encode`].
#[derive(Serialize, Deserialize)]
pub(super) struct SavedPlan {
    pub(super) format: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) plays: Vec<SavedPlay>,
    /// The plays and the secret values to mask, as an Ansible Vault text (this run's vault
    /// password): apply scripts carry file contents and command lines in clear, so a plan with
    /// secrets is never written otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sealed: Option<String>,
}

/// What a sealed plan holds.
#[derive(Serialize, Deserialize)]
struct Sealed {
    plays: Vec<SavedPlay>,
    /// Every secret value of the planning run, registered again by `apply FILE` so its output
    /// is masked the same way.
    secrets: Vec<String>,
    /// Every short derived value of the planning run, masked as words (see `secret.rs`).
    #[serde(default)]
    words: Vec<String>,
}

/// The saved plan's text: in clear when the run met no secret and no `no_log` task; otherwise
/// sealed with the vault password, and an error when there is none.
pub(super) fn encode(plays: Vec<SavedPlay>) -> Result<String> {
    let secrets = crate::secret::values();
    let sensitive = plays
        .iter()
        .flat_map(|p| &p.hosts)
        .flat_map(|h| &h.plan.steps)
        .any(|s| s.sensitive);
    let encode_err = |e: serde_json::Error| Error::usage(format!("cannot encode the plan: {e}"));
    let saved = if secrets.is_empty() && !sensitive {
        SavedPlan {
            format: PLAN_FORMAT.to_owned(),
            plays,
            sealed: None,
        }
    } else {
        // Compressed first: the vault format spells ciphertext in hex twice over (4 bytes per
        // byte), and a plan's JSON is repetitive.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let words = crate::secret::words();
        serde_json::to_writer(
            &mut gz,
            &Sealed {
                plays,
                secrets,
                words,
            },
        )
        .map_err(encode_err)?;
        let inner = gz
            .finish()
            .map_err(|e| Error::usage(format!("cannot compress the plan: {e}")))?;
        let sealed = crate::vault::seal(&inner).map_err(|e| {
            Error::new(ErrorKind::SavedPlan {
                message: format!(
                    "this plan involves secrets (vault values, generated passwords or `no_log` \
                     tasks) and is saved only encrypted: {e}"
                ),
            })
        })?;
        SavedPlan {
            format: PLAN_FORMAT.to_owned(),
            plays: Vec::new(),
            sealed: Some(sealed),
        }
    };
    serde_json::to_string(&saved).map_err(encode_err)
}

pub(super) const PLAN_FORMAT: &str = "recon-plan/1";

#[derive(Serialize, Deserialize)]
pub(super) struct SavedPlay {
    pub(super) name: String,
    /// Rolling batch sizes (`compile::serial`): the last repeats, 0 takes every host left.
    #[serde(default)]
    pub(super) batches: Vec<usize>,
    /// The one batch size of plans saved before `serial` lists (read, never written).
    #[serde(default, skip_serializing)]
    pub(super) batch: Option<usize>,
    /// The play's `max_fail_percentage` (absent in plans saved before it was honoured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) max_fail_percentage: Option<u8>,
    pub(super) hosts: Vec<PlannedHost>,
}

impl SavedPlay {
    /// The play's hosts in their rolling batches, in order.
    pub(super) fn batches(&self) -> Vec<&[PlannedHost]> {
        match (self.batches.is_empty(), self.batch) {
            (true, Some(size)) => crate::compile::serial::batches(&self.hosts, &[size]),
            _ => crate::compile::serial::batches(&self.hosts, &self.batches),
        }
    }
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

/// Runs `read` with every resource kind's plan attributes and fact kinds known
/// (`plan::reading`, `facts::reading`): a saved plan naming an attribute or a fact kind no
/// kind declares is refused as not valid.
pub(super) fn read_plans<T>(read: impl FnOnce() -> T) -> T {
    crate::facts::reading(crate::resource::declared_fact_kinds(), || {
        crate::plan::reading(crate::resource::declared_fields(), read)
    })
}

pub(super) fn load_saved_plan(path: &Path) -> Result<Vec<SavedPlay>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
    let saved: SavedPlan = read_plans(|| serde_json::from_str(&text)).map_err(|e| {
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
    match saved.sealed {
        None => Ok(saved.plays),
        Some(sealed) => unseal(path, &sealed),
    }
}

/// Opens a sealed plan with this run's vault password and registers its secrets again.
fn unseal(path: &Path, sealed: &str) -> Result<Vec<SavedPlay>> {
    let compressed = crate::vault::open_bytes(sealed).map_err(|e| {
        Error::new(ErrorKind::SavedPlan {
            message: format!(
                "`{}` involves secrets and is encrypted with the vault password of the run \
                 that saved it, which the password given now does not open ({e}); give that \
                 password, or plan again if the vault password changed since the plan",
                path.display()
            ),
        })
    })?;
    let inner: Sealed =
        read_plans(|| serde_json::from_reader(flate2::read::GzDecoder::new(compressed.as_slice())))
            .map_err(|e| {
                Error::new(ErrorKind::SavedPlan {
                    message: format!("`{}` is not a valid saved plan: {e}", path.display()),
                })
            })?;
    for secret in &inner.secrets {
        crate::secret::register(secret);
    }
    for word in &inner.words {
        crate::secret::register_word(word);
    }
    Ok(inner.plays)
}
