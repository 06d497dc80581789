"""The write path: generation readings and net imports in, carbon intensity recomputed.

Everything here runs inside the caller's transaction, so one source's writes commit or
roll back together. Revisions replace stored values (last write wins) and are counted; a
rejected value (a cell the body lists without a usable value) replaces and deletes nothing.
Each write evaluates the intervals it touches and those whose estimates it may change
(database/completeness.py): estimates are rewritten in estimated_reading, and carbon_intensity
holds the served intervals (complete or estimated), never one computed from a partial mix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd
import psycopg2
import psycopg2.extensions

from database.completeness import (EXPECTED_WINDOW, MISSING_FUEL, NEGATIVE_EXEMPT, PREVIOUS_DAY, RULE_KINDS,
                                   Evaluation, FuelKinds, evaluate)
from database.copy import copy_frame
from database.dimensions import fuel_ids, region_ids
from database.intensity import compute_intensity

Cursor = psycopg2.extensions.cursor

COLUMN_TYPES = {"ts": "timestamptz", "mw": "float8", "region_id": "int2", "source_id": "int2",
                "fuel_id": "int2", "interval_minutes": "int2", "lifecycle_g_per_kwh": "float8",
                "direct_g_per_kwh": "float8", "renewable_share": "float8", "low_carbon_share": "float8",
                "total_mw": "float8", "ipcc_lifecycle_g_per_kwh": "float8", "ipcc_direct_g_per_kwh": "float8",
                "estimated": "bool", "estimation_method_id": "int2", "method_id": "int2"}
KEY = ("region_id", "source_id", "ts", "fuel_id")
# Intervals a write evaluates again besides its own: those whose expected fuels (12 h either
# side) or previous-day estimates (24 h later) it may change; and the readings read around
# them for the rules to see (their own 12 h either side and the day before).
REEVALUATE_BEFORE, REEVALUATE_AFTER = EXPECTED_WINDOW, PREVIOUS_DAY
CONTEXT_BEFORE, CONTEXT_AFTER = REEVALUATE_BEFORE + PREVIOUS_DAY, REEVALUATE_AFTER + EXPECTED_WINDOW
# Anomaly kinds the write path reports (rejected values are counted where they are rejected).
REPORTED_KINDS = frozenset(RULE_KINDS[1:]) | {MISSING_FUEL}
# Serialises partition creation between concurrent writers.
_PARTITION_LOCK_KEY = 0x656E7074  # "enpt"


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # stored fuels a revision no longer lists
    intensities: int = 0
    estimated: int = 0  # intervals of the batch served with an estimated fuel
    gaps: int = 0  # intervals of the batch left without intensity (a fuel that cannot be estimated)
    anomalies: dict[str, int] = field(default_factory=dict)  # cells of the batch estimated, by why
    inserted_by_region: dict[int, int] = field(default_factory=dict)


def write_readings(cur: Cursor, source_id: int, readings: pd.DataFrame, interval_minutes: int,
                   complete_intervals: bool = False, rejected: pd.DataFrame | None = None,
                   flagged: pd.DataFrame | None = None) -> WriteCounts:
    """Upsert readings (columns region, timestamp, fuel, mw; unique per region/time/fuel),
    evaluate the touched intervals, write their estimates and intensity, and keep the series
    table current. With `complete_intervals` the batch lists every fuel of each interval it
    holds, so stored fuels of those intervals that it no longer lists are deleted (a revision
    dropped them); `rejected` cells (region, timestamp, fuel) count as listed, and their stored
    values stay. `flagged` cells (region, timestamp, fuel, kind) are readings the parser knows
    to be wrong: stored, and estimated in the intensity."""
    rejected = _keys(cur, rejected)
    flagged = _keys(cur, flagged, with_kind=True)
    if readings.empty and rejected.empty:
        return WriteCounts()
    rows = _to_rows(cur, source_id, readings, interval_minutes) if len(readings) else _no_rows()
    fresh = False
    counts = WriteCounts()
    if len(rows):
        ensure_partitions(cur, _years(rows["ts"]))
        if _disjoint_from_stored(cur, source_id, rows) and copy_new(cur, "generation_reading", rows):
            counts = WriteCounts(inserted=len(rows), inserted_by_region=rows.groupby("region_id").size().to_dict())
            fresh = True  # nothing else was stored in these intervals
        else:
            counts = _upsert(cur, rows, complete_intervals, rejected)
    _store_flags(cur, source_id, rows, flagged)
    spans = _spans(rows, rejected)
    result = reevaluate(cur, source_id, spans, interval_minutes, rejected, rows if fresh else None)
    counts.intensities = len(result.intensity)
    _count_states(counts, result, spans)
    if len(rows):
        batch = result.intensity[result.intensity["ts"].between(rows["ts"].min(), rows["ts"].max())]
        peaks = batch.groupby("region_id")["total_mw"].max().to_dict() if len(batch) else {}
        _update_series(cur, source_id, rows, counts.inserted_by_region, peaks)
    return counts


def region_peaks(cur: Cursor, source_id: int, min_history: timedelta) -> dict[str, float]:
    """The largest total generation stored per region code for the source, for the regions
    whose series spans at least `min_history`."""
    cur.execute("SELECT r.code, s.peak_total_mw FROM series s JOIN region r ON r.id = s.region_id "
                "WHERE s.source_id = %s AND s.peak_total_mw IS NOT NULL AND s.last_ts - s.first_ts >= %s",
                (source_id, min_history))
    return dict(cur.fetchall())


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


def _upsert(cur: Cursor, rows: pd.DataFrame, complete_intervals: bool, rejected: pd.DataFrame) -> WriteCounts:
    written, existing_by_region = upsert_frame(cur, "generation_reading", rows, KEY, stored_by="region_id")
    source_id = int(rows["source_id"].iloc[0])
    removed_by_region = _delete_unlisted(cur, rows, rejected.assign(source_id=source_id)) if complete_intervals else {}
    existing = sum(existing_by_region.values())
    inserted = len(rows) - existing
    per_region = rows.groupby("region_id").size()
    return WriteCounts(
        inserted=inserted,
        updated=written - inserted,
        unchanged=existing - (written - inserted),
        removed=sum(removed_by_region.values()),
        # series.row_count counts stored rows: the removed ones come off it.
        inserted_by_region={int(r): int(n) - existing_by_region.get(r, 0) - removed_by_region.get(r, 0)
                            for r, n in per_region.items()},
    )


def _delete_unlisted(cur: Cursor, rows: pd.DataFrame, rejected: pd.DataFrame) -> dict[int, int]:
    """Delete stored readings in the intervals of `rows` whose fuel neither `rows` nor the
    `rejected` cells list (a rejected value is no omission); returns how many per region."""
    cur.execute("CREATE TEMP TABLE listed_reading (region_id int2, source_id int2, ts timestamptz, fuel_id int2) "
                "ON COMMIT DROP")
    listed = rows[list(KEY)]
    if len(rejected):
        listed = pd.concat([listed, rejected[list(KEY)].astype(listed.dtypes.to_dict())], ignore_index=True)
    _copy(cur, "listed_reading", listed)
    cur.execute(
        "DELETE FROM generation_reading g USING (SELECT DISTINCT region_id, source_id, ts FROM listed_reading) t "
        "WHERE g.region_id = t.region_id AND g.source_id = t.source_id AND g.ts = t.ts "
        "AND NOT EXISTS (SELECT 1 FROM listed_reading b WHERE b.region_id = g.region_id "
        "AND b.source_id = g.source_id AND b.ts = g.ts AND b.fuel_id = g.fuel_id) "
        "RETURNING g.region_id"
    )
    removed: dict[int, int] = {}
    for (region_id,) in cur.fetchall():
        removed[region_id] = removed.get(region_id, 0) + 1
    cur.execute("DROP TABLE listed_reading")
    return removed


def _copy(cur: Cursor, table: str, frame: pd.DataFrame) -> None:
    copy_frame(cur, table, frame, {column: COLUMN_TYPES[column] for column in frame.columns})


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame({"ts": pd.Series(dtype="datetime64[ns, UTC]"), "mw": pd.Series(dtype="float64"),
                         "region_id": pd.Series(dtype="int16"), "source_id": pd.Series(dtype="int16"),
                         "fuel_id": pd.Series(dtype="int16"), "interval_minutes": pd.Series(dtype="int16")})


def _keys(cur: Cursor, cells: pd.DataFrame | None, with_kind: bool = False) -> pd.DataFrame:
    """Cells (region, timestamp, fuel[, kind]) as ids: region_id, ts, fuel_id[, kind]; one per key."""
    columns = ["region_id", "ts", "fuel_id"] + (["kind"] if with_kind else [])
    if cells is None or cells.empty:
        frame = pd.DataFrame({"region_id": pd.Series(dtype="int16"), "ts": pd.Series(dtype="datetime64[ns, UTC]"),
                              "fuel_id": pd.Series(dtype="int16")})
        return frame.assign(kind=pd.Series(dtype=object)) if with_kind else frame
    frame = pd.DataFrame({"region_id": _map_codes(cells["region"], region_ids(cur), "region"),
                          "ts": pd.to_datetime(cells["timestamp"], utc=True),
                          "fuel_id": _map_codes(cells["fuel"], fuel_ids(cur), "fuel")})
    if with_kind:
        frame["kind"] = cells["kind"].astype(str).to_numpy()
    return frame.drop_duplicates(["region_id", "ts", "fuel_id"], keep="last")[columns].reset_index(drop=True)


def _spans(rows: pd.DataFrame, rejected: pd.DataFrame) -> pd.DataFrame:
    """Per region: the first and last interval the batch touches (readings or rejected cells)."""
    cells = pd.concat([rows[["region_id", "ts"]], rejected[["region_id", "ts"]]], ignore_index=True)
    spans = cells.groupby("region_id")["ts"].agg(["min", "max"])
    return pd.DataFrame({"region_id": spans.index.astype("int16"), "lo": spans["min"].to_numpy(),
                         "hi": spans["max"].to_numpy()})


def _store_flags(cur: Cursor, source_id: int, rows: pd.DataFrame, flagged: pd.DataFrame) -> None:
    """The batch restates its readings: their flags become the batch's (a revision may clear them)."""
    if rows.empty:
        return
    if len(flagged):
        flagged = flagged.merge(rows[["region_id", "ts", "fuel_id"]], on=["region_id", "ts", "fuel_id"])
    cur.execute("SELECT EXISTS (SELECT 1 FROM reading_flag WHERE source_id = %s)", (source_id,))
    if cur.fetchone()[0]:
        cur.execute("CREATE TEMP TABLE restated (region_id int2, ts timestamptz, fuel_id int2) ON COMMIT DROP")
        _copy(cur, "restated", rows[["region_id", "ts", "fuel_id"]])
        cur.execute("DELETE FROM reading_flag f USING restated r WHERE f.source_id = %s AND f.region_id = r.region_id "
                    "AND f.ts = r.ts AND f.fuel_id = r.fuel_id", (source_id,))
        cur.execute("DROP TABLE restated")
    if len(flagged):
        cur.executemany("INSERT INTO reading_flag (region_id, source_id, ts, fuel_id, kind) VALUES (%s, %s, %s, %s, %s)",
                        [(int(r.region_id), source_id, r.ts.to_pydatetime(), int(r.fuel_id), r.kind)
                         for r in flagged.itertuples(index=False)])


