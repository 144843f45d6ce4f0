//! `hostvars`, lazily: a host's variables are gathered into a context only when a template
//! first reads `hostvars[host]`, then kept for the rest of the run. Built eagerly for every
//! host, `hostvars` cost each run a copy of every host's variables before the first task
//! compiled, and most plays never read it. The object owns (shares) all it needs, so it is
//! independent of the compiler's borrows, and it has no global state: each run has its own.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as JValue};

use super::magic::Shared;
use crate::inventory::Host;
use crate::template::{Context, Templar, Var};
use crate::vars::Scopes;
use crate::yaml::Node;

/// Every inventory host's variables, by name, rendered on demand.
pub(super) struct HostVars {
    templar: Arc<Templar>,
    hosts: Arc<Vec<Host>>,
    /// Position of each host in `hosts`.
    index: HashMap<String, usize>,
    /// Gathered facts per host (part of its `hostvars`).
    facts: BTreeMap<String, JValue>,
    extra: Vec<(String, Node)>,
    shared: Shared,
    /// Each host's context, made the first time it is read.
    contexts: Vec<OnceLock<JValue>>,
}

impl HostVars {
    /// `hostvars` for `hosts`; nothing is copied or rendered per host until it is read.
    pub(super) fn new(
        templar: &Arc<Templar>,
        hosts: &Arc<Vec<Host>>,
        facts: &BTreeMap<String, JValue>,
        extra: &[(String, Node)],
        shared: &Shared,
    ) -> Self {
        Self {
            templar: Arc::clone(templar),
            hosts: Arc::clone(hosts),
            index: hosts
                .iter()
                .enumerate()
                .map(|(i, h)| (h.name.clone(), i))
                .collect(),
            facts: facts.clone(),
            extra: extra.to_vec(),
            shared: shared.clone(),
            contexts: hosts.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    /// Host `i`'s variables as its tasks would see them before any play: inventory, gathered
    /// facts, built-ins and extra variables (every template still raw: rendered when read).
    fn context(&self, i: usize) -> Option<JValue> {
        let host = self.hosts.get(i)?;
        let slot = self.contexts.get(i)?;
        Some(
            slot.get_or_init(|| {
                let facts: Vec<(String, Var)> = self
                    .facts
                    .get(&host.name)
                    .map(super::gathered::names)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, Var::Ready(v)))
                    .collect();
                let vars = Scopes {
                    inventory: Some(&host.vars),
                    facts: &facts,
                    builtins: self.shared.of_host(&host.name, Some(host)),
                    extra: &self.extra,
                    ..Scopes::default()
                };
                Context::new(&self.templar, vars.flatten()).value()
            })
            .clone(),
        )
    }
}

impl std::fmt::Debug for HostVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostVars")
            .field("hosts", &self.hosts.len())
            .finish_non_exhaustive()
    }
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        self.context(*self.index.get(key.as_str()?)?)
    }

    /// Host names in inventory order (`hostvars | dict2items`, `for h in hostvars`).
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.hosts
                .iter()
                .map(|h| JValue::from(h.name.as_str()))
                .collect(),
        )
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.hosts.len())
    }
}
