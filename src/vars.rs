//! Variable precedence, in ONE function. Lowest first, as in Ansible:
//!
//! 1. role defaults (every role of the play, in role order)
//! 2. inventory: group vars (`all` < parent group < child group), then host vars
//! 3. play `vars:`, then play `vars_files:`
//! 4. role `vars/` (every role of the play)
//! 5. role parameters (`roles: [{ role: x, port: 1 }]`), for that role's tasks only
//! 6. task `vars:`
//! 7. `set_fact`, `include_vars` and `register` of earlier tasks (later ones win)
//! 8. `loop` item (`item`)
//! 9. extra vars (`-e key=value`, `-e @file.yml`) — always win
//!
//! Built-ins (`inventory_hostname`, `groups`, `hostvars`, `playbook_dir`, `role_path`) are set
//! below extra vars and cannot be shadowed by files.

use std::collections::BTreeMap;

use minijinja::Value as JValue;

use crate::template::Var;
use crate::yaml::Node;

/// The scopes a task sees, each already ordered within itself.
#[derive(Default)]
pub(crate) struct Scopes<'a> {
    pub(crate) role_defaults: Vec<&'a [(String, Node)]>,
    pub(crate) inventory: Option<&'a BTreeMap<String, Var>>,
    pub(crate) play: Vec<&'a [(String, Node)]>,
    pub(crate) role_vars: Vec<&'a [(String, Node)]>,
    pub(crate) role_params: Option<&'a [(String, Node)]>,
    pub(crate) task: Option<&'a [(String, Node)]>,
    pub(crate) facts: &'a [(String, Var)],
    pub(crate) item: Option<(&'a str, JValue)>,
    pub(crate) builtins: Vec<(&'static str, JValue)>,
    pub(crate) extra: &'a [(String, Node)],
}

impl Scopes<'_> {
    /// Flattens the scopes into one map; later scopes overwrite earlier ones.
    pub(crate) fn flatten(&self) -> BTreeMap<String, Var> {
        let mut out = BTreeMap::new();
        for layer in &self.role_defaults {
            put(&mut out, layer);
        }
        if let Some(inventory) = self.inventory {
            out.extend(inventory.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        for layer in self
            .play
            .iter()
            .chain(&self.role_vars)
            .chain(&self.role_params)
            .chain(&self.task)
        {
            put(&mut out, layer);
        }
        out.extend(self.facts.iter().cloned());
        if let Some((name, value)) = &self.item {
            out.insert((*name).to_owned(), Var::Ready(value.clone()));
        }
        for (name, value) in &self.builtins {
            out.insert((*name).to_owned(), Var::Ready(value.clone()));
        }
        put(&mut out, self.extra);
        out
    }
}

fn put(out: &mut BTreeMap<String, Var>, layer: &[(String, Node)]) {
    for (k, v) in layer {
        out.insert(k.clone(), Var::Raw(v.clone()));
    }
}
