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
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

READING_COLUMNS = ["region", "timestamp", "fuel", "mw"]
# Cells a body lists but whose value cannot be used (missing, non-finite, implausible), found
# by crawler/validate.py: never written, and never the cause of deleting a stored value.
REJECTED_COLUMNS = ["region", "timestamp", "fuel", "kind"]
# Cells stored as the source said but known to be wrong (a parser's source-specific check,
# e.g. EIA-930 filing nuclear under OTH): the intensity uses an estimate in their place.
FLAGGED_COLUMNS = ["region", "timestamp", "fuel", "kind"]
NET_IMPORT_COLUMNS = ["region", "timestamp", "mw"]
# Intensity reported as intensity (Electricity Maps); NaN where a body did not carry a column.
REPORTED_COLUMNS = ["zone", "timestamp", "lifecycle_g_per_kwh", "direct_g_per_kwh", "renewable_share",
                    "low_carbon_share", "estimated", "estimation_method"]
# Marginal intensity (WattTime MOER) in g/kWh: never mixed with average intensity. Each row
# carries its interval's length: a provider's regions differ (WattTime: 5-minute or hourly).
MARGINAL_COLUMNS = ["zone", "timestamp", "moer_g_per_kwh", "signal_index", "forecast_issued_at", "interval_minutes"]
# Total load of a region (ENTSO-E A65, Hydro-Québec's demand), MW: not generation.
LOAD_COLUMNS = ["region", "timestamp", "mw"]
# Physical flow across a border, from one region into another (ENTSO-E A11), MW, never negative.
FLOW_COLUMNS = ["from_region", "to_region", "timestamp", "mw"]
# Forecast inputs (README "Forecast inputs"): every row carries the time it was issued (UTC).
# Grid operators' own forecasts in MW of one kind, by our region id and target interval start.
OPERATOR_FORECAST_COLUMNS = ["region", "issued_at", "timestamp", "kind", "mw"]
OPERATOR_FORECAST_KINDS = ("load", "wind", "solar")
# Weather forecasts by point of energy_data/data/weather_points.csv, one column per variable:
# wind speeds in m/s, temperature and dew point in degrees C, short-wave radiation in W/m2,
# cloud cover in %, precipitation in mm over the hour.
WEATHER_VARIABLES = ("wind_speed_10m", "wind_speed_100m", "temperature_2m", "dew_point_2m",
                     "shortwave_radiation", "cloud_cover", "precipitation")
