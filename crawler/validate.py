"""Checks between parsing and writing that no parser has to repeat: every oddity becomes a
counted anomaly, and nothing that would be a silently wrong row reaches the database.

A reading whose value cannot be used (missing, non-finite, beyond MAX_PLAUSIBLE_MW) becomes a
rejected cell: the body listed the fuel for the interval, so the write path neither stores
the value nor treats the fuel as dropped (a stored value stays), and the interval's intensity
uses an estimate for it (database/completeness.py)."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from crawler.model import MAX_PLAUSIBLE_MW, REJECTED_COLUMNS, Anomaly, ParseResult, empty_frame, note
from energy_data.fuels import FUELS, STORAGE_FUELS

__all__ = ["FUTURE_TOLERANCE", "MAX_PLAUSIBLE_MW", "anomaly_counts", "validate"]

# Readings whose interval starts later than this after "now" cannot be measurements.
FUTURE_TOLERANCE = timedelta(minutes=5)


def validate(source: str, result: ParseResult, now: datetime) -> ParseResult:
    """Return the result with future, unusable and repeated readings removed and counted, the
    unusable ones (of intervals up to the newest one with a usable value) as rejected cells."""
    anomalies = list(result.anomalies)
    readings, rejected = _checked_readings(source, result.readings, result.rejected, now, anomalies)
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
    return replace(result, readings=readings, net_imports=net_imports, anomalies=anomalies, rejected=rejected,
                   flagged=_utc(source, result.flagged))


def _checked_readings(source: str, frame: pd.DataFrame, rejected: pd.DataFrame, now: datetime,
                      anomalies: list[Anomaly]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(usable readings, rejected cells) of a readings frame and the parser's rejected cells
    (fuels listed without a value)."""
    if frame.empty and rejected.empty:
        return frame, empty_frame(REJECTED_COLUMNS)
    kind = np.concatenate([_unusable_kind(frame["mw"].to_numpy(dtype="float64")),
                           rejected["kind"].to_numpy(dtype=object)])
    frame = _utc(source, pd.concat([frame, rejected[["region", "timestamp", "fuel"]]], ignore_index=True)
                 if len(rejected) else frame)
    future = (frame["timestamp"] > pd.Timestamp(now) + FUTURE_TOLERANCE).to_numpy()
    unusable = kind != ""
    if (future & ~unusable).any():
        first = frame.loc[future & ~unusable, "timestamp"].min()
        count = int((future & ~unusable).sum())
        note(anomalies, source, "future_timestamp",
             f"{count} readings dated in the future (from {first.isoformat()}) rejected", count)
    # Unusable cells in the future, or after the newest interval with a usable value (a
    # file's rows not yet published), are not data: dropped without a word.
    unpublished = future | (unusable & _after_last_value(frame, unusable))
    frame, kind, unusable = frame[~unpublished], kind[~unpublished], unusable[~unpublished]
    repeated = frame.duplicated(subset=["region", "timestamp", "fuel"], keep="last").to_numpy()
    if repeated.any():
        note(anomalies, source, "duplicate_interval",
             f"{int(repeated.sum())} readings repeat an interval already in the batch; kept the last",
             int(repeated.sum()))
        frame, kind, unusable = frame[~repeated], kind[~repeated], unusable[~repeated]
    _note_rejected(source, frame, kind, anomalies)
    rejected = frame[unusable][["region", "timestamp", "fuel"]].assign(kind=kind[unusable])
    return frame[~unusable].reset_index(drop=True), rejected.reset_index(drop=True)


def _unusable_kind(mw: np.ndarray) -> np.ndarray:
    """Per value: "" when usable, else why not (missing_value, non_finite_value, implausible_value)."""
    kind = np.full(len(mw), "", dtype=object)
    with np.errstate(invalid="ignore"):
        kind[np.abs(mw) > MAX_PLAUSIBLE_MW] = "implausible_value"
    kind[np.isinf(mw)] = "non_finite_value"
    kind[np.isnan(mw)] = "missing_value"
    return kind


def _after_last_value(frame: pd.DataFrame, unusable: np.ndarray) -> np.ndarray:
    """Per row: its interval starts after the newest interval of its region with a usable value."""
    newest = frame[~unusable].groupby("region")["timestamp"].max()
    limit = frame["region"].map(newest)
    return (limit.isna() | (frame["timestamp"] > limit)).to_numpy()


def _note_rejected(source: str, frame: pd.DataFrame, kind: np.ndarray, anomalies: list[Anomaly]) -> None:
    """Count non-finite and implausible values (a missing value is the parser's to count: it
    knows whether the cell was empty, null or unreadable)."""
    for name, what in (("non_finite_value", "infinite values"),
                       ("implausible_value", f"values beyond {MAX_PLAUSIBLE_MW:,.0f} MW")):
        mask = kind == name
        if mask.any():
            example = frame[mask].iloc[0]
            note(anomalies, source, name, f"{int(mask.sum())} {what} rejected (stored values kept), e.g. "
                 f"{example['fuel']} {example['mw']} MW for {example['region']} at "
                 f"{pd.Timestamp(example['timestamp']).isoformat()}", int(mask.sum()))


def _utc(source: str, frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    timestamps = pd.to_datetime(frame["timestamp"])
    if timestamps.dt.tz is None:
        raise ValueError(f"{source}: parser produced naive timestamps")
    return frame.assign(timestamp=timestamps.dt.tz_convert("UTC"))


def _checked(source: str, frame: pd.DataFrame, key: list[str], now: datetime,
             anomalies: list[Anomaly]) -> pd.DataFrame:
    """Net imports: missing, non-finite, implausible, future and repeated rows dropped and counted."""
    if frame.empty:
        return frame
    frame = _utc(source, frame)

    missing = frame["mw"].isna()
    if missing.any():
        note(anomalies, source, "missing_value", f"{int(missing.sum())} readings without a value skipped",
             int(missing.sum()))
        frame = frame[~missing]

    kind = _unusable_kind(frame["mw"].to_numpy(dtype="float64"))
    _note_rejected(source, frame.assign(fuel="net import"), kind, anomalies)
    frame = frame[kind == ""]

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


def anomaly_counts(anomalies: list[Anomaly]) -> dict[str, int]:
    """Totals by kind, as stored with the crawl run."""
    counts: Counter[str] = Counter()
    for anomaly in anomalies:
        counts[anomaly.kind] += anomaly.count
    return dict(counts)
