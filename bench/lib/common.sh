# shellcheck shell=bash disable=SC2034
# Sourced by bench/run.sh and bench/lib/*.sh: paths, the SSH port, squad names.
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(dirname "$BENCH")
STATE=$BENCH/.state
SSH_PORT=2222

squad() { printf 'bench%02d' "$1"; }

# bench01:bench02:...:benchNN, a host pattern both ansible-playbook and recon accept.
limit_for() {
    local n=$1 i out=""
    for i in $(seq 1 "$n"); do out="$out${out:+:}$(squad "$i")"; done
    printf '%s\n' "$out"
}
