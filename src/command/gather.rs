//! Gathering Ansible facts before compile: the fact script once per host that a play needs facts
//! for, in parallel, over the run's own connections (the same pool the probe then reuses, so a
//! host is still dialled once). `check` contacts no host: it reads facts only of local hosts.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use minijinja::Value as JValue;
use rayon::prelude::*;

use crate::compile::{parse_facts, FACT_SCRIPT};
use crate::transport::{ConnectionKind, Pool, Target};

/// Facts of each host in `targets` that answered (only local ones when `local_only`). A host
/// that cannot be reached gets none: its plan then reports it unreachable as usual, or the
/// compile names the undefined fact.
pub(super) fn gather(
    targets: &[(String, Target)],
    pool: &Pool,
    local_only: bool,
) -> BTreeMap<String, JValue> {
    targets
        .par_iter()
        .filter(|(_, t)| !local_only || t.connection == ConnectionKind::Local)
        .filter_map(|(host, target)| {
            let stop = AtomicBool::new(false);
            let out = pool
                .with(host, target, |t| {
                    t.run_script(FACT_SCRIPT.as_bytes(), false, &stop)
                })
                .ok()?
                .ok()?;
            (out.status == 0).then(|| {
                (
                    host.clone(),
                    parse_facts(&String::from_utf8_lossy(&out.stdout)),
                )
            })
        })
        .collect()
}
