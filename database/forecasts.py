"""Issued carbon-intensity forecasts and the model's measured error: write, read back.

The API stores each forecast it issues, so that "the forecast issued at T" can be answered
later and served again without refitting, and the measured error per region is kept beside.
Every function runs in the caller's transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import psycopg2.extensions
from psycopg2.extras import Json, execute_values

Cursor = psycopg2.extensions.cursor

FACTOR_SETS = ("lifecycle", "direct")
FRAME_COLUMNS = ("timestamp", "value", "lower", "upper")


@dataclass(frozen=True)
class StoredForecast:
    """A forecast as stored; `frame` has the model's columns: timestamp, value, lower, upper."""

    id: int | None  # None: computed for a past issue time and not stored
    region_id: int
    source_id: int
    factor_set: str
    issued_at: datetime
    history_end: datetime
    model_name: str
    model_version: str
    fallback_reason: str | None
    interval_level: float | None
    created_at: datetime
    frame: pd.DataFrame
    model_id: int | None = None  # the fitted model (forecast_model.id); None: the history-only model
    inputs: dict | None = None   # the forecast inputs read for it (migration 0023); None: none


@dataclass(frozen=True)
class Accuracy:
    """A model's measured error over the first `window_hours` of forecasts issued between
    period_start and period_end, and the best baseline's on the same forecasts."""

    region_id: int
    source_id: int
    factor_set: str
    model_name: str
    model_version: str
    window_hours: int
    period_start: datetime
    period_end: datetime
    forecasts: int
    mape: float
    mae: float
    baseline_name: str
    baseline_mape: float
    baseline_mae: float
    interval_coverage: float | None = None
    measured_at: datetime | None = None  # set by the database


def save_forecast(cur: Cursor, *, region_id: int, source_id: int, factor_set: str, issued_at: datetime,
                  history_end: datetime, model_name: str, model_version: str, frame: pd.DataFrame,
                  fallback_reason: str | None = None, interval_level: float | None = None,
                  model_id: int | None = None, inputs: dict | None = None) -> int:
    """Store a forecast (frame: timestamp, value, lower, upper) with the fitted model and the
    inputs it was made from (JSON-able); re-saving the same region, factor set, issue time,
    source and model version replaces it. Returns its id."""
    _check_factor_set(factor_set)
    rows = _value_rows(frame)
    cur.execute(
        "INSERT INTO forecast (region_id, source_id, factor_set, issued_at, history_end, model_name, "
        "model_version, fallback_reason, interval_level, model_id, inputs) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (region_id, factor_set, issued_at, source_id, model_name, model_version) DO UPDATE "
        "SET history_end = EXCLUDED.history_end, fallback_reason = EXCLUDED.fallback_reason, "
        "interval_level = EXCLUDED.interval_level, model_id = EXCLUDED.model_id, inputs = EXCLUDED.inputs, "
        "created_at = now() "
        "RETURNING id",
        (region_id, source_id, factor_set, issued_at, history_end, model_name, model_version,
         fallback_reason, interval_level, model_id, None if inputs is None else Json(inputs)),
    )
    forecast_id = cur.fetchone()[0]
    cur.execute("DELETE FROM forecast_value WHERE forecast_id = %s", (forecast_id,))
    execute_values(cur, "INSERT INTO forecast_value (forecast_id, ts, g_per_kwh, lower_g_per_kwh, upper_g_per_kwh) "
                   "VALUES %s", [(forecast_id, *row) for row in rows], page_size=1000)
    return forecast_id


def forecast_issued_at(cur: Cursor, region_id: int, factor_set: str, at: datetime, source_id: int | None = None,
                       model_name: str | None = None) -> StoredForecast | None:
    """The newest forecast for the region and factor set issued at or before `at` (optionally
    from one source or model; a baseline fallback carries the baseline's name), or None."""
    _check_factor_set(factor_set)
    cur.execute(
        "SELECT id, region_id, source_id, factor_set, issued_at, history_end, model_name, model_version, "
        "fallback_reason, interval_level, created_at, model_id, inputs FROM forecast "
        "WHERE region_id = %s AND factor_set = %s AND issued_at <= %s "
        "AND (%s::smallint IS NULL OR source_id = %s) AND (%s::text IS NULL OR model_name = %s) "
        "ORDER BY issued_at DESC, id DESC LIMIT 1",
        (region_id, factor_set, at, source_id, source_id, model_name, model_name),
    )
    row = cur.fetchone()
    if row is None:
        return None
    return StoredForecast(*row[:9], None if row[9] is None else float(row[9]), row[10], _values(cur, row[0]),
                          row[11], row[12])


def delete_issued_before(cur: Cursor, moment: datetime) -> int:
    """Delete forecasts issued before `moment` with their values; returns how many."""
    cur.execute("DELETE FROM forecast WHERE issued_at < %s", (moment,))
    return cur.rowcount


