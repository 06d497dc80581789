"""Forecast inputs (migration 0016): weather forecasts per point and grid operators' own
forecasts, each row stored with the time it was issued, and the reads a forecasting model
uses. Every function runs in the caller's transaction.

The rule that keeps a forecast honest: `read_weather_features` and `read_operator_forecasts`
answer, for each target hour, with the value of the newest issue strictly before
`issued_before`; nothing issued at or after it can come back.

Writes skip a row whose values equal those of the newest issue of the same target at or
before it (a source re-fetched hourly often repeats its last forecast): the reads answer the
same with or without it. `thin_issues` (run by `python -m crawler prune`) keeps every issue
for a few days, then, per target, the newest issue in each 6-hour bin of issue time (00, 06,
12, 18 UTC): a read for T on such a boundary answers the same before and after thinning.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

import numpy as np
import pandas as pd
import psycopg2.extensions
from psycopg2.extras import execute_values

from database.copy import copy_frame
from database.reported import zone_regions

Cursor = psycopg2.extensions.cursor

WEATHER_VARIABLES = ("wind_speed_10m", "wind_speed_100m", "temperature_2m", "dew_point_2m",
                     "shortwave_radiation", "cloud_cover", "precipitation")
OPERATOR_KINDS = ("load", "wind", "solar")
OPERATOR_COLUMNS = {"load": "load_forecast_mw", "wind": "wind_forecast_mw", "solar": "solar_forecast_mw"}
# The region-level weather is a weighted mean over the region's points of one role per
# variable (the one place this rule lives); a region without a point of that role uses all.
VARIABLE_ROLES = {"wind_speed_10m": ("wind",), "wind_speed_100m": ("wind",), "temperature_2m": ("load",),
                  "dew_point_2m": ("load",), "shortwave_radiation": ("solar",), "cloud_cover": ("solar",),
                  "precipitation": ("wind", "solar", "load")}
# Operator forecasts by a source of this name (EIA-930's demand forecast for every balancing
# authority) are used only where the region's own operator publishes none of that kind.
FALLBACK_SOURCES = ("EIA_FORECAST",)
KEEP_EVERY_ISSUE = timedelta(days=3)
THIN_BIN = timedelta(hours=6)
HOUR = pd.Timedelta(hours=1)
# Operator forecasts are read on this grid of target times: hourly and quarter-hourly sources.
OPERATOR_GRID = pd.Timedelta(minutes=15)
_EPOCH = "2000-01-01 00:00+00"


@dataclass
class InputCounts:
    """Rows of a batch stored new, replacing a value of the same issue, or left (equal to the
    newest issue at or before theirs)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    by_region: dict[str, int] = field(default_factory=dict)


# -- weather points ------------------------------------------------------------------------

def sync_weather_points(cur: Cursor, points: Iterable) -> dict[str, int]:
    """Insert or refresh the points (energy_data.weather_points.WeatherPoint); point code -> id.
    A point whose region is no region of ours is a ValueError naming it."""
    points = list(points)
    regions = _region_ids(cur, sorted({p.region for p in points}))
    rows = [(p.point, regions[p.region], p.latitude, p.longitude, p.role, p.weight, p.reason) for p in points]
    execute_values(
        cur,
        "INSERT INTO weather_point (code, region_id, latitude, longitude, role, weight, reason) VALUES %s "
        "ON CONFLICT (code) DO UPDATE SET region_id = EXCLUDED.region_id, latitude = EXCLUDED.latitude, "
        "longitude = EXCLUDED.longitude, role = EXCLUDED.role, weight = EXCLUDED.weight, reason = EXCLUDED.reason "
        "WHERE (weather_point.region_id, weather_point.latitude, weather_point.longitude, weather_point.role, "
        "weather_point.weight, weather_point.reason) IS DISTINCT FROM (EXCLUDED.region_id, EXCLUDED.latitude, "
        "EXCLUDED.longitude, EXCLUDED.role, EXCLUDED.weight, EXCLUDED.reason)", rows)
    cur.execute("SELECT code, id FROM weather_point WHERE code = ANY(%s)", ([p.point for p in points],))
    return dict(cur.fetchall())