@dataclass
class Reevaluated:
    """What a re-evaluation wrote: the served intervals' intensity, and the evaluation of the
    intervals it covered (for the counts)."""

    intensity: pd.DataFrame
    evaluation: Evaluation


def reevaluate(cur: Cursor, source_id: int, spans: pd.DataFrame, interval_minutes: int,
               rejected: pd.DataFrame | None = None, batch: pd.DataFrame | None = None,
               around: bool = True) -> Reevaluated:
    """Evaluate the intervals of each region's span [lo, hi] (widened by REEVALUATE_BEFORE and
    _AFTER when `around`) from the stored readings around them, then rewrite their estimates and
    their carbon_intensity rows (deleting those of intervals now missing).

    `batch`: readings just COPYed as new into [lo, hi], used instead of reading them back."""
    rejected = rejected if rejected is not None else _keys(cur, None)
    window = spans.assign(lo=spans["lo"] - REEVALUATE_BEFORE, hi=spans["hi"] + REEVALUATE_AFTER) if around else spans
    context = window.assign(lo=window["lo"] - (CONTEXT_BEFORE - REEVALUATE_BEFORE),
                            hi=window["hi"] + (CONTEXT_AFTER - REEVALUATE_AFTER))
    measured = _stored_between(cur, source_id, context if batch is None else _margins(context, spans))
    if batch is not None:
        measured = pd.concat([measured, batch[measured.columns].astype(measured.dtypes.to_dict())], ignore_index=True)
    evaluation = evaluate(measured, rejected, _flags_between(cur, source_id, context), interval_minutes,
                          fuel_kinds(cur))
    inside = _within(evaluation.states, window)
    states = evaluation.states[inside]
    _replace_estimates(cur, source_id, window, evaluation.estimates[_within(evaluation.estimates, window)])
    intensity = _intensity(cur, evaluation.effective, window, states)
    intensity["source_id"] = source_id
    if len(intensity) and not copy_new(cur, "carbon_intensity", intensity):
        upsert_frame(cur, "carbon_intensity", intensity, ("region_id", "source_id", "ts"))
    # Intervals now missing lose their row; so would a served one left without any mix to compute.
    missing = states[states["missing"].to_numpy()]
    served = states[~states["missing"].to_numpy()]
    if len(intensity) < len(served):  # every served interval has its row, but for this rare case
        mixless = served.astype({"region_id": "int16"}).merge(intensity[["region_id", "ts"]], how="left",
                                                              on=["region_id", "ts"], indicator=True)
        missing = pd.concat([missing, served[(mixless["_merge"] == "left_only").to_numpy()]])
    if len(missing):
        cur.execute("DELETE FROM carbon_intensity c USING unnest(%s::int2[], %s::timestamptz[]) AS m (region_id, ts) "
                    "WHERE c.source_id = %s AND c.region_id = m.region_id AND c.ts = m.ts",
                    ([int(r) for r in missing["region_id"]], [t.to_pydatetime() for t in missing["ts"]], source_id))
    return Reevaluated(intensity, Evaluation(evaluation.effective, evaluation.estimates, states,
                                             evaluation.anomalies[_within(evaluation.anomalies, window)]))


