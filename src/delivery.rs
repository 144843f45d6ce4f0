//! Which artifacts reached which account during this run. An artifact is streamed to an
//! account at most once per run: the first target of the account that needs it claims it and
//! sends it after its apply script; another target of the account that needs it while it is on
//! its way waits, for that artifact only, until the host stored it (`@@blob SHA`, printed by the
//! receiving script before its lock or any step), then sends its own script without it and
//! checks it by hash before use. Targets of one account otherwise apply at once: nothing here
//! is held for a whole apply. A delivery that fails (the link drops, the artifact arrives
//! damaged) gives its claim back, and the next target that needs the artifact sends it.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::artifact::{Artifact, Store};

/// Per account (node, user, become): what was delivered, and what is on its way.
#[derive(Debug, Default)]
pub(crate) struct Deliveries {
    accounts: Mutex<HashMap<String, Arc<Account>>>,
}

/// One account's artifacts by hash.
#[derive(Debug, Default)]
struct Account {
    artifacts: Mutex<HashMap<String, State>>,
    /// Notified whenever an artifact of the account arrives or its claim is given back.
    changed: Condvar,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A target of the account is sending it now.
    Sending,
    /// The host stored it (checked by hash) in this run.
    Delivered,
}

impl Deliveries {
    /// Claims, for a target of `account`, the artifacts of `needed` that the account still
    /// lacks: the caller sends them (`Claimed::sending`). Waits first while another target of
    /// the account is sending any of `needed`, so that an artifact travels once, and never
    /// while holding a claim of its own (two targets waiting for each other's artifact cannot
    /// happen).
    pub(crate) fn claim(&self, account: &str, needed: &[Artifact]) -> Claimed {
        let account = {
            let mut accounts = lock(&self.accounts);
            Arc::clone(accounts.entry(account.to_owned()).or_default())
        };
        let mut artifacts = lock(&account.artifacts);
        while needed
            .iter()
            .any(|a| artifacts.get(&a.sha256) == Some(&State::Sending))
        {
            artifacts = account
                .changed
                .wait(artifacts)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let sending: Vec<Artifact> = needed
            .iter()
            .filter(|a| !artifacts.contains_key(&a.sha256))
            .cloned()
            .collect();
        for artifact in &sending {
            artifacts.insert(artifact.sha256.clone(), State::Sending);
        }
        drop(artifacts);
        Claimed {
            account,
            sending,
            scan: Mutex::new(Scan::default()),
        }
    }
}

/// The artifacts one target sends, claimed until the host reports each stored (or until the
/// claim is dropped: what did not arrive is given back).
#[derive(Debug)]
pub(crate) struct Claimed {
    account: Arc<Account>,
    sending: Vec<Artifact>,
    scan: Mutex<Scan>,
}

/// Where the reading of the script's first lines stands.
#[derive(Debug, Default)]
struct Scan {
    /// The line read so far.
    partial: Vec<u8>,
    /// Past the receiving lines (`@@pid`, `@@blob`): the rest of the output is not looked at.
    done: bool,
}

/// A line longer than this cannot be a receiving line: the scan stops there.
const LONGEST_LINE: usize = 4096;

impl Claimed {
    /// What this target sends, in order.
    pub(crate) fn sending(&self) -> &[Artifact] {
        &self.sending
    }

    /// Reads the apply script's stdout as it arrives (`Invocation::watch`): each `@@blob SHA`
    /// line frees the targets waiting for that artifact at once. The receiving lines come
    /// first; at the first other line (the lock, an error) the artifacts that did not arrive
    /// are given back.
    pub(crate) fn watch(&self, chunk: &[u8]) {
        let mut scan = lock(&self.scan);
        if scan.done {
            return;
        }
        scan.partial.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(end) = scan.partial[start..].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&scan.partial[start..start + end]).into_owned();
            start += end + 1;
            if let Some(sha) = line.strip_prefix("@@blob ") {
                self.arrived(sha.trim());
            } else if !line.starts_with("@@pid ") {
                scan.done = true;
                break;
            }
        }
        scan.partial.drain(..start);
        if scan.partial.len() > LONGEST_LINE {
            scan.done = true;
        }
        if scan.done {
            scan.partial = Vec::new();
            drop(scan);
            self.give_back();
        }
    }

    /// Takes in the whole output once the script ended (for what no watch saw), then gives
    /// back what did not arrive.
    pub(crate) fn finish(&self, stdout: &str) {
        for sha in stdout.lines().filter_map(|l| l.strip_prefix("@@blob ")) {
            self.arrived(sha.trim());
        }
        self.give_back();
    }

    /// The host stored `sha`: other targets of the account use it from now on.
    fn arrived(&self, sha: &str) {
        if !self.sending.iter().any(|a| a.sha256 == sha) {
            return;
        }
        lock(&self.account.artifacts).insert(sha.to_owned(), State::Delivered);
        self.account.changed.notify_all();
    }

    /// Every claimed artifact that has not arrived is free again: the next target that needs
    /// it sends it.
    fn give_back(&self) {
        let mut artifacts = lock(&self.account.artifacts);
        let mut freed = false;
        for artifact in &self.sending {
            if artifacts.get(&artifact.sha256) == Some(&State::Sending) {
                artifacts.remove(&artifact.sha256);
                freed = true;
            }
        }
        drop(artifacts);
        if freed {
            self.account.changed.notify_all();
        }
    }
}

