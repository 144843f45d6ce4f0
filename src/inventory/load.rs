//! Reads an inventory file or folder (plus `group_vars/` and `host_vars/` beside it).
//!
//! Variable precedence inside the inventory, lowest first (as in Ansible): groups by depth
//! (`all`, then top-level groups, then their children; same depth by name), each group's inline
//! `vars:` then its `group_vars/` file; then the host's inline variables, then `host_vars/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Group, Host, Inventory};
use crate::error::{Error, Result};
use crate::fields::{wrong_type, Fields};
use crate::template::Var;
use crate::yaml::{self, Node};

/// Loads `path` (a file, or a folder of `*.yml`/`*.yaml` inventories).
pub(crate) fn load(path: &Path) -> Result<Inventory> {
    let (files, base) = if path.is_dir() {
        let mut files: Vec<PathBuf> = read_dir(path)?
            .into_iter()
            .filter(|p| p.is_file() && is_yaml(p))
            .collect();
        files.sort();
        (files, path.to_path_buf())
    } else if path.is_file() {
        (
            vec![path.to_path_buf()],
            path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        )
    } else {
        return Err(
            Error::usage(format!("inventory `{}` does not exist", path.display()))
                .with_help("pass -i FILE_OR_DIR, or create ./inventory/"),
        );
    };
    let mut builder = Builder::default();
    builder.group("all", 0);
    for file in &files {
        let root = yaml::load_file(file)?;
        if root.is_null() {
            continue;
        }
        let Some(groups) = root.as_map() else {
            return Err(wrong_type(&root, "a mapping of groups", "an inventory"));
        };
        for (name, def) in groups {
            builder.read_group(name.key(), def, 1)?;
        }
    }
    builder.finish(&base)
}

fn is_yaml(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, &e))?;
    Ok(entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
}

#[derive(Default)]
struct Builder {
    groups: BTreeMap<String, Group>,
    group_vars: BTreeMap<String, Vec<(String, Node)>>,
    hosts: Vec<String>,
    host_vars: BTreeMap<String, Vec<(String, Node)>>,
}

impl Builder {
    fn group(&mut self, name: &str, depth: usize) -> &mut Group {
        let group = self.groups.entry(name.to_owned()).or_default();
        group.depth = group.depth.max(depth);
        group
    }

    fn read_group(&mut self, name: &str, def: &Node, depth: usize) -> Result<()> {
        let depth = if name == "all" { 0 } else { depth };
        self.group(name, depth);
        if def.is_null() {
            return Ok(());
        }
        let fields = Fields::new(
            def,
            format!("group `{name}`"),
            &["hosts", "children", "vars"],
        )?;
        if let Some(hosts) = fields.get("hosts") {
            let entries = hosts
                .as_map()
                .ok_or_else(|| wrong_type(hosts, "a mapping of host names", "`hosts`"))?;
            for (host_key, vars) in entries {
                for host in expand_range(host_key)? {
                    if !self.hosts.contains(&host) {
                        self.hosts.push(host.clone());
                    }
                    self.group(name, depth).hosts.push(host.clone());
                    if !vars.is_null() {
                        let vars = entries_of(vars, &format!("host `{host}`"))?;
                        self.host_vars.entry(host).or_default().extend(vars);
                    }
                }
            }
        }
        if let Some(vars) = fields.mapping("vars")? {
            let vars = entries_of(vars, "`vars`")?;
            self.group_vars
                .entry(name.to_owned())
                .or_default()
                .extend(vars);
        }
        if let Some(children) = fields.get("children") {
            let entries = children
                .as_map()
                .ok_or_else(|| wrong_type(children, "a mapping of groups", "`children`"))?;
            for (child, def) in entries {
                self.group(name, depth)
                    .children
                    .push(child.key().to_owned());
                self.read_group(child.key(), def, depth + 1)?;
            }
        }
        Ok(())
    }

