#!/usr/bin/env bash
# The screenshots in docs/screenshots/, taken from the running demo in headless Chromium (tests/e2e/browse.mjs).
#
#   scripts/screenshots.sh            start the demo (scripts/demo.py, live profile), take them, stop it
#   scripts/screenshots.sh RUN_DIR    take them from a demo already running with --run-dir RUN_DIR
#
# Needs what the browser test needs (scripts/e2e-setup.sh: Chromium and playwright-core). Pages: the Energy
# dashboard (the rack's bank as one battery), the demo's "Battery fleet" dashboard (fleet and cells views), the
# integration page and a pack's device.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=docs/screenshots
RUN_DIR=${1:-}
DEMO_PID=
stop_demo() {
  if [ -n "$DEMO_PID" ]; then
    kill -INT "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
  fi
}
trap stop_demo EXIT
if [ -z "$RUN_DIR" ]; then
  RUN_DIR=.demo/screenshots
  rm -rf "$RUN_DIR"
  PORT=$(.venv/bin/python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  .venv/bin/python scripts/demo.py --port "$PORT" --run-dir "$RUN_DIR" >"${TMPDIR:-/tmp}/bms-screenshots-demo.out" 2>&1 &
  DEMO_PID=$!
  for _ in $(seq 600); do
    [ -f "$RUN_DIR/demo.json" ] && break
    kill -0 "$DEMO_PID" 2>/dev/null || { cat "${TMPDIR:-/tmp}/bms-screenshots-demo.out" >&2; exit 1; }
    sleep 0.5
  done
  [ -f "$RUN_DIR/demo.json" ] || { echo "screenshots: the demo was not ready after 300 s" >&2; exit 1; }
  sleep 20 # a few polls: live values and the "Now" view
fi
mkdir -p "$OUT"
JOB=$(.venv/bin/python - "$RUN_DIR/demo.json" "$(pwd)/$OUT" <<'EOF'
import json
import sys

demo = json.load(open(sys.argv[1]))
pack = next(p for p in demo["packs"] if p["name"].endswith("pack 1"))  # a pack on the bus
bus = next(d["name"] for d in demo["devices"] if d["children"])
print(json.dumps({
    "url": demo["url"], "username": demo["username"], "password": demo["password"], "outDir": sys.argv[2],
    "viewport": {"width": 1280, "height": 900},
    "pages": [
        {"name": "energy", "path": "/energy", "waitFor": ["Battery", demo["bank"]["name"]], "settleMs": 5000,
         "clicks": [{"selector": "ha-date-range-picker"}, {"text": "Last 7 days"}]},
        {"name": "fleet", "path": "/battery-fleet/fleet", "waitFor": "State of charge, last 24 hours",
         "settleMs": 5000, "viewport": {"width": 1280, "height": 1560}},
        {"name": "cells", "path": "/battery-fleet/cells", "waitFor": f"{pack['name']} cells", "settleMs": 3000},
        {"name": "integration", "path": "/config/integrations/integration/bms_gateway", "waitFor": bus,
         "settleMs": 3000},
        {"name": "device", "path": f"/config/devices/device/{pack['device_id']}", "waitFor": "State of charge",
         "settleMs": 3000},
    ],
}))
EOF
)
(cd tests/e2e && node browse.mjs "$JOB" >/dev/null)
ls -l "$OUT"
