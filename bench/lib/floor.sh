#!/usr/bin/env bash
# The floor: one parallel `ssh USER@HOST true` per target (one connection, one session each),
# with curve25519-sha256 key exchange. Fails when any of them fails.
#   bench/lib/floor.sh N                  squads bench01..benchNN on the benchmark sshd
#   bench/lib/floor.sh --targets FILE     one "USER HOST" per line (bench/nodes.sh), port 22,
#                                         key FLOOR_KEY, known hosts FLOOR_KNOWN_HOSTS
set -eu
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/common.sh"
targets=()
if [ "${1:-}" = --targets ]; then
    FILE=${2:?usage: $0 --targets FILE}
    port=22 key=${FLOOR_KEY:?FLOOR_KEY} known=${FLOOR_KNOWN_HOSTS:?FLOOR_KNOWN_HOSTS}
    while read -r user host; do targets+=("$user@$host"); done <"$FILE"
else
    N=${1:?usage: $0 N | --targets FILE}
    port=$SSH_PORT key=$STATE/id_ed25519 known=$STATE/known_hosts
    for i in $(seq 1 "$N"); do targets+=("$(squad "$i")@127.0.0.1"); done
fi
pids=()
for target in "${targets[@]}"; do
    ssh -F /dev/null -p "$port" -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$known" -o StrictHostKeyChecking=yes \
        -o KexAlgorithms=curve25519-sha256 -o ControlMaster=no -o ControlPath=none \
        "$target" true </dev/null &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
