#!/usr/bin/env bash
# The squad-deploy benchmark: ansible-playbook vs recon vs the SSH floor, on 1, 8 and 32 squads.
#
#   bench/setup.sh 32 && bench/venv.sh                               # once
#   bench/run.sh                                                    # SIZES="1 8 32" RUNS=3
#   SIZES="1" RUNS=1 TOOLS="ansible floor" bench/run.sh             # a smoke run
#
# For every N in SIZES, with hyperfine (median of RUNS runs):
#   cold   each run starts from freshly reset homes (bench/reset.sh N) with no connection open
#   no-op  re-apply on converged squads, each run with no connection open (ControlPersist
#          masters closed)
#   floor  N parallel `ssh -o KexAlgorithms=curve25519-sha256 SQUAD@127.0.0.1 true`
#   coldfloor  from reset homes, N parallel ssh sessions each extracting the squad's prebuilt
#          final home (one tar) and starting the two handlers (bench/lib/cold-floor.sh): the
#          least a cold deploy can cost; recon cold is reported as a ratio to it
# then one more run of each, outside hyperfine, for the SSH logins and sessions per squad (from
# the sshd log, LogLevel VERBOSE), the peak RSS of the controller (/usr/bin/time -v) and checks:
# a cold run leaves every squad serving through its nginx, a no-op run reports 0 changed, and
# each tool sees nothing to change on the other's result (same work).
# Raw results (hyperfine JSON, outputs, sshd log slices) go to bench/results/DATE/; the summary
# table is printed and written to bench/results/DATE/summary.md.
set -eu
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

SIZES=${SIZES:-"1 8 32"}
RUNS=${RUNS:-3}
TOOLS=${TOOLS:-"ansible recon floor coldfloor"}
RECON_SET=${RECON:+1}
ANSIBLE=$BENCH/.venv/bin/ansible-playbook
export ANSIBLE_CONFIG=$BENCH/ansible/ansible.cfg ANSIBLE_SSH_CONTROL_PATH_DIR=$STATE/ansible-cp
export ANSIBLE_NOCOLOR=1 NO_COLOR=1
OUT=$BENCH/results/$(date +%Y%m%d-%H%M%S)
LOG=$STATE/sshd.log

die() { echo "run: $*" >&2; exit 1; }
has() { case " $TOOLS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# --- preflight -------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "run as root (reset.sh manages the squad accounts)"
command -v hyperfine >/dev/null || die "hyperfine missing: run bench/setup.sh"
if ! { [ -s "$STATE/sshd.pid" ] && kill -0 "$(cat "$STATE/sshd.pid")" 2>/dev/null; }; then
    die "the benchmark sshd is not running: run bench/setup.sh"
fi
max=0
for n in $SIZES; do [ "$n" -gt "$max" ] && max=$n; done
id "$(squad "$max")" >/dev/null 2>&1 || die "no account $(squad "$max"): run bench/setup.sh $max"
grep -q "^        $(squad "$max"):" "$BENCH/recon/inventory.yml" ||
    die "inventories stop before $(squad "$max"): run bench/gen-inventories.sh $max"
! has ansible || [ -x "$ANSIBLE" ] || die "no $ANSIBLE: run bench/venv.sh"
# Without RECON, build the release profile and ask cargo where it put it (CARGO_TARGET_DIR).
if has recon && [ -z "${RECON:-}" ]; then
    RECON=$("$ROOT/scripts/recon-bin.sh" --release) || die "cannot build recon"
fi
! has recon || [ -x "$RECON" ] || die "no $RECON"
mkdir -p "$OUT" "$STATE/ansible-cp"

# --- commands --------------------------------------------------------------------------------
# The command line of TOOL for N squads, as one shell-quoted string.
command_for() {
    local tool=$1 n=$2 limit
    limit=$(limit_for "$n")
    case $tool in
    ansible) printf '%q ' "$ANSIBLE" -i "$BENCH/ansible/inventory.yml" "$BENCH/ansible/digicam.yml" \
        --limit "$limit" --forks "$n" ;;
    recon) printf '%q ' "$RECON" apply "$BENCH/recon/digicam.yml" -i "$BENCH/recon/inventory.yml" \
        --limit "$limit" --forks "$n" ;;
    floor) printf '%q ' "$BENCH/lib/floor.sh" "$n" ;;
    coldfloor) printf '%q ' "$BENCH/lib/cold-floor.sh" "$n" ;;
    esac
}

