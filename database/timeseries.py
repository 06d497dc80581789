"""Reads of stored series for the API: carbon intensity (native or aggregated in SQL) and the
energy mix, always for one region and one source over [start, end)."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import psycopg2.extensions

Cursor = psycopg2.extensions.cursor

INTENSITY_COLUMN = {"lifecycle": "lifecycle_g_per_kwh", "direct": "direct_g_per_kwh"}
# emission_factors=ipcc: the intensity under the global set alone (migration 0007)
IPCC_COLUMN = {"lifecycle": "ipcc_lifecycle_g_per_kwh", "direct": "ipcc_direct_g_per_kwh"}
RESOLUTIONS = ("native", "hour", "day")


@dataclass(frozen=True)
class IntensityPoint:
    ts: datetime
    minutes: int  # how much of the bucket the stored intervals cover
    carbon_intensity: float | None
    renewable_share: float | None
    low_carbon_share: float | None


def carbon_intensity(cur: Cursor, region_id: int, source_id: int, start: datetime, end: datetime,
                     factor_set: str, resolution: str, factors: str = "regional",
                     include_estimated: bool = True) -> list[IntensityPoint]:
    """Intensity points whose interval starts in [start, end), oldest first: the served
    intervals (complete or estimated; a missing one has no row), the estimated ones left out
    unless `include_estimated`.

    Aggregated buckets (hour, day; UTC) are time-weighted means of the intervals in them,
    which is what a constant load running through the bucket would see.
    """
    columns, rest, params = _intensity_query(region_id, source_id, start, end, factor_set, resolution, factors,
                                             include_estimated)
    cur.execute(f"SELECT {', '.join(columns)} {rest}", params)
    return [IntensityPoint(ts, minutes or 0, ci, renewable, low_carbon)
            for ts, minutes, ci, renewable, low_carbon in cur.fetchall()]


@dataclass(frozen=True)
class IntensitySeries:
    """The points of carbon_intensity() as numpy columns, read with a binary COPY: a week of
    5-minute data is 2,016 points, and a Python object per value was most of an answer's cost."""

    ts: np.ndarray  # int64 microseconds since 1970-01-01 UTC (interval or bucket start), oldest first
    minutes: np.ndarray  # int64, as IntensityPoint.minutes
    carbon_intensity: np.ndarray  # float64; meaningless where the matching *_known is False (NULL)
    renewable_share: np.ndarray
    low_carbon_share: np.ndarray
    carbon_intensity_known: np.ndarray  # bool: not NULL
    renewable_share_known: np.ndarray
    low_carbon_share_known: np.ndarray
    # bool: the point (for a bucket: one of its intervals) holds an estimate; None: not read
    estimated: np.ndarray | None = None
    # per point: its estimation methods, comma-separated (None when measured or unnamed)
    estimation_method: list[str | None] | None = None

    def __len__(self) -> int:
        return len(self.ts)

    def moment(self, index: int) -> datetime:
        """The start of point `index` as an aware UTC datetime."""
        return _UNIX_EPOCH + timedelta(microseconds=int(self.ts[index]))


def intensity_series(cur: Cursor, region_id: int, source_id: int, start: datetime, end: datetime,
                     factor_set: str, resolution: str, factors: str = "regional",
                     include_estimated: bool = True) -> IntensitySeries:
    """What carbon_intensity() answers (the same statement), as columns, with each point's
    estimated flag and methods."""
    (ts, minutes, ci, renewable, low_carbon), rest, params = _intensity_query(
        region_id, source_id, start, end, factor_set, resolution, factors, include_estimated)
    estimated = "bool_or(estimated)" if resolution != "native" else "estimated"
    # Fixed-width rows (no NULL on the wire: a bit mask says which values are NULL, and which
    # points are estimated), so the COPY body is one numpy record array.
    select = (f"SELECT {ts}, coalesce({minutes}, 0)::int8, coalesce({ci}, 0)::float8, "
              f"coalesce({renewable}, 0)::float8, coalesce({low_carbon}, 0)::float8, "
              f"(({ci}) IS NULL)::int4 + 2 * (({renewable}) IS NULL)::int4 + 4 * (({low_carbon}) IS NULL)::int4 "
              f"+ 8 * ({estimated})::int4 {rest}")
    body = io.BytesIO()
    cur.copy_expert(f"COPY ({cur.mogrify(select, params).decode()}) TO STDOUT WITH (FORMAT binary)", body)
    rows = _binary_copy_rows(body.getvalue(), (("ts", ">i8"), ("minutes", ">i8"), ("ci", ">f8"), ("renewable", ">f8"),
                                               ("low_carbon", ">f8"), ("nulls", ">i4")))
    nulls = rows["nulls"].astype(np.int64)
    ts_us = rows["ts"].astype(np.int64) + _POSTGRES_EPOCH_US
    flagged = (nulls & 8) != 0
    return IntensitySeries(
        ts=ts_us, minutes=rows["minutes"].astype(np.int64),
        carbon_intensity=rows["ci"].astype(np.float64), renewable_share=rows["renewable"].astype(np.float64),
        low_carbon_share=rows["low_carbon"].astype(np.float64), carbon_intensity_known=(nulls & 1) == 0,
        renewable_share_known=(nulls & 2) == 0, low_carbon_share_known=(nulls & 4) == 0, estimated=flagged,
        estimation_method=_methods(cur, region_id, source_id, start, end, resolution, ts_us, flagged))


