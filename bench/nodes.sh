#!/usr/bin/env bash
# The squad-deploy benchmark on booted nodes: NODES systemd machines (scripts/nodes/up.sh), each
# with SQUADS squad accounts, so NODES x SQUADS targets (default 16 x 4 = 64). The work per target
# is the one-sshd benchmark's (bench/README.md): the same bench/recon and bench/ansible playbooks,
# and bench/pyinfra/digicam.py (the same work for pyinfra), with an inventory of the nodes'
# squads. In one run, for each tool in TOOLS:
#   cold   RUNS runs, each from freshly reset squad homes on every node (bench/reset.sh run on the
#          node), no connection open; afterwards every squad on every node must serve
#   no-op  RUNS re-runs on the converged squads, connections closed; must report 0 changed
#   floor  one parallel `ssh SQUAD@NODE true` per target (bench/lib/floor.sh --targets)
# Each run records wall time and the controller's peak RSS (/usr/bin/time -v) and the squads'
# logins and session channels per node from the nodes' sshd logs (LogLevel VERBOSE). After
# Ansible's and pyinfra's no-op, `recon plan --detailed-exitcode` must find nothing to change
# (same work).
# The nodes are always torn down (trap), also on failure or Ctrl-C.
#
#   bench/venv.sh                                   # once: ansible-core and pyinfra in bench/.venv
#   bench/nodes.sh                                  # NODES=16 SQUADS=4 RUNS=1 TOOLS="floor recon ansible pyinfra"
#   NODES=2 SQUADS=2 bench/nodes.sh                 # a smoke run
# recon is built with scripts/recon-bin.sh --release (RECON=path overrides it).
#
# Env: FIRST (first node index, 100: tests use indexes below 70), NODES_PREFIX (bn),
# NODES_BASE (scripts/nodes' cache, /var/tmp/recon-nodes), TIMEOUT (seconds per run, 1800).
# Results: bench/results/nodes-DATE/ (outputs, time -v files, sshd log slices, summary.md).
set -eu
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=bench/lib/targets.sh
. "$BENCH/lib/targets.sh"
# shellcheck source=bench/lib/nodes.sh
. "$BENCH/lib/nodes.sh"

NODES=${NODES:-16}
SQUADS=${SQUADS:-4}
RUNS=${RUNS:-1}
TOOLS=${TOOLS:-"floor recon ansible pyinfra"}
FIRST=${FIRST:-100}
PREFIX=${NODES_PREFIX:-bn}
NODES_BASE=${NODES_BASE:-/var/tmp/recon-nodes}
RECON_SET=${RECON:+1}
TARGETS=$((NODES * SQUADS))
NSTATE=$STATE/nodes
ANSIBLE=$BENCH/.venv/bin/ansible-playbook
PYINFRA=$BENCH/.venv/bin/pyinfra
export ANSIBLE_CONFIG=$BENCH/ansible/ansible.cfg ANSIBLE_SSH_CONTROL_PATH_DIR=$STATE/ansible-cp
export ANSIBLE_NOCOLOR=1 NO_COLOR=1 NODES_BASE
OUT=$BENCH/results/nodes-$(date +%Y%m%d-%H%M%S)

die() { echo "nodes: $*" >&2; exit 1; }
say() { echo "nodes: $(date -u +%T) $*" >&2; }
has() { case " $TOOLS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# --- preflight -------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "run as root (nspawn nodes)"
for v in NODES SQUADS RUNS FIRST; do
    case ${!v} in '' | *[!0-9]*) die "$v must be a number" ;; esac
