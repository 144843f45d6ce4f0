//! One connection per target for the whole run: each host worker takes its transport out, uses
//! it, and puts it back, so a second play (or the apply after the plan) reuses the session.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::{connect, Stats, Target, Transport, TransportError};

/// Open transports by host name.
#[derive(Default)]
pub(crate) struct Pool {
    slots: Mutex<HashMap<String, Box<dyn Transport>>>,
}

impl Pool {
    /// Runs `f` with `host`'s transport, connecting first if needed.
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
            None => connect(target)?,
        };
        let result = f(transport.as_mut());
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(host.to_owned(), transport);
        Ok(result)
    }

    /// Counters of every host's transport.
    pub(crate) fn stats(&self) -> Vec<(String, Stats)> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<(String, Stats)> =
            slots.iter().map(|(h, t)| (h.clone(), t.stats())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
