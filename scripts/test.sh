#!/bin/sh
# The test command (README): installs test dependencies if missing, then format check, lints and
# every test (unit and integration against real sshd, nginx and supervisord on loopback).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