def _within(frame: pd.DataFrame, window: pd.DataFrame) -> np.ndarray:
    """Rows of `frame` (region_id, ts) inside their region's [lo, hi] of `window`."""
    if frame.empty:
        return np.zeros(0, dtype=bool)
    order = np.argsort(window["region_id"].to_numpy(dtype="int64"))
    regions = window["region_id"].to_numpy(dtype="int64")[order]
    lo, hi = _ns(window["lo"])[order], _ns(window["hi"])[order]
    region = frame["region_id"].to_numpy(dtype="int64")
    at = np.clip(np.searchsorted(regions, region), 0, len(regions) - 1)
    ts = _ns(frame["ts"])
    return (regions[at] == region) & (ts >= lo[at]) & (ts <= hi[at])


def _ns(column: pd.Series) -> np.ndarray:
    """Instants as int64 nanoseconds since 1970 (UTC)."""
    return pd.DatetimeIndex(pd.to_datetime(column, utc=True)).as_unit("ns").asi8


def _intensity(cur: Cursor, effective: pd.DataFrame, window: pd.DataFrame, states: pd.DataFrame) -> pd.DataFrame:
    """carbon_intensity rows of the served intervals of `window`, from the effective mixes (those
    before the window too: storage discharge takes the intensity of the charging before it)."""
    if effective.empty or not (~states["missing"]).any():
        return pd.DataFrame({"region_id": pd.Series(dtype="int16"), "ts": pd.Series(dtype="datetime64[ns, UTC]"),
                             "total_mw": pd.Series(dtype="float64")})
    fuels = fuel_flags(cur)
    storage = set(fuels.loc[fuels["storage"].astype(bool), "id"])
    discharging = effective["fuel_id"].isin(storage).any() and (effective.loc[effective["fuel_id"].isin(storage), "mw"] > 0).any()
    mixes = effective if discharging else effective[_within(effective, window)]
    intensity = compute_intensity(mixes, emission_factors(cur), fuels)
    served = states[~states["missing"].to_numpy()]
    flags = served[["region_id", "ts", "estimated"]].assign(
        region_id=served["region_id"].astype("int16"),
        estimation_method_id=served["method"].map(METHOD_IDS).astype("float64"))
    return intensity.astype({"region_id": "int16"}).merge(flags, on=["region_id", "ts"], how="inner")


