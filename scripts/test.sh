#!/usr/bin/env bash
# Install what the tests need (toolkit + test extras, the Label Studio server, Debian chromium)
# and run every layer: unit, integration (real Label Studio) and browser (real chromium).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
ANNOTATE_EXTRAS="serve,dask,test" bash scripts/install.sh

if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
fi

.venv/bin/ruff check annotate tests benchmarks
.venv/bin/python -m pytest "$@"
