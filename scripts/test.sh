#!/usr/bin/env bash
# The whole test suite (lint, format, fast and slow tests), after its own set-up.
# Extra arguments go to pytest, e.g. -m "not slow and not browser" for the fast tier only
# (no embedded model, no Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -q "$@"
