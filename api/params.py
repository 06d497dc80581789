"""Query parameters shared by the endpoints: one naming scheme everywhere (`region` or
`latitude` + `longitude` or `location`, and `start`, `end`)."""
from __future__ import annotations

from datetime import datetime, timedelta

from marshmallow import Schema, fields, validate

from api.errors import ApiError
from api.models.bounds import within_calendar

NAIVE_TIME = ("needs a UTC offset or Z, e.g. 2025-02-09T08:00:00Z: a time without one is ambiguous")
def time_field(description: str, required: bool = True) -> fields.AwareDateTime:
    return fields.AwareDateTime(
        required=required, format="iso", validate=within_calendar,
        error_messages={"invalid_awareness": NAIVE_TIME, "invalid": "is not an ISO 8601 date-time",
                        "required": "is required (ISO 8601 with an offset or Z)"},
        metadata={"description": description, "example": "2025-02-09T08:00:00Z"},
    )


class LocationArgs(Schema):
    region = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "Region id or alias: an EIA balancing-authority code (CISO), a name of the original "
                       "service (US-CAISO), an Electricity Maps zone (US-CAL-CISO) or a WattTime region; the "
                       "original's prefixed names too (watttime:CAISO_NORTH, c3lab:US-CAISO, emap:US-CAL-CISO)",
        "example": "CISO"})
    latitude = fields.Float(validate=validate.Range(-90, 90), metadata={
        "description": "WGS84 latitude, with longitude, instead of region", "example": 37.77})
    longitude = fields.Float(validate=validate.Range(-180, 180), metadata={
        "description": "WGS84 longitude, with latitude, instead of region", "example": -122.42})
    location = fields.String(validate=validate.Length(min=3, max=64), metadata={
        "description": "A cloud region as provider:name instead of region, e.g. aws:us-west-2, gcp:us-central1, "
                       "azure:eastus (see /metadata/cloud-location/providers/)", "example": "aws:us-west-2"})


class TimeRangeArgs(LocationArgs):
    start = time_field("Start of the range (inclusive): intervals starting at or after it")
    end = time_field("End of the range (exclusive)")


def require_range(args: dict, cap: timedelta, cap_hint: str = "") -> tuple[datetime, datetime]:
    """start and end, checked for order and against the range cap."""
    start, end = args["start"], args["end"]
    if end <= start:
        raise ApiError(400, "invalid_range", "end must be after start", "end")
    if end - start > cap:
        raise ApiError(400, "range_too_large",
                       f"the range is over {cap.days} days{cap_hint}; ask for a shorter one", "end")
    return start, end


def location_choice(args: dict) -> str:
    """Which way the location was given: 'region', 'coordinates' or 'location'; exactly one."""
    given = [name for name in ("region", "location") if args.get(name) is not None]
    has_lat, has_lon = args.get("latitude") is not None, args.get("longitude") is not None
    if has_lat != has_lon:
        missing = "longitude" if has_lat else "latitude"
        raise ApiError(400, "missing_parameter", f"{missing} is required with "
                       f"{'latitude' if has_lat else 'longitude'}", missing)
    if has_lat:
        given.append("coordinates")
    if len(given) != 1:
        raise ApiError(400, "missing_parameter" if not given else "conflicting_parameters",
                       "give exactly one of region, latitude+longitude, or location",
                       "region" if not given else given[1].replace("coordinates", "latitude"))
    return given[0]


# The original service's query parameters that the native endpoints do not take, and what
# replaces each: a client moving over is told where to go rather than only that it is wrong.
ORIGINAL_PARAMETERS = {
    "iso": "the original's iso=PREFIX:NAME is region= here (region=watttime:CAISO_NORTH, c3lab:US-CAISO and "
           "emap:US-CAL-CISO all work); /legacy/carbon-intensity/ still takes iso=",
    "iso_format": "answers name the region by its id and list every alias (WattTime, Electricity Maps, the "
                  "original's) in GET /regions/; /legacy/balancing-authority/ still takes iso_format=",
    "carbon_data_source": "choose the data with source= (source=ELECTRICITYMAPS for imported Electricity Maps "
                          "data; by default our crawled data); /legacy/carbon-intensity/ still takes "
                          "carbon_data_source=",
    "use_prediction": "forecasts are GET /carbon-intensity/forecast/; /legacy/carbon-intensity/ still takes "
                      "use_prediction=",
    "desired_renewable_ratio": "it has no native equivalent; /legacy/carbon-intensity/ takes "
                               "desired_renewable_ratio=",
}


def unknown_parameter_message(name: str) -> str:
    """Why `name` is refused, and what replaces it when it is one of the original service's."""
    hint = ORIGINAL_PARAMETERS.get(name)
    return f"unknown parameter {name!r}" + (f": {hint}" if hint else "")
