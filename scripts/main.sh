#!/usr/bin/env bash
# The main job, end to end, on the embedded default model and the training mixture
# (the built-in set plus samples of TriviaQA, EntityQuestions, FreebaseQA and Mintaka):
#   howsure train: collect (cached) the short-style questions and HOWSURE_CHAT_PER_SOURCE
#                  chat-style ones per source and split (default 8; answers of up to 256
#                  tokens cost about 5 s each here) -> grouped sweep of layers/positions over
#                  both styles -> probe C by grouped CV -> stacked calibration on grouped
#                  out-of-fold scores -> familiarity -> sentence detector -> save the
#                  detector (howsure-out/train/detector) -> test split, both styles;
#                  HOWSURE_CODE=1 adds the 320 shipped code tasks to training (--code code)
#   code tasks:    answered (about 20 minutes the first time), run against their tests in
#                  the sandbox; leave one source out with code as a sixth source, leave
#                  one code family out, and the code test split (howsure-out/eval-code)
#   compare:       the new detector against the one shipped in the package (same scores?)
#   howsure loto:  leave one source out, and leave one EntityQuestions relation out
#                  (howsure-out/loto-source, howsure-out/loto-relation)
#   howsure eval:  the evaluation report on the test split, the probe against every
#                  baseline incl. P(True) (howsure-out/eval/report.html)
#   howsure freeform: the same chat-style rows (cached by train), judged by the
#                  long-answer judge; leave one source out for the answer and the
#                  sentence confidences (howsure-out/freeform/freeform.md)
# The shipped detector is this job's with HOWSURE_CHAT_PER_SOURCE=24 (72 chat questions
# per source: about 30 minutes more); the default 8 keeps the cold job near 40 minutes.
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
chat_per_source=${HOWSURE_CHAT_PER_SOURCE:-8}
code_args=()  # HOWSURE_CODE=1: the code tasks join training (not the shipped recipe yet)
[ -n "${HOWSURE_CODE:-}" ] && code_args=(--code code)
.venv/bin/howsure train --dataset mix --out howsure-out/train \
  --chat-per-source "$chat_per_source" ${code_args[@]+"${code_args[@]}"} "$@"
.venv/bin/python bench/same_scores.py --shipped "$train_out/detector" --dataset mix \
  --out "$root/same_as_shipped.json" "${other_args[@]}" || true
.venv/bin/howsure loto --detector "$train_out/detector" --dataset mix --by source \
  --out "$root/loto-source" --quiet "${other_args[@]}"
.venv/bin/howsure loto --detector "$train_out/detector" --dataset mix --by topic \
  --within entityquestions --out "$root/loto-relation" --quiet "${other_args[@]}"
.venv/bin/howsure loto --detector "$train_out/detector" --dataset mix --by source \
  --code code --out "$root/loto-source-code" --quiet "${other_args[@]}"
.venv/bin/howsure loto --detector "$train_out/detector" --dataset mix --by topic \
  --within code --code code --out "$root/loto-code-family" --quiet "${other_args[@]}"
.venv/bin/howsure eval --detector "$train_out/detector" --dataset code \
  --out "$root/eval-code" --samples 0 "${other_args[@]}"
.venv/bin/howsure eval --detector "$train_out/detector" --dataset mix \
  --out "$root/eval" --samples "${HOWSURE_SAMPLES:-0}" "${other_args[@]}"
# --limit limits the short-style splits (cached by train); the chat questions are
# HOWSURE_CHAT_PER_SOURCE per source and split, the ones train collected
.venv/bin/howsure freeform --detector "$train_out/detector" --dataset mix \
  --per-source "$chat_per_source" --with-short --out "$root/freeform" --quiet \
  "${other_args[@]}"
