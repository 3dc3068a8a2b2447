#!/usr/bin/env bash
# The optional parts of the test suite need Debian packages beyond Mosquitto: qemu-user-static and the
# arm64 C library and cross compiler (the aarch64 artifacts run under emulation), nftables and iproute2
# (regions in network namespaces), gcc (the page-out addon), zip (artifact zips), chromium (the status page in a headless browser). Without them those tests say they skipped and
# why. Run as root with apt-get (as CI does), this installs what is missing; otherwise it prints the line.
set -euo pipefail
want="gcc zip unzip qemu-user-static libc6-arm64-cross g++-aarch64-linux-gnu nftables iproute2 dbus chromium"
missing=""
for p in $want; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing the test suite's optional tools:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  exit 0
fi
echo "optional tests will skip; to run them: sudo apt-get install -y$missing" >&2
