"""energy-data REST API: `gunicorn 'api:create_app()'`."""
from __future__ import annotations

from flask import Flask, jsonify
from flask_restful import Api

from database.connection import DatabaseUnavailable
from database.pool import Pool


def create_app(database_url: str | None = None) -> Flask:
    """The application factory; the database comes from DATABASE_URL (or the embedded one)."""
    app = Flask(__name__)
    app.config["POOL"] = Pool(database_url)
    api = Api(app, catch_all_404s=True)

    from api.routes.health import Health
    api.add_resource(Health, "/health")

    @app.errorhandler(DatabaseUnavailable)
    def database_unavailable(exc: DatabaseUnavailable):
        return jsonify(error={"code": "database_unavailable", "message": str(exc)}), 503

    return app
