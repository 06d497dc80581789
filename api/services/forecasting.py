"""Issuing forecasts for the API, and fitting the mix model they are issued with.

A series whose region has a fitted mix model (api.models.mix_forecast, fitted daily by
`python -m api.forecasts fit`, stored in forecast_model) is forecast per fuel from its recent
hourly mix and the weather and operators' forecasts issued before the issue time; any other,
or one whose inputs are missing or stale, by the history-only model (api.models.forecast),
with `fallback_reason` saying why. The hourly schedule (api/forecasts.py) stores what it issues
and the history-only model's measured error; requests read those, or compute a forecast on the
fly, and never write."""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pandas as pd

from api.models import forecast as model
from api.models import mix_forecast as mix
from api.models.times import iso
from api.services.errors import NOT_FOUND, DomainError
from api.services.sources import history_series
from database import forecast_models
from database import forecasts as store
from database.emission_factors import factors_at
from database.forecast_inputs import input_series, read_operator_forecasts, read_weather_features
from database.pool import Pool
from database.regions import Series, all_series
from database.timeseries import carbon_intensity, hourly_fuel_mw
from energy_data.fuels import STORAGE_FUELS

HISTORY = timedelta(days=model.TRAINING_DAYS + 10)
# The measured error: forecasts issued daily at 00:00 UTC over these many days, the newest
# one 72 h before the newest data so that every forecast hour has its actual value.
EVALUATION_DAYS = 28
ACCURACY_MAX_AGE = timedelta(days=1)

# The mix model's factor sets: the first is the one its direct models learn.
MIX_FACTOR_SETS = ("lifecycle", "direct")
# Per-fuel history a mix forecast reads (its deepest feature behind the past forecasts of its
# recent-error correction), and a day to spare for gaps.
MIX_HISTORY = timedelta(hours=mix.HISTORY_HOURS + 24)
# Inputs a mix forecast reads around its target hours: features compare each target hour with
# the same hour up to 4 days before the issue and average +-6 h around both, and the
# correction's past forecasts read the inputs of their own hours, up to HISTORY_HOURS back.
INPUTS_BEFORE = timedelta(hours=max(mix.MAX_HORIZON_HOURS, mix.HISTORY_HOURS) + 12)
INPUTS_AFTER = timedelta(hours=mix.MAX_HORIZON_HOURS + 12)
# Training rows see, for each past hour, the inputs issued at least this long before it: what a
# forecast issued a day ahead saw. Live forecasts for the first day see fresher inputs and those
# for days 2-4 older ones; one lead cannot match every horizon, and a day errs on the safe side
# where it matters most (the first day is trained, and its interval calibrated, on inputs a bit
# staler than the live ones, so the interval is wider rather than narrower). It is also where
# the weather backfill's runs fall: Open-Meteo's previous-day runs are stored as issued 15 h
# (day 1) and 39 h (day 2) before the hour, so training uses the day-2 runs.
FIT_LEAD = timedelta(hours=24)
# One region's fit within 60 s on a shared 2-core machine (docs/performance.md#fitting-the-mix-model):
# the model's defaults (540 days, 60,000 samples per band) took 94-133 s; 10,000 samples take
# about 26 s, at 7.63 % instead of 7.49 % 24 h MAPE on DACF's CISO test period. The days of
# history matter more than the samples: a year instead of 540 days gave 7.89 % in as much time.
FIT_TRAINING_DAYS = 540
FIT_SAMPLES = 10_000
FIT_VALIDATION_DAYS = 60
KEEP_LOADED = 16  # fitted models kept deserialised per process, by id


def history(cur, series: Series, factor_set: str, end: datetime) -> tuple[pd.Series, pd.DataFrame]:
    """Hourly intensity and renewable share of the series before `end` (the model's inputs)."""
    points = carbon_intensity(cur, series.region_id, series.source_id, end - HISTORY, end, factor_set, "hour")
    index = pd.DatetimeIndex([p.ts for p in points], tz="UTC") if points else pd.DatetimeIndex([], tz="UTC")
    intensity = pd.Series([p.carbon_intensity for p in points], index=index, dtype="float64")
    mix = pd.DataFrame({"renewable": [p.renewable_share for p in points]}, index=index, dtype="float64")
    return intensity.dropna(), mix


