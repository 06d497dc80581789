"""The shapes every parser produces and the crawl engine consumes.

A parser turns one fetched body (a `Payload`) into a `ParseResult`: generation readings
and net imports as pandas frames, plus the anomalies it noticed. Parsers are pure: no
network, no database, no clock.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Mapping

import pandas as pd

log = logging.getLogger(__name__)

from energy_data.fuels import FUELS, STORAGE_FUELS  # noqa: F401  (re-exported for the parsers)

READING_COLUMNS = ["region", "timestamp", "fuel", "mw"]
NET_IMPORT_COLUMNS = ["region", "timestamp", "mw"]
# Intensity reported as intensity (Electricity Maps); NaN where a body did not carry a column.
REPORTED_COLUMNS = ["zone", "timestamp", "lifecycle_g_per_kwh", "direct_g_per_kwh", "renewable_share",
                    "low_carbon_share", "estimated", "estimation_method"]
# Marginal intensity (WattTime MOER) in g/kWh: never mixed with average intensity.
MARGINAL_COLUMNS = ["zone", "timestamp", "moer_g_per_kwh", "signal_index", "forecast_issued_at"]


class ParseError(ValueError):
    """The body cannot be read as the source's format; the message says why, for a human."""


@dataclass(frozen=True)
class Payload:
    """One fetched (or recorded) response body and what is known about where it came from.

    `name` is the URL without secrets, or the file path for recorded files: parsers whose
    format carries no date (CAISO) read the day from it.
    """

    body: bytes
    name: str
    fetched_at: datetime | None = None
    content_type: str | None = None
    http_status: int | None = None


@dataclass(frozen=True)
class Anomaly:
    """Something odd in a body that did not stop the parse: counted, logged, stored with the run."""

    kind: str
    message: str
    count: int = 1


@dataclass
class ParseResult:
    """Readings (interval start, UTC) in MW by region and fuel, net imports in MW by region."""

    readings: pd.DataFrame
    interval_minutes: int
    net_imports: pd.DataFrame = field(default_factory=lambda: empty_frame(NET_IMPORT_COLUMNS))
    anomalies: list[Anomaly] = field(default_factory=list)
    # Sources that report intensity rather than a mix (Electricity Maps, WattTime) fill these;
    # zone_names names zones (provider keys) that are no region of ours yet.
    reported: pd.DataFrame = field(default_factory=lambda: empty_frame(REPORTED_COLUMNS))
    marginal: pd.DataFrame = field(default_factory=lambda: empty_frame(MARGINAL_COLUMNS))
    zone_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def concat(cls, results: Iterable["ParseResult"]) -> "ParseResult":
        """Join the results of several payloads of one source into one batch."""
        results = list(results)
        if not results:
            raise ValueError("nothing to concatenate")
        return cls(
            readings=_concat([r.readings for r in results], READING_COLUMNS),
            net_imports=_concat([r.net_imports for r in results], NET_IMPORT_COLUMNS),
            interval_minutes=results[0].interval_minutes,
            anomalies=[a for r in results for a in r.anomalies],
            reported=combine_partial(_concat([r.reported for r in results], REPORTED_COLUMNS)),
            marginal=combine_marginal(_concat([r.marginal for r in results], MARGINAL_COLUMNS)),
            zone_names={k: v for r in results for k, v in r.zone_names.items()},
        )


