//! Hosts, groups and their variables, loaded from Ansible-shaped YAML inventories.

mod load;
mod pattern;

use std::collections::BTreeMap;

pub(crate) use load::load;
pub(crate) use pattern::{glob, select};

use crate::template::Var;

/// One target: an inventory entry. Several entries may share one address (squads on one server).
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub(crate) name: String,
    /// Inventory variables after group/host precedence (templated entries still raw).
    pub(crate) vars: BTreeMap<String, Var>,
    /// Every group the host belongs to, directly or through children, `all` first.
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
    pub(crate) hosts: Vec<Host>,
    pub(crate) groups: BTreeMap<String, Group>,
    /// The folder the inventory was read from (`inventory_dir`), for paths relative to it.
    pub(crate) dir: std::path::PathBuf,
}

impl Inventory {
    pub(crate) fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
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
