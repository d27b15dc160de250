#!/usr/bin/env bash
# The demo: a simulated battery fleet (one device per built-in vendor, a bus vendor as a 4-pack bus) in a real
# Home Assistant on http://127.0.0.1:8123, installed from the release artifacts. Sets up what it needs; Ctrl-C stops everything.
# Options (see scripts/demo.py --help): --port N, --profile live|static, --run-dir DIR, --mqtt (a second fleet
# through `bmsgw serve` and Mosquitto into Home Assistant's MQTT integration; scripts/mqtt-setup.sh installs Mosquitto).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
for arg in "$@"; do
  if [ "$arg" = --mqtt ]; then scripts/mqtt-setup.sh; fi
done
exec .venv/bin/python scripts/demo.py "$@"
