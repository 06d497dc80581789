"""Where the database is: `DATABASE_URL`, or an embedded PostgreSQL under ENERGY_DATA_HOME.

The embedded server (the `pgserver` package: real PostgreSQL binaries in a wheel) is
started on first use and left running, so that the API workers and the crawler that cron
starts every minute share one server. `python -m database stop` stops it.
"""
from __future__ import annotations

import logging
import os
import subprocess
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "energy_data"
# The roles of migration 0010: the API reads, the crawler writes, migrations own the schema.
READER_ROLE, WRITER_ROLE, ADMIN_ROLE = "energy_reader", "energy_writer", "energy_admin"


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message is one readable line."""


def energy_data_home() -> Path:
    return Path(os.environ.get("ENERGY_DATA_HOME", ".energy-data")).resolve()


def database_url() -> str:
    """The URL of the database to use, starting the embedded server if none is configured."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return _embedded_url()


def api_database_url(as_reader: bool = True) -> str:
    """The API's database: API_DATABASE_URL (the read-only role, or a standby), else DATABASE_URL;
    on the embedded server, the energy_reader role (once migrations have created it) unless
    `as_reader` is false."""
    url = os.environ.get("API_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return url
    return _embedded_url(role=READER_ROLE if as_reader else None)


def admin_database_url() -> str:
    """The database as the role that runs migrations and manages API keys: ADMIN_DATABASE_URL,
    else DATABASE_URL, else the embedded server's superuser."""
    return os.environ.get("ADMIN_DATABASE_URL") or database_url()


def _embedded_server(pgdata: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        import pgserver
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(pgdata, cleanup_mode=None)


def _embedded_url(role: str | None = None) -> str:
    pgdata = energy_data_home() / "pgdata"
    try:
        server = _embedded_server(pgdata)
    except Exception as exc:  # pgserver raises plain Exceptions with the server log in them
        raise DatabaseUnavailable(f"cannot start embedded PostgreSQL in {pgdata}: {exc}") from exc
    admin_url = server.get_uri()
    _create_database_once(admin_url, EMBEDDED_DATABASE)
    url = server.get_uri(EMBEDDED_DATABASE)
    if role and _role_exists(admin_url, role):
        url = with_user(url, role)
    return url


def with_user(url: str, user: str) -> str:
    """The same URL logging in as another role (no password: for the embedded server's socket)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def _role_exists(admin_url: str, role: str) -> bool:
    conn = psycopg2.connect(admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            return cur.fetchone() is not None
    finally:
        conn.close()


def _create_database_once(admin_url: str, name: str) -> None:
    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                try:
                    cur.execute(f'CREATE DATABASE "{name}"')
                except psycopg2.errors.DuplicateDatabase:
                    pass  # another process created it meanwhile
    finally:
        conn.close()


def stop_embedded(pgdata: Path | None = None) -> bool:
    """Stop the embedded server (a fast shutdown) if it runs; True if it did."""
    pgdata = pgdata or energy_data_home() / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    from pgserver._commands import POSTGRES_BIN_PATH  # the binaries the server runs from

    user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs postgres as this user under root
    subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
                   check=True, user=user, capture_output=True)
    return True


def connect(url: str | None = None, application_name: str = "energy-data",
            connect_timeout_s: int = 10) -> psycopg2.extensions.connection:
    """A new connection in UTC; DatabaseUnavailable (one line) if the server cannot be reached."""
    url = url or database_url()
    try:
        conn = psycopg2.connect(
            url,
            application_name=application_name,
            connect_timeout=connect_timeout_s,
            options="-c timezone=UTC",
        )
    except psycopg2.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise DatabaseUnavailable(f"database unreachable: {first_line}") from None
    return conn
