//! recon: a declarative infrastructure reconciler.
//!
//! The pipeline, one module per stage: `yaml`/`playbook`/`inventory` load files with spans →
//! `compile` resolves variables, renders templates and builds one resource graph per host →
//! `probe` asks each host for every fact in one script and diffs (pure) → `plan` data →
//! `apply` runs one script per host (lock, stale check, atomic steps, handlers) → `render`.

mod account;
mod adhoc;
mod ansible;
mod ansible_cfg;
mod apply;
mod artifact;
mod bridge;
mod cli;
mod command;
mod compile;
mod delivery;
mod door;
mod error;
mod exit;
mod facts;
mod fields;
mod glob;
#[cfg(test)]
mod hygiene;
mod inventory;
#[cfg(test)]
mod layers;
mod plan;
mod playbook;
mod probe;
mod reactions;
mod registered;
mod releases;
mod render;
mod report;
mod resource;
mod script;
mod secret;
mod source;
mod template;
mod text;
mod transport;
mod vars;
mod vault;
mod yaml;

pub use command::run;