def issue(cur, series: Series, factor_set: str, issued_at: datetime,
          now: datetime | None = None) -> store.StoredForecast:
    """The forecast issued at the hour `issued_at`: the stored one when the schedule issued it
    (`python -m api.forecasts`, hourly) with the model that answers now and no newer data was
    written since, else computed on the fly. Never stored here: a request cannot make the API
    write."""
    ref = forecast_models.newest_model_ref(cur, series.region_id, series.source_id, mix.MODEL_NAME, issued_at)
    stored = _stored(cur, series, factor_set, issued_at, ref)
    if stored is not None:
        return stored
    made, model_id, used = _made(cur, series, factor_set, issued_at, ref)
    return store.StoredForecast(None, series.region_id, series.source_id, factor_set,
                                made.issued_at.to_pydatetime(), made.history_end.to_pydatetime(),
                                made.model_name, made.model_version, made.fallback_reason,
                                made.interval_level, now or datetime.now(timezone.utc),
                                _value_frame(made.frame, factor_set), model_id, used)


def _made(cur, series: Series, factor_set: str, issued_at: datetime,
          ref: tuple[int, datetime] | None) -> tuple[mix.MixForecast, int | None, dict | None]:
    """(forecast, the fitted model's id, the inputs it read) for the hours from `issued_at`:
    the mix model's when the series has one and its inputs cover the target hours, else the
    history-only model's with `fallback_reason` saying why (inputs None; the id is that of the
    mix model consulted, if any, so that a stored fallback is known to be current)."""
    fitted = _loaded(cur, ref[0]) if ref else None
    factors = {factor_set: region_factors(cur, series.region_id, issued_at)[factor_set]}
    fuels = weather = operator = None
    if fitted is not None:
        fuels = fuel_history(cur, series, issued_at - MIX_HISTORY, issued_at)
        weather = read_weather_features(cur, series.region, issued_at, issued_at - INPUTS_BEFORE,
                                        issued_at + INPUTS_AFTER)
        operator = read_operator_forecasts(cur, series.region, issued_at, issued_at - INPUTS_BEFORE,
                                           issued_at + INPUTS_AFTER)
        made = mix.predict(fitted, fuels, weather, operator, issued_at, fitted.horizon_hours, factors=factors)
        if made.fallback_reason is None:
            ended = fuels.index[fuels.index < pd.Timestamp(issued_at)].max()
            made = mix.MixForecast(made.frame, made.model_name, made.model_version, made.issued_at, ended,
                                   made.inputs, None, made.interval_level)
            return made, ref[0], inputs_used(fitted, weather, operator)
    # The history-only model, on the measured intensity (as without a mix model), via predict()
    # so that the answer says why the mix model did not answer and reaches as far.
    intensity, shares = history(cur, series, factor_set, issued_at)
    horizon = fitted.horizon_hours if fitted is not None else mix.MAX_HORIZON_HOURS
    made = mix.predict(fitted, fuels, weather, operator, issued_at, horizon, factors=factors,
                       intensity={factor_set: intensity}, shares=shares)
    return made, ref[0] if fitted is not None else None, None


def _value_frame(frame: pd.DataFrame, factor_set: str) -> pd.DataFrame:
    """predict()'s frame as a stored forecast's: timestamp, value, lower, upper of one factor set."""
    return pd.DataFrame({"timestamp": pd.DatetimeIndex(frame["timestamp"]).tz_convert("UTC"),
                         "value": frame[factor_set].to_numpy(dtype=float),
                         "lower": frame[f"{factor_set}_lower"].to_numpy(dtype=float),
                         "upper": frame[f"{factor_set}_upper"].to_numpy(dtype=float)})


def inputs_used(fitted: mix.MixModel, weather: pd.DataFrame, operator: pd.DataFrame) -> dict:
    """What a mix forecast read, as answers show it: the weather's newest and oldest issue and
    its points, each operator forecast's source and newest issue (None where the model uses none)."""
    used_weather = None
    if fitted.weather_columns and weather.attrs.get("issued_at") is not None:
        used_weather = {"issued_at": iso(weather.attrs["issued_at"]),
                        "oldest_issued_at": iso(weather.attrs["oldest_issued_at"]),
                        "points": list(weather.attrs["points"])}
    kinds = [c.removesuffix("_forecast_mw") for c in fitted.operator_columns]
    sources, issued = operator.attrs.get("sources", {}), operator.attrs.get("issued_at", {})
    used_operator = [{"kind": kind, "source": sources[kind], "issued_at": iso(issued[kind])}
                     for kind in kinds if kind in sources] or None
    return {"weather": used_weather, "operator": used_operator}


_LOADED: OrderedDict[int, mix.MixModel] = OrderedDict()
_LOADED_LOCK = threading.Lock()


