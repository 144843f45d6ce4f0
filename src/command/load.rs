//! Loading and compiling what a command names, and the shared run settings (workers,
//! connection pool, who is applying).

use std::path::Path;

use crate::ansible_cfg::AnsibleConfig;
use crate::cli::Selection;
use crate::compile::{self, Compiler, PlayRun};
use crate::error::{Error, Result};
use crate::inventory::{self, Inventory};
use crate::playbook::{self, Playbook, RoleCache};
use crate::render::OwnValues;
use crate::transport::{ConnectOptions, Pool};

use super::shard::{selected, Selected};

/// Everything loaded and compiled: nothing has touched a host yet.
pub(super) struct Loaded {
    pub(super) playbook: Playbook,
    pub(super) inventory: Inventory,
    /// What the plays were compiled with (later rounds compile with the same).
    pub(super) options: compile::Options,
    pub(super) runs: Vec<PlayRun>,
    /// Each host's own inventory values, for grouping hosts with the same changes in the plan.
    pub(super) own: OwnValues,
    /// Every selected target before `--shard` kept a part of them, in run order: the reports
    /// of all shards are merged back into this order.
    pub(super) targets: Vec<Selected>,
}

pub(super) fn load_inventory(path: Option<&Path>) -> Result<Inventory> {
    inventory::open(path, &AnsibleConfig::discover()?)
}

/// Loads and compiles without contacting any host (facts only of local hosts).
pub(super) fn load(selection: &Selection) -> Result<Loaded> {
    load_with(selection, None)
}

/// For `recon check`: every task compiled, registered results standing in for their values.
pub(super) fn load_for_check(selection: &Selection) -> Result<Loaded> {
    compile_with(selection, None, true)
}

/// Loads and compiles; plays that need facts gather them over `connections` first.
pub(super) fn load_with(selection: &Selection, connections: Option<&Pool>) -> Result<Loaded> {
    compile_with(selection, connections, false)
}

/// `load_with`; `check_only` compiles past registered results (nothing will be applied).
fn compile_with(
    selection: &Selection,
    connections: Option<&Pool>,
    check_only: bool,
) -> Result<Loaded> {
    let config = AnsibleConfig::discover()?;
    let inventory = inventory::open(selection.source.inventory.as_deref(), &config)?;
    let mut roles = RoleCache::with_search_path(config.roles_path);
    let mut playbook = playbook::load(&selection.playbook, &mut roles)?;
    playbook.become_all(selection.become_);
    let mut options = compile::Options {
        limit: selection.limit.clone(),
        extra_vars: compile::parse_extra_vars(&selection.source.extra_vars)?,
        tags: selection.tags.clone(),
        skip_tags: selection.skip_tags.clone(),
        facts: std::collections::BTreeMap::new(),
        check_only,
        shard: selection.shard,
    };
    playbook.resolve_hosts(&options.extra_vars)?;
    let fact_targets = Compiler::fact_targets(&playbook, &inventory, &options)?;
    if !fact_targets.is_empty() {
        options.facts = if let Some(pool) = connections {
            super::gather::gather(&fact_targets, pool, false)
        } else {
            let local = Pool::new(ConnectOptions::default(), 1);
            super::gather::gather(&fact_targets, &local, true)
        };
    }
    // With `--shard`, only the shard's hosts are compiled (see compile/shard.rs).
    let runs = Compiler::compile(&playbook, &inventory, &options)?;
    let own = OwnValues::from_inventory(&inventory);
    let targets = selected(&runs);
    Ok(Loaded {
        playbook,
        inventory,
        options,
        runs,
        own,
        targets,
    })
}

pub(super) fn thread_pool(forks: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(forks.max(1))
        .build()
        .map_err(|e| Error::usage(format!("cannot start {forks} workers: {e}")))
}

pub(super) fn pool(connection: &crate::cli::Connection) -> Pool {
    let options = ConnectOptions {
        // ansible.cfg `host_key_checking = False` accepts (and records) unknown keys only.
        accept_new_host_keys: connection.accept_new_host_keys
            || AnsibleConfig::discover().is_ok_and(|c| c.host_key_checking == Some(false)),
        connect_timeout: std::time::Duration::from_secs(connection.connect_timeout.max(1)),
        ..ConnectOptions::default()
    };
    Pool::new(options, connection.node_forks)
}

/// `user@machine pid N`: shown to whoever finds a host locked by this run.
pub(super) fn who() -> String {
    let user = crate::account::login_name();
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("recon {user}@{} pid {}", machine.trim(), std::process::id())
}

impl Loaded {
    /// What compiles a host's play again for its next round.
    pub(super) fn recompiler(&self) -> super::rounds::Recompiler<'_> {
        super::rounds::Recompiler {
            playbook: &self.playbook,
            inventory: &self.inventory,
            options: &self.options,
            compiler: std::sync::OnceLock::new(),
            board: super::shared::Board::default(),
        }
    }
}
