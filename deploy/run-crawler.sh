#!/usr/bin/env bash
# What cron runs every minute: one `crawler run` (it fetches only the sources that are due
# and exits at once if the previous run still holds the crawl lock), logged with a stamp.
# Arguments replace `run` (the nightly line runs `run-crawler.sh prune`).
# Configuration (DATABASE_URL, EIA_API_KEY, ...) comes from the environment or from the
# file named by ENERGY_DATA_ENV (default /etc/energy-data.env), never from the repository.
set -uo pipefail
cd "$(dirname "$0")/.."
env_file="${ENERGY_DATA_ENV:-/etc/energy-data.env}"
if [ -e "$env_file" ] && [ ! -r "$env_file" ]; then echo "$(basename "$0"): cannot read $env_file" >&2; exit 2; fi
if [ -r "$env_file" ]; then set -a; . "$env_file"; set +a; fi
# `run-crawler.sh forecasts` is the hourly forecast schedule (python -m api.forecasts) instead;
# `run-crawler.sh forecasts fit` the daily fit of the forecast model.
if [ "${1:-}" = "forecasts" ]; then shift; command=(-m api.forecasts "$@"); else command=(-m crawler "${@:-run}"); fi
"${VENV:-.venv}/bin/python" "${command[@]}" 2>&1 | while IFS= read -r line; do
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$line"
done
