#!/usr/bin/env bash
# Build the digicam sample-service release tarballs that recon's examples and tests deploy.
# Output is byte-for-byte reproducible (sorted members, fixed owner/mtime, gzip -n), so a
# re-build never looks like a change to an idempotent upload. v1.0.2 carries a BROKEN
# marker: it starts and listens but fails its /health gate (exercises rollback).
# Each release ships its one dependency as a wheel in vendor/ (built here, byte-for-byte
# reproducible too), which the release's `prepare` commands pip-install into a per-release
# virtualenv without any network.
# Usage: scripts/make-releases.sh OUTDIR      (needs GNU tar, gzip and python3)
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
command -v python3 >/dev/null || die "python3 is required"
MOTD="$ROOT/examples/digicam/motd"
mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

STAGE=$(mktemp -d) || die "mktemp failed"
trap 'rm -rf "$STAGE"' EXIT

# The dependency's wheel: a zip with fixed timestamps and modes, members in a fixed order.
WHEEL=digicam_motd-1.0.0-py3-none-any.whl
python3 - "$MOTD" "$STAGE/$WHEEL" <<'PY' || die "failed to build $WHEEL"
import base64, hashlib, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
info = "digicam_motd-1.0.0.dist-info"
with open(src + "/digicam_motd/__init__.py", "rb") as fh:
    code = fh.read()
files = [
    ("digicam_motd/__init__.py", code),
    (info + "/METADATA", b"Metadata-Version: 2.1\nName: digicam-motd\nVersion: 1.0.0\n"
     b"Summary: The digicam sample's message of the day\n"),
    (info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: recon-make-releases\n"
     b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
]
def digest(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
record = "".join("%s,sha256=%s,%d\n" % (n, digest(d), len(d)) for n, d in files)
record += info + "/RECORD,,\n"
files.append((info + "/RECORD", record.encode()))
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
    for name, data in files:
        entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        entry.external_attr = 0o644 << 16
        entry.compress_type = zipfile.ZIP_STORED
        z.writestr(entry, data)
PY

for v in 1.0.0 1.0.1 1.0.2; do
    dir="$STAGE/$v"
    mkdir "$dir"
    cp "$APP" "$dir/app.py"
    printf '%s\n' "$v" >"$dir/VERSION"
    printf '#!/bin/sh\ncd "$(dirname "$0")" && exec venv/bin/python app.py\n' >"$dir/run.sh"
    mkdir "$dir/vendor"
    cp "$STAGE/$WHEEL" "$dir/vendor/$WHEEL"
    members="VERSION app.py run.sh vendor"
    if [ "$v" = 1.0.2 ]; then
        printf 'deliberately broken release: /health answers 500\n' >"$dir/BROKEN"
        members="BROKEN $members"    # C-locale order: uppercase first
    fi
    chmod 644 "$dir"/*
    chmod 755 "$dir/run.sh" "$dir/vendor"
    chmod 644 "$dir/vendor/$WHEEL"

    out="$OUTDIR/digicam-v$v.tar.gz"
    # shellcheck disable=SC2086  # members is a plain word list
    tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
        -C "$dir" -cf - $members | gzip -n -9 >"$out.tmp" || die "failed to build $out"
    mv -f "$out.tmp" "$out" || die "failed to write $out"
    echo "$out"
done
