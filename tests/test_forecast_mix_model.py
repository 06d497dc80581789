"""The per-source mix model (api/models/mix_forecast.py) on the DACF data set's real hours:
no look-ahead, fallback, serialisation, interval calibration, intensities from one mix.

Fits are small (few samples, short windows) so the file runs in a minute or two; accuracy is
the benchmark's business (scripts/bench/forecast.py --dacf), not these tests'."""
from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pandas as pd
import pytest

from api.models import forecast as history_model
from api.models import mix_forecast as mf
from tests.conftest import REPO, shared_dir

DACF = "dacf_2020_2021"
IPCC_LIFECYCLE = {"coal": 820, "gas": 490, "oil": 650, "nuclear": 12, "hydro": 24, "wind": 11, "solar": 45,
                  "other": 700}
FIT_END = pd.Timestamp("2021-04-01", tz="UTC")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_forecast", REPO / "scripts" / "bench" / "forecast.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_forecast", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dacf_file():
    path = shared_dir() / "traces" / DACF / "PJM_direct_emissions.csv"
    if not path.is_file():
        pytest.skip(f"DACF traces not found at {path} (set ENERGY_DATA_SHARED)")
    return path


@pytest.fixture(scope="module")
def pjm(dacf_file):
    """PJM's hours through June 2021 with the bench's reading (our fuel names, contract weather)."""
    mix, weather, actual, factors = _bench().load_dacf(dacf_file)
    keep = mix.index < pd.Timestamp("2021-07-01", tz="UTC")
    factors = {"direct": factors["direct"], "lifecycle": IPCC_LIFECYCLE}
    return mix[keep], weather[keep], actual[keep], factors


@pytest.fixture(scope="module")
def model(pjm):
    mix, weather, _, factors = pjm
    return mf.fit(mix, weather, None, factors, end=FIT_END, training_days=200, validation_days=30,
                  horizon_hours=48, samples=4000)


def test_dacf_direct_factors_reproduce_the_published_intensity(pjm):
    """The factors the bench lists are DACF's: its carbon_intensity column comes out of them."""
    mix, _, actual, factors = pjm
    ours = mf.intensity_from_mix(mix, factors["direct"])
    assert np.nanmax(np.abs(ours - actual.to_numpy())) < 0.1


def test_future_rows_and_dacf_outputs_change_nothing(pjm, model):
    mix, weather, _, _ = pjm
    issued_at = pd.Timestamp("2021-05-10", tz="UTC")
    clean = mf.predict(model, mix[mix.index < issued_at], weather, None, issued_at, 48)
    garbled = mix.copy()
    future = garbled.index >= issued_at
    rng = np.random.default_rng(1)
    garbled.loc[future] = rng.uniform(0, 50_000, size=(future.sum(), garbled.shape[1]))
    dirty = mf.predict(model, garbled, weather, None, issued_at, 48)
    assert clean.fallback_reason is None and dirty.fallback_reason is None
    pd.testing.assert_frame_equal(clean.frame, dirty.frame)
    # and the batch path (benchmarks) gives the same numbers from the garbled full history
    many = mf.forecast_many(model, garbled, weather, None, pd.DatetimeIndex([issued_at]), 48)
    np.testing.assert_allclose(many["direct"].to_numpy(), clean.frame["direct"].to_numpy(), rtol=1e-9)
    # while the weather of the forecast hours is an input: changing it changes the forecast
    windy = weather.copy()
    windy.loc[windy.index >= issued_at, "wind_speed_10m"] += 5
    moved = mf.predict(model, mix[mix.index < issued_at], windy, None, issued_at, 48)
    assert not np.allclose(moved.frame["wind_mw"], clean.frame["wind_mw"])


def test_bench_day_bootstrap_resamples_whole_days():
    """The bench's range for a ratio of sums: a single point where every day has the same
    ratio, and a range around the whole period's ratio that only whole days can move (hours
    of one day resampled together: a day of 10 hours at ratio 2 among days at ratio 1)."""
    bench = _bench()
    days = pd.Series(np.repeat(pd.date_range("2021-07-01", periods=40, freq="D", tz="UTC"), 10))
    ours, theirs = np.full(400, 3.0), np.full(400, 2.0)
    low, high = bench.day_bootstrap(days, [ours, theirs], lambda t: t[:, 0] / t[:, 1])
    assert low == pytest.approx(1.5) and high == pytest.approx(1.5)
    ours = np.where(np.arange(400) < 10, 4.0, 2.0)       # the first day is worse
    low, high = bench.day_bootstrap(days, [ours, theirs], lambda t: t[:, 0] / t[:, 1])
    assert low == pytest.approx(1.0)                     # draws without that day
    assert 1.0 < ours.sum() / theirs.sum() < high <= 1.0 + 3 * 10 / 400


