#!/bin/bash
# Prints the path of the node rootfs, building it first when missing. The path carries the hash of
# build-rootfs.sh, so a changed recipe builds a new image; the cache lives outside the checkout
# (NODES_BASE, default /var/tmp/recon-nodes). A lock makes concurrent callers build it once.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=${NODES_BASE:-/var/tmp/recon-nodes}
HASH=$(sha256sum "$HERE/build-rootfs.sh" | cut -c1-12)
ROOTFS=$BASE/rootfs-$HASH
mkdir -p "$BASE"
if [ ! -x "$ROOTFS/lib/systemd/systemd" ]; then
  exec 9>"$BASE/.build.lock"
  flock 9
  [ -x "$ROOTFS/lib/systemd/systemd" ] || "$HERE/build-rootfs.sh" "$ROOTFS" >&2
fi
echo "$ROOTFS"
