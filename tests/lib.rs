//! Integration tests: one binary, one file per feature. Each test runs the real `recon`
//! executable in a temporary project and checks what it printed and what it left on the host.

mod harness;

mod ansible_compat;
mod apply;
mod artifacts;
mod capistrano;
mod checks;
mod ci;
mod commands;
mod compose;
mod digicam;
mod errors;
mod faults;
mod firewall;
mod firstrun;
mod git;
mod gocart;
mod handlers;
mod hostile;
mod hostile_system;
mod image;
mod interrupted;
mod inventory;
mod nodes;
mod nodes_faults;
mod nodes_systemd;
mod plan;
mod plan_groups;
mod saved_plan;
mod secrets;
mod shard;
mod ssh;
mod sysres;
mod validation;
mod vault;
