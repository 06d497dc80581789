#!/usr/bin/env bash
# Deploy the crawler on a Debian/Ubuntu host (run as root; idempotent): the code at a git
# revision into $PREFIX/releases/<commit> with $PREFIX/current pointing at it, its own
# virtualenv, the migrations (as ADMIN_DATABASE_URL from ENV_FILE), the log folder, a
# logrotate file, and the crontab lines of RUN_USER (crawl every minute, freshness check,
# nightly prune and backup, hourly forecasts, the daily fit of the forecast model). Each crontab
# line carries a `# energy-data:<name>` tag and replaces the line with the same tag: deploying
# twice leaves one copy of each.
#
#   deploy/deploy-crawler.sh [REVISION]        (default HEAD of the repository it is run from)
#
# Overridable: REPO (git repository to deploy from, default this script's), PREFIX
# (/opt/energy-data), VENV ($PREFIX/venv), PIP_INSTALL (1: pip install -r requirements.txt
# into VENV; 0 with a VENV that is ready), PYTHON (python3), RUN_USER (energy-data, created
# if missing), ENV_FILE (/etc/energy-data.env), LOG_DIR (/var/log/energy-data), BACKUP_DIR
# (/var/backups/energy-data), LOGROTATE_DIR (/etc/logrotate.d), CRONTAB (crontab).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "deploy-crawler.sh: run as root" >&2; exit 1; }
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="${REPO:-$here}"
revision="${1:-HEAD}"
prefix="${PREFIX:-/opt/energy-data}"
venv="${VENV:-$prefix/venv}"
run_user="${RUN_USER:-energy-data}"
env_file="${ENV_FILE:-/etc/energy-data.env}"
log_dir="${LOG_DIR:-/var/log/energy-data}"
backup_dir="${BACKUP_DIR:-/var/backups/energy-data}"
logrotate_dir="${LOGROTATE_DIR:-/etc/logrotate.d}"
crontab_cmd="${CRONTAB:-crontab}"

# shellcheck source=deploy/release.sh
. "$here/deploy/release.sh"
ensure_user "$run_user" "$prefix"
release="$(install_release "$repo" "$revision" "$prefix")"
ensure_venv "$venv" "$release"

mkdir -p "$log_dir" "$backup_dir"
chown "$run_user:" "$log_dir" "$backup_dir"
chmod 750 "$log_dir"
chmod 700 "$backup_dir"
[ -f "$env_file" ] || { echo "deploy-crawler.sh: no $env_file (run scripts/setup/install-postgresql.sh first)" >&2; exit 1; }
chown "$run_user:" "$env_file"
chmod 600 "$env_file"

# Migrations as the admin role, from the new release, before cron runs it.
runuser -u "$run_user" -- env -C "$release" bash -c 'set -a; . "$1"; set +a; "$2/bin/python" -m database migrate' \
    _ "$env_file" "$venv"
ln -sfn "$release" "$prefix/current"

mkdir -p "$logrotate_dir"
cat >"$logrotate_dir/energy-data-crawler" <<ROTATE
# energy-data crawler logs: cron opens them anew each run, so a plain rename is safe.
$log_dir/crawler.log $log_dir/prune.log $log_dir/backup.log $log_dir/freshness.log $log_dir/forecasts.log {
    daily
    rotate 14
    compress
    delaycompress
    missingok
    notifempty
    create 0640 $run_user $(id -gn "$run_user")
}
ROTATE

run="ENERGY_DATA_ENV=$env_file VENV=$venv $prefix/current/deploy/run-crawler.sh"
lines="$(cat <<CRON
* * * * * $run >> $log_dir/crawler.log 2>&1 # energy-data:crawl
*/15 * * * * $run status --check 2>&1 | tee -a $log_dir/freshness.log | grep -E 'STALE|error' # energy-data:freshness
17 3 * * * $run prune >> $log_dir/prune.log 2>&1 # energy-data:prune
5 * * * * $run forecasts >> $log_dir/forecasts.log 2>&1 # energy-data:forecasts
31 4 * * * $run forecasts fit >> $log_dir/forecasts.log 2>&1 # energy-data:fit
47 2 * * * ENERGY_DATA_ENV=$env_file BACKUP_DIR=$backup_dir $prefix/current/deploy/run-backup.sh >> $log_dir/backup.log 2>&1 # energy-data:backup
CRON
)"
current="$($crontab_cmd -u "$run_user" -l 2>/dev/null || true)"
tags="$(sed -n 's/.*# \(energy-data:[a-z]*\)$/\1/p' <<<"$lines" | paste -sd'|')"
{ grep -vE "# ($tags)\$" <<<"$current" | sed '/^$/d' || true; echo "$lines"; } | $crontab_cmd -u "$run_user" -
echo "crawler deployed: $(basename "$release") in $prefix/current, crontab of $run_user:"
$crontab_cmd -u "$run_user" -l | grep -E '# energy-data:' | sed 's/^/  /'
