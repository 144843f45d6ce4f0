#!/usr/bin/env bash
# Checks that squads 1..N really serve after a cold apply: the squad's nginx (8000+N), with the
# squad's domain, answers with the app's JSON for that squad. Retries for up to ~5 s per squad
# (supervisord may still be starting the app).
#   bench/lib/serving.sh N
set -eu
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/common.sh"
N=${1:?usage: $0 N}
for i in $(seq 1 "$N"); do
    s=$(squad "$i")
    ok=""
    for _ in $(seq 50); do
        body=$(curl -s --max-time 2 -H "Host: api.digicam.$s.test" "http://127.0.0.1:$((8000 + i))/" || true)
        case $body in *'"app": "digicam"'*"\"squad\": \"$s\""*) ok=1; break ;; esac
        sleep 0.1
    done
    [ -n "$ok" ] || { echo "serving: $s does not serve through nginx :$((8000 + i)) (got: ${body:-nothing})" >&2; exit 1; }
done