WEATHER_FORECAST_COLUMNS = ["point", "issued_at", "timestamp", *WEATHER_VARIABLES]
# No balancing authority comes near this (the whole US peaks near 760 GW): a larger value is a
# unit or parsing error, never a measurement, and would swamp every sum and average it enters.
MAX_PLAUSIBLE_MW = 1_000_000.0


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

    readings: pd.DataFrame  # mw infinite or beyond MAX_PLAUSIBLE_MW: listed, unusable (validate rejects it)
    interval_minutes: int
    net_imports: pd.DataFrame = field(default_factory=lambda: empty_frame(NET_IMPORT_COLUMNS))
    anomalies: list[Anomaly] = field(default_factory=list)
    # Each interval in `readings` lists every fuel its source reports for it, so a stored fuel
    # it lacks was dropped by a revision. False where one body holds only some fuels (ERCOT).
    complete_intervals: bool = True
    # Sources that report intensity rather than a mix (Electricity Maps, WattTime) fill these;
    # zone_names names zones (provider keys) that are no region of ours yet.
    reported: pd.DataFrame = field(default_factory=lambda: empty_frame(REPORTED_COLUMNS))
    marginal: pd.DataFrame = field(default_factory=lambda: empty_frame(MARGINAL_COLUMNS))
    zone_names: dict[str, str] = field(default_factory=dict)
    load: pd.DataFrame = field(default_factory=lambda: empty_frame(LOAD_COLUMNS))
    flows: pd.DataFrame = field(default_factory=lambda: empty_frame(FLOW_COLUMNS))
    # Forecast inputs, each row with its issue time (OPERATOR_FORECAST_COLUMNS, WEATHER_FORECAST_COLUMNS).
    operator_forecasts: pd.DataFrame = field(default_factory=lambda: empty_frame(OPERATOR_FORECAST_COLUMNS))
    weather_forecasts: pd.DataFrame = field(default_factory=lambda: empty_frame(WEATHER_FORECAST_COLUMNS))
    rejected: pd.DataFrame = field(default_factory=lambda: empty_frame(REJECTED_COLUMNS))
    flagged: pd.DataFrame = field(default_factory=lambda: empty_frame(FLAGGED_COLUMNS))

    def __post_init__(self) -> None:
        # A fuel the body lists without a value (a blank cell, a null, or a folded sum with such
        # a part) is no reading: it moves to `rejected`, where it keeps a stored value.
        missing = self.readings["mw"].isna().to_numpy() if "mw" in self.readings else None
        if missing is not None and missing.any():
            cells = self.readings[missing][["region", "timestamp", "fuel"]].assign(kind="missing_value")
            self.rejected = pd.concat([self.rejected, cells], ignore_index=True) if len(self.rejected) else \
                cells.reset_index(drop=True)
            self.readings = self.readings[~missing].reset_index(drop=True)

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
            complete_intervals=all(r.complete_intervals for r in results),
            reported=combine_partial(_concat([r.reported for r in results], REPORTED_COLUMNS)),
            marginal=combine_marginal(_concat([r.marginal for r in results], MARGINAL_COLUMNS)),
            zone_names={k: v for r in results for k, v in r.zone_names.items()},
            load=_concat([r.load for r in results], LOAD_COLUMNS),
            flows=_concat([r.flows for r in results], FLOW_COLUMNS),
            operator_forecasts=_concat([r.operator_forecasts for r in results], OPERATOR_FORECAST_COLUMNS),
            weather_forecasts=_concat([r.weather_forecasts for r in results], WEATHER_FORECAST_COLUMNS),
            rejected=_concat([r.rejected for r in results], REJECTED_COLUMNS),
            flagged=_concat([r.flagged for r in results], FLAGGED_COLUMNS),
        )

    def has_forecast_inputs(self) -> bool:
        return not (self.operator_forecasts.empty and self.weather_forecasts.empty)


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
    if "issued_at" in frame:
        frame["issued_at"] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame


_EMPTY_NET_IMPORTS = empty_frame(NET_IMPORT_COLUMNS)


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame(columns)
    return pd.concat(frames, ignore_index=True)[columns]


def map_fuels(
    labels: pd.Series, mapping: Mapping[str, str], source: str, anomalies: list[Anomaly]
) -> pd.Series:
    """Map a source's fuel labels to the vocabulary; unknown labels become `unknown`, noted.

    Matching ignores case and surrounding spaces, since ISOs change capitalisation.
    """
    codes, distinct = pd.factorize(labels, use_na_sentinel=False)
    codes, fuels = map_codes(codes, list(distinct), mapping, source, anomalies)
    return pd.Series(pd.array(fuels, dtype="str").take(codes), index=labels.index)


def fuels_of(labels: Sequence, mapping: Mapping[str, str], source: str, anomalies: list[Anomaly]) -> list:
    """`map_fuels` of a few labels (a header's columns), as a list."""
    codes, distinct = pd.factorize(pd.Series(labels, dtype=object), use_na_sentinel=False)
    codes, fuels = map_codes(codes, list(distinct), mapping, source, anomalies)
    return [fuels[code] for code in codes]


