#!/usr/bin/env bash
# Install what the tests need (toolkit + test extras, the Label Studio server, Debian chromium,
# Debian PostgreSQL) and run every layer: unit, integration (real Label Studio), browser (real
# chromium) and postgres (the round trip on a real PostgreSQL). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
ANNOTATE_EXTRAS="serve,dask,test" bash scripts/install.sh

# Debian packages, installed only when missing. PostgreSQL: the tests start their own server
# from its binaries (a throw-away cluster on 127.0.0.1), not the system service.
PACKAGES=()
command -v chromium >/dev/null 2>&1 || PACKAGES+=(chromium fonts-noto-color-emoji)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || PACKAGES+=(postgresql)
if [ "${#PACKAGES[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
fi

.venv/bin/ruff check annotate tests benchmarks
.venv/bin/python -m pytest "$@"
