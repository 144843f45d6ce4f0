//! Which artifacts reached which account during this run. An artifact is streamed to an
//! account at most once per run: the first target of the account that needs it sends it (the
//! others of that account wait for it, as they would for the account's lock on the host anyway),
//! later ones only check it by hash before use.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::artifact::{Artifact, Store};

/// Per account (node, user, become): the hashes delivered so far.
#[derive(Debug, Default)]
pub(crate) struct Deliveries {
    accounts: Mutex<HashMap<String, Arc<Mutex<BTreeSet<String>>>>>,
}

/// One account's delivered hashes, held while a target of the account sends and applies.
pub(crate) type Delivered = Arc<Mutex<BTreeSet<String>>>;

impl Deliveries {
    /// The record of `account`, created on first use.
    pub(crate) fn account(&self, account: &str) -> Delivered {
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(accounts.entry(account.to_owned()).or_default())
    }
}

/// Locks an account's record for the duration of one apply.
pub(crate) fn hold(delivered: &Delivered) -> MutexGuard<'_, BTreeSet<String>> {
    delivered.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Gives every artifact a file on this machine: a saved plan names them by hash only, and they
/// are found again in the artifact cache. Names the first one that is gone.
pub(crate) fn locate(artifacts: &mut [Artifact]) -> Result<(), String> {
    if artifacts.iter().all(|a| !a.path.as_os_str().is_empty()) {
        return Ok(());
    }
    let store = Store::user().map_err(|e| format!("cannot open the artifact cache: {e}"))?;
    for artifact in artifacts
        .iter_mut()
        .filter(|a| a.path.as_os_str().is_empty())
    {
        match store.find(&artifact.sha256) {
            Ok(Some(found)) if found.size == artifact.size => artifact.path = found.path,
            _ => {
                return Err(format!(
                    "artifact {} ({} bytes) is no longer in the artifact cache; plan again",
                    artifact.sha256, artifact.size
                ))
            }
        }
    }
    Ok(())
}
