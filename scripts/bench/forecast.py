"""Forecast benchmark: rolling-origin evaluation of api.models.forecast on hourly traces, and
of api.models.mix_forecast against DACF's published day-ahead forecasts.

    python scripts/bench/forecast.py TRACE.csv [TRACE.csv ...] [--factor-set lifecycle|direct] [--mix]
                                     [--issue-hour 0] [--warmup-days 60]
    python scripts/bench/forecast.py --dacf HISTORY.csv DACF_FORECASTS.csv [--refit-days N]
                                     [--validation-days 60]

Reads Electricity Maps exports ("Datetime (UTC)", "Carbon Intensity gCO₂eq/kWh (LCA)" and
"(direct)") or the EIA-930 traces of ../shared/traces/eia930_* ("timestamp", fuel columns in MW,
"avg_CI", lifecycle only). The first 60 days of each file are history only; then a forecast
is issued every day at 00:00 UTC for the next 72 hours through forecast(), the function the
API calls, from the rows before that moment. Prints, per file and window (first 24, 48, 72
hours of each forecast), MAPE and MAE of the model and of both baselines, the model's MAPE
over the best baseline's, and the share of actual hours inside the 80 % interval; then the
mean fit+predict time per forecast. The last line is the 24 h ratio averaged over the files.

--mix passes the trace's generation-mix shares as `mix` (EIA-930: solar and wind share of
generation; Electricity Maps: the renewable percentage).

--dacf: HISTORY.csv has DACF's data-set shape (`UTC time`, `carbon_intensity`, MW per source,
`forecast_avg_*_wMean` GFS weather forecasts, `avg_*_production_forecast`), DACF_FORECASTS.csv
its test period (`UTC time`, `carbon_intensity`, `carbon_from_src_forecasts`). The mix model
(api/models/mix_forecast.py) is fitted on the rows before the first test hour (the authors'
protocol; --refit-days N refits every N days on the rows before each refit), then a forecast
is issued every day at 00:00 UTC for the next 24 hours from the history before it and the
weather forecast columns of the forecast hours. The `avg_*_production_forecast` columns are
DACF's outputs and are dropped on reading. Prints our MAPE, DACF's, same-hour-yesterday's and
the history-only model's on the same hours, the share inside our 80 % interval, fit and
predict times, and how far the interval's share and ours/DACF move when the days are
resampled (a day-block bootstrap); the last line is `ours/DACF <ratio>`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.models import forecast as model  # noqa: E402
from api.models import mix_forecast  # noqa: E402

EM_COLUMNS = {"lifecycle": "Carbon Intensity gCO₂eq/kWh (LCA)", "direct": "Carbon Intensity gCO₂eq/kWh (direct)"}
EIA_FUELS = ("WND", "SUN", "WAT", "OIL", "NG", "COL", "NUC", "OTH")
WINDOWS = (24, 48, 72)


def load_trace(path: Path, factor_set: str) -> tuple[pd.Series, pd.DataFrame]:
    """Intensity series and mix shares of one trace file, indexed by UTC hour start."""
    frame = pd.read_csv(path)
    if "Datetime (UTC)" in frame.columns:
        index = pd.DatetimeIndex(pd.to_datetime(frame["Datetime (UTC)"], utc=True))
        intensity = frame[_column(frame, EM_COLUMNS[factor_set], path)]
        mix = pd.DataFrame({"renewable": frame[_column(frame, "Renewable Percentage", path)].to_numpy() / 100},
                           index=index)
    elif "avg_CI" in frame.columns:
        if factor_set != "lifecycle":
            raise SystemExit(f"{path}: EIA-930 traces have lifecycle intensity only (avg_CI)")
        index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True))
        intensity = frame["avg_CI"]
        generation = frame[[_column(frame, fuel, path) for fuel in EIA_FUELS]].clip(lower=0)
        total = generation.sum(axis=1).replace(0, np.nan)
        mix = pd.DataFrame({"solar": (generation["SUN"] / total).to_numpy(),
                            "wind": (generation["WND"] / total).to_numpy()}, index=index)
    else:
        raise SystemExit(f"{path}: neither an Electricity Maps export nor an EIA-930 trace (columns: "
                         f"{', '.join(frame.columns[:6])}, ...)")
    return pd.Series(intensity.to_numpy(dtype="float64"), index=index), mix


def _column(frame: pd.DataFrame, name: str, path: Path) -> str:
    if name not in frame.columns:
        raise SystemExit(f"{path}: no column {name!r}")
    return name


def issue_times(series: pd.Series, warmup_days: int, horizon: int, hour: int = 0) -> pd.DatetimeIndex:
    """Every day at `hour` UTC after the warm-up whose whole horizon lies inside the trace."""
    first = series.index.min().ceil("D") + pd.Timedelta(days=warmup_days, hours=hour)
    last = series.index.max() + pd.Timedelta(hours=1) - pd.Timedelta(hours=horizon)
    return pd.date_range(first, last, freq="D")


def report(name: str, table: pd.DataFrame, fallbacks: int) -> float:
    """Print one file's rows; return its 24 h ratio."""
    ratio_24 = float("nan")
    for row in table.itertuples():
        best = min(model.BASELINES, key=lambda b: getattr(row, f"{b}_mape"))
        ratio = row.model_mape / getattr(row, f"{best}_mape")
        ratio_24 = ratio if row.window_hours == 24 else ratio_24
        print(f"{name:<34} {row.window_hours:>3}h {row.forecasts:>4} "
              f"{row.model_mape:6.2f} {row.model_mae:6.1f}  "
              f"{row.same_hour_yesterday_mape:6.2f} {row.same_hour_yesterday_mae:6.1f}  "
              f"{row.same_hour_last_week_mape:6.2f} {row.same_hour_last_week_mae:6.1f}  "
              f"{ratio:5.3f} {best.removeprefix('same_hour_'):>9} {row.interval_coverage:6.2f}")
    if fallbacks:
        print(f"{name:<34} {fallbacks} forecasts fell back to {model.BEST_BASELINE}")
    return ratio_24