def _methods(cur: Cursor, region_id: int, source_id: int, start: datetime, end: datetime, resolution: str,
             ts_us: np.ndarray, flagged: np.ndarray) -> list[str | None]:
    """Per point, the names of the estimation methods of its estimated intervals (read only
    when some point is estimated: most answers have none)."""
    methods: list[str | None] = [None] * len(ts_us)
    if not flagged.any():
        return methods
    bucket = "c.ts" if resolution == "native" else "date_trunc(%(unit)s, c.ts)"
    cur.execute(
        f"SELECT extract(epoch FROM {bucket})::float8, string_agg(DISTINCT m.name, ',' ORDER BY m.name) "
        "FROM carbon_intensity c JOIN estimation_method m ON m.id = c.estimation_method_id "
        "WHERE c.region_id = %(region)s AND c.source_id = %(source)s AND c.ts >= %(start)s AND c.ts < %(end)s "
        f"AND c.estimated GROUP BY {bucket}",
        {"region": region_id, "source": source_id, "start": start, "end": end, "unit": resolution})
    named = {round(epoch * 1e6): name for epoch, name in cur.fetchall()}
    for i in np.flatnonzero(flagged):
        methods[i] = named.get(int(ts_us[i]))
    return methods


def _intensity_query(region_id: int, source_id: int, start: datetime, end: datetime, factor_set: str,
                     resolution: str, factors: str = "regional",
                     include_estimated: bool = True) -> tuple[list[str], str, dict]:
    """The output expressions (start, minutes, intensity, renewable share, low-carbon share),
    the rest of the statement after them, and its parameters."""
    column = (IPCC_COLUMN if factors == "ipcc" else INTENSITY_COLUMN)[factor_set]
    params = {"region": region_id, "source": source_id, "start": start, "end": end}
    where = "WHERE region_id = %(region)s AND source_id = %(source)s AND ts >= %(start)s AND ts < %(end)s"
    if not include_estimated:
        where += " AND NOT estimated"
    if resolution == "native":
        return (["ts", "interval_minutes", column, "renewable_share", "low_carbon_share"],
                f"FROM carbon_intensity {where} ORDER BY ts", params)
    return ([
        "date_trunc(%(unit)s, ts) AS bucket",
        f"sum(interval_minutes) FILTER (WHERE {column} IS NOT NULL)",
        f"sum({column} * interval_minutes) / sum(interval_minutes) FILTER (WHERE {column} IS NOT NULL)",
        "sum(renewable_share * interval_minutes) / sum(interval_minutes) FILTER (WHERE renewable_share IS NOT NULL)",
        "sum(low_carbon_share * interval_minutes) / sum(interval_minutes) FILTER (WHERE low_carbon_share IS NOT NULL)",
    ], f"FROM carbon_intensity {where} GROUP BY bucket ORDER BY bucket", {**params, "unit": resolution})


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_POSTGRES_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00Z in microseconds since 1970
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _binary_copy_rows(body: bytes, layout: tuple[tuple[str, str], ...]) -> np.ndarray:
    """The rows of a binary COPY body whose fields are all non-NULL and of the given types."""
    if not body.startswith(_COPY_SIGNATURE) or len(body) < 21:
        raise ValueError("not a binary COPY body")
    offset = 19 + int.from_bytes(body[15:19], "big")  # signature, flags, header extension
    dtype = np.dtype([("fields", ">i2")] + [item for name, kind in layout
                                            for item in ((f"{name}__len", ">i4"), (name, kind))])
    count, remainder = divmod(len(body) - offset - 2, dtype.itemsize)
    rows = np.frombuffer(body, dtype, count=count, offset=offset)
    if (remainder or body[-2:] != b"\xff\xff" or (rows["fields"] != len(layout)).any()
            or any((rows[f"{name}__len"] != np.dtype(kind).itemsize).any() for name, kind in layout)):
        raise ValueError("unexpected binary COPY layout")
    return rows


