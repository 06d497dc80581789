"""Time-weighted arithmetic on series of intervals (start, duration, value), as the Carbon Aware
SDK defines it: the average over a period and the rolling average of its forecasts.

Times are float seconds since 1970 UTC, durations seconds; series are contiguous and oldest
first (the caller's data is). Pure numpy: no Flask, no SQL.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class NotCovered(ValueError):
    """The series does not cover the period asked for."""


@dataclass(frozen=True)
class Intervals:
    starts: np.ndarray  # float64 seconds, oldest first
    durations: np.ndarray  # float64 seconds
    values: np.ndarray  # float64

    @property
    def ends(self) -> np.ndarray:
        return self.starts + self.durations

    def __len__(self) -> int:
        return len(self.starts)

    def overlapping(self, start: float, end: float) -> "Intervals":
        """The intervals that end after `start` and begin at or before `end` (the SDK's
        FilterByDuration: an instant query, start == end, keeps the interval holding it)."""
        keep = (self.ends > start) & (self.starts <= end)
        return Intervals(self.starts[keep], self.durations[keep], self.values[keep])


def _integral(series: Intervals, moment: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
    """The integral of the step function (of `values`, default the series' own) from the first
    start up to each moment, through cumulative sums: O(log n) per moment. A gap between
    intervals adds nothing."""
    values = series.values if values is None else values
    area = np.concatenate(([0.0], np.cumsum(values * series.durations)))
    index = np.clip(np.searchsorted(series.starts, moment, side="right") - 1, 0, len(series) - 1)
    inside = np.clip(moment - series.starts[index], 0.0, series.durations[index])
    return area[index] + inside * values[index]


def _mean_between(series: Intervals, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The time-weighted mean over each [start, end): the value's integral over the covered
    time, so that a gap in the data counts as missing, not as zero."""
    ones = np.ones(len(series))
    covered = _integral(series, ends, ones) - _integral(series, starts, ones)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (_integral(series, ends) - _integral(series, starts)) / covered


def average_over_period(series: Intervals, start: float, end: float) -> float:
    """The time-weighted mean over [start, end) of the time the data covers (a missing interval
    is left out, not counted as zero); NotCovered unless the series holds both ends."""
    if end <= start:
        raise NotCovered("the period is empty: end must be after start")
    if not len(series) or start < series.starts[0] or end > series.ends[-1]:
        raise NotCovered("the data does not cover the requested period")
    return float(_mean_between(series, np.array([start]), np.array([end]))[0])


def rolling_average(series: Intervals, window: float, data_start: float, data_end: float) -> Intervals:
    """Mean over windows of `window` seconds stepping by the first interval's duration from
    `data_start` (or the first start, if later), each one fully covered by the data; windows
    after the first stop at `data_end`, as in the SDK. A window of 0 answers the series as is."""
    if window <= 0 or not len(series):
        return series
    tick = series.durations[0]
    first = max(data_start, series.starts[0])
    last_start = series.ends[-1] - window
    count = int(np.floor((last_start - first) / tick)) + 1 if last_start >= first else 0
    starts = first + tick * np.arange(max(count, 0))
    # Windows after the first end no later than data_end (the SDK checks from the second on).
    starts = starts[(np.arange(len(starts)) == 0) | (starts + window <= data_end)]
    return Intervals(starts, np.full(len(starts), float(window)), _mean_between(series, starts, starts + window))


def optimal(series: Intervals) -> np.ndarray:
    """Indices of every interval with the lowest value (the SDK answers all ties)."""
    return np.flatnonzero(series.values == series.values.min()) if len(series) else np.array([], dtype=int)
