#!/usr/bin/env bash
# What supervisor runs (deploy/deploy-rest-api.sh writes the program): gunicorn in the
# foreground with the API's environment from API_ENV_FILE (default /etc/energy-data-api.env).
# `supervisorctl signal HUP energy-data-api` reloads it gracefully: new workers on the code
# $PREFIX/current points at, old ones finish their requests.
set -euo pipefail
env_file="${API_ENV_FILE:-/etc/energy-data-api.env}"
if [ -e "$env_file" ] && [ ! -r "$env_file" ]; then echo "$(basename "$0"): cannot read $env_file" >&2; exit 2; fi
if [ -r "$env_file" ]; then set -a; . "$env_file"; set +a; fi
code="${CODE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
exec "${VENV:-$code/.venv}/bin/gunicorn" --chdir "$code" --config "$code/deploy/gunicorn.conf.py" 'api:create_app()'
