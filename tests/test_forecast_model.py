"""The forecast model and its baselines (api/models/forecast.py): no look-ahead, baselines as
defined, bad input handled, and on a real trace better than the best baseline."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from api.models import forecast as fc
from tests.conftest import shared_dir

TRACES = shared_dir() / "traces" / "em_hpe_sustain_cluster"
LCA = "Carbon Intensity gCO₂eq/kWh (LCA)"


def synthetic(days: int = 70, start: str = "2024-01-01", seed: int = 1) -> pd.Series:
    """Hourly intensity with a daily cycle, lower weekends and a persistent random level."""
    index = pd.date_range(start, periods=days * 24, freq="h", tz="UTC")
    rng = np.random.default_rng(seed)
    level = np.zeros(len(index))
    for i in range(1, len(index)):
        level[i] = 0.97 * level[i - 1] + rng.normal(0, 6)
    daily = 80 * np.sin((index.hour.to_numpy() - 4) / 24 * 2 * np.pi)
    weekend = np.where(index.day_of_week >= 5, -30.0, 0.0)
    return pd.Series(300 + daily + weekend + level, index=index)


def day_hour_series(days: int = 12) -> pd.Series:
    """Value = 100 x day of month + hour: a baseline's answer says which hour it copied."""
    index = pd.date_range("2024-01-01", periods=days * 24, freq="h", tz="UTC")
    return pd.Series(100.0 * index.day + index.hour, index=index)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# --- baselines, computed by hand on a small series --------------------------------------

def test_yesterday_baseline_copies_the_newest_observed_day_at_each_target_hour():
    got = fc.same_hour_yesterday(day_hour_series(), utc("2024-01-10 00:00"), 72)
    # Issued at midnight, the newest complete day is the 9th, for all three days ahead.
    assert got.tolist() == [900.0 + h for h in range(24)] * 3


def test_yesterday_baseline_mid_day_uses_today_where_today_is_already_observed():
    got = fc.same_hour_yesterday(day_hour_series(), utc("2024-01-10 10:20"), 30)
    # Targets from 11:00 on the 10th; the newest complete hour is 09:00 on the 10th.
    expected = [911.0 + h for h in range(13)]             # 11:00-23:00 on the 10th <- the 9th
    expected += [1000.0 + h for h in range(10)]           # 00:00-09:00 on the 11th <- the 10th
    expected += [910.0 + h for h in range(7)]             # 10:00-16:00 on the 11th <- the 9th
    assert got.tolist() == expected


def test_last_week_baseline_copies_seven_days_earlier():
    got = fc.same_hour_last_week(day_hour_series(), utc("2024-01-10 00:00"), 48)
    assert got.tolist() == [300.0 + h for h in range(24)] + [400.0 + h for h in range(24)]


def test_baselines_step_back_over_gaps():
    history = day_hour_series()
    history = history.drop(pd.date_range("2024-01-09 09:00", "2024-01-09 11:00", freq="h", tz="UTC"))
    got = fc.same_hour_yesterday(history, utc("2024-01-10 00:00"), 24)
    assert got.iloc[8:13].tolist() == [908.0, 809.0, 810.0, 811.0, 912.0]
    history = day_hour_series(days=20).drop(pd.Timestamp("2024-01-11 05:00", tz="UTC"))
    assert fc.same_hour_last_week(history, utc("2024-01-18 00:00"), 24).iloc[5] == 405.0


# --- no look-ahead ---------------------------------------------------------------------------

def garbage_after(series: pd.Series, moment: pd.Timestamp, seed: int = 2) -> pd.Series:
    """The series with everything at or after `moment` replaced by nonsense (and extended)."""
    rng = np.random.default_rng(seed)
    past = series[series.index < moment]
    future_index = pd.date_range(moment, periods=24 * 20, freq="5min")
    values = rng.uniform(-1e6, 1e6, len(future_index))
    values[::7] = np.nan
    return pd.concat([past, pd.Series(values, index=future_index)])


