//! Hosts, groups and their variables, loaded from Ansible YAML and INI inventories.

mod builder;
mod ini;
mod load;
mod pattern;
mod pyliteral;
mod range;
mod yaml_source;

use std::collections::BTreeMap;

pub(crate) use load::open;
pub(crate) use pattern::{select, select_play};

use crate::template::Var;
use crate::transport::ConnectionDefaults;

/// One target: an inventory entry. Several entries may share one address (squads on one server).
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub(crate) name: String,
    /// Inventory variables after group/host precedence (templated entries still raw).
    pub(crate) vars: BTreeMap<String, Var>,
    /// Every group the host belongs to, directly or through children, `all` first (empty for
    /// the implicit localhost, which belongs to no group).
    pub(crate) groups: Vec<String>,
}

/// A group as written: direct hosts, child groups, own variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Group {
    pub(crate) hosts: Vec<String>,
    pub(crate) children: Vec<String>,
    pub(crate) depth: usize,
}

/// The whole inventory; hosts keep file order.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    /// Shared (never copied per host): the lazy `hostvars` of a run reads them (compile/hostvars.rs).
    pub(crate) hosts: std::sync::Arc<Vec<Host>>,
    pub(crate) groups: BTreeMap<String, Group>,
    /// The folder the inventory was read from (`inventory_dir`), for paths relative to it.
    pub(crate) dir: std::path::PathBuf,
    /// Ansible's implicit `localhost` (and `127.0.0.1`, `::1`) when the inventory does not name
    /// them: matched only by their exact name, never by `all` or a group.
    pub(crate) implicit: Vec<Host>,
    /// Connection defaults from `ansible.cfg`, below every host variable.
    pub(crate) defaults: ConnectionDefaults,
    /// Position of each host in `hosts`: compile looks hosts up per task, so this must not scan.
    pub(crate) index: std::collections::HashMap<String, usize>,
}

impl Inventory {
    /// A host by name, the implicit localhost included.
    pub(crate) fn host(&self, name: &str) -> Option<&Host> {
        match self.index.get(name) {
            Some(&i) => self.hosts.get(i),
            None if self.index.is_empty() => self.hosts.iter().find(|h| h.name == name),
            None => None,
        }
        .or_else(|| self.implicit.iter().find(|h| h.name == name))
    }

    /// Every host of `group`, through child groups, in inventory order.
    pub(crate) fn group_members(&self, group: &str) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|h| h.groups.iter().any(|g| g == group))
            .map(|h| h.name.as_str())
            .collect()
    }
}
