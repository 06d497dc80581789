"""Checks between parsing and writing that no parser has to repeat: every oddity becomes a
counted anomaly, and nothing that would be a silently wrong row reaches the database."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import pandas as pd

from crawler.model import FUELS, STORAGE_FUELS, Anomaly, ParseResult

log = logging.getLogger(__name__)

# Readings whose interval starts later than this after "now" cannot be measurements.
FUTURE_TOLERANCE = timedelta(minutes=5)


def validate(source: str, result: ParseResult, now: datetime) -> ParseResult:
    """Return the result with future, missing and repeated readings removed and counted."""
    anomalies = list(result.anomalies)
    readings = _checked(source, result.readings, ["region", "timestamp", "fuel"], now, anomalies)
    net_imports = _checked(source, result.net_imports, ["region", "timestamp"], now, anomalies)
    bad_fuels = set(readings["fuel"]) - set(FUELS)
    if bad_fuels:
        raise ValueError(f"{source}: parser produced fuels outside the vocabulary: {sorted(bad_fuels)}")
    negative = readings[(readings["mw"] < 0) & ~readings["fuel"].isin(STORAGE_FUELS)]
    if len(negative):
        fuels = ", ".join(sorted(set(negative["fuel"])))
        _note(anomalies, "negative_generation", len(negative),
              f"{source}: {len(negative)} negative readings ({fuels}) stored as reported, "
              "left out of intensity")
    return replace(result, readings=readings, net_imports=net_imports, anomalies=anomalies)


def _checked(source: str, frame: pd.DataFrame, key: list[str], now: datetime,
             anomalies: list[Anomaly]) -> pd.DataFrame:
    if frame.empty:
        return frame
    timestamps = pd.to_datetime(frame["timestamp"])
    if timestamps.dt.tz is None:
        raise ValueError(f"{source}: parser produced naive timestamps")
    frame = frame.assign(timestamp=timestamps.dt.tz_convert("UTC"))

    missing = frame["mw"].isna()
    if missing.any():
        _note(anomalies, "missing_value", int(missing.sum()),
              f"{source}: {int(missing.sum())} readings without a value skipped")
        frame = frame[~missing]

    future = frame["timestamp"] > pd.Timestamp(now) + FUTURE_TOLERANCE
    if future.any():
        first = frame.loc[future, "timestamp"].min()
        _note(anomalies, "future_timestamp", int(future.sum()),
              f"{source}: {int(future.sum())} readings dated in the future (from {first.isoformat()}) rejected")
        frame = frame[~future]

    repeated = frame.duplicated(subset=key, keep="last")
    if repeated.any():
        _note(anomalies, "duplicate_interval", int(repeated.sum()),
              f"{source}: {int(repeated.sum())} readings repeat an interval already in the batch; kept the last")
        frame = frame[~repeated]
    return frame.reset_index(drop=True)


def _note(anomalies: list[Anomaly], kind: str, count: int, message: str) -> None:
    log.warning(message)
    anomalies.append(Anomaly(kind, message, count))


def anomaly_counts(anomalies: list[Anomaly]) -> dict[str, int]:
    """Totals by kind, as stored with the crawl run."""
    counts: Counter[str] = Counter()
    for anomaly in anomalies:
        counts[anomaly.kind] += anomaly.count
    return dict(counts)