def _loaded(cur, model_id: int) -> mix.MixModel | None:
    """The stored fit `model_id`, deserialised once per process (a few MB of trees: loading
    them costs more than a forecast); None if it was pruned meanwhile."""
    with _LOADED_LOCK:
        if model_id in _LOADED:
            _LOADED.move_to_end(model_id)
            return _LOADED[model_id]
    row = forecast_models.model_by_id(cur, model_id)
    if row is None:
        return None
    fitted = mix.MixModel.from_bytes(row.body)
    with _LOADED_LOCK:
        _LOADED[model_id] = fitted
        while len(_LOADED) > KEEP_LOADED:
            _LOADED.popitem(last=False)
    return fitted


def region_factors(cur, region_id: int, at: datetime) -> dict[str, dict[str, float]]:
    """The region's emission factors valid at `at` per factor set (MIX_FACTOR_SETS order), for
    every fuel with a factor of its own (storage has none: it is left out of the mix model's
    history, see fuel_history)."""
    return {name: {f.fuel: float(f.value) for f in factors_at(cur, region_id, at, name) if f.value is not None}
            for name in MIX_FACTOR_SETS}


def fuel_history(cur, series: Series, start: datetime, end: datetime) -> pd.DataFrame:
    """Hourly MW per fuel of the series in [start, end), storage left out: its discharge carries
    the intensity of the charging hours (docs/design.md), which the rest of the mix is, so the
    mix without it has about the intensity the stored one has."""
    fuels = hourly_fuel_mw(cur, series.region_id, series.source_id, start, end)
    return fuels.drop(columns=[c for c in fuels.columns if c in STORAGE_FUELS])


def issued_forecast(pool: Pool, region: str, source: str | None, factor_set: str, issued_at: datetime,
                    now: datetime) -> tuple[Series, store.StoredForecast, list[store.Accuracy]]:
    """The region's forecast issued at the hour `issued_at`, fitted on `source`'s history (None:
    the region's default series), and the model's error as last measured on that series;
    DomainError when there is no history to forecast from. Reads only."""
    with pool.cursor() as cur:
        series = history_series(all_series(cur, region), source, issued_at, now, region)
        try:
            issued = issue(cur, series, factor_set, issued_at, now)
        except model.NoHistory as exc:
            raise DomainError("no_history", f"{exc} for {region} from {series.source}", kind=NOT_FOUND) from None
        return series, issued, measured_accuracy(cur, series, factor_set, now)


def issue_and_store(cur, series: Series, factor_set: str, issued_at: datetime) -> store.StoredForecast:
    """The schedule's side: issue the forecast of the hour `issued_at` and store it (again, if
    newer data was written or a newer model fitted since it was stored)."""
    ref = forecast_models.newest_model_ref(cur, series.region_id, series.source_id, mix.MODEL_NAME, issued_at)
    stored = _stored(cur, series, factor_set, issued_at, ref)
    if stored is not None:
        return stored
    made = issue(cur, series, factor_set, issued_at)
    store.save_forecast(cur, region_id=series.region_id, source_id=series.source_id, factor_set=factor_set,
                        issued_at=made.issued_at, history_end=made.history_end, model_name=made.model_name,
                        model_version=made.model_version, frame=made.frame, fallback_reason=made.fallback_reason,
                        interval_level=made.interval_level, model_id=made.model_id, inputs=made.inputs)
    return store.forecast_issued_at(cur, series.region_id, factor_set, issued_at, series.source_id)


def _stored(cur, series: Series, factor_set: str, issued_at: datetime,
            ref: tuple[int, datetime] | None) -> store.StoredForecast | None:
    """The stored forecast of exactly that hour, if it was made with the model that answers
    now (`ref`: the newest fit usable then, or None) and no newer data was written since."""
    stored = store.forecast_issued_at(cur, series.region_id, factor_set, issued_at, series.source_id)
    if stored is not None and stored.issued_at == issued_at and stored.created_at >= series.updated_at \
            and stored.model_id == (ref[0] if ref else None) \
            and stored.model_version in (model.MODEL_VERSION, model.BASELINE_VERSION, mix.MODEL_VERSION):
        return stored
    return None


def measured_accuracy(cur, series: Series, factor_set: str, now: datetime) -> list[store.Accuracy]:
    """The model's error on this series (24, 48 and 72 h windows) as the schedule last measured
    it (empty until it has); read only."""
    return store.read_accuracy(cur, series.region_id, factor_set, series.source_id,
                               model.MODEL_NAME, model.MODEL_VERSION)


