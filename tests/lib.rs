//! Integration tests: one binary, one file per feature. Each test runs the real `recon`
//! executable in a temporary project and checks what it printed and what it left on the host.
//!
//! Two tiers. The fast one (plain `cargo test`) needs no daemon: local-connection runs against
//! temp folders. The heavy one (`--features heavy-tests`, run by scripts/test.sh and CI) starts
//! sshd, nginx, supervisord, dockerd or pebble, drives apt, ufw or ansible, or deploys to nodes;
//! each of its tests records its duration (`harness::timing`) for the script's summary.

mod harness;

mod apply;
mod artifacts;
mod check_facts;
mod checks;
mod commands;
mod delegate;
mod errors;
mod handlers;
mod hostile;
mod plan;
mod plan_groups;
mod saved_plan;
mod scale;
mod validation;

#[cfg(feature = "heavy-tests")]
mod ansible_compat;
#[cfg(feature = "heavy-tests")]
mod bridge;
#[cfg(feature = "heavy-tests")]
mod capistrano;
#[cfg(feature = "heavy-tests")]
mod ci;
#[cfg(feature = "heavy-tests")]
mod compose;
#[cfg(feature = "heavy-tests")]
mod compose_swap;
#[cfg(feature = "heavy-tests")]
mod digicam;
#[cfg(feature = "heavy-tests")]
mod door;
#[cfg(feature = "heavy-tests")]
mod faults;
#[cfg(feature = "heavy-tests")]
mod firewall;
#[cfg(feature = "heavy-tests")]
mod firstrun;
#[cfg(feature = "heavy-tests")]
mod git;
#[cfg(feature = "heavy-tests")]
mod gocart;
#[cfg(feature = "heavy-tests")]
mod hostile_system;
#[cfg(feature = "heavy-tests")]
mod image;
#[cfg(feature = "heavy-tests")]
mod interrupted;
#[cfg(feature = "heavy-tests")]
mod inventory;
#[cfg(feature = "heavy-tests")]
mod nodes;
#[cfg(feature = "heavy-tests")]
mod nodes_apt;
#[cfg(feature = "heavy-tests")]
mod nodes_digicam;
#[cfg(feature = "heavy-tests")]
mod nodes_faults;
#[cfg(feature = "heavy-tests")]
mod nodes_rollout;
#[cfg(feature = "heavy-tests")]
mod nodes_sysctl;
#[cfg(feature = "heavy-tests")]
mod nodes_systemd;
#[cfg(feature = "heavy-tests")]
mod nodes_user_scope;
#[cfg(feature = "heavy-tests")]
mod public_roles;
#[cfg(feature = "heavy-tests")]
mod rolling;
#[cfg(feature = "heavy-tests")]
mod secrets;
#[cfg(feature = "heavy-tests")]
mod shard;
#[cfg(feature = "heavy-tests")]
mod ssh;
#[cfg(feature = "heavy-tests")]
mod ssh_delegate;
#[cfg(feature = "heavy-tests")]
mod sysres;
#[cfg(feature = "heavy-tests")]
mod taint;
// A local-connection test, but minutes long: every argument of every kind, nine transforms.
#[cfg(feature = "heavy-tests")]
mod taint_fields;
#[cfg(feature = "heavy-tests")]
mod vault;
