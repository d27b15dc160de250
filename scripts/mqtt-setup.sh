#!/usr/bin/env bash
# What the gateway tests (tests/gateway: a real broker) need: Debian's Mosquitto (broker + mosquitto_passwd) when
# missing. The tests start their own broker on a free loopback port; the packaged service is not used.
set -euo pipefail
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "mqtt-setup: installing Debian's mosquitto" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -q mosquitto >/dev/null 2>&1 \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q mosquitto >/dev/null; }
fi
echo "mqtt-setup: ready ($( (/usr/sbin/mosquitto -h 2>/dev/null || mosquitto -h 2>/dev/null || true) | head -1))" >&2
