"""The write path: generation readings and net imports in, carbon intensity recomputed.

Everything here runs inside the caller's transaction, so one source's writes commit or
roll back together. Revisions replace stored values (last write wins) and are counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import psycopg2
import psycopg2.extensions

from database.copy import copy_frame
from database.dimensions import fuel_ids, region_ids
from database.intensity import compute_intensity

Cursor = psycopg2.extensions.cursor

COLUMN_TYPES = {"ts": "timestamptz", "mw": "float8", "region_id": "int2", "source_id": "int2",
                "fuel_id": "int2", "interval_minutes": "int2", "lifecycle_g_per_kwh": "float8",
                "direct_g_per_kwh": "float8", "renewable_share": "float8", "low_carbon_share": "float8",
                "total_mw": "float8", "ipcc_lifecycle_g_per_kwh": "float8", "ipcc_direct_g_per_kwh": "float8"}
KEY = ("region_id", "source_id", "ts", "fuel_id")
# Serialises partition creation between concurrent writers.
_PARTITION_LOCK_KEY = 0x656E7074  # "enpt"


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    intensities: int = 0
    inserted_by_region: dict[int, int] = field(default_factory=dict)


def write_readings(cur: Cursor, source_id: int, readings: pd.DataFrame, interval_minutes: int) -> WriteCounts:
    """Upsert readings (columns region, timestamp, fuel, mw; unique per region/time/fuel),
    recompute the intensity of every touched interval and keep the series table current."""
    if readings.empty:
        return WriteCounts()
    rows = _to_rows(cur, source_id, readings, interval_minutes)
    ensure_partitions(cur, _years(rows["ts"]))
    if _disjoint_from_stored(cur, source_id, rows) and copy_new(cur, "generation_reading", rows):
        counts = WriteCounts(inserted=len(rows),
                             inserted_by_region=rows.groupby("region_id").size().to_dict())
        intervals = rows  # nothing else was stored in these intervals
    else:
        counts = _upsert(cur, rows)
        intervals = stored_readings(cur, source_id, rows)
    counts.intensities = recompute_intensity(cur, source_id, intervals)
    _update_series(cur, source_id, rows, counts.inserted_by_region)
    return counts


def write_net_imports(cur: Cursor, source_id: int, net_imports: pd.DataFrame, interval_minutes: int) -> int:
    """Upsert net imports (columns region, timestamp, mw); returns rows written or changed."""
    if net_imports.empty:
        return 0
    regions = region_ids(cur)
    frame = pd.DataFrame({
        "region_id": _map_codes(net_imports["region"], regions, "region"),
        "source_id": source_id,
        "ts": net_imports["timestamp"],
        "interval_minutes": interval_minutes,
        "mw": net_imports["mw"],
    })
    written, _ = upsert_frame(cur, "net_import", frame, ("region_id", "source_id", "ts"))
    return written


def _to_rows(cur: Cursor, source_id: int, readings: pd.DataFrame, interval_minutes: int) -> pd.DataFrame:
    rows = pd.DataFrame({
        "ts": pd.to_datetime(readings["timestamp"], utc=True),
        "mw": readings["mw"].astype("float64"),
        "region_id": _map_codes(readings["region"], region_ids(cur), "region"),
        "source_id": source_id,
        "fuel_id": _map_codes(readings["fuel"], fuel_ids(cur), "fuel"),
        "interval_minutes": interval_minutes,
    })
    if rows.duplicated(subset=list(KEY)).any():
        raise ValueError("readings repeat a (region, time, fuel) key; deduplicate before writing")
    # Index order makes COPY and the upsert touch the primary key sequentially.
    return rows.sort_values(["region_id", "ts", "fuel_id"], ignore_index=True)


def _map_codes(values: pd.Series, ids: dict[str, int], what: str) -> pd.Series:
    mapped = values.map(ids)
    if mapped.isna().any():
        unknown = sorted(set(values[mapped.isna()].astype(str)))
        raise ValueError(f"unknown {what} {', '.join(unknown[:5])}: not in the {what} table")
    return mapped.astype("int16")


def _years(ts: pd.Series) -> list[int]:
    return sorted({int(y) for y in ts.dt.year.unique()})


def ensure_partitions(cur: Cursor, years: list[int]) -> None:
    """Create the yearly partitions of generation_reading that `years` need."""
    cur.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'generation_reading'::regclass"
    )
    existing = {row[0] for row in cur.fetchall()}
    missing = [y for y in years if f"generation_reading_{y}" not in existing]
    if not missing:
        return
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_PARTITION_LOCK_KEY,))
    for year in missing:
        # Runs as the table's owner (migration 0010): the crawler's role may not create tables.
        cur.execute("SELECT ensure_reading_partition(%s)", (year,))


def _disjoint_from_stored(cur: Cursor, source_id: int, rows: pd.DataFrame) -> bool:
    """True when no stored reading of these regions can share a key with the batch."""
    spans = rows.groupby("region_id")["ts"].agg(["min", "max"])
    cur.execute(
        "SELECT region_id, first_ts, last_ts FROM series WHERE source_id = %s AND region_id = ANY(%s)",
        (source_id, [int(r) for r in spans.index]),
    )
    for region_id, first_ts, last_ts in cur.fetchall():
        lo, hi = spans.loc[region_id, "min"], spans.loc[region_id, "max"]
        if not (hi < first_ts or lo > last_ts):
            return False
    return True


def copy_new(cur: Cursor, table: str, frame: pd.DataFrame) -> bool:
    """COPY `frame` straight into `table`, the fast path for rows never stored before; False,
    with nothing written, if any of its keys is stored already (a unique violation rolls
    back to a savepoint, so the caller's transaction goes on)."""
    cur.execute("SAVEPOINT copy_new")
    try:
        _copy(cur, table, frame)
    except psycopg2.errors.UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT copy_new")
        return False
    cur.execute("RELEASE SAVEPOINT copy_new")
    return True


def upsert_frame(cur: Cursor, table: str, frame: pd.DataFrame, key_columns: tuple[str, ...],
                 stored_by: str | None = None) -> tuple[int, dict]:
    """Insert `frame`'s rows into `table`, updating the stored rows of the same key whose values
    differ (a row holding the same values stays untouched). Returns the rows inserted or
    changed and, with `stored_by`, how many of the frame's keys were stored before, by the
    value of that column."""
    columns = list(frame.columns)
    values = [c for c in columns if c not in key_columns]
    batch = f"batch_{table}"
    cur.execute(f"CREATE TEMP TABLE {batch} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    _copy(cur, batch, frame)
    stored = {}
    if stored_by:
        cur.execute(f"SELECT b.{stored_by}, count(*) FROM {batch} b JOIN {table} t "
                    f"USING ({', '.join(key_columns)}) GROUP BY b.{stored_by}")
        stored = dict(cur.fetchall())
    cur.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {batch} "
        f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE "
        f"SET {', '.join(f'{c} = EXCLUDED.{c}' for c in values)} "
        f"WHERE ({', '.join(f'{table}.{c}' for c in values)}) "
        f"IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in values)})"
    )
    written = cur.rowcount
    cur.execute(f"DROP TABLE {batch}")
    return written, stored


def _upsert(cur: Cursor, rows: pd.DataFrame) -> WriteCounts:
    written, existing_by_region = upsert_frame(cur, "generation_reading", rows, KEY, stored_by="region_id")
    existing = sum(existing_by_region.values())
    inserted = len(rows) - existing
    per_region = rows.groupby("region_id").size()
    return WriteCounts(
        inserted=inserted,
        updated=written - inserted,
        unchanged=existing - (written - inserted),
        inserted_by_region={int(r): int(n) - existing_by_region.get(r, 0) for r, n in per_region.items()},
    )


def _copy(cur: Cursor, table: str, frame: pd.DataFrame) -> None:
    copy_frame(cur, table, frame, {column: COLUMN_TYPES[column] for column in frame.columns})


def recompute_intensity(cur: Cursor, source_id: int, readings: pd.DataFrame) -> int:
    """Recompute carbon_intensity for every (region_id, ts) in `readings`.

    `readings` must hold every stored fuel of those intervals: the batch itself when it was
    new, otherwise what `stored_readings` reads back.
    """
    if readings.empty:
        return 0
    fuels = fuel_flags(cur)
    frame = _with_charging_history(cur, source_id, readings, fuels)
    intensity = compute_intensity(frame, emission_factors(cur), fuels)
    if len(frame) != len(readings):
        touched = pd.MultiIndex.from_frame(readings[["region_id", "ts"]].drop_duplicates())
        intensity = intensity[pd.MultiIndex.from_frame(intensity[["region_id", "ts"]]).isin(touched)]
    intensity["source_id"] = source_id
    if not copy_new(cur, "carbon_intensity", intensity):
        upsert_frame(cur, "carbon_intensity", intensity, ("region_id", "source_id", "ts"))
    return len(intensity)


def _with_charging_history(cur: Cursor, source_id: int, readings: pd.DataFrame, fuels: pd.DataFrame) -> pd.DataFrame:
    """`readings`, and for the regions whose storage discharges in them every stored reading
    of the 24 h before (the charging that storage's intensity comes from, database/intensity.py)."""
    storage_ids = fuels.loc[fuels["storage"].astype(bool), "id"].tolist()
    discharging = readings[readings["fuel_id"].isin(storage_ids) & (readings["mw"] > 0)]
    if discharging.empty:
        return readings
    spans = readings[readings["region_id"].isin(discharging["region_id"].unique())].groupby("region_id")["ts"].min()
    cur.execute(
        "SELECT g.region_id, g.ts, g.fuel_id, g.mw, g.interval_minutes FROM generation_reading g "
        "JOIN unnest(%s::int2[], %s::timestamptz[]) AS s (region_id, first_ts) ON s.region_id = g.region_id "
        "WHERE g.source_id = %s AND g.ts >= s.first_ts - interval '24 hours' AND g.ts < s.first_ts",
        ([int(r) for r in spans.index], [t.to_pydatetime() for t in spans], source_id),
    )
    history = pd.DataFrame(cur.fetchall(), columns=["region_id", "ts", "fuel_id", "mw", "interval_minutes"])
    if history.empty:
        return readings
    history = history.assign(ts=pd.to_datetime(history["ts"], utc=True))
    return pd.concat([history.astype({c: readings[c].dtype for c in history.columns}), readings[history.columns]], ignore_index=True)


def stored_readings(cur: Cursor, source_id: int, touched: pd.DataFrame) -> pd.DataFrame:
    """Every stored reading of the source in the (region_id, ts) intervals of `touched`."""
    cur.execute("CREATE TEMP TABLE touched_interval (region_id smallint, ts timestamptz) ON COMMIT DROP")
    _copy(cur, "touched_interval", touched[["region_id", "ts"]].drop_duplicates())
    cur.execute(
        "SELECT g.region_id, g.ts, g.fuel_id, g.mw, g.interval_minutes FROM generation_reading g "
        "JOIN touched_interval t ON t.region_id = g.region_id AND t.ts = g.ts WHERE g.source_id = %s",
        (source_id,),
    )
    frame = pd.DataFrame(cur.fetchall(), columns=["region_id", "ts", "fuel_id", "mw", "interval_minutes"])
    cur.execute("DROP TABLE touched_interval")
    return frame.assign(ts=pd.to_datetime(frame["ts"], utc=True))


def emission_factors(cur: Cursor) -> pd.DataFrame:
    cur.execute("SELECT factor_set, fuel_id, region_id, valid_from, g_per_kwh FROM emission_factor")
    frame = pd.DataFrame(cur.fetchall(), columns=["factor_set", "fuel_id", "region_id", "valid_from", "g_per_kwh"])
    return frame.assign(valid_from=pd.to_datetime(frame["valid_from"], utc=True),
                        region_id=frame["region_id"].astype("float64"))


def fuel_flags(cur: Cursor) -> pd.DataFrame:
    cur.execute("SELECT id, renewable, low_carbon, storage FROM fuel")
    return pd.DataFrame(cur.fetchall(), columns=["id", "renewable", "low_carbon", "storage"])


def _update_series(cur: Cursor, source_id: int, rows: pd.DataFrame, inserted_by_region: dict[int, int]) -> None:
    spans = rows.groupby("region_id")["ts"].agg(["min", "max"])
    for region_id, span in spans.iterrows():
        cur.execute(
            "INSERT INTO series (region_id, source_id, first_ts, last_ts, row_count) "
            "VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (region_id, source_id) DO UPDATE SET "
            "first_ts = least(series.first_ts, EXCLUDED.first_ts), "
            "last_ts = greatest(series.last_ts, EXCLUDED.last_ts), "
            "row_count = series.row_count + EXCLUDED.row_count, updated_at = now()",
            (int(region_id), source_id, span["min"].to_pydatetime(), span["max"].to_pydatetime(),
             int(inserted_by_region.get(region_id, 0))),
        )
