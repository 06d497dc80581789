"""Load and cross-border flows (migration 0017): written by the crawler in the transaction of
its source, read back by whoever needs demand or flows (consumption-based intensity, load
features). A re-crawled interval replaces the stored value (last write wins), counted."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import psycopg2.extensions

from database.copy import copy_frame
from database.dimensions import region_ids

Cursor = psycopg2.extensions.cursor

_LOAD_TYPES = {"region_id": "int2", "source_id": "int2", "ts": "timestamptz", "interval_minutes": "int2",
               "mw": "float8"}
_FLOW_TYPES = {"from_region_id": "int2", "to_region_id": "int2", "source_id": "int2", "ts": "timestamptz",
               "interval_minutes": "int2", "mw": "float8"}


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def write_load(cur: Cursor, source_id: int, rows: pd.DataFrame, interval_minutes: int) -> UpsertCounts:
    """Upsert load rows (columns region, timestamp, mw; one per region and time)."""
    if rows.empty:
        return UpsertCounts()
    regions = region_ids(cur)
    frame = pd.DataFrame({"region_id": _ids(rows["region"], regions), "source_id": source_id,
                          "ts": rows["timestamp"], "interval_minutes": interval_minutes, "mw": rows["mw"]})
    return _upsert(cur, "load_reading", frame, _LOAD_TYPES, ("region_id", "source_id", "ts"))


def write_flows(cur: Cursor, source_id: int, rows: pd.DataFrame, interval_minutes: int) -> UpsertCounts:
    """Upsert flow rows (columns from_region, to_region, timestamp, mw; one per border direction and time)."""
    if rows.empty:
        return UpsertCounts()
    regions = region_ids(cur)
    frame = pd.DataFrame({"from_region_id": _ids(rows["from_region"], regions),
                          "to_region_id": _ids(rows["to_region"], regions), "source_id": source_id,
                          "ts": rows["timestamp"], "interval_minutes": interval_minutes, "mw": rows["mw"]})
    return _upsert(cur, "cross_border_flow", frame, _FLOW_TYPES,
                   ("from_region_id", "to_region_id", "source_id", "ts"))


def read_load(cur: Cursor, region: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Stored load of a region in [start, end): columns source, ts, interval_minutes, mw."""
    cur.execute(
        "SELECT s.name, l.ts, l.interval_minutes, l.mw FROM load_reading l JOIN region r ON r.id = l.region_id "
        "JOIN source s ON s.id = l.source_id WHERE r.code = %s AND l.ts >= %s AND l.ts < %s ORDER BY s.name, l.ts",
        (region, start, end))
    return _frame(cur.fetchall(), ["source", "ts", "interval_minutes", "mw"])


def read_flows(cur: Cursor, region: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Stored flows into and out of a region in [start, end): columns from_region, to_region,
    source, ts, interval_minutes, mw."""
    cur.execute(
        "SELECT fr.code, tr.code, s.name, f.ts, f.interval_minutes, f.mw FROM cross_border_flow f "
        "JOIN region fr ON fr.id = f.from_region_id JOIN region tr ON tr.id = f.to_region_id "
        "JOIN source s ON s.id = f.source_id WHERE (fr.code = %(r)s OR tr.code = %(r)s) "
        "AND f.ts >= %(start)s AND f.ts < %(end)s ORDER BY fr.code, tr.code, s.name, f.ts",
        {"r": region, "start": start, "end": end})
    return _frame(cur.fetchall(), ["from_region", "to_region", "source", "ts", "interval_minutes", "mw"])


def _frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(ts=pd.to_datetime(frame["ts"], utc=True))


def _ids(codes: pd.Series, ids: dict[str, int]) -> pd.Series:
    mapped = codes.map(ids)
    if mapped.isna().any():
        unknown = sorted(set(codes[mapped.isna()].astype(str)))
        raise ValueError(f"unknown region {', '.join(unknown[:5])}: not in the region table")
    return mapped.astype("int16")


def _upsert(cur: Cursor, table: str, frame: pd.DataFrame, types: dict[str, str],
            key: tuple[str, ...]) -> UpsertCounts:
    """Insert the rows, replacing stored rows of the same key whose values differ."""
    batch = f"batch_{table}"
    cur.execute(f"CREATE TEMP TABLE {batch} (LIKE {table}) ON COMMIT DROP")
    copy_frame(cur, batch, frame, types)
    cur.execute(f"SELECT count(*) FROM {batch} b JOIN {table} t USING ({', '.join(key)})")
    stored = cur.fetchone()[0]
    values = [c for c in types if c not in key]
    cur.execute(
        f"INSERT INTO {table} ({', '.join(types)}) SELECT {', '.join(types)} FROM {batch} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in values)} "
        f"WHERE ({', '.join(f'{table}.{c}' for c in values)}) IS DISTINCT FROM "
        f"({', '.join(f'EXCLUDED.{c}' for c in values)})")
    written = cur.rowcount
    cur.execute(f"DROP TABLE {batch}")
    inserted = len(frame) - stored
    return UpsertCounts(inserted=inserted, updated=written - inserted, unchanged=stored - (written - inserted))
