#!/usr/bin/env bash
# The tests and the demo run real Mosquitto 2 brokers on loopback. Install it when missing and we can
# (root with apt-get); otherwise stop with one line saying what to run. $1: what needs it (tests, demo).
set -euo pipefail
purpose="${1:-tests}"
again="npm test"
[ "$purpose" = "demo" ] && again="npm start"
for bin in "${MOSQUITTO_BIN:-}" /usr/sbin/mosquitto /usr/bin/mosquitto /usr/local/sbin/mosquitto; do
  if [ -n "$bin" ] && [ -x "$bin" ]; then exit 0; fi
done
if command -v mosquitto >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Mosquitto (apt-get install mosquitto) for the $purpose" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
  # Debian's package may start a system broker; the suite starts its own on free loopback ports.
  exit 0
fi
echo "Mosquitto 2 is needed for the $purpose: run 'sudo apt-get install -y mosquitto' (or set MOSQUITTO_BIN), then $again again." >&2
exit 1