def combine_partial(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per zone and time from partial rows (lifecycle, direct and shares come in
    separate bodies): per column the last value that is not missing, so no body blanks
    another's column; `estimated` if any body said so."""
    if rows.empty:
        return rows
    columns = list(rows.columns)
    combined = rows.groupby(["zone", "timestamp"], sort=True, as_index=False).last()
    if "estimated" in columns:
        flags = rows.assign(estimated=rows["estimated"].astype("float64"))
        combined["estimated"] = flags.groupby(["zone", "timestamp"], sort=True)["estimated"].max().to_numpy()
    return combined[columns]


def combine_marginal(rows: pd.DataFrame) -> pd.DataFrame:
    """One marginal row per zone and time: a measured value (no forecast_issued_at) wins over
    any forecast of that time, a newer forecast over an older; the signal index, which comes
    in a body of its own, is kept beside either."""
    if rows.empty:
        return rows
    measured = rows["forecast_issued_at"].isna() & rows["moer_g_per_kwh"].notna()
    ordered = rows.assign(_measured=measured).sort_values(["_measured", "forecast_issued_at"], kind="stable",
                                                          na_position="first")
    combined = ordered.groupby(["zone", "timestamp"], sort=True, as_index=False).last()
    any_measured = ordered.groupby(["zone", "timestamp"], sort=True)["_measured"].any().to_numpy()
    combined.loc[any_measured, "forecast_issued_at"] = pd.NaT
    return combined[list(rows.columns)]


def empty_frame(columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    if "timestamp" in frame:
        frame["timestamp"] = pd.Series(dtype="datetime64[ns, UTC]")
    if "mw" in frame:
        frame["mw"] = pd.Series(dtype="float64")
    return frame


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame(columns)
    return pd.concat(frames, ignore_index=True)[columns]


def map_fuels(
    labels: pd.Series, mapping: Mapping[str, str], source: str, anomalies: list[Anomaly]
) -> pd.Series:
    """Map a source's fuel labels to the vocabulary; unknown labels become `unknown`, logged.

    Matching ignores case and surrounding spaces, since ISOs change capitalisation.
    """
    normalised = {k.strip().lower(): v for k, v in mapping.items()}
    keys = labels.astype(str).str.strip().str.lower()
    fuels = keys.map(normalised)
    unknown = labels[fuels.isna()]
    for label, count in Counter(unknown.astype(str)).items():
        note(anomalies, source, "unknown_fuel", f"unknown fuel label {label!r} stored as 'unknown'", count)
    return fuels.fillna("unknown")


def note(anomalies: list[Anomaly], source: str, kind: str, message: str, count: int = 1,
         level: int = logging.WARNING) -> None:
    """Record an anomaly of `source` and log it, the message prefixed with the source."""
    message = f"{source}: {message}"
    log.log(level, message)
    anomalies.append(Anomaly(kind, message, count))


def note_gaps(anomalies: list[Anomaly], source: str, starts: pd.Series | pd.DatetimeIndex,
              interval: timedelta, where: str = "file") -> None:
    """Count the intervals absent between the first and last start (real files lack a few)."""
    first, last = starts.min(), starts.max()
    missing = (last - first) // interval + 1 - starts.nunique()
    if missing:
        note(anomalies, source, "missing_interval", f"{missing} intervals between {first:%Y-%m-%d %H:%M}Z "
             f"and {last:%Y-%m-%d %H:%M}Z are not in the {where}", missing)


def fold_fuels(frame: pd.DataFrame) -> pd.DataFrame:
    """Sum the labels that map to one fuel (small + large hydro -> hydro) per region and time.

    Expects columns region, timestamp, fuel, mw; rows whose mw is missing are dropped.
    """
    frame = frame.dropna(subset=["mw"])
    summed = frame.groupby(["region", "timestamp", "fuel"], sort=True, as_index=False)["mw"].sum()
    return summed[READING_COLUMNS]


def drop_duplicate_labels(
    frame: pd.DataFrame, key: list[str], source: str, anomalies: list[Anomaly]
) -> pd.DataFrame:
    """Keep the last of rows repeating `key` (the same label twice for one interval)."""
    duplicated = frame.duplicated(subset=key, keep="last")
    count = int(duplicated.sum())
    if count:
        note(anomalies, source, "duplicate_interval",
             f"{count} repeated rows for the same interval and label; kept the last", count)
    return frame[~duplicated]
