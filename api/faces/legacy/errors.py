"""The original service's error formats: {"error": message} with 400, 404 or 503 (plus our
machine-readable `code`, which it did not have), and 422 {"messages": {location: {field:
[message]}}} for what its request validation (webargs) refused."""
from __future__ import annotations

import logging

from flask import Response, current_app
from marshmallow import Schema, fields

from api.faces.http import HTTP_STATUS
from api.faces.native.errors import DATABASE_UNAVAILABLE
from api.services.errors import DatabaseUnavailable, DomainError

log = logging.getLogger(__name__)

ERROR_SCHEMA = "LegacyError"
# The original answered an unknown cloud provider with a bare JSON string.
ERROR_OR_TEXT_SCHEMA = "LegacyErrorOrText"


class LegacyErrorDoc(Schema):
    error = fields.String(metadata={"description": "what went wrong (400, 404, 503)"})
    code = fields.String(metadata={"description": "our machine-readable code (not in the original)"})
    messages = fields.Dict(metadata={"description": "422 only: {\"query\": {parameter: [message]}}"})


ERROR_SCHEMAS = {ERROR_SCHEMA: LegacyErrorDoc, ERROR_OR_TEXT_SCHEMA: {
    "oneOf": [{"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}, {"type": "string"}]}}


class Unprocessable(Exception):
    """A request the original's validation refused: 422 {"messages": {location: messages}}, the
    location being `query` or `json` (the body)."""

    def __init__(self, location: str, messages: dict):
        super().__init__(str(messages))
        self.location, self.messages = location, messages


def answer(body, status: int) -> Response:
    """A JSON answer with this status (errors: never cached)."""
    return current_app.response_class(current_app.json.dumps(body), status=status, mimetype="application/json")


def render(error: DomainError) -> Response:
    return answer({"error": error.message, "code": error.code}, HTTP_STATUS[error.kind])


def render_unprocessable(error: Unprocessable) -> Response:
    return answer({"messages": {error.location: error.messages}}, 422)


def render_database_unavailable(error: DatabaseUnavailable) -> Response:
    log.warning("%s", error)  # the detail (host, socket path) is for the log only
    return answer({"error": DATABASE_UNAVAILABLE, "code": "database_unavailable"}, 503)


HANDLERS = {DomainError: render, Unprocessable: render_unprocessable, DatabaseUnavailable: render_database_unavailable}
