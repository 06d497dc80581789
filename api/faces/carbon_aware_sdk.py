"""The Green Software Foundation's Carbon Aware SDK web API at its own paths (no prefix: an SDK
client needs only our base URL), in one module as the SDK's own controller is: its eight
routes, its parameter binding (as ASP.NET binds: times without an offset are UTC, unknown
parameters are ignored, paths are matched in any case), its answer shapes, and its errors as
RFC 7807 problem details. What the routes compute is api/services/carbon_aware_sdk.py."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import orjson
from flask import Response, request
from flask_restful import Resource
from marshmallow import Schema, ValidationError, fields, validate
from webargs.flaskparser import FlaskParser

from api.faces.http import control_character_parameter, core, json_body
from api.faces.spec import Endpoint, Face
from api.models.bounds import within_calendar
from api.models.intervals import Intervals
from api.services import carbon_aware_sdk as sdk
from api.services.errors import NOT_COVERED, NOT_FOUND, UNAVAILABLE, DomainError

TAG = "Carbon Aware SDK"
ERRORS = {400: "Invalid or missing parameter (RFC 7807 problem details)"}
FORECAST_ERRORS = {**ERRORS, 404: "No history to forecast the location from"}
NO_DATA = "No data for the locations and range"
PROBLEM = {"errors": ERRORS, "error_schema": "ProblemDetails", "error_media_type": "application/problem+json"}
SDK_PREFIXES = ("/emissions", "/locations")
MAX_BATCH = 100
_UNPADDED_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?=T|\s|$)")


# --- errors: RFC 7807 problem details, as the SDK's exception filter writes them ---------------

VALIDATION = "One or more validation errors occurred."
# Errors the SDK raises as ArgumentException: the arguments do not fit the data.
ARGUMENT_EXCEPTIONS = ("forecast_range", "period_not_covered")
_TYPES = {400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
          404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
          500: "https://tools.ietf.org/html/rfc7231#section-6.6.1",
          503: "https://tools.ietf.org/html/rfc7231#section-6.6.4"}


class ProblemDetails(Schema):
    type = fields.String()
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


def problem(status: int, title: str, detail: str | None = None, errors: dict[str, list[str]] | None = None) -> Response:
    body = {"type": _TYPES.get(status, "about:blank"), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return Response(orjson.dumps(body), status=status, mimetype="application/problem+json")


def render(error: DomainError) -> Response:
    """A DomainError as the SDK answers: a place or input it cannot use is a validation problem
    naming the parameter (400), no history to forecast from a 404."""
    if error.kind in (NOT_FOUND, NOT_COVERED):
        return problem(404, "No forecast" if error.code == "no_history" else "Not Found", error.message)
    if error.kind == UNAVAILABLE:
        return problem(503, "Service Unavailable", error.message)
    if error.code in ARGUMENT_EXCEPTIONS:
        return problem(400, "ArgumentException", error.message, error.problems)
    return problem(400, VALIDATION, errors=error.problems or {error.parameter or "body": [error.message]})


def invalid(problems: dict[str, list[str]]) -> DomainError:
    return DomainError("invalid_parameter", VALIDATION, next(iter(problems), None), problems=problems)


# --- parameter binding -------------------------------------------------------------------------

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
        raise invalid({name: [str(m) for m in (problem if isinstance(problem, list) else [problem])]
                       for name, problem in messages.items()})


_parser = _Parser()


def parse_query(schema: Schema) -> dict:
    """The query parameters; unknown ones are ignored, as ASP.NET's binding ignores them. A
    value with a control character is refused (it must not resolve to the name it hides)."""
    name = control_character_parameter(request.args.items(multi=True))
    if name is not None:
        raise invalid({name: ["control characters are not allowed"]})
    return _parser.parse(schema, request, location="query", unknown="exclude")


def parse_body(schema: Schema) -> list[dict]:
    """A JSON array of objects validated by `schema` (many=True); the body is bounded in size
    and depth before it is parsed (api/faces/http.py)."""
    body = json_body()
    if not isinstance(body, list):
        raise invalid({"body": ["a JSON array of requests is required"]})
    if len(body) > MAX_BATCH:
        raise invalid({"body": [f"at most {MAX_BATCH} requests in one batch"]})
    try:
        return schema.load(body, many=True, unknown="exclude")
    except ValidationError as exc:
        raise invalid({f"[{index}].{name}": [str(m) for m in problems]
                       for index, item in exc.messages.items() if isinstance(item, dict)
                       for name, problems in item.items()}) from None


def emissions_range(args: dict) -> tuple[datetime, datetime]:
    """[time, toTime] as the SDK defaults them: now, and an instant at `time`."""
    start, end = args.get("time"), args.get("toTime")
    if end is not None and start is None:
        raise invalid({"time": ["time is required when toTime is given"]})
    start = start or datetime.now(timezone.utc)
    return start, end or start


class ByLocationArgs(Schema):
    location = fields.String(required=True, validate=validate.Length(min=1), metadata={
        "description": "eastus, us-east-1, aws:us-west-2, or a region id or alias (CISO, US-CAL-CISO)"})
    time = SdkTime(metadata={"description": "start (default now); without an offset: UTC"})
    toTime = SdkTime(metadata={"description": "end (default: the instant `time`)"})


class ByLocationsArgs(Schema):
    location = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                           validate=validate.Length(min=1, max=50), metadata={
                               "description": "repeat for each location: location=eastus&location=westus"})
    time = SdkTime(metadata={"description": "start (default now); without an offset: UTC"})
    toTime = SdkTime(metadata={"description": "end (default: the instant `time`)"})


class CurrentForecastArgs(Schema):
    location = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                           validate=validate.Length(min=1, max=20))
    dataStartAt = SdkTime(metadata={"description": "first time considered (default: the forecast's start)"})
    dataEndAt = SdkTime(metadata={"description": "last time considered (default: the forecast's end)"})
    windowSize = fields.Integer(validate=validate.Range(0, 72 * 60), metadata={
        "description": "minutes of the workload: forecastData holds the mean over each such window"})


class ForecastRequest(Schema):
    requestedAt = SdkTime(required=True, metadata={"description": "when the forecast is issued"})
    location = fields.String(required=True, validate=validate.Length(min=1, max=200))
    dataStartAt = SdkTime()
    dataEndAt = SdkTime()
    windowSize = fields.Integer(validate=validate.Range(0, 72 * 60))


class AverageArgs(Schema):
    location = fields.String(required=True, validate=validate.Length(min=1, max=200))
    startTime = SdkTime(required=True)
    endTime = SdkTime(required=True)


# --- answers -----------------------------------------------------------------------------------

class SdkEmissionsData(Schema):
    location = fields.String(required=True, metadata={"description": "the location as asked for"})
    time = fields.String(required=True, metadata={"description": "interval start, UTC"})
    rating = fields.Float(required=True, metadata={"description": "lifecycle carbon intensity, gCO2eq/kWh"})
    duration = fields.String(required=True, metadata={"description": "interval length as a .NET TimeSpan, hh:mm:ss"})


class SdkForecastPoint(Schema):
    location = fields.String(required=True)
    timestamp = fields.String(required=True)
    duration = fields.Integer(required=True, metadata={"description": "minutes"})
    value = fields.Float(required=True, metadata={"description": "gCO2eq/kWh"})


class SdkEmissionsForecast(Schema):
    generatedAt = fields.String(required=True)
    requestedAt = fields.String(required=True)
    location = fields.String(required=True)
    dataStartAt = fields.String(required=True)
    dataEndAt = fields.String(required=True)
    windowSize = fields.Integer(required=True)
    optimalDataPoints = fields.List(fields.Nested(SdkForecastPoint), required=True)
    forecastData = fields.List(fields.Nested(SdkForecastPoint), required=True)


class SdkCarbonIntensity(Schema):
    location = fields.String(required=True)
    startTime = fields.String(required=True)
    endTime = fields.String(required=True)
    carbonIntensity = fields.Float(required=True)


def duration_text(seconds: float) -> str:
    """A .NET TimeSpan as System.Text.Json writes it: [d.]hh:mm:ss."""
    whole = int(round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days}.{text}" if days else text


def emissions_data(located: sdk.LocatedData, indices=None) -> list[dict]:
    """EmissionsData items: {"location", "time", "rating", "duration"}."""
    data = located.data
    chosen = range(len(data)) if indices is None else indices
    return [{"location": located.location, "time": sdk.time_text(data.starts[i]), "rating": float(data.values[i]),
             "duration": duration_text(data.durations[i])} for i in chosen]


def forecast_items(location: str, data: Intervals, indices=None) -> list[dict]:
    """EmissionsDataDTO items of a forecast: {"location", "timestamp", "duration" (minutes), "value"}."""
    chosen = range(len(data)) if indices is None else indices
    return [{"location": location, "timestamp": sdk.time_text(data.starts[i]),
             "duration": int(round(data.durations[i] / 60)), "value": float(data.values[i])} for i in chosen]


def forecast_answer(made: sdk.Forecast, requested_at: datetime | None, data_start: datetime | None,
                    data_end: datetime | None, window_minutes: int | None) -> dict:
    """An EmissionsForecastDTO: the forecast cut to [dataStartAt, dataEndAt], rolled over windows
    of windowSize minutes, with its optimal (lowest) points."""
    window = sdk.forecast_window(made, data_start, data_end, window_minutes)
    points = forecast_items(made.location, window.data)
    return {
        "generatedAt": made.generated_at.astimezone(timezone.utc).isoformat(),
        "requestedAt": (requested_at or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(),
        "location": made.location,
        "dataStartAt": data_start.astimezone(timezone.utc).isoformat() if data_start else
        (points[0]["timestamp"] if points else sdk.time_text(window.start)),
        "dataEndAt": data_end.astimezone(timezone.utc).isoformat() if data_end else
        (points[-1]["timestamp"] if points else sdk.time_text(window.end)),
        "windowSize": window_minutes or 0,
        "optimalDataPoints": forecast_items(made.location, window.data, window.optimal),
        "forecastData": points,
    }


def average_answer(location: str, start: datetime, end: datetime) -> dict:
    """A CarbonIntensityDTO: the time-weighted mean intensity over [startTime, endTime)."""
    value = sdk.average(core().pool, core().locator, location, start, end)
    return {"location": location, "startTime": start.astimezone(timezone.utc).isoformat(),
            "endTime": end.astimezone(timezone.utc).isoformat(), "carbonIntensity": value}


def json_answer(body) -> Response:
    return Response(orjson.dumps(body), mimetype="application/json")


def json_or_no_content(body) -> Response:
    """The SDK answers 204 with no body when there is nothing to say."""
    return json_answer(body) if body else Response(status=204)


def _emissions(locations: list[str], args: dict) -> list[sdk.LocatedData]:
    start, end = emissions_range(args)
    return sdk.emissions(core().pool, core().locator, locations, start, end)


# --- the routes --------------------------------------------------------------------------------

class EmissionsByLocation(Resource):
    spec = Endpoint("/emissions/bylocation", "Emissions data of a location (Carbon Aware SDK)",
                    SdkEmissionsData(many=True), ByLocationArgs, tags=(TAG,), no_content=NO_DATA, **PROBLEM,
                    description="Every interval overlapping [time, toTime]; 204 when there is none.")

    def get(self):
        args = parse_query(ByLocationArgs())
        located = _emissions([args["location"]], args)
        return json_or_no_content([item for one in located for item in emissions_data(one)])


class EmissionsByLocations(Resource):
    spec = Endpoint("/emissions/bylocations", "Emissions data of several locations (Carbon Aware SDK)",
                    SdkEmissionsData(many=True), ByLocationsArgs, tags=(TAG,), no_content=NO_DATA, **PROBLEM,
                    description="Every interval overlapping [time, toTime] in each location; 204 when there is none.")

    def get(self):
        args = parse_query(ByLocationsArgs())
        return json_or_no_content([item for one in _emissions(args["location"], args) for item in emissions_data(one)])


class BestEmissions(Resource):
    spec = Endpoint("/emissions/bylocations/best", "Best location and time (Carbon Aware SDK)",
                    SdkEmissionsData(many=True), ByLocationsArgs, tags=(TAG,), no_content=NO_DATA, **PROBLEM,
                    description="The intervals with the lowest rating over every location and [time, toTime] "
                                "(all of them when several tie); 204 when there is no data.")

    def get(self):
        args = parse_query(ByLocationsArgs())
        return json_or_no_content([item for one, indices in sdk.lowest(_emissions(args["location"], args))
                                   for item in emissions_data(one, indices)])


class CurrentForecast(Resource):
    spec = Endpoint("/emissions/forecasts/current", "Current forecasts (Carbon Aware SDK)",
                    SdkEmissionsForecast(many=True), CurrentForecastArgs, tags=(TAG,),
                    **{**PROBLEM, "errors": FORECAST_ERRORS},
                    description="The project's hourly forecast issued now for each location; with windowSize, "
                                "the rolling mean over windows of that many minutes, and the optimal windows.")

    def get(self):
        args = parse_query(CurrentForecastArgs())
        return json_answer([forecast_answer(sdk.forecast(core().pool, core().locator, location, None), None,
                                            args.get("dataStartAt"), args.get("dataEndAt"), args.get("windowSize"))
                            for location in args["location"]])


class BatchForecast(Resource):
    spec = Endpoint("/emissions/forecasts/batch", "Historical forecasts (Carbon Aware SDK)",
                    SdkEmissionsForecast(many=True), tags=(TAG,), **{**PROBLEM, "errors": FORECAST_ERRORS},
                    method="post", body=ForecastRequest(many=True),
                    description="For each request, the forecast issued at requestedAt from the data before it. At most "
                                f"{MAX_BATCH} requests, and {sdk.MAX_BATCH_FORECASTS} different forecasts (location "
                                "and requestedAt hour), per batch; the body is at most 1 MB.")

    def post(self):
        requests = parse_body(ForecastRequest())
        made = sdk.forecasts(core().pool, core().locator, [(r["location"], r["requestedAt"]) for r in requests])
        return json_answer([forecast_answer(forecast, r["requestedAt"], r.get("dataStartAt"), r.get("dataEndAt"),
                                            r.get("windowSize"))
                            for forecast, r in zip(made, requests)])


class AverageCarbonIntensity(Resource):
    spec = Endpoint("/emissions/average-carbon-intensity", "Average carbon intensity (Carbon Aware SDK)",
                    SdkCarbonIntensity, AverageArgs, tags=(TAG,), **PROBLEM,
                    description="The mean over [startTime, endTime), each interval weighted by its overlap; 400 "
                                "when the data does not cover the range.")

    def get(self):
        args = parse_query(AverageArgs())
        return json_answer(average_answer(args["location"], args["startTime"], args["endTime"]))


class AverageCarbonIntensityBatch(Resource):
    spec = Endpoint("/emissions/average-carbon-intensity/batch", "Average carbon intensities (Carbon Aware SDK)",
                    SdkCarbonIntensity(many=True), tags=(TAG,), **PROBLEM, method="post", body=AverageArgs(many=True),
                    description="For each {location, startTime, endTime}, the time-weighted mean intensity.")

    def post(self):
        return json_answer([average_answer(r["location"], r["startTime"], r["endTime"])
                            for r in parse_body(AverageArgs())])


class Locations(Resource):
    spec = Endpoint("/locations", "Locations (Carbon Aware SDK)", None, tags=(TAG,), no_content=NO_DATA,
                    description="An object keyed by cloud region name (Azure, AWS, Google Cloud), each "
                                "{latitude, longitude, name}; our region ids and aliases are accepted too.")

    def get(self):
        return json_or_no_content({name: {"latitude": place.latitude, "longitude": place.longitude, "name": name}
                                   for name, place in sdk.all_locations(core().locator).items()})


class CaseInsensitiveSdkPaths:
    """WSGI middleware: the SDK's ASP.NET routing ignores case (/emissions/byLocation), ours does
    not, so SDK paths are lower-cased before routing."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.lower().startswith(SDK_PREFIXES):
            environ["PATH_INFO"] = path.lower()
        return self.app(environ, start_response)


FACE = Face("carbon_aware_sdk",
            (EmissionsByLocation, EmissionsByLocations, BestEmissions, CurrentForecast, BatchForecast,
             AverageCarbonIntensity, AverageCarbonIntensityBatch, Locations),
            {"ProblemDetails": ProblemDetails}, {DomainError: render})
