"""Crawl bookkeeping: one row per source per run, the crawl lock, and what `status` shows."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg2.extensions

Cursor = psycopg2.extensions.cursor

# Held for a whole `crawler run`, on a connection of its own: a second run exits at once.
CRAWL_LOCK_KEY = 0x656E6372  # "encr"


def try_crawl_lock(cur: Cursor) -> bool:
    cur.execute("SELECT pg_try_advisory_lock(%s)", (CRAWL_LOCK_KEY,))
    return bool(cur.fetchone()[0])


def crawl_lock_holder(cur: Cursor) -> tuple[int, datetime] | None:
    """(pid, backend start) of the session holding the crawl lock, if any."""
    cur.execute(
        "SELECT a.pid, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
        (CRAWL_LOCK_KEY,),
    )
    row = cur.fetchone()
    return (row[0], row[1]) if row else None


def release_crawl_lock(cur: Cursor) -> None:
    cur.execute("SELECT pg_advisory_unlock(%s)", (CRAWL_LOCK_KEY,))


def mark_interrupted(cur: Cursor) -> int:
    """Runs of any kind still 'running' whose database session has ended were killed: say so."""
    cur.execute(
        "UPDATE crawl_run r SET status = 'interrupted', finished_at = now(), "
        "error = coalesce(error, 'the crawler process ended before finishing this source') "
        "WHERE status = 'running' AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a "
        # backend_start tells a reused pid apart; it reads NULL for another role's session
        "WHERE a.pid = r.backend_pid AND (a.backend_start IS NULL OR a.backend_start <= r.started_at))"
    )
    return cur.rowcount


def start_run(cur: Cursor, source_id: int, kind: str, detail: str | None = None) -> int:
    """A 'running' row owned by this cursor's session (how a killed process is recognised)."""
    cur.execute(
        "INSERT INTO crawl_run (source_id, kind, detail, backend_pid) VALUES (%s, %s, %s, pg_backend_pid()) "
        "RETURNING id",
        (source_id, kind, detail),
    )
    return cur.fetchone()[0]


def finish_run(cur: Cursor, run_id: int, status: str, inserted: int = 0, updated: int = 0,
               unchanged: int = 0, anomalies: dict[str, int] | None = None, error: str | None = None) -> None:
    cur.execute(
        "UPDATE crawl_run SET finished_at = now(), status = %s, rows_inserted = %s, rows_updated = %s, "
        "rows_unchanged = %s, anomalies = %s, error = %s WHERE id = %s",
        (status, inserted, updated, unchanged, json.dumps(anomalies or {}), error, run_id),
    )


def last_success(cur: Cursor, source_id: int) -> datetime | None:
    """Start of the newest regular run of the source that stored its data."""
    cur.execute(
        "SELECT max(started_at) FROM crawl_run "
        "WHERE source_id = %s AND kind = 'run' AND status IN ('ok', 'partial')",
        (source_id,),
    )
    return cur.fetchone()[0]


def last_attempt(cur: Cursor, source_id: int) -> datetime | None:
    """Start of the newest regular run of the source that ended, well or not (a run that
    was killed does not delay the next one)."""
    cur.execute("SELECT max(started_at) FROM crawl_run "
                "WHERE source_id = %s AND kind = 'run' AND status <> 'interrupted'", (source_id,))
    return cur.fetchone()[0]


def newest_reading(cur: Cursor, source_id: int) -> datetime | None:
    """Start of the newest interval stored for the source, over all its regions (measured
    marginal intensity counts too: WattTime's rows are not in series; for a forecast-input
    source, its newest issue)."""
    cur.execute("SELECT greatest((SELECT max(last_ts) FROM series WHERE source_id = %(id)s), "
                "(SELECT max(ts) FROM marginal_intensity WHERE source_id = %(id)s AND forecast_issued_at IS NULL), "
                "(SELECT max(newest_issued_at) FROM input_series WHERE source_id = %(id)s))",
                {"id": source_id})
    return cur.fetchone()[0]


@dataclass
class SourceStatus:
    name: str
    frequency: timedelta
    last_success: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    newest_data: datetime | None
    rows_stored: int
    empty_runs: int = 0  # successful runs in a row, the newest included, that stored nothing


def source_status(cur: Cursor) -> dict[str, SourceStatus]:
    cur.execute("""
        SELECT s.name, s.frequency,
               (SELECT max(finished_at) FROM crawl_run r
                 WHERE r.source_id = s.id AND r.status IN ('ok', 'partial') AND r.kind <> 'replay'),
               e.finished_at, e.error,
               greatest((SELECT max(last_ts) FROM series x WHERE x.source_id = s.id),
                        (SELECT max(ts) FROM marginal_intensity m
                          WHERE m.source_id = s.id AND m.forecast_issued_at IS NULL),
                        (SELECT max(newest_issued_at) FROM input_series i WHERE i.source_id = s.id)),
               coalesce((SELECT sum(row_count) FROM series x WHERE x.source_id = s.id), 0)
               + (SELECT count(*) FROM marginal_intensity m WHERE m.source_id = s.id)
               + coalesce((SELECT sum(row_count) FROM input_series i WHERE i.source_id = s.id), 0),
               (SELECT count(*) FROM crawl_run r
                 WHERE r.source_id = s.id AND r.kind = 'run' AND r.status IN ('ok', 'partial')
                   AND r.rows_inserted + r.rows_updated + r.rows_unchanged = 0
                   AND r.started_at > coalesce((
                       SELECT max(q.started_at) FROM crawl_run q
                       WHERE q.source_id = s.id AND q.kind = 'run' AND q.status IN ('ok', 'partial')
                         AND q.rows_inserted + q.rows_updated + q.rows_unchanged > 0), '-infinity'))
        FROM source s
        LEFT JOIN LATERAL (
            SELECT finished_at, error FROM crawl_run r
            WHERE r.source_id = s.id AND r.error IS NOT NULL
            ORDER BY r.started_at DESC LIMIT 1) e ON true
    """)
    return {row[0]: SourceStatus(*row[:6], int(row[6]), int(row[7])) for row in cur.fetchall()}