def _region_ids(cur: Cursor, codes: list[str]) -> dict[str, int]:
    cur.execute("SELECT code, id FROM region WHERE code = ANY(%s)", (codes,))
    found = dict(cur.fetchall())
    unknown = sorted(set(codes) - set(found))
    if unknown:
        raise ValueError(f"weather points name unknown regions: {', '.join(unknown)}")
    return found


# -- writes --------------------------------------------------------------------------------

def write_weather_forecasts(cur: Cursor, source_id: int, rows: pd.DataFrame) -> InputCounts:
    """Store weather rows (columns point, issued_at, timestamp and the WEATHER_VARIABLES; the
    points already synced). ValueError for an unknown point or a row without its issue time."""
    if rows.empty:
        return InputCounts()
    cur.execute("SELECT w.code, w.id, r.code FROM weather_point w JOIN region r ON r.id = w.region_id "
                "WHERE w.code = ANY(%s)", (sorted(rows["point"].unique()),))
    known = {code: (point_id, region) for code, point_id, region in cur.fetchall()}
    unknown = sorted(set(rows["point"]) - set(known))
    if unknown:
        raise ValueError(f"weather forecasts for unknown points: {', '.join(unknown)} (not in weather_point)")
    batch = pd.DataFrame({
        "point_id": rows["point"].map(lambda code: known[code][0]).astype("int16"),
        "source_id": source_id,
        "ts": _utc(rows["timestamp"], "timestamp"),
        "issued_at": _utc(rows["issued_at"], "issued_at"),
        **{v: pd.to_numeric(rows[v], errors="coerce").astype("float64") if v in rows else np.nan
           for v in WEATHER_VARIABLES},
    })
    batch = batch.drop_duplicates(subset=["point_id", "ts", "issued_at"], keep="last")
    cur.execute("CREATE TEMP TABLE batch_weather (point_id int2, source_id int2, ts timestamptz, "
                f"issued_at timestamptz, {', '.join(v + ' float8' for v in WEATHER_VARIABLES)}) ON COMMIT DROP")
    copy_frame(cur, "batch_weather", batch, {"point_id": "int2", "source_id": "int2", "ts": "timestamptz",
                                             "issued_at": "timestamptz", **{v: "float8" for v in WEATHER_VARIABLES}})
    values = ", ".join(WEATHER_VARIABLES)
    new = ", ".join(f"b.{v}::real" for v in WEATHER_VARIABLES)
    cur.execute(
        f"INSERT INTO weather_forecast (point_id, source_id, ts, issued_at, {values}) "
        f"SELECT b.point_id, b.source_id, b.ts, b.issued_at, {new} FROM batch_weather b "
        "LEFT JOIN LATERAL (SELECT * FROM weather_forecast s WHERE s.point_id = b.point_id "
        "AND s.source_id = b.source_id AND s.ts = b.ts AND s.issued_at <= b.issued_at "
        "ORDER BY s.issued_at DESC LIMIT 1) p ON true "
        f"WHERE ({new}) IS DISTINCT FROM ({', '.join('p.' + v for v in WEATHER_VARIABLES)}) "
        "ON CONFLICT (point_id, source_id, ts, issued_at) DO UPDATE SET "
        + ", ".join(f"{v} = EXCLUDED.{v}" for v in WEATHER_VARIABLES)
        + " RETURNING point_id, ts, issued_at, (xmax = 0)")
    written = cur.fetchall()
    cur.execute("DROP TABLE batch_weather")
    regions = {point_id: region for point_id, region in known.values()}
    _add_to_series(cur, source_id, "weather", [(regions[r[0]], r[1], r[2], r[3]) for r in written])
    return _counts(written, len(batch), batch["point_id"].map(regions))


