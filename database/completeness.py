"""Which intervals of a series are whole, which need an estimate, which are gaps: the one
implementation of README "Bad input" (completeness and estimation), pure and vectorised.

For each (region, source) and each interval the source reported (a stored reading, or a cell
of the current body whose value was rejected):

- Expected fuels: those the source listed (with a value, or a rejected one) in at least
  EXPECTED_SHARE of its reported intervals within EXPECTED_WINDOW either side.
- Anomalies: cells stored as the source said but not taken as measured: a fuel that falls to a
  tenth of both its neighbours, of substance, and comes back (SUDDEN_DROP), a single-interval
  spike (SPIKE_*), a fuel
  that falls with the interval's total to under half of both neighbours (TOTAL_DROP), a large
  negative value of a fuel that cannot consume (NEGATIVE_*), and what a parser flagged with
  its source's knowledge (EIA-930 filing nuclear under OTH). Neighbours are the adjacent
  intervals (one interval length away), both required.
- An expected fuel absent or rejected whose nearest values (its estimate, else its nearest
  usable values within EXPECTED_WINDOW) are under MATERIAL_SHARE of the interval's total is
  taken as not generating: some sources (ISO-NE) leave out a fuel at zero.
- Every other expected fuel without a usable value (absent, rejected or anomalous) is estimated:
  interpolated in time between the same fuel's nearest usable values when both lie within
  `interpolation_bound()`, else its usable value 24 h before; an interval with no usable value
  at all is only interpolated. An interval with a fuel that cannot be estimated is missing:
  no intensity is computed from its partial mix.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

EXPECTED_WINDOW = timedelta(hours=12)
EXPECTED_SHARE = 0.75
PREVIOUS_DAY = timedelta(hours=24)
# Neighbour tests. A fuel is "of substance" in an interval at NEIGHBOUR_MIN_MW or more.
NEIGHBOUR_MIN_MW = 100.0
SUDDEN_DROP = 0.1  # at most this share of the lower neighbour
MATERIAL_SHARE = 0.01  # of the interval's total: an absent fuel below it is taken as not generating
SPIKE_FACTOR, SPIKE_TOTAL_SHARE = 2.0, 0.1  # over twice the higher neighbour, by a tenth of the total
TOTAL_DROP = 0.5  # the total under half of both neighbours' totals, the fuel under half of both its own
NEGATIVE_MW, NEGATIVE_TOTAL_SHARE = 50.0, 0.01  # below -max(50 MW, 1 % of the interval's total)
# Fuels whose negative values are real consumption or a mixed category: hydro (EIA-930's WAT
# includes pumped storage), other and unknown; storage is always exempt.
NEGATIVE_EXEMPT = ("hydro", "other", "unknown")

INTERPOLATED, PREVIOUS_DAY_METHOD = "interpolated", "previous_day"
METHODS = ("", INTERPOLATED, PREVIOUS_DAY_METHOD)  # by code; an interval takes its weakest (highest)
# Anomaly kinds by code (0: none); the first ones are the neighbour tests, then the parsers' kinds.
RULE_KINDS = ("", "sudden_drop", "single_interval_spike", "total_drop", "large_negative_generation")
MISSING_FUEL = "missing_fuel"  # an expected fuel the interval does not list at all


def interpolation_bound(interval_minutes: int) -> timedelta:
    """How far each usable neighbour may lie from an interval estimated between them: 1 h for
    intervals of up to 15 minutes, 3 intervals (3 h for hourly data) for longer ones."""
    return max(timedelta(hours=1), 3 * timedelta(minutes=int(interval_minutes)))


@dataclass(frozen=True)
class FuelKinds:
    """Fuel ids by what the rules need to know of them."""

    storage: frozenset[int]
    negative_exempt: frozenset[int]


@dataclass
class Evaluation:
    """The served mixes, the estimates in them, each reported interval's state, the anomalies."""

    effective: pd.DataFrame  # region_id, ts, fuel_id, mw, interval_minutes: complete and estimated intervals
    estimates: pd.DataFrame  # region_id, ts, fuel_id, mw, interval_minutes, method
    states: pd.DataFrame  # region_id, ts, missing, estimated, method (None unless estimated)
    anomalies: pd.DataFrame  # region_id, ts, fuel_id, kind: cells not taken as measured


EFFECTIVE_COLUMNS = ["region_id", "ts", "fuel_id", "mw", "interval_minutes"]
ESTIMATE_COLUMNS = [*EFFECTIVE_COLUMNS, "method"]
STATE_COLUMNS = ["region_id", "ts", "missing", "estimated", "method"]
ANOMALY_COLUMNS = ["region_id", "ts", "fuel_id", "kind"]


