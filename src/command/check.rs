//! `recon check`: load and compile everything, contact nothing.

use crate::cli::Selection;
use crate::error::Result;
use crate::exit;
use crate::text::count;

use super::load::load_for_check;

pub(super) fn check(selection: &Selection) -> Result<i32> {
    let loaded = load_for_check(selection)?;
    let hosts: usize = loaded.runs.iter().map(|r| r.hosts.len()).sum();
    let tasks: usize = loaded
        .runs
        .iter()
        .flat_map(|r| &r.hosts)
        .map(|h| h.tasks.len())
        .sum();
    crate::secret::print(&format!(
        "{} is valid: {}, {} compiled for {}.\n",
        crate::source::display_path(&loaded.playbook.path),
        count(loaded.runs.len(), "play"),
        count(tasks, "task"),
        count(hosts, "host")
    ));
    Ok(exit::OK)
}
