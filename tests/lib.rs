//! Integration tests: one binary, one file per feature. Each test runs the real `recon`
//! executable in a temporary project and checks what it printed and what it left on the host.

mod harness;

mod apply;
mod artifacts;
mod checks;
mod commands;
mod digicam;
mod errors;
mod firstrun;
mod handlers;
mod hostile;
mod interrupted;
mod inventory;
mod plan;
mod plan_groups;
mod saved_plan;
mod secrets;
mod ssh;
mod sysres;
mod validation;
mod vault;
