#!/usr/bin/env bash
# Set up (if needed) and run every check: ruff (lint + format), mypy --strict on the library, the Home Assistant
# integration and the test support code (pyproject.toml), the manifest drift check, the release check
# (scripts/check_release.py) and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff" >&2
ruff check vendor_plugins custom_components tests benchmarks fuzz scripts/*.py
ruff format --check vendor_plugins custom_components tests benchmarks fuzz scripts/*.py
echo "== mypy --strict vendor_plugins custom_components tests/support" >&2
mypy
echo "== manifest drift" >&2
python scripts/gen_manifest.py --check
echo "== release check (versions, sdist + wheel, twine, clean install, HACS zip, workflows)" >&2
python scripts/check_release.py
echo "== pytest" >&2
python -m pytest -q -p no:cacheprovider "$@"
