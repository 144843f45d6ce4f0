//! Collects groups, hosts and variables from every inventory source (YAML, INI, `group_vars/`,
//! `host_vars/`) and resolves them into an [`Inventory`] the way Ansible's inventory data does:
//! groups without a parent become children of `all`, hosts in no group land in `ungrouped`, and
//! group variables apply by depth.
//!
//! Variable precedence inside the inventory, lowest first (as in Ansible): groups by depth
//! (`all`, then top-level groups, then their children; same depth by name), each group's inline
//! variables then its `group_vars/` file; then the host's inline variables, then `host_vars/`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::{Group, Host, Inventory};
use crate::template::Var;
use crate::transport::ConnectionDefaults;
use crate::yaml::Node;

/// Names that reach the implicit `localhost` when the inventory does not define them (Ansible's
/// `C.LOCALHOST`).
pub(crate) const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The inventory being assembled; sources call it in file order.
#[derive(Debug)]
pub(crate) struct Builder {
    groups: BTreeMap<String, Group>,
    group_vars: BTreeMap<String, Vec<(String, Node)>>,
    hosts: Vec<String>,
    host_vars: BTreeMap<String, Vec<(String, Node)>>,
    /// `(group, host)` pairs already recorded, so big inventories load in linear time.
    memberships: HashSet<(String, String)>,
}

impl Default for Builder {
    /// `all` and `ungrouped` always exist, as in Ansible.
    fn default() -> Self {
        let mut builder = Self {
            groups: BTreeMap::new(),
            group_vars: BTreeMap::new(),
            hosts: Vec::new(),
            host_vars: BTreeMap::new(),
            memberships: HashSet::new(),
        };
        builder.add_group("all");
        builder.add_group("ungrouped");
        builder
    }
}

