"""Reads of stored series for the API: carbon intensity (native or aggregated in SQL) and the
energy mix, always for one region and one source over [start, end)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg2.extensions

Cursor = psycopg2.extensions.cursor

INTENSITY_COLUMN = {"lifecycle": "lifecycle_g_per_kwh", "direct": "direct_g_per_kwh"}
RESOLUTIONS = ("native", "hour", "day")


@dataclass(frozen=True)
class IntensityPoint:
    ts: datetime
    minutes: int  # how much of the bucket the stored intervals cover
    carbon_intensity: float | None
    renewable_share: float | None
    low_carbon_share: float | None


def carbon_intensity(cur: Cursor, region_id: int, source_id: int, start: datetime, end: datetime,
                     factor_set: str, resolution: str) -> list[IntensityPoint]:
    """Intensity points whose interval starts in [start, end), oldest first.

    Aggregated buckets (hour, day; UTC) are time-weighted means of the intervals in them,
    which is what a constant load running through the bucket would see.
    """
    column = INTENSITY_COLUMN[factor_set]
    params = {"region": region_id, "source": source_id, "start": start, "end": end}
    if resolution == "native":
        cur.execute(
            f"SELECT ts, interval_minutes, {column}, renewable_share, low_carbon_share FROM carbon_intensity "
            "WHERE region_id = %(region)s AND source_id = %(source)s AND ts >= %(start)s AND ts < %(end)s "
            "ORDER BY ts", params)
    else:
        cur.execute(
            f"""SELECT date_trunc(%(unit)s, ts) AS bucket,
                       sum(interval_minutes) FILTER (WHERE {column} IS NOT NULL),
                       sum({column} * interval_minutes) / sum(interval_minutes) FILTER (WHERE {column} IS NOT NULL),
                       sum(renewable_share * interval_minutes)
                           / sum(interval_minutes) FILTER (WHERE renewable_share IS NOT NULL),
                       sum(low_carbon_share * interval_minutes)
                           / sum(interval_minutes) FILTER (WHERE low_carbon_share IS NOT NULL)
                FROM carbon_intensity
                WHERE region_id = %(region)s AND source_id = %(source)s AND ts >= %(start)s AND ts < %(end)s
                GROUP BY bucket ORDER BY bucket""",
            {**params, "unit": resolution})
    return [IntensityPoint(ts, minutes or 0, ci, renewable, low_carbon)
            for ts, minutes, ci, renewable, low_carbon in cur.fetchall()]


def energy_mixture(cur: Cursor, region_id: int, source_id: int, start: datetime,
                   end: datetime) -> list[tuple[datetime, str, float]]:
    """(interval start, fuel, MW) of every reading in [start, end), by time then fuel."""
    cur.execute(
        "SELECT g.ts, f.name, g.mw FROM generation_reading g JOIN fuel f ON f.id = g.fuel_id "
        "WHERE g.region_id = %s AND g.source_id = %s AND g.ts >= %s AND g.ts < %s ORDER BY g.ts, f.id",
        (region_id, source_id, start, end))
    return cur.fetchall()


def net_imports(cur: Cursor, region_id: int, source_id: int, start: datetime,
                end: datetime) -> dict[datetime, float]:
    cur.execute(
        "SELECT ts, mw FROM net_import WHERE region_id = %s AND source_id = %s AND ts >= %s AND ts < %s",
        (region_id, source_id, start, end))
    return dict(cur.fetchall())
