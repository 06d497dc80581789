"""Per-source production forecasts from weather and operators' forecasts, turned into carbon
intensity with the region's emission factors; 1 to 96 hours ahead.

Pure: pandas/numpy/LightGBM in, pandas out; no database, no Flask, no files. The lead's fit
job and the API call these functions; scripts/bench/forecast.py --dacf measures them.

- `fit(history, weather, operator, factors)` fits, per horizon band (1-24 h, 25-96 h),
  LightGBM models of total generation and of each fuel's share of it, and direct models of
  the first factor set's log intensity (bagged over seeds, blended into the mix with a weight
  chosen on held-out days, see `_blend`). Samples are (issue hour, horizon) pairs from every
  hour of the day; each model learns the change from the target's hour on the newest day
  before the issue; features are taken only from data before the issue hour plus the
  weather/operator forecast for the target hour and its neighbours (see `_features`). The newest `validation_days` are held out: their forecasts
  give the measured error and the interval calibration (normalised split conformal:
  quantiles of log(actual / forecast) intensity, divided by how unsettled the intensity was
  in the week before each issue, per horizon band and factor set; at predict they are scaled
  back by that week's figure before the issue), then the model is refitted
  on the whole window with the number of trees early stopping chose.
- `predict(model, history, weather, operator, issued_at, horizon_hours)` forecasts every fuel's
  MW for the hours from `issued_at`, moved by the model's recent error (its forecasts at the
  same hour on the 14 days before against what happened, see CORRECTION_DAYS; the held-out
  forecasts at fit carry the same correction), and from that one mix the intensity of every factor set
  (so lifecycle and direct, regional and IPCC agree: each is the same mix times its factors),
  with 80 % bounds. Without a model, or without the weather it was fitted on, it falls back to
  the history-only model (api.models.forecast.forecast) and says so in `fallback_reason`.

Inputs follow the forecast-inputs contract: hourly UTC frames indexed by target hour start;
weather columns `wind_speed_10m`, `wind_speed_100m` (m/s), `temperature_2m`, `dew_point_2m`
(°C), `shortwave_radiation` (W/m²), `cloud_cover` (%), `precipitation` (mm); operator columns
`load_forecast_mw`, `wind_forecast_mw`, `solar_forecast_mw`; any may be absent. The caller
passes inputs issued before `issued_at` only; this module in turn reads no history row at or
after `issued_at`. predict reads HISTORY_HOURS of history behind the first target hour.
"""
from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from api.models import forecast as history_model

MODEL_NAME = "mix_gbdt"
MODEL_VERSION = "1"
FORMAT_VERSION = 2               # 2: interval_scale in the header; format 1 (without it) still reads
READABLE_FORMATS = (1, 2)
MAX_HORIZON_HOURS = 96
INTERVAL_LEVEL = 0.8
WEATHER_COLUMNS = ("wind_speed_10m", "wind_speed_100m", "temperature_2m", "dew_point_2m",
                   "shortwave_radiation", "cloud_cover", "precipitation")
OPERATOR_COLUMNS = ("load_forecast_mw", "wind_forecast_mw", "solar_forecast_mw")
# Horizon bands of the interval calibration: errors grow with the horizon, most in the first day.
HORIZON_BANDS = (6, 12, 24, 48, 72, 96)
LOOKBACK_HOURS = 168             # deepest a feature reads behind its issue hour
MIN_TRAINING_DAYS = 60
TRAINING_SAMPLES = 60_000       # (issue, horizon) rows per horizon band; more cost time, not accuracy
VALIDATION_ISSUE_STRIDE = 6      # hours between the held-out issues (all horizons each)
SEED = 2026
# Two threads for fitting (the target machine has 2 cores): with `deterministic` the DACF benchmark
# gave the same MAPEs as one thread to the last digit. Prediction stays on one thread.
LGB_PARAMS = {
    "objective": "l2", "learning_rate": 0.1, "num_leaves": 31, "min_data_in_leaf": 100,
    "feature_fraction": 0.5, "bagging_fraction": 0.5, "bagging_freq": 1, "lambda_l2": 1.0,
    "verbose": -1, "num_threads": 2, "max_bin": 63, "seed": SEED, "deterministic": True, "force_row_wise": True,
}
MAX_TREES = 300
MODEL_BANDS = ((1, 24), (25, 96))  # horizons with their own models
# Recent-error correction: the forecasts the model would have issued at the same hour on each of
# the CORRECTION_DAYS days before (CORRECTION_HORIZONS of their first day) against what
# happened; the median log ratio, times CORRECTION_SHRINK, moves the new forecast. It follows a level the grid has
# drifted to since the fit (CISO's drier 2021: the model ran 2 % low for months). Fourteen days
# and one half sit mid-grid of the settings measured (docs/performance.md#forecast-against-dacf).
CORRECTION_DAYS = 14
CORRECTION_SHRINK = 0.5
# Every third hour of each past forecast's first day: as accurate as all 24 (measured), at a
# third of the cost, which keeps a 96-hour predict near 35 ms instead of 50-65.
CORRECTION_HORIZONS = np.arange(1, 25, 3)
CORRECTION_MIN_HOURS = 24        # fewer past forecast hours with an outcome: no correction
HISTORY_HOURS = LOOKBACK_HOURS + 24 * CORRECTION_DAYS   # what predict reads behind its issue hour
INTENSITY = "intensity"          # direct models of the first factor set's (log) intensity, learning
INTENSITY_LAST = "intensity_last"  # its change from the same hour a day before / from the last hour
LOG_OFFSET = 10.0                # g/kWh: keeps the log finite where direct intensity is 0
DIRECT_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
DIRECT_SEEDS = 3                 # direct models per kind, bagged (seed-to-seed MAPE varies by ~0.2)  # the direct model's weight in the blend, chosen on validation
TOTAL = "total"                  # the model of total generation, beside one share model per fuel
_HOUR = pd.Timedelta(hours=1)


class NoInputs(ValueError):
    """The inputs cannot support a fit (too little history, no weather, no fuel columns)."""


