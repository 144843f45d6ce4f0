#!/bin/sh
# nginx-site-check.sh NGINX CONF SITE DOMAIN STAMP [PIDFILE]
#
# The site template's `check`: recon runs it with the new site file in place and the node's
# nginx lock held, and puts the previous file back when it fails. It passes only when the new
# configuration is the one nginx runs:
#   1. `nginx -t` passes, and does not warn that a server block for DOMAIN is ignored
#      ("conflicting server name": another site already answers for it);
#   2. `nginx -s reload`, then the master starts new workers. nginx starts them only after it
#      loaded the new configuration; when the new cycle fails (a `listen` that cannot bind, a
#      certificate it cannot read...) it keeps the old workers and the old configuration. The
#      check returns once the old workers have stopped taking connections too, so a request
#      sent after it is answered by the new configuration.
# On success the verified site is kept as SITE.live and the node's reload STAMP is touched (the
# reload handler then knows this reload already happened). On failure the last verified site
# (SITE.live) is put back and nginx reloaded, so the file on disk is what nginx runs, and the
# step fails saying why (nginx's own [emerg] line when its error log is readable).
set -u
nginx=$1 conf=$2 site=$3 domain=$4 stamp=$5 pidfile=${6:-}

out=$(sudo -n "$nginx" -t -c "$conf" 2>&1)
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || exit 1
case $out in
  *"conflicting server name \"$domain\""*)
    echo "nginx would ignore a server block for $domain (conflicting server name): another site already answers for it"
    exit 1 ;;
esac

# The master's pid file: the config's `pid` directive, else Debian's default.
if [ -z "$pidfile" ]; then
  pidfile=$(sed -n 's/^[[:space:]]*pid[[:space:]][[:space:]]*\([^;[:space:]]*\)[[:space:]]*;.*/\1/p' "$conf" 2>/dev/null | tail -n 1)
  [ -n "$pidfile" ] || pidfile=/run/nginx.pid
fi
master=$(cat -- "$pidfile" 2>/dev/null)
case $master in
  ''|*[!0-9]*) echo "nginx is not running (no master pid in $pidfile): the new site cannot be loaded"; exit 1 ;;
esac

# The master's children (its workers), space-separated.
workers() {
  _w=' '
  for _s in /proc/[0-9]*/stat; do
    { read -r _line < "$_s"; } 2>/dev/null || continue
    # `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so cut after the last `) `.
    set -- ${_line##*) }
    if [ "${2:-}" = "$master" ]; then _p=${_s#/proc/}; _w="$_w${_p%/stat} "; fi
  done
  printf '%s' "$_w"
}

# Whether a worker not in $1 runs now.
new_worker() {
  for _p in $(workers); do
    case $1 in *" $_p "*) ;; *) return 0 ;; esac
  done
  return 1
}

# Whether every worker in $1 has stopped taking new connections: it has exited, or it is
# shutting down (nginx closes a worker's listening sockets before it retitles it "worker process
# is shutting down"). Until then an old worker may still answer with the previous configuration.
old_retired() {
  _now=$(workers)
  for _p in $1; do
    case $_now in *" $_p "*) ;; *) continue ;; esac
    grep -qaF 'shutting down' "/proc/$_p/cmdline" 2>/dev/null || return 1
  done
  return 0
}

# nginx's error log (the config's first `error_log`), when this account may read it: a new
# [emerg] line there after the reload says why it failed, and that it failed (without waiting).
log=$(sed -n 's/^[[:space:]]*error_log[[:space:]][[:space:]]*\([^;[:space:]]*\).*/\1/p' "$conf" 2>/dev/null | head -n 1)
[ -n "$log" ] && [ -r "$log" ] || log=
seen=0
[ -z "$log" ] || seen=$(wc -l < "$log")
emerg() { [ -n "$log" ] && tail -n +"$((seen + 1))" -- "$log" | grep -F '[emerg]'; }
# The [emerg] lines that end the reload: a `bind() ... failed` nginx retries (every 500 ms, five
# times, then "still could not bind()") is not one, as long as a retry may still succeed.
final_emerg() { emerg | grep -v 'bind() to .* failed'; }

before=$(workers)
loaded=no
if sudo -n "$nginx" -s reload -c "$conf"; then
  if [ "$before" = ' ' ]; then
    # The workers are invisible to this account (/proc mounted with hidepid): nginx's error log
    # is the only witness. It gives up on a `listen` after about 2.5 s of retries.
    if [ -n "$log" ]; then
      sleep 4
      final_emerg >/dev/null || loaded=yes
    else
      echo "warning: cannot confirm that nginx loaded the new configuration (its workers and error log are not visible to $(id -un))"
      loaded=yes
    fi
  else
    _i=0
    while [ "$_i" -lt 100 ]; do
      # Loaded once a new worker runs; confirmed once no old worker takes connections either
      # (after 10 s of new workers, the master has signalled the old ones: they are on their way).
      if new_worker "$before"; then
        loaded=yes
        old_retired "$before" && break
      fi
      if final_emerg >/dev/null; then break; fi
      sleep 0.1
      _i=$((_i + 1))
    done
  fi
fi

if [ "$loaded" = yes ]; then
  cp -p -- "$site" "$site.live" 2>/dev/null || :
  if ! [ -e "$stamp" ]; then : >> "$stamp" && chmod 666 "$stamp" 2>/dev/null; fi
  touch -- "$stamp" 2>/dev/null || :
  exit 0
fi

echo "nginx did not load the new configuration: it keeps running the previous one"
emerg | head -n 5 | sed 's/^/nginx says: /'
if [ -f "$site.live" ]; then
  cp -p -- "$site.live" "$site" && sudo -n "$nginx" -s reload -c "$conf" &&
    echo "the last site nginx loaded is back in place and nginx was reloaded"
fi
exit 1
