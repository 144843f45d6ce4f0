//! `recon releases`: each target's releases and their status.

use rayon::prelude::*;

use crate::compile::HostGraph;
use crate::error::Result;
use crate::exit;

use super::load::{load, pool, thread_pool};
use super::rollback::release_states;

pub(super) fn list_releases(args: &crate::cli::ReleasesArgs) -> Result<i32> {
    let workers = thread_pool(args.connection.forks)?;
    let connections = pool(&args.connection);
    let loaded = load(&args.selection())?;
    let graphs: Vec<&HostGraph> = loaded.runs.iter().flat_map(|r| &r.hosts).collect();
    let listings: Vec<crate::releases::Listing> = workers.install(|| {
        graphs
            .par_iter()
            .flat_map(|graph| match release_states(graph, &connections) {
                Ok(states) => crate::releases::listing(graph, &states),
                Err(e) => vec![crate::releases::Listing {
                    host: graph.host.clone(),
                    root: String::new(),
                    current: None,
                    releases: Vec::new(),
                    error: Some(e.to_string()),
                }],
            })
            .collect()
    });
    if args.json {
        crate::secret::print(&format!("{}\n", crate::secret::json_pretty(&listings)));
    } else {
        crate::secret::print(&crate::releases::render(&listings));
    }
    Ok(if listings.iter().any(|l| l.error.is_some()) {
        exit::ERROR
    } else {
        exit::OK
    })
}
