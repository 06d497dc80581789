"""How the legacy routes read a request as the original's validation did (webargs and
marshmallow): query fields refused with its messages, unknown parameters ignored, times
without an offset read as UTC; and their tag in the OpenAPI document."""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError, fields, validate

from api.faces.http import control_character_parameter
from api.faces.legacy.errors import Unprocessable
from api.models.bounds import within_calendar
from api.services.legacy import ISO_FORMATS

TAG = "legacy (the original service's API)"
ERRORS = {404: "Unknown region, or no region at the point: {\"error\": message}",
          422: "A parameter the original's validation refused: {\"messages\": {\"query\": {parameter: [message]}}}"}


def iso_format_field() -> fields.String:
    """iso_format, refused outside its values with the message the original's enum field gave."""
    return fields.String(load_default="watttime", validate=validate.OneOf(
        ISO_FORMATS, error=f"Must be one of {', '.join(ISO_FORMATS)}."), metadata={
        "description": "naming scheme of the answered iso: watttime (WattTime abbreviation), c3lab (the "
                       "original's region names) or emap (Electricity Maps zone keys)"})


def holds(test: Callable[[Any], bool]) -> Callable[[Any], None]:
    """A validator failing with marshmallow's "Invalid value." when `test` is false: how the
    original's validation lambdas failed (marshmallow 3 read a False result so)."""
    def check(value) -> None:
        if not test(value):
            raise ValidationError("Invalid value.")
    return check


def coordinate_field(name: str, limit: float, required: bool) -> fields.Float:
    """latitude (limit 90) or longitude (180), refused past the limit with marshmallow's "Invalid value."
    as the original's validation did."""
    options = {"required": True} if required else {"load_default": None}
    return fields.Float(validate=holds(lambda x: abs(x) <= limit), metadata={"description": f"WGS84 {name}"}, **options)


def time_field(description: str) -> fields.DateTime:
    """A required time: ISO 8601 with a T or a space, with or without an offset (the original's)."""
    return fields.DateTime(required=True, validate=within_calendar, metadata={
        "description": f"{description}; ISO 8601, a time without an offset is UTC", "example": "2025-02-09T08:00:00"})


def as_utc(moment: datetime) -> datetime:
    """A parsed time in UTC; a time without an offset is read as UTC, as the original did."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@functools.cache
def _schema(args: type[Schema]) -> Schema:
    return args()


def parse_query(args: type[Schema]) -> dict:
    """The query string loaded by a legacy schema (unknown parameters ignored, as the original's
    webargs did); Unprocessable with marshmallow's messages, and for a value holding a control
    character (it must not resolve to the name it hides)."""
    name = control_character_parameter(request.args.items(multi=True))
    if name is not None:
        raise Unprocessable("query", {name: ["Control characters are not allowed."]})
    try:
        return _schema(args).load(request.args.to_dict())
    except ValidationError as exc:
        raise Unprocessable("query", exc.messages) from None
