#!/bin/sh
# The test command (README): installs every test dependency if missing, then format check, lints
# and both test tiers: the fast one (unit tests and local-connection tests, what a plain
# `cargo test` runs) and the heavy one (`--features heavy-tests`: real sshd, nginx, supervisord,
# dockerd, pebble, apt, ufw, ansible, nodes). Nothing is skipped: a heavy test whose tool is
# missing fails. Ends with the slowest tests and their durations (seconds).
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
as_root sh scripts/install-deps.sh all
cargo fmt --all -- --check
cargo clippy --all-targets --locked --features heavy-tests -- -D warnings
# Each test appends `name seconds` here (tests/harness/timing.rs).
timings=$(mktemp "${TMPDIR:-/tmp}/recon-timings.XXXXXX")
chmod 644 "$timings"
summary() {
    echo "test: slowest tests (seconds):" >&2
    sort -k2,2 -rn "$timings" | awk '!seen[$1]++' | head -n 25 | awk '{ printf "  %7s  %s\n", $2, $1 }' >&2
    echo "test: $(awk '!seen[$1]++' "$timings" | wc -l) timed tests, $(awk '{ s += $2 } END { printf "%.0f", s }' "$timings") s in all" >&2
    rm -f "$timings"
}
status=0
if [ "$(id -u)" -eq 0 ]; then
    RECON_TEST_TIMINGS=$timings cargo test --locked --features heavy-tests "$@" || status=1
    summary
    exit "$status"
fi
list=$(mktemp "${TMPDIR:-/tmp}/recon-tests.XXXXXX")
cargo test --locked --features heavy-tests --no-run --message-format=json |
    grep '"test":true}' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' >"$list"
while read -r exe; do
    echo "test: sudo $exe" >&2
    sudo env RECON_TEST_TIMINGS="$timings" "$exe" "$@" || status=1
done <"$list"
rm -f "$list"
summary
exit "$status"
