#!/usr/bin/env bash
# Print the path of a Chromium for tests/test_dashboard.py (Playwright drives it through
# executable_path; Playwright's own browser download is never used). Debian's `chromium` is
# installed with apt-get when missing and we are root (as in CI); otherwise nothing is printed
# and the browser tests skip, saying why (they fail instead under CI=true).
set -euo pipefail
for candidate in "${ENERGY_DATA_CHROMIUM:-}" /usr/bin/chromium "$(command -v chromium || true)" \
                 "$(command -v chromium-browser || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
        echo "$candidate"
        exit 0
    fi
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: no chromium, and no root apt-get to install Debian's package" >&2
    exit 1
fi
# A fresh machine may have no package lists yet.
apt-get update -qq >/dev/null 2>&1 || { echo "chromium.sh: apt-get update failed" >&2; exit 1; }
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core \
    >/dev/null 2>&1 || { echo "chromium.sh: apt-get install chromium failed" >&2; exit 1; }
command -v chromium
