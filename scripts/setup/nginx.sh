#!/usr/bin/env bash
# Print the path of an nginx binary for tests/test_nginx.py: the one on PATH, or else Debian's
# package unpacked (not installed, so no service starts and no root is needed) under DIR.
set -euo pipefail
dest="${1:?usage: scripts/setup/nginx.sh DIR}"
if command -v nginx >/dev/null 2>&1; then
    command -v nginx
    exit 0
fi
binary="$dest/usr/sbin/nginx"
if [ ! -x "$binary" ]; then
    command -v apt-get >/dev/null 2>&1 || { echo "nginx.sh: no nginx and no apt-get to fetch it" >&2; exit 1; }
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    download() { (cd "$work" && apt-get download -q nginx >/dev/null 2>&1); }
    if ! download; then
        # A fresh machine may have no package lists yet; only root can fetch them.
        [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 && download \
            || { echo "nginx.sh: apt-get download nginx failed" >&2; exit 1; }
    fi
    mkdir -p "$dest"
    dpkg -x "$work"/nginx_*.deb "$dest"
fi
echo "$binary"