done
[ "$FIRST" -ge 70 ] || die "FIRST=$FIRST: indexes below 70 belong to the test suite's nodes"
[ "$SQUADS" -ge 1 ] && [ "$SQUADS" -le 99 ] || die "SQUADS must be 1..99"
[ "$NODES" -ge 1 ] || die "NODES must be at least 1"
! has ansible || [ -x "$ANSIBLE" ] || die "no $ANSIBLE: run bench/venv.sh"
! has pyinfra || [ -x "$PYINFRA" ] || die "no $PYINFRA: run bench/venv.sh"
if has recon && [ -z "${RECON:-}" ]; then
    RECON=$("$ROOT/scripts/recon-bin.sh" --release) || die "cannot build recon"
fi
! has recon || [ -x "$RECON" ] || die "no $RECON"
mkdir -p "$OUT" "$NSTATE" "$STATE/ansible-cp"
[ -f "$NSTATE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C bench-nodes -f "$NSTATE/id_ed25519"
if [ ! -s "$STATE/digicam-1.0.0.tar.gz" ]; then
    python3 "$BENCH/fixtures/make-release.py" "$STATE/digicam-1.0.0.tar.gz.tmp"
    mv -f "$STATE/digicam-1.0.0.tar.gz.tmp" "$STATE/digicam-1.0.0.tar.gz"
fi
: >"$NSTATE/on-nodes.log"

# --- nodes -----------------------------------------------------------------------------------
names=()
for i in $(node_indices); do names+=("$(node_name "$i")"); done
teardown() {
    "$BENCH/lib/close-masters.sh" || true
    say "tearing down ${#names[@]} nodes"
    "$ROOT/scripts/nodes/down.sh" "${names[@]}" >/dev/null || true
}
trap teardown EXIT
trap 'exit 130' INT TERM

say "booting $NODES nodes (${names[0]}..${names[${#names[@]} - 1]})"
NODES_PREFIX=$PREFIX NODES_KEY=$NSTATE/id_ed25519 "$ROOT/scripts/nodes/up.sh" "$FIRST" "$NODES" >"$OUT/up.txt" ||
    die "nodes did not boot, see $OUT/up.txt"
nodes_known_hosts
nodes_provision || die "provisioning failed, see $NSTATE/on-nodes.log"
nodes_inventory ansible "$NSTATE/ansible-inventory.yml"
nodes_inventory recon "$NSTATE/recon-inventory.yml"
nodes_pyinfra_inventory "$NSTATE/pyinfra_inventory.py"
nodes_targets "$NSTATE/targets.txt"
say "$NODES nodes up, $TARGETS targets"

# --- commands --------------------------------------------------------------------------------
# The command line of TOOL, as one shell-quoted string.
command_for() {
    case $1 in
    ansible) printf '%q ' "$ANSIBLE" -i "$NSTATE/ansible-inventory.yml" "$BENCH/ansible/digicam.yml" --forks "$TARGETS" ;;
    recon) printf '%q ' "$RECON" apply "$BENCH/recon/digicam.yml" -i "$NSTATE/recon-inventory.yml" --forks "$TARGETS" ;;
    pyinfra) printf '%q ' "$PYINFRA" -y --parallel "$TARGETS" "$NSTATE/pyinfra_inventory.py" "$BENCH/pyinfra/digicam.py" ;;
    floor) printf '%q ' env FLOOR_KEY="$NSTATE/id_ed25519" FLOOR_KNOWN_HOSTS="$NSTATE/known_hosts" \
        "$BENCH/lib/floor.sh" --targets "$NSTATE/targets.txt" ;;
    esac
}

# Changed count of an apply's output: Ansible's PLAY RECAP, recon's recap table, the Success
# column of pyinfra's results (its changed operations).
changed_in() {
    case $1 in
    ansible) sed -n 's/.* changed=\([0-9]*\) .*/\1/p' "$2" | awk '{s += $1} END {print s + 0}' ;;
    recon) awk '$1 ~ /^[a-z]+[0-9]+-bench[0-9]+$/ && NF >= 6 {s += $3} END {print s + 0}' "$2" ;;
    pyinfra) awk '$1 == "Grand" && $2 == "total" {c = ($4 == "-") ? 0 : $4} END {print c + 0}' "$2" ;;
    esac
}

