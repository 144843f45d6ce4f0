#!/usr/bin/env bash
# The main job (README): deploy the digicam sample to three squads on this machine, the way a
# team deploys to a shared server. It installs what is missing, creates the squads' Unix accounts
# (squad_alpha, squad_bravo, squad_charlie), starts an sshd on 127.0.0.1:2201, one nginx on
# 127.0.0.1:8088 and one supervisord (state in /tmp/recon-demo), then runs
#   recon apply playbooks/digicam.yml -i inventory/squads.yml -e version=$VERSION
# and prints where each squad answers. Re-running it is safe: it reuses what is running.
# Usage: scripts/demo.sh [VERSION]   (default v1.0.1; v1.0.2 is the broken one)     Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:-v1.0.1}
STATE=/tmp/recon-demo
KEYS=$HOME/.recon-demo
SQUADS="alpha bravo charlie"
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it creates accounts and starts services)" >&2; exit 1; }

sh scripts/install-deps.sh
cargo build --release --locked --quiet
RECON=$PWD/target/release/recon
bash scripts/make-releases.sh examples/digicam/releases >/dev/null

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
files = /home/squad_*/digicam/conf/supervisor.conf
CONF
if ! supervisorctl -c "$STATE/supervisor/supervisord.conf" pid >/dev/null 2>&1; then
  supervisord -c "$STATE/supervisor/supervisord.conf"
fi

echo "demo: deploying $VERSION to $SQUADS"
status=0
"$RECON" apply playbooks/digicam.yml -i inventory/squads.yml -e "version=$VERSION" || status=$?
echo
for squad in $SQUADS; do
  printf 'api.digicam.%s.test  curl -H "Host: api.digicam.%s.test" http://127.0.0.1:8088/health  -> ' "$squad" "$squad"
  curl -s --max-time 3 -H "Host: api.digicam.$squad.test" http://127.0.0.1:8088/health || echo "(no answer)"
done
exit "$status"
