#!/usr/bin/env bash
# Prepare PostgreSQL for energy-data on a Debian/Ubuntu host (run as root; idempotent):
# PostgreSQL from the distribution if missing, scram-sha-256 password authentication (any
# `trust` line in pg_hba.conf becomes scram-sha-256), the three roles of migration 0010 with
# new random passwords (kept on re-runs), the database owned by energy_admin, and the URLs in
# two mode-600 env files: ENV_FILE for the crawler, backups and migrations, API_ENV_FILE for
# the API (its read-only role only).
#
# Overridable: ENV_FILE (/etc/energy-data.env), API_ENV_FILE (/etc/energy-data-api.env),
# DB_NAME (energy_data), DB_HOST (127.0.0.1) and DB_PORT (5432) as written into the URLs,
# PGHOST/PGPORT (where psql reaches the server as PG_OS_USER, default its socket), PG_OS_USER
# (postgres), PG_BIN (folder of psql; default the newest /usr/lib/postgresql/*/bin),
# SKIP_APT=1 (never install packages).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "install-postgresql.sh: run as root" >&2; exit 1; }
env_file="${ENV_FILE:-/etc/energy-data.env}"
api_env_file="${API_ENV_FILE:-/etc/energy-data-api.env}"
db_name="${DB_NAME:-energy_data}"
db_host="${DB_HOST:-127.0.0.1}"
db_port="${DB_PORT:-${PGPORT:-5432}}"
os_user="${PG_OS_USER:-postgres}"

if [ -z "${PG_BIN:-}" ] && ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    [ "${SKIP_APT:-0}" = 1 ] && { echo "install-postgresql.sh: no PostgreSQL and SKIP_APT=1" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
fi
pg_bin="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}"

as_postgres() {  # psql as the server's superuser, over its local socket (peer authentication)
    runuser -u "$os_user" -- env ${PGHOST:+PGHOST="$PGHOST"} ${PGPORT:+PGPORT="$PGPORT"} \
        "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

# A value from an env file (KEY=value lines), empty when absent.
read_var() { [ -r "$1" ] && sed -n "s/^$2=//p" "$1" | tail -n 1 || true; }
# The password inside a postgresql://user:password@host URL.
url_password() { sed -n 's|^postgresql://[^:]*:\([^@]*\)@.*|\1|p' <<<"$1"; }
new_password() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
password_of() {  # role var: the password already in the env file, else a new one
    local old
    old="$(url_password "$(read_var "$env_file" "$2")")"
    [ -n "$old" ] || old="$(url_password "$(read_var "$api_env_file" "$2")")"
    echo "${old:-$(new_password)}"
}
reader_pw="$(password_of energy_reader API_DATABASE_URL)"
writer_pw="$(password_of energy_writer DATABASE_URL)"
admin_pw="$(password_of energy_admin ADMIN_DATABASE_URL)"

as_postgres -d postgres -v reader_pw="$reader_pw" -v writer_pw="$writer_pw" -v admin_pw="$admin_pw" <<'SQL'
ALTER SYSTEM SET password_encryption = 'scram-sha-256';
SELECT pg_reload_conf();
SET password_encryption = 'scram-sha-256';
SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['energy_reader', 'energy_writer', 'energy_admin']) r
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec
ALTER ROLE energy_reader LOGIN PASSWORD :'reader_pw';
ALTER ROLE energy_writer LOGIN PASSWORD :'writer_pw';
ALTER ROLE energy_admin LOGIN PASSWORD :'admin_pw';
ALTER ROLE energy_reader SET default_transaction_read_only = on;
SQL
as_postgres -d postgres -v db="$db_name" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER energy_admin', :'db')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO energy_reader, energy_writer', :'db') \gexec
SELECT format('GRANT ALL ON DATABASE %I TO energy_admin', :'db') \gexec
SQL

# No `trust` anywhere: every such line of pg_hba.conf asks for a scram-sha-256 password.
hba="$(as_postgres -d postgres -At -c 'SHOW hba_file')"
if grep -qE '^[[:space:]]*[^#[:space:]].*[[:space:]]trust([[:space:]]|$)' "$hba"; then
    sed -i -E '/^[[:space:]]*#/!s/([[:space:]])trust([[:space:]]|$)/\1scram-sha-256\2/' "$hba"
    as_postgres -d postgres -c 'SELECT pg_reload_conf()' >/dev/null
fi

# Set KEY=value in an env file, keeping its other lines; the file stays mode 600.
set_var() {
    local file="$1" key="$2" value="$3" tmp
    tmp="$(mktemp "$file.XXXXXX")"
    chmod 600 "$tmp"
    [ -e "$file" ] && chown --reference="$file" "$tmp"  # the deploy scripts gave it to their user
    { [ -r "$file" ] && grep -v "^$key=" "$file" || true; echo "$key=$value"; } >"$tmp"
    mv "$tmp" "$file"
}
url() { echo "postgresql://$1:$2@$db_host:$db_port/$db_name"; }
for file in "$env_file" "$api_env_file"; do
    mkdir -p "$(dirname "$file")"; touch "$file"; chmod 600 "$file"
done
set_var "$env_file" DATABASE_URL "$(url energy_writer "$writer_pw")"
set_var "$env_file" ADMIN_DATABASE_URL "$(url energy_admin "$admin_pw")"
set_var "$api_env_file" API_DATABASE_URL "$(url energy_reader "$reader_pw")"
echo "PostgreSQL ready: database $db_name, roles energy_reader/energy_writer/energy_admin; URLs in $env_file and $api_env_file"
