#!/usr/bin/env bash
# The main job, end to end, on the embedded default model and the training mixture
# (the built-in set plus samples of TriviaQA, EntityQuestions, FreebaseQA and Mintaka):
#   howsure train: collect (cached) -> grouped sweep of layers/positions -> probe C by
#                  grouped CV -> stacked calibration on grouped out-of-fold scores ->
#                  familiarity -> save the detector (howsure-out/train/detector) -> test split
#   compare:       the new detector against the one shipped in the package (same scores?)
#   howsure loto:  leave one source out, and leave one EntityQuestions relation out
#                  (howsure-out/loto-source, howsure-out/loto-relation)
#   howsure eval:  the evaluation report on the test split, the probe against every
#                  baseline incl. P(True) (howsure-out/eval/report.html)
#   howsure freeform: chat-style prompts (HOWSURE_CHAT_PER_SOURCE questions per source,
#                  default 24: answers of up to 256 tokens cost about 5 s each here),
#                  judged by the long-answer judge; leave one source out for the answer
#                  and the sentence confidences; the detector with its sentence detector
#                  (howsure-out/freeform/detector, freeform.md)
# Extra arguments go to `howsure train`; --model, --limit, --device, --dtype and
# --batch-size also go to the other commands (e.g. --limit 200 for a quick run); with
# --out DIR, the others read DIR/detector and write next to DIR.
# HOWSURE_SAMPLES=K adds the sampling-consistency baseline (K answers per question;
# default 0: it alone would take about 20 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
args=("$@")
other_args=()
train_out=howsure-out/train
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --out) train_out=${args[i + 1]:-$train_out} ;;
    --out=*) train_out=${args[i]#--out=} ;;
    --model | --limit | --device | --dtype | --batch-size)
      other_args+=("${args[i]}" "${args[i + 1]:-}")
      ;;
    --model=* | --limit=* | --device=* | --dtype=* | --batch-size=*)
      other_args+=("${args[i]}")
      ;;
  esac
done
root=$(dirname "$train_out")
.venv/bin/howsure train --dataset mix --out howsure-out/train "$@"
.venv/bin/python bench/same_scores.py --shipped "$train_out/detector" --dataset mix \
  --out "$root/same_as_shipped.json" "${other_args[@]}" || true
.venv/bin/howsure loto --detector "$train_out/detector" --dataset mix --by source \
  --out "$root/loto-source" --quiet "${other_args[@]}"
.venv/bin/howsure loto --detector "$train_out/detector" --dataset mix --by topic \
  --within entityquestions --out "$root/loto-relation" --quiet "${other_args[@]}"
.venv/bin/howsure eval --detector "$train_out/detector" --dataset mix \
  --out "$root/eval" --samples "${HOWSURE_SAMPLES:-0}" "${other_args[@]}"
# --limit limits the short-style splits (cached by train); the chat questions are
# HOWSURE_CHAT_PER_SOURCE per source
.venv/bin/howsure freeform --detector "$train_out/detector" --dataset mix \
  --per-source "${HOWSURE_CHAT_PER_SOURCE:-24}" --with-short --out "$root/freeform" --quiet \
  "${other_args[@]}"
