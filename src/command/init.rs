//! `recon init [DIR]`: a new project that works before the user has written a line, so the first
//! `check`, `plan` and `apply` teach the layout (inventory, playbook, role, template, group_vars)
//! instead of failing on a missing file. The files are assets compiled into the binary.

use std::path::Path;

use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::exit;

/// The skeleton: path inside the project → content.
const SKELETON: &[(&str, &str)] = &[
    ("README.md", include_str!("init/skeleton/README.md")),
    ("site.yml", include_str!("init/skeleton/site.yml")),
    (
        "inventory/hosts.yml",
        include_str!("init/skeleton/inventory/hosts.yml"),
    ),
    (
        "inventory/group_vars/all.yml",
        include_str!("init/skeleton/inventory/group_vars/all.yml"),
    ),
    (
        "roles/hello/tasks.yml",
        include_str!("init/skeleton/roles/hello/tasks.yml"),
    ),
    (
        "roles/hello/handlers.yml",
        include_str!("init/skeleton/roles/hello/handlers.yml"),
    ),
    (
        "roles/hello/defaults.yml",
        include_str!("init/skeleton/roles/hello/defaults.yml"),
    ),
    (
        "roles/hello/templates/hello.txt.j2",
        include_str!("init/skeleton/roles/hello/templates/hello.txt.j2"),
    ),
];

/// Writes the skeleton into `args.dir`. Refuses, writing nothing, when any of its files exists:
/// `init` never overwrites someone's work.
pub(crate) fn run(args: &InitArgs) -> Result<i32> {
    let dir = &args.dir;
    let existing: Vec<&str> = SKELETON
        .iter()
        .map(|(rel, _)| *rel)
        .filter(|rel| dir.join(rel).symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() {
        return Err(Error::usage(format!(
            "{} already has {}; recon init writes only into a folder without them",
            dir.display(),
            existing.join(", ")
        )));
    }
    for (rel, content) in SKELETON {
        write(&dir.join(rel), content)?;
    }
    let shown = dir.display();
    println!("Created a recon project in {shown}:");
    for (rel, _) in SKELETON {
        println!("  {rel}");
    }
    let cd = if dir == Path::new(".") {
        String::new()
    } else {
        format!("cd {shown} && ")
    };
    println!("Next: {cd}recon check site.yml && recon plan site.yml   (see README.md)");
    Ok(exit::OK)
}

fn write(path: &Path, content: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
    }
    std::fs::write(path, content).map_err(|e| Error::io(path, &e))
}
