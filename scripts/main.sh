#!/usr/bin/env bash
# The main job, end to end, on the embedded default model and the built-in QA set:
#   howsure train: collect (cached) -> sweep layers/positions -> fit probe -> calibrate
#                  -> save the detector (howsure-out/train/detector) -> held-out metrics
#   howsure eval:  the evaluation report on the test split, the probe against every
#                  baseline incl. P(True) and sampling consistency (howsure-out/eval/report.html)
# Extra arguments go to `howsure train`; --model, --limit, --device, --dtype and
# --batch-size also go to `howsure eval` (e.g. --limit 200 for a quick run); with
# --out DIR, eval reads DIR/detector and writes next to DIR, in eval/.
# HOWSURE_SAMPLES sets the consistency baseline's samples per question (default 5, 0 = off).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
args=("$@")
eval_args=()
train_out=howsure-out/train
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --out) train_out=${args[i + 1]:-$train_out} ;;
    --out=*) train_out=${args[i]#--out=} ;;
    --model | --limit | --device | --dtype | --batch-size)
      eval_args+=("${args[i]}" "${args[i + 1]:-}")
      ;;
    --model=* | --limit=* | --device=* | --dtype=* | --batch-size=*)
      eval_args+=("${args[i]}")
      ;;
  esac
done
.venv/bin/howsure train --dataset builtin --out howsure-out/train "$@"
.venv/bin/howsure eval --detector "$train_out/detector" --dataset builtin \
  --out "$(dirname "$train_out")/eval" --samples "${HOWSURE_SAMPLES:-5}" "${eval_args[@]}"
