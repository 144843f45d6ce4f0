#!/usr/bin/env bash
# Zero-downtime figures for the digicam deploy flows, in one run: the in-place flow (switch
# `current`, restart the program, health gate through nginx) and the blue/green flow (the
# `cutover`: the new release starts in the idle slot, is checked there, then nginx switches).
# For each flow: an upgrade v1.0.0 -> v1.0.1, the broken v1.0.2 and a rollback to v1.0.0, each
# under a bounded load (per squad, a GET /health through nginx every 20 ms, stopped when the step
# ends, 120 s at most), plus the migration of in-place squads to blue/green.
#
# It runs the two digicam tests that carry the loads (real sshd, nginx and supervisord on free
# loopback ports, three squads; nothing leaves 127.0.0.1) and prints their figures as a markdown
# table: requests, failed requests (anything but a 200 from the squad's own app), the longest
# gap between two good answers of one squad, and the worst squad's p99 latency.
#
# Usage: bench/zero-downtime.sh        (needs what the heavy tests need: scripts/install-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cargo test --locked --features heavy-tests --test integration -- \
  digicam::blue_green_upgrade digicam::in_place_flow --nocapture --test-threads 1 >"$out" 2>&1 ||
  { tail -n 60 "$out"; echo "zero-downtime: the tests failed" >&2; exit 1; }
echo "| flow | step | requests | failed | longest gap ms | p99 ms |"
echo "|---|---|---|---|---|---|"
sed -n 's/^.*figures: \([^ ]*\) \(.*\): \([0-9]*\) requests, \([0-9]*\) failed, longest gap \([0-9]*\) ms, p99 \([0-9]*\) ms$/| \1 | \2 | \3 | \4 | \5 | \6 |/p' "$out" |
  sort