def test_bench_never_reads_dacf_outputs_or_the_future(dacf_file, tmp_path):
    """scripts/bench/forecast.py --dacf on a copy whose avg_*_production_forecast columns (DACF's
    outputs) are garbled everywhere, and whose rows after the last forecast hour are garbled too,
    issues the same forecasts as on the original."""
    bench = _bench()
    frame = pd.read_csv(dacf_file)
    frame = frame[frame["UTC time"] < "2021-03-01"]
    original = tmp_path / "original.csv"
    frame.to_csv(original, index=False)
    rng = np.random.default_rng(7)
    outputs = [c for c in frame.columns if c.startswith("avg_")]
    assert outputs
    frame[outputs] = rng.uniform(0, 1e5, size=(len(frame), len(outputs)))
    after = frame["UTC time"] >= "2021-02-24"            # the last issue covers 02-23
    sources = ["carbon_intensity", "coal", "nat_gas", "nuclear", "oil", "hydro", "solar", "wind", "other"]
    frame[sources] = frame[sources].astype(float)
    frame.loc[after, sources] = rng.uniform(0, 1e5, size=(after.sum(), len(sources)))
    garbled = tmp_path / "garbled.csv"
    frame.to_csv(garbled, index=False)
    issues = pd.date_range("2021-02-20", "2021-02-23", freq="D", tz="UTC")
    runs = []
    for path in (original, garbled):
        mix, weather, _, factors = bench.load_dacf(path)
        assert not any(c.startswith("avg_") for c in mix.columns)
        runs.append(bench.dacf_forecasts(mix, weather, factors, issues, 2, 20, samples=3000)[0])
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_without_inputs_it_falls_back_to_the_history_only_model(pjm, model):
    mix, weather, _, factors = pjm
    issued_at = pd.Timestamp("2021-05-10 13:00", tz="UTC")
    from_mix = pd.Series(mf.intensity_from_mix(mix, factors["direct"]), index=mix.index)
    expected = history_model.forecast(from_mix, issued_at, 48).frame
    for made in (mf.predict(model, mix, None, None, issued_at, 48),            # no weather
                 mf.predict(None, mix, weather, None, issued_at, 48, factors)):  # no model
        assert made.model_name == history_model.MODEL_NAME
        assert "history-only model" in made.fallback_reason
        np.testing.assert_allclose(made.frame["direct"].to_numpy(), expected["value"].to_numpy(), rtol=1e-9)
    lacking = mf.predict(model, mix, weather.drop(columns="wind_speed_10m"), None, issued_at, 48)
    assert "wind_speed_10m" in lacking.fallback_reason
    # beyond the history-only model's 72 h, each hour repeats its value a day before
    long = mf.predict(None, mix, None, None, issued_at, 96, factors)
    np.testing.assert_allclose(long.frame["direct"].to_numpy()[72:], long.frame["direct"].to_numpy()[48:72])


def test_serialised_model_predicts_identically(pjm, model):
    mix, weather, _, _ = pjm
    data = model.to_bytes()
    assert isinstance(data, bytes)
    loaded = mf.MixModel.from_bytes(data)
    assert (loaded.training_start, loaded.training_end) == (model.training_start, model.training_end)
    assert loaded.inputs == model.inputs and loaded.validation == model.validation
    issued_at = pd.Timestamp("2021-06-02 07:00", tz="UTC")
    before = mix[mix.index < issued_at]
    pd.testing.assert_frame_equal(mf.predict(model, before, weather, None, issued_at, 48).frame,
                                  mf.predict(loaded, before, weather, None, issued_at, 48).frame)