# Changed count of an apply's output: ansible's PLAY RECAP, recon's recap table.
changed_in() {
    case $1 in
    ansible) sed -n 's/.* changed=\([0-9]*\) .*/\1/p' "$2" | awk '{s += $1} END {print s + 0}' ;;
    recon) awk '$1 ~ /^bench[0-9]+$/ && NF >= 6 {s += $3} END {print s + 0}' "$2" ;;
    esac
}

# Sessions seen by sshd while CMD ran, per squad: "logins sessions" (averaged over N).
sessions_since() {
    local offset=$1 n=$2 slice=$3
    sleep 0.3 # let sshd write the last lines
    tail -c +"$((offset + 1))" "$LOG" >"$slice"
    awk -v n="$n" '/Accepted publickey for bench/ {l++} /Starting session:/ {s++}
        END {printf "%.1f %.1f\n", l / n, s / n}' "$slice"
}

close_masters() { "$BENCH/lib/close-masters.sh"; }

# One instrumented run of TOOL in MODE for N squads: time -v, sshd log slice, checks.
instrumented() {
    local tool=$1 mode=$2 n=$3 cmd=$4 tag offset extra=""
    tag=$tool-$mode-$n
    [ "$mode" = cold ] && "$BENCH/reset.sh" "$n"
    close_masters
    [ "$tool" = recon ] && extra=" --stats"
    offset=$(stat -c %s "$LOG")
    /usr/bin/time -v -o "$OUT/$tag.time" sh -c "$cmd$extra" >"$OUT/$tag.out" 2>&1 ||
        die "$tag failed, see $OUT/$tag.out"
    read -r logins sessions < <(sessions_since "$offset" "$n" "$OUT/$tag.sshd.log")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$OUT/$tag.time")
    changed=-
    if [ "$tool" = coldfloor ]; then "$BENCH/lib/serving.sh" "$n" || die "$tag: squads do not serve"; fi
    if [ "$tool" != floor ] && [ "$tool" != coldfloor ]; then
        changed=$(changed_in "$tool" "$OUT/$tag.out")
        if [ "$mode" = noop ] && [ "$changed" != 0 ]; then
            die "$tag reported $changed changes on converged squads, see $OUT/$tag.out"
        fi
        if [ "$mode" = cold ]; then "$BENCH/lib/serving.sh" "$n" || die "$tag: squads do not serve"; fi
    fi
    printf '%s %s %s %s %s %s %s\n' "$tool" "$mode" "$n" "$logins" "$sessions" "$rss" "$changed" >>"$OUT/instrumented.txt"
}

# TOOL's view of the squads another tool converged: both must see nothing to change.
cross_check() {
    local tool=$1 n=$2 limit
    limit=$(limit_for "$n")
    close_masters
    case $tool in
    ansible)
        "$ANSIBLE" -i "$BENCH/ansible/inventory.yml" "$BENCH/ansible/digicam.yml" --limit "$limit" \
            --forks "$n" --check >"$OUT/cross-ansible-$n.out" 2>&1 || die "ansible --check failed"
        [ "$(changed_in ansible "$OUT/cross-ansible-$n.out")" = 0 ] ||
            die "ansible sees changes on recon's result, see $OUT/cross-ansible-$n.out" ;;
    recon)
        "$RECON" plan "$BENCH/recon/digicam.yml" -i "$BENCH/recon/inventory.yml" --limit "$limit" \
            --forks "$n" --detailed-exitcode >"$OUT/cross-recon-$n.out" 2>&1 ||
            die "recon plan sees changes (or failed) on ansible's result, see $OUT/cross-recon-$n.out" ;;
    esac
    echo "$tool $n ok" >>"$OUT/cross.txt"
}

hyper() { # NAME JSON CMD [hyperfine options...]
    local name=$1 json=$2 cmd=$3
    shift 3
    hyperfine --runs "$RUNS" --style basic --export-json "$json" -n "$name" "$@" "$cmd"
}

# --- the benchmark ---------------------------------------------------------------------------
{
    echo "date: $(date -u +%FT%TZ)  host: $(uname -srm), $(nproc) cores"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (dirty)')"
    has ansible && echo "ansible: $("$ANSIBLE" --version | head -1)"
    has recon && echo "recon: $("$RECON" --version)"
    echo "hyperfine: $(hyperfine --version)  openssh: $(ssh -V 2>&1)"
    echo "reproduce: SIZES=\"$SIZES\" RUNS=$RUNS TOOLS=\"$TOOLS\"${RECON_SET:+ RECON=$RECON} bench/run.sh"
} >"$OUT/meta.txt"
: >"$OUT/instrumented.txt"

