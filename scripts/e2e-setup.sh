#!/usr/bin/env bash
# What the browser end-to-end test (tests/e2e, BMS_E2E=1) needs: Debian's Chromium (+ its driver) when missing,
# and playwright-core from npm into tests/e2e/node_modules (no browser download: the test uses /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  echo "e2e-setup: installing Debian's chromium + chromium-driver" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium chromium-driver >/dev/null; }
fi
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  echo "e2e-setup: npm ci (playwright-core, tests/e2e)" >&2
  (cd tests/e2e && npm ci --no-audit --no-fund --silent)
fi
echo "e2e-setup: ready ($(/usr/bin/chromium --version 2>/dev/null), playwright-core $(node -p "require('./tests/e2e/node_modules/playwright-core/package.json').version"))" >&2
