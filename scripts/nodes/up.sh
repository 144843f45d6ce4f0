#!/bin/bash
# up.sh FIRST COUNT - boots nodes <prefix>FIRST .. <prefix>(FIRST+COUNT-1) in parallel, each a
# Debian machine with systemd as PID 1 (systemd-nspawn --boot) on an overlay over the shared rootfs
# (rootfs.sh), with a fresh ed25519 host key and its own veth:
#   machine side  ve-<name>  169.254.<i>.1/24  fd42:7e57:0:<i>::1/64
#   node side     host0      169.254.<i>.2/24  fd42:7e57:0:<i>::2/64
# Root and `deploy` (NOPASSWD sudo) accept NODES_KEY.pub. A node left over by a killed run
# (same name) is torn down first; with NODES_KEEP=1 its files and host key are kept (a power
# cycle: the node boots again as it was). Prints "<name> <ipv4> <ipv6> <boot-seconds> <state>" per node.
# Env: NODES_BASE (/var/tmp/recon-nodes), NODES_PREFIX (rn; short: ve-<prefix><i> must fit 15
# bytes), NODES_KEY (default $NODES_BASE/id_ed25519, made when missing), NODES_TIMEOUT (120 s).
set -euo pipefail
FIRST=${1:?usage: up.sh FIRST COUNT}
COUNT=${2:?usage: up.sh FIRST COUNT}
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=${NODES_BASE:-/var/tmp/recon-nodes}
PREFIX=${NODES_PREFIX:-rn}
KEY=${NODES_KEY:-$BASE/id_ed25519}
TIMEOUT=${NODES_TIMEOUT:-120}
(( FIRST >= 1 && FIRST + COUNT - 1 <= 254 )) || { echo "up.sh: node indexes must stay within 1..254" >&2; exit 2; }
(( FIRST > 169 || FIRST + COUNT - 1 < 169 )) || { echo "up.sh: index 169 is the cloud metadata range" >&2; exit 2; }
ROOTFS=$("$HERE/rootfs.sh")
mkdir -p "$BASE/run"
[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C recon-nodes -f "$KEY"
SSH=(ssh -F /dev/null -i "$KEY" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
     -o LogLevel=ERROR -o ConnectTimeout=2 -o BatchMode=yes -n)

# Without systemd as this machine's PID 1 there is no machined or bus: nspawn runs with
# --register=no --keep-unit, and each node gets its own cgroup (else every node would share
# "<our cgroup>/payload" and their systemds would manage each other's units).
if [ "$(cat /proc/1/comm)" = systemd ]; then
  NSPAWN_MODE=(); cgdirs() { :; }
else
  NSPAWN_MODE=(--register=no --keep-unit)
  cgdirs() {
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo "/sys/fs/cgroup/recon-nodes/$1"
    else for h in unified systemd; do [ -d "/sys/fs/cgroup/$h" ] && echo "/sys/fs/cgroup/$h/recon-nodes/$1"; done; fi
  }
fi

declare -A T0
for ((i=FIRST; i<FIRST+COUNT; i++)); do
  name=$PREFIX$i; d=$BASE/run/$name
  [ -e "$d" ] && KEEP=${NODES_KEEP:-0} "$HERE/down.sh" "$name" >/dev/null
  mkdir -p "$d/upper" "$d/work" "$d/merged"
  mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$d/upper,workdir=$d/work" "$d/merged"
  m=$d/merged
  [ -f "$m/etc/ssh/ssh_host_ed25519_key" ] ||
    ssh-keygen -q -t ed25519 -N '' -C "root@$name" -f "$m/etc/ssh/ssh_host_ed25519_key"
  install -m600 "$KEY.pub" "$m/root/.ssh/authorized_keys"
  ids=$(awk -F: '$1=="deploy"{print $3":"$4}' "$m/etc/passwd")
  install -d -m700 -o "${ids%:*}" -g "${ids#*:}" "$m/home/deploy/.ssh"
  install -m600 -o "${ids%:*}" -g "${ids#*:}" "$KEY.pub" "$m/home/deploy/.ssh/authorized_keys"
  echo "$name" > "$m/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 %s\n::1 localhost ip6-localhost\n' "$name" > "$m/etc/hosts"
  printf 'ADDR=169.254.%d.2/24\nADDR6=fd42:7e57:0:%d::2/64\n' "$i" "$i" > "$m/etc/node-net"
  CGS=$(cgdirs "$name"); for c in $CGS; do mkdir -p "$c"; done
  T0[$i]=$(date +%s.%N)
  # setsid: the node outlives this script; the wrapper joins the node's cgroup(s), records its
  # pid and becomes nspawn.
  setsid bash -c 'for c in $1; do echo $$ > "$c/cgroup.procs"; done; echo $$ > "$2/nspawn.pid"; shift 2; exec "$@"' \
    _ "$CGS" "$d" systemd-nspawn -q -D "$m" -M "$name" --boot "${NSPAWN_MODE[@]}" --network-veth \
      --console=read-only > "$d/console.log" 2>&1 < /dev/null &
done

for ((i=FIRST; i<FIRST+COUNT; i++)); do
  name=$PREFIX$i; ve=ve-$name
  for _ in $(seq 300); do ip link show "$ve" >/dev/null 2>&1 && break; sleep 0.1; done
  ip link show "$ve" >/dev/null 2>&1 || { echo "up.sh: no $ve; console:" >&2; cat "$BASE/run/$name/console.log" >&2; exit 1; }
  ip addr replace "169.254.$i.1/24" dev "$ve"
  ip -6 addr replace "fd42:7e57:0:$i::1/64" dev "$ve" nodad
  ip link set "$ve" up
done

rc=0
for ((i=FIRST; i<FIRST+COUNT; i++)); do
  name=$PREFIX$i; d=$BASE/run/$name; ip4=169.254.$i.2; state=
  while :; do
    state=$("${SSH[@]}" "root@$ip4" systemctl is-system-running --wait 2>/dev/null) && break
    case $state in running|degraded) break;; esac
    if (( $(date +%s) - ${T0[$i]%.*} > TIMEOUT )); then
      state="timeout($state)"; rc=1; cat "$d/console.log" >&2; break; fi
    sleep 0.3
  done
  secs=$(awk -v a="${T0[$i]}" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  pgrep -P "$(cat "$d/nspawn.pid")" -x systemd > "$d/init.pid" || true
  echo "$name $ip4 fd42:7e57:0:$i::2 ${secs}s $state"
done
exit $rc
