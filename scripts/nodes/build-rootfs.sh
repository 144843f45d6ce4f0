#!/bin/bash
# Builds the Debian bookworm rootfs every test node boots from (systemd as PID 1 under
# systemd-nspawn): sshd, python3, sudo, a `deploy` NOPASSWD sudo account and what the tests deploy
# (nginx-light, supervisor, ufw, curl, python3-venv; python3-apt, which Ansible's `apt` module
# needs, for side-by-side runs of ansible-playbook): nodes have no network of their own, so
# everything they need is in the image. libpam-systemd, as on any installed Debian (systemd
# recommends it; debootstrap skips recommends): without it a session gets no XDG_RUNTIME_DIR and
# an account's user manager (user@UID.service, `scope: user` units) cannot start at all.
# Usage: build-rootfs.sh ROOTFS. The caller (rootfs.sh) names ROOTFS after this file's hash, so a
# changed recipe builds a new image. The mirror is the one apt on this machine already uses.
set -euo pipefail
ROOTFS=${1:?usage: build-rootfs.sh ROOTFS}
SRC=/etc/apt/sources.list.d/debian.sources
MIRROR=$(awk '/^URIs:/{print $2; exit}' "$SRC" 2>/dev/null || true)
[ -n "$MIRROR" ] || MIRROR=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
# --no-install-recommends: systemd-container recommends libnss-mymachines, which edits nsswitch.conf.
command -v debootstrap >/dev/null && command -v systemd-nspawn >/dev/null ||
  { apt-get update -q && apt-get install -y -q --no-install-recommends debootstrap systemd-container; }
TMP="$ROOTFS.building.$$"
rm -rf "$TMP"; mkdir -p "$(dirname "$ROOTFS")"
trap 'rm -rf "$TMP"' EXIT
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,libpam-systemd,openssh-server,dbus,iproute2,sudo,python3,python3-venv,python3-apt,curl,nginx-light,supervisor,ufw,iptables,procps,cron \
  bookworm "$TMP" "$MIRROR"
echo node > "$TMP/etc/hostname"
# nspawn gives each boot a fresh machine-id when the file is empty.
: > "$TMP/etc/machine-id"
mkdir -p "$TMP/root/.ssh"; chmod 700 "$TMP/root/.ssh"
cat > "$TMP/etc/ssh/sshd_config.d/10-node.conf" <<'C'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
HostKey /etc/ssh/ssh_host_ed25519_key
MaxStartups 200
MaxSessions 100
C
# Host keys are made per node by up.sh.
rm -f "$TMP"/etc/ssh/ssh_host_*
mkdir -p "$TMP/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n' > "$TMP/etc/systemd/journald.conf.d/10-node.conf"
# Units useless in a container that slow the boot; the packages' own daemons start only when a
# play asks (the tests assert what recon started).
for u in systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
         getty@tty1.service console-getty.service systemd-networkd-wait-online.service; do
  ln -sf /dev/null "$TMP/etc/systemd/system/$u"
done
for u in nginx supervisor cron ufw; do
  chroot "$TMP" systemctl disable "$u" >/dev/null 2>&1 || true
done
# host0 gets its static addresses from /etc/node-net (written per node by up.sh).
cat > "$TMP/etc/systemd/system/node-net.service" <<'U'
[Unit]
Description=Static address for host0 (from /etc/node-net)
Before=network.target ssh.service
Wants=network.target
[Service]
Type=oneshot
RemainAfterExit=yes
EnvironmentFile=/etc/node-net
ExecStart=/sbin/ip link set lo up
ExecStart=/sbin/ip link set host0 up
ExecStart=/sbin/ip addr replace ${ADDR} dev host0
ExecStart=-/sbin/ip -6 addr replace ${ADDR6} dev host0 nodad
[Install]
WantedBy=multi-user.target
U
ln -sf /etc/systemd/system/node-net.service "$TMP/etc/systemd/system/multi-user.target.wants/node-net.service"
chroot "$TMP" useradd -m -s /bin/bash -G sudo deploy
echo 'deploy ALL=(ALL) NOPASSWD:ALL' > "$TMP/etc/sudoers.d/deploy"; chmod 440 "$TMP/etc/sudoers.d/deploy"
chroot "$TMP" apt-get clean
rm -rf "$TMP"/usr/share/doc/* "$TMP"/usr/share/man/* "$TMP"/usr/share/locale/* "$TMP"/var/lib/apt/lists/*
mv "$TMP" "$ROOTFS"
trap - EXIT
echo "rootfs ready: $ROOTFS ($(du -sh "$ROOTFS" | cut -f1))"
