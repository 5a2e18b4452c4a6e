#!/usr/bin/env bash
# Makes the local base image (localhost/jemh-base:bookworm) that docker/test.sh builds the image FROM on machines
# that reach no image registry: a Debian 12 minbase root made with debootstrap (python3, python3-venv,
# ca-certificates), imported into podman. Elsewhere the Dockerfile's default base, python:3.11-slim, is used.
#
# Cached twice, so only the first run on a machine pays the debootstrap (about 2-4 minutes): the image stays in
# podman's storage, and the root's tarball in $JEMH_DOCKER_CACHE (default /var/cache/jemh-docker) re-imports in
# seconds after a `podman system reset`. JEMH_BASE_REBUILD=1 makes both anew (e.g. for Debian's security updates).
set -euo pipefail

BASE_IMAGE="${JEMH_BASE_IMAGE:-localhost/jemh-base:bookworm}"
CACHE="${JEMH_DOCKER_CACHE:-/var/cache/jemh-docker}"
TARBALL="$CACHE/jemh-base-bookworm.tar"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$(cd "$(dirname "$0")" && pwd)/containers.conf}"

if [ "${JEMH_BASE_REBUILD:-0}" = "1" ]; then
  podman image rm -f "$BASE_IMAGE" >/dev/null 2>&1 || true
  rm -f "$TARBALL"
fi
if podman image exists "$BASE_IMAGE"; then
  echo "==> base image $BASE_IMAGE: cached in podman"
  exit 0
fi
mkdir -p "$CACHE"
if [ ! -s "$TARBALL" ]; then
  # The Debian mirror apt itself uses (deb822 sources first, then the one-line format).
  MIRROR="$(grep -h -m1 '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -1)"
  if [ -z "$MIRROR" ]; then
    MIRROR="$(grep -h -m1 '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1)"
  fi
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
  ROOTFS="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
  trap 'rm -rf "$ROOTFS"' EXIT
  echo "==> debootstrap bookworm (minbase + python3) from $MIRROR into $ROOTFS"
  started=$SECONDS
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$ROOTFS" "$MIRROR" \
    > "$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log"; exit 1; }
  # Nothing of the build machine's apt state or caches in the image.
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* \
    "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/*
  tar -C "$ROOTFS" -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
  echo "==> debootstrap took $((SECONDS - started)) s"
fi
echo "==> importing $TARBALL as $BASE_IMAGE"
podman import --change 'CMD ["/bin/bash"]' "$TARBALL" "$BASE_IMAGE" >/dev/null
