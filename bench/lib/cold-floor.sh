#!/usr/bin/env bash
# The cold floor: the least any tool must do to take fresh squads to the converged end state.
# Per squad, in parallel: ONE ssh connection and ONE session streaming the squad's final home
# (every directory, the release tarball and its unpacked tree, the `current` link, the rendered
# configs, the scripts, .env and .profile, with their modes) as one prebuilt tar, extracted in
# place, then the two handlers (`nginx-reload`, `supervisor-apply digicam-SQUAD`) started by the
# same session. No probing, no comparison, no atomic renames: a tool that checks what is there
# and never half-writes a file can only approach it.
#
#   bench/lib/cold-floor.sh prepare N     builds bench/.state/cold-floor/benchNN.tar (once)
#   bench/lib/cold-floor.sh N             the measured work (homes reset by bench/reset.sh first)
#
# The tars are built here from the scenario's own fixtures (the templates use only `{{ var }}`
# substitutions, rendered with sed), never from another tool's result.
set -eu
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/common.sh"

FLOOR=$STATE/cold-floor
RELEASE=1.0.0

# Renders the `{{ var }}` placeholders of template $1 for squad number $2.
render() {
    local s
    s=$(squad "$2")
    sed -e "s|{{ squad }}|$s|g" -e "s|{{ home }}|/home/$s|g" -e "s|{{ port }}|$((9000 + $2))|g" \
        -e "s|{{ nginx_port }}|$((8000 + $2))|g" \
        -e "s|{{ domain }}|api.digicam.$s.test|g" "$1"
}

# Stages squad $1's converged home in a temp folder and packs it into $FLOOR/SQUAD.tar.
prepare_one() {
    local i=$1 s stage d
    s=$(squad "$i")
    stage=$(mktemp -d)
    d=$stage/digicam
    mkdir -p "$d/releases" "$d/conf" "$d/bin" "$d/logs" "$d/run" "$d/v$RELEASE"
    chmod 0755 "$d" "$d/releases" "$d/conf" "$d/bin"
    chmod 0750 "$d/logs" "$d/run"
    install -m 0644 "$STATE/digicam-$RELEASE.tar.gz" "$d/releases/digicam-$RELEASE.tar.gz"
    tar -xzf "$d/releases/digicam-$RELEASE.tar.gz" -C "$d/v$RELEASE"
    chmod 0755 "$d/v$RELEASE"
    ln -s "v$RELEASE" "$d/current"
    for t in nginx supervisor nginx-main supervisord-main; do
        render "$BENCH/fixtures/$t.conf.j2" "$i" >"$d/conf/$t.conf"
        chmod 0644 "$d/conf/$t.conf"
    done
    install -m 0755 "$BENCH/fixtures/nginx-reload" "$BENCH/fixtures/supervisor-apply" "$d/bin/"
    printf 'SQUAD=%s\nPORT=%d\nDOMAIN=api.digicam.%s.test\nRELEASE=%s\n' \
        "$s" $((9000 + i)) "$s" "$RELEASE" >"$d/.env"
    chmod 0640 "$d/.env"
    { cat /etc/skel/.profile; echo "export DIGICAM_HOME=/home/$s/digicam"; } >"$stage/.profile"
    chmod 0644 "$stage/.profile"
    tar --numeric-owner --owner=0 --group=0 -cf "$FLOOR/$s.tar.new" -C "$stage" digicam .profile
    mv "$FLOOR/$s.tar.new" "$FLOOR/$s.tar"
    rm -rf "$stage"
}

if [ "${1:-}" = prepare ]; then
    N=${2:?usage: $0 prepare N}
    [ -s "$STATE/digicam-$RELEASE.tar.gz" ] || { echo "cold-floor: no release tarball: run bench/setup.sh" >&2; exit 1; }
    mkdir -p "$FLOOR"
    for i in $(seq 1 "$N"); do prepare_one "$i"; done
    exit 0
fi

N=${1:?usage: $0 N | prepare N}
pids=()
for i in $(seq 1 "$N"); do
    s=$(squad "$i")
    [ -s "$FLOOR/$s.tar" ] || { echo "cold-floor: no $FLOOR/$s.tar: run $0 prepare $N" >&2; exit 1; }
    ssh -F /dev/null -p "$SSH_PORT" -i "$STATE/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$STATE/known_hosts" -o StrictHostKeyChecking=yes \
        -o KexAlgorithms=curve25519-sha256 -o ControlMaster=no -o ControlPath=none \
        "$s@127.0.0.1" \
        "tar -xpf - -C ~ && ~/digicam/bin/nginx-reload && ~/digicam/bin/supervisor-apply digicam-$s" \
        <"$FLOOR/$s.tar" >/dev/null &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
