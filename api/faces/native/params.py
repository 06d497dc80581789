"""The native query parameters: one naming scheme everywhere (`region`, or `latitude` +
`longitude`, or `location`; `start`, `end`), and the place they name, by the one resolver."""
from __future__ import annotations

from datetime import datetime, timedelta

from marshmallow import Schema, fields, validate

from api.faces.http import core
from api.models.bounds import within_calendar
from api.services.errors import TOO_LARGE, DomainError
from api.services.location import Located

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


def locate(args: dict) -> Located:
    """The region meant by region / latitude+longitude / location in `args` (exactly one),
    by Locator.resolve: a string means the same region under either name."""
    choice = location_choice(args)
    if choice == "coordinates":
        return core().locator.resolve((args["latitude"], args["longitude"]))
    return core().locator.resolve(args[choice], choice)


def require_range(args: dict, cap: timedelta, cap_hint: str = "") -> tuple[datetime, datetime]:
    """start and end, checked for order and against the range cap."""
    start, end = args["start"], args["end"]
    if end <= start:
        raise DomainError("invalid_range", "end must be after start", "end")
    if end - start > cap:
        raise DomainError("range_too_large", f"the range is over {cap.days} days{cap_hint}; ask for a shorter one",
                          "end", TOO_LARGE)
    return start, end


def location_choice(args: dict) -> str:
    """Which way the location was given: 'region', 'coordinates' or 'location'; exactly one."""
    given = [name for name in ("region", "location") if args.get(name) is not None]
    has_lat, has_lon = args.get("latitude") is not None, args.get("longitude") is not None
    if has_lat != has_lon:
        missing = "longitude" if has_lat else "latitude"
        raise DomainError("missing_parameter", f"{missing} is required with "
                          f"{'latitude' if has_lat else 'longitude'}", missing)
    if has_lat:
        given.append("coordinates")
    if len(given) != 1:
        raise DomainError("missing_parameter" if not given else "conflicting_parameters",
                          "give exactly one of region, latitude+longitude, or location",
                          "region" if not given else given[1].replace("coordinates", "latitude"))
    return given[0]