def evaluate(measured: pd.DataFrame, rejected: pd.DataFrame, flagged: pd.DataFrame, interval_minutes: int,
             fuels: FuelKinds) -> Evaluation:
    """Evaluate every interval of the frames (one source).

    measured: region_id, ts, fuel_id, mw, interval_minutes: every stored reading of the span,
              and enough around it (EXPECTED_WINDOW and PREVIOUS_DAY) for the rules to see
    rejected: region_id, ts, fuel_id: cells of the current body whose value was rejected
    flagged:  region_id, ts, fuel_id, kind: stored readings a parser marked as wrong
    """
    parts = [_region(int(region_id), group, rejected[rejected["region_id"] == region_id],
                     flagged[flagged["region_id"] == region_id], interval_minutes, fuels)
             for region_id, group in _by_region(measured, rejected)]
    if not parts:
        return Evaluation(*(pd.DataFrame(columns=c) for c in
                            (EFFECTIVE_COLUMNS, ESTIMATE_COLUMNS, STATE_COLUMNS, ANOMALY_COLUMNS)))
    return Evaluation(*(pd.concat([p[i] for p in parts], ignore_index=True) for i in range(4)))


def _by_region(measured: pd.DataFrame, rejected: pd.DataFrame):
    regions = sorted(set(measured["region_id"].unique()) | set(rejected["region_id"].unique()))
    if len(regions) == 1:
        yield regions[0], measured
        return
    groups = dict(list(measured.groupby("region_id", sort=True)))
    for region_id in regions:
        yield region_id, groups.get(region_id, measured.iloc[:0])


def _region(region_id: int, measured: pd.DataFrame, rejected: pd.DataFrame, flagged: pd.DataFrame,
            interval_minutes: int, kinds: FuelKinds) -> tuple[pd.DataFrame, ...]:
    """The four frames of one region (see evaluate)."""
    ts = _ns(measured["ts"])
    rejected_ts = _ns(rejected["ts"])
    times = _distinct(np.concatenate([ts, rejected_ts]))
    fuel_ids = _distinct(np.concatenate([measured["fuel_id"].to_numpy(dtype="int64"),
                                         rejected["fuel_id"].to_numpy(dtype="int64")]))
    count, width = len(times), len(fuel_ids)
    rows, cols = np.searchsorted(times, ts), np.searchsorted(fuel_ids, measured["fuel_id"].to_numpy(dtype="int64"))
    values = np.full((count, width), np.nan)
    values[rows, cols] = measured["mw"].to_numpy(dtype="float64")
    present = ~np.isnan(values)
    listed = present.copy()
    listed[np.searchsorted(times, rejected_ts), np.searchsorted(fuel_ids, rejected["fuel_id"].to_numpy(dtype="int64"))] = True
    minutes = np.full(count, int(interval_minutes), dtype="int64")
    lengths = measured["interval_minutes"].to_numpy(dtype="int64")
    longer = lengths > interval_minutes
    if longer.any():  # the rare reading of a longer interval than the source's
        np.maximum.at(minutes, rows[longer], lengths[longer])

    expected = _expected(times, listed)
    rule = _rule_anomalies(times, values, present, fuel_ids, interval_minutes, kinds)
    flags = np.zeros((count, width), dtype=bool)
    flag_kind = np.full((count, width), "", dtype=object)
    if len(flagged):
        f_ts, f_fuel = _ns(flagged["ts"]), flagged["fuel_id"].to_numpy(dtype="int64")
        inside = np.isin(f_ts, times) & np.isin(f_fuel, fuel_ids)
        f_rows, f_cols = np.searchsorted(times, f_ts[inside]), np.searchsorted(fuel_ids, f_fuel[inside])
        flags[f_rows, f_cols] = True
        flag_kind[f_rows, f_cols] = flagged["kind"].to_numpy(dtype=object)[inside]
    anomalous = present & ((rule > 0) | flags)
    usable = present & ~anomalous
    needed = (expected | anomalous) & ~usable
    estimate, method = _estimates(times, values, usable, needed, interpolation_bound(interval_minutes))
    if (needed & ~present).any():
        needed &= ~(~present & _immaterial(times, values, usable, estimate, method, kinds, fuel_ids))
    unresolved = needed & (method == 0)
    missing = unresolved.any(axis=1)
    estimated = needed.any(axis=1) & ~missing
    served = ~missing

    effective_mask = (usable | (needed & (method > 0))) & served[:, None]
    effective_values = np.where(usable, values, estimate)
    e_rows, e_cols = np.nonzero(effective_mask)
    effective = pd.DataFrame({"region_id": np.int16(region_id), "ts": _utc(times[e_rows]),
                              "fuel_id": fuel_ids[e_cols].astype("int16"), "mw": effective_values[e_rows, e_cols],
                              "interval_minutes": minutes[e_rows].astype("int16")})
    s_rows, s_cols = np.nonzero(needed & (method > 0) & served[:, None])
    estimates = pd.DataFrame({"region_id": np.int16(region_id), "ts": _utc(times[s_rows]),
                              "fuel_id": fuel_ids[s_cols].astype("int16"), "mw": estimate[s_rows, s_cols],
                              "interval_minutes": minutes[s_rows].astype("int16"),
                              "method": np.array(METHODS, dtype=object)[method[s_rows, s_cols]]})
    weakest = np.where(needed, method, 0).max(axis=1) if width else np.zeros(count, dtype="int64")
    states = pd.DataFrame({"region_id": np.int16(region_id), "ts": _utc(times), "missing": missing,
                           "estimated": estimated,
                           "method": np.where(estimated, np.array(METHODS, dtype=object)[weakest], None)})
    kind = np.where(flags & present, flag_kind, np.array(RULE_KINDS, dtype=object)[rule])
    kind = np.where(needed & ~listed, MISSING_FUEL, kind)
    kind = np.where(needed & listed & ~present, "rejected_value", kind)
    a_rows, a_cols = np.nonzero(needed)
    anomalies = pd.DataFrame({"region_id": np.int16(region_id), "ts": _utc(times[a_rows]),
                              "fuel_id": fuel_ids[a_cols].astype("int16"), "kind": kind[a_rows, a_cols]})
    return effective, estimates, states, anomalies