def map_codes(codes: np.ndarray, labels: list, mapping: Mapping[str, str], source: str,
              anomalies: list[Anomaly]) -> tuple[np.ndarray, list]:
    """The fuels of rows whose labels are labels[codes], as (codes, fuels): row i's fuel is
    fuels[codes[i]]. Each distinct label is mapped once; an unknown one is noted once, with
    its number of rows, in the order labels first appear."""
    codes = np.asarray(codes, dtype="intp")
    present, first = np.unique(codes, return_index=True)
    rows = np.bincount(codes, minlength=len(labels))
    normalised = {k.strip().lower(): v for k, v in mapping.items()}
    fuels: list = [None] * len(labels)
    unknown: Counter[str] = Counter()
    for code in present[np.argsort(first)]:
        fuels[code] = normalised.get(str(labels[code]).strip().lower())
        if fuels[code] is None:
            fuels[code] = "unknown"
            unknown[str(labels[code])] += int(rows[code])
    for label, count in unknown.items():
        note(anomalies, source, "unknown_fuel", f"unknown fuel label {label!r} stored as 'unknown'", count)
    return codes, fuels


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


def fold_fuels(frame: pd.DataFrame, labels: pd.Series | None = None) -> pd.DataFrame:
    """Sum the labels that map to one fuel (small + large hydro -> hydro) per region and time,
    sorted by region, time and fuel. Expects columns region, timestamp, fuel, mw; rows without
    a time are dropped. Each part is checked before it is summed (`unusable_parts`, per source
    label when `labels` gives them, else per fuel): a fuel with an unusable part takes that
    part's value (NaN, infinite or absurd), so that validation rejects the fuel as a whole
    instead of storing the sum of its other parts as if it were complete."""
    codes, distinct = pd.factorize(frame["fuel"] if labels is None else labels, use_na_sentinel=False)
    if labels is None:
        fuels = list(distinct)
    else:
        first_rows = np.unique(codes, return_index=True)[1]
        fuels = list(frame["fuel"].to_numpy()[first_rows])
    regions = frame["region"].unique()
    if len(regions) == 1 and isinstance(regions[0], str):
        return fold(regions[0], pd.DatetimeIndex(frame["timestamp"]), codes, fuels, frame["mw"].to_numpy())
    return _grouped_sum(frame, codes)


def unusable_parts(codes: np.ndarray, mw: np.ndarray) -> np.ndarray:
    """Per row (label codes[i], value mw[i]): the value is infinite, beyond MAX_PLAUSIBLE_MW, or
    missing although the same label has a value in another row of the body. A label missing
    everywhere (a column the body leaves blank throughout) is no part at all, not a bad one."""
    mw = np.asarray(mw)
    if mw.dtype.kind != "f":
        return np.abs(mw.astype("float64")) > MAX_PLAUSIBLE_MW if mw.dtype.kind in "iu" else \
            np.zeros(len(mw), dtype=bool)
    missing = np.isnan(mw)
    with np.errstate(invalid="ignore"):
        bad = np.isinf(mw) | (np.abs(mw) > MAX_PLAUSIBLE_MW)
    if missing.any():
        codes = np.asarray(codes, dtype="intp")
        valued = np.bincount(codes[~missing], minlength=int(codes.max(initial=-1)) + 1) > 0
        bad |= missing & valued[codes]
    return bad


