"""Hourly carbon-intensity forecasts 1 to 72 hours ahead for one region and one factor set,
from the data available at issue time only, and the two baselines the model has to beat.

Pure: pandas in, pandas out; no database, no Flask. The API, the benchmark
(scripts/bench/forecast.py) and the stored error all go through `forecast()`.

The model ("ridge_same_hour"): one ridge regression per horizon, fitted on log intensity at
request time, trained only on past origins at the same hour of day as the current origin
(the newest complete hour), so each fit learns how that hour's state carries into that
target hour. Features, all from data at or before the origin:

- level: the last three hours, the mean of the last 24 h and of the last 168 h;
- daily shape: the target hour's value on the three most recent observed days, their mean,
  and the same hour one week before the target;
- anomaly: the origin hour yesterday, its mean over the last 7 days and the origin's
  deviation from that mean (how unusual today is, which decays with the horizon);
- calendar: whether the target's and the lag day's UTC date is a Saturday or Sunday;
- mix (optional): each share column's last value and 24 h mean (e.g. solar and wind share).

Samples are weighted by recency (half-life 60 days) so the fit follows the seasons.
Prediction intervals (80 %) are weighted quantiles of the fit's leave-one-out residuals per
horizon, which ridge gives in closed form.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

MODEL_NAME = "ridge_same_hour"
MODEL_VERSION = "1"
BASELINE_VERSION = "1"
SAME_HOUR_YESTERDAY = "same_hour_yesterday"
SAME_HOUR_LAST_WEEK = "same_hour_last_week"
BASELINES = (SAME_HOUR_YESTERDAY, SAME_HOUR_LAST_WEEK)
# Measured best on every trace in ../shared/traces at 24, 48 and 72 h (scripts/bench/forecast.py).
BEST_BASELINE = SAME_HOUR_YESTERDAY

MAX_HORIZON_HOURS = 72
MAX_STALENESS_HOURS = 24          # newest data older than this before the first target: fall back
MIN_TRAINING_DAYS = 28            # samples per horizon the fit needs (one per past day)
TRAINING_DAYS = 365               # older samples weigh < 2 % at the half-life below
HALF_LIFE_DAYS = 60.0
RIDGE = 3e-2                      # penalty per unit of sample weight, on standardised features
SAME_HOUR_LAGS = 3
LOOKBACK_HOURS = 168              # deepest a feature reads behind its origin
LOG_OFFSET = 10.0                 # g/kWh: keeps log finite where direct intensity is 0
INTERVAL_LEVEL = 0.8
_HOUR = pd.Timedelta(hours=1)
_DAY = pd.Timedelta(days=1)
_WEEK = pd.Timedelta(days=7)
# How far back a baseline looks for an observed value at the target's hour (gaps).
_BASELINE_SEARCH = {SAME_HOUR_YESTERDAY: (_DAY, 10), SAME_HOUR_LAST_WEEK: (_WEEK, 4)}


class NoHistory(ValueError):
    """Nothing usable before issue time: no forecast, not even a baseline, is possible."""


@dataclass(frozen=True)
class Forecast:
    """An issued forecast: `frame` has columns timestamp (UTC hour start), value, lower, upper
    (g/kWh; lower/upper NaN for a baseline), one row per hour."""

    frame: pd.DataFrame
    model_name: str
    model_version: str
    issued_at: pd.Timestamp
    history_end: pd.Timestamp          # start of the newest hour the forecast used
    fallback_reason: str | None = None  # set when a baseline was issued instead of the model
    interval_level: float | None = INTERVAL_LEVEL  # of lower..upper; None without bounds
    features: tuple[str, ...] = field(default=())  # what the model used; empty for a baseline


def target_times(issued_at: pd.Timestamp | datetime, horizon_hours: int) -> pd.DatetimeIndex:
    """The N hours a forecast covers: hourly interval starts at or after issued_at."""
    check_horizon(horizon_hours)
    start = _utc(issued_at, "issued_at").ceil("h")
    return pd.date_range(start, periods=horizon_hours, freq="h")


def check_horizon(horizon_hours: int) -> None:
    """Reject a horizon outside 1..72 with a message an API can show as it is."""
    if isinstance(horizon_hours, bool) or not isinstance(horizon_hours, (int, np.integer)) \
            or not 1 <= horizon_hours <= MAX_HORIZON_HOURS:
        raise ValueError(f"horizon_hours must be a whole number of hours from 1 to {MAX_HORIZON_HOURS}, "
                         f"got {horizon_hours!r}")


def hourly_history(history: pd.Series, issued_at: pd.Timestamp | datetime,
                   keep_days: int | None = TRAINING_DAYS + 10) -> pd.Series:
    """Hourly means of the complete hours before issued_at, on a gapless hourly index (NaN
    where nothing was observed); later rows are dropped here, whatever the caller passed.

    Repeated timestamps keep their last row (as a revision would), missing and negative
    values are dropped (intensity cannot be negative), any resolution is averaged per hour.
    """
    cutoff = _utc(issued_at, "issued_at").floor("h")  # the hour holding issued_at is not complete
    values = _clean(history, "history")
    if keep_days is not None:
        values = values[values.index >= cutoff - pd.Timedelta(days=keep_days)]
    values = values[(values.index < cutoff) & (values >= 0)]
    if values.empty:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
    return values.resample("h").mean()


def same_hour_yesterday(history: pd.Series, issued_at: pd.Timestamp | datetime,
                        horizon_hours: int = MAX_HORIZON_HOURS) -> pd.Series:
    """Baseline: for each target hour, the most recent observed value at the same UTC hour of
    day before issue time: yesterday's for targets in the first day, the day before yesterday's
    for the second, and so on (looking back up to 10 days over gaps); NaN if none."""
    return _seasonal_naive(hourly_history(history, issued_at), target_times(issued_at, horizon_hours),
                           *_BASELINE_SEARCH[SAME_HOUR_YESTERDAY])


def same_hour_last_week(history: pd.Series, issued_at: pd.Timestamp | datetime,
                        horizon_hours: int = MAX_HORIZON_HOURS) -> pd.Series:
    """Baseline: for each target hour, the value 7 days earlier (14, 21 or 28 over gaps); NaN
    if none. With horizons up to 72 h the week-old hour is always before issue time."""
    return _seasonal_naive(hourly_history(history, issued_at), target_times(issued_at, horizon_hours),
                           *_BASELINE_SEARCH[SAME_HOUR_LAST_WEEK])


def forecast(history: pd.Series, issued_at: pd.Timestamp | datetime, horizon_hours: int = MAX_HORIZON_HOURS,
             mix: pd.DataFrame | None = None) -> Forecast:
    """Forecast hourly intensity for the `horizon_hours` hours from issued_at, using only
    history (and mix shares) from before issued_at; falls back to the best baseline, saying
    why, when the model cannot be fitted.

    history: intensity in g/kWh indexed by tz-aware interval start, any resolution.
    mix: optional shares (0..1 or %), one column each (e.g. solar, wind), same kind of index.
    Raises ValueError for a horizon outside 1..72, NoHistory when nothing precedes issued_at.
    """
    targets = target_times(issued_at, horizon_hours)
    issued_at = _utc(issued_at, "issued_at")
    hourly = hourly_history(history, issued_at)
    observed = hourly.dropna()
    if observed.empty:
        raise NoHistory(f"no carbon-intensity history before {issued_at.isoformat()}")
    reason = _staleness_reason(observed.index[-1], targets[0])
    if reason:
        return _fallback(hourly, targets, issued_at, reason)
    hourly = hourly.loc[:observed.index[-1]]
    shares = _mix_arrays(mix, hourly.index, issued_at)
    fitted = _fit_predict(hourly, targets, shares)
    if isinstance(fitted, str):
        return _fallback(hourly, targets, issued_at, fitted)
    frame, features = fitted
    return Forecast(frame, MODEL_NAME, MODEL_VERSION, issued_at, hourly.index[-1], None, INTERVAL_LEVEL, features)


def to_resolution(frame: pd.DataFrame, minutes: int) -> pd.DataFrame:
    """Repeat each hourly row over the `minutes`-long intervals in its hour: the model has no
    sub-hourly skill, so interpolating would only pretend to have it."""
    if minutes <= 0 or 60 % minutes:
        raise ValueError(f"minutes must divide 60, got {minutes}")
    steps = 60 // minutes
    out = frame.loc[frame.index.repeat(steps)].reset_index(drop=True)
    offsets = pd.to_timedelta(np.tile(np.arange(steps) * minutes, len(frame)), unit="min")
    return out.assign(timestamp=out["timestamp"] + offsets)


def backtest(history: pd.Series, issue_times: pd.DatetimeIndex, horizon_hours: int = MAX_HORIZON_HOURS,
             mix: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rolling-origin evaluation: a forecast and both baselines issued at each time from the
    data before it, one row per issue and target hour (issued_at, horizon, timestamp, actual,
    model, lower, upper, fallback, seconds: the forecast() call's wall time, and a column per
    baseline)."""
    actual = _clean(history, "history").resample("h").mean()
    rows = []
    for issued_at in issue_times:
        start = time.perf_counter()
        made = forecast(history, issued_at, horizon_hours, mix)
        seconds = time.perf_counter() - start
        frame = made.frame.assign(issued_at=made.issued_at, horizon=np.arange(1, horizon_hours + 1),
                                  fallback=made.fallback_reason is not None, seconds=seconds,
                                  actual=actual.reindex(made.frame["timestamp"]).to_numpy())
        hourly = hourly_history(history, issued_at)
        for name, (period, tries) in _BASELINE_SEARCH.items():
            frame[name] = _seasonal_naive(hourly, pd.DatetimeIndex(frame["timestamp"]), period, tries).to_numpy()
        rows.append(frame.rename(columns={"value": "model"}))
    return pd.concat(rows, ignore_index=True)


