#!/usr/bin/env bash
# The artifact fan-out benchmark: TARGETS targets (8 per benchmark account, each its own release
# root ~/artifacts/tK) each deploy one SIZE_MB release of incompressible content with
# `recon apply`. Measures wall time and the controller's peak RSS (/usr/bin/time -v) of the
# whole fan-out, beside the same deploy to 1 target. Goal after the engine work: ≤ 100 MB.
#
#   bench/setup.sh 32 && cargo build --release      # once
#   bench/artifacts.sh                              # TARGETS=256 SIZE_MB=20
#   TARGETS=32 bench/artifacts.sh                   # a smaller estimate first
#
# Both runs are cold (the targets' folders are removed first). The release is built
# reproducibly by fixtures/make-big-release.py into .state/. Results go to
# results/DATE/artifacts-*; the markdown row is printed and written to artifacts-summary.md.
set -eu
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=bench/lib/targets.sh
. "$BENCH/lib/targets.sh"

TARGETS=${TARGETS:-256}
PER=${PER:-8}
SIZE_MB=${SIZE_MB:-20}
FORKS=${FORKS:-32}
# The PER targets of one account apply at once, each under its own lock; they wait (on the
# control machine, not for a lock) only while the release they all need is on its way to their
# account. The generous timeout is for builds from before per-target locks, whose targets of one
# account took turns on the account's lock.
LOCK_TIMEOUT=${LOCK_TIMEOUT:-600}
RECON=${RECON:-$ROOT/target/release/recon}
OUT=${OUT:-$BENCH/results/$(date +%Y%m%d-%H%M%S)}
ACCOUNTS=$(accounts_for "$TARGETS" "$PER")
TARBALL=$STATE/big-${SIZE_MB}m.tar.gz
PLAY=$BENCH/artifacts/release.yml

targets_preflight "$ACCOUNTS"
mkdir -p "$OUT"
write_meta "TARGETS=$TARGETS PER=$PER SIZE_MB=$SIZE_MB FORKS=$FORKS LOCK_TIMEOUT=$LOCK_TIMEOUT bench/artifacts.sh"
if [ ! -s "$TARBALL" ]; then
    python3 "$BENCH/fixtures/make-big-release.py" "$TARBALL.tmp" "$SIZE_MB"
    mv -f "$TARBALL.tmp" "$TARBALL"
fi
echo "tarball: $(basename "$TARBALL") $(wc -c <"$TARBALL") bytes, sha256 $(sha256sum "$TARBALL" | cut -c1-16)" >>"$OUT/meta.txt"

# One cold deploy to N targets: reset, apply, check every target got the release.
deploy() {
    local n=$1 inv=$STATE/artifacts-$1.yml tag=artifacts-$1 got
    targets_inventory "$inv" "$n" "$PER" artifacts "tarball: $TARBALL"
    targets_reset "$(accounts_for "$n" "$PER")" artifacts
    echo "== $n targets × ${SIZE_MB} MB" >&2
    timed "$tag" "$RECON" apply "$PLAY" -i "$inv" --forks "$FORKS" --lock-timeout "$LOCK_TIMEOUT"
    got=0
    for t in $(seq 1 "$n"); do
        [ -f "/home/$(squad $(((t - 1) / PER + 1)))/artifacts/t$t/current/bin/app" ] && got=$((got + 1))
    done
    [ "$got" -eq "$n" ] || { echo "$tag: only $got of $n targets have the release, see $OUT/$tag.out" >&2; exit 1; }
    echo "$n $(wall_s "$OUT/$tag.time") $(rss_mib "$OUT/$tag.time") $(changed_of "$OUT/$tag.out")" >>"$OUT/artifacts.txt"
}

: >"$OUT/artifacts.txt"
deploy 1
deploy "$TARGETS"
targets_reset "$ACCOUNTS" artifacts

read -r _ one_s one_rss _ < <(sed -n 1p "$OUT/artifacts.txt")
read -r n all_s all_rss changed < <(sed -n 2p "$OUT/artifacts.txt")
{
    cat "$OUT/meta.txt"
    echo
    echo "| targets | release | 1 target s | 1 target RSS MiB | $n targets s | $n targets RSS MiB | changed | goal RSS |"
    echo "|---|---|---|---|---|---|---|---|"
    echo "| $n | ${SIZE_MB} MB | $one_s | $one_rss | $all_s | $all_rss | $changed | ≤ 100 MB |"
} >"$OUT/artifacts-summary.md"
cat "$OUT/artifacts-summary.md"
echo "raw results: $OUT" >&2
