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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn host(name: &str, yaml: &str) -> Host {
        let node = crate::yaml::parse(&SourceFile::new("inv.yml", yaml)).expect("yaml");
        Host {
            name: name.to_owned(),
            vars: node
                .as_map()
                .expect("map")
                .iter()
                .map(|(k, v)| (k.key().to_owned(), Var::Raw(v.clone())))
                .collect(),
            groups: vec!["all".to_owned(), "web".to_owned()],
        }
    }

    #[test]
    fn hosts_in_inventory_order_each_rendered_in_its_own_variables_from_many_threads() {
        let templar = Arc::new(Templar::new());
        let url = "url: 'http://{{ inventory_hostname }}:{{ port }}'\n";
        let hosts = Arc::new(vec![
            host("b", &format!("port: 2\n{url}")),
            host("a", &format!("port: 1\n{url}")),
        ]);
        let shared = Shared {
            groups: JValue::from(()),
            common: Vec::new(),
        };
        let hostvars = JValue::from_object(HostVars::new(
            &templar,
            &hosts,
            &BTreeMap::new(),
            &[],
            &shared,
        ));
        let names: Vec<String> = hostvars
            .try_iter()
            .expect("iterable")
            .map(|v| v.to_string())
            .collect();
        assert_eq!(names, ["b", "a"]);
        let url_of = |h: &str| {
            hostvars
                .get_attr(h)
                .and_then(|v| v.get_attr("url"))
                .map(|v| v.to_string())
                .expect("attribute")
        };
        assert!(hostvars.get_attr("c").expect("attr").is_undefined());
        // Many compiles read one host's variables at once: never a false cycle, never another
        // thread's error.
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..20 {
                        assert_eq!(url_of("a"), "http://a:1");
                        assert_eq!(url_of("b"), "http://b:2");
                    }
                });
            }
        });
    }
}
