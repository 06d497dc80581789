#!/usr/bin/env bash
# Deploy the API on a Debian/Ubuntu host (run as root; idempotent): the code at a git revision
# (shared with the crawler: $PREFIX/releases/<commit>, $PREFIX/current), its virtualenv, a
# supervisor program running gunicorn as API_USER with workers from the CPU count, the nginx
# site from deploy/nginx.conf (checked with `nginx -t` before any reload), and a logrotate file.
# A running program is reloaded gracefully (HUP to gunicorn: only that program, no request
# dropped); a new or changed program is started by `supervisorctl update`.
#
#   deploy/deploy-rest-api.sh [REVISION]        (default HEAD of the repository it is run from)
#
# Overridable: REPO, PREFIX (/opt/energy-data), VENV ($PREFIX/venv), PIP_INSTALL (1), PYTHON,
# API_USER (energy-data-api, created if missing), API_ENV_FILE (/etc/energy-data-api.env),
# LOG_DIR (/var/log/energy-data), API_PORT (8000), WORKERS (2 x CPUs + 1), SERVER_NAME (_),
# LISTEN (80), STATE_DIR (/var/lib/energy-data-api: per-key counters), NGINX_SITE (/etc/nginx/sites-available/energy-data), NGINX_ENABLED_DIR
# (/etc/nginx/sites-enabled), NGINX_CACHE_DIR (/var/cache/nginx-energy-data), NGINX (nginx:
# the command, with any -p/-c options), ADDRESS_RATE (10r/s) and ADDRESS_BURST (20) per client
# address, SUPERVISOR_CONF_DIR (/etc/supervisor/conf.d), SUPERVISORCTL (supervisorctl, with any
# -c option), LOGROTATE_DIR (/etc/logrotate.d).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "deploy-rest-api.sh: run as root" >&2; exit 1; }
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="${REPO:-$here}"
revision="${1:-HEAD}"
prefix="${PREFIX:-/opt/energy-data}"
venv="${VENV:-$prefix/venv}"
api_user="${API_USER:-energy-data-api}"
api_env_file="${API_ENV_FILE:-/etc/energy-data-api.env}"
log_dir="${LOG_DIR:-/var/log/energy-data}"
api_port="${API_PORT:-8000}"
workers="${WORKERS:-$((2 * $(nproc) + 1))}"
site="${NGINX_SITE:-/etc/nginx/sites-available/energy-data}"
enabled_dir="${NGINX_ENABLED_DIR:-/etc/nginx/sites-enabled}"
cache_dir="${NGINX_CACHE_DIR:-/var/cache/nginx-energy-data}"
nginx_cmd="${NGINX:-nginx}"
supervisor_dir="${SUPERVISOR_CONF_DIR:-/etc/supervisor/conf.d}"
supervisorctl="${SUPERVISORCTL:-supervisorctl}"
logrotate_dir="${LOGROTATE_DIR:-/etc/logrotate.d}"
program=energy-data-api

# shellcheck source=deploy/release.sh
. "$here/deploy/release.sh"
ensure_user "$api_user" "$prefix"
release="$(install_release "$repo" "$revision" "$prefix")"
ensure_venv "$venv" "$release"
ln -sfn "$release" "$prefix/current"
mkdir -p "$log_dir"
chmod 755 "$log_dir"  # shared with the crawler's user: each writes only its own files
touch "$log_dir/api-access.log" "$log_dir/api-error.log"
chown "$api_user:" "$log_dir/api-access.log" "$log_dir/api-error.log"
[ -f "$api_env_file" ] || { echo "deploy-rest-api.sh: no $api_env_file (run scripts/setup/install-postgresql.sh first)" >&2; exit 1; }
chown "$api_user:" "$api_env_file"
chmod 600 "$api_env_file"
rate_dir="${STATE_DIR:-/var/lib/energy-data-api}"  # the per-key counters every worker shares
mkdir -p "$rate_dir" && chown "$api_user:" "$rate_dir" && chmod 700 "$rate_dir"

# The supervisor program: written only when it changes, so that `update` restarts nothing else.
mkdir -p "$supervisor_dir"
conf="$supervisor_dir/$program.conf"
new_conf="$(cat <<CONF
[program:$program]
command=$prefix/current/deploy/run-api.sh
directory=$prefix/current
user=$api_user
environment=API_ENV_FILE="$api_env_file",CODE_DIR="$prefix/current",VENV="$venv",HOST="127.0.0.1",PORT="$api_port",WEB_CONCURRENCY="$workers",ACCESS_LOG="$log_dir/api-access.log",ERROR_LOG="$log_dir/api-error.log",RATE_LIMIT_DB="$rate_dir/ratelimit.sqlite",PROMETHEUS_MULTIPROC_DIR="$rate_dir/metrics"
autostart=true
autorestart=true
startsecs=3
stopsignal=TERM
stopwaitsecs=30
stopasgroup=true
redirect_stderr=true
stdout_logfile=$log_dir/api-supervisor.log
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=5
CONF
)"
changed=1
if [ -f "$conf" ] && [ "$(cat "$conf")" = "$new_conf" ]; then changed=0; fi
[ "$changed" = 1 ] && echo "$new_conf" >"$conf"

# The nginx site: the template with this host's upstream, listen address, cache and limits.
sed -e "s|server 127.0.0.1:8000;|server 127.0.0.1:$api_port;|" \
    -e "s|listen 80;|listen ${LISTEN:-80};|" \
    -e "s|server_name _;|server_name ${SERVER_NAME:-_};|" \
    -e "s|/var/cache/nginx-energy-data|$cache_dir|" \
    -e "s|rate=10r/s|rate=${ADDRESS_RATE:-10r/s}|" \
    -e "s|burst=20|burst=${ADDRESS_BURST:-20}|" \
    "$release/deploy/nginx.conf" >"$site.new"
mkdir -p "$enabled_dir"
[ -f "$site" ] && cp "$site" "$site.previous"
mv "$site.new" "$site"
ln -sfn "$site" "$enabled_dir/energy-data"
if ! $nginx_cmd -t 2>/dev/null; then
    $nginx_cmd -t || true
    if [ -f "$site.previous" ]; then mv "$site.previous" "$site"; else rm -f "$site" "$enabled_dir/energy-data"; fi
    echo "deploy-rest-api.sh: nginx -t failed; the previous site is back, nothing reloaded" >&2
    exit 1
fi
rm -f "$site.previous"

$supervisorctl reread >/dev/null
if [ "$changed" = 1 ]; then
    $supervisorctl update "$program" >/dev/null  # adds it, or restarts it with the new settings
elif $supervisorctl status "$program" 2>/dev/null | grep -q RUNNING; then
    $supervisorctl signal HUP "$program" >/dev/null  # graceful: new workers on the new code
else
    $supervisorctl start "$program" >/dev/null
fi
$nginx_cmd -s reload 2>/dev/null || echo "deploy-rest-api.sh: nginx is not running; start it to serve the site" >&2

mkdir -p "$logrotate_dir"
cat >"$logrotate_dir/energy-data-api" <<ROTATE
# energy-data API logs: gunicorn reopens its files on USR1.
$log_dir/api-access.log $log_dir/api-error.log {
    daily
    rotate 14
    compress
    delaycompress
    missingok
    notifempty
    create 0640 $api_user $(id -gn "$api_user")
    sharedscripts
    postrotate
        $supervisorctl signal USR1 $program >/dev/null 2>&1 || true
    endscript
}
ROTATE
echo "API deployed: $(basename "$release"), $workers workers on 127.0.0.1:$api_port behind nginx ($site)"
