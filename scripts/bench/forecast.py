"""Forecast benchmark: rolling-origin evaluation of api.models.forecast on hourly traces.

    python scripts/bench/forecast.py TRACE.csv [TRACE.csv ...] [--factor-set lifecycle|direct] [--mix]
                                     [--issue-hour 0] [--warmup-days 60]

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
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.models import forecast as model  # noqa: E402

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traces", nargs="+", type=Path)
    parser.add_argument("--factor-set", choices=sorted(EM_COLUMNS), default="lifecycle")
    parser.add_argument("--mix", action="store_true", help="pass the trace's mix shares to the model")
    parser.add_argument("--warmup-days", type=int, default=60)
    parser.add_argument("--issue-hour", type=int, default=0, choices=range(24), metavar="0-23",
                        help="UTC hour at which the daily forecast is issued")
    args = parser.parse_args(argv)

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
