"""GET /health: the API is up and its database answers."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields

from api.faces.http import core
from api.faces.native.errors import DATABASE_UNAVAILABLE
from api.faces.spec import Endpoint
from api.services import status


class DatabaseDoc(Schema):
    ok = fields.Boolean(required=True)
    schema = fields.String(allow_none=True, metadata={"description": "newest migration applied"})
    newest_data = fields.String(allow_none=True, metadata={"description": "newest interval stored, any region"})
    error = fields.String()
    standby = fields.Boolean(metadata={"description": "true when API_DATABASE_URL is a streaming standby"})
    replay_lag_seconds = fields.Float(allow_none=True, metadata={
        "description": "standby only: seconds since the newest replayed transaction committed on the primary"})


class HealthAnswer(Schema):
    status = fields.String(required=True, metadata={"description": "ok or unavailable"})
    database = fields.Nested(DatabaseDoc, required=True)


class Health(Resource):
    spec = Endpoint("/health", "Liveness and database check", HealthAnswer, tags=("operations",),
                        errors={503: "The database does not answer"})

    def get(self):
        self.spec.parse()
        details = status.health(core().pool)
        if details is None:
            return {"status": "unavailable", "database": {"ok": False, "error": DATABASE_UNAVAILABLE}}, 503
        return {"status": "ok", "database": {"ok": True, **details}}, 200
