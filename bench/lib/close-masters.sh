#!/usr/bin/env bash
# Closes Ansible's ControlPersist masters (bench/.state/ansible-cp), so the next run starts with
# no SSH connection open, as the scenario requires.
set -eu
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/common.sh"
for sock in "$STATE"/ansible-cp/*; do
    [ -S "$sock" ] || continue
    ssh -F /dev/null -o ControlPath="$sock" -O exit bench-master 2>/dev/null || rm -f "$sock"
done
