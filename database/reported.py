"""The write path of intensity that arrives as intensity (Electricity Maps exports): stored as
reported in reported_intensity and materialised into carbon_intensity in the caller's
transaction, so that the API's read path (carbon_intensity, series) serves it unchanged.

Idempotent: importing the same rows again changes nothing and says so; a changed value
replaces the stored one (last write wins) and is counted as updated.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import psycopg2.extensions

from database.copy import copy_frame

Cursor = psycopg2.extensions.cursor

_BATCH_TYPES = {"region_id": "int2", "source_id": "int2", "ts": "timestamptz", "interval_minutes": "int2",
                "lifecycle_g_per_kwh": "float8", "direct_g_per_kwh": "float8", "renewable_share": "float8",
                "low_carbon_share": "float8", "estimated": "int2", "method": "int2"}
_VALUES = ("interval_minutes", "lifecycle_g_per_kwh", "direct_g_per_kwh", "renewable_share", "low_carbon_share",
           "estimated", "estimation_method")


class UnknownZone(ValueError):
    """A zone key that no region or alias names; the message lists them."""


@dataclass
class ReportedCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    by_region: dict[str, int] | None = None  # rows of the batch per region code


def zone_regions(cur: Cursor, zones: list[str]) -> dict[str, tuple[int, str]]:
    """zone key -> (region id, code), through region codes and aliases (any case);
    UnknownZone naming every zone that matches neither."""
    cur.execute(
        "SELECT z.zone, coalesce(r.id, a.region_id), coalesce(r.code, ar.code) "
        "FROM unnest(%s::text[]) AS z (zone) "
        "LEFT JOIN region r ON r.code = upper(z.zone) "
        "LEFT JOIN region_alias a ON a.alias = upper(z.zone) "
        "LEFT JOIN region ar ON ar.id = a.region_id",
        (list(zones),))
    found = {zone: (region_id, code) for zone, region_id, code in cur.fetchall() if region_id is not None}
    unknown = sorted(set(zones) - set(found))
    if unknown:
        raise UnknownZone(f"unknown zone {', '.join(unknown)}: no region or alias of that name (GET /regions/ lists "
                          "them); nothing was imported")
    return found


def ensure_zone_regions(cur: Cursor, zones: list[str], names: dict[str, str]) -> list[str]:
    """Make every zone that no region or alias names a region of its own (code = zone key,
    name from `names` else the key; time zone UTC, for presentation only). Returns the new codes."""
    cur.execute(
        "INSERT INTO region (code, name, time_zone) "
        "SELECT upper(z.zone), coalesce(z.name, upper(z.zone)), 'UTC' "
        "FROM unnest(%s::text[], %s::text[]) AS z (zone, name) "
        "WHERE NOT EXISTS (SELECT 1 FROM region r WHERE r.code = upper(z.zone)) "
        "AND NOT EXISTS (SELECT 1 FROM region_alias a WHERE a.alias = upper(z.zone)) "
        "ON CONFLICT (code) DO NOTHING RETURNING code",
        (list(zones), [names.get(z) for z in zones]))
    return sorted(row[0] for row in cur.fetchall())


def is_reported(cur: Cursor, region_id: int, source_id: int) -> bool:
    """Whether the series holds intensities reported as such (they carry only their provider's
    own factors: no IPCC variant)."""
    cur.execute("SELECT EXISTS (SELECT 1 FROM reported_intensity WHERE region_id = %s AND source_id = %s)",
                (region_id, source_id))
    return cur.fetchone()[0]


def source_id(cur: Cursor, name: str) -> int:
    cur.execute("SELECT id FROM source WHERE name = %s", (name,))
    row = cur.fetchone()
    if row is None:
        raise LookupError(f"source {name} is not in the source table: run the migrations")
    return row[0]


def write_reported_intensity(cur: Cursor, source: int, rows: pd.DataFrame, interval_minutes: int,
                             partial: bool = False) -> ReportedCounts:
    """Upsert rows (columns zone, timestamp, lifecycle_g_per_kwh, direct_g_per_kwh, renewable_share,
    low_carbon_share, estimated, estimation_method; unique per zone and timestamp), materialise
    the touched intervals into carbon_intensity and refresh the series table.

    `partial`: a missing value (NaN) means "not in this body" and keeps the stored one, as the
    crawler's bodies carry lifecycle, direct and shares apart; otherwise it blanks it (an
    export's empty cell)."""
    if rows.empty:
        return ReportedCounts(by_region={})
    regions = zone_regions(cur, sorted(rows["zone"].unique()))
    methods = sorted({m for m in rows["estimation_method"] if isinstance(m, str)})
    batch = pd.DataFrame({
        "region_id": rows["zone"].map(lambda z: regions[z][0]).astype("int16"),
        "source_id": source,
        "ts": pd.to_datetime(rows["timestamp"], utc=True),
        "interval_minutes": interval_minutes,
        "lifecycle_g_per_kwh": rows["lifecycle_g_per_kwh"].astype("float64"),
        "direct_g_per_kwh": rows["direct_g_per_kwh"].astype("float64"),
        "renewable_share": rows["renewable_share"].astype("float64"),
        "low_carbon_share": rows["low_carbon_share"].astype("float64"),
        "estimated": rows["estimated"].astype("float64"),  # NaN: not said (partial rows)
        "method": rows["estimation_method"].map({m: i + 1 for i, m in enumerate(methods)}).astype("float64"),
    })
    if batch.duplicated(subset=["region_id", "ts"]).any():
        raise ValueError("two zones of the batch name the same region at the same time; import them apart")
    cur.execute("CREATE TEMP TABLE batch_reported (region_id int2, source_id int2, ts timestamptz, "
                "interval_minutes int2, lifecycle_g_per_kwh float8, direct_g_per_kwh float8, renewable_share float8, "
                "low_carbon_share float8, estimated int2, method int2) ON COMMIT DROP")
    copy_frame(cur, "batch_reported", batch, _BATCH_TYPES)
    counts = _upsert(cur, methods, len(batch), partial)
    if counts.inserted or counts.updated:  # an unchanged re-import leaves series.updated_at (and forecasts) alone
        _materialise(cur)
        _refresh_series(cur, source, sorted(int(r) for r in batch["region_id"].unique()))
    cur.execute("DROP TABLE batch_reported")
    codes = {region_id: code for region_id, code in regions.values()}
    counts.by_region = {codes[int(r)]: int(n) for r, n in batch.groupby("region_id").size().items()}
    return counts


