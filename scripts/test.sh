#!/bin/sh
# The test command (README): installs test dependencies if missing, then format check, lints and
# every test (unit and integration against real sshd, nginx and supervisord on loopback).
# The tests create Unix accounts and start daemons, so they run as root: as root they run under
# `cargo test`; as another user, cargo builds them as you (your toolchain, your target directory)
# and only the built test programs run under sudo.
set -eu
cd "$(dirname "$0")/.."
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "test: the tests need root: run as root, or install sudo" >&2
    exit 1
fi
as_root sh scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
if [ "$(id -u)" -eq 0 ]; then
    exec cargo test --locked "$@"
fi
cargo test --locked --no-run --message-format=json |
    grep '"test":true}' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' >"${TMPDIR:-/tmp}/recon-tests.$$"
status=0
while read -r exe; do
    echo "test: sudo $exe" >&2
    sudo "$exe" "$@" || status=1
done <"${TMPDIR:-/tmp}/recon-tests.$$"
rm -f "${TMPDIR:-/tmp}/recon-tests.$$"
exit "$status"
