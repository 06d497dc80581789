"""The Carbon Aware SDK's computations, answered from our data (its routes, parameter binding,
answer shapes and RFC 7807 errors are the SDK face's: api/faces/carbon_aware_sdk.py).

Locations are resolved by Locator.resolve as on every face. Ratings are our lifecycle carbon
intensity (gCO2eq/kWh) from the region's default source (sources.py); forecasts are the
project's own (forecasting.py), rolled over windows and averaged as the SDK does
(api/models/intervals.py). Errors name the SDK's own parameter names.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from api.models import forecast as forecast_model
from api.models.intervals import Intervals, NotCovered, average_over_period, optimal, rolling_average
from api.services import cloud_locations, forecasting
from api.services.errors import INVALID, NOT_FOUND, TOO_LARGE, DomainError
from api.services.location import Locator
from api.services.sources import history_series, series_for_range
from database.pool import Pool
from database.regions import all_series
from database.timeseries import intensity_series

FACTOR_SET = "lifecycle"
# How far before a range we read, so that the interval holding its start is found.
LOOKBACK = timedelta(hours=1)
MAX_RANGE = timedelta(days=31)
# Forecasts computed for one batch: each one reads a year of history and fits the model (~0.1 s,
# more under load); a hundred different ones took 17 s. Repeats of one are computed once.
MAX_BATCH_FORECASTS = 20


@dataclass(frozen=True)
class LocatedData:
    location: str  # as the client named it
    data: Intervals


@dataclass(frozen=True)
class Forecast:
    location: str
    generated_at: datetime
    data: Intervals


@dataclass(frozen=True)
class ForecastWindow:
    """A forecast cut to [start, end] (seconds) and rolled over windows, with its lowest points."""

    data: Intervals
    optimal: np.ndarray  # indices into data
    start: float
    end: float


# --- locations ---------------------------------------------------------------------------------

def region_of(locator: Locator, name: str) -> str:
    """Our region for an SDK location (a cloud region name such as eastus, us-east-1 or
    us-central1, a provider:name id, one of our region ids and aliases), by the one resolver;
    a location we cannot place is a validation error of `location`, as in the SDK."""
    try:
        return locator.resolve(name, "location").region
    except DomainError as exc:
        if exc.kind == NOT_FOUND:
            raise DomainError("unknown_location", f"unknown location {name!r}: use a cloud region name (eastus, "
                              "us-east-1), provider:name (aws:us-west-2) or a region id; GET /locations lists "
                              "them", "location") from None
        raise DomainError(exc.code, f"{name!r} ({exc.message})", "location") from None


def all_locations(locator: Locator) -> dict[str, cloud_locations.CloudLocation]:
    """Every cloud region whose grid zone we cover, keyed by its bare name (the first provider in
    BARE_NAME_ORDER wins a name)."""
    found: dict[str, cloud_locations.CloudLocation] = {}
    for provider in cloud_locations.BARE_NAME_ORDER:
        for place in cloud_locations.locations(provider):
            if locator.region_named(place.zone) is not None:
                found.setdefault(place.name, place)
    return found


# --- measured data -----------------------------------------------------------------------------

def measured(pool: Pool, locator: Locator, location: str, start: datetime, end: datetime,
             names: tuple[str, str] = ("time", "toTime")) -> LocatedData:
    """The stored intervals of the location's region overlapping [start, end] (SDK filtering:
    an instant, start == end, gets the interval holding it); `names` are the route's names of
    start and end, for the errors."""
    if end < start:
        raise DomainError("invalid_range", f"{names[1]} must not be before {names[0]}", names[1])
    if end - start > MAX_RANGE:
        raise DomainError("range_too_large", f"the range is over {MAX_RANGE.days} days; ask for a shorter one",
                          names[1], TOO_LARGE)
    region = region_of(locator, location)
    now = datetime.now(timezone.utc)
    with pool.cursor() as cur:
        series = series_for_range(cur, region, None, start - LOOKBACK, end + timedelta(seconds=1), now)
        if series is None:
            return LocatedData(location, Intervals(np.array([]), np.array([]), np.array([])))
        points = intensity_series(cur, series.region_id, series.source_id, start - LOOKBACK,
                                  end + timedelta(seconds=1), FACTOR_SET, "native")
    known = points.carbon_intensity_known
    data = Intervals(points.ts[known] / 1e6, points.minutes[known] * 60.0, points.carbon_intensity[known])
    return LocatedData(location, data.overlapping(start.timestamp(), end.timestamp()))


def emissions(pool: Pool, locator: Locator, locations: list[str], start: datetime,
              end: datetime) -> list[LocatedData]:
    return [measured(pool, locator, location, start, end) for location in locations]


def lowest(located: list[LocatedData]) -> list[tuple[LocatedData, np.ndarray]]:
    """Every interval, over all locations, with the lowest rating (ties all answered): each
    location with data and the indices of its lowest intervals."""
    with_data = [one for one in located if len(one.data)]
    if not with_data:
        return []
    rating = min(float(one.data.values.min()) for one in with_data)
    return [(one, np.flatnonzero(one.data.values == rating)) for one in with_data]


def average(pool: Pool, locator: Locator, location: str, start: datetime, end: datetime) -> float:
    """The time-weighted mean intensity over [start, end) of the time the data covers."""
    if end <= start:
        raise DomainError("invalid_range", "endTime must be after startTime", "endTime")
    located = measured(pool, locator, location, start, end, ("startTime", "endTime"))
    try:
        return average_over_period(located.data, start.timestamp(), end.timestamp())
    except NotCovered as exc:
        raise DomainError("period_not_covered", f"Period out of range: {exc} ({start.isoformat()} through "
                          f"{end.isoformat()})") from None


# --- forecasts ---------------------------------------------------------------------------------

def forecasts(pool: Pool, locator: Locator, requests: list[tuple[str, datetime]]) -> list[Forecast]:
    """The forecast of each (location, requestedAt) of a batch: each different (location, hour)
    computed once, and a DomainError naming the limit, before any is computed, when a batch asks
    for more than MAX_BATCH_FORECASTS different ones."""
    keys = [(location.strip().lower(), requested.replace(minute=0, second=0, microsecond=0))
            for location, requested in requests]
    if len(set(keys)) > MAX_BATCH_FORECASTS:
        raise DomainError("too_many_forecasts", f"the batch asks for {len(set(keys))} different forecasts (location "
                          f"and requestedAt hour); at most {MAX_BATCH_FORECASTS} are computed per request: send the "
                          "rest in another one", "body", TOO_LARGE)
    made: dict[tuple, Forecast] = {}
    for key, (location, requested) in zip(keys, requests):
        if key not in made:
            made[key] = forecast(pool, locator, location, requested)
    return [Forecast(location, made[key].generated_at, made[key].data) for key, (location, _) in zip(keys, requests)]


def forecast(pool: Pool, locator: Locator, location: str, issued_at: datetime | None) -> Forecast:
    """Our hourly forecast for the location's region, issued now or at `issued_at` (from the
    data before it only)."""
    region = region_of(locator, location)
    now = datetime.now(timezone.utc)
    issued = (issued_at or now).astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    if issued > now:
        raise DomainError("invalid_parameter", "requestedAt is in the future: a forecast is issued from data that "
                          "exists", "requestedAt")
    with pool.cursor() as cur:  # reads only: the stored forecast of the hour, else one computed on the fly
        series = history_series(all_series(cur, region), None, issued, now, region)
        try:
            made = forecasting.issue(cur, series, FACTOR_SET, issued, now)
        except forecast_model.NoHistory as exc:
            raise DomainError("no_history", f"{exc} for {region}", kind=NOT_FOUND) from None
    frame = made.frame
    starts = frame["timestamp"].map(lambda t: t.timestamp()).to_numpy(dtype="float64")
    data = Intervals(starts, np.full(len(starts), 3600.0), frame["value"].to_numpy(dtype="float64"))
    return Forecast(location, made.issued_at, data)


def forecast_window(made: Forecast, data_start: datetime | None, data_end: datetime | None,
                    window_minutes: int | None) -> ForecastWindow:
    """The forecast cut to [dataStartAt, dataEndAt] (default: all of it), rolled over windows of
    windowSize minutes, with its optimal (lowest) points; DomainError naming each bound outside
    the forecast."""
    data = made.data
    first, last_end = float(data.starts[0]), float(data.ends[-1])
    start = data_start.timestamp() if data_start else first
    end = data_end.timestamp() if data_end else last_end
    problems: dict[str, list[str]] = {}
    if start >= end:
        problems.setdefault("dataStartAt", []).append("dataStartAt must be earlier than dataEndAt")
    for name, moment in (("dataStartAt", start), ("dataEndAt", end)):
        if not first <= moment <= last_end:
            problems.setdefault(name, []).append(f"{name} must be within time range of the forecasted data, "
                                                 f"'{time_text(first)}' through '{time_text(last_end)}'")
    if problems:
        raise DomainError("forecast_range", "Invalid EmissionsForecast", next(iter(problems)), INVALID, problems)
    rolled = rolling_average(data.overlapping(start, end), (window_minutes or 0) * 60.0, start, end)
    return ForecastWindow(rolled, optimal(rolled), start, end)


def time_text(seconds: float) -> str:
    """An instant (seconds since 1970) as the SDK writes it: ISO 8601 in UTC."""
    return datetime.fromtimestamp(float(seconds), timezone.utc).isoformat()
