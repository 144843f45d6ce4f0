//! Finds the inventory sources and reads them: a file or a folder (recursively, as Ansible does)
//! of YAML and INI inventories, plus `group_vars/` and `host_vars/` beside each source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::builder::{Builder, LOCALHOST_NAMES};
use super::yaml_source::entries_of;
use super::{ini, yaml_source, Inventory};
use crate::ansible_cfg::AnsibleConfig;
use crate::error::{Error, Result};
use crate::source::SourceFile;
use crate::transport::ConnectionDefaults;
use crate::yaml::{self, Node};

/// File name endings Ansible skips in an inventory folder (`INVENTORY_IGNORE_EXTS`).
const IGNORED_SUFFIXES: &[&str] = &[
    "~", ".orig", ".bak", ".cfg", ".retry", ".pyc", ".pyo", ".swp", ".rpm", ".md", ".txt", ".rst",
];
/// Folder entries Ansible never reads as inventory sources.
const IGNORED_NAMES: &[&str] = &["group_vars", "host_vars", "vars_plugins"];

/// The inventory a command works on: `-i` when given, else `ansible.cfg`'s `inventory`, else
/// `./inventory`; when none of those exists, an empty inventory in which only the implicit
/// `localhost` matches (Ansible's behaviour without an inventory).
pub(crate) fn open(explicit: Option<&Path>, config: &AnsibleConfig) -> Result<Inventory> {
    let defaults = ConnectionDefaults {
        remote_user: config.remote_user.clone(),
        private_key_file: config.private_key_file.clone(),
    };
    let sources: Vec<PathBuf> = match explicit {
        Some(path) => vec![path.to_path_buf()],
        None if !config.inventory.is_empty() => config.inventory.clone(),
        None => {
            let default = PathBuf::from("inventory");
            if !default.exists() {
                return Ok(Builder::default().finish(Path::new("."), defaults, &BTreeMap::new()));
            }
            vec![default]
        }
    };
    load(&sources, defaults)
}

/// Loads every source in order into one inventory (`inventory_dir` is the first one's folder).
pub(crate) fn load(sources: &[PathBuf], defaults: ConnectionDefaults) -> Result<Inventory> {
    let mut builder = Builder::default();
    let mut bases = Vec::new();
    for path in sources {
        let base = if path.is_dir() {
            read_dir_sources(path, &mut builder)?;
            path.clone()
        } else if path.is_file() {
            read_source(path, &mut builder)?;
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            return Err(
                Error::usage(format!("inventory `{}` does not exist", path.display())).with_help(
                    "pass -i FILE_OR_DIR, set `inventory` in ansible.cfg, or create ./inventory/",
                ),
            );
        };
        bases.push(base);
    }
    // Files in group_vars/ and host_vars/ rank above the inventory's inline variables.
    let mut localhost_vars = BTreeMap::new();
    for base in &bases {
        for name in builder.group_names() {
            for (k, v) in vars_files(&base.join("group_vars"), &name)?
                .into_iter()
                .flatten()
            {
                builder.set_group_var(&name, &k, v);
            }
        }
        for host in builder.host_names() {
            for (k, v) in vars_files(&base.join("host_vars"), &host)?
                .into_iter()
                .flatten()
            {
                builder.set_host_var(&host, &k, v);
            }
        }
        for name in LOCALHOST_NAMES {
            let files = vars_files(&base.join("host_vars"), name)?;
            localhost_vars
                .entry(name.to_owned())
                .or_insert_with(Vec::new)
                .extend(files.into_iter().flatten());
        }
    }
    let base = bases.first().map_or(Path::new("."), PathBuf::as_path);
    Ok(builder.finish(base, defaults, &localhost_vars))
}

/// Every inventory file under `dir`, sorted by name, recursing into sub-folders.
fn read_dir_sources(dir: &Path, builder: &mut Builder) -> Result<()> {
    let mut entries = read_dir(dir)?;
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.')
            || IGNORED_NAMES.contains(&name)
            || IGNORED_SUFFIXES.iter().any(|s| name.ends_with(s))
        {
            continue;
        }
        if path.is_dir() {
            read_dir_sources(&path, builder)?;
        } else if path.is_file() {
            read_source(&path, builder)?;
        }
    }
    Ok(())
}

/// One inventory file: `.yml`/`.yaml`/`.json` is YAML, `.ini` is INI; any other name is YAML
/// when it parses as a YAML mapping, else INI (Ansible tries its yaml plugin, then ini).
fn read_source(path: &Path, builder: &mut Builder) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("yml" | "yaml" | "json") => yaml_source::read(&yaml::parse_text(path, text)?, builder),
        Some("ini") => ini::read(&SourceFile::new(path, text), builder),
        _ => match yaml::parse_text(path, text.clone()) {
            Ok(root) if root.as_map().is_some() => yaml_source::read(&root, builder),
            _ => ini::read(&SourceFile::new(path, text), builder),
        },
    }
}

/// Variables files are YAML (JSON included).
fn is_vars_file(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml" | "json")
    )
}

/// A folder's entries; unreadable entries are skipped, an unreadable folder is an error.
fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, &e))?;
    Ok(entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
}

/// `group_vars/NAME.yml`, `NAME.yaml`, `NAME.json`, `NAME` or every YAML file in the folder
/// `NAME/`.
fn vars_files(dir: &Path, name: &str) -> Result<Vec<Vec<(String, Node)>>> {
    let mut paths: Vec<PathBuf> = ["yml", "yaml", "json"]
        .iter()
        .map(|e| dir.join(format!("{name}.{e}")))
        .collect();
    paths.push(dir.join(name));
    let mut out = Vec::new();
    for path in paths {
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = read_dir(&path)?
                .into_iter()
                .filter(|p| is_vars_file(p))
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
