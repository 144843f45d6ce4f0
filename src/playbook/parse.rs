//! Spanned YAML → `Playbook`. Unknown keys, wrong types and unknown resources are located errors.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::role::RoleCache;
use super::tasks::{task_list, variables};
use super::{Play, Playbook, RoleUse};
use crate::error::{Error, ErrorKind, Result};
use crate::fields::{scalar, wrong_type, Fields};
use crate::yaml::{self, Node};

/// Loads a playbook and every role it uses.
pub(crate) fn load(path: &Path, roles: &mut RoleCache) -> Result<Playbook> {
    let root = yaml::load_file(path)?;
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let Some(items) = root.as_seq() else {
        return Err(wrong_type(&root, "a list of plays", "a playbook"));
    };
    let plays = items
        .iter()
        .map(|p| parse_play(p, &dir, roles))
        .collect::<Result<_>>()?;
    let playbook = Playbook {
        path: path.to_path_buf(),
        dir,
        plays,
    };
    super::validate::playbook(&playbook)?;
    Ok(playbook)
}

const PLAY_KEYS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "roles",
    "tasks",
    "handlers",
    "serial",
    "become",
    "remote_user",
];

fn parse_play(node: &Node, dir: &Path, roles: &mut RoleCache) -> Result<Play> {
    let f = Fields::new(node, "a play", PLAY_KEYS)?;
    let hosts_node = f.require("hosts")?;
    let hosts = scalar(hosts_node, "`hosts`")?;
    let name = f.string("name")?.unwrap_or_else(|| hosts.clone());
    let vars = variables(f.mapping("vars")?)?;
    let vars_files = match f.get("vars_files") {
        Some(n) => n
            .as_seq()
            .ok_or_else(|| wrong_type(n, "a list of files", "`vars_files`"))?
            .to_vec(),
        None => Vec::new(),
    };
    let mut role_uses = Vec::new();
    if let Some(list) = f.get("roles") {
        let items = list
            .as_seq()
            .ok_or_else(|| wrong_type(list, "a list of roles", "`roles`"))?;
        for item in items {
            role_uses.push(role_use(item, dir, roles)?);
        }
    }
    Ok(Play {
        name,
        hosts,
        hosts_span: hosts_node.span.clone(),
        vars,
        vars_files,
        roles: role_uses,
        tasks: task_list(f.get("tasks"), "`tasks`")?,
        handlers: task_list(f.get("handlers"), "`handlers`")?,
        serial: f.get("serial").cloned(),
        become_: f.boolean("become")?.unwrap_or(false),
        remote_user: f.string("remote_user")?,
    })
}

/// `- nginx_site` or `- { role: nginx_site, port: 52209 }`.
fn role_use(item: &Node, dir: &Path, roles: &mut RoleCache) -> Result<RoleUse> {
    if let Some(name) = item.scalar_text() {
        return Ok(RoleUse {
            role: roles.get(name, &item.span, dir)?,
            params: Vec::new(),
        });
    }
    let entries = item
        .as_map()
        .ok_or_else(|| wrong_type(item, "a role name or mapping", "a role"))?;
    let name_node = item.get("role").ok_or_else(|| {
        Error::at(
            ErrorKind::MissingKey {
                key: "role".into(),
                context: "a role".into(),
            },
            &item.span,
        )
    })?;
    let name = scalar(name_node, "`role`")?;
    let role: Arc<_> = roles.get(&name, &name_node.span, dir)?;
    let params = entries
        .iter()
        .filter(|(k, _)| k.key() != "role")
        .map(|(k, v)| (k.key().to_owned(), v.clone()))
        .collect();
    Ok(RoleUse { role, params })
}