def write_operator_forecasts(cur: Cursor, source_id: int, rows: pd.DataFrame) -> InputCounts:
    """Store operator forecasts (columns region, issued_at, timestamp, kind, mw; region a
    region code or alias). ValueError for an unknown kind, region or a missing issue time."""
    if rows.empty:
        return InputCounts()
    kinds = set(rows["kind"])
    if not kinds <= set(OPERATOR_KINDS):
        raise ValueError(f"operator forecast kinds outside {OPERATOR_KINDS}: {sorted(map(str, kinds))}")
    regions = zone_regions(cur, sorted(rows["region"].unique()))
    batch = pd.DataFrame({
        "region_id": rows["region"].map(lambda z: regions[z][0]).astype("int16"),
        "source_id": source_id,
        "kind": rows["kind"].map({k: i + 1 for i, k in enumerate(OPERATOR_KINDS)}).astype("int16"),
        "ts": _utc(rows["timestamp"], "timestamp"),
        "issued_at": _utc(rows["issued_at"], "issued_at"),
        "mw": pd.to_numeric(rows["mw"], errors="coerce").astype("float64"),
    })
    batch = batch[np.isfinite(batch["mw"])].drop_duplicates(subset=["region_id", "kind", "ts", "issued_at"],
                                                             keep="last")
    cur.execute("CREATE TEMP TABLE batch_operator (region_id int2, source_id int2, kind int2, ts timestamptz, "
                "issued_at timestamptz, mw float8) ON COMMIT DROP")
    copy_frame(cur, "batch_operator", batch, {"region_id": "int2", "source_id": "int2", "kind": "int2",
                                              "ts": "timestamptz", "issued_at": "timestamptz", "mw": "float8"})
    cur.execute(
        "INSERT INTO operator_forecast (region_id, source_id, kind, ts, issued_at, mw) "
        "SELECT b.region_id, b.source_id, k.kind, b.ts, b.issued_at, b.mw FROM batch_operator b "
        "JOIN (SELECT ordinality::int2 AS code, kind FROM unnest(%s::text[]) WITH ORDINALITY AS u (kind)) k "
        "ON k.code = b.kind "
        "LEFT JOIN LATERAL (SELECT s.mw FROM operator_forecast s WHERE s.region_id = b.region_id "
        "AND s.source_id = b.source_id AND s.kind = k.kind AND s.ts = b.ts AND s.issued_at <= b.issued_at "
        "ORDER BY s.issued_at DESC LIMIT 1) p ON true "
        "WHERE b.mw IS DISTINCT FROM p.mw "
        "ON CONFLICT (region_id, source_id, kind, ts, issued_at) DO UPDATE SET mw = EXCLUDED.mw "
        "RETURNING region_id, kind, ts, issued_at, (xmax = 0)", (list(OPERATOR_KINDS),))
    written = cur.fetchall()
    cur.execute("DROP TABLE batch_operator")
    codes = {region_id: code for region_id, code in regions.values()}
    for kind in OPERATOR_KINDS:
        _add_to_series(cur, source_id, kind, [(codes[r[0]], r[2], r[3], r[4]) for r in written if r[1] == kind])
    return _counts([(r[0], r[2], r[3], r[4]) for r in written], len(batch), batch["region_id"].map(codes))


def _utc(values: pd.Series, what: str) -> pd.Series:
    stamps = pd.to_datetime(values)
    if stamps.dt.tz is None:
        raise ValueError(f"forecast inputs with naive {what} values: every {what} must be UTC-aware")
    if stamps.isna().any():
        raise ValueError(f"forecast inputs without {what}: {int(stamps.isna().sum())} rows")
    return stamps.dt.tz_convert("UTC")


def _counts(written: list[tuple], total: int, regions: pd.Series) -> InputCounts:
    inserted = sum(1 for row in written if row[-1])
    return InputCounts(inserted, len(written) - inserted, total - len(written),
                       {str(k): int(v) for k, v in regions.value_counts().sort_index().items()})


def _add_to_series(cur: Cursor, source_id: int, kind: str, written: list[tuple]) -> None:
    """Fold rows written (region code, ts, issued_at, inserted?) into input_series."""
    if not written:
        return
    frame = pd.DataFrame(written, columns=["region", "ts", "issued_at", "inserted"])
    summary = frame.groupby("region").agg(first=("ts", "min"), last=("ts", "max"), newest=("issued_at", "max"),
                                          rows=("inserted", "sum"))
    execute_values(
        cur,
        "INSERT INTO input_series (source_id, region_id, kind, first_ts, last_ts, newest_issued_at, row_count) "
        "SELECT %s, r.id, %s, v.first::timestamptz, v.last::timestamptz, v.newest::timestamptz, v.rows::bigint "
        "FROM (VALUES %%s) AS v (region, first, last, newest, rows) JOIN region r ON r.code = v.region "
        "ON CONFLICT (source_id, region_id, kind) DO UPDATE SET "
        "first_ts = least(input_series.first_ts, EXCLUDED.first_ts), "
        "last_ts = greatest(input_series.last_ts, EXCLUDED.last_ts), "
        "newest_issued_at = greatest(input_series.newest_issued_at, EXCLUDED.newest_issued_at), "
        "row_count = input_series.row_count + EXCLUDED.row_count"
        % (int(source_id), _literal(kind)),
        [(region, row.first.to_pydatetime(), row.last.to_pydatetime(), row.newest.to_pydatetime(), int(row.rows))
         for region, row in summary.iterrows()])


