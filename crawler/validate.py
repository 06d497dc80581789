"""Checks between parsing and writing that no parser has to repeat: every oddity becomes a
counted anomaly, and nothing that would be a silently wrong row reaches the database."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from crawler.model import Anomaly, ParseResult, note
from energy_data.fuels import FUELS, STORAGE_FUELS


# Readings whose interval starts later than this after "now" cannot be measurements.
FUTURE_TOLERANCE = timedelta(minutes=5)
# No balancing authority comes near this (the whole US peaks near 760 GW): a larger value is a
# unit or parsing error, never a measurement, and would swamp every sum and average it enters.
MAX_PLAUSIBLE_MW = 1_000_000.0


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
        note(anomalies, source, "negative_generation",
             f"{len(negative)} negative readings ({fuels}) stored as reported, left out of intensity",
             len(negative))
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
        note(anomalies, source, "missing_value", f"{int(missing.sum())} readings without a value skipped",
             int(missing.sum()))
        frame = frame[~missing]

    frame = _plausible(source, frame, anomalies)

    future = frame["timestamp"] > pd.Timestamp(now) + FUTURE_TOLERANCE
    if future.any():
        first = frame.loc[future, "timestamp"].min()
        note(anomalies, source, "future_timestamp",
             f"{int(future.sum())} readings dated in the future (from {first.isoformat()}) rejected",
             int(future.sum()))
        frame = frame[~future]

    repeated = frame.duplicated(subset=key, keep="last")
    if repeated.any():
        note(anomalies, source, "duplicate_interval",
             f"{int(repeated.sum())} readings repeat an interval already in the batch; kept the last",
             int(repeated.sum()))
        frame = frame[~repeated]
    return frame.reset_index(drop=True)


def _plausible(source: str, frame: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Drop (and count) infinite values and values beyond MAX_PLAUSIBLE_MW either way."""
    mw = frame["mw"].to_numpy(dtype="float64")
    infinite = ~np.isfinite(mw)
    absurd = ~infinite & (np.abs(mw) > MAX_PLAUSIBLE_MW)
    for mask, kind, what in ((infinite, "non_finite_value", "infinite values"),
                             (absurd, "implausible_value", f"values beyond {MAX_PLAUSIBLE_MW:,.0f} MW")):
        if mask.any():
            example = frame.loc[mask].iloc[0]
            note(anomalies, source, kind, f"{int(mask.sum())} {what} rejected, e.g. {example['mw']} MW for "
                 f"{example['region']} at {pd.Timestamp(example['timestamp']).isoformat()}", int(mask.sum()))
    return frame[~(infinite | absurd)]


def anomaly_counts(anomalies: list[Anomaly]) -> dict[str, int]:
    """Totals by kind, as stored with the crawl run."""
    counts: Counter[str] = Counter()
    for anomaly in anomalies:
        counts[anomaly.kind] += anomaly.count
    return dict(counts)
