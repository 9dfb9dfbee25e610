#!/usr/bin/env bash
# Install the toolkit into .venv and the Label Studio server into its own venv
# (.annotate/server-venv: its pins, e.g. pytz<2023, conflict with the toolkit's dependencies).
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
extras=${ANNOTATE_EXTRAS:-serve}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -q -U pip
fi
.venv/bin/pip install -q -e ".[${extras}]"

if [ ! -x .annotate/server-venv/bin/label-studio ]; then
  mkdir -p .annotate
  "$PYTHON" -m venv .annotate/server-venv
  .annotate/server-venv/bin/pip install -q -U pip
  .annotate/server-venv/bin/pip install -q -r requirements/server.txt
fi
echo "installed: .venv (annotate) and .annotate/server-venv (label-studio $(.annotate/server-venv/bin/pip show label-studio 2>/dev/null | sed -n 's/^Version: //p'))"