# DACF's direct factors (its carbonRateDirect), g/kWh; every other source 0.
DACF_FACTORS = {"coal": 760.0, "gas": 370.0, "oil": 406.0, "other": 575.0, "unknown": 575.0}
DACF_SOURCES = {"nat_gas": "gas"}                # DACF's source names that differ from ours
DACF_WEATHER = {                                  # contract column: (DACF column, offset)
    "wind_speed_10m": ("forecast_avg_wind_speed_wMean", 0.0),
    "temperature_2m": ("forecast_avg_temperature_wMean", -273.15),
    "dew_point_2m": ("forecast_avg_dewpoint_wMean", -273.15),
    "shortwave_radiation": ("forecast_avg_dswrf_wMean", 0.0),
    "precipitation": ("forecast_avg_precipitation_wMean", 0.0),
}


def load_dacf(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, dict[str, dict[str, float]]]:
    """MW per source (our fuel names), weather in the contract's columns and units, the
    measured intensity, and the factor set; DACF's own production forecasts are never read."""
    frame = pd.read_csv(path)
    if "UTC time" not in frame.columns or "carbon_intensity" not in frame.columns:
        raise SystemExit(f"{path}: not a DACF data-set file (needs `UTC time` and `carbon_intensity`)")
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("avg_") or c.startswith("Unnamed")])
    index = pd.DatetimeIndex(pd.to_datetime(frame["UTC time"], utc=True))
    weather = pd.DataFrame({column: frame[source].to_numpy(float) + offset
                            for column, (source, offset) in DACF_WEATHER.items() if source in frame.columns},
                           index=index)
    sources = [c for c in frame.columns if c not in ("UTC time", "carbon_intensity") and not c.startswith("forecast_")]
    mix = frame[sources].rename(columns=DACF_SOURCES).astype(float)
    mix.index = index
    factors = {"direct": {fuel: DACF_FACTORS.get(fuel, 0.0) for fuel in mix.columns}}
    return mix, weather, pd.Series(frame["carbon_intensity"].to_numpy(float), index=index), factors