# Our estimation methods' ids in estimation_method (migration 0014).
METHOD_IDS = {"interpolated": 1, "previous_day": 2}


def _replace_estimates(cur: Cursor, source_id: int, window: pd.DataFrame, estimates: pd.DataFrame) -> None:
    """The window's estimates are the new ones: stale ones (a value arrived) are deleted."""
    cur.execute("DELETE FROM estimated_reading e USING unnest(%s::int2[], %s::timestamptz[], %s::timestamptz[]) "
                "AS w (region_id, lo, hi) WHERE e.source_id = %s AND e.region_id = w.region_id "
                "AND e.ts >= w.lo AND e.ts <= w.hi", _window_params(window) + (source_id,))
    if len(estimates):
        _copy(cur, "estimated_reading", pd.DataFrame({
            "region_id": estimates["region_id"].astype("int16"), "source_id": np.int16(source_id),
            "ts": estimates["ts"], "fuel_id": estimates["fuel_id"].astype("int16"),
            "interval_minutes": estimates["interval_minutes"].astype("int16"), "mw": estimates["mw"].astype("float64"),
            "method_id": estimates["method"].map(METHOD_IDS).astype("int16")}))


def _window_params(window: pd.DataFrame) -> tuple:
    return ([int(r) for r in window["region_id"]], [pd.Timestamp(t).to_pydatetime() for t in window["lo"]],
            [pd.Timestamp(t).to_pydatetime() for t in window["hi"]])