def measure_accuracy(cur, series: Series, factor_set: str, now: datetime) -> list[store.Accuracy]:
    """The schedule's side: re-measure the model's error on this series once a day and store it."""
    measured = store.read_accuracy(cur, series.region_id, factor_set, series.source_id,
                                   model.MODEL_NAME, model.MODEL_VERSION)
    if measured and all(now - m.measured_at < ACCURACY_MAX_AGE for m in measured):
        return measured
    last_issue = (pd.Timestamp(series.last) - pd.Timedelta(hours=model.MAX_HORIZON_HOURS)).floor("D")
    issue_times = pd.date_range(end=last_issue, periods=EVALUATION_DAYS, freq="D")
    intensity, mix = history(cur, series, factor_set, series.last + timedelta(hours=1))
    if intensity.empty or issue_times[0] - intensity.index[0] < pd.Timedelta(days=model.MIN_TRAINING_DAYS + 10):
        return measured  # too little history to measure anything yet
    table = model.accuracy(model.backtest(intensity, issue_times, model.MAX_HORIZON_HOURS, mix))
    rows = store.accuracy_rows(table, region_id=series.region_id, source_id=series.source_id,
                               factor_set=factor_set, model_name=model.MODEL_NAME,
                               model_version=model.MODEL_VERSION, period_start=issue_times[0].to_pydatetime(),
                               period_end=issue_times[-1].to_pydatetime())
    store.save_accuracy(cur, rows)
    return store.read_accuracy(cur, series.region_id, factor_set, series.source_id,
                               model.MODEL_NAME, model.MODEL_VERSION)


# --- fitting the mix model (python -m api.forecasts fit) ------------------------------------

@dataclass(frozen=True)
class FitData:
    """What a fit reads, read in one transaction; the fit itself runs outside it."""

    series: Series
    history: pd.DataFrame
    weather: pd.DataFrame
    operator: pd.DataFrame
    factors: dict[str, dict[str, float]]
    end: pd.Timestamp


def fit_data(cur, series: Series, now: datetime, training_days: int = FIT_TRAINING_DAYS,
             validation_days: int = FIT_VALIDATION_DAYS) -> FitData | str:
    """The series' hourly per-fuel history before the hour of `now` and, for each of its hours,
    the weather and operators' forecasts issued FIT_LEAD before it; or why the region cannot be
    fitted (no stored inputs, too little history), in a line."""
    end = pd.Timestamp(now).tz_convert("UTC").floor("h")
    stored = {i.kind for i in input_series(cur, series.region)}
    if not stored:
        return "no weather or operator forecasts stored for the region"
    start = end - timedelta(days=training_days)
    fuels = fuel_history(cur, series, start.to_pydatetime(), end.to_pydatetime())
    needed = mix.MIN_TRAINING_DAYS + validation_days
    if len(fuels) < 24 * needed:
        return (f"{len(fuels) / 24:.0f} days of hourly mix by fuel from {series.source}; the mix model needs "
                f"{needed} ({mix.MIN_TRAINING_DAYS} to train, {validation_days} held out)")
    first = fuels.index[0].to_pydatetime()
    weather = read_weather_features(cur, series.region, end.to_pydatetime(), first, end.to_pydatetime(), FIT_LEAD)
    operator = read_operator_forecasts(cur, series.region, end.to_pydatetime(), first, end.to_pydatetime(), FIT_LEAD)
    return FitData(series, fuels, weather, operator, region_factors(cur, series.region_id, end.to_pydatetime()), end)


def fit(data: FitData, training_days: int = FIT_TRAINING_DAYS, samples: int = FIT_SAMPLES,
        validation_days: int = FIT_VALIDATION_DAYS) -> mix.MixModel:
    """Fit the mix model on what fit_data read; mix.NoInputs says why it cannot (e.g. no input
    column covers 90 % of the training hours)."""
    return mix.fit(data.history, data.weather, data.operator, data.factors, end=data.end,
                   training_days=training_days, validation_days=validation_days, samples=samples)


def store_fit(cur, series: Series, fitted: mix.MixModel, data: FitData) -> int:
    """Store a fit with its training window, inputs (the columns it uses, and which operator
    sources and weather points they came from) and held-out error; its id."""
    inputs = {**fitted.inputs, "lead_hours": FIT_LEAD.total_seconds() / 3600,
              "weather_points": list(data.weather.attrs.get("points", [])),
              "operator_sources": dict(data.operator.attrs.get("sources", {}))}
    return forecast_models.save_model(
        cur, region_id=series.region_id, source_id=series.source_id, model_name=fitted.name,
        model_version=fitted.version, training_start=fitted.training_start.to_pydatetime(),
        training_end=fitted.training_end.to_pydatetime(), inputs=inputs, validation=_json_safe(fitted.validation),
        fit_seconds=fitted.fit_seconds, body=fitted.to_bytes())


def _json_safe(value):
    """NaN (a fuel with no held-out hours) as null: jsonb has no NaN."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