@dataclass
class MixModel:
    """A fitted model and what it was fitted on; `to_bytes()` / `from_bytes()` round-trip it."""

    fuels: tuple[str, ...]                      # fuels with a model, in order
    constant_fuels: dict[str, float]            # fuels with no variation in training (e.g. absent)
    factors: dict[str, dict[str, float]]        # factor set -> fuel -> g/kWh, as fitted
    weather_columns: tuple[str, ...]
    operator_columns: tuple[str, ...]
    training_start: pd.Timestamp                # first and last hour of history used
    training_end: pd.Timestamp
    horizon_hours: int
    trees: dict[str, object]                    # fuel -> lightgbm.Booster
    calibration: dict[str, list[list[float]]]   # factor set -> per band [low, high] log ratio
    validation: dict                            # measured error on the held-out window
    fit_seconds: float = 0.0
    direct_weight: float = 0.0                  # of the direct intensity model in the blend
    name: str = MODEL_NAME
    version: str = MODEL_VERSION
    feature_names: tuple[str, ...] = field(default=())
    # None: calibration holds plain log-ratio quantiles (format 1); else they are divided by
    # the issue's scale (see _Timeline.scale), clipped at predict to {"clip": [low, high]}.
    interval_scale: dict | None = None

    @property
    def inputs(self) -> dict:
        """What the model consumes: store this beside it and show it with each answer."""
        return {"weather": list(self.weather_columns), "operator": list(self.operator_columns),
                "fuels": list(self.fuels) + list(self.constant_fuels)}

    def to_bytes(self) -> bytes:
        """JSON header line, then each booster's text model; no pickle, so stored bytes load
        in any later version that keeps FORMAT_VERSION."""
        header = {
            "format": FORMAT_VERSION, "name": self.name, "version": self.version, "fuels": list(self.fuels),
            "constant_fuels": self.constant_fuels, "factors": self.factors,
            "weather_columns": list(self.weather_columns), "operator_columns": list(self.operator_columns),
            "training_start": self.training_start.isoformat(), "training_end": self.training_end.isoformat(),
            "horizon_hours": self.horizon_hours, "calibration": self.calibration, "validation": self.validation,
            "fit_seconds": self.fit_seconds, "direct_weight": self.direct_weight, "feature_names": list(self.feature_names),
            "interval_scale": self.interval_scale,
            "tree_lengths": {fuel: len(text) for fuel, text in self._tree_texts().items()},
        }
        out = io.StringIO()
        out.write(json.dumps(header) + "\n")
        for text in self._tree_texts().values():
            out.write(text)
        return out.getvalue().encode("utf-8")

    def _tree_texts(self) -> dict[str, str]:
        return {key: self.trees[key].model_to_string() for key in sorted(self.trees)}

    @classmethod
    def from_bytes(cls, data: bytes) -> MixModel:
        import lightgbm

        text = data.decode("utf-8")
        first, rest = text.split("\n", 1)
        header = json.loads(first)
        if header.get("format") not in READABLE_FORMATS:
            raise ValueError(f"stored model format {header.get('format')!r}, this code reads "
                             f"{', '.join(map(str, READABLE_FORMATS))}")
        trees, at = {}, 0
        for key in sorted(header["tree_lengths"]):
            length = header["tree_lengths"][key]
            trees[key] = lightgbm.Booster(model_str=rest[at:at + length])
            at += length
        return cls(tuple(header["fuels"]), header["constant_fuels"], header["factors"],
                   tuple(header["weather_columns"]), tuple(header["operator_columns"]),
                   pd.Timestamp(header["training_start"]), pd.Timestamp(header["training_end"]),
                   header["horizon_hours"], trees, header["calibration"], header["validation"],
                   header["fit_seconds"], header["direct_weight"], header["name"], header["version"], tuple(header["feature_names"]),
                   header.get("interval_scale"))


@dataclass(frozen=True)
class MixForecast:
    """An issued forecast. `frame`: timestamp (UTC hour start), horizon (1 = the hour starting
    at issued_at rounded up), `<fuel>_mw` per fuel (absent in a fallback), and per factor set
    `<set>`, `<set>_lower`, `<set>_upper` (g/kWh; bounds of the 80 % interval)."""

    frame: pd.DataFrame
    model_name: str
    model_version: str
    issued_at: pd.Timestamp
    history_end: pd.Timestamp
    inputs: dict                              # weather/operator columns used, fuels
    fallback_reason: str | None = None
    interval_level: float | None = INTERVAL_LEVEL


# --- public API ------------------------------------------------------------------------------

def intensity_from_mix(mix: pd.DataFrame | dict, factors: dict[str, float]) -> np.ndarray:
    """sum(MW x factor) / sum(MW) over the fuels' non-negative MW; a fuel without a factor is
    an error (better than a silently wrong intensity)."""
    columns = list(mix.keys())
    missing = [fuel for fuel in columns if fuel not in factors]
    if missing:
        raise ValueError(f"no emission factor for {', '.join(missing)}")
    mw = np.column_stack([np.clip(np.asarray(mix[f], dtype=float), 0, None) for f in columns])
    weights = np.array([factors[f] for f in columns], dtype=float)
    total = mw.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, mw @ weights / total, np.nan)


