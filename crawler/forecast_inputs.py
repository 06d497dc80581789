"""What the forecast-input sources share: rows in the contract's shape
(crawler.model.OPERATOR_FORECAST_COLUMNS) and the rule for an issue time a body does not state.

An issue time must never be earlier than the moment the forecast was really known: a forecast
issued at T may use only inputs issued before T. Where a body states when its forecast was
made (PJM's evaluated_at, ISO-NE's "Report generated", ERCOT's lastUpdated), that is the issue
time. Where it does not, the issue time is the earliest of the upper bounds we know: the
documented publication time of the product, and the time we fetched the body (it existed then).
"""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from crawler.model import (OPERATOR_FORECAST_COLUMNS, OPERATOR_FORECAST_KINDS, Anomaly, ParseError, Payload,
                           empty_frame, note)


def known_by(payload: Payload, *bounds: datetime | None) -> pd.Timestamp:
    """The earliest of the upper bounds given and the payload's fetch time (UTC): the latest
    moment the body's forecast is surely known by. ParseError when there is none."""
    known = [pd.Timestamp(b).tz_convert("UTC") for b in (*bounds, payload.fetched_at) if b is not None]
    if not known:
        raise ParseError(f"{payload.name}: no issue time: the body states none and its fetch time is unknown")
    return min(known)


def operator_rows(source: str, region: str, kind: str, issued_at, timestamps, mw,
                  anomalies: list[Anomaly]) -> pd.DataFrame:
    """Rows of one region and kind: `issued_at` one time or one per row (aware), `timestamps`
    the target interval starts (aware), `mw` numbers. Rows without a value are left out and
    counted; a repeated target of one issue keeps its last value (counted)."""
    if kind not in OPERATOR_FORECAST_KINDS:
        raise ValueError(f"{source}: kind {kind!r} is none of {OPERATOR_FORECAST_KINDS}")
    starts = pd.DatetimeIndex(pd.to_datetime(timestamps))
    if starts.tz is None:
        raise ValueError(f"{source}: naive target times")
    issued = pd.DatetimeIndex(pd.to_datetime(issued_at if np.ndim(issued_at) else [issued_at] * len(starts)))
    if issued.tz is None:
        raise ValueError(f"{source}: naive issue times")
    frame = pd.DataFrame({
        "region": region,
        "issued_at": issued.tz_convert("UTC").astype("datetime64[ns, UTC]"),
        "timestamp": starts.tz_convert("UTC").astype("datetime64[ns, UTC]"),
        "kind": kind,
        "mw": pd.to_numeric(pd.Series(np.asarray(mw, dtype=object)), errors="coerce").astype("float64").to_numpy(),
    })
    missing = frame["mw"].isna() | ~np.isfinite(frame["mw"].fillna(0.0)) | frame["timestamp"].isna()
    if missing.any():
        note(anomalies, source, "missing_value", f"{int(missing.sum())} {region} {kind} forecast values "
             "missing or unreadable, left out", int(missing.sum()))
        frame = frame[~missing]
    repeated = frame.duplicated(subset=["issued_at", "timestamp"], keep="last")
    if repeated.any():
        note(anomalies, source, "duplicate_interval", f"{int(repeated.sum())} {region} {kind} forecast values "
             "repeat a target of the same issue; kept the last", int(repeated.sum()))
        frame = frame[~repeated]
    if frame.empty:
        return empty_frame(OPERATOR_FORECAST_COLUMNS)
    return frame[OPERATOR_FORECAST_COLUMNS].reset_index(drop=True)

