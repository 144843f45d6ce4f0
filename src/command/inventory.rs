//! `recon inventory`: hosts, groups and resolved variables.

use std::fmt::Write as _;

use crate::cli::InventoryArgs;
use crate::compile::{self};
use crate::error::Result;
use crate::exit;

use super::load::load_inventory;

pub(super) fn list_inventory(args: &InventoryArgs) -> Result<i32> {
    let inventory = load_inventory(args.source.inventory.as_deref())?;
    let extra = compile::parse_extra_vars(&args.source.extra_vars)?;
    let mut hosts = Vec::new();
    for host in inventory.hosts.iter() {
        let vars = compile::resolved_host_vars(&inventory, &host.name, &extra)?;
        hosts.push((host, vars));
    }
    if args.json {
        let groups: serde_json::Map<String, serde_json::Value> = inventory
            .groups
            .keys()
            .map(|g| (g.clone(), serde_json::json!(inventory.group_members(g))))
            .collect();
        let host_map: serde_json::Map<String, serde_json::Value> = hosts
            .iter()
            .map(|(h, vars)| {
                (
                    h.name.clone(),
                    serde_json::to_value(vars).unwrap_or_default(),
                )
            })
            .collect();
        crate::secret::print(&format!(
            "{}\n",
            crate::secret::json_pretty(&serde_json::json!({ "groups": groups, "hosts": host_map }))
        ));
        return Ok(exit::OK);
    }
    let mut out = String::from("groups:\n");
    for group in inventory.groups.keys() {
        let _ = writeln!(
            out,
            "  {group}: {}",
            inventory.group_members(group).join(", ")
        );
    }
    out.push_str("hosts:\n");
    for (host, vars) in &hosts {
        let _ = writeln!(out, "  {}", host.name);
        for (k, v) in vars {
            let _ = writeln!(
                out,
                "    {k}: {}",
                serde_json::to_string(v).unwrap_or_default()
            );
        }
    }
    crate::secret::print(&out);
    Ok(exit::OK)
}