def fit(history: pd.DataFrame, weather: pd.DataFrame | None, operator: pd.DataFrame | None,
        factors: dict[str, dict[str, float]], *, end: pd.Timestamp | datetime | None = None,
        training_days: int | None = 540, validation_days: int = 60,
        horizon_hours: int = MAX_HORIZON_HOURS, samples: int = TRAINING_SAMPLES) -> MixModel:
    """Fit the per-fuel models on the hours before `end` (default: after the newest row).

    history: MW per fuel (columns from the closed vocabulary), indexed by UTC hour start.
    weather, operator: contract frames covering the same hours (the forecasts for those hours).
    factors: factor set name -> fuel -> g/kWh; every fuel of history needs a factor.
    samples: (issue, horizon) rows per horizon band drawn for training (fewer: faster, coarser).
    Raises NoInputs when the history is too short or no weather/operator column is usable.
    """
    began = time.perf_counter()
    _check_horizon(horizon_hours)
    fuels_all = [str(c) for c in history.columns]
    for name, table in factors.items():
        missing = [f for f in fuels_all if f not in table]
        if missing:
            raise ValueError(f"factor set {name!r} has no factor for {', '.join(missing)}")
    mix = _hourly_frame(history, "history")
    if end is not None:
        mix = mix[mix.index < _utc(end, "end").floor("h")]
    if training_days is not None and len(mix):
        mix = mix[mix.index >= mix.index[-1] - pd.Timedelta(days=training_days)]
    mix = mix.dropna(how="all")
    if len(mix) < 24 * MIN_TRAINING_DAYS:
        raise NoInputs(f"{len(mix) / 24:.0f} days of history; the mix model needs {MIN_TRAINING_DAYS}")
    start, stop = mix.index[0], mix.index[-1]
    wx = _input_frame(weather, WEATHER_COLUMNS, "weather", start, stop)
    op = _input_frame(operator, OPERATOR_COLUMNS, "operator", start, stop)
    if wx.shape[1] + op.shape[1] == 0:
        raise NoInputs("no weather or operator forecast column to fit on")
    primary = next(iter(factors.values()))
    timeline = _Timeline.build(mix, wx, op, stop + _HOUR, primary)
    constant = {f: float(np.nanmean(timeline.mw[f])) for f in fuels_all
                if np.nanstd(timeline.mw[f]) < 1e-9 or np.isnan(np.nanstd(timeline.mw[f]))}
    constant = {f: (0.0 if np.isnan(v) else v) for f, v in constant.items()}
    fuels = tuple(f for f in fuels_all if f not in constant)

    n = len(mix)
    split = n - 24 * validation_days
    if split - LOOKBACK_HOURS < 24 * 30:
        raise NoInputs(f"{n / 24:.0f} days of history leave too few before the {validation_days} validation days")
    rng = np.random.default_rng(SEED)
    valid_issue = np.arange(split, n - 23, VALIDATION_ISSUE_STRIDE)
    valid_rows = _all_pairs(valid_issue, 1, horizon_hours, n)

    # Per horizon band (a model for the first day learns its own, sharper, dynamics), models of
    # total generation (MW) and of each fuel's share of it: the intensity depends on the shares
    # only, so an error in the total level does not reach it. Each learns the change from the
    # same hour on the newest day before the issue, which keeps it right when levels move
    # beyond what it saw in training.
    trees, best, predictions, first_stage = {}, {}, {}, {}
    for lo, hi in _bands(horizon_hours):
        in_band = (valid_rows[1] >= lo) & (valid_rows[1] <= hi)
        band_rows = (valid_rows[0][in_band], valid_rows[1][in_band])
        fitted, band_best, names = _train(timeline, fuels, LOOKBACK_HOURS, split, lo, hi, rng, samples, valid_rows=band_rows)
        x_valid, _ = _features(timeline, fuels, *band_rows)
        for target, booster in fitted.items():
            best[f"{target}@{lo}"] = band_best[target]
            first_stage[f"{target}@{lo}"] = booster
            values = booster.predict(x_valid, num_threads=1) + timeline.base(target, band_rows)
            predictions.setdefault(target, np.full(len(valid_rows[0]), np.nan))[in_band] = values
    mix_valid = _mix_from_predictions(predictions, fuels, constant)
    direct_valid = _direct(predictions)
    direct_weight = _choose_weight(timeline, valid_rows, mix_valid, direct_valid, primary)
    # The held-out forecasts as predict() issues them, recent-error correction included, so
    # that the interval is calibrated on the errors it will have.
    held_out = MixModel(fuels, constant, factors, tuple(wx.columns), tuple(op.columns), start, stop, horizon_hours,
                        first_stage, {}, {}, direct_weight=direct_weight)
    rows = _correction_rows(valid_issue, 0)       # the window's first hour has a mix (dropna above)
    past = intensity_from_mix(_mix_rows(held_out, timeline, *rows), primary) if rows[0].size else np.empty(0)
    correction = _correction(timeline, valid_issue, 0, rows, past)
    blended = _blend(mix_valid, direct_valid, primary, direct_weight)
    correction = correction[np.searchsorted(valid_issue, valid_rows[0])]
    blended = _blend(blended, intensity_from_mix(blended, primary) * correction, primary, 1.0)
    validation, calibration, interval_scale = _validate(timeline, fuels, constant, factors, valid_rows, blended)
    validation["direct_weight"] = direct_weight

    # Refit on the whole window (the held-out days are the most recent, so the most useful),
    # with the number of trees early stopping chose, and 10 % more for the larger sample.
    for lo, hi in _bands(horizon_hours):
        counts = {t: int(best[f"{t}@{lo}"] * 1.1) for t in _targets(fuels)}
        fitted, _, names = _train(timeline, fuels, LOOKBACK_HOURS, n, lo, hi, rng, samples, trees=counts)
        trees.update({f"{target}@{lo}": booster for target, booster in fitted.items()})
    validation["trees"] = {key: int(count * 1.1) for key, count in best.items()}
    return MixModel(fuels, constant, {k: dict(v) for k, v in factors.items()}, tuple(wx.columns), tuple(op.columns),
                    start, stop, horizon_hours, trees, calibration, validation, time.perf_counter() - began,
                    direct_weight, feature_names=tuple(names), interval_scale=interval_scale)


def predict(model: MixModel | None, history: pd.DataFrame | None, weather: pd.DataFrame | None,
            operator: pd.DataFrame | None, issued_at: pd.Timestamp | datetime, horizon_hours: int = 24,
            factors: dict[str, dict[str, float]] | None = None,
            intensity: dict[str, pd.Series] | None = None, shares: pd.DataFrame | None = None) -> MixForecast:
    """Forecast the `horizon_hours` hours from issued_at.

    history: MW per fuel before issued_at (rows at or after it are ignored), at least the last
    LOOKBACK_HOURS hours (HISTORY_HOURS for the recent-error correction). weather/operator:
    the contract frames for the target hours (and the history hours, which some features
    read). factors: factor sets to answer (default: those the model was fitted with).
    intensity: measured intensity per factor set, used only by the history-only fallback (else
    it is computed from history with the factors); shares: the fallback's optional `mix`
    argument (e.g. the renewable share), as the API passes it.
    """
    _check_horizon(horizon_hours)
    issued_at = _utc(issued_at, "issued_at")
    targets = pd.date_range(issued_at.ceil("h"), periods=horizon_hours, freq="h")
    factors = factors if factors is not None else (model.factors if model is not None else {})
    if not factors and not intensity:
        raise ValueError("no factor set to answer: pass factors or intensity")
    reason = _why_not(model, history, weather, operator, issued_at, targets)
    if reason:
        return _fallback(history, intensity, factors, issued_at, horizon_hours, targets, reason, shares)
    first = targets[0] - _HOUR * HISTORY_HOURS
    mix = _hourly_frame(_rows_between(history, first - _HOUR, issued_at.floor("h") - _HOUR, "history"), "history")
    mix = mix[mix.index >= first - _HOUR].reindex(pd.date_range(first, targets[0] - _HOUR, freq="h"))
    for fuel in model.fuels + tuple(model.constant_fuels):
        if fuel not in mix.columns:
            mix[fuel] = np.nan
    timeline, start = _prepared(model, mix, weather, operator, targets[-1] + _HOUR)
    horizons = np.arange(1, horizon_hours + 1)
    frame = _predict_rows(model, timeline, np.full(horizon_hours, HISTORY_HOURS), horizons, factors, start)
    frame.insert(0, "timestamp", targets)
    return MixForecast(frame, model.name, model.version, issued_at, mix.index[-1], model.inputs, None)