def accuracy(results: pd.DataFrame, windows: tuple[int, ...] = (24, 48, 72)) -> pd.DataFrame:
    """MAPE (%) and MAE (g/kWh) of the model and each baseline over the first N hours of every
    issued forecast, and the share of actuals inside the model's interval; one row per N.
    Hours without an actual are left out, and hours whose actual is 0 from MAPE only."""
    rows = []
    for window in windows:
        part = results[(results["horizon"] <= window) & results["actual"].notna()]
        positive = part["actual"] > 0
        row = {"window_hours": window, "forecasts": part["issued_at"].nunique(), "hours": len(part)}
        for name in ("model", *BASELINES):
            error = (part[name] - part["actual"]).abs()
            row[f"{name}_mape"] = float((error / part["actual"])[positive].mean() * 100)
            row[f"{name}_mae"] = float(error.mean())
        inside = (part["actual"] >= part["lower"]) & (part["actual"] <= part["upper"])
        row["interval_coverage"] = float(inside[part["lower"].notna()].mean()) if part["lower"].notna().any() \
            else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


# --- preparation -------------------------------------------------------------------------

def _utc(moment: pd.Timestamp | datetime, name: str) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got {stamp.isoformat()}")
    return stamp.tz_convert("UTC")


def _clean(series: pd.Series, name: str) -> pd.Series:
    """Numeric values on a sorted UTC index, one per timestamp (the last), NaN dropped."""
    if not isinstance(series, pd.Series):
        raise TypeError(f"{name} must be a pandas Series, got {type(series).__name__}")
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError(f"{name} must be indexed by timezone-aware timestamps (UTC interval starts)")
    values = pd.Series(pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64"),
                       index=index.tz_convert("UTC").as_unit("ns"))
    values = values[~values.index.duplicated(keep="last")].sort_index()
    return values.dropna()


