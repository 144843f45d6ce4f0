# The recon container image, for pipelines without a Rust toolchain: FROM scratch, holding only
# recon (statically linked), CA certificates, a passwd entry and empty /root, /tmp and /work.
# It pulls nothing: build it with scripts/build-image.sh, which compiles recon statically on
# this machine and prepares the build context (`root/` is copied as the image's file system).
#
#   scripts/build-image.sh recon:1.0
#   docker run --rm -v "$PWD:/work" -v "$HOME/.ssh:/root/.ssh:ro" recon:1.0 plan site.yml
#
# There is no shell, git, curl or ssh in the image: `git:` and `url:` release sources and
# `ansible_connection: local` need an image that has them; SSH targets and tarballs work.
FROM scratch
COPY root/ /
ENV HOME=/root PATH=/usr/local/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/recon"]