@pytest.mark.parametrize("issued", ["2024-03-01 00:00", "2024-03-01 10:20"])
def test_a_garbage_future_changes_nothing(issued):
    series, issued_at = synthetic(), utc(issued)
    mix = pd.DataFrame({"wind": np.linspace(0.1, 0.4, len(series))}, index=series.index)
    clean = fc.forecast(series, issued_at, 72, mix)
    dirty_mix = pd.DataFrame({"wind": garbage_after(mix["wind"], issued_at)})
    dirty = fc.forecast(garbage_after(series, issued_at), issued_at, 72, dirty_mix)
    assert clean.fallback_reason is None and "wind_last" in clean.features
    pd.testing.assert_frame_equal(clean.frame, dirty.frame)
    for baseline in (fc.same_hour_yesterday, fc.same_hour_last_week):
        dirty_series = garbage_after(series, issued_at)
        pd.testing.assert_series_equal(baseline(series, issued_at), baseline(dirty_series, issued_at))


def test_the_incomplete_hour_of_issue_is_not_used():
    series = synthetic()
    issued_at = utc("2024-03-01 10:20")
    changed = series.copy()
    changed[utc("2024-03-01 10:00")] = 5000.0  # starts before issue time but is not complete
    pd.testing.assert_frame_equal(fc.forecast(series, issued_at).frame, fc.forecast(changed, issued_at).frame)


# --- bad input -------------------------------------------------------------------------------

def test_too_little_history_falls_back_to_the_best_baseline_and_says_so():
    series = synthetic(days=20)
    issued_at = series.index[-1] + pd.Timedelta(hours=1)
    made = fc.forecast(series, issued_at, 48)
    assert made.model_name == fc.BEST_BASELINE == fc.SAME_HOUR_YESTERDAY
    assert "days of history" in made.fallback_reason
    assert made.frame["value"].tolist() == fc.same_hour_yesterday(series, issued_at, 48).tolist()
    assert made.frame[["lower", "upper"]].isna().all().all()


def test_less_than_a_day_repeats_the_newest_value_and_says_so():
    series = synthetic(days=1).iloc[:10]
    made = fc.forecast(series, series.index[-1] + pd.Timedelta(hours=1), 24)
    assert made.fallback_reason and "repeat the newest" in made.fallback_reason
    assert made.frame["value"].notna().all()
    assert made.frame["value"].iloc[13] == series.iloc[-1]  # 23:00 was never observed


def test_stale_history_falls_back_and_says_how_old_it_is():
    series = synthetic()
    made = fc.forecast(series, series.index[-1] + pd.Timedelta(days=3))
    assert made.model_name == fc.BEST_BASELINE and "newest data is from" in made.fallback_reason


def test_no_history_at_all_is_an_error():
    series = synthetic()
    with pytest.raises(fc.NoHistory, match="no carbon-intensity history before"):
        fc.forecast(series, series.index[0])
    assert issubclass(fc.NoHistory, ValueError)


@pytest.mark.parametrize("horizon", [0, 73, -1, 1.5, True, "24"])
def test_a_horizon_out_of_range_is_a_value_error_with_a_readable_message(horizon):
    with pytest.raises(ValueError, match="from 1 to 72"):
        fc.forecast(synthetic(), utc("2024-03-01"), horizon)


def test_naive_times_are_rejected():
    series = synthetic()
    with pytest.raises(ValueError, match="timezone-aware"):
        fc.forecast(series, pd.Timestamp("2024-03-01"))
    with pytest.raises(ValueError, match="timezone-aware"):
        fc.forecast(series.tz_localize(None), utc("2024-03-01"))


def test_duplicated_timestamps_keep_the_last_row():
    series, issued_at = synthetic(), utc("2024-03-01 05:00")
    revised_away = series.iloc[::50] * 0 + 9999.0  # earlier rows for the same times
    doubled = pd.concat([revised_away, series])
    assert doubled.index.has_duplicates
    expected = fc.forecast(series, issued_at).frame
    pd.testing.assert_frame_equal(expected, fc.forecast(doubled, issued_at).frame)
    pd.testing.assert_frame_equal(expected, fc.forecast(doubled.sort_index(kind="stable"), issued_at).frame)