def test_model_records_its_window_inputs_and_held_out_error(model):
    assert model.training_end == FIT_END - pd.Timedelta(hours=1)
    assert model.training_start == FIT_END - pd.Timedelta(hours=1) - pd.Timedelta(days=200)
    assert model.inputs["weather"] == ["wind_speed_10m", "temperature_2m", "dew_point_2m",
                                       "shortwave_radiation", "precipitation"]
    assert model.inputs["operator"] == []
    held_out_start = pd.Timestamp(model.validation["start"])
    # the held-out window is the last 30 days, which the first-stage models did not train on
    assert held_out_start == model.training_end + pd.Timedelta(hours=1) - pd.Timedelta(days=30)
    assert 0 < model.validation["mape_24h"]["direct"] < 20
    for low, high in model.calibration["direct"][:4]:
        assert low < 0 < high


def test_interval_covers_about_80_percent_of_later_hours(pjm, model):
    """Held-out check: forecasts issued every 6 h over the 60 days after the fit's window."""
    mix, weather, actual, _ = pjm
    issues = pd.date_range(FIT_END, FIT_END + pd.Timedelta(days=60), freq="6h")
    made = mf.forecast_many(model, mix, weather, None, issues, 48)
    truth = actual.reindex(pd.DatetimeIndex(made["timestamp"])).to_numpy()
    inside = (truth >= made["direct_lower"].to_numpy()) & (truth <= made["direct_upper"].to_numpy())
    assert 0.65 <= inside.mean() <= 0.92, inside.mean()
    assert (made["direct_lower"] <= made["direct"]).all() and (made["direct"] <= made["direct_upper"]).all()


def test_intensities_agree_with_the_forecast_mix_and_the_factors(pjm, model):
    mix, weather, _, factors = pjm
    issued_at = pd.Timestamp("2021-05-20", tz="UTC")
    frame = mf.predict(model, mix[mix.index < issued_at], weather, None, issued_at, 48).frame
    fuels = [c.removesuffix("_mw") for c in frame.columns if c.endswith("_mw")]
    assert sorted(fuels) == sorted(mix.columns)
    mw = frame[[f"{f}_mw" for f in fuels]].to_numpy()
    assert (mw >= 0).all()
    for name, table in factors.items():
        by_hand = (mw * np.array([table[f] for f in fuels])).sum(axis=1) / mw.sum(axis=1)
        np.testing.assert_allclose(frame[name].to_numpy(), by_hand, rtol=1e-9)
    assert (frame["lifecycle"] > frame["direct"]).all()   # upstream emissions only add


def test_bad_input_is_refused(pjm, model):
    mix, weather, _, factors = pjm
    with pytest.raises(ValueError, match="horizon_hours"):
        mf.predict(model, mix, weather, None, FIT_END, 97)
    with pytest.raises(ValueError, match="timezone-aware"):
        mf.predict(model, mix, weather, None, pd.Timestamp("2021-05-01"), 24)
    with pytest.raises(ValueError, match="no factor for"):
        mf.fit(mix, weather, None, {"direct": {"coal": 760}}, end=FIT_END)
    with pytest.raises(mf.NoInputs):
        mf.fit(mix, None, None, factors, end=FIT_END, training_days=200)


def test_interval_width_follows_the_week_before_the_issue(pjm, model):
    """The calibrated log-ratio quantiles are scaled by the standard deviation of the log
    direct intensity over the 168 hours before the issue (clipped to the range seen at fit),
    computed here by hand from the measured mix."""
    mix, weather, _, factors = pjm
    assert model.interval_scale is not None
    low_clip, high_clip = model.interval_scale["clip"]
    assert 0 < low_clip < high_clip
    widths = []
    for issued_at in (pd.Timestamp("2021-04-20", tz="UTC"), pd.Timestamp("2021-05-25 13:00", tz="UTC")):
        frame = mf.predict(model, mix[mix.index < issued_at], weather, None, issued_at, 6).frame
        week = mix[(mix.index >= issued_at - pd.Timedelta(hours=168)) & (mix.index < issued_at)]
        assert len(week) == 168
        scale = np.clip(np.std(np.log(mf.intensity_from_mix(week, factors["direct"]) + mf.LOG_OFFSET)),
                        low_clip, high_clip)
        low, high = model.calibration["direct"][0]            # horizons 1-6
        np.testing.assert_allclose(frame["direct_upper"], frame["direct"] * np.exp(high * scale), rtol=1e-9)
        np.testing.assert_allclose(frame["direct_lower"], frame["direct"] * np.exp(low * scale), rtol=1e-9)
        widths.append(scale)
    assert widths[0] != widths[1]


