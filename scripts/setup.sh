#!/usr/bin/env bash
# Create .venv with a Python new enough for current Home Assistant (>= 3.14.2) and install the project
# editable with its test extras. Idempotent: re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

new_enough() { "$1" -c 'import sys, ssl, sqlite3, ctypes; sys.exit(sys.version_info < (3, 14, 2))' >/dev/null 2>&1; }

find_python() {
  local cand
  for cand in "${PYTHON:-}" python3.14 python3; do
    [ -n "$cand" ] || continue
    if p=$(command -v "$cand" 2>/dev/null) && new_enough "$p"; then echo "$p"; return 0; fi
  done
  # This workplace (and CI) provides a builder beside the checkout: ../shared/python/python314.
  if [ -x ../shared/python/python314 ]; then ../shared/python/python314; return $?; fi
  echo "setup: need Python >= 3.14.2 (Home Assistant's minimum); install python3.14 or set PYTHON=/path/to/python" >&2
  return 1
}

if [ ! -x .venv/bin/python ] || ! new_enough .venv/bin/python; then
  PY=$(find_python)
  echo "setup: creating .venv with $("$PY" --version) ($PY)" >&2
  rm -rf .venv
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-from
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  echo "$want" > "$stamp"
fi
echo "setup: ready ($(.venv/bin/python --version))" >&2