def served_mix(cur: Cursor, region_id: int, source_id: int, start: datetime, end: datetime,
               include_estimated: bool = True) -> pd.DataFrame:
    """The served mix of each interval of one series in [start, end) (ts, fuel_id, mw,
    interval_minutes, method): its stored readings, with an estimate in place of (or beside)
    them where there is one (method: its name, else None), in the intervals carbon_intensity
    serves (complete or estimated: a missing interval, a partial mix, is not served).

    Three range scans on primary keys, joined here: a join in SQL is planned on the tables'
    statistics, which lag behind a bulk write by minutes, and a nested loop over a stale
    estimate of one row took seconds."""
    params = {"region": region_id, "source": source_id, "start": start, "end": end}
    where = "WHERE region_id = %(region)s AND source_id = %(source)s AND ts >= %(start)s AND ts < %(end)s"
    cur.execute(f"SELECT ts, estimated FROM carbon_intensity {where}", params)
    served = pd.DataFrame(cur.fetchall(), columns=["ts", "estimated"])
    if not include_estimated:
        served = served[~served["estimated"].astype(bool)]
    cur.execute(f"SELECT ts, fuel_id, mw, interval_minutes FROM generation_reading {where}", params)
    readings = pd.DataFrame(cur.fetchall(), columns=["ts", "fuel_id", "mw", "interval_minutes"]).assign(method=None)
    cur.execute("SELECT e.ts, e.fuel_id, e.mw, e.interval_minutes, m.name FROM estimated_reading e "
                "JOIN estimation_method m ON m.id = e.method_id "
                "WHERE e.region_id = %(region)s AND e.source_id = %(source)s AND e.ts >= %(start)s AND e.ts < %(end)s",
                params)
    estimates = pd.DataFrame(cur.fetchall(), columns=["ts", "fuel_id", "mw", "interval_minutes", "method"])
    if len(estimates):
        replaced = pd.MultiIndex.from_frame(readings[["ts", "fuel_id"]]).isin(
            pd.MultiIndex.from_frame(estimates[["ts", "fuel_id"]]))
        readings = pd.concat([readings[~replaced], estimates], ignore_index=True)
    mix = readings[readings["ts"].isin(set(served["ts"]))]
    return mix.sort_values(["ts", "fuel_id"], ignore_index=True)


def energy_mixture(cur: Cursor, region_id: int, source_id: int, start: datetime, end: datetime,
                   include_estimated: bool = True) -> list[tuple[datetime, str, float, str | None]]:
    """(interval start, fuel, MW, estimation method or None) of the served mix (served_mix) of
    every interval in [start, end), by time then fuel; the estimated intervals left out unless
    `include_estimated`."""
    mix = served_mix(cur, region_id, source_id, start, end, include_estimated)
    cur.execute("SELECT id, name FROM fuel")
    names = dict(cur.fetchall())
    return list(zip(mix["ts"], mix["fuel_id"].map(names), mix["mw"].astype(float),
                    mix["method"].where(mix["method"].notna(), None)))


def net_imports(cur: Cursor, region_id: int, source_id: int, start: datetime,
                end: datetime) -> dict[datetime, float]:
    cur.execute(
        "SELECT ts, mw FROM net_import WHERE region_id = %s AND source_id = %s AND ts >= %s AND ts < %s",
        (region_id, source_id, start, end))
    return dict(cur.fetchall())


def padded_bounds(cur: Cursor, region_id: int, source_id: int, start: datetime,
                  end: datetime) -> tuple[datetime, datetime] | None:
    """The closed window [start, end] widened to stored intervals: the last one starting at or
    before start (else the first), and the first one starting at or after end (else the last).
    None when the series has no interval at all. (The original service answered this window.)"""
    cur.execute(
        "SELECT coalesce((SELECT max(ts) FROM carbon_intensity WHERE region_id = %(r)s AND source_id = %(s)s "
        "                 AND ts <= %(start)s), "
        "                (SELECT min(ts) FROM carbon_intensity WHERE region_id = %(r)s AND source_id = %(s)s)), "
        "       coalesce((SELECT min(ts) FROM carbon_intensity WHERE region_id = %(r)s AND source_id = %(s)s "
        "                 AND ts >= %(end)s), "
        "                (SELECT max(ts) FROM carbon_intensity WHERE region_id = %(r)s AND source_id = %(s)s))",
        {"r": region_id, "s": source_id, "start": start, "end": end})
    low, high = cur.fetchone()
    return (low, high) if low is not None and high is not None else None