def _literal(text: str) -> str:
    assert text.isalpha()  # one of the fixed kinds: safe to inline
    return f"'{text}'"


# -- reads ---------------------------------------------------------------------------------

def read_weather_features(cur: Cursor, region: str, issued_before: datetime, start: datetime,
                          end: datetime, lead: timedelta | None = None) -> pd.DataFrame:
    """Region-level weather for the hours starting in [start, end): a frame indexed by the
    hourly UTC target times, one column per WEATHER_VARIABLES with any value (a variable no
    point has is absent; an hour no issue covers is NaN). Each point's value for a target hour
    is that of its newest issue with issued_at < issued_before; the region's value is the
    weighted mean over the points of the variable's role (VARIABLE_ROLES), weights renormalised
    over the points that have a value. With `lead`, each target hour T only sees issues before
    T - lead too (training histories: what was known `lead` ahead of each hour). attrs:
    `issued_at` (newest issue used, or None), `oldest_issued_at`, `points` (point codes used)."""
    _check_times(issued_before, start, end)
    hours = _hours(start, end)
    frame = pd.DataFrame(index=hours)
    frame.attrs = {"issued_at": None, "oldest_issued_at": None, "points": []}
    if hours.empty:
        return frame
    # One index probe per point and hour (weather rows are hourly): the newest issue before T.
    # Every column comes back as a number (times in epoch microseconds), so that the rows
    # convert as one array: as Python objects they cost more than the query.
    cur.execute(
        f"SELECT p.id, p.weight, (extract(epoch FROM h.ts) * 1000000)::bigint, "
        f"(extract(epoch FROM w.issued_at) * 1000000)::bigint, {', '.join('w.' + v for v in WEATHER_VARIABLES)} "
        "FROM weather_point p JOIN region r ON r.id = p.region_id "
        "CROSS JOIN generate_series(%(first)s::timestamptz, %(last)s::timestamptz, '1 hour') AS h (ts) "
        "JOIN LATERAL (SELECT * FROM weather_forecast w WHERE w.point_id = p.id AND w.ts = h.ts "
        "AND w.issued_at < least(%(before)s, h.ts - %(lead)s::interval) ORDER BY w.issued_at DESC LIMIT 1) w ON true "
        "WHERE r.code = upper(%(region)s)",
        {"region": region, "first": hours[0].to_pydatetime(), "last": hours[-1].to_pydatetime(),
         "before": issued_before, "lead": _lead(lead)})
    rows = np.array(cur.fetchall(), dtype=float).reshape(-1, 4 + len(WEATHER_VARIABLES))
    if not len(rows):
        return frame
    ids, row_point = np.unique(rows[:, 0].astype(int), return_inverse=True)
    cur.execute("SELECT id, code, role FROM weather_point WHERE id = ANY(%s)", (ids.tolist(),))
    points = {point_id: (code, role) for point_id, code, role in cur.fetchall()}
    used = [points[point_id] for point_id in ids.tolist()]
    role = np.array([r for _, r in used])[row_point]
    weight, issued = rows[:, 1], rows[:, 3]
    at = ((rows[:, 2] - hours[0].value // 1000) // 3_600_000_000).astype(int)
    roles = {r for _, r in used}
    for k, variable in enumerate(WEATHER_VARIABLES):
        wanted = [r for r in VARIABLE_ROLES[variable] if r in roles] or sorted(roles)
        values = rows[:, 4 + k]
        known = np.isin(role, wanted) & np.isfinite(values)
        if not known.any():
            continue
        sums = np.bincount(at[known], weights=values[known] * weight[known], minlength=len(hours))
        totals = np.bincount(at[known], weights=weight[known], minlength=len(hours))
        frame[variable] = np.where(totals > 0, sums, np.nan) / np.where(totals > 0, totals, 1.0)
    frame.attrs = {"issued_at": _from_microseconds(issued.max()), "oldest_issued_at": _from_microseconds(issued.min()),
                   "points": sorted(code for code, _ in used)}
    return frame


def _from_microseconds(value: float) -> datetime:
    return pd.Timestamp(int(value), unit="us", tz="UTC").to_pydatetime()


def read_operator_forecasts(cur: Cursor, region: str, issued_before: datetime, start: datetime,
                            end: datetime, lead: timedelta | None = None) -> pd.DataFrame:
    """Operator forecasts for the hours starting in [start, end): a frame indexed by the hourly
    UTC target times with columns load_forecast_mw, wind_forecast_mw, solar_forecast_mw (a kind
    no source has is absent). Per source, kind and target interval (targets on a 15-minute
    grid), the value of the newest issue with issued_at < issued_before; sub-hourly intervals
    are averaged into their hour; with `lead`, also issued before the target minus `lead`.
    Per kind one source is used: the region's own operator before FALLBACK_SOURCES, then the
    one covering most hours, then by name. attrs: `sources` {kind: source name},
    `issued_at` {kind: newest issue used}."""
    _check_times(issued_before, start, end)
    hours = _hours(start, end)
    frame = pd.DataFrame(index=hours)
    frame.attrs = {"sources": {}, "issued_at": {}}
    if hours.empty:
        return frame
    # One index probe per source, kind and quarter-hour target (the finest interval of the
    # sources: ENTSO-E's): the newest issue before T; input_series says which sources exist.
    first = pd.Timestamp(start).tz_convert("UTC").ceil(OPERATOR_GRID)
    cur.execute(
        "SELECT s.name, i.kind, o.ts, o.issued_at, o.mw FROM input_series i "
        "JOIN region r ON r.id = i.region_id JOIN source s ON s.id = i.source_id "
        "CROSS JOIN generate_series(%(first)s::timestamptz, %(end)s::timestamptz - interval '1 microsecond', "
        "%(grid)s::interval) AS g (ts) "
        "JOIN LATERAL (SELECT o.ts, o.issued_at, o.mw FROM operator_forecast o WHERE o.region_id = i.region_id "
        "AND o.kind = i.kind AND o.source_id = i.source_id AND o.ts = g.ts "
        "AND o.issued_at < least(%(before)s, g.ts - %(lead)s::interval) "
        "ORDER BY o.issued_at DESC LIMIT 1) o ON true "
        "WHERE r.code = upper(%(region)s) AND i.kind <> 'weather' AND g.ts BETWEEN i.first_ts AND i.last_ts",
        {"region": region, "first": first.to_pydatetime(), "end": end, "grid": OPERATOR_GRID.to_pytimedelta(),
         "before": issued_before, "lead": _lead(lead)})
    rows = pd.DataFrame(cur.fetchall(), columns=["source", "kind", "ts", "issued_at", "mw"])
    if rows.empty:
        return frame
    rows["hour"] = pd.to_datetime(rows["ts"], utc=True).dt.floor("h").astype(hours.dtype)
    rows["issued_at"] = pd.to_datetime(rows["issued_at"], utc=True)
    for kind in OPERATOR_KINDS:
        of_kind = rows[rows["kind"] == kind]
        if of_kind.empty:
            continue
        coverage = of_kind.groupby("source")["hour"].nunique()
        chosen = min(coverage.index, key=lambda s: (s in FALLBACK_SOURCES, -coverage[s], s))
        used = of_kind[of_kind["source"] == chosen]
        frame[OPERATOR_COLUMNS[kind]] = used.groupby("hour")["mw"].mean().reindex(hours)
        frame.attrs["sources"][kind] = chosen
        frame.attrs["issued_at"][kind] = used["issued_at"].max().to_pydatetime()
    return frame


def _lead(lead: timedelta | None) -> timedelta | None:
    """The lead as a query parameter: None (SQL NULL, which least() ignores) for no lead."""
    if lead is not None and lead < timedelta(0):
        raise ValueError("lead must not be negative")
    return lead


def _check_times(issued_before: datetime, start: datetime, end: datetime) -> None:
    for name, moment in (("issued_before", issued_before), ("start", start), ("end", end)):
        if moment.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware (UTC)")
    if end <= start:
        raise ValueError("end must be after start")


def _hours(start: datetime, end: datetime) -> pd.DatetimeIndex:
    first = pd.Timestamp(start).tz_convert("UTC").ceil("h")
    hours = pd.date_range(first, pd.Timestamp(end).tz_convert("UTC"), freq="h", inclusive="left")
    return hours.astype("datetime64[ns, UTC]").rename("timestamp")


# -- status and pruning --------------------------------------------------------------------

def thin_issues(cur: Cursor, now: datetime, keep_every: timedelta = KEEP_EVERY_ISSUE) -> dict[str, int]:
    """Past `keep_every`, keep per target only the newest issue of each 6-hour bin of issue
    time; each table is thinned from where the last call stopped. Rows deleted per table."""
    cutoff = _bin_start(now - keep_every)
    deleted = {}
    for table, key, kind in (("weather_forecast", ("point_id", "source_id", "ts"), None),
                             ("operator_forecast", ("region_id", "source_id", "kind", "ts"), "kind")):
        cur.execute("SELECT thinned_before FROM input_thinning WHERE table_name = %s", (table,))
        row = cur.fetchone()
        since = row[0] - THIN_BIN if row else datetime(1900, 1, 1, tzinfo=cutoff.tzinfo)
        if since >= cutoff:
            deleted[table] = 0
            continue
        deleted[table] = _thin(cur, table, key, kind, since, cutoff)
        cur.execute("INSERT INTO input_thinning (table_name, thinned_before) VALUES (%s, %s) "
                    "ON CONFLICT (table_name) DO UPDATE SET thinned_before = greatest(input_thinning.thinned_before, "
                    "EXCLUDED.thinned_before)", (table, cutoff))
    return deleted


def _thin(cur: Cursor, table: str, key: tuple[str, ...], kind: str | None, since: datetime, cutoff: datetime) -> int:
    """Delete the issues of [since, cutoff) that a newer issue of the same bin and target
    follows, and take them off input_series."""
    keys = ", ".join(key)
    joined = " AND ".join(f"t.{k} = d.{k}" for k in key)
    region = "t.region_id" if kind else "(SELECT region_id FROM weather_point WHERE id = t.point_id)"
    cur.execute(
        f"WITH ranked AS (SELECT {keys}, issued_at, row_number() OVER (PARTITION BY {keys}, "
        f"date_bin(%(bin)s, issued_at, %(epoch)s) ORDER BY issued_at DESC) AS n FROM {table} "
        "WHERE issued_at >= %(since)s AND issued_at < %(cutoff)s), "
        f"gone AS (DELETE FROM {table} t USING ranked d WHERE d.n > 1 AND {joined} AND t.issued_at = d.issued_at "
        f"RETURNING t.source_id, {region} AS region_id, {('t.' + kind) if kind else _literal('weather')} AS kind) "
        "SELECT source_id, region_id, kind, count(*) FROM gone GROUP BY source_id, region_id, kind",
        {"bin": THIN_BIN, "epoch": _EPOCH, "since": since, "cutoff": cutoff})
    removed = cur.fetchall()
    for source_id, region_id, kind_name, count in removed:
        cur.execute("UPDATE input_series SET row_count = greatest(row_count - %s, 0) "
                    "WHERE source_id = %s AND region_id = %s AND kind = %s", (count, source_id, region_id, kind_name))
    return sum(row[3] for row in removed)


def _bin_start(moment: datetime) -> datetime:
    stamp = pd.Timestamp(moment).tz_convert("UTC")
    return stamp.floor(f"{int(THIN_BIN.total_seconds() // 3600)}h").to_pydatetime()


@dataclass(frozen=True)
class InputSeries:
    source: str
    region: str
    kind: str  # weather | load | wind | solar
    first_ts: datetime
    last_ts: datetime
    newest_issued_at: datetime
    rows: int


def input_series(cur: Cursor, region: str | None = None) -> list[InputSeries]:
    """What is stored per source, region and kind, newest issue first."""
    cur.execute(
        "SELECT s.name, r.code, i.kind, i.first_ts, i.last_ts, i.newest_issued_at, i.row_count FROM input_series i "
        "JOIN source s ON s.id = i.source_id JOIN region r ON r.id = i.region_id "
        "WHERE %(region)s::text IS NULL OR r.code = upper(%(region)s) "
        "ORDER BY i.newest_issued_at DESC, s.name, r.code, i.kind", {"region": region})
    return [InputSeries(*row) for row in cur.fetchall()]
