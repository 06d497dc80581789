"""Issuing forecasts for the API: read a region's history, forecast with api.models.forecast.
The hourly schedule (api/forecasts.py) stores what it issues and the model's measured error;
requests read those, or compute a forecast on the fly, and never write."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from api.models import forecast as model
from api.services.errors import NOT_FOUND, DomainError
from api.services.sources import history_series
from database import forecasts as store
from database.pool import Pool
from database.regions import Series, all_series
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


def issue(cur, series: Series, factor_set: str, issued_at: datetime,
          now: datetime | None = None) -> store.StoredForecast:
    """The forecast issued at the hour `issued_at`: the stored one when the schedule issued it
    (`python -m api.forecasts`, hourly) and no newer data was written since, else computed on
    the fly. Never stored here: a request cannot make the API write."""
    stored = _stored(cur, series, factor_set, issued_at)
    if stored is not None:
        return stored
    intensity, mix = history(cur, series, factor_set, issued_at)
    made = model.forecast(intensity, issued_at, model.MAX_HORIZON_HOURS, mix)
    return store.StoredForecast(None, series.region_id, series.source_id, factor_set,
                                made.issued_at.to_pydatetime(), made.history_end.to_pydatetime(),
                                made.model_name, made.model_version, made.fallback_reason,
                                made.interval_level, now or datetime.now(timezone.utc), made.frame)


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
    newer data was written since it was stored)."""
    stored = _stored(cur, series, factor_set, issued_at)
    if stored is not None:
        return stored
    made = issue(cur, series, factor_set, issued_at)
    store.save_forecast(cur, region_id=series.region_id, source_id=series.source_id, factor_set=factor_set,
                        issued_at=made.issued_at, history_end=made.history_end, model_name=made.model_name,
                        model_version=made.model_version, frame=made.frame, fallback_reason=made.fallback_reason,
                        interval_level=made.interval_level)
    return store.forecast_issued_at(cur, series.region_id, factor_set, issued_at, series.source_id)


def _stored(cur, series: Series, factor_set: str, issued_at: datetime) -> store.StoredForecast | None:
    """The stored forecast of exactly that hour, if no newer data was written since."""
    stored = store.forecast_issued_at(cur, series.region_id, factor_set, issued_at, series.source_id)
    if stored is not None and stored.issued_at == issued_at and stored.created_at >= series.updated_at \
            and stored.model_version in (model.MODEL_VERSION, model.BASELINE_VERSION):
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
