"""A throw-away database (tests, benchmarks): a scratch database on DATABASE_URL's server
when it is set, otherwise a fresh embedded PostgreSQL in a temporary folder."""
from __future__ import annotations

import os
import tempfile
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

from database.migrate import migrate

DATA_TABLES = ("generation_reading", "net_import", "carbon_intensity", "series", "crawl_run", "raw_payload",
               "forecast_value", "forecast", "forecast_accuracy", "reported_intensity", "marginal_intensity",
               "weather_forecast", "operator_forecast", "input_series", "input_thinning", "weather_point",
               "load_reading", "cross_border_flow", "source_note",
               "estimated_reading", "reading_flag", "forecast_model")


@contextmanager
def scratch_database():
    """Yield the URL of a new, migrated database; drop it (or the whole server) afterwards."""
    if os.environ.get("DATABASE_URL"):
        with _scratch_on(os.environ["DATABASE_URL"]) as url:
            yield url
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    with tempfile.TemporaryDirectory(prefix="energy-data-test-") as tmp:
        os.chmod(tmp, 0o755)  # pgserver runs postgres as its own user when we are root
        server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        with server:
            with _scratch_on(server.get_uri()) as url:
                yield url


@contextmanager
def _scratch_on(server_url: str):
    name = f"energy_data_test_{uuid.uuid4().hex[:12]}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    conn = psycopg2.connect(url)
    migrate(conn)
    conn.close()
    try:
        yield url
    finally:
        # A new connection: the server may have been restarted meanwhile (a test does that).
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(server_url: str, statement: str) -> None:
    admin = psycopg2.connect(server_url)
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(statement)
    finally:
        admin.close()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def clean(url: str) -> None:
    """Empty the data tables between tests (schema, regions, fuels and factors stay)."""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY")
        # Factors back to what the migrations wrote: kept aside on the first clean.
        cur.execute("SELECT to_regclass('scratch_pristine_factor') IS NOT NULL")
        if not cur.fetchone()[0]:
            cur.execute("CREATE TABLE scratch_pristine_factor AS SELECT * FROM emission_factor")
        cur.execute("TRUNCATE emission_factor")
        cur.execute("INSERT INTO emission_factor OVERRIDING SYSTEM VALUE SELECT * FROM scratch_pristine_factor")
        # Regions a crawl made of provider zones outside ours (database/reported.ensure_zone_regions).
        cur.execute("DELETE FROM region r WHERE time_zone = 'UTC' "
                    "AND NOT EXISTS (SELECT 1 FROM region_alias a WHERE a.region_id = r.id)")
    conn.close()
