#!/bin/sh
# Builds recon and prints the path of the binary it built. Scripts call this instead of assuming
# `target/`: cargo is asked where its target directory is, so CARGO_TARGET_DIR, a
# `build.target-dir` in .cargo/config.toml or a workspace above this one are all honoured.
# Usage: scripts/recon-bin.sh [--release]        (default: the dev profile, as `cargo test` builds)
set -eu
cd "$(dirname "$0")/.."
profile=debug
if [ "${1:-}" = --release ]; then
    profile=release
    cargo build --release --locked --quiet
else
    cargo build --locked --quiet
fi
target=$(cargo metadata --format-version 1 --no-deps --locked |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$target" ] || { echo "recon-bin: cargo metadata did not name a target directory" >&2; exit 1; }
bin=$target/$profile/recon
[ -x "$bin" ] || { echo "recon-bin: cargo built, but $bin is missing" >&2; exit 1; }
printf '%s\n' "$bin"