# One measured run: TOOL MODE RUN. Appends "tool mode run wall logins sessions max rss changed"
# to results.txt and checks what the mode promises.
measure() {
    local tool=$1 mode=$2 run=$3 tag counts changed=-
    tag=$tool-$mode-$run
    [ "$mode" = cold ] && { on_nodes "bash /root/bench/reset.sh $SQUADS" || die "reset failed, see $NSTATE/on-nodes.log"; }
    "$BENCH/lib/close-masters.sh"
    nodes_log_offsets "$OUT/$tag.offsets"
    say "$tag: $(command_for "$tool")"
    timed "$tag" sh -c "$(command_for "$tool")" || die "$tag failed, see $OUT/$tag.out"
    counts=$(nodes_log_counts "$OUT/$tag.offsets" "$OUT/$tag")
    if [ "$tool" != floor ]; then
        changed=$(changed_in "$tool" "$OUT/$tag.out")
        [ "$mode" != noop ] || [ "$changed" = 0 ] ||
            die "$tag reported $changed changes on converged squads, see $OUT/$tag.out"
        [ "$mode" != cold ] || on_nodes "bash /root/bench/lib/serving.sh $SQUADS" ||
            die "$tag: not every squad serves, see $NSTATE/on-nodes.log"
    fi
    echo "$tool $mode $run $(wall_s "$OUT/$tag.time") $counts $(rss_mib "$OUT/$tag.time") $changed" >>"$OUT/results.txt"
    say "$tag: $(tail -1 "$OUT/results.txt")"
}

# --- the benchmark ---------------------------------------------------------------------------
{
    echo "date: $(date -u +%FT%TZ)  host: $(uname -srm), $(nproc) cores, $(free -m | awk '/^Mem:/ {print $2}') MiB"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (dirty)')"
    has ansible && echo "ansible: $("$ANSIBLE" --version | head -1)"
    has pyinfra && "$PYINFRA" --version
    has recon && echo "recon: $("$RECON" --version)"
    echo "openssh (controller): $(ssh -V 2>&1)  nodes: Debian bookworm, $(node_ssh "$FIRST" 'ssh -V 2>&1' </dev/null)"
    echo "nodes: $NODES x $SQUADS squads = $TARGETS targets; boot: $(awk '{print $4}' "$OUT/up.txt" | sort -n | tail -1) (slowest node)"
    echo "reproduce: NODES=$NODES SQUADS=$SQUADS RUNS=$RUNS TOOLS=\"$TOOLS\"${RECON_SET:+ RECON=$RECON} bench/nodes.sh"
} >"$OUT/meta.txt"
: >"$OUT/results.txt"

for tool in $TOOLS; do
    if [ "$tool" = floor ]; then
        for r in $(seq 1 "$RUNS"); do measure floor ssh "$r"; done
        continue
    fi
    for r in $(seq 1 "$RUNS"); do measure "$tool" cold "$r"; done
    for r in $(seq 1 "$RUNS"); do measure "$tool" noop "$r"; done
    # Same work: recon finds nothing to change on the other tool's result.
    if [ "$tool" != recon ] && has recon; then
        "$RECON" plan "$BENCH/recon/digicam.yml" -i "$NSTATE/recon-inventory.yml" --forks "$TARGETS" \
            --detailed-exitcode >"$OUT/cross-recon-$tool.out" 2>&1 ||
            die "recon plan sees changes (or failed) on $tool's result, see $OUT/cross-recon-$tool.out"
        echo "recon plan --detailed-exitcode after $tool: no changes" >>"$OUT/cross.txt"
    fi
done

# --- the table -------------------------------------------------------------------------------
python3 "$BENCH/lib/nodes-summary.py" "$OUT" "$SQUADS" >"$OUT/summary.md"
cat "$OUT/summary.md"
echo "raw results: $OUT" >&2
