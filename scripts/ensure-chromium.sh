#!/usr/bin/env bash
# The browser tests (tests/e2e) drive Debian's Chromium through Playwright; Playwright's
# own browser download is never used. Install the system package when it is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-chromium: /usr/bin/chromium is missing; run: sudo apt-get install -y chromium" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
test -x /usr/bin/chromium
