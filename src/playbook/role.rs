//! Roles: `roles/<name>/` with tasks, handlers, defaults, vars, templates/ and files/.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::tasks::{variables, Inherit, Loader};
use super::{RoleUse, TaskSpec};
use crate::error::{Error, ErrorKind, Result};
use crate::fields::{scalar, wrong_type};
use crate::source::Span;
use crate::yaml::{self, Node};

/// A loaded role. Loaded once per run, however many plays use it.
#[derive(Debug)]
pub(crate) struct Role {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    pub(crate) defaults: Vec<(String, Node)>,
    pub(crate) vars: Vec<(String, Node)>,
    pub(crate) tasks: Vec<TaskSpec>,
    pub(crate) handlers: Vec<TaskSpec>,
    /// Roles its tasks bring in with `include_role`/`import_role`.
    pub(crate) included: Vec<Arc<RoleUse>>,
    /// `meta/main.yml` `dependencies`: roles whose tasks run before this role's.
    pub(crate) dependencies: Vec<Arc<RoleUse>>,
    /// `meta/main.yml` `collections`: where its tasks' module names are looked up.
    pub(crate) collections: Vec<String>,
}

/// Ansible's `roles_path` when none is configured.
fn default_roles_path() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".ansible/roles"))
        .into_iter()
        .collect();
    paths.push(PathBuf::from("/usr/share/ansible/roles"));
    paths.push(PathBuf::from("/etc/ansible/roles"));
    paths
}

/// Roles by name, and where to look for them.
#[derive(Debug, Default)]
pub(crate) struct RoleCache {
    pub(crate) roles: Vec<Arc<Role>>,
    /// More folders to search after the built-in ones (`ansible.cfg` `roles_path`).
    pub(crate) search_path: Vec<PathBuf>,
    /// Roles being loaded (a role that includes itself is an error, not a hang).
    loading: Vec<String>,
}

impl RoleCache {
    /// A cache that also looks in `search_path` (Ansible's `roles_path`).
    pub(crate) fn with_search_path(search_path: Vec<PathBuf>) -> Self {
        Self {
            roles: Vec::new(),
            search_path,
            loading: Vec::new(),
        }
    }

    /// The role's folder: `roles/` beside the playbook, `../roles/` above it, `./roles/`, each
    /// `roles_path` folder (without one, Ansible's default: `~/.ansible/roles`, where
    /// `ansible-galaxy install` puts roles, `/usr/share/ansible/roles`, `/etc/ansible/roles`),
    /// the playbook's own folder, and last the name as a path (`/srv/roles/web`, or relative
    /// to the current folder), as Ansible searches; an unknown role names the ones there are.
    fn find(&self, name: &str, span: &Span, playbook_dir: &Path) -> Result<PathBuf> {
        let mut candidates = vec![
            playbook_dir.join("roles"),
            playbook_dir.join("../roles"),
            PathBuf::from("roles"),
        ];
        if self.search_path.is_empty() {
            candidates.extend(default_roles_path());
        } else {
            candidates.extend(self.search_path.iter().cloned());
        }
        candidates.push(playbook_dir.to_path_buf());
        candidates
            .iter()
            .map(|d| d.join(name))
            .chain(std::iter::once(PathBuf::from(name)))
            .find(|d| !name.is_empty() && d.is_dir())
            .ok_or_else(|| {
                let known: Vec<String> = candidates
                    .iter()
                    .filter_map(|d| std::fs::read_dir(d).ok())
                    .flatten()
                    .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
                    .collect();
                Error::at(
                    ErrorKind::UnknownRole {
                        name: name.to_owned(),
                    },
                    span,
                )
                .with_label("no such folder under roles/")
                .suggest(name, known.iter().map(String::as_str))
            })
    }

