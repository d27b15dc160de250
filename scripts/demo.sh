#!/usr/bin/env bash
# Set up (if needed), start a simulated JBD battery on a local TCP port, and watch it live with `bmsgw read`.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BMSGW=.venv/bin/bmsgw
out=$(mktemp)
"$BMSGW" simulate --vendor jbd --tcp 127.0.0.1:0 --profile live >"$out" &
sim=$!
trap 'kill $sim 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
url=$(head -n1 "$out")
[ -n "$url" ] || { echo "demo: the simulator did not start" >&2; exit 1; }
echo "demo: simulated JBD pack at $url - reading every 2 s (Ctrl-C to stop)" >&2
"$BMSGW" read --tcp "${url#tcp://}" --vendor jbd --watch 2
