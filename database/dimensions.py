"""The small lookup tables: regions (with aliases), fuels and sources."""
from __future__ import annotations

from datetime import timedelta

import psycopg2.extensions

Cursor = psycopg2.extensions.cursor


def region_ids(cur: Cursor) -> dict[str, int]:
    """Canonical region code -> id."""
    cur.execute("SELECT code, id FROM region")
    return dict(cur.fetchall())


def fuel_ids(cur: Cursor) -> dict[str, int]:
    cur.execute("SELECT name, id FROM fuel")
    return dict(cur.fetchall())


def resolve_region(cur: Cursor, name: str) -> str | None:
    """The canonical code for a code or alias (any case), or None."""
    cur.execute(
        "SELECT code FROM region WHERE code = upper(%s) "
        "UNION ALL SELECT r.code FROM region_alias a JOIN region r ON r.id = a.region_id "
        "WHERE a.alias = upper(%s) LIMIT 1",
        (name.strip(), name.strip()),
    )
    row = cur.fetchone()
    return row[0] if row else None


def sync_source(cur: Cursor, name: str, description: str, frequency: timedelta, interval_minutes: int,
                stale_after: timedelta = timedelta(hours=1)) -> int:
    """Insert or refresh a source from the crawler's registry; returns its id."""
    cur.execute(
        "INSERT INTO source (name, description, frequency, interval_minutes, stale_after) "
        "VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, "
        "frequency = EXCLUDED.frequency, interval_minutes = EXCLUDED.interval_minutes, "
        "stale_after = EXCLUDED.stale_after "
        "RETURNING id",
        (name, description, frequency, interval_minutes, stale_after),
    )
    return cur.fetchone()[0]
