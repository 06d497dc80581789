"""Marginal intensity (WattTime MOER): its write path and its reads, apart from average
intensity (migration 0013): nothing here touches carbon_intensity or series.

A measured value replaces a forecast of the same interval, never the reverse; a newer
forecast replaces an older one; a missing value (the signal index comes in a body of its
own) keeps the stored one. Writing the same rows again changes nothing and says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import psycopg2.extensions

from database.copy import copy_frame
from database.reported import ReportedCounts, zone_regions

Cursor = psycopg2.extensions.cursor

_BATCH_TYPES = {"region_id": "int2", "source_id": "int2", "ts": "timestamptz", "interval_minutes": "int2",
                "moer_g_per_kwh": "float8", "signal_index": "float8", "forecast_issued_at": "timestamptz"}
_VALUES = ("interval_minutes", "moer_g_per_kwh", "signal_index", "forecast_issued_at")
BUCKETS = {"hour": "1 hour", "day": "1 day"}


def write_marginal(cur: Cursor, source: int, rows: pd.DataFrame, interval_minutes: int) -> ReportedCounts:
    """Upsert rows (columns zone, timestamp, moer_g_per_kwh, signal_index, forecast_issued_at,
    interval_minutes; one per zone and timestamp) by the precedence above; counts inserted,
    updated, unchanged. A row without its own interval length has `interval_minutes`."""
    if rows.empty:
        return ReportedCounts(by_region={})
    regions = zone_regions(cur, sorted(rows["zone"].unique()))
    batch = pd.DataFrame({
        "region_id": rows["zone"].map(lambda z: regions[z][0]).astype("int16"),
        "source_id": source,
        "ts": pd.to_datetime(rows["timestamp"], utc=True),
        "interval_minutes": (pd.to_numeric(rows["interval_minutes"], errors="coerce").fillna(interval_minutes)
                             .astype("int16") if "interval_minutes" in rows else interval_minutes),
        "moer_g_per_kwh": rows["moer_g_per_kwh"].astype("float64"),
        "signal_index": rows["signal_index"].astype("float64"),
        "forecast_issued_at": pd.to_datetime(rows["forecast_issued_at"], utc=True),
    })
    if batch.duplicated(subset=["region_id", "ts"]).any():
        raise ValueError("two zones of the batch name the same region at the same time; crawl one zone per region")
    cur.execute("CREATE TEMP TABLE batch_marginal (region_id int2, source_id int2, ts timestamptz, "
                "interval_minutes int2, moer_g_per_kwh float8, signal_index float8, forecast_issued_at timestamptz) "
                "ON COMMIT DROP")
    copy_frame(cur, "batch_marginal", batch, _BATCH_TYPES)
    # The batch's value wins when it has one and is measured, or nothing measured is stored
    # and it is at least as new a forecast as the stored one.
    new_wins = ("(b.moer_g_per_kwh IS NOT NULL AND (b.forecast_issued_at IS NULL OR s.ts IS NULL "
                "OR s.moer_g_per_kwh IS NULL "
                "OR (s.forecast_issued_at IS NOT NULL AND s.forecast_issued_at <= b.forecast_issued_at)))")
    columns = ", ".join(_VALUES)
    cur.execute(
        f"INSERT INTO marginal_intensity (region_id, source_id, ts, {columns}) "
        "SELECT b.region_id, b.source_id, b.ts, b.interval_minutes, "
        f"CASE WHEN {new_wins} THEN b.moer_g_per_kwh ELSE s.moer_g_per_kwh END, "
        "coalesce(b.signal_index, s.signal_index), "
        f"CASE WHEN {new_wins} THEN b.forecast_issued_at ELSE s.forecast_issued_at END "
        "FROM batch_marginal b LEFT JOIN marginal_intensity s USING (region_id, source_id, ts) "
        "ON CONFLICT (region_id, source_id, ts) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in _VALUES)
        + f" WHERE ({', '.join('marginal_intensity.' + c for c in _VALUES)}) "
          f"IS DISTINCT FROM ({', '.join('EXCLUDED.' + c for c in _VALUES)}) "
          "RETURNING (xmax = 0)")
    written = [row[0] for row in cur.fetchall()]
    cur.execute("DROP TABLE batch_marginal")
    inserted = sum(written)
    codes = {region_id: code for region_id, code in regions.values()}
    return ReportedCounts(inserted, len(written) - inserted, len(batch) - len(written),
                          {codes[int(r)]: int(n) for r, n in batch.groupby("region_id").size().items()})


@dataclass(frozen=True)
class MarginalSeries:
    """One source's marginal intensity for one region."""

    region_id: int
    source: str
    source_id: int
    first: datetime
    last: datetime
    interval_minutes: int


@dataclass(frozen=True)
class MarginalPoint:
    ts: datetime
    minutes: int  # how much of the bucket the stored intervals with a value cover
    moer_g_per_kwh: float | None
    signal_index: float | None
    forecast_issued_at: datetime | None  # newest forecast in the bucket; None: all measured


def marginal_series(cur: Cursor, region_code: str) -> list[MarginalSeries]:
    """Every source with marginal intensity stored for the region, newest data first."""
    cur.execute(
        "SELECT m.region_id, s.name, s.id, min(m.ts), max(m.ts), max(m.interval_minutes) FROM marginal_intensity m "
        "JOIN region r ON r.id = m.region_id JOIN source s ON s.id = m.source_id "
        "WHERE r.code = %s GROUP BY m.region_id, s.name, s.id ORDER BY max(m.ts) DESC, s.name",
        (region_code,))
    return [MarginalSeries(*row) for row in cur.fetchall()]


def marginal_points(cur: Cursor, series: MarginalSeries, start: datetime, end: datetime,
                    resolution: str) -> list[MarginalPoint]:
    """Points whose interval starts in [start, end), oldest first; hour and day buckets (UTC)
    are time-weighted means of the intervals with a value."""
    where = "WHERE region_id = %(region)s AND source_id = %(source)s AND ts >= %(start)s AND ts < %(end)s"
    params = {"region": series.region_id, "source": series.source_id, "start": start, "end": end}
    if resolution == "native":
        cur.execute("SELECT ts, interval_minutes, moer_g_per_kwh, signal_index, forecast_issued_at "
                    f"FROM marginal_intensity {where} ORDER BY ts", params)
    else:
        known = "FILTER (WHERE moer_g_per_kwh IS NOT NULL)"
        cur.execute(
            "SELECT date_bin(%(bucket)s::interval, ts, '2000-01-01'::timestamptz) AS bucket, "
            f"coalesce(sum(interval_minutes) {known}, 0), "
            f"sum(moer_g_per_kwh * interval_minutes) {known} / nullif(sum(interval_minutes) {known}, 0), "
            "sum(signal_index * interval_minutes) FILTER (WHERE signal_index IS NOT NULL) "
            "/ nullif(sum(interval_minutes) FILTER (WHERE signal_index IS NOT NULL), 0), max(forecast_issued_at) "
            f"FROM marginal_intensity {where} GROUP BY bucket ORDER BY bucket",
            {**params, "bucket": BUCKETS[resolution]})
    return [MarginalPoint(*row) for row in cur.fetchall()]
