"""The native error format: a request a user got wrong answers 4xx with {"error": {"code",
"message"[, "parameter"]}}; anything else is a bug and answers a 500 in the same shape. The
app-wide handlers (errors outside any face's resources: unknown paths, methods, the database,
bugs) answer in this format too."""
from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from api.faces.http import HTTP_STATUS
from api.services.errors import DatabaseUnavailable, DomainError

log = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "database unavailable"


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"description": "machine-readable error code"})
    message = fields.String(required=True, metadata={"description": "what went wrong and what to change"})
    parameter = fields.String(metadata={"description": "the query parameter at fault, if one is"})


class Error(Schema):
    error = fields.Nested(ErrorDetail, required=True)


def error_body(code: str, message: str, parameter: str | None = None) -> dict:
    error = {"code": code, "message": message}
    if parameter:
        error["parameter"] = parameter
    return {"error": error}


def error_answer(status: int, code: str, message: str, parameter: str | None = None) -> Response:
    response = jsonify(error_body(code, message, parameter))
    response.status_code = status
    return response


def render(error: DomainError) -> Response:
    return error_answer(HTTP_STATUS[error.kind], error.code, error.message, error.parameter)


def install(app: Flask) -> None:
    """The app-wide handlers, for what no face answers itself."""
    @app.errorhandler(DatabaseUnavailable)
    def database_unavailable(exc: DatabaseUnavailable):
        # The detail names the server's host or socket path: for the log, not for the caller.
        log.warning("%s", exc)
        return error_answer(503, "database_unavailable", DATABASE_UNAVAILABLE)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_answer(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_answer(500, "internal_error", "an internal error occurred; it has been logged")