def dacf_forecasts(mix: pd.DataFrame, weather: pd.DataFrame, factors: dict, issues: pd.DatetimeIndex,
                   refit_days: int | None, validation_days: int, horizon: int = 24,
                   samples: int = mix_forecast.TRAINING_SAMPLES,
                   training_days: int = 540) -> tuple[pd.DataFrame, list, list]:
    """Our forecasts issued at `issues`, each from the rows before it; fits on the rows before
    the first issue (and before each refit)."""
    frames, fits, predicts = [], [], []
    fitted, next_fit = None, issues[0]
    for issued_at in issues:
        before = mix[mix.index < issued_at]
        if fitted is None or (refit_days and issued_at >= next_fit):
            fitted = mix_forecast.fit(before, weather, None, factors, end=issued_at, validation_days=validation_days,
                                      samples=samples, training_days=training_days)
            fits.append(fitted.fit_seconds)
            next_fit = issued_at + pd.Timedelta(days=refit_days or 10 ** 5)
        began = time.perf_counter()
        made = mix_forecast.predict(fitted, before, weather, None, issued_at, horizon)
        predicts.append(time.perf_counter() - began)
        if made.fallback_reason:
            raise SystemExit(f"fell back at {issued_at}: {made.fallback_reason}")
        frames.append(made.frame.assign(issued_at=issued_at))
    return pd.concat(frames, ignore_index=True), fits, predicts, fitted


def day_bootstrap(days: pd.Series, columns: list[np.ndarray], statistic, draws: int = 2000) -> np.ndarray:
    """The 2.5th and 97.5th percentiles of statistic(column totals) over `draws` resamplings
    of whole days (an hour's error is much like its neighbours', so hours are not independent
    draws): how far a figure could move on another half-year of the same kind."""
    totals = pd.DataFrame(np.column_stack(columns)).groupby(days.to_numpy()).sum().to_numpy()
    pick = np.random.default_rng(0).integers(0, len(totals), (draws, len(totals)))
    return np.quantile(statistic(totals[pick].sum(axis=1)), [0.025, 0.975])