impl Builder {
    /// INI needs it: `[g:vars]` before `[g]` is pending until `g` is defined.
    pub(crate) fn has_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }

    /// Declares a group; declaring it again changes nothing.
    pub(crate) fn add_group(&mut self, name: &str) {
        self.groups.entry(name.to_owned()).or_default();
    }

    /// Adds `host` to `group`; a `host:port` pattern sets `ansible_port` (as Ansible's
    /// `add_host(port=)` does, below the host's own variables).
    pub(crate) fn add_host(&mut self, host: &str, group: &str, port: Option<(u16, &Node)>) {
        if self.memberships.insert(("all".to_owned(), host.to_owned())) {
            self.hosts.push(host.to_owned());
        }
        self.add_group(group);
        if self.memberships.insert((group.to_owned(), host.to_owned())) {
            let members = &mut self.groups.entry(group.to_owned()).or_default().hosts;
            members.push(host.to_owned());
        }
        if let Some((port, at)) = port {
            let value = Node {
                value: crate::yaml::Value::Scalar {
                    text: port.to_string(),
                    plain: true,
                },
                span: at.span.clone(),
            };
            self.set_host_var(host, "ansible_port", value);
        }
    }

    /// Makes `child` (declared if new) a child of `parent`, once.
    pub(crate) fn add_child(&mut self, parent: &str, child: &str) {
        self.add_group(child);
        let children = &mut self.groups.entry(parent.to_owned()).or_default().children;
        if !children.iter().any(|c| c == child) {
            children.push(child.to_owned());
        }
    }

    /// A group variable; a later definition of the same key wins.
    pub(crate) fn set_group_var(&mut self, group: &str, key: &str, value: Node) {
        self.group_vars
            .entry(group.to_owned())
            .or_default()
            .push((key.to_owned(), value));
    }

    /// A host variable; a later definition of the same key wins.
    pub(crate) fn set_host_var(&mut self, host: &str, key: &str, value: Node) {
        self.host_vars
            .entry(host.to_owned())
            .or_default()
            .push((key.to_owned(), value));
    }

    /// For the `group_vars/` lookup, which needs every group name.
    pub(crate) fn group_names(&self) -> Vec<String> {
        self.groups.keys().cloned().collect()
    }

    /// For the `host_vars/` lookup, which needs every host name.
    pub(crate) fn host_names(&self) -> Vec<String> {
        self.hosts.clone()
    }

    /// Resolves memberships and precedence. `localhost_vars` are the `host_vars/` files of the
    /// implicit localhost names (read by the caller, which knows the folders).
    pub(crate) fn finish(
        mut self,
        base: &Path,
        defaults: ConnectionDefaults,
        localhost_vars: &BTreeMap<String, Vec<(String, Node)>>,
    ) -> Inventory {
        self.reconcile();
        let depths = depths(&self.groups);
        let dir = std::fs::canonicalize(base).unwrap_or_else(|_| PathBuf::from(base));
        let mut inventory = Inventory {
            groups: std::mem::take(&mut self.groups),
            dir,
            defaults,
            ..Inventory::default()
        };
        for (name, group) in &mut inventory.groups {
            group.depth = depths.get(name).copied().unwrap_or(1);
        }
        let mut member_of_all: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for group in inventory.groups.keys().filter(|g| *g != "all") {
            for host in transitive_hosts(&inventory.groups, group) {
                member_of_all.entry(host).or_default().push(group);
            }
        }
        let mut hosts = Vec::with_capacity(self.hosts.len());
        for name in &self.hosts {
            let mut member_of: Vec<&str> = vec!["all"];
            member_of.extend(member_of_all.remove(name.as_str()).unwrap_or_default());
            member_of.sort_by_key(|g| (depths.get(*g).copied().unwrap_or(1), *g));
            let mut vars = BTreeMap::new();
            for group in &member_of {
                for (k, v) in self.group_vars.get(*group).into_iter().flatten() {
                    vars.insert(k.clone(), Var::Raw(v.clone()));
                }
            }
            for (k, v) in self.host_vars.get(name).into_iter().flatten() {
                vars.insert(k.clone(), Var::Raw(v.clone()));
            }
            hosts.push(Host {
                name: name.clone(),
                vars,
                groups: member_of.iter().map(|g| (*g).to_owned()).collect(),
            });
        }
        inventory.hosts = std::sync::Arc::new(hosts);
        inventory.index = inventory
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.name.clone(), i))
            .collect();
        inventory.implicit = self.implicit_localhosts(localhost_vars);
        inventory
    }

    /// Ansible's `reconcile_inventory`: parentless groups join `all`; `ungrouped` holds exactly
    /// the hosts that belong to no other group.
    fn reconcile(&mut self) {
        let parented: Vec<String> = self
            .groups
            .values()
            .flat_map(|g| g.children.iter().cloned())
            .collect();
        let orphans: Vec<String> = self
            .groups
            .keys()
            .filter(|g| *g != "all" && !parented.contains(g))
            .cloned()
            .collect();
        for group in orphans {
            self.add_child("all", &group);
        }
        let grouped: HashSet<String> = self
            .groups
            .iter()
            .filter(|(g, _)| *g != "all" && *g != "ungrouped")
            .flat_map(|(_, g)| g.hosts.iter().cloned())
            .collect();
        let lonely: Vec<String> = self
            .hosts
            .iter()
            .filter(|h| !grouped.contains(*h))
            .cloned()
            .collect();
        if let Some(ungrouped) = self.groups.get_mut("ungrouped") {
            ungrouped.hosts = lonely;
        }
        if let Some(all) = self.groups.get_mut("all") {
            all.hosts.clear();
        }
    }

    /// Ansible's implicit localhost: `ansible_connection: local`, in no group, but with `all`'s
    /// variables and its own `host_vars/` file.
    fn implicit_localhosts(
        &self,
        localhost_vars: &BTreeMap<String, Vec<(String, Node)>>,
    ) -> Vec<Host> {
        let all_vars = self.group_vars.get("all");
        LOCALHOST_NAMES
            .iter()
            .filter(|name| !self.hosts.iter().any(|h| h == *name))
            .map(|name| {
                let mut vars: BTreeMap<String, Var> = all_vars
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), Var::Raw(v.clone())))
                    .collect();
                vars.insert(
                    "ansible_connection".to_owned(),
                    Var::Raw(Node::string(
                        "local".to_owned(),
                        crate::source::Span {
                            file: crate::source::SourceFile::new("<implicit localhost>", "local"),
                            start: 0,
                            end: 5,
                        },
                    )),
                );
                for (k, v) in localhost_vars.get(*name).into_iter().flatten() {
                    vars.insert(k.clone(), Var::Raw(v.clone()));
                }
                Host {
                    name: (*name).to_owned(),
                    vars,
                    groups: Vec::new(),
                }
            })
            .collect()
    }
}

/// Each group's depth below `all` (the longest path, as Ansible's `Group.depth`), which orders
/// group variables.
fn depths(groups: &BTreeMap<String, Group>) -> BTreeMap<String, usize> {
    let mut depth: BTreeMap<String, usize> = BTreeMap::new();
    depth.insert("all".to_owned(), 0);
    // Relax edges; a cycle cannot raise a depth beyond the number of groups.
    for _ in 0..groups.len() {
        let mut changed = false;
        for (parent, group) in groups {
            let Some(&d) = depth.get(parent) else {
                continue;
            };
            for child in &group.children {
                let next = (d + 1).min(groups.len());
                if depth.get(child).is_none_or(|c| *c < next) {
                    depth.insert(child.clone(), next);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

/// Every host in `group`, directly or through its children (each once; cycles end).
fn transitive_hosts<'g>(groups: &'g BTreeMap<String, Group>, group: &'g str) -> HashSet<&'g str> {
    let mut hosts = HashSet::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut todo = vec![group];
    while let Some(name) = todo.pop() {
        if !seen.insert(name) {
            continue;
        }
        if let Some(g) = groups.get(name) {
            hosts.extend(g.hosts.iter().map(String::as_str));
            todo.extend(g.children.iter().map(String::as_str));
        }
    }
    hosts
}
