//! YAML inventories, read as Ansible's `yaml` inventory plugin reads them: top-level keys are
//! groups; a group has `hosts` (host patterns, with ranges and `:port`), `vars` and `children`.

use super::builder::Builder;
use super::range::expand_hostpattern;
use crate::error::{Error, Result};
use crate::fields::{wrong_type, Fields};
use crate::yaml::Node;

/// Reads one parsed YAML inventory document into `into`.
pub(crate) fn read(root: &Node, into: &mut Builder) -> Result<()> {
    if root.is_null() {
        return Ok(());
    }
    let Some(groups) = root.as_map() else {
        return Err(wrong_type(root, "a mapping of groups", "an inventory"));
    };
    for (name, def) in groups {
        read_group(name.key(), def, into, 0)?;
    }
    Ok(())
}

/// One group and, recursively, its children (depth-limited against runaway nesting).
fn read_group(name: &str, def: &Node, into: &mut Builder, depth: usize) -> Result<()> {
    into.add_group(name);
    if def.is_null() {
        return Ok(());
    }
    if depth > 64 {
        return Err(Error::invalid(
            format!("group `{name}` is nested too deeply"),
            &def.span,
        ));
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
        for (key, vars) in entries {
            let (names, port) =
                expand_hostpattern(key.key()).map_err(|e| e.with_span(&key.span))?;
            let vars = if vars.is_null() {
                Vec::new()
            } else {
                entries_of(vars, &format!("host `{}`", key.key()))?
            };
            for host in names {
                into.add_host(&host, name, port.map(|p| (p, key)));
                for (k, v) in &vars {
                    into.set_host_var(&host, k, v.clone());
                }
            }
        }
    }
    if let Some(vars) = fields.mapping("vars")? {
        for (k, v) in entries_of(vars, "`vars`")? {
            into.set_group_var(name, &k, v);
        }
    }
    if let Some(children) = fields.get("children") {
        let entries = children
            .as_map()
            .ok_or_else(|| wrong_type(children, "a mapping of groups", "`children`"))?;
        for (child, def) in entries {
            read_group(child.key(), def, into, depth + 1)?;
            into.add_child(name, child.key());
        }
    }
    Ok(())
}

/// The entries of a variables mapping, in file order.
pub(crate) fn entries_of(node: &Node, context: &str) -> Result<Vec<(String, Node)>> {
    let entries = node
        .as_map()
        .ok_or_else(|| wrong_type(node, "a mapping of variables", context))?;
    Ok(entries
        .iter()
        .map(|(k, v)| (k.key().to_owned(), v.clone()))
        .collect())
}