    fn finish(mut self, base: &Path) -> Result<Inventory> {
        // Files in group_vars/ and host_vars/ rank above the inventory's inline variables.
        let group_names: Vec<String> = self.groups.keys().cloned().collect();
        for name in &group_names {
            for vars in vars_files(&base.join("group_vars"), name)? {
                self.group_vars
                    .entry(name.clone())
                    .or_default()
                    .extend(vars);
            }
        }
        for host in &self.hosts {
            for vars in vars_files(&base.join("host_vars"), host)? {
                self.host_vars.entry(host.clone()).or_default().extend(vars);
            }
        }
        let dir = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
        let mut inventory = Inventory {
            groups: self.groups,
            hosts: Vec::new(),
            dir,
        };
        for name in &self.hosts {
            let mut member_of: Vec<&str> = vec!["all"];
            for (group, _) in inventory.groups.iter().filter(|(g, _)| *g != "all") {
                if contains(&inventory.groups, group, name, 0) {
                    member_of.push(group);
                }
            }
            member_of.sort_by_key(|g| (inventory.groups.get(*g).map_or(0, |g| g.depth), *g));
            let mut vars = BTreeMap::new();
            for group in &member_of {
                for (k, v) in self.group_vars.get(*group).into_iter().flatten() {
                    vars.insert(k.clone(), Var::Raw(v.clone()));
                }
            }
            for (k, v) in self.host_vars.get(name).into_iter().flatten() {
                vars.insert(k.clone(), Var::Raw(v.clone()));
            }
            let groups = member_of.iter().map(|g| (*g).to_owned()).collect();
            inventory.hosts.push(Host {
                name: name.clone(),
                vars,
                groups,
            });
        }
        Ok(inventory)
    }
}

/// Whether `host` is in `group` directly or through its children.
fn contains(groups: &BTreeMap<String, Group>, group: &str, host: &str, depth: usize) -> bool {
    let Some(g) = groups.get(group) else {
        return false;
    };
    depth < 64
        && (g.hosts.iter().any(|h| h == host)
            || g.children
                .iter()
                .any(|c| contains(groups, c, host, depth + 1)))
}

fn entries_of(node: &Node, context: &str) -> Result<Vec<(String, Node)>> {
    let entries = node
        .as_map()
        .ok_or_else(|| wrong_type(node, "a mapping of variables", context))?;
    Ok(entries
        .iter()
        .map(|(k, v)| (k.key().to_owned(), v.clone()))
        .collect())
}

/// `group_vars/NAME.yml`, `NAME.yaml`, `NAME` or every YAML file in the folder `NAME/`.
fn vars_files(dir: &Path, name: &str) -> Result<Vec<Vec<(String, Node)>>> {
    let mut paths: Vec<PathBuf> = ["yml", "yaml"]
        .iter()
        .map(|e| dir.join(format!("{name}.{e}")))
        .collect();
    paths.push(dir.join(name));
    let mut out = Vec::new();
    for path in paths {
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = read_dir(&path)?
                .into_iter()
                .filter(|p| is_yaml(p))
                .collect();
            files.sort();
            files
        } else if path.is_file() {
            vec![path]
        } else {
            continue;
        };
        for file in files {
            let node = yaml::load_file(&file)?;
            if !node.is_null() {
                out.push(entries_of(&node, "a variables file")?);
            }
        }
    }
    Ok(out)
}

/// `web[01:03]` → web01, web02, web03 (Ansible's numeric host ranges, zero padding kept).
fn expand_range(key: &Node) -> Result<Vec<String>> {
    let name = key.key();
    let (Some(open), Some(close)) = (name.find('['), name.find(']')) else {
        return Ok(vec![name.to_owned()]);
    };
    let bad = || {
        Error::invalid(
            format!("invalid host range `{name}` (expected like `web[01:10]`)"),
            &key.span,
        )
    };
    let inner = name.get(open + 1..close).ok_or_else(bad)?;
    let (from, to) = inner.split_once(':').ok_or_else(bad)?;
    let (a, b): (u64, u64) = (
        from.parse().map_err(|_| bad())?,
        to.parse().map_err(|_| bad())?,
    );
    if a > b || b - a > 10_000 {
        return Err(bad());
    }
    let width = if from.starts_with('0') { from.len() } else { 0 };
    Ok((a..=b)
        .map(|n| format!("{}{n:0width$}{}", &name[..open], &name[close + 1..]))
        .collect())
}
