#!/bin/bash
# down.sh NAME... - stops nodes booted by up.sh and removes everything they used: veth, overlay
# mount, cgroups, their folder (KEEP=1 keeps the folder: the node's files and host key).
# SIGTERM asks nspawn for a clean halt (~2 s); a node still up after 30 s has its PID 1 killed
# (which ends its whole pid namespace), then nspawn.
set -uo pipefail
BASE=${NODES_BASE:-/var/tmp/recon-nodes}
cd "$BASE/run" 2>/dev/null || exit 0
is_nspawn() { [ -n "${1:-}" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = systemd-nspawn ]; }
for n in "$@"; do
  p=$(cat "$n/nspawn.pid" 2>/dev/null); is_nspawn "$p" && kill -TERM "$p"
done
for n in "$@"; do
  [ -e "$n" ] || continue
  p=$(cat "$n/nspawn.pid" 2>/dev/null)
  for _ in $(seq 150); do is_nspawn "$p" || break; sleep 0.2; done
  if is_nspawn "$p"; then
    init=$(cat "$n/init.pid" 2>/dev/null)
    [ -n "$init" ] && [ "$(cat "/proc/$init/comm" 2>/dev/null)" = systemd ] && kill -KILL "$init"
    sleep 1; is_nspawn "$p" && kill -KILL "$p"
  fi
  ip link del "ve-$n" 2>/dev/null
  for _ in 1 2 3 4 5; do mountpoint -q "$n/merged" || break; umount "$n/merged" 2>/dev/null || sleep 0.5; done
  mountpoint -q "$n/merged" && umount -l "$n/merged"
  for c in /sys/fs/cgroup/recon-nodes/$n /sys/fs/cgroup/unified/recon-nodes/$n /sys/fs/cgroup/systemd/recon-nodes/$n; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  rmdir "/run/systemd/nspawn/propagate/$n" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then rm -f "$n/nspawn.pid" "$n/init.pid"; else rm -rf "$n"; fi
  echo "$n down"
done
exit 0