def forecast_many(model: MixModel, history: pd.DataFrame, weather: pd.DataFrame | None,
                  operator: pd.DataFrame | None, issue_times: pd.DatetimeIndex, horizon_hours: int = 24,
                  factors: dict[str, dict[str, float]] | None = None) -> pd.DataFrame:
    """Many issues at once, for benchmarks: one row per issue and horizon (issued_at, horizon,
    timestamp, then predict()'s columns), the same numbers predict() gives for each issue
    (the features read only history before each row's own issue hour, whatever `history`
    holds after it). Issue times must be whole hours inside the history's span."""
    _check_horizon(horizon_hours)
    factors = factors if factors is not None else model.factors
    mix = _hourly_frame(history, "history")
    for fuel in model.fuels + tuple(model.constant_fuels):
        if fuel not in mix.columns:
            mix[fuel] = np.nan
    issue_times = pd.DatetimeIndex(issue_times).tz_convert("UTC")
    timeline, start = _prepared(model, mix, weather, operator, issue_times.max() + horizon_hours * _HOUR)
    issue = np.repeat(timeline.index.get_indexer(issue_times), horizon_hours)
    if (issue < LOOKBACK_HOURS).any():
        raise ValueError(f"every issue time needs {LOOKBACK_HOURS} h of history before it")
    horizons = np.tile(np.arange(1, horizon_hours + 1), len(issue_times))
    frame = _predict_rows(model, timeline, issue, horizons, factors, start)
    frame.insert(0, "timestamp", timeline.index[issue + horizons - 1])
    frame.insert(0, "issued_at", timeline.index[issue])
    return frame


def _predict_rows(model: MixModel, timeline: _Timeline, issue: np.ndarray, horizons: np.ndarray,
                  factors: dict[str, dict[str, float]], start: int) -> pd.DataFrame:
    """Fuel MW and intensities with bounds for each (issue position, horizon) row, with the
    recent-error correction from past forecasts whose lookback starts at or after `start`:
    each row's mix moved so that its first factor set's intensity is that many times its own
    (emitting fuels scaled one way, the others the other, as in _blend). The past forecasts
    go through the same model calls as the rows asked for (each call costs more than its rows)."""
    issues = np.unique(issue)
    past_rows = _correction_rows(issues, start)
    both = _mix_rows(model, timeline, np.concatenate([issue, past_rows[0]]), np.concatenate([horizons, past_rows[1]]))
    mw = {fuel: values[:len(issue)] for fuel, values in both.items()}
    primary = _primary(model)
    past = intensity_from_mix({fuel: values[len(issue):] for fuel, values in both.items()}, primary)
    correction = _correction(timeline, issues, start, past_rows, past)[np.searchsorted(issues, issue)]
    mw = _blend(mw, intensity_from_mix(mw, primary) * correction, primary, 1.0)
    columns = {"horizon": horizons, **{f"{fuel}_mw": mw[fuel] for fuel in mw}}
    bands = np.searchsorted(HORIZON_BANDS, horizons)
    scale = 1.0
    if model.interval_scale is not None:
        scale = np.clip(timeline.scale(issue), *model.interval_scale["clip"])
    for name, table in factors.items():
        value = intensity_from_mix(mw, table)
        low, high = _band_quantiles(model, name, bands)
        low, high = low * scale, high * scale
        columns[name] = value
        columns[f"{name}_lower"] = np.minimum(value * np.exp(low), value)
        columns[f"{name}_upper"] = np.maximum(value * np.exp(high), value)
    return pd.DataFrame(columns)


