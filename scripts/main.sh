#!/usr/bin/env bash
# The main job, end to end, on the embedded default model and the built-in QA set:
# collect (cached) -> sweep layers/positions -> fit probe -> calibrate -> save the detector
# -> held-out metrics against the baselines. Extra arguments go to `howsure train`
# (e.g. --limit 200 for a quick run, --model NAME for another model).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/howsure train --dataset builtin --out howsure-out/train "$@"
