#!/usr/bin/env bash
# Daily backup (cron, see deploy/deploy-crawler.sh): pg_dump -Fc of the database into
# $BACKUP_DIR/daily, the newest KEEP_DAILY kept; a hard link into $BACKUP_DIR/weekly when the
# newest weekly one is 7 days old or more, the newest KEEP_WEEKLY kept; an optional copy to
# BACKUP_COPY_TO (a folder, or host:folder over scp). Each run is recorded in backup_run, which
# `python -m crawler status` shows. Exit status non-zero when the dump or the copy failed.
#
# Environment (from ENERGY_DATA_ENV, default /etc/energy-data.env, like the crawler):
#   BACKUP_DATABASE_URL  else ADMIN_DATABASE_URL, else DATABASE_URL   whom to dump
#   BACKUP_DIR (/var/backups/energy-data)  KEEP_DAILY (7)  KEEP_WEEKLY (4)  BACKUP_COPY_TO (none)
#   PG_BIN (folder of pg_dump and psql; default: PATH)
set -uo pipefail
env_file="${ENERGY_DATA_ENV:-/etc/energy-data.env}"
if [ -e "$env_file" ] && [ ! -r "$env_file" ]; then echo "$(basename "$0"): cannot read $env_file" >&2; exit 2; fi
if [ -r "$env_file" ]; then set -a; . "$env_file"; set +a; fi

url="${BACKUP_DATABASE_URL:-${ADMIN_DATABASE_URL:-${DATABASE_URL:?set DATABASE_URL (or BACKUP_DATABASE_URL)}}}"
backup_dir="${BACKUP_DIR:-/var/backups/energy-data}"
keep_daily="${KEEP_DAILY:-7}"
keep_weekly="${KEEP_WEEKLY:-4}"
bin="${PG_BIN:+$PG_BIN/}"
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
name="energy-data-$(date -u +%Y%m%dT%H%M%SZ).dump"

record() {  # status file bytes copied_to error: one row in backup_run (best effort)
    "${bin}psql" "$url" -q -X -v ON_ERROR_STOP=1 -v started="$started" -v status="$1" -v file="$2" \
        -v bytes="$3" -v copied="$4" -v error="$5" -v host="$(hostname)" >/dev/null <<'SQL' \
        || echo "run-backup: could not record the run in backup_run" >&2
INSERT INTO backup_run (started_at, status, file, bytes, copied_to, error, host)
VALUES (:'started', :'status', nullif(:'file', ''), nullif(:'bytes', '')::bigint, nullif(:'copied', ''),
        nullif(:'error', ''), :'host');
SQL
}

fail() {  # message [file]
    echo "run-backup: $1" >&2
    record failed "${2:-}" "" "" "$1"
    exit 1
}

# Keep the newest $2 files matching energy-data-*.dump in folder $1 (names sort by time).
prune() {
    ls -1 "$1" | grep -E '^energy-data-[0-9]{8}T[0-9]{6}Z\.dump$' | sort -r | tail -n +"$(($2 + 1))" \
        | while IFS= read -r old; do rm -f -- "$1/$old"; done
}

mkdir -p "$backup_dir/daily" "$backup_dir/weekly" || fail "cannot create $backup_dir"
chmod 700 "$backup_dir"
target="$backup_dir/daily/$name"
errors="$(mktemp)"
trap 'rm -f "$errors" "$target.partial"' EXIT
if ! "${bin}pg_dump" -Fc --dbname="$url" --file="$target.partial" 2>"$errors"; then
    fail "pg_dump failed: $(tail -n 3 "$errors" | tr '\n' ' ')"
fi
mv "$target.partial" "$target"
bytes="$(stat -c %s "$target")"

if [ -z "$(find "$backup_dir/weekly" -name 'energy-data-*.dump' -mtime -7 -print -quit)" ]; then
    ln "$target" "$backup_dir/weekly/$name" 2>/dev/null || cp "$target" "$backup_dir/weekly/$name"
fi
prune "$backup_dir/daily" "$keep_daily"
prune "$backup_dir/weekly" "$keep_weekly"

copied=""
if [ -n "${BACKUP_COPY_TO:-}" ]; then
    case "$BACKUP_COPY_TO" in
        *:*) copy=(scp -q -o BatchMode=yes "$target" "$BACKUP_COPY_TO/") ;;
        *) mkdir -p "$BACKUP_COPY_TO"; copy=(cp "$target" "$BACKUP_COPY_TO/") ;;
    esac
    "${copy[@]}" 2>"$errors" || fail "copy to $BACKUP_COPY_TO failed: $(tail -n 3 "$errors" | tr '\n' ' ')" "$target"
    copied="$BACKUP_COPY_TO"
fi
record ok "$target" "$bytes" "$copied" ""
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) backup ok: $target ($bytes bytes)${copied:+, copied to $copied}"