def test_gaps_are_bridged_and_missing_rows_equal_nan_rows():
    series, issued_at = synthetic(), utc("2024-03-01 00:00")
    holes = pd.date_range("2024-02-20 03:00", periods=5, freq="h", tz="UTC").append(
        pd.date_range("2024-02-10 00:00", periods=48, freq="h", tz="UTC"))
    dropped = series.drop(holes)
    as_nan = series.copy()
    as_nan[holes] = np.nan
    made = fc.forecast(dropped, issued_at)
    assert made.fallback_reason is None and made.frame[["value", "lower", "upper"]].notna().all().all()
    pd.testing.assert_frame_equal(made.frame, fc.forecast(as_nan, issued_at).frame)
    pd.testing.assert_frame_equal(made.frame, fc.forecast(dropped.sample(frac=1, random_state=3), issued_at).frame)


def test_sub_hourly_history_is_averaged_per_hour():
    hourly = synthetic()
    five_minute = pd.Series(np.repeat(hourly.to_numpy(), 12),
                            index=pd.date_range(hourly.index[0], periods=len(hourly) * 12, freq="5min"))
    five_minute += np.tile(np.linspace(-5, 5, 12), len(hourly))  # averages out within each hour
    issued_at = utc("2024-03-01 00:00")
    pd.testing.assert_frame_equal(fc.forecast(hourly, issued_at).frame, fc.forecast(five_minute, issued_at).frame)


def test_zero_intensity_is_forecast_without_breaking():
    series = synthetic() * 0  # a region whose direct intensity is 0 throughout
    made = fc.forecast(series, utc("2024-03-01"))
    assert made.fallback_reason is None and (made.frame["value"].abs() < 1e-6).all()


# --- output shape ----------------------------------------------------------------------------

@pytest.mark.parametrize("issued, first", [("2024-03-01 00:00Z", "2024-03-01 00:00"),
                                           ("2024-03-01 10:20Z", "2024-03-01 11:00"),
                                           ("2024-03-01 05:00-08:00", "2024-03-01 13:00")])
@pytest.mark.parametrize("horizon", [1, 24, 72])
def test_timestamps_are_exactly_the_next_n_hours(issued, first, horizon):
    made = fc.forecast(synthetic(), pd.Timestamp(issued), horizon)
    expected = pd.date_range(utc(first), periods=horizon, freq="h")
    assert pd.DatetimeIndex(made.frame["timestamp"]).equals(expected)
    assert list(made.frame.columns) == ["timestamp", "value", "lower", "upper"]


def test_model_output_is_labelled_and_bounds_enclose_the_value():
    made = fc.forecast(synthetic(), utc("2024-03-01"))
    assert (made.model_name, made.model_version, made.fallback_reason) == (fc.MODEL_NAME, fc.MODEL_VERSION, None)
    assert made.history_end == utc("2024-02-29 23:00")
    frame = made.frame
    assert ((frame["lower"] <= frame["value"]) & (frame["value"] <= frame["upper"])).all()


def test_to_resolution_repeats_each_hour():
    frame = fc.forecast(synthetic(), utc("2024-03-01"), 2).frame
    fine = fc.to_resolution(frame, 15)
    assert len(fine) == 8
    assert fine["timestamp"].iloc[1] == utc("2024-03-01 00:15")
    assert fine["value"].tolist() == [frame["value"][0]] * 4 + [frame["value"][1]] * 4


# --- real data ---------------------------------------------------------------------------------

@pytest.mark.parametrize("region", ["US-MIDA-PJM", "US-NY-NYIS"])
def test_model_beats_the_best_baseline_on_a_real_trace(region):
    path = TRACES / f"{region}_2022_hourly.csv"
    if not path.is_file():
        pytest.skip(f"trace not found at {path} (set ENERGY_DATA_SHARED)")
    raw = pd.read_csv(path)
    series = pd.Series(raw[LCA].to_numpy(), index=pd.to_datetime(raw["Datetime (UTC)"], utc=True))
    issues = pd.date_range("2022-09-01", periods=21, freq="D", tz="UTC")
    table = fc.accuracy(fc.backtest(series, issues, 24), (24,)).iloc[0]
    best = min(table[f"{name}_mape"] for name in fc.BASELINES)
    assert table["forecasts"] == 21
    assert table["model_mape"] < best