def _past_issues(issues: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Per issue, the positions of the same hour on each of the CORRECTION_DAYS days before,
    and whether each has its whole LOOKBACK_HOURS at or after `start`."""
    past = issues[:, None] - 24 * np.arange(1, CORRECTION_DAYS + 1)[None, :]
    return past, past - LOOKBACK_HOURS >= start


def _correction_rows(issues: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """The (issue position, horizon) rows of the past forecasts the correction needs, each
    once however many issues share it; their hours all lie before the issues."""
    past, usable = _past_issues(issues, start)
    unique = np.unique(past[usable]) if CORRECTION_SHRINK else np.array([], dtype=int)
    return np.repeat(unique, len(CORRECTION_HORIZONS)), np.tile(CORRECTION_HORIZONS, unique.size)


def _correction(timeline: _Timeline, issues: np.ndarray, start: int, rows: tuple[np.ndarray, np.ndarray],
                predicted: np.ndarray) -> np.ndarray:
    """Per issue, the factor on the first factor set's intensity (see CORRECTION_DAYS) from
    the past forecasts `predicted` for `rows` (as _correction_rows gave them)."""
    correction = np.ones(len(issues))
    if rows[0].size == 0:
        return correction
    width = len(CORRECTION_HORIZONS)
    actual = np.exp(timeline.log_intensity[rows[0] + rows[1] - 1]) - LOG_OFFSET
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.log(actual / predicted).reshape(-1, width)
    ratio[~np.isfinite(ratio)] = np.nan
    unique = rows[0][::width]
    past, usable = _past_issues(issues, start)
    for k, (positions, keep) in enumerate(zip(past, usable)):
        values = ratio[np.searchsorted(unique, positions[keep])]
        if np.isfinite(values).sum() >= CORRECTION_MIN_HOURS:
            correction[k] = np.exp(CORRECTION_SHRINK * np.nanmedian(values))
    return correction


def _mix_rows(model: MixModel, timeline: _Timeline, issue: np.ndarray, horizons: np.ndarray) -> dict[str, np.ndarray]:
    """The model's mix (MW per fuel, blended with its direct models) for each (issue
    position, horizon) row."""
    x, _ = _features(timeline, model.fuels, issue, horizons)
    predictions = {}
    for lo, hi in _bands(int(horizons.max())):
        part = (horizons >= lo) & (horizons <= hi)
        if not part.any():
            continue
        for target in _targets(model.fuels):
            values = predictions.setdefault(target, np.empty(len(horizons)))
            values[part] = model.trees[f"{target}@{lo}"].predict(x[part], num_threads=1) \
                + timeline.base(target, (issue[part], horizons[part]))
    return _blend(_mix_from_predictions(predictions, model.fuels, model.constant_fuels),
                  _direct(predictions), _primary(model), model.direct_weight)


# --- internals: preparation ------------------------------------------------------------------

def _check_horizon(horizon_hours: int) -> None:
    if isinstance(horizon_hours, bool) or not isinstance(horizon_hours, (int, np.integer)) \
            or not 1 <= horizon_hours <= MAX_HORIZON_HOURS:
        raise ValueError(f"horizon_hours must be a whole number of hours from 1 to {MAX_HORIZON_HOURS}, "
                         f"got {horizon_hours!r}")


def _utc(moment, name: str) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got {stamp.isoformat()}")
    return stamp.tz_convert("UTC")


def _hourly_frame(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Numeric columns on a sorted, gapless UTC hourly index (NaN where nothing was observed)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError(f"{name} must be indexed by timezone-aware timestamps (UTC hour starts)")
    numeric = all(pd.api.types.is_numeric_dtype(dtype) for dtype in frame.dtypes)
    out = frame.astype("float64") if numeric else frame.apply(pd.to_numeric, errors="coerce").astype("float64")
    out.index = index.tz_convert("UTC").as_unit("ns")
    if _on_hour_starts(out.index):
        return out      # what the clean-up below would return, at a fraction of its cost
    out = out[~out.index.duplicated(keep="last")].sort_index()
    if out.empty:
        return out
    return out.resample("h").mean()


def _on_hour_starts(index: pd.DatetimeIndex) -> bool:
    """Whether the index is already every hour start, in order, without a gap or repeat."""
    stamps = index.asi8
    step = 3_600_000_000_000
    return bool(len(stamps)) and stamps[0] % step == 0 and bool((np.diff(stamps) == step).all())


def _rows_between(frame: pd.DataFrame, start: pd.Timestamp, stop: pd.Timestamp, name: str) -> pd.DataFrame:
    """The rows of the hours start..stop (a cheap cut before the hourly clean-up, which would
    otherwise work through years of rows on every forecast)."""
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError(f"{name} must be indexed by timezone-aware timestamps (UTC hour starts)")
    if index.is_monotonic_increasing:
        return frame.iloc[index.searchsorted(start):index.searchsorted(stop + _HOUR)]
    return frame[(index >= start) & (index < stop + _HOUR)]


def _input_hours(frame: pd.DataFrame | None, columns: tuple[str, ...], name: str, start: pd.Timestamp,
                 stop: pd.Timestamp) -> pd.DataFrame:
    """`columns` of an input frame on [start, stop] hourly, as given: NaN where missing."""
    index = pd.date_range(start, stop, freq="h")
    if frame is None or frame.empty:
        return pd.DataFrame(index=index, columns=list(columns), dtype="float64")
    frame = _rows_between(frame, start, stop, name)
    hourly = _hourly_frame(frame[[c for c in columns if c in frame.columns]], name)
    hourly = hourly.reindex(index=index, columns=list(columns))
    if name == "weather" and "temperature_2m" in hourly:
        # Kelvin-zero placeholders of missing GFS steps: not a temperature.
        hourly["temperature_2m"] = hourly["temperature_2m"].mask(hourly["temperature_2m"] < -90)
    return hourly


def _input_frame(frame: pd.DataFrame | None, columns: tuple[str, ...], name: str, start: pd.Timestamp,
                 stop: pd.Timestamp) -> pd.DataFrame:
    """For fit: the columns of an input frame that cover at least 90 % of [start, stop]
    (better no feature than a mostly-missing one), gaps filled from neighbours."""
    hourly = _input_hours(frame, columns, name, start, stop)
    keep = [c for c in hourly.columns if hourly[c].notna().mean() >= 0.9]
    return hourly[keep].interpolate(limit_direction="both")


def _prepared(model: MixModel, mix: pd.DataFrame, weather: pd.DataFrame | None, operator: pd.DataFrame | None,
              end: pd.Timestamp) -> tuple[_Timeline, int]:
    """The timeline of mix (hourly, every model fuel a column) and the inputs up to `end`
    (exclusive), short gaps filled (the mix from the newest value before them, the inputs
    from their neighbours), and the position of the first hour given in full, before filling
    (see _first_complete_hour)."""
    given = (_input_hours(weather, model.weather_columns, "weather", mix.index[0], end - _HOUR),
             _input_hours(operator, model.operator_columns, "operator", mix.index[0], end - _HOUR))
    start = _first_complete_hour(mix, given)
    wx, op = (inputs.interpolate(limit_direction="both") for inputs in given)
    return _Timeline.build(mix.ffill().bfill(), wx, op, end, _primary(model)), start


def _first_complete_hour(mix: pd.DataFrame, inputs: tuple[pd.DataFrame, ...]) -> int:
    """Position in mix's index of the first hour with a measured mix and every input column,
    before any gap filling: the recent-error correction's past forecasts start there."""
    complete = np.isfinite(mix.to_numpy(dtype=float)).any(axis=1)
    for hours in inputs:
        at = hours.index.get_indexer(mix.index)
        given = np.isfinite(hours.to_numpy(dtype=float)).all(axis=1)
        complete = complete & (at >= 0) & given[at]
    return int(np.argmax(complete)) if complete.any() else len(complete)


def _why_not(model, history, weather, operator, issued_at, targets) -> str | None:
    """Why the mix model cannot answer, or None."""
    if model is None:
        return "no fitted mix model for this region"
    if targets[-1] - targets[0] >= model.horizon_hours * _HOUR:
        return f"the model was fitted for {model.horizon_hours} h"
    if history is None or history.empty:
        return "no generation mix by fuel before the issue time"
    for frame, columns, kind in ((weather, model.weather_columns, "weather"),
                                 (operator, model.operator_columns, "operator")):
        if not columns:
            continue
        if frame is None or frame.empty:
            return f"no {kind} forecast for the target hours"
        cut = _rows_between(frame, targets[0], targets[-1], kind)
        at = targets.get_indexer(cut.index)
        lacking = [c for c in columns if c not in cut.columns
                   or np.unique(at[(at >= 0) & cut[c].notna().to_numpy()]).size < 0.5 * len(targets)]
        if lacking:
            return f"the {kind} forecast lacks {', '.join(lacking)} for the target hours"
    times = history.index[history.index < issued_at.floor("h")]
    if times.empty or (targets[0] - times.max()) > pd.Timedelta(hours=history_model.MAX_STALENESS_HOURS):
        return "the newest generation mix is more than a day before the first forecast hour"
    return None