def stored_readings_between(cur: Cursor, region_id: int, source_id: int, start: datetime,
                            end: datetime) -> pd.DataFrame:
    """The served mix (served_mix) of one series in [start, end), as the intensity computation
    takes it (region_id, ts, fuel_id, mw, interval_minutes)."""
    mix = served_mix(cur, region_id, source_id, start, end)
    return pd.DataFrame({"region_id": region_id, "ts": pd.to_datetime(mix["ts"], utc=True),
                         "fuel_id": mix["fuel_id"], "mw": mix["mw"].astype(float),
                         "interval_minutes": mix["interval_minutes"]})


def hourly_fuel_mw(cur: Cursor, region_id: int, source_id: int, start: datetime, end: datetime) -> pd.DataFrame:
    """Mean MW per fuel in each UTC hour starting in [start, end), over the served intervals
    (served_mix's rule: stored readings, an estimate in place of a reading where there is one,
    only intervals carbon_intensity serves), time-weighted over the served minutes of the hour:
    a frame indexed by hour start, one column per fuel with any reading, 0 where a served hour
    has no reading of that fuel (a complete interval without it produced none). Storage fuels
    are included as stored, negative while charging. Aggregated in SQL: a year of 5-minute data
    is ~1 M readings, 8,760 rows here."""
    params = {"region": region_id, "source": source_id, "start": start, "end": end}
    where = "region_id = %(region)s AND source_id = %(source)s AND ts >= %(start)s AND ts < %(end)s"
    cur.execute(
        "WITH readings AS ("
        f"  SELECT g.ts, g.fuel_id, g.mw, g.interval_minutes FROM generation_reading g WHERE {where} "
        "   AND NOT EXISTS (SELECT 1 FROM estimated_reading e WHERE e.region_id = g.region_id "
        "                   AND e.source_id = g.source_id AND e.ts = g.ts AND e.fuel_id = g.fuel_id) "
        f"  UNION ALL SELECT ts, fuel_id, mw, interval_minutes FROM estimated_reading WHERE {where}) "
        "SELECT date_trunc('hour', r.ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', f.name, "
        "  sum(r.mw * r.interval_minutes) "
        "FROM readings r JOIN fuel f ON f.id = r.fuel_id "
        "WHERE EXISTS (SELECT 1 FROM carbon_intensity c WHERE c.region_id = %(region)s "
        "              AND c.source_id = %(source)s AND c.ts = r.ts) "
        "GROUP BY 1, 2", params)
    rows = pd.DataFrame(cur.fetchall(), columns=["hour", "fuel", "mw"])
    if rows.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="timestamp"), dtype="float64")
    cur.execute("SELECT date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(interval_minutes) "
                f"FROM carbon_intensity WHERE {where} GROUP BY 1", params)
    minutes = pd.DataFrame(cur.fetchall(), columns=["hour", "minutes"])
    minutes = pd.Series(minutes["minutes"].astype("float64").to_numpy(),
                        index=pd.to_datetime(minutes["hour"], utc=True))
    rows["hour"] = pd.to_datetime(rows["hour"], utc=True)
    frame = rows.pivot(index="hour", columns="fuel", values="mw").astype("float64").fillna(0.0).sort_index()
    frame = frame.div(minutes.reindex(frame.index), axis=0)
    frame.index.name, frame.columns.name = "timestamp", None
    return frame


@dataclass(frozen=True)
class NewestIntensity:
    """The newest interval with a value of one series (region, source)."""

    region_id: int
    source_id: int
    ts: datetime
    interval_minutes: int
    carbon_intensity: float
    estimated: bool


def newest_intensities(cur: Cursor, series: list[tuple[int, int]], factor_set: str,
                       before: datetime) -> dict[tuple[int, int], NewestIntensity]:
    """For each (region_id, source_id), its newest interval starting at or before `before` whose
    intensity under `factor_set` is known; a series with none is absent. One statement: each
    series is one backward step on carbon_intensity's primary key."""
    if not series:
        return {}
    column = INTENSITY_COLUMN[factor_set]
    cur.execute(
        "SELECT k.region_id, k.source_id, c.ts, c.interval_minutes, c.value, c.estimated "
        "FROM unnest(%(regions)s::smallint[], %(sources)s::smallint[]) AS k (region_id, source_id) "
        "CROSS JOIN LATERAL (SELECT ts, interval_minutes, " + column + " AS value, estimated "
        "                    FROM carbon_intensity WHERE region_id = k.region_id AND source_id = k.source_id "
        "                    AND ts <= %(before)s AND " + column + " IS NOT NULL ORDER BY ts DESC LIMIT 1) c",
        {"regions": [r for r, _ in series], "sources": [s for _, s in series], "before": before})
    return {(row[0], row[1]): NewestIntensity(*row) for row in cur.fetchall()}