    /// Finds `name` in `roles/` beside the playbook, in `../roles/` above it, in `./roles/`, then
    /// in each `roles_path` folder.
    pub(crate) fn get(
        &mut self,
        name: &str,
        span: &Span,
        playbook_dir: &Path,
    ) -> Result<Arc<Role>> {
        if let Some(role) = self.roles.iter().find(|r| r.name == name) {
            return Ok(Arc::clone(role));
        }
        let dir = self.find(name, span, playbook_dir)?;
        let part = |what: &str| -> Result<Option<Node>> {
            let options = [
                format!("{what}.yml"),
                format!("{what}.yaml"),
                format!("{what}/main.yml"),
                format!("{what}/main.yaml"),
            ];
            options
                .iter()
                .map(|o| dir.join(o))
                .find(|p| p.is_file())
                .map(|p| yaml::load_file(&p))
                .transpose()
        };
        if self.loading.iter().any(|n| n == name) {
            return Err(
                Error::invalid(format!("role `{name}` includes itself"), span)
                    .with_label("role include loop"),
            );
        }
        let defaults = variables(part("defaults")?.as_ref())?;
        let vars = variables(part("vars")?.as_ref())?;
        let tasks_node = part("tasks")?;
        let handlers_node = part("handlers")?;
        let meta = part("meta")?;
        let inherit = Inherit {
            dir: dir.join("tasks"),
            role_tasks: Some(dir.join("tasks")),
            collections: super::tasks::collections(
                meta.as_ref().and_then(|m| m.get("collections")),
            )?,
            ..Inherit::default()
        };
        self.loading.push(name.to_owned());
        let mut loader = Loader {
            roles: self,
            playbook_dir: playbook_dir.to_path_buf(),
            included_roles: Vec::new(),
            errors: Vec::new(),
        };
        let parsed = loader
            .task_list(tasks_node.as_ref(), "role tasks", &inherit)
            .and_then(|tasks| {
                let handlers = Inherit {
                    dir: dir.join("handlers"),
                    ..inherit.clone()
                };
                Ok((
                    tasks,
                    loader.task_list(handlers_node.as_ref(), "role handlers", &handlers)?,
                ))
            });
        let included = std::mem::take(&mut loader.included_roles);
        let errors = std::mem::take(&mut loader.errors);
        self.loading.retain(|n| n != name);
        let (tasks, handlers) = parsed?;
        let mut dependencies = Vec::new();
        if let Some(meta) = meta {
            if let Some(list) = meta.get("dependencies").and_then(Node::as_seq) {
                self.loading.push(name.to_owned());
                let deps: Result<Vec<_>> = list
                    .iter()
                    .map(|item| role_use(item, playbook_dir, self).map(Arc::new))
                    .collect();
                self.loading.retain(|n| n != name);
                dependencies = deps?;
            }
        }
        if let Some(err) = Error::many(errors) {
            return Err(err);
        }
        let role = Role {
            name: name.to_owned(),
            defaults,
            vars,
            tasks,
            handlers,
            included,
            dependencies,
            collections: inherit.collections.clone(),
            dir,
        };
        let role = Arc::new(role);
        self.roles.push(Arc::clone(&role));
        Ok(role)
    }
}

/// Keys of a role entry that are keywords, not role parameters.
const ROLE_KEYWORDS: &[&str] = &["role", "name", "tags", "when", "become", "vars"];

/// `- nginx_site` or `- { role: nginx_site, port: 52209, tags: web }`. With the roles (a play's
/// `roles:` and a role's `dependencies` both read it), so that `role` need not call `parse`.
pub(super) fn role_use(item: &Node, dir: &Path, roles: &mut RoleCache) -> Result<RoleUse> {
    if let Some(name) = item.scalar_text() {
        return Ok(RoleUse {
            role: roles.get(name, &item.span, dir)?,
            params: Vec::new(),
            tags: Vec::new(),
            when: Vec::new(),
            become_: None,
        });
    }
    let entries = item
        .as_map()
        .ok_or_else(|| wrong_type(item, "a role name or mapping", "a role"))?;
    let name_node = item
        .get("role")
        .or_else(|| item.get("name"))
        .ok_or_else(|| {
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
    let mut params: Vec<(String, Node)> = entries
        .iter()
        .filter(|(k, _)| !ROLE_KEYWORDS.contains(&k.key()))
        .map(|(k, v)| (k.key().to_owned(), v.clone()))
        .collect();
    params.extend(variables(item.get("vars"))?);
    let tags = tag_names(item.get("tags"))?;
    let when = match item.get("when") {
        Some(w) => match w.as_seq() {
            Some(items) => items.to_vec(),
            None => vec![w.clone()],
        },
        None => Vec::new(),
    };
    let become_ = item
        .get("become")
        .map(|n| crate::fields::boolean(n, "`become`"))
        .transpose()?;
    Ok(RoleUse {
        role,
        params,
        tags,
        when,
        become_,
    })
}

/// The tags a role use or an `import_playbook` item gives (`tags: a` or `tags: [a, b]`).
pub(super) fn tag_names(tags: Option<&Node>) -> Result<Vec<String>> {
    match tags {
        Some(t) => match t.as_seq() {
            Some(items) => items.iter().map(|n| scalar(n, "`tags`")).collect(),
            None => Ok(vec![scalar(t, "`tags`")?]),
        },
        None => Ok(Vec::new()),
    }
}
