"""What the legacy routes share: their tag and error shape in the OpenAPI document, and query
fields that validate as the original's did."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from api.models.bounds import within_calendar
from api.services.legacy import ISO_FORMATS
from api.spec import EXTRA_ERROR_SCHEMAS

TAG = "legacy (the original service's API)"
ERROR_SCHEMA = "LegacyError"
ERRORS = {404: "Unknown region, or no region at the point: {\"error\": message}",
          422: "A parameter the original's validation refused: {\"messages\": {\"query\": {parameter: [message]}}}"}


class LegacyErrorDoc(Schema):
    error = fields.String(metadata={"description": "what went wrong (400, 404, 503)"})
    code = fields.String(metadata={"description": "our machine-readable code (not in the original)"})
    messages = fields.Dict(metadata={"description": "422 only: {\"query\": {parameter: [message]}}"})


EXTRA_ERROR_SCHEMAS[ERROR_SCHEMA] = LegacyErrorDoc
# The original answered an unknown cloud provider with a bare JSON string.
ERROR_OR_TEXT_SCHEMA = "LegacyErrorOrText"
EXTRA_ERROR_SCHEMAS[ERROR_OR_TEXT_SCHEMA] = {
    "oneOf": [{"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}, {"type": "string"}]}


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
