"""How fresh each source's data is, for the dashboard's freshness table (GET /sources/)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg2.extensions

Cursor = psycopg2.extensions.cursor


@dataclass(frozen=True)
class SourceFreshness:
    """One crawler source: its schedule, its newest runs and its newest data."""

    name: str
    description: str
    frequency: timedelta
    interval_minutes: int
    stale_after: timedelta
    last_success: datetime | None  # end of the newest crawl (not replay) that stored data
    last_attempt: datetime | None  # end of the newest crawl, whatever its outcome
    last_status: str | None  # ok, partial, failed, interrupted, running
    last_error: str | None  # error of the newest crawl, if it had one
    newest_data: datetime | None  # start of the newest interval stored, any region
    regions: int  # regions holding this source's data
    rows: int

    def state(self, now: datetime) -> str:
        """ok, stale (newest data older than the threshold), failing (newest crawl failed),
        or no_data; staleness first: it is what a reader of the numbers needs to know."""
        if self.newest_data is None:
            return "no_data"
        if now - self.newest_data > self.stale_after:
            return "stale"
        if self.last_status == "failed":
            return "failing"
        return "ok"


def source_freshness(cur: Cursor) -> list[SourceFreshness]:
    """Every known source, by name."""
    cur.execute("""
        SELECT s.name, s.description, s.frequency, s.interval_minutes, s.stale_after,
               (SELECT max(r.finished_at) FROM crawl_run r
                 WHERE r.source_id = s.id AND r.kind = 'run' AND r.status IN ('ok', 'partial')),
               last.finished_at, last.status, last.error,
               (SELECT max(x.last_ts) FROM series x WHERE x.source_id = s.id),
               (SELECT count(*) FROM series x WHERE x.source_id = s.id),
               coalesce((SELECT sum(x.row_count) FROM series x WHERE x.source_id = s.id), 0)
        FROM source s
        LEFT JOIN LATERAL (
            SELECT r.finished_at, r.status, r.error FROM crawl_run r
            WHERE r.source_id = s.id AND r.kind = 'run'
            ORDER BY r.started_at DESC, r.id DESC LIMIT 1) last ON true
        ORDER BY s.name
    """)
    return [SourceFreshness(*row[:11], int(row[11])) for row in cur.fetchall()]
