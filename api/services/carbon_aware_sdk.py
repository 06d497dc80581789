"""The Green Software Foundation's Carbon Aware SDK web API, answered from our data: its
location names, its parameter binding (times without an offset are UTC), its answers and
its RFC 7807 errors. The routes live in api/routes/carbon_aware_sdk/.

Ratings are our lifecycle carbon intensity (gCO2eq/kWh) from the region's default source
(api/services/sources.py); forecasts are the project's own (api/services/forecasting.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import orjson
from flask import Response, request
from marshmallow import Schema, ValidationError, fields
from webargs.flaskparser import FlaskParser

from api.bodies import control_character_parameter, json_body
from api.errors import ApiError
from api.models import forecast as forecast_model
from api.models.intervals import Intervals, NotCovered, average_over_period, optimal, rolling_average
from api.models.bounds import within_calendar
from api.services import cloud_locations, forecasting, locator, pool
from api.services.sources import history_series, series_for_range
from database.regions import Series, all_series
from database.timeseries import intensity_series

FACTOR_SET = "lifecycle"
# How far before a range we read, so that the interval holding its start is found.
LOOKBACK = timedelta(hours=1)
MAX_RANGE = timedelta(days=31)
MAX_BATCH = 100
# Forecasts computed for one batch: each one reads a year of history and fits the model (~0.1 s,
# more under load); a hundred different ones took 17 s. Repeats of one are computed once.
MAX_BATCH_FORECASTS = 20
_UNPADDED_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?=T|\s|$)")


class SdkProblem(Exception):
    """An answer in RFC 7807 problem-details form, as the SDK's exception filter writes them."""

    def __init__(self, status: int, title: str, detail: str | None = None,
                 errors: dict[str, list[str]] | None = None):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors

    def response(self) -> Response:
        body = {"type": _TYPES.get(self.status, "about:blank"), "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        return Response(orjson.dumps(body), status=self.status, mimetype="application/problem+json")


_TYPES = {400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
          404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
          500: "https://tools.ietf.org/html/rfc7231#section-6.6.1",
          503: "https://tools.ietf.org/html/rfc7231#section-6.6.4"}


def invalid(field: str, message: str) -> SdkProblem:
    return SdkProblem(400, "One or more validation errors occurred.", errors={field: [message]})


class SdkTime(fields.DateTime):
    """A DateTimeOffset as ASP.NET binds it: ISO 8601 (single-digit month and day too, as in
    the SDK's own tests: 2022-1-1T04:05:06Z), and a time without an offset is UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = _UNPADDED_DATE.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", value.strip())
        moment = super()._deserialize(value, attr, data, **kwargs)
        within_calendar(moment)  # before any conversion: 0001-01-01T00:00+14:00 has no UTC equivalent
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


class _Parser(FlaskParser):
    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        messages = error.messages.get("query", error.messages.get("json", error.messages))
        raise SdkProblem(400, "One or more validation errors occurred.",
                         errors={name: [str(m) for m in (problem if isinstance(problem, list) else [problem])]
                                 for name, problem in messages.items()})


_parser = _Parser()


def parse_query(schema: Schema) -> dict:
    """The query parameters; unknown ones are ignored, as ASP.NET's binding ignores them. A
    value with a control character is refused (it must not resolve to the name it hides)."""
    name = control_character_parameter(request.args.items(multi=True))
    if name is not None:
        raise invalid(name, "control characters are not allowed")
    return _parser.parse(schema, request, location="query", unknown="exclude")


def parse_body(schema: Schema) -> list[dict]:
    """A JSON array of objects validated by `schema` (many=True); the body is bounded in size
    and depth before it is parsed (api/bodies.py)."""
    try:
        body = json_body()
    except ApiError as exc:
        raise invalid(exc.parameter or "body", exc.message) from None
    if not isinstance(body, list):
        raise invalid("body", "a JSON array of requests is required")
    if len(body) > MAX_BATCH:
        raise invalid("body", f"at most {MAX_BATCH} requests in one batch")
    try:
        return schema.load(body, many=True, unknown="exclude")
    except ValidationError as exc:
        raise SdkProblem(400, "One or more validation errors occurred.",
                         errors={f"[{index}].{name}": [str(m) for m in problems]
                                 for index, item in exc.messages.items() if isinstance(item, dict)
                                 for name, problems in item.items()}) from None


# --- locations ---------------------------------------------------------------------------------

def region_of(name: str) -> str:
    """Our region for an SDK location: a cloud region name (Azure's `eastus`, AWS's `us-east-1`,
    Google's `us-central1`), a `provider:name` id, or one of our region ids and aliases. A cloud
    region answers from its catalogued grid zone (no boundaries needed)."""
    places = locator()
    code = places.resolve_name(name)
    if code is not None:
        return code
    place = cloud_locations.find_any(name)
    if place is None:
        raise invalid("location", f"unknown location {name!r}: use a cloud region name (eastus, us-east-1), "
                                  "provider:name (aws:us-west-2) or a region id; GET /locations lists them")
    try:
        return places.cloud_region(place)
    except ApiError as exc:
        raise invalid("location", f"{name!r} ({exc.message})") from None


def all_locations() -> dict[str, dict]:
    """Every cloud region whose grid zone we cover, keyed by its bare name, in the SDK's Location
    shape (the first provider in BARE_NAME_ORDER wins a name)."""
    places = locator()
    found: dict[str, dict] = {}
    for provider in cloud_locations.BARE_NAME_ORDER:
        for place in cloud_locations.locations(provider):
            if places.resolve_name(place.zone) is not None:
                found.setdefault(place.name, {"latitude": place.latitude, "longitude": place.longitude,
                                              "name": place.name})
    return found


# --- data --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LocatedData:
    location: str  # as the client named it
    data: Intervals


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


def _series(cur, region: str, start: datetime, end: datetime, now: datetime) -> Series | None:
    return series_for_range(cur, region, None, start, end, now)


def measured(location: str, start: datetime, end: datetime, names: tuple[str, str] = ("time", "toTime")) -> LocatedData:
    """The stored intervals of the location's region overlapping [start, end] (SDK filtering:
    an instant, start == end, gets the interval holding it); `names` are the route's names of
    start and end, for the errors."""
    if end < start:
        raise invalid(names[1], f"{names[1]} must not be before {names[0]}")
    if end - start > MAX_RANGE:
        raise invalid(names[1], f"the range is over {MAX_RANGE.days} days; ask for a shorter one")
    region = region_of(location)
    now = datetime.now(timezone.utc)
    with pool().cursor() as cur:
        series = _series(cur, region, start - LOOKBACK, end + timedelta(seconds=1), now)
        if series is None:
            return LocatedData(location, Intervals(np.array([]), np.array([]), np.array([])))
        points = intensity_series(cur, series.region_id, series.source_id, start - LOOKBACK,
                                  end + timedelta(seconds=1), FACTOR_SET, "native")
    known = points.carbon_intensity_known
    data = Intervals(points.ts[known] / 1e6, points.minutes[known] * 60.0, points.carbon_intensity[known])
    return LocatedData(location, data.overlapping(_seconds(start), _seconds(end)))


@dataclass(frozen=True)
class Forecast:
    location: str
    generated_at: datetime
    data: Intervals


def forecasts(requests: list[dict]) -> list[Forecast]:
    """The forecast of each {location, requestedAt} of a batch: each different (location, hour)
    computed once, and a 400 naming the limit, before any is computed, when a batch asks for
    more than MAX_BATCH_FORECASTS different ones."""
    keys = [(r["location"].strip().lower(), r["requestedAt"].replace(minute=0, second=0, microsecond=0))
            for r in requests]
    if len(set(keys)) > MAX_BATCH_FORECASTS:
        raise invalid("body", f"the batch asks for {len(set(keys))} different forecasts (location and requestedAt "
                              f"hour); at most {MAX_BATCH_FORECASTS} are computed per request: send the rest in "
                              "another one")
    made: dict[tuple, Forecast] = {}
    for key, r in zip(keys, requests):
        if key not in made:
            made[key] = forecast(r["location"], r["requestedAt"])
    return [Forecast(r["location"], made[key].generated_at, made[key].data) for key, r in zip(keys, requests)]


def forecast(location: str, issued_at: datetime | None) -> Forecast:
    """Our hourly forecast for the location's region, issued now or at `issued_at` (from the
    data before it only)."""
    region = region_of(location)
    now = datetime.now(timezone.utc)
    issued = (issued_at or now).astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    if issued > now:
        raise invalid("requestedAt", "requestedAt is in the future: a forecast is issued from data that exists")
    with pool().cursor(transaction=True) as cur:
        try:
            series = history_series(all_series(cur, region), None, issued, now, region)
            made = forecasting.issue(cur, series, FACTOR_SET, issued, now)
        except ApiError as exc:
            raise SdkProblem(404, "No forecast", exc.message) from None
        except forecast_model.NoHistory as exc:
            raise SdkProblem(404, "No forecast", f"{exc} for {region}") from None
    frame = made.frame
    starts = frame["timestamp"].map(lambda t: t.timestamp()).to_numpy(dtype="float64")
    data = Intervals(starts, np.full(len(starts), 3600.0), frame["value"].to_numpy(dtype="float64"))
    return Forecast(location, made.issued_at, data)


# --- answers -----------------------------------------------------------------------------------

def time_text(seconds: float) -> str:
    return datetime.fromtimestamp(float(seconds), timezone.utc).isoformat()


def duration_text(seconds: float) -> str:
    """A .NET TimeSpan as System.Text.Json writes it: [d.]hh:mm:ss."""
    whole = int(round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days}.{text}" if days else text


def emissions_data(located: LocatedData, indices=None) -> list[dict]:
    """EmissionsData items: {"location", "time", "rating", "duration"}."""
    data = located.data
    chosen = range(len(data)) if indices is None else indices
    return [{"location": located.location, "time": time_text(data.starts[i]), "rating": float(data.values[i]),
             "duration": duration_text(data.durations[i])} for i in chosen]


def forecast_items(location: str, data: Intervals, indices=None) -> list[dict]:
    """EmissionsDataDTO items of a forecast: {"location", "timestamp", "duration" (minutes), "value"}."""
    chosen = range(len(data)) if indices is None else indices
    return [{"location": location, "timestamp": time_text(data.starts[i]),
             "duration": int(round(data.durations[i] / 60)), "value": float(data.values[i])} for i in chosen]


# --- what the routes answer --------------------------------------------------------------------

def emissions_range(args: dict) -> tuple[datetime, datetime]:
    """[time, toTime] as the SDK defaults them: now, and an instant at `time`."""
    start, end = args.get("time"), args.get("toTime")
    if end is not None and start is None:
        raise invalid("time", "time is required when toTime is given")
    start = start or datetime.now(timezone.utc)
    return start, end or start


def emissions(locations: list[str], start: datetime, end: datetime) -> list[LocatedData]:
    return [measured(location, start, end) for location in locations]


def all_emissions_data(located: list[LocatedData]) -> list[dict]:
    return [item for one in located for item in emissions_data(one)]


def best_emissions_data(located: list[LocatedData]) -> list[dict]:
    """Every interval, over all locations, with the lowest rating (ties all answered)."""
    with_data = [one for one in located if len(one.data)]
    if not with_data:
        return []
    lowest = min(float(one.data.values.min()) for one in with_data)
    return [item for one in with_data
            for item in emissions_data(one, np.flatnonzero(one.data.values == lowest))]


def forecast_answer(made: Forecast, requested_at: datetime | None, data_start: datetime | None,
                    data_end: datetime | None, window_minutes: int | None) -> dict:
    """An EmissionsForecastDTO: the forecast cut to [dataStartAt, dataEndAt], rolled over windows
    of windowSize minutes, with its optimal (lowest) points."""
    data = made.data
    first, last_end = float(data.starts[0]), float(data.ends[-1])
    start = _seconds(data_start) if data_start else first
    end = _seconds(data_end) if data_end else last_end
    problems: dict[str, list[str]] = {}
    if start >= end:
        problems.setdefault("dataStartAt", []).append("dataStartAt must be earlier than dataEndAt")
    for name, moment in (("dataStartAt", start), ("dataEndAt", end)):
        if not first <= moment <= last_end:
            problems.setdefault(name, []).append(f"{name} must be within time range of the forecasted data, "
                                                 f"'{time_text(first)}' through '{time_text(last_end)}'")
    if problems:
        raise SdkProblem(400, "ArgumentException", "Invalid EmissionsForecast", problems)
    rolled = rolling_average(data.overlapping(start, end), (window_minutes or 0) * 60.0, start, end)
    points = forecast_items(made.location, rolled)
    return {
        "generatedAt": made.generated_at.astimezone(timezone.utc).isoformat(),
        "requestedAt": (requested_at or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(),
        "location": made.location,
        "dataStartAt": data_start.astimezone(timezone.utc).isoformat() if data_start else
        (points[0]["timestamp"] if points else time_text(start)),
        "dataEndAt": data_end.astimezone(timezone.utc).isoformat() if data_end else
        (points[-1]["timestamp"] if points else time_text(end)),
        "windowSize": window_minutes or 0,
        "optimalDataPoints": forecast_items(made.location, rolled, optimal(rolled)),
        "forecastData": points,
    }


def average_answer(location: str, start: datetime, end: datetime) -> dict:
    """A CarbonIntensityDTO: the time-weighted mean intensity over [startTime, endTime)."""
    if end <= start:
        raise invalid("endTime", "endTime must be after startTime")
    located = measured(location, start, end, ("startTime", "endTime"))
    try:
        value = average_over_period(located.data, _seconds(start), _seconds(end))
    except NotCovered as exc:
        raise SdkProblem(400, "ArgumentException", f"Period out of range: {exc} ({start.isoformat()} "
                         f"through {end.isoformat()})") from None
    return {"location": location, "startTime": start.astimezone(timezone.utc).isoformat(),
            "endTime": end.astimezone(timezone.utc).isoformat(), "carbonIntensity": value}


def json_answer(body) -> Response:
    return Response(orjson.dumps(body), mimetype="application/json")


def json_or_no_content(body) -> Response:
    """The SDK answers 204 with no body when there is nothing to say."""
    return json_answer(body) if body else Response(status=204)
