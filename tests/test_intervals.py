"""api/models/intervals.py against brute force: time-weighted averages and the SDK's rolling
windows over step functions, at arbitrary (not slot-aligned) bounds."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.models.intervals import Intervals, NotCovered, average_over_period, optimal, rolling_average

STEP = 300.0


def series(values: list[float]) -> Intervals:
    starts = 1_700_000_000.0 + STEP * np.arange(len(values))
    return Intervals(starts, np.full(len(values), STEP), np.array(values, dtype=float))


def brute_average(s: Intervals, start: float, end: float) -> float:
    """Sample the step function every second and average."""
    moments = np.arange(start, end) + 0.5
    index = np.searchsorted(s.starts, moments, side="right") - 1
    return float(s.values[index].mean())


values = st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(values, st.floats(0, 1), st.floats(0, 1))
def test_average_equals_sampling(vals, a, b):
    s = series(vals)
    low, high = sorted((a, b))
    start = float(np.floor(s.starts[0] + low * (s.ends[-1] - s.starts[0])))
    end = float(np.floor(s.starts[0] + high * (s.ends[-1] - s.starts[0])))
    if end <= start:
        with pytest.raises(NotCovered):
            average_over_period(s, start, end)
        return
    assert average_over_period(s, start, end) == pytest.approx(brute_average(s, start, end), rel=1e-9, abs=1e-9)


def test_average_refuses_a_period_the_data_does_not_cover():
    s = series([1.0, 2.0])
    with pytest.raises(NotCovered):
        average_over_period(s, s.starts[0] - 1, s.ends[-1])


@settings(max_examples=60, deadline=None)
@given(values, st.integers(0, 6), st.integers(0, 299), st.integers(0, 40))
def test_rolling_windows_equal_brute_force(vals, window_steps, offset, end_steps):
    s = series(vals)
    window = window_steps * STEP
    data_start = s.starts[0] + offset
    data_end = s.starts[0] + end_steps * STEP
    rolled = rolling_average(s, window, data_start, data_end)
    if window == 0:
        assert rolled is s
        return
    expected = []
    start = data_start
    while start + window <= s.ends[-1] and (not expected or start + window <= data_end):
        expected.append((start, brute_average(s, start, start + window)))
        start += STEP
    assert list(rolled.starts) == [e[0] for e in expected]
    assert list(rolled.values) == pytest.approx([e[1] for e in expected], rel=1e-9, abs=1e-9)


def test_optimal_answers_every_tie():
    assert list(optimal(series([3.0, 1.0, 2.0, 1.0]))) == [1, 3]


def test_a_gap_in_the_data_is_missing_not_zero():
    """Found by a user: a missing 5-minute interval lowered the SDK's average as if it were 0."""
    s = series([100.0, 200.0, 300.0])
    gappy = Intervals(np.delete(s.starts, 1), np.delete(s.durations, 1), np.delete(s.values, 1))
    assert average_over_period(gappy, gappy.starts[0], gappy.ends[-1]) == pytest.approx(200.0)
    rolled = rolling_average(gappy, 3 * STEP, gappy.starts[0], gappy.ends[-1])
    assert list(rolled.values) == pytest.approx([200.0])
