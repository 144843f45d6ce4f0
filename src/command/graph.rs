//! `recon graph`: one host's resource graph as Graphviz DOT.

use crate::cli::GraphArgs;
use crate::compile::HostGraph;
use crate::error::{Error, Result};
use crate::exit;

use super::load::load;

pub(super) fn graph(args: &GraphArgs) -> Result<i32> {
    let loaded = load(&args.selection)?;
    let graphs: Vec<&HostGraph> = loaded
        .runs
        .iter()
        .flat_map(|r| &r.hosts)
        .filter(|g| g.host == args.host)
        .collect();
    if graphs.is_empty() {
        return Err(Error::usage(format!(
            "host `{}` is not targeted by this playbook",
            args.host
        )));
    }
    for g in graphs {
        crate::secret::print(&crate::render::dot(g));
    }
    Ok(exit::OK)
}
