"""Issuing forecasts for the API: read a region's history, forecast with api.models.forecast,
store what was issued (which is also the cache), and keep the model's measured error."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from api.models import forecast as model
from database import forecasts as store
from database.regions import Series
from database.timeseries import carbon_intensity

HISTORY = timedelta(days=model.TRAINING_DAYS + 10)
# The measured error: forecasts issued daily at 00:00 UTC over these many days, the newest
# one 72 h before the newest data so that every forecast hour has its actual value.
EVALUATION_DAYS = 28
ACCURACY_MAX_AGE = timedelta(days=1)


def history(cur, series: Series, factor_set: str, end: datetime) -> tuple[pd.Series, pd.DataFrame]:
    """Hourly intensity and renewable share of the series before `end` (the model's inputs)."""
    points = carbon_intensity(cur, series.region_id, series.source_id, end - HISTORY, end, factor_set, "hour")
    index = pd.DatetimeIndex([p.ts for p in points], tz="UTC") if points else pd.DatetimeIndex([], tz="UTC")
    intensity = pd.Series([p.carbon_intensity for p in points], index=index, dtype="float64")
    mix = pd.DataFrame({"renewable": [p.renewable_share for p in points]}, index=index, dtype="float64")
    return intensity.dropna(), mix


def issue(cur, series: Series, factor_set: str, issued_at: datetime) -> store.StoredForecast:
    """The forecast issued at the hour `issued_at` (reused while no newer data was written)."""
    stored = store.forecast_issued_at(cur, series.region_id, factor_set, issued_at, series.source_id)
    if stored is not None and stored.issued_at == issued_at and stored.created_at >= series.updated_at \
            and stored.model_version in (model.MODEL_VERSION, model.BASELINE_VERSION):
        return stored
    intensity, mix = history(cur, series, factor_set, issued_at)
    made = model.forecast(intensity, issued_at, model.MAX_HORIZON_HOURS, mix)
    store.save_forecast(cur, region_id=series.region_id, source_id=series.source_id, factor_set=factor_set,
                        issued_at=made.issued_at.to_pydatetime(), history_end=made.history_end.to_pydatetime(),
                        model_name=made.model_name, model_version=made.model_version, frame=made.frame,
                        fallback_reason=made.fallback_reason, interval_level=made.interval_level)
    return store.forecast_issued_at(cur, series.region_id, factor_set, issued_at, series.source_id)


def measured_accuracy(cur, series: Series, factor_set: str, now: datetime) -> list[store.Accuracy]:
    """The model's error on this series (24, 48 and 72 h windows), re-measured once a day."""
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