def _causal_fill(values: np.ndarray) -> np.ndarray:
    """Fill each missing hour from the same hour a day earlier (else the hour before), in time
    order: a gap is bridged from the past only, as the forecast would have to."""
    out = values.copy()
    for i in np.flatnonzero(np.isnan(out)):
        if i >= 24 and not np.isnan(out[i - 24]):
            out[i] = out[i - 24]
        elif i >= 1:
            out[i] = out[i - 1]
    return out


def _mix_arrays(mix: pd.DataFrame | None, index: pd.DatetimeIndex, issued_at: pd.Timestamp) -> dict[str, np.ndarray]:
    """Each share column hourly on the intensity's index, gaps filled from the past. A column
    that starts later than the intensity, or lacks the newest hour, is left out: better no
    feature than one that shortens the training or repeats an old value as the latest."""
    if mix is None or mix.empty:
        return {}
    shares = {}
    for column in mix.columns:
        hourly = hourly_history(mix[column], issued_at).reindex(index).to_numpy()
        filled = _causal_fill(hourly)
        if not np.isnan(hourly[-1]) and not np.isnan(filled).any():
            shares[str(column)] = filled
    return shares


def _staleness_reason(newest: pd.Timestamp, first_target: pd.Timestamp) -> str | None:
    lag = (first_target - newest) / _HOUR - 1
    if lag > MAX_STALENESS_HOURS:
        return (f"the newest data is from {newest.isoformat()}, {lag:.0f} h before the first forecast hour; "
                f"the model needs data from the last {MAX_STALENESS_HOURS} h")
    return None


