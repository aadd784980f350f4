#!/usr/bin/env bash
# The main job, end to end on the embedded default model and the built-in QA set.
# Extra arguments go to `howsure collect` (e.g. --limit 200).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/howsure collect --dataset builtin --split all --out howsure-out/collect "$@"