def _fallback(history, intensity, factors, issued_at, horizon_hours, targets, reason, shares=None) -> MixForecast:
    """The history-only model per factor set; beyond its 72 h, each hour repeats its value a
    day earlier (the daily shape) with the same bounds."""
    series = dict(intensity or {})
    if not series and history is not None and not history.empty:
        mix = _hourly_frame(history, "history")
        for name, table in factors.items():
            series[name] = pd.Series(intensity_from_mix(mix, table), index=mix.index)
    if not series:
        raise history_model.NoHistory(f"no history before {issued_at.isoformat()}")
    frame = pd.DataFrame({"timestamp": targets, "horizon": np.arange(1, horizon_hours + 1)})
    made = None
    for name, values in series.items():
        made = history_model.forecast(values, issued_at, min(horizon_hours, history_model.MAX_HORIZON_HOURS), shares)
        part = made.frame[["value", "lower", "upper"]].to_numpy()
        while len(part) < horizon_hours:
            part = np.vstack([part, part[len(part) - 24:len(part) - 24 + min(24, horizon_hours - len(part))]])
        frame[name], frame[f"{name}_lower"], frame[f"{name}_upper"] = part.T
    if made.fallback_reason:
        reason += f"; then {made.fallback_reason}"
    return MixForecast(frame, made.model_name, made.model_version, issued_at, made.history_end,
                       {"weather": [], "operator": [], "fuels": []}, f"{reason}: history-only model",
                       made.interval_level)


# --- internals: features ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Timeline:
    """Hourly arrays on one index: history MW (NaN past the newest hour) and inputs through the
    last target hour. Position i is the hour index[i]."""

    index: pd.DatetimeIndex
    mw: dict[str, np.ndarray]
    share: dict[str, np.ndarray]
    total: np.ndarray
    log_intensity: np.ndarray          # of the first factor set, for the direct model
    inputs: dict[str, np.ndarray]

    @classmethod
    def build(cls, mix: pd.DataFrame, wx: pd.DataFrame, op: pd.DataFrame, end: pd.Timestamp,
              primary: dict[str, float]) -> _Timeline:
        index = pd.date_range(mix.index[0], end - _HOUR, freq="h") if end > mix.index[0] else mix.index
        mw = _columns(mix, index)
        total = np.nansum(np.column_stack([np.clip(v, 0, None) for v in mw.values()]), axis=1)
        total[np.all(np.isnan(np.column_stack(list(mw.values()))), axis=1)] = np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            share = {f: np.clip(v, 0, None) / np.where(total > 0, total, np.nan) for f, v in mw.items()}
        inputs = {**_columns(wx, index), **_columns(op, index)}
        log_intensity = np.log(intensity_from_mix(mw, primary) + LOG_OFFSET)
        return cls(index, mw, share, total, log_intensity, inputs)

    def scale(self, issue: np.ndarray) -> np.ndarray:
        """How unsettled the intensity was in the week before each issue: the standard
        deviation of its log over the LOOKBACK_HOURS hours before it (history only). Interval
        widths follow it, so that a calibration window of calm or stormy weeks transfers."""
        z = self.log_intensity
        mean = _window_mean(z, issue - 1, 1 - LOOKBACK_HOURS, 0)
        square = _window_mean(z * z, issue - 1, 1 - LOOKBACK_HOURS, 0)
        return np.sqrt(np.clip(square - mean * mean, 0, None))

    def series(self, name: str) -> np.ndarray:
        name = name.split("#")[0]
        if name == TOTAL:
            return self.total
        return self.log_intensity if name in (INTENSITY, INTENSITY_LAST) else self.share[name]

    def base(self, name: str, rows: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The value at the target's hour of day on the newest day before the issue (the last
        hour before the issue for INTENSITY_LAST)."""
        if name.split("#")[0] == INTENSITY_LAST:
            return self.log_intensity[rows[0] - 1]
        p = rows[0] + rows[1] - 1
        return self.series(name)[p - 24 * ((rows[1] + 23) // 24)]

    def target(self, name: str, rows: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """What the model `name` learns at each row: the change of total MW or of a fuel's
        share from `base`."""
        return self.series(name)[rows[0] + rows[1] - 1] - self.base(name, rows)


def _columns(frame: pd.DataFrame, index: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Each column of frame on index (NaN where it has no row), as a float array."""
    values = np.ascontiguousarray(frame.reindex(index).to_numpy(dtype=float).T)
    return {str(column): values[k] for k, column in enumerate(frame.columns)}


def _bands(horizon_hours: int) -> list[tuple[int, int]]:
    return [(lo, min(hi, horizon_hours)) for lo, hi in MODEL_BANDS if lo <= horizon_hours]