# --- the model -----------------------------------------------------------------------------

def _fit_predict(hourly: pd.Series, targets: pd.DatetimeIndex,
                 shares: dict[str, np.ndarray]) -> tuple[pd.DataFrame, tuple[str, ...]] | str:
    """Fit one ridge per horizon and predict each target, or say why it cannot."""
    observed = ~np.isnan(hourly.to_numpy())
    origin = len(hourly) - 1
    horizons = np.rint((targets - hourly.index[-1]) / _HOUR).astype(int)
    if origin - horizons.max() - LOOKBACK_HOURS < 24 * (MIN_TRAINING_DAYS - 1):
        return _too_short(hourly, targets, 0, horizons.max())
    series = _Series.build(np.log(_causal_fill(hourly.to_numpy()) + LOG_OFFSET), shares,
                           pd.date_range(hourly.index[0], periods=len(hourly) + horizons.max(), freq="h"))
    values, lower, upper = (np.empty(len(targets)) for _ in range(3))
    for i, h in enumerate(horizons):
        origins = origin - 24 * np.arange(-(-h // 24), TRAINING_DAYS + 1)
        origins = origins[origins >= LOOKBACK_HOURS]
        origins = origins[observed[origins + h]]
        if len(origins) < MIN_TRAINING_DAYS:
            return _too_short(hourly, targets, len(origins), h)
        age_days = (origin - origins) / 24
        values[i], lower[i], upper[i] = _ridge(series.features(origins, h), series.z[origins + h],
                                               0.5 ** (age_days / HALF_LIFE_DAYS),
                                               series.features(np.array([origin]), h))
    frame = pd.DataFrame({"timestamp": targets, "value": values, "lower": lower, "upper": upper})
    for column in ("value", "lower", "upper"):
        frame[column] = np.maximum(np.exp(frame[column]) - LOG_OFFSET, 0.0)
    # Residual quantiles almost always straddle zero; make sure the bounds do too.
    frame["lower"] = np.minimum(frame["lower"], frame["value"])
    frame["upper"] = np.maximum(frame["upper"], frame["value"])
    return frame, series.names


def _too_short(hourly: pd.Series, targets: pd.DatetimeIndex, samples: int, horizon: int) -> str:
    days = (hourly.index[-1] - hourly.index[0]) / _DAY + 1 / 24
    return (f"only {days:.1f} days of history before {targets[0].isoformat()}: the model needs about "
            f"{MIN_TRAINING_DAYS + (LOOKBACK_HOURS + MAX_HORIZON_HOURS) // 24} days ({samples} usable past days "
            f"for the {horizon} h horizon, {MIN_TRAINING_DAYS} needed)")


@dataclass(frozen=True)
class _Series:
    """Per-hour arrays the features gather from; entry i uses hours <= i only. Padded with NaN
    past the newest hour so target indices exist, and a feature reading there would show."""

    z: np.ndarray                  # log intensity
    origin_columns: np.ndarray     # (hours, k): features that depend on the origin only
    weekend: np.ndarray            # UTC Saturday or Sunday, through the last target
    names: tuple[str, ...]

    @classmethod
    def build(cls, z: np.ndarray, shares: dict[str, np.ndarray], calendar: pd.DatetimeIndex) -> _Series:
        pad = len(calendar) - len(z)
        origin_days = np.mean([_shift(z, 24 * k) for k in range(1, 8)], axis=0)
        columns = [z, _shift(z, 1), _shift(z, 2), _trailing_mean(z, 24), _trailing_mean(z, 168),
                   _shift(z, 24), origin_days, z - origin_days]
        names = ["last", "last-1h", "last-2h", "mean24h", "mean168h",
                 "origin_hour_yesterday", "origin_hour_mean7d", "origin_anomaly"]
        for name, share in shares.items():
            columns += [share, _trailing_mean(share, 24)]
            names += [f"{name}_last", f"{name}_mean24h"]
        names += [*[f"same_hour_day{k}" for k in range(1, SAME_HOUR_LAGS + 1)], "same_hour_mean",
                  "same_hour_last_week", "target_weekend", "lag_day_weekend"]
        return cls(np.concatenate([z, np.full(pad, np.nan)]),
                   np.column_stack(columns), calendar.day_of_week.to_numpy() >= 5, tuple(names))

    def features(self, origins: np.ndarray, h: int) -> np.ndarray:
        """One row per origin; every value is at or before its origin."""
        target = origins + h
        first_lag = -(-h // 24)  # the newest day whose target hour is at or before the origin
        same_hour = np.column_stack([self.z[target - 24 * k] for k in range(first_lag, first_lag + SAME_HOUR_LAGS)])
        return np.column_stack([
            self.origin_columns[origins], same_hour, same_hour.mean(axis=1), self.z[target - 168],
            self.weekend[target], self.weekend[target - 24 * first_lag],
        ])


def _shift(values: np.ndarray, hours: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    out[hours:] = values[:len(values) - hours]
    return out


def _trailing_mean(values: np.ndarray, hours: int) -> np.ndarray:
    """Mean of the `hours` hours ending at each index (NaN until there are that many)."""
    total = np.concatenate([[0.0], np.cumsum(values)])
    out = np.full(len(values), np.nan)
    out[hours - 1:] = (total[hours:] - total[:-hours]) / hours
    return out


def _ridge(x: np.ndarray, y: np.ndarray, weights: np.ndarray, x_now: np.ndarray) -> tuple[float, float, float]:
    """Weighted ridge on standardised features; returns the prediction and the interval from
    weighted quantiles of the leave-one-out residuals (exact for ridge: r / (1 - leverage))."""
    keep = np.isfinite(x).all(axis=1) & np.isfinite(y)
    x, y, weights = x[keep], y[keep], weights[keep]
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-12] = 1.0  # a constant feature (e.g. no solar at all) stays harmless
    design = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    root = np.sqrt(weights)
    a, b = design * root[:, None], y * root
    penalty = RIDGE * weights.sum() * np.eye(design.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    inverse = np.linalg.inv(a.T @ a + penalty)
    beta = inverse @ (a.T @ b)
    leverage = ((a @ inverse) * a).sum(axis=1)
    loo = (y - design @ beta) / np.maximum(1.0 - leverage, 1e-6)
    tail = (1 - INTERVAL_LEVEL) / 2
    low, high = _weighted_quantiles(loo, weights, (tail, 1 - tail))
    now = float(np.concatenate([[1.0], (x_now[0] - mean) / scale]) @ beta)
    return now, now + low, now + high


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return np.interp(np.array(quantiles) * cumulative[-1], cumulative - weights[order] / 2, values[order])


# --- baselines and fallback ----------------------------------------------------------------

def _seasonal_naive(hourly: pd.Series, targets: pd.DatetimeIndex, period: pd.Timedelta, tries: int) -> pd.Series:
    """For each target t, the value at t - k * period for the smallest k >= 1 that lands on an
    observed hour: candidates start at the newest period-step at or before the newest hour and
    go back `tries` steps over gaps; NaN when all of them are missing."""
    out = pd.Series(np.nan, index=targets)
    if hourly.empty:
        return out
    steps = period / _HOUR
    first_k = np.maximum(1, np.ceil((targets - hourly.index[-1]) / period)).astype(int)
    for extra in range(tries):
        candidates = targets - pd.to_timedelta((first_k + extra) * steps, unit="h")
        values = hourly.reindex(candidates).to_numpy()
        fill = out.isna().to_numpy() & ~np.isnan(values)
        out[fill] = values[fill]
    return out


def _fallback(hourly: pd.Series, targets: pd.DatetimeIndex, issued_at: pd.Timestamp, reason: str) -> Forecast:
    """The best baseline, labelled; hours it cannot fill get the newest observed value."""
    values = _seasonal_naive(hourly, targets, *_BASELINE_SEARCH[BEST_BASELINE])
    observed = hourly.dropna()
    if values.isna().any():
        values = values.fillna(observed.iloc[-1])
        reason += ("; hours with no value at the same hour in the last days repeat the newest "
                   f"({observed.index[-1].isoformat()})")
    frame = pd.DataFrame({"timestamp": targets, "value": values.to_numpy(), "lower": np.nan, "upper": np.nan})
    return Forecast(frame, BEST_BASELINE, BASELINE_VERSION, issued_at, observed.index[-1], reason, None, ())
