#!/usr/bin/env bash
# Resets squads bench01..benchNN to fresh homes, so a cold run starts clean: stops the squad's
# supervisord (and with it the app) and nginx, wipes ~/digicam and the tools' remote temp
# folder (~/.ansible), restores ~/.profile from /etc/skel. Run as root.
#
#   bench/reset.sh N
set -eu

N=${1:?usage: $0 N}
case $N in *[!0-9]*) echo "usage: $0 N" >&2; exit 2 ;; esac

# Sends SIGTERM to the pid in FILE when it is a process of USER, then waits for it to end.
stop_pidfile() {
    local user=$1 file=$2 pid
    [ -s "$file" ] || return 0
    pid=$(cat "$file")
    case $pid in '' | *[!0-9]*) return 0 ;; esac
    [ "$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ')" = "$user" ] || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
}

# One squad at a time would wait out each squad's slow stops (supervisord stopping its app) in
# turn: every squad is reset at once.
reset_one() {
    i=$1
    user=$(printf 'bench%02d' "$i")
    home=$(getent passwd "$user" | cut -d: -f6) || { echo "reset: no account $user (run bench/setup.sh)" >&2; exit 1; }
    D=$home/digicam
    stop_pidfile "$user" "$D/run/supervisord.pid"
    stop_pidfile "$user" "$D/run/nginx/nginx.pid"
    # Whatever of this dedicated account survived (an app whose supervisord died, a stray
    # session): only benchmark processes run under these accounts on this machine. Processes
    # of booted nodes (systemd-nspawn) can have the same uid inside their own namespaces:
    # only this machine's own pid namespace counts.
    left=$(pgrep -u "$user" --ns $$ --nslist pid || true)
    if [ -n "$left" ]; then
        # shellcheck disable=SC2086
        kill $left 2>/dev/null || true
        sleep 0.2
        left=$(pgrep -u "$user" --ns $$ --nslist pid || true)
        # shellcheck disable=SC2086
        [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
    fi
    rm -rf "$D" "$home/.ansible"
    install -o "$user" -g "$user" -m 0644 /etc/skel/.profile "$home/.profile"
}

pids=""
for i in $(seq 1 "$N"); do
    reset_one "$i" &
    pids="$pids $!"
done
status=0
for pid in $pids; do wait "$pid" || status=1; done
exit $status