def _distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values (pandas' hash table, then a sort of the few it leaves)."""
    return np.sort(pd.unique(values))


def _ns(column: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(pd.to_datetime(column, utc=True)).as_unit("ns").asi8


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")


def _expected(times: np.ndarray, listed: np.ndarray) -> np.ndarray:
    """Per interval and fuel: listed in at least EXPECTED_SHARE of the reported intervals
    within EXPECTED_WINDOW either side."""
    window = int(EXPECTED_WINDOW.total_seconds() * 1e9)
    cumulative = np.vstack([np.zeros((1, listed.shape[1]), dtype="int64"), np.cumsum(listed, axis=0)])
    low = np.searchsorted(times, times - window, side="left")
    high = np.searchsorted(times, times + window, side="right")
    share = (cumulative[high] - cumulative[low]) / (high - low)[:, None]
    return share >= EXPECTED_SHARE


def _rule_anomalies(times: np.ndarray, values: np.ndarray, present: np.ndarray, fuel_ids: np.ndarray,
                    interval_minutes: int, kinds: FuelKinds) -> np.ndarray:
    """Per cell the code (RULE_KINDS) of the first neighbour test it fails, 0 when none."""
    count = len(times)
    codes = np.zeros(values.shape, dtype="int64")
    if count == 0:
        return codes
    storage = np.isin(fuel_ids, list(kinds.storage))
    generation = np.where(present & (values > 0) & ~storage, values, 0.0).sum(axis=1)
    step = int(interval_minutes) * 60 * 10**9
    adjacent = np.diff(times) == step
    before, after = _shifted(values, adjacent, 1), _shifted(values, adjacent, -1)
    total_before = _shifted(generation[:, None], adjacent, 1)[:, 0]
    total_after = _shifted(generation[:, None], adjacent, -1)[:, 0]
    with np.errstate(invalid="ignore"):
        both = present & ~np.isnan(before) & ~np.isnan(after) & ~storage
        low, high = np.fmin(before, after), np.fmax(before, after)
        substantial = both & (low >= NEIGHBOUR_MIN_MW)
        neighbour_total = ((total_before + total_after) / 2)[:, None]
        tests = (
            substantial & (values <= SUDDEN_DROP * low),
            both & (values > SPIKE_FACTOR * high)
            & (values - high >= np.maximum(NEIGHBOUR_MIN_MW, SPIKE_TOTAL_SHARE * neighbour_total)),
            substantial & (generation < TOTAL_DROP * np.fmin(total_before, total_after))[:, None]
            & (values < TOTAL_DROP * low),
            present & ~storage[None, :] & ~np.isin(fuel_ids, list(kinds.negative_exempt))[None, :]
            & (values < -np.maximum(NEGATIVE_MW, NEGATIVE_TOTAL_SHARE * generation)[:, None]),
        )
    for code, failed in enumerate(tests, start=1):
        codes = np.where((codes == 0) & failed, code, codes)
    return codes


def _immaterial(times: np.ndarray, values: np.ndarray, usable: np.ndarray, estimate: np.ndarray,
               method: np.ndarray, kinds: FuelKinds, fuel_ids: np.ndarray) -> np.ndarray:
    """Per cell: the fuel's estimate, or without one its nearest usable values within
    EXPECTED_WINDOW, are under MATERIAL_SHARE of the interval's usable total generation."""
    count = len(times)
    storage = np.isin(fuel_ids, list(kinds.storage))
    total = np.where(usable & (values > 0) & ~storage, values, 0.0).sum(axis=1)[:, None]
    index = np.broadcast_to(np.arange(count)[:, None], values.shape)
    before = np.maximum.accumulate(np.where(usable, index, -1), axis=0)
    after = np.minimum.accumulate(np.where(usable, index, count)[::-1], axis=0)[::-1]
    columns = np.broadcast_to(np.arange(values.shape[1])[None, :], values.shape)
    window = int(EXPECTED_WINDOW.total_seconds() * 1e9)
    near = []
    for rows, found in ((before, before >= 0), (after, after < count)):
        rows = np.clip(rows, 0, count - 1)
        found = found & (np.abs(times[rows] - times[:, None]) <= window)
        near.append(np.where(found, np.abs(values[rows, columns]), np.nan))
    with np.errstate(invalid="ignore"):
        nearest = np.fmax(near[0], near[1])
        level = np.where(method > 0, np.abs(estimate), nearest)
        return ~np.isnan(level) & (level < MATERIAL_SHARE * total)


def _shifted(values: np.ndarray, adjacent: np.ndarray, direction: int) -> np.ndarray:
    """The row before (direction 1) or after (-1) each row, NaN where it is not adjacent."""
    shifted = np.full(values.shape, np.nan)
    if len(values) < 2:
        return shifted
    if direction == 1:
        shifted[1:] = values[:-1]
        shifted[1:][~adjacent] = np.nan
    else:
        shifted[:-1] = values[1:]
        shifted[:-1][~adjacent] = np.nan
    return shifted


def _estimates(times: np.ndarray, values: np.ndarray, usable: np.ndarray, needed: np.ndarray,
               bound: timedelta) -> tuple[np.ndarray, np.ndarray]:
    """(estimate, method code) per cell of `needed`: interpolation between the nearest usable
    values of the fuel within `bound` either side, else the usable value PREVIOUS_DAY before
    (not for an interval without any usable value); method 0 where neither exists."""
    count, width = values.shape
    estimate = np.full(values.shape, np.nan)
    method = np.zeros(values.shape, dtype="int64")
    if not needed.any():
        return estimate, method
    index = np.broadcast_to(np.arange(count)[:, None], values.shape)
    before = np.maximum.accumulate(np.where(usable, index, -1), axis=0)
    after = np.minimum.accumulate(np.where(usable, index, count)[::-1], axis=0)[::-1]
    has = (before >= 0) & (after < count)
    b, a = np.clip(before, 0, count - 1), np.clip(after, 0, count - 1)
    at = times[:, None]
    limit = int(bound.total_seconds() * 1e9)
    near = has & (at - times[b] <= limit) & (times[a] - at <= limit)
    columns = np.broadcast_to(np.arange(width)[None, :], values.shape)
    low, high = values[b, columns], values[a, columns]
    span = (times[a] - times[b]).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        between = low + (high - low) * np.where(span > 0, (at - times[b]) / np.where(span > 0, span, 1), 0.0)
    interpolated = needed & near
    estimate[interpolated] = between[interpolated]
    method[interpolated] = 1

    day = int(PREVIOUS_DAY.total_seconds() * 1e9)
    earlier = np.searchsorted(times, times - day)
    found = (earlier < count) & (times[np.clip(earlier, 0, count - 1)] == times - day)
    rows = np.clip(earlier, 0, count - 1)
    day_before = np.where(found[:, None] & usable[rows], values[rows], np.nan)
    reported = usable.any(axis=1)[:, None]
    from_day = needed & ~interpolated & ~np.isnan(day_before) & reported
    estimate[from_day] = day_before[from_day]
    method[from_day] = 2
    return estimate, method