def _train(timeline: _Timeline, fuels: tuple[str, ...], first: int, stop: int, lo: int, hi: int, rng,
           samples: int, valid_rows=None, trees: dict[str, int] | None = None) -> tuple[dict, dict, list[str]]:
    """One booster per target (total, each fuel's share) for horizons lo..hi, on issues in
    [first, stop); with valid_rows, early stopping on them picks each one's number of trees."""
    import lightgbm

    rows = _sample_pairs(rng, first, stop, lo, hi, samples if lo == 1 else samples // 2)
    x, names = _features(timeline, fuels, *rows)
    # One binned dataset for every target (binning costs as much as 100 trees here); rows with
    # a missing target get weight 0 instead of being dropped, so that the binning is shared.
    train_set = _dataset(x, names)
    weight = 1.0   # no recency weighting: last year's same season is worth as much (measured)
    valid_set = _dataset(_features(timeline, fuels, *valid_rows)[0], names, train_set) if valid_rows else None
    boosters, best = {}, {}
    for target in _targets(fuels):
        _set_target(train_set, timeline.target(target, rows), weight)
        if valid_set is None:
            boosters[target] = lightgbm.train(_params(target), train_set, trees[target])
            continue
        _set_target(valid_set, timeline.target(target, valid_rows), 1.0)
        booster = lightgbm.train(_params(target), train_set, MAX_TREES, valid_sets=[valid_set],
                                 callbacks=[lightgbm.early_stopping(30, verbose=False)])
        best[target] = max(booster.best_iteration, 20)
        booster.free_dataset()
        boosters[target] = lightgbm.Booster(model_str=booster.model_to_string(num_iteration=best[target]))
    return boosters, best, names


def _sample_pairs(rng, first: int, stop: int, lo: int, hi: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Random (issue position, horizon) pairs whose issue is in [first, stop) and target before
    stop: the model learns from issues at every hour of the day, not only at 00:00."""
    pairs = _all_pairs(np.arange(first, stop), lo, hi, stop)
    if len(pairs[0]) > samples:
        pick = np.sort(rng.choice(len(pairs[0]), samples, replace=False))
        pairs = (pairs[0][pick], pairs[1][pick])
    return pairs


def _all_pairs(issues: np.ndarray, lo: int, hi: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    issue = np.repeat(issues, hi - lo + 1)
    horizon = np.tile(np.arange(lo, hi + 1), len(issues))
    keep = issue + horizon - 1 < stop
    return issue[keep], horizon[keep]


def _features(t: _Timeline, fuels: tuple[str, ...], issue: np.ndarray, horizon: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """One row per (issue position i, horizon h), target p = i + h - 1. History is read at
    positions < i only; inputs (weather/operator forecasts) at the target and its neighbours."""
    p = issue + horizon - 1
    last = issue - 1
    day_back = 24 * ((horizon + 23) // 24)          # newest same-hour day before the issue
    columns, names = [], []

    def add(name, values):
        columns.append(values)
        names.append(name)

    stamps = t.index
    hour = stamps.hour.to_numpy()
    add("horizon", horizon.astype(float))
    add("hour", hour[p].astype(float))
    add("weekday", stamps.day_of_week.to_numpy()[p].astype(float))
    add("issue_hour", hour[issue % len(hour)].astype(float) if len(hour) else issue * 0.0)
    for column, values in t.inputs.items():
        add(f"{column}", values[p])
        add(f"{column}_mean_pm3", _window_mean(values, p, -3, 3))
        add(f"{column}_at_last", values[last])
        # The models learn the change from the base hour (same hour, newest day before the
        # issue): the change of the weather between those two hours is what explains it.
        add(f"{column}_vs_base", values[p] - values[p - day_back])
        if column.startswith("wind_speed"):
            cubed = np.minimum(values, 13.0) ** 3    # a power curve: cubic, flat past rated speed
            add(f"{column}_cubed", cubed[p])
            add(f"{column}_cubed_vs_base", cubed[p] - cubed[p - day_back])
            add(f"{column}_cubed_vs_last", cubed[p] - cubed[last])
            add(f"{column}_mean_pm6", _window_mean(values, p, -6, 6))
            add(f"{column}_mean_pm6_vs_base", _window_mean(values, p, -6, 6) - _window_mean(values, p - day_back, -6, 6))
        if column in ("shortwave_radiation", "cloud_cover"):
            add(f"{column}_day_mean", _window_mean(values, p, -12, 11))
    for fuel in fuels:
        x = t.share[fuel]
        add(f"{fuel}_last", x[last])
        add(f"{fuel}_last_minus3", x[last] - x[last - 3])
        add(f"{fuel}_last_vs_yesterday", x[last] - x[last - 24])
        add(f"{fuel}_mean24_vs_yesterday", _window_mean(x, last, -23, 0) - _window_mean(x, last, -47, -24))
        add(f"{fuel}_mean24", _window_mean(x, last, -23, 0))
        add(f"{fuel}_same_hour", x[p - day_back])
        add(f"{fuel}_last_vs_base", x[last] - x[p - day_back])     # persistence, as a change
        add(f"{fuel}_same_hour_mean3", (x[p - day_back] + x[p - day_back - 24] + x[p - day_back - 48]) / 3)
    z = t.log_intensity
    add("intensity_last", z[last])
    add("intensity_same_hour", z[p - day_back])
    add("intensity_last_vs_base", z[last] - z[p - day_back])
    add("intensity_mean24_vs_yesterday", _window_mean(z, last, -23, 0) - _window_mean(z, last, -47, -24))
    add("total_last", t.total[last])
    add("total_mean24", _window_mean(t.total, last, -23, 0))
    add("total_same_hour", t.total[p - day_back])
    add("total_last_vs_yesterday", t.total[last] - t.total[last - 24])
    return np.column_stack(columns).astype(np.float32), names


def _dataset(x: np.ndarray, names: list[str], reference=None):
    import lightgbm

    data = lightgbm.Dataset(x, np.zeros(len(x)), weight=np.ones(len(x)), feature_name=list(names),
                            reference=reference, params=LGB_PARAMS, free_raw_data=False)
    return data.construct()


def _set_target(data, y: np.ndarray, weight) -> None:
    finite = np.isfinite(y)
    data.set_label(np.where(finite, y, 0.0))
    data.set_weight(finite * np.broadcast_to(weight, y.shape).astype(float))


def _direct(predictions: dict[str, np.ndarray]) -> np.ndarray:
    """The direct models' intensity: the mean of the two (their errors differ: one starts from
    yesterday's shape, the other from the newest level), in g/kWh."""
    logs = [values for name, values in predictions.items() if name.split("#")[0] in (INTENSITY, INTENSITY_LAST)]
    return np.exp(np.mean(logs, axis=0)) - LOG_OFFSET


def _targets(fuels: tuple[str, ...]) -> tuple[str, ...]:
    """Every model of a horizon band: total, the direct ones (several seeds each), the shares."""
    direct = tuple(f"{kind}#{k}" for kind in (INTENSITY, INTENSITY_LAST) for k in range(DIRECT_SEEDS))
    return (TOTAL,) + direct + tuple(fuels)


def _params(target: str) -> dict:
    """The direct models differ by seed (their average has less variance than any one)."""
    seed = int(target.split("#")[1]) if "#" in target else 0
    return {**LGB_PARAMS, "seed": SEED + seed}


def _primary(model: MixModel) -> dict[str, float]:
    return next(iter(model.factors.values()))


def _blend(mw: dict[str, np.ndarray], direct: np.ndarray, primary: dict[str, float], weight: float) -> dict[str, np.ndarray]:
    """The mix moved toward the direct model's intensity: emitting fuels (factor > 0 in the
    first factor set) scaled by one factor, the others by another, total unchanged, so that
    the mix's intensity is (1 - weight) x its own + weight x the direct model's. Every factor
    set still reads the same mix, so their intensities agree."""
    if weight == 0:
        return mw
    fuels = list(mw)
    emitting = np.array([primary[f] > 0 for f in fuels])
    matrix = np.column_stack([np.clip(mw[f], 0, None) for f in fuels])
    total = matrix.sum(axis=1)
    own = intensity_from_mix(mw, primary)
    wanted = (1 - weight) * own + weight * np.clip(direct, 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        dirty = matrix[:, emitting].sum(axis=1) / total
        scale = np.where(own > 0, wanted / own, 1.0)
        scale = np.clip(np.minimum(scale, np.where(dirty > 0, 1 / dirty, 1.0)), 0, None)
        clean = np.where(dirty < 1, (1 - scale * dirty) / (1 - dirty), 1.0)
    scale = np.where(np.isfinite(scale), scale, 1.0)
    clean = np.where(np.isfinite(clean), clean, 1.0)
    matrix = matrix * np.where(emitting, scale[:, None], clean[:, None])
    return {f: matrix[:, k] for k, f in enumerate(fuels)}


def _choose_weight(t: _Timeline, rows, mw: dict[str, np.ndarray], direct: np.ndarray, primary: dict[str, float]) -> float:
    """The direct model's weight with the least first-day MAPE on the held-out forecasts."""
    p = rows[0] + rows[1] - 1
    actual = intensity_from_mix({f: t.mw[f][p] for f in mw}, primary)
    first_day = (rows[1] <= 24) & np.isfinite(actual) & (actual > 0)
    errors = {}
    for weight in DIRECT_WEIGHTS:
        blended = intensity_from_mix(_blend(mw, direct, primary, weight), primary)
        errors[weight] = float(np.nanmean(np.abs(blended - actual)[first_day] / actual[first_day]))
    return min(errors, key=errors.get)


def _mix_from_predictions(predictions: dict[str, np.ndarray], fuels, constant: dict[str, float]) -> dict[str, np.ndarray]:
    """MW per fuel from the total and the share models: shares clipped at 0 and normalised
    (with the constant fuels' MW set aside), times the total."""
    total = np.clip(predictions[TOTAL], 0, None)
    fixed = sum(constant.values())
    shares = np.column_stack([np.clip(predictions[f], 0, None) for f in fuels])
    sums = shares.sum(axis=1, keepdims=True)
    shares = np.where(sums > 0, shares / np.where(sums > 0, sums, 1), 1 / len(fuels))
    rest = np.clip(total - fixed, 0, None)
    mw = {f: shares[:, k] * rest for k, f in enumerate(fuels)}
    for fuel, value in constant.items():
        mw[fuel] = np.full(len(total), value)
    return mw


def _window_mean(values: np.ndarray, at: np.ndarray, before: int, after: int) -> np.ndarray:
    """Mean of values[at+before .. at+after], clipped to the array, NaN-tolerant."""
    n = len(values)
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0)
    csum = np.concatenate([[0.0], np.cumsum(filled)])
    ccount = np.concatenate([[0], np.cumsum(finite)])
    lo = np.clip(at + before, 0, n)
    hi = np.clip(at + after + 1, 0, n)
    count = ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (csum[hi] - csum[lo]) / np.maximum(count, 1), np.nan)


# --- internals: validation and calibration ---------------------------------------------------

def _validate(t: _Timeline, fuels, constant, factors, rows, predictions) -> tuple[dict, dict, dict]:
    """Measured error of the held-out forecasts and the normalised conformal quantiles: of
    log(actual / forecast) divided by the issue's scale (`_Timeline.scale`), per horizon band
    and factor set, with the range of scales seen (predict clips to it)."""
    p = rows[0] + rows[1] - 1
    scale = t.scale(rows[0])
    clip = [float(np.nanquantile(scale, 0.01)), float(np.nanquantile(scale, 0.99))]
    scale = np.clip(np.where(np.isfinite(scale), scale, np.nanmedian(scale)), *clip)
    mw_pred = dict(predictions)
    mw_true = {f: t.mw[f][p] for f in mw_pred}
    bands = np.searchsorted(HORIZON_BANDS, rows[1])
    tail = (1 - INTERVAL_LEVEL) / 2
    validation = {"issues": int(len(np.unique(rows[0]))), "start": t.index[rows[0].min()].isoformat(),
                  "end": t.index[p.max()].isoformat(), "mape_24h": {}, "mape_by_band": {},
                  "mae_mw_24h": {f: float(np.nanmean(np.abs(mw_pred[f] - mw_true[f])[rows[1] <= 24]))
                                 for f in fuels}}
    calibration = {}
    for name, table in factors.items():
        predicted = intensity_from_mix(mw_pred, table)
        actual = intensity_from_mix(mw_true, table)
        ok = np.isfinite(predicted) & np.isfinite(actual) & (predicted > 0) & (actual > 0)
        ratio = np.log(actual[ok] / predicted[ok]) / scale[ok]
        ape = np.abs(actual[ok] - predicted[ok]) / actual[ok] * 100
        band_ok = bands[ok]
        validation["mape_24h"][name] = float(ape[rows[1][ok] <= 24].mean())
        validation["mape_by_band"][name] = [float(ape[band_ok == b].mean()) if (band_ok == b).any() else None
                                            for b in range(len(HORIZON_BANDS))]
        calibration[name] = [[float(np.quantile(ratio[band_ok == b], tail)),
                              float(np.quantile(ratio[band_ok == b], 1 - tail))]
                             if (band_ok == b).sum() >= 20 else [np.nan, np.nan]
                             for b in range(len(HORIZON_BANDS))]
    return validation, calibration, {"feature": f"std of log intensity over {LOOKBACK_HOURS} h", "clip": clip}


def _band_quantiles(model: MixModel, name: str, bands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower/upper log ratios per horizon; a factor set not calibrated at fit borrows the
    first calibrated set's (relative errors of one mix are alike across factor sets)."""
    table = model.calibration.get(name) or next(iter(model.calibration.values()))
    quantiles = np.array(table, dtype=float)
    quantiles = pd.DataFrame(quantiles).ffill().bfill().to_numpy()
    return quantiles[bands, 0], quantiles[bands, 1]