READING_FRAME = ["region_id", "ts", "fuel_id", "mw", "interval_minutes"]


def _margins(context: pd.DataFrame, spans: pd.DataFrame) -> pd.DataFrame:
    """The parts of each region's context before and after its span: [lo, span lo) and (span hi, hi]."""
    tick = pd.Timedelta(microseconds=1)
    merged = context.merge(spans, on="region_id", suffixes=("", "_span"))
    return pd.concat([merged.assign(hi=merged["lo_span"] - tick), merged.assign(lo=merged["hi_span"] + tick)],
                     ignore_index=True)[["region_id", "lo", "hi"]]


def _stored_between(cur: Cursor, source_id: int, windows: pd.DataFrame) -> pd.DataFrame:
    """Stored readings of the source in each window (region_id, lo, hi; a region may have several)."""
    cur.execute(
        "SELECT g.region_id, g.ts, g.fuel_id, g.mw, g.interval_minutes FROM generation_reading g "
        "JOIN unnest(%s::int2[], %s::timestamptz[], %s::timestamptz[]) AS w (region_id, lo, hi) "
        "ON w.region_id = g.region_id WHERE g.source_id = %s AND g.ts >= w.lo AND g.ts <= w.hi",
        _window_params(windows) + (source_id,))
    return _reading_frame(cur.fetchall())