def fold(region: str, starts: pd.DatetimeIndex, codes: np.ndarray, fuels: Sequence,
         mw: np.ndarray) -> pd.DataFrame:
    """`fold_fuels` of the frame of one region whose row i is (region, starts[i],
    fuels[codes[i]], mw[i]), without building it: each time and fuel is numbered once and
    pandas sums the numbered groups, in row order, as its groupby on the frame would."""
    starts = pd.DatetimeIndex(starts)
    codes = np.asarray(codes, dtype="intp")
    used = [fuels[code] for code in np.flatnonzero(np.bincount(codes, minlength=len(fuels)))]
    if np.asarray(mw).dtype.kind != "f" or not all(isinstance(fuel, str) for fuel in used) \
            or starts.isna().all():
        # Whole numbers (groupby keeps them integers), odd labels or no time: the frame's groupby.
        return _grouped_sum(pd.DataFrame({"region": region, "timestamp": starts,
                                          "fuel": np.array(list(fuels), dtype=object)[codes], "mw": mw}), codes)
    mw = np.asarray(mw, dtype="float64")
    names = sorted(set(used))  # the order groupby sorts strings in
    rank = {name: i for i, name in enumerate(names)}
    fuel_codes = np.array([rank.get(fuel, -1) for fuel in fuels], dtype="int64")[codes]
    bad = unusable_parts(codes, mw)
    keep = ~np.isnan(mw) | bad
    if not keep.any():
        return empty_frame(READING_COLUMNS)
    stamps, fuel_codes, values, bad = starts.asi8[keep], fuel_codes[keep], mw[keep], bad[keep]
    timed = ~starts.isna()[keep]
    times, time_codes = np.unique(stamps[timed], return_inverse=True)
    keys, groups = np.unique(time_codes * len(names) + fuel_codes[timed], return_inverse=True)
    # groupby's group numbers row by row (NaN where it drops the row): the same numbers in
    # the same order make pandas sum each group the same way, to the last bit.
    if timed.all():
        numbers = groups
    else:
        numbers = np.full(len(values), np.nan)
        numbers[timed] = groups
    if bad.any():
        # Summed without the bad parts (skipped like NaN, so the others add up exactly as
        # before), then each group with a bad part takes its first bad part's value.
        sums = pd.Series(np.where(bad, np.nan, values)).groupby(numbers, sort=True).sum().to_numpy(copy=True)
        tainted = bad & timed
        first = np.unique(np.asarray(numbers)[tainted].astype("int64"), return_index=True)
        sums[first[0]] = values[tainted][first[1]]
    else:
        sums = pd.Series(values).groupby(numbers, sort=True).sum().to_numpy()
    timestamps = pd.DatetimeIndex(times[keys // len(names)].view(f"M8[{starts.unit}]")).tz_localize(starts.tz)
    return pd.DataFrame({"region": region, "timestamp": timestamps,
                         "fuel": pd.array(names, dtype="str").take(keys % len(names)),
                         "mw": sums})


def _grouped_sum(frame: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
    """The groupby of `fold` (codes: each row's label), with its treatment of unusable parts."""
    bad = unusable_parts(codes, frame["mw"].to_numpy())
    keep = frame["mw"].notna().to_numpy() | bad
    frame, bad = frame[keep], bad[keep]
    key = ["region", "timestamp", "fuel"]
    if not bad.any():
        summed = frame.groupby(key, sort=True, as_index=False)["mw"].sum()
        return summed[READING_COLUMNS].reset_index(drop=True)
    keyed = frame[key].notna().all(axis=1).to_numpy()
    frame, bad = frame[keyed], bad[keyed]
    values = frame["mw"].to_numpy(dtype="float64")
    grouped = frame.assign(mw=np.where(bad, np.nan, values)).groupby(key, sort=True)
    summed = grouped["mw"].sum().reset_index()
    numbers = grouped.ngroup().to_numpy()
    first = np.unique(numbers[bad], return_index=True)
    sums = summed["mw"].to_numpy(copy=True)
    sums[first[0]] = values[bad][first[1]]
    return summed.assign(mw=sums)[READING_COLUMNS].reset_index(drop=True)


def no_net_imports() -> pd.DataFrame:
    """A new `empty_frame(NET_IMPORT_COLUMNS)`, copied from a built one (a twentieth of the cost)."""
    return _EMPTY_NET_IMPORTS.copy()


def wide_readings(values: pd.DataFrame, region: str, mapping: Mapping[str, str], source: str,
                  anomalies: list[Anomaly]) -> pd.DataFrame:
    """A wide table (index `timestamp`: interval starts; one column per label) as folded
    readings of `region`: labels mapped, cells without a value dropped, a label repeated
    within one interval keeping its last value (noted)."""
    fuels = map_fuels(pd.Series(values.columns), mapping, source, anomalies)
    long = values.reset_index().melt(id_vars="timestamp", var_name="label", value_name="mw")
    long = long.assign(region=region, fuel=long["label"].map(dict(zip(values.columns, fuels))))
    blank = long["mw"].isna()
    valued = drop_duplicate_labels(long[~blank], ["timestamp", "label"], source, anomalies)
    # Blank cells stay, as missing parts (`fold`), where the interval has no value of that label.
    blank = long[blank].drop_duplicates(["timestamp", "label"])
    blank = blank[~pd.MultiIndex.from_frame(blank[["timestamp", "label"]]).isin(
        pd.MultiIndex.from_frame(valued[["timestamp", "label"]]))]
    long = pd.concat([valued, blank]).sort_index() if len(blank) else valued
    if long.empty or long["mw"].isna().all():
        return empty_frame(READING_COLUMNS)
    return fold_fuels(long[READING_COLUMNS], long["label"])


def net_imports_of(region: str, imports: pd.Series | None) -> pd.DataFrame:
    """A series of net imports (index: interval starts) as net-import rows of `region`: missing
    values dropped, the last of a repeated interval kept."""
    if imports is None or imports.dropna().empty:
        return empty_frame(NET_IMPORT_COLUMNS)
    imports = imports.dropna()
    imports = imports[~imports.index.duplicated(keep="last")]
    return pd.DataFrame({"region": region, "timestamp": imports.index, "mw": imports.to_numpy()})


def drop_duplicate_labels(
    frame: pd.DataFrame, key: list[str], source: str, anomalies: list[Anomaly]
) -> pd.DataFrame:
    """Keep the last of rows repeating `key` (the same label twice for one interval)."""
    duplicated = frame.duplicated(subset=key, keep="last")
    _note_repeated(anomalies, source, int(duplicated.sum()))
    return frame[~duplicated]


def fold_rows(region: str, starts: pd.DatetimeIndex, label_codes: np.ndarray, labels: list,
              mw: np.ndarray, mapping: Mapping[str, str], source: str, anomalies: list[Anomaly],
              null: np.ndarray | None = None, null_text: str = "value",
              interval: timedelta | None = None) -> pd.DataFrame:
    """Readable rows as arrays (row i: starts[i], labels[label_codes[i]], mw[i]) to folded
    readings of `region`: of rows repeating an interval and label the last is kept, noted;
    rows flagged `null` (the source sent no value) are noted and folded as missing values
    (`fold`: the fuel is rejected, so no stored value is replaced by a partial one); with
    `interval`, the intervals without any value between the first and the last are noted."""
    repeated = pd.Series(pd.factorize(starts)[0] * len(labels) + label_codes).duplicated(keep="last").to_numpy()
    _note_repeated(anomalies, source, int(repeated.sum()))
    if null is not None and null[~repeated].any():
        skipped = int(null[~repeated].sum())
        note(anomalies, source, "missing_value", f"{skipped} rows with a null {null_text}: no value taken "
             "(a stored one is kept)", skipped)
        mw = np.where(null, np.nan, np.asarray(mw, dtype="float64"))
    if repeated.any():
        starts, label_codes, mw = starts[~repeated], label_codes[~repeated], mw[~repeated]
    if not len(starts):
        return empty_frame(READING_COLUMNS)
    if interval is not None:
        valued = ~np.isnan(np.asarray(mw, dtype="float64"))
        if valued.any():
            note_gaps(anomalies, source, starts[valued], interval)
    codes, fuels = map_codes(label_codes, labels, mapping, source, anomalies)
    return fold(region, starts, codes, fuels, mw)


def _note_repeated(anomalies: list[Anomaly], source: str, count: int) -> None:
    if count:
        note(anomalies, source, "duplicate_interval",
             f"{count} repeated rows for the same interval and label; kept the last", count)
