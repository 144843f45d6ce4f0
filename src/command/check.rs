//! `recon check`: load and compile everything, contact nothing.

use crate::cli::Selection;
use crate::error::Result;
use crate::exit;
use crate::text::count;

use super::load::load;

pub(super) fn check(selection: &Selection) -> Result<i32> {
    let loaded = load(selection)?;
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
    // Tasks past a horizon need results of tasks before it: they are compiled when planned.
    let mut notes: Vec<String> = Vec::new();
    for horizon in loaded
        .runs
        .iter()
        .flat_map(|r| &r.hosts)
        .filter_map(|h| h.rounds.horizon.as_ref())
    {
        let d = horizon.deferred();
        let note = format!(
            "note: the tasks {} `{}` ({}:{}) are compiled when planned: {}.\n",
            if d.after { "after" } else { "from" },
            d.task,
            horizon.at.file,
            horizon.at.line,
            d.reason
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    crate::secret::print(&notes.concat());
    Ok(exit::OK)
}
