#!/usr/bin/env bash
# The main job (README): deploy the digicam sample to three squads on this machine, the way a
# team deploys to a shared server. It installs what is missing, creates the squads' Unix accounts
# (squad_alpha, squad_bravo, squad_charlie), starts an sshd on 127.0.0.1:2201, one nginx on
# 127.0.0.1:8088 and one supervisord (state in /tmp/recon-demo), then runs
#   recon apply playbooks/digicam.yml -i inventory/squads.yml -e version=$VERSION
# and prints where each squad answers. Re-running it is safe: it reuses what is running.
# Deploys are blue/green (playbooks/digicam.yml): a new release starts in each squad's idle slot,
# is checked there, then nginx switches to it; `-e deploy=in_place` is not offered here.
#
# Usage: scripts/demo.sh [VERSION]       deploy VERSION (default v1.0.1; v1.0.2 is the broken one)
#        scripts/demo.sh rollback [VERSION]   roll back (to the previous good release, or VERSION)
#        scripts/demo.sh releases             list each squad's releases
#        scripts/demo.sh stop                 stop the sshd, nginx and supervisord it started
#        scripts/demo.sh reset                stop, and remove what the demo deployed (the squads'
#                                             ~/digicam and recon state), as on a fresh machine
# Needs root: run as root, or as a user with sudo (it re-runs itself under sudo after building
# recon as you, so cargo need not be on root's PATH). RECON_DEMO_BIN=/path/to/recon uses that
# binary instead of building one.
set -euo pipefail
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.."
STATE=/tmp/recon-demo
SQUADS="alpha bravo charlie"
ACTION=deploy
case "${1:-}" in
deploy | rollback | releases | stop | reset) ACTION=$1; shift ;;
-h | --help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "demo: run as root (it creates accounts and starts services)" >&2; exit 1; }
  bin=${RECON_DEMO_BIN:-}
  [ -n "$bin" ] || [ "$ACTION" = stop ] || [ "$ACTION" = reset ] || bin=$(scripts/recon-bin.sh)
  exec sudo env RECON_DEMO_BIN="$bin" "$SELF" "$ACTION" "$@"
fi
# The key recon logs in with (the inventory names ~/.recon-demo/...).
KEYS=$HOME/.recon-demo

# Stops a daemon by its pid file and waits until it is gone (its port is free afterwards).
stop_pid() {
  local file=$1 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$file"
}

if [ "$ACTION" = stop ] || [ "$ACTION" = reset ]; then
  # supervisord stops the squads' programs as it exits.
  stop_pid "$STATE/supervisor/supervisord.pid"
  stop_pid "$STATE/nginx/nginx.pid"
  stop_pid "$STATE/ssh/sshd.pid"
  if [ "$ACTION" = reset ]; then
    for squad in $SQUADS; do
      home=/home/squad_$squad
      [ -d "$home" ] && rm -rf "$home/digicam" "$home/.recon" "$home/.recon.lock" "$home/.recon.lock.info" "$home/.cache/recon"
    done
    rm -rf "$STATE"
    echo "demo: reset (the squads' deployments and $STATE removed; accounts kept)"
    exit 0
  fi
  echo "demo: stopped (accounts, homes and $STATE are kept; re-run scripts/demo.sh to start again)"
  exit 0
fi

sh scripts/install-deps.sh demo
RECON=${RECON_DEMO_BIN:-}
[ -n "$RECON" ] || RECON=$(scripts/recon-bin.sh)
PLAYBOOK=(playbooks/digicam.yml -i inventory/squads.yml)

