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
    # Over each region's newest day of data (the 24 h before its newest interval): intervals
    # served, and those of them holding an estimate.
    day_intervals: int = 0
    day_estimated: int = 0

    @property
    def estimated_share(self) -> float | None:
        """Share of the newest day's served intervals that hold an estimate (None: no data)."""
        return self.day_estimated / self.day_intervals if self.day_intervals else None

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
    rows = cur.fetchall()
    shares = estimated_shares(cur)
    return [SourceFreshness(*row[:11], int(row[11]), *shares.get(row[0], (0, 0))) for row in rows]


def estimated_shares(cur: Cursor) -> dict[str, tuple[int, int]]:
    """Source name -> (intervals served, of them estimated) over each of its regions' newest day
    of data; each count runs on carbon_intensity's primary key prefix (region, source, ts)."""
    cur.execute("""
        SELECT s.name, sum(d.served)::int, sum(d.estimated)::int FROM series x
        JOIN source s ON s.id = x.source_id
        JOIN LATERAL (SELECT count(*) AS served, count(*) FILTER (WHERE c.estimated) AS estimated
                      FROM carbon_intensity c WHERE c.region_id = x.region_id AND c.source_id = x.source_id
                        AND c.ts > x.last_ts - interval '1 day' AND c.ts <= x.last_ts) d ON true
        GROUP BY s.name
    """)
    return {name: (served, estimated) for name, served, estimated in cur.fetchall()}
