#!/bin/sh
# Builds the recon container image (see Dockerfile) without pulling anything: the image is
# FROM scratch and its files are prepared here.
#
# Usage: scripts/build-image.sh [TAG]          (default TAG: recon:latest)
#   By default recon is built statically with cargo (glibc with crt-static; OpenSSL and zlib
#   linked in). RECON_IMAGE_BIN=PATH puts that binary in the image instead; a dynamically
#   linked one brings the libraries `ldd` lists (the tests use their own debug binary so).
set -eu
tag=${1:-recon:latest}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${RECON_IMAGE_BIN:-}
if [ -z "$bin" ]; then
  target_dir=${CARGO_TARGET_DIR:-$repo/target}/static
  OPENSSL_STATIC=1 LIBZ_SYS_STATIC=1 RUSTFLAGS="-C target-feature=+crt-static" \
    CARGO_TARGET_DIR="$target_dir" \
    cargo build --quiet --release --locked --target x86_64-unknown-linux-gnu \
    --manifest-path "$repo/Cargo.toml"
  bin=$target_dir/x86_64-unknown-linux-gnu/release/recon
fi
[ -x "$bin" ] || { echo "build-image: $bin is not an executable" >&2; exit 1; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/root
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/root" "$root/work"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp "$bin" "$root/usr/local/bin/recon"
chmod 755 "$root/usr/local/bin/recon"
# A dynamically linked binary: its libraries and loader, at the paths it asks for.
if ldd "$bin" >/dev/null 2>&1; then
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    while read -r lib; do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
fi
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/usr/local/bin/recon\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
cp "$repo/Dockerfile" "$ctx/Dockerfile"
docker build --quiet --tag "$tag" "$ctx" >/dev/null
echo "$tag"