mkdir -p "$STATE/ssh" "$STATE/authorized_keys" "$STATE/nginx" "$STATE/supervisor" "$KEYS" /run/sshd
chmod 755 "$STATE" "$STATE/authorized_keys"
[ -f "$KEYS/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$KEYS/id_ed25519"
[ -f "$STATE/ssh/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$STATE/ssh/host_ed25519"

for squad in $SQUADS; do
  user=squad_$squad
  id "$user" >/dev/null 2>&1 || useradd -m -s /bin/sh -p '*' "$user"
  install -m 644 "$KEYS/id_ed25519.pub" "$STATE/authorized_keys/$user"
done
{
  echo "User_Alias RECON_DEMO_SQUADS = squad_alpha, squad_bravo, squad_charlie"
  echo "RECON_DEMO_SQUADS ALL=(root) NOPASSWD: /usr/sbin/nginx -t -c $STATE/nginx/nginx.conf, /usr/sbin/nginx -s reload -c $STATE/nginx/nginx.conf"
} > "$STATE/sudoers"
visudo -cqf "$STATE/sudoers" && install -m 440 "$STATE/sudoers" /etc/sudoers.d/recon-demo

# sshd on 127.0.0.1:2201, key auth only.
cat > "$STATE/ssh/sshd_config" <<CONF
Port 2201
ListenAddress 127.0.0.1
HostKey $STATE/ssh/host_ed25519
PidFile $STATE/ssh/sshd.pid
AuthorizedKeysFile $STATE/authorized_keys/%u
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
CONF
if ! { [ -f "$STATE/ssh/sshd.pid" ] && kill -0 "$(cat "$STATE/ssh/sshd.pid")" 2>/dev/null; }; then
  /usr/sbin/sshd -f "$STATE/ssh/sshd_config" -E "$STATE/ssh/sshd.log"
fi
printf '[127.0.0.1]:2201 %s\n' "$(cut -d' ' -f1,2 "$STATE/ssh/host_ed25519.pub")" > "$KEYS/known_hosts"

# One nginx for every squad: squads' server blocks are included from their homes.
mkdir -p "$STATE/nginx/tmp"
cat > "$STATE/nginx/nginx.conf" <<CONF
user nobody nogroup;
worker_processes 1;
pid $STATE/nginx/nginx.pid;
error_log $STATE/nginx/error.log;
events { worker_connections 64; }
http {
    access_log $STATE/nginx/access.log;
    client_body_temp_path $STATE/nginx/tmp/body;
    proxy_temp_path $STATE/nginx/tmp/proxy;
    fastcgi_temp_path $STATE/nginx/tmp/fastcgi;
    uwsgi_temp_path $STATE/nginx/tmp/uwsgi;
    scgi_temp_path $STATE/nginx/tmp/scgi;
    server { listen 127.0.0.1:8088 default_server; return 404; }
    include /home/squad_*/digicam/conf/nginx.conf;
}
CONF
chmod 644 "$STATE/nginx/nginx.conf"
if ! { [ -f "$STATE/nginx/nginx.pid" ] && kill -0 "$(cat "$STATE/nginx/nginx.pid")" 2>/dev/null; }; then
  /usr/sbin/nginx -c "$STATE/nginx/nginx.conf"
fi

# One supervisord: its socket is open to the squads, their programs run as themselves.
cat > "$STATE/supervisor/supervisord.conf" <<CONF
[unix_http_server]
file=$STATE/supervisor/supervisor.sock
chmod=0777
[supervisord]
logfile=$STATE/supervisor/supervisord.log
pidfile=$STATE/supervisor/supervisord.pid
childlogdir=$STATE/supervisor
user=root
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://$STATE/supervisor/supervisor.sock
[include]
files = /home/squad_*/digicam/conf/supervisor*.conf
CONF
if ! supervisorctl -c "$STATE/supervisor/supervisord.conf" pid >/dev/null 2>&1; then
  supervisord -c "$STATE/supervisor/supervisord.conf"
fi

# A squad deployed from an older edition of the sample (a shipped tarball whose content changed
# under the same version name) would be refused by recon ("other content"): that is demo data,
# so its folder is cleared and the squad deployed afresh.
for squad in $SQUADS; do
  app=/home/squad_$squad/digicam
  for marker in "$app"/.recon-releases/v*; do
    [ -f "$marker" ] || continue
    version=$(basename "$marker")
    tarball=examples/digicam/releases/digicam-$version.tar.gz
    [ -f "$tarball" ] || continue
    if ! grep -qx "sha256=$(sha256sum "$tarball" | cut -d' ' -f1)" "$marker"; then
      echo "demo: squad_$squad runs an older edition of the sample; clearing $app"
      for program in "digicam-$squad" "digicam-$squad-blue" "digicam-$squad-green"; do
        supervisorctl -c "$STATE/supervisor/supervisord.conf" stop "$program" >/dev/null 2>&1 || true
      done
      rm -rf "$app"
      break
    fi
  done
done

case $ACTION in
releases) exec "$RECON" releases "${PLAYBOOK[@]}" ;;
rollback)
  echo "demo: rolling back${1:+ to $1}"
  status=0
  "$RECON" rollback "${PLAYBOOK[@]}" ${1:+--to "$1"} || status=$?
  ;;
deploy)
  VERSION=${1:-v1.0.1}
  echo "demo: deploying $VERSION to $SQUADS"
  status=0
  "$RECON" apply "${PLAYBOOK[@]}" -e "version=$VERSION" || status=$?
  ;;
esac
echo
for squad in $SQUADS; do
  printf 'api.digicam.%s.test  curl -H "Host: api.digicam.%s.test" http://127.0.0.1:8088/health  -> ' "$squad" "$squad"
  # A supervisord started just now is still starting the programs: give them a few seconds.
  curl -sf --retry 10 --retry-delay 1 --retry-all-errors --max-time 3 \
    -H "Host: api.digicam.$squad.test" http://127.0.0.1:8088/health || echo "(no answer)"
done
echo
echo "demo: recon is $RECON. Next: scripts/demo.sh v1.0.2 (broken: it fails its check in the idle slot and never takes traffic),"
echo "      scripts/demo.sh releases, scripts/demo.sh rollback [VERSION] (a release deployed before),"
echo "      scripts/demo.sh stop"
exit "$status"
