#!/usr/bin/env bash
# Set up (if needed) and run every check: ruff (lint + format), mypy --strict on vendor_plugins, and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff" >&2
ruff check vendor_plugins tests benchmarks
ruff format --check vendor_plugins tests benchmarks
echo "== mypy --strict vendor_plugins" >&2
mypy
echo "== pytest" >&2
python -m pytest -q -p no:cacheprovider "$@"
