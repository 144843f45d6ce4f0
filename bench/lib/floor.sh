#!/usr/bin/env bash
# The floor: N parallel `ssh SQUAD@127.0.0.1 true` (one connection, one session each), with
# curve25519-sha256 key exchange. Fails when any of them fails.
#   bench/lib/floor.sh N
set -eu
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/common.sh"
N=${1:?usage: $0 N}
pids=()
for i in $(seq 1 "$N"); do
    ssh -F /dev/null -p "$SSH_PORT" -i "$STATE/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$STATE/known_hosts" -o StrictHostKeyChecking=yes \
        -o KexAlgorithms=curve25519-sha256 -o ControlMaster=no -o ControlPath=none \
        "$(squad "$i")@127.0.0.1" true &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
