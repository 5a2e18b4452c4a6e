#!/usr/bin/env bash
# docker/wheelhouse.sh DIR: a wheel of every package of requirements/runtime.txt (hash-checked) and the build backend
# (setuptools) in DIR, so that the image build (podman build --network=none) and tests/packaging install with
# `pip install --no-index --find-links DIR`. Downloads through pip's cache: fast after the first run.
#
# Writes DIR/requirements.txt too: the lock's pins without their hashes (a wheel built here from a source archive
# has its own hash; the archive's was checked when it was downloaded), for `pip install -r DIR/requirements.txt`.
#
# Environment markers are dropped for the download: the wheelhouse serves every CPython 3.11 (e.g. async-timeout, needed below
# 3.11.3, is there for Debian 12's 3.11.2 even when this machine's Python is newer).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:?usage: docker/wheelhouse.sh DIR}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$DIR"
unmarked="$(mktemp)"
trap 'rm -f "$unmarked"' EXIT
sed -E 's/ ; [^\\]*//' requirements/runtime.txt > "$unmarked"
# pip wheel, not download: a few locked packages (authres) publish only a source archive, built here once.
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps --require-hashes -r "$unmarked" -w "$DIR"
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps "setuptools>=69" -w "$DIR"
grep -v -E '^[[:space:]]*--hash=' requirements/runtime.txt | sed -E 's/ \\$//' > "$DIR/requirements.txt"
