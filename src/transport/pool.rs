//! One connection per target for the whole run: each host worker takes its transport out, uses
//! it, and puts it back, so the apply after the plan (and a second play) reuses the session.
//! Targets on one node (same sshd) open at most `node_forks` connections at a time, so thirty
//! squads on one droplet stay under sshd's `MaxStartups`. A failed connection is remembered
//! too: the apply after the plan (or a second play) gets the same error without dialling an
//! unreachable host again and waiting out another connect timeout.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, PoisonError};

use super::{connect, ConnectOptions, Stats, Target, Transport, TransportError};

/// Open transports by host name, and the per-node connection gate.
pub(crate) struct Pool {
    options: ConnectOptions,
    node_forks: usize,
    slots: Mutex<HashMap<String, Box<dyn Transport>>>,
    /// Counters of connections closed before the end of the run (for `--stats`).
    closed: Mutex<HashMap<String, Stats>>,
    failed: Mutex<HashMap<String, TransportError>>,
    connecting: Mutex<HashMap<String, usize>>,
    released: Condvar,
}

impl Pool {
    pub(crate) fn new(options: ConnectOptions, node_forks: usize) -> Self {
        Self {
            options,
            node_forks: node_forks.max(1),
            slots: Mutex::default(),
            closed: Mutex::default(),
            failed: Mutex::default(),
            connecting: Mutex::default(),
            released: Condvar::new(),
        }
    }

    /// Runs `f` with `host`'s transport, connecting first if needed; a host whose connection
    /// failed earlier in the run fails again with the same error, without a new dial.
    pub(crate) fn with<R>(
        &self,
        host: &str,
        target: &Target,
        f: impl FnOnce(&mut dyn Transport) -> R,
    ) -> Result<R, TransportError> {
        let existing = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(host);
        let mut transport = match existing {
            Some(t) => t,
            None => self.connect_once(host, target)?,
        };
        let result = f(transport.as_mut());
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(host.to_owned(), transport);
        Ok(result)
    }

    /// The remembered failure for `host`, else a gated dial whose failure is remembered.
    fn connect_once(
        &self,
        host: &str,
        target: &Target,
    ) -> Result<Box<dyn Transport>, TransportError> {
        let earlier = self
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(host)
            .cloned();
        if let Some(error) = earlier {
            return Err(error);
        }
        self.connect_gated(target).inspect_err(|error| {
            self.failed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(host.to_owned(), error.clone());
        })
    }

    /// Dials `target`, waiting while its node already has `node_forks` dials in flight.
    fn connect_gated(&self, target: &Target) -> Result<Box<dyn Transport>, TransportError> {
        let node = target.node();
        {
            let mut connecting = self
                .connecting
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            while connecting.get(&node).copied().unwrap_or(0) >= self.node_forks {
                connecting = self
                    .released
                    .wait(connecting)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            *connecting.entry(node.clone()).or_default() += 1;
        }
        let result = connect(target, &self.options);
        let mut connecting = self
            .connecting
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = connecting.get_mut(&node) {
            *n -= 1;
        }
        self.released.notify_all();
        result
    }

    /// Closes `host`'s connection now: nothing more will run on it in this run (a converged
    /// host after its probe). An open SSH session costs memory on both ends (libssh2's buffers
    /// here, an sshd process there), so a large fleet keeps only the hosts that have work open.
    pub(crate) fn close(&self, host: &str) {
        let transport = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(host);
        if let Some(transport) = transport {
            self.closed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(host.to_owned(), transport.stats());
        }
    }

    /// Counters of every host's transport, by host name (open or already closed).
    pub(crate) fn stats(&self) -> Vec<(String, Stats)> {
        let mut out: Vec<(String, Stats)> = self
            .closed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(h, s)| (h.clone(), *s))
            .collect();
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        out.extend(slots.iter().map(|(h, t)| (h.clone(), t.stats())));
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
