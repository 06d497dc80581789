"""Applies database/migrations/NNNN_name.sql in order, each once; the pending ones run in one
transaction, so a failing migration leaves the schema as it was."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import psycopg2
import psycopg2.errors
import psycopg2.extensions

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Serialises concurrent migrate calls (cron crawler, API start, tests) on one database.
_MIGRATION_LOCK_KEY = 0x656E6D67  # "enmg"
# A migration that changes emission factors says so; stored intensities are then recomputed
# in the same transaction (SQL alone cannot: the formula lives in database/intensity.py).
RECOMPUTE_MARKER = "-- after-migration: recompute-intensity"


class MigrationRefused(RuntimeError):
    """A pending migration needs more privilege than the connected role has."""


def migration_files() -> list[Path]:
    files = sorted(p for p in MIGRATIONS.iterdir() if _NAME.match(p.name))
    numbers = [int(_NAME.match(p.name).group(1)) for p in files]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"two migrations share a number in {MIGRATIONS}")
    return files


def migrate(conn: psycopg2.extensions.connection) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    applied_now: list[str] = []
    recompute = False
    with conn:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))
            # Only when missing: the crawler's role checks the schema at start but may not create.
            cur.execute("SELECT to_regclass('schema_migration') IS NOT NULL")
            if not cur.fetchone()[0]:
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migration ("
                    " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
            cur.execute("SELECT name FROM schema_migration")
            done = {row[0] for row in cur.fetchall()}
            for path in migration_files():
                if path.name in done:
                    continue
                log.info("applying migration %s", path.name)
                try:
                    cur.execute(path.read_text())
                except psycopg2.errors.InsufficientPrivilege as exc:
                    raise MigrationRefused(
                        f"migration {path.name} needs the admin role: run `python -m database migrate` with "
                        f"ADMIN_DATABASE_URL set ({str(exc).strip().splitlines()[0]})") from None
                cur.execute("INSERT INTO schema_migration (name) VALUES (%s)", (path.name,))
                applied_now.append(path.name)
                recompute = recompute or RECOMPUTE_MARKER in path.read_text()
            if recompute:
                from database.emission_factors import recompute_intensities
                log.info("recomputed %d stored intensities after new emission factors", recompute_intensities(cur))
    return applied_now
