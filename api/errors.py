"""Errors a user can cause answer 4xx with {"error": {"code", "message"[, "parameter"]}};
anything else is a bug and answers a 500 in the same shape."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from database.connection import DatabaseUnavailable

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A request the API cannot answer as asked; the message says what to change."""

    def __init__(self, status: int, code: str, message: str, parameter: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.parameter = status, code, message, parameter

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.parameter:
            error["parameter"] = self.parameter
        return {"error": error}


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return jsonify(exc.body()), exc.status

    @app.errorhandler(DatabaseUnavailable)
    def database_unavailable(exc: DatabaseUnavailable):
        return jsonify(ApiError(503, "database_unavailable", str(exc)).body()), 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify(ApiError(exc.code or 500, code, exc.description or exc.name).body()), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return jsonify(ApiError(500, "internal_error", "an internal error occurred; it has been logged").body()), 500