def _reading_frame(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=READING_FRAME)
    return frame.assign(ts=pd.to_datetime(frame["ts"], utc=True)).astype(
        {"region_id": "int16", "fuel_id": "int16", "interval_minutes": "int16", "mw": "float64"})


def _flags_between(cur: Cursor, source_id: int, window: pd.DataFrame) -> pd.DataFrame:
    cur.execute("SELECT f.region_id, f.ts, f.fuel_id, f.kind FROM reading_flag f "
                "JOIN unnest(%s::int2[], %s::timestamptz[], %s::timestamptz[]) AS w (region_id, lo, hi) "
                "ON w.region_id = f.region_id WHERE f.source_id = %s AND f.ts >= w.lo AND f.ts <= w.hi",
                _window_params(window) + (source_id,))
    frame = pd.DataFrame(cur.fetchall(), columns=["region_id", "ts", "fuel_id", "kind"])
    return frame.assign(ts=pd.to_datetime(frame["ts"], utc=True))


def fuel_kinds(cur: Cursor) -> FuelKinds:
    cur.execute("SELECT id, name, storage FROM fuel")
    rows = cur.fetchall()
    return FuelKinds(storage=frozenset(i for i, _, storage in rows if storage),
                     negative_exempt=frozenset(i for i, name, _ in rows if name in NEGATIVE_EXEMPT))


def _count_states(counts: WriteCounts, result: Reevaluated, spans: pd.DataFrame) -> None:
    """Estimated and missing intervals, and the anomalies behind them, within the batch's span."""
    states = result.evaluation.states
    mine = states[_within(states, spans)]
    counts.estimated, counts.gaps = int(mine["estimated"].sum()), int(mine["missing"].sum())
    anomalies = result.evaluation.anomalies
    if len(anomalies):
        anomalies = anomalies[_within(anomalies, spans) & anomalies["kind"].isin(REPORTED_KINDS).to_numpy()]
        counts.anomalies = anomalies["kind"].value_counts().to_dict()


def emission_factors(cur: Cursor) -> pd.DataFrame:
    cur.execute("SELECT factor_set, fuel_id, region_id, valid_from, g_per_kwh FROM emission_factor")
    frame = pd.DataFrame(cur.fetchall(), columns=["factor_set", "fuel_id", "region_id", "valid_from", "g_per_kwh"])
    return frame.assign(valid_from=pd.to_datetime(frame["valid_from"], utc=True),
                        region_id=frame["region_id"].astype("float64"))


def fuel_flags(cur: Cursor) -> pd.DataFrame:
    cur.execute("SELECT id, renewable, low_carbon, storage FROM fuel")
    return pd.DataFrame(cur.fetchall(), columns=["id", "renewable", "low_carbon", "storage"])


def _update_series(cur: Cursor, source_id: int, rows: pd.DataFrame, inserted_by_region: dict[int, int],
                   peaks: dict[int, float]) -> None:
    spans = rows.groupby("region_id")["ts"].agg(["min", "max"])
    for region_id, span in spans.iterrows():
        peak = peaks.get(region_id)
        cur.execute(
            "INSERT INTO series (region_id, source_id, first_ts, last_ts, row_count, peak_total_mw) "
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (region_id, source_id) DO UPDATE SET "
            "first_ts = least(series.first_ts, EXCLUDED.first_ts), "
            "last_ts = greatest(series.last_ts, EXCLUDED.last_ts), "
            "row_count = series.row_count + EXCLUDED.row_count, "
            "peak_total_mw = greatest(series.peak_total_mw, EXCLUDED.peak_total_mw), updated_at = now()",
            (int(region_id), source_id, span["min"].to_pydatetime(), span["max"].to_pydatetime(),
             int(inserted_by_region.get(region_id, 0)), None if peak is None or pd.isna(peak) else float(peak)),
        )