for n in $SIZES; do
    reset="$BENCH/reset.sh $n && $BENCH/lib/close-masters.sh"
    for tool in ansible recon; do
        has "$tool" || continue
        cmd=$(command_for "$tool" "$n")
        echo "== $tool, $n squads: $cmd" >&2
        hyper "$tool cold $n" "$OUT/$tool-cold-$n.json" "$cmd" --prepare "$reset"
        hyper "$tool noop $n" "$OUT/$tool-noop-$n.json" "$cmd" --setup "$cmd" --prepare "$BENCH/lib/close-masters.sh"
        instrumented "$tool" cold "$n" "$cmd"
        instrumented "$tool" noop "$n" "$cmd"
        # Same work: the other tool finds nothing to change on this tool's result.
        if [ "$tool" = ansible ] && has recon; then cross_check recon "$n"; fi
        if [ "$tool" = recon ] && has ansible; then cross_check ansible "$n"; fi
    done
    if has floor; then
        cmd=$(command_for floor "$n")
        echo "== floor, $n squads: $cmd" >&2
        hyper "floor $n" "$OUT/floor-$n.json" "$cmd"
        instrumented floor ssh "$n" "$cmd"
    fi
    if has coldfloor; then
        "$BENCH/lib/cold-floor.sh" prepare "$n"
        cmd=$(command_for coldfloor "$n")
        echo "== cold floor, $n squads: $cmd" >&2
        hyper "coldfloor $n" "$OUT/coldfloor-$n.json" "$cmd" --prepare "$reset"
        instrumented coldfloor cold "$n" "$cmd"
        # Same work: recon finds nothing to change on the cold floor's result.
        if has recon; then cross_check recon "$n"; fi
    fi
done
close_masters

# --- the table -------------------------------------------------------------------------------
python3 - "$OUT" "$SIZES" >"$OUT/summary.md" <<'EOF'
import json, os, sys

out, sizes = sys.argv[1], [int(s) for s in sys.argv[2].split()]
def median(name):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        return None
    return json.load(open(path))["results"][0]["median"]
inst = {}
for line in open(os.path.join(out, "instrumented.txt")):
    tool, mode, n, logins, sessions, rss, changed = line.split()
    inst[(tool, mode, int(n))] = (logins, sessions, rss, changed)
def fmt(x):
    return "–" if x is None else f"{x:.2f}"
def ratio(a, b):
    return "–" if a is None or b is None or b == 0 else f"{a / b:.1f}×"
def extra(tool, mode, n):
    logins, sessions, rss, _ = inst.get((tool, mode, n), ("–", "–", "–", "–"))
    return f"{logins} / {sessions}", rss

print(open(os.path.join(out, "meta.txt")).read())
print("Median seconds (hyperfine); SSH logins / sessions per squad and controller peak RSS (MiB)"
      " from one extra run each.\n")
print("| squads | run | ansible s | recon s | floor s | ansible/recon | recon/floor"
      " | ansible logins/sessions | recon logins/sessions | ansible RSS | recon RSS |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for n in sizes:
    floor = median(f"floor-{n}")
    for mode in ("noop", "cold"):
        a, r = median(f"ansible-{mode}-{n}"), median(f"recon-{mode}-{n}")
        (asess, arss), (rsess, rrss) = extra("ansible", mode, n), extra("recon", mode, n)
        print(f"| {n} | {mode} | {fmt(a)} | {fmt(r)} | {fmt(floor)} | {ratio(a, r)} | {ratio(r, floor)}"
              f" | {asess} | {rsess} | {arss} | {rrss} |")
cf = [(n, median(f"coldfloor-{n}"), median(f"recon-cold-{n}")) for n in sizes]
cf = [(n, c, r) for n, c, r in cf if c is not None]
if cf:
    print("\n| squads | cold floor s | recon cold s | recon/cold floor | cold floor logins/sessions |")
    print("|---|---|---|---|---|")
    for n, c, r in cf:
        print(f"| {n} | {fmt(c)} | {fmt(r)} | {'–' if r is None else f'{r / c:.2f}×'} | {extra('coldfloor', 'cold', n)[0]} |")
fl = [f"{n}: {extra('floor', 'ssh', n)[0]}" for n in sizes if ("floor", "ssh", n) in inst]
if fl:
    print(f"\nfloor logins/sessions per squad: {', '.join(fl)}")
cross = os.path.join(out, "cross.txt")
if os.path.exists(cross):
    print("same-work cross-checks passed: " + "; ".join(l.strip() for l in open(cross)))
EOF
cat "$OUT/summary.md"
ln -sfn "$(basename "$OUT")" "$BENCH/results/latest"
echo "raw results: $OUT" >&2
