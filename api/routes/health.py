"""GET /health: the API is up and its database answers."""
from __future__ import annotations

from flask import current_app
from flask_restful import Resource

from database.connection import DatabaseUnavailable
from database.health import database_health


class Health(Resource):
    def get(self):
        try:
            with current_app.config["POOL"].cursor() as cur:
                details = database_health(cur)
        except DatabaseUnavailable as exc:
            return {"status": "unavailable", "database": {"ok": False, "error": str(exc)}}, 503
        return {"status": "ok", "database": {"ok": True, **details}}, 200