def save_accuracy(cur: Cursor, measurements: Iterable[Accuracy]) -> int:
    """Store measurements, each replacing the previous one for its region, source, factor set,
    model version and window; returns how many were written."""
    written = 0
    for m in measurements:
        _check_factor_set(m.factor_set)
        cur.execute(
            "INSERT INTO forecast_accuracy (region_id, source_id, factor_set, model_name, model_version, "
            "window_hours, period_start, period_end, forecasts, mape, mae, baseline_name, baseline_mape, "
            "baseline_mae, interval_coverage) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (region_id, source_id, factor_set, model_name, model_version, window_hours) DO UPDATE SET "
            "period_start = EXCLUDED.period_start, period_end = EXCLUDED.period_end, forecasts = EXCLUDED.forecasts, "
            "mape = EXCLUDED.mape, mae = EXCLUDED.mae, baseline_name = EXCLUDED.baseline_name, "
            "baseline_mape = EXCLUDED.baseline_mape, baseline_mae = EXCLUDED.baseline_mae, "
            "interval_coverage = EXCLUDED.interval_coverage, measured_at = now()",
            (m.region_id, m.source_id, m.factor_set, m.model_name, m.model_version, m.window_hours,
             m.period_start, m.period_end, m.forecasts, m.mape, m.mae, m.baseline_name, m.baseline_mape,
             m.baseline_mae, _nullable(m.interval_coverage)),
        )
        written += 1
    return written


def read_accuracy(cur: Cursor, region_id: int, factor_set: str | None = None, source_id: int | None = None,
                  model_name: str | None = None, model_version: str | None = None) -> list[Accuracy]:
    """The stored measurements for a region, optionally narrowed, ordered by source, factor
    set, model and window."""
    if factor_set is not None:
        _check_factor_set(factor_set)
    cur.execute(
        "SELECT region_id, source_id, factor_set, model_name, model_version, window_hours, period_start, "
        "period_end, forecasts, mape, mae, baseline_name, baseline_mape, baseline_mae, interval_coverage, "
        "measured_at FROM forecast_accuracy WHERE region_id = %s "
        "AND (%s::text IS NULL OR factor_set = %s) AND (%s::smallint IS NULL OR source_id = %s) "
        "AND (%s::text IS NULL OR model_name = %s) AND (%s::text IS NULL OR model_version = %s) "
        "ORDER BY source_id, factor_set, model_name, model_version, window_hours",
        (region_id, factor_set, factor_set, source_id, source_id, model_name, model_name,
         model_version, model_version),
    )
    return [Accuracy(*row) for row in cur.fetchall()]


def accuracy_rows(table: pd.DataFrame, *, region_id: int, source_id: int, factor_set: str, model_name: str,
                  model_version: str, period_start: datetime, period_end: datetime) -> list[Accuracy]:
    """Measurements from api.models.forecast.accuracy()'s table (window_hours, forecasts,
    model_mape, model_mae, <baseline>_mape, <baseline>_mae, interval_coverage), each beside the
    baseline with the lowest MAPE in its window."""
    baselines = [c.removesuffix("_mape") for c in table.columns if c.endswith("_mape") and c != "model_mape"]
    rows = []
    for row in table.to_dict("records"):
        best = min(baselines, key=lambda name: row[f"{name}_mape"])
        rows.append(Accuracy(region_id, source_id, factor_set, model_name, model_version, int(row["window_hours"]),
                             period_start, period_end, int(row["forecasts"]), float(row["model_mape"]),
                             float(row["model_mae"]), best, float(row[f"{best}_mape"]), float(row[f"{best}_mae"]),
                             _nullable(row.get("interval_coverage"))))
    return rows


def _check_factor_set(factor_set: str) -> None:
    if factor_set not in FACTOR_SETS:
        raise ValueError(f"factor_set must be one of {', '.join(FACTOR_SETS)}, got {factor_set!r}")


def _value_rows(frame: pd.DataFrame) -> list[tuple]:
    """(ts, value, lower, upper) tuples; NaN bounds become NULL, a missing value is an error."""
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"forecast frame lacks column(s) {', '.join(missing)}")
    if frame["value"].isna().any():
        raise ValueError("forecast frame has hours without a value")
    stamps = pd.DatetimeIndex(frame["timestamp"])
    if stamps.tz is None:
        raise ValueError("forecast timestamps must be timezone-aware (UTC)")
    return [(ts.to_pydatetime(), float(value), _nullable(lower), _nullable(upper))
            for ts, value, lower, upper in zip(stamps, frame["value"], frame["lower"], frame["upper"])]


def _nullable(value: float | None) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def _values(cur: Cursor, forecast_id: int) -> pd.DataFrame:
    cur.execute("SELECT ts, g_per_kwh, lower_g_per_kwh, upper_g_per_kwh FROM forecast_value "
                "WHERE forecast_id = %s ORDER BY ts", (forecast_id,))
    frame = pd.DataFrame(cur.fetchall(), columns=list(FRAME_COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    for column in FRAME_COLUMNS[1:]:
        frame[column] = frame[column].astype("float64")
    return frame
