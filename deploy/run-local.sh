#!/usr/bin/env bash
# `make run`: one crawl now, a crawl every minute in the background (as cron would do on a
# host), and the API in the foreground on $HOST:$PORT. Ctrl-C stops both.
set -u
cd "$(dirname "$0")/.."
bin="${VENV:-.venv}/bin"

# Coordinates need the boundaries file: downloaded once when missing (`make boundaries` again to
# refresh it); without a network, one line says so and what works without it.
"$bin/python" scripts/setup/download_boundaries.py --if-missing

"$bin/python" -m crawler run --force || echo "crawl finished with errors (see above); starting the API anyway"

# Every minute a crawl; once a day (the first time a minute in) what is past its retention is
# pruned (old payloads, issued forecasts, runs) and the forecast model refitted (regions without
# weather or operators' forecasts, or with too little history, are skipped, saying why), as the
# nightly cron lines do on a host. The fit runs beside the loop: it takes ~30 s a region.
( minute=0; while sleep 60; do
    "$bin/python" -m crawler run
    [ $((minute % 1440)) -eq 0 ] && { "$bin/python" -m api.forecasts fit & }
    [ $((minute % 60)) -eq 0 ] && "$bin/python" -m api.forecasts  # the hour's forecasts, stored
    [ $((minute++ % 1440)) -eq 0 ] && "$bin/python" -m crawler prune
done ) &
crawl_loop=$!
trap 'kill "$crawl_loop" 2>/dev/null' EXIT INT TERM

echo "Dashboard on http://${HOST:-127.0.0.1}:${PORT:-8000}/ (API reference: /docs, health: /health)"
"$bin/gunicorn" --config deploy/gunicorn.conf.py 'api:create_app()'