def run_dacf(history_path: Path, forecasts_path: Path, refit_days: int | None, validation_days: int,
             samples: int = mix_forecast.TRAINING_SAMPLES, training_days: int = 540) -> None:
    mix, weather, actual, factors = load_dacf(history_path)
    published = pd.read_csv(forecasts_path)
    published_index = pd.DatetimeIndex(pd.to_datetime(published["UTC time"], utc=True))
    dacf = pd.Series(published["carbon_from_src_forecasts"].to_numpy(float), index=published_index)
    first, last = published_index.min().ceil("D"), published_index.max()
    issues = pd.date_range(first, last - pd.Timedelta(hours=23), freq="D")
    print(f"{history_path.stem}: sources {', '.join(mix.columns)}; weather {', '.join(weather.columns)}; "
          f"direct factors " + ", ".join(f"{k} {v:g}" for k, v in factors["direct"].items() if v))
    print(f"issued daily 00:00 UTC, 24 h, {issues[0].date()} .. {issues[-1].date()} ({len(issues)} forecasts); "
          f"fitted on the rows before {'each refit, every %d days' % refit_days if refit_days else issues[0].date()}")
    ours, fits, predicts, fitted = dacf_forecasts(mix, weather, factors, issues, refit_days, validation_days,
                                                  samples=samples, training_days=training_days)
    long = []
    for issued_at in issues[::6]:   # the API's longest horizon, 96 h, at 31 issue times
        began = time.perf_counter()
        mix_forecast.predict(fitted, mix[mix.index < issued_at], weather, None, issued_at, 96)
        long.append(time.perf_counter() - began)
    hours = pd.DatetimeIndex(ours["timestamp"])
    truth = actual.reindex(hours).to_numpy()
    yesterday = actual.reindex(hours - pd.Timedelta(days=1)).to_numpy()
    history_only = []
    for issued_at in issues:
        history_only.append(model.forecast(actual[actual.index < issued_at], issued_at, 24).frame["value"].to_numpy())
    candidates = {"ours (mix model)": ours["direct"].to_numpy(), "DACF": dacf.reindex(hours).to_numpy(),
                  "same hour yesterday": yesterday, "history-only model": np.concatenate(history_only)}
    valid = np.isfinite(truth) & (truth > 0) & np.all([np.isfinite(v) for v in candidates.values()], axis=0)
    mape = {name: float(np.mean(np.abs(v[valid] - truth[valid]) / truth[valid]) * 100)
            for name, v in candidates.items()}
    inside = (truth >= ours["direct_lower"].to_numpy()) & (truth <= ours["direct_upper"].to_numpy())
    print(f"{'24 h MAPE over ' + str(int(valid.sum())) + ' hours':<34} {'%':>6}")
    for name, value in mape.items():
        print(f"{name:<34} {value:6.2f}")
    ape = {name: np.abs(candidates[name][valid] - truth[valid]) / truth[valid] for name in ("ours (mix model)", "DACF")}
    ratio_low, ratio_high = day_bootstrap(ours["issued_at"][valid], [ape["ours (mix model)"], ape["DACF"]],
                                          lambda totals: totals[:, 0] / totals[:, 1])
    cover_low, cover_high = day_bootstrap(ours["issued_at"][valid], [inside[valid], np.ones(int(valid.sum()))],
                                          lambda totals: 100 * totals[:, 0] / totals[:, 1])
    print(f"our 80 % interval holds {100 * inside[valid].mean():.1f} % of the actual hours "
          f"(95 % over resampled days: {cover_low:.1f}-{cover_high:.1f} %)")
    print(f"ours/DACF 95 % over resampled days: {ratio_low:.3f}-{ratio_high:.3f}")
    print(f"fit: {len(fits)} x {np.mean(fits):.1f} s (max {np.max(fits):.1f} s); predict p50: 24 h "
          f"{1000 * np.median(predicts):.1f} ms, 96 h {1000 * np.median(long):.1f} ms; direct model's weight "
          f"in the mix {fitted.direct_weight:g}; held-out 24 h MAPE at fit {fitted.validation['mape_24h']['direct']:.2f} %")
    print(f"ours/DACF {mape['ours (mix model)'] / mape['DACF']:.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traces", nargs="*", type=Path)
    parser.add_argument("--dacf", nargs=2, type=Path, metavar=("HISTORY.csv", "DACF_FORECASTS.csv"),
                        help="benchmark the mix model against DACF's published forecasts")
    parser.add_argument("--refit-days", type=int, default=None, help="--dacf: refit every N days")
    parser.add_argument("--validation-days", type=int, default=60, help="--dacf: days held out at each fit")
    parser.add_argument("--samples", type=int, default=mix_forecast.TRAINING_SAMPLES,
                        help="--dacf: training rows per horizon band (python -m api.forecasts fit uses 10000)")
    parser.add_argument("--training-days", type=int, default=540,
                        help="--dacf: days of history each fit trains on (python -m api.forecasts fit: 540 too)")
    parser.add_argument("--factor-set", choices=sorted(EM_COLUMNS), default="lifecycle")
    parser.add_argument("--mix", action="store_true", help="pass the trace's mix shares to the model")
    parser.add_argument("--warmup-days", type=int, default=60)
    parser.add_argument("--issue-hour", type=int, default=0, choices=range(24), metavar="0-23",
                        help="UTC hour at which the daily forecast is issued")
    args = parser.parse_args(argv)
    if args.dacf:
        run_dacf(*args.dacf, args.refit_days, args.validation_days, args.samples, args.training_days)
        return
    if not args.traces:
        parser.error("give trace files, or --dacf HISTORY.csv DACF_FORECASTS.csv")

    print(f"model {model.MODEL_NAME} v{model.MODEL_VERSION}, {args.factor_set} intensity, "
          f"mix {'on' if args.mix else 'off'}; issued daily {args.issue_hour:02d}:00 UTC after "
          f"{args.warmup_days} days of history")
    print(f"{'file':<34} {'win':>4} {'n':>4} {'model MAPE MAE':>14}  {'yesterday':>13}  {'last week':>13}  "
          f"{'ratio':>5} {'best':>9} {'cover':>6}")
    ratios, seconds = [], []
    for path in args.traces:
        series, mix = load_trace(path, args.factor_set)
        times = issue_times(series, args.warmup_days, model.MAX_HORIZON_HOURS, args.issue_hour)
        results = model.backtest(series, times, model.MAX_HORIZON_HOURS, mix if args.mix else None)
        issues = results.groupby("issued_at")[["fallback", "seconds"]].first()
        ratios.append(report(path.stem, model.accuracy(results, WINDOWS), int(issues["fallback"].sum())))
        seconds.extend(issues["seconds"])
    print(f"fit+predict per forecast (72 h): mean {1000 * np.mean(seconds):.0f} ms")
    print(f"24 h MAPE ratio model / best baseline, mean over {len(ratios)} files: {np.mean(ratios):.3f}")


if __name__ == "__main__":
    main()
