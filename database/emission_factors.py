"""Emission factors: which factor answers a region at a time (and why), changing a factor,
and recomputing the stored intensities a change affects."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import psycopg2.extensions

from database.readings import reevaluate

Cursor = psycopg2.extensions.cursor

FACTOR_SETS = ("lifecycle", "direct")
CHOICES = ("regional", "ipcc")  # regional overrides first, or the global (IPCC) set alone
# Storage has no factor of its own: its discharge takes the charging energy's intensity.
STORAGE_NOTE = ("discharge carries the region's intensity while charging: the charge-weighted mean over the "
                "24 h before the interval (time-weighted where no charging is reported); see database/intensity.py")


@dataclass(frozen=True)
class AnsweringFactor:
    fuel: str
    value: float | None
    scope: str  # region (an override for this region), global (the default set), storage
    source: str
    citation: str
    valid_from: datetime | None
    valid_to: datetime | None  # exclusive; None: until a newer figure is added


def factors_at(cur: Cursor, region_id: int, at: datetime, factor_set: str, choice: str = "regional") -> list[AnsweringFactor]:
    """One factor per fuel of the vocabulary: the one the intensity of `region_id` uses at `at`."""
    cur.execute(
        "SELECT f.name, f.storage, e.region_id IS NOT NULL, e.g_per_kwh, e.source, e.citation, e.valid_from, "
        "  lead(e.valid_from) OVER (PARTITION BY e.fuel_id, e.region_id ORDER BY e.valid_from) "
        "FROM fuel f LEFT JOIN emission_factor e ON e.fuel_id = f.id AND e.factor_set = %(set)s "
        "  AND (e.region_id IS NULL OR (e.region_id = %(region)s AND %(regional)s)) "
        "ORDER BY f.id, e.region_id NULLS LAST, e.valid_from",
        {"set": factor_set, "region": region_id, "regional": choice == "regional"},
    )
    by_fuel: dict[str, list[tuple]] = {}
    storage: dict[str, bool] = {}
    for fuel, is_storage, regional, value, source, citation, valid_from, next_from in cur.fetchall():
        storage[fuel] = is_storage
        if value is not None:
            by_fuel.setdefault(fuel, []).append((regional, value, source, citation, valid_from, next_from))
    return [_answering(fuel, storage[fuel], by_fuel.get(fuel, []), at) for fuel in storage]


def _answering(fuel: str, is_storage: bool, rows: list[tuple], at: datetime) -> AnsweringFactor:
    if is_storage:
        return AnsweringFactor(fuel, None, "storage", "charging intensity", STORAGE_NOTE, None, None)
    valid = [r for r in rows if r[4] <= at and (r[5] is None or at < r[5])]
    regional = [r for r in valid if r[0]]
    if regional:
        _, value, source, citation, valid_from, valid_to = regional[0]
        return AnsweringFactor(fuel, value, "region", source, citation, valid_from, valid_to)
    if not valid:
        return AnsweringFactor(fuel, None, "none", "", "no factor valid at this time", None, None)
    _, value, source, citation, valid_from, valid_to = valid[0]
    # The default answers until the region's own first figure starts, if that comes sooner.
    later = [r[4] for r in rows if r[0] and r[4] > at]
    if later and (valid_to is None or min(later) < valid_to):
        valid_to = min(later)
    return AnsweringFactor(fuel, value, "global", source, citation, valid_from, valid_to)


def set_factor(cur: Cursor, factor_set: str, fuel: str, region: str | None, valid_from: datetime,
               g_per_kwh: float, source: str, citation: str) -> int:
    """Add or change one factor (region None: the global default) and recompute every stored
    intensity it may change; returns the number of intervals recomputed."""
    if factor_set not in FACTOR_SETS:
        raise ValueError(f"factor set {factor_set!r} is not one of {', '.join(FACTOR_SETS)}")
    if g_per_kwh < 0:
        raise ValueError("an emission factor cannot be negative")
    cur.execute("SELECT id, storage FROM fuel WHERE name = %s", (fuel,))
    row = cur.fetchone()
    if row is None or row[1]:
        raise ValueError(f"{fuel!r} is not a fuel with a factor (storage takes its charging intensity)")
    fuel_id = row[0]
    region_id = None
    if region is not None:
        cur.execute("SELECT id FROM region WHERE code = %s", (region,))
        found = cur.fetchone()
        if found is None:
            raise ValueError(f"unknown region {region!r}")
        region_id = found[0]
    cur.execute(
        "INSERT INTO emission_factor (factor_set, fuel_id, region_id, valid_from, g_per_kwh, source, citation) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (factor_set, fuel_id, region_id, valid_from) DO UPDATE "
        "SET g_per_kwh = EXCLUDED.g_per_kwh, source = EXCLUDED.source, citation = EXCLUDED.citation",
        (factor_set, fuel_id, region_id, valid_from, g_per_kwh, source, citation),
    )
    # Intervals from valid_from on whose stored mix has the fuel. Discharge after them may
    # change too (its charging intensity); the 24 h after the last one are recomputed as well.
    return recompute_intensities(cur, region_id=region_id, since=valid_from)


def recompute_intensities(cur: Cursor, region_id: int | None = None, since: datetime | None = None) -> int:
    """Evaluate again and recompute carbon_intensity of every stored interval (of one region,
    from `since` on), one series and year at a time; returns the number of intervals written.
    Series of reported intensity (no readings) are left as they are."""
    cur.execute(
        "SELECT x.region_id, x.source_id, s.interval_minutes, "
        "  extract(year FROM greatest(x.first_ts, coalesce(%(since)s, x.first_ts)))::int, "
        "  extract(year FROM x.last_ts)::int FROM series x JOIN source s ON s.id = x.source_id "
        "WHERE (%(region)s::int2 IS NULL OR x.region_id = %(region)s) "
        "  AND (%(since)s::timestamptz IS NULL OR x.last_ts >= %(since)s) "
        "  AND NOT EXISTS (SELECT 1 FROM reported_intensity r WHERE r.region_id = x.region_id "
        "                  AND r.source_id = x.source_id) ORDER BY 1, 2",
        {"region": region_id, "since": since},
    )
    written = 0
    for series_region, source_id, interval_minutes, first_year, last_year in cur.fetchall():
        for year in range(first_year, last_year + 1):
            lower = pd.Timestamp(f"{year}-01-01", tz="UTC")
            if since is not None:
                lower = max(lower, pd.Timestamp(since))
            upper = pd.Timestamp(f"{year + 1}-01-01", tz="UTC") - pd.Timedelta(microseconds=1)
            span = pd.DataFrame({"region_id": [series_region], "lo": [lower], "hi": [upper]})
            written += len(reevaluate(cur, source_id, span, interval_minutes, around=False).intensity)
    return written
