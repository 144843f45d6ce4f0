#!/usr/bin/env bash
# The fleet benchmark: TARGETS targets (32 per benchmark account, each its own folder
# ~/fleet/tK) with one small resource each (a directory). One cold run converges them; the
# measured run is the converged no-op: wall time and the controller's peak RSS
# (/usr/bin/time -v). Goal: ≤ 64 MB.
#
#   bench/setup.sh 32 && cargo build --release      # once
#   bench/fleet.sh                                  # TARGETS=1000
#
# Results go to results/DATE/fleet-*; the markdown row is printed and written to
# fleet-summary.md.
set -eu
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=bench/lib/targets.sh
. "$BENCH/lib/targets.sh"

TARGETS=${TARGETS:-1000}
PER=${PER:-32}
FORKS=${FORKS:-32}
RECON=${RECON:-$ROOT/target/release/recon}
OUT=${OUT:-$BENCH/results/$(date +%Y%m%d-%H%M%S)}
ACCOUNTS=$(accounts_for "$TARGETS" "$PER")
PLAY=$BENCH/fleet/fleet.yml
INV=$STATE/fleet-$TARGETS.yml

targets_preflight "$ACCOUNTS"
mkdir -p "$OUT"
write_meta "TARGETS=$TARGETS PER=$PER FORKS=$FORKS bench/fleet.sh"
targets_inventory "$INV" "$TARGETS" "$PER" fleet
targets_reset "$ACCOUNTS" fleet

echo "== $TARGETS targets, cold" >&2
timed fleet-cold "$RECON" apply "$PLAY" -i "$INV" --forks "$FORKS"
cold_changed=$(changed_of "$OUT/fleet-cold.out")
[ "$cold_changed" -eq "$TARGETS" ] ||
    { echo "cold run changed $cold_changed, expected $TARGETS, see $OUT/fleet-cold.out" >&2; exit 1; }
echo "== $TARGETS targets, no-op" >&2
timed fleet-noop "$RECON" apply "$PLAY" -i "$INV" --forks "$FORKS"
noop_changed=$(changed_of "$OUT/fleet-noop.out")
[ "$noop_changed" -eq 0 ] ||
    { echo "no-op run changed $noop_changed, see $OUT/fleet-noop.out" >&2; exit 1; }
targets_reset "$ACCOUNTS" fleet

{
    cat "$OUT/meta.txt"
    echo
    echo "| targets | cold s | cold RSS MiB | no-op s | no-op RSS MiB | no-op changed | goal RSS |"
    echo "|---|---|---|---|---|---|---|"
    echo "| $TARGETS | $(wall_s "$OUT/fleet-cold.time") | $(rss_mib "$OUT/fleet-cold.time") | $(wall_s "$OUT/fleet-noop.time") | $(rss_mib "$OUT/fleet-noop.time") | $noop_changed | ≤ 64 MB |"
} >"$OUT/fleet-summary.md"
cat "$OUT/fleet-summary.md"
echo "raw results: $OUT" >&2
