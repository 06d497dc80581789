#!/usr/bin/env bash
# Restore a dump made by deploy/run-backup.sh into an existing database: its schema `public`
# is dropped and rebuilt from the dump in ONE transaction, so a failed restore leaves the
# database as it was. Stop the crawler's cron line and the API first.
#   deploy/restore-backup.sh FILE.dump
# The database is RESTORE_DATABASE_URL, else ADMIN_DATABASE_URL, else DATABASE_URL; run it as
# the role that owns the schema (energy_admin on a deployed host) or a superuser.
# PG_BIN: folder of pg_restore and psql (default: PATH).
# (pg_restore --clean cannot drop the constraints partitions inherit, hence the schema swap.)
set -euo pipefail
dump="${1:?usage: deploy/restore-backup.sh FILE.dump}"
[ -r "$dump" ] || { echo "restore-backup: cannot read $dump" >&2; exit 1; }
env_file="${ENERGY_DATA_ENV:-/etc/energy-data.env}"
if [ -r "$env_file" ]; then set -a; . "$env_file"; set +a; fi
url="${RESTORE_DATABASE_URL:-${ADMIN_DATABASE_URL:-${DATABASE_URL:?set DATABASE_URL (or RESTORE_DATABASE_URL)}}}"
bin="${PG_BIN:+$PG_BIN/}"
"${bin}pg_restore" --list "$dump" >/dev/null  # a truncated or foreign file stops here, nothing touched
# COMMIT is sent only when pg_restore read the whole dump; without it psql's session ends
# with the transaction open, and PostgreSQL rolls it back.
{
    echo "BEGIN; DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"
    "${bin}pg_restore" --file=- "$dump" && echo "COMMIT;"
} | "${bin}psql" "$url" -q -X -v ON_ERROR_STOP=1 >/dev/null
echo "restored $dump"