impl Drop for Claimed {
    fn drop(&mut self) {
        self.give_back();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why an artifact a saved plan names cannot be sent: the cache is unreadable, or the
/// artifact left it since the plan was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Missing {
    /// The artifact cache could not be opened (the reason).
    Cache(String),
    /// The artifact (its sha256 and size) is no longer in the cache.
    Gone { sha256: String, size: u64 },
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cache(why) => write!(f, "cannot open the artifact cache: {why}"),
            Self::Gone { sha256, size } => write!(
                f,
                "artifact {sha256} ({size} bytes) is no longer in the artifact cache; plan again"
            ),
        }
    }
}

/// Gives every artifact a file on this machine: a saved plan names them by hash only, and they
/// are found again in the artifact cache. Names the first one that is gone.
pub(crate) fn locate(artifacts: &mut [Artifact]) -> Result<(), Missing> {
    if artifacts.iter().all(|a| !a.path.as_os_str().is_empty()) {
        return Ok(());
    }
    let store = Store::user().map_err(|e| Missing::Cache(e.to_string()))?;
    for artifact in artifacts
        .iter_mut()
        .filter(|a| a.path.as_os_str().is_empty())
    {
        match store.find(&artifact.sha256) {
            Ok(Some(found)) if found.size == artifact.size => artifact.path = found.path,
            _ => {
                return Err(Missing::Gone {
                    sha256: artifact.sha256.clone(),
                    size: artifact.size,
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    fn artifact(name: &str) -> Artifact {
        Artifact {
            sha256: crate::facts::sha256_hex(name.as_bytes()),
            size: 1,
            path: std::path::PathBuf::from(format!("/nowhere/{name}")),
        }
    }

    fn hashes(claimed: &Claimed) -> Vec<&str> {
        claimed
            .sending()
            .iter()
            .map(|a| a.sha256.as_str())
            .collect()
    }

    #[test]
    fn an_artifact_is_sent_once_and_a_second_target_waits_only_until_it_arrived() {
        let deliveries = Deliveries::default();
        let (x, y) = (artifact("x"), artifact("y"));
        let first = deliveries.claim("node alice false", std::slice::from_ref(&x));
        assert_eq!(hashes(&first), [x.sha256.as_str()]);
        // Another account, or an artifact nobody sends: no wait.
        let other = deliveries.claim("node bob false", std::slice::from_ref(&x));
        assert_eq!(other.sending().len(), 1);
        let free = deliveries.claim("node alice false", std::slice::from_ref(&y));
        assert_eq!(hashes(&free), [y.sha256.as_str()]);
        let waited = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let second = scope.spawn(|| {
                let claimed = deliveries.claim("node alice false", &[x.clone(), y.clone()]);
                waited.store(true, Ordering::SeqCst);
                claimed.sending().len()
            });
            std::thread::sleep(Duration::from_millis(200));
            assert!(!waited.load(Ordering::SeqCst), "x and y are on their way");
            free.watch(format!("@@pid 7\n@@blob {}\n", y.sha256).as_bytes());
            std::thread::sleep(Duration::from_millis(200));
            assert!(!waited.load(Ordering::SeqCst), "x is still on its way");
            // The line arrives in two pieces; the apply goes on (its lock, its steps).
            first.watch(format!("@@pid 8\n@@blob {}", &x.sha256[..10]).as_bytes());
            first.watch(format!("{}\n@@step 0 changed 0\n", &x.sha256[10..]).as_bytes());
            assert_eq!(
                second.join().expect("second"),
                0,
                "both arrived: nothing to send"
            );
        });
        assert!(waited.load(Ordering::SeqCst));
    }

    #[test]
    fn a_delivery_that_failed_gives_its_claim_back_to_the_next_target() {
        let deliveries = Deliveries::default();
        let x = artifact("x");
        let first = deliveries.claim("acct", std::slice::from_ref(&x));
        std::thread::scope(|scope| {
            let second = scope.spawn(|| {
                deliveries
                    .claim("acct", std::slice::from_ref(&x))
                    .sending()
                    .len()
            });
            std::thread::sleep(Duration::from_millis(100));
            first.watch(b"@@pid 9\n@@error an artifact arrived damaged or could not be stored\n");
            assert_eq!(
                second.join().expect("second"),
                1,
                "the next target sends it"
            );
        });
        // A claim dropped without a word (the link dropped) gives it back too.
        let third = deliveries.claim("acct", std::slice::from_ref(&x));
        assert_eq!(third.sending().len(), 1);
        drop(third);
        let fourth = deliveries.claim("acct", std::slice::from_ref(&x));
        fourth.finish(&format!("@@pid 1\n@@blob {}\n", x.sha256));
        assert!(deliveries.claim("acct", &[x]).sending().is_empty());
    }
}