def _upsert(cur: Cursor, methods: list[str], total: int, partial: bool) -> ReportedCounts:
    columns = ", ".join(_VALUES)
    if partial:  # each value the batch lacks is the stored one
        select = ("b.interval_minutes, " + ", ".join(f"coalesce(b.{c}, s.{c})" for c in _VALUES[1:5])
                  + ", coalesce(b.estimated <> 0, s.estimated, false), CASE WHEN b.estimated IS NULL "
                  "THEN s.estimation_method ELSE (%(methods)s::text[])[b.method] END "
                  "FROM batch_reported b LEFT JOIN reported_intensity s USING (region_id, source_id, ts)")
    else:
        select = ("interval_minutes, lifecycle_g_per_kwh, direct_g_per_kwh, renewable_share, low_carbon_share, "
                  "estimated <> 0, (%(methods)s::text[])[method] FROM batch_reported b")
    cur.execute(
        f"INSERT INTO reported_intensity (region_id, source_id, ts, {columns}) "
        f"SELECT b.region_id, b.source_id, b.ts, {select} "
        "ON CONFLICT (region_id, source_id, ts) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in _VALUES)
        + f" WHERE ({', '.join('reported_intensity.' + c for c in _VALUES)}) "
          f"IS DISTINCT FROM ({', '.join('EXCLUDED.' + c for c in _VALUES)}) "
          "RETURNING (xmax = 0)",  # xmax is 0 on a freshly inserted row version
        {"methods": methods})
    written = [row[0] for row in cur.fetchall()]
    inserted = sum(written)
    return ReportedCounts(inserted, len(written) - inserted, total - len(written))


def rematerialise(cur: Cursor) -> int:
    """Write every stored reported intensity into carbon_intensity again (after carbon_intensity
    was rebuilt from readings, say) and refresh the series rows; returns rows written or changed."""
    written = _materialise(cur, batch=False)
    cur.execute("SELECT DISTINCT source_id, region_id FROM reported_intensity")
    by_source: dict[int, list[int]] = {}
    for source, region in cur.fetchall():
        by_source.setdefault(source, []).append(region)
    for source, regions in by_source.items():
        _refresh_series(cur, source, sorted(regions))
    return written


def _materialise(cur: Cursor, batch: bool = True) -> int:
    """carbon_intensity of the batch's intervals (or of every reported one), from what is now
    stored (total_mw NULL: reported, not computed from a mix)."""
    values = ("interval_minutes", "lifecycle_g_per_kwh", "direct_g_per_kwh", "renewable_share", "low_carbon_share",
              "total_mw", "estimated", "estimation_method_id")
    # The provider's estimation methods are named in estimation_method (ids for carbon_intensity).
    cur.execute("INSERT INTO estimation_method (name) SELECT DISTINCT r.estimation_method FROM reported_intensity r "
                + ("JOIN batch_reported b USING (region_id, source_id, ts) " if batch else "")
                + "WHERE r.estimated AND r.estimation_method IS NOT NULL ON CONFLICT (name) DO NOTHING")
    cur.execute(
        f"INSERT INTO carbon_intensity (region_id, source_id, ts, {', '.join(values)}) "
        "SELECT r.region_id, r.source_id, r.ts, r.interval_minutes, r.lifecycle_g_per_kwh, r.direct_g_per_kwh, "
        "r.renewable_share, r.low_carbon_share, NULL, r.estimated, CASE WHEN r.estimated THEN m.id END "
        "FROM reported_intensity r LEFT JOIN estimation_method m ON m.name = r.estimation_method "
        + ("JOIN batch_reported b USING (region_id, source_id, ts) " if batch else "")
        + "ON CONFLICT (region_id, source_id, ts) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in values)
        + f" WHERE ({', '.join('carbon_intensity.' + c for c in values)}) "
          f"IS DISTINCT FROM ({', '.join('EXCLUDED.' + c for c in values)})")
    return cur.rowcount


def _refresh_series(cur: Cursor, source: int, region_ids: list[int]) -> None:
    """The series rows of these regions, counted exactly from carbon_intensity."""
    cur.execute(
        "INSERT INTO series (region_id, source_id, first_ts, last_ts, row_count) "
        "SELECT region_id, source_id, min(ts), max(ts), count(*) FROM carbon_intensity "
        "WHERE source_id = %s AND region_id = ANY(%s) GROUP BY region_id, source_id "
        "ON CONFLICT (region_id, source_id) DO UPDATE SET first_ts = EXCLUDED.first_ts, "
        "last_ts = EXCLUDED.last_ts, row_count = EXCLUDED.row_count, updated_at = now()",
        (source, region_ids))
