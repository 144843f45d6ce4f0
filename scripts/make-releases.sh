#!/usr/bin/env bash
# Build the digicam sample-service release tarballs that recon's examples and tests deploy.
# Output is byte-for-byte reproducible (sorted members, fixed owner/mtime, gzip -n), so a
# re-build never looks like a change to an idempotent upload. v1.0.2 carries a BROKEN
# marker: it starts and listens but fails its /health gate (exercises rollback).
# Usage: scripts/make-releases.sh OUTDIR      (needs GNU tar and gzip)
set -euo pipefail
export LC_ALL=C

die() { echo "make-releases: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
OUTDIR=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
APP="$ROOT/examples/digicam/app.py"
[ -f "$APP" ] || die "missing $APP"
tar --version 2>/dev/null | grep -q 'GNU tar' || die "GNU tar is required"
command -v gzip >/dev/null || die "gzip is required"
mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

STAGE=$(mktemp -d) || die "mktemp failed"
trap 'rm -rf "$STAGE"' EXIT

for v in 1.0.0 1.0.1 1.0.2; do
    dir="$STAGE/$v"
    mkdir "$dir"
    cp "$APP" "$dir/app.py"
    printf '%s\n' "$v" >"$dir/VERSION"
    printf '#!/bin/sh\ncd "$(dirname "$0")" && exec python3 app.py\n' >"$dir/run.sh"
    members="VERSION app.py run.sh"
    if [ "$v" = 1.0.2 ]; then
        printf 'deliberately broken release: /health answers 500\n' >"$dir/BROKEN"
        members="BROKEN $members"    # C-locale order: uppercase first
    fi
    chmod 644 "$dir"/*
    chmod 755 "$dir/run.sh"

    out="$OUTDIR/digicam-v$v.tar.gz"
    # shellcheck disable=SC2086  # members is a plain word list
    tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
        -C "$dir" -cf - $members | gzip -n -9 >"$out.tmp" || die "failed to build $out"
    mv -f "$out.tmp" "$out" || die "failed to write $out"
    echo "$out"
done