def test_format_1_model_still_loads_with_its_plain_intervals(pjm, model):
    """A model stored before interval scaling (format 1: no interval_scale, plain log-ratio
    quantiles) loads and answers with bounds = forecast x exp(quantile)."""
    mix, weather, _, _ = pjm
    header, rest = model.to_bytes().split(b"\n", 1)
    old = json.loads(header)
    old["format"] = 1
    del old["interval_scale"]
    loaded = mf.MixModel.from_bytes(json.dumps(old).encode() + b"\n" + rest)
    assert loaded.interval_scale is None
    issued_at = pd.Timestamp("2021-05-02", tz="UTC")
    frame = mf.predict(loaded, mix[mix.index < issued_at], weather, None, issued_at, 6).frame
    low, high = model.calibration["direct"][0]
    np.testing.assert_allclose(frame["direct_upper"], frame["direct"] * np.exp(high), rtol=1e-9)
    np.testing.assert_allclose(frame["direct_lower"], frame["direct"] * np.exp(low), rtol=1e-9)
    with pytest.raises(ValueError, match="format"):
        mf.MixModel.from_bytes(json.dumps({**old, "format": 99}).encode() + b"\n" + rest)


def test_recent_error_correction_moves_the_forecast_by_half_its_median_past_error(pjm, model, monkeypatch):
    """The forecast is the uncorrected one times exp(0.5 x median log(actual / forecast)) over
    hours 1, 4, ..., 22 of the forecasts the model would have issued at the same hour on each
    of the 14 days before; computed here from forecast_many with the correction off. The mix
    moves with it, so every factor set still reads one mix."""
    mix, weather, _, factors = pjm
    issued_at = pd.Timestamp("2021-05-20 06:00", tz="UTC")
    before = mix[mix.index < issued_at]
    corrected = mf.predict(model, before, weather, None, issued_at, 48).frame
    monkeypatch.setattr(mf, "CORRECTION_SHRINK", 0.0)
    plain = mf.predict(model, before, weather, None, issued_at, 48).frame
    past = pd.date_range(issued_at - pd.Timedelta(days=14), periods=14, freq="D")
    made = mf.forecast_many(model, before, weather, None, past, 24)
    made = made[made["horizon"].isin([1, 4, 7, 10, 13, 16, 19, 22])]
    measured = pd.Series(mf.intensity_from_mix(mix, factors["direct"]), index=mix.index)
    truth = measured.reindex(pd.DatetimeIndex(made["timestamp"])).to_numpy()
    assert len(truth) == 14 * 8 and np.isfinite(truth).all()
    factor = np.exp(0.5 * np.median(np.log(truth / made["direct"].to_numpy())))
    assert abs(factor - 1) > 0.002, factor               # the case has something to correct
    np.testing.assert_allclose(corrected["direct"] / plain["direct"], factor, rtol=1e-6)
    assert not np.allclose(corrected["gas_mw"], plain["gas_mw"])
    assert not np.allclose(corrected["lifecycle"], plain["lifecycle"])


def test_no_correction_without_the_history_or_inputs_it_needs(pjm, model, monkeypatch):
    """Past forecasts are made only where the fuel history and the weather were given: with a
    week of history, or weather from 100 hours before the issue only, there is none to learn
    from and the forecast is the uncorrected one (not one made on filled-in values)."""
    mix, weather, _, _ = pjm
    issued_at = pd.Timestamp("2021-05-20 06:00", tz="UTC")
    week = mix[(mix.index < issued_at) & (mix.index >= issued_at - pd.Timedelta(hours=mf.LOOKBACK_HOURS + 20))]
    before = mix[mix.index < issued_at]
    recent_weather = weather[weather.index >= issued_at - pd.Timedelta(hours=100)]
    cases = [(week, weather), (before, recent_weather)]
    got = [mf.predict(model, history, wx, None, issued_at, 24).frame for history, wx in cases]
    monkeypatch.setattr(mf, "CORRECTION_SHRINK", 0.0)
    for frame, (history, wx) in zip(got, cases):
        pd.testing.assert_frame_equal(frame, mf.predict(model, history, wx, None, issued_at, 24).frame)
    # while with both in full, the same issue is corrected
    monkeypatch.undo()
    full = mf.predict(model, before, weather, None, issued_at, 24).frame
    assert not np.allclose(full["direct"], got[1]["direct"])
