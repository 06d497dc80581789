"""energy-data REST API: `gunicorn 'api:create_app()'`."""
from __future__ import annotations

from flask import Flask
from flask_restful import Api

from api import access, metrics
from api.errors import install_error_handlers
from api.spec import openapi_document
from energy_data import __version__
from database.pool import Pool


class _Api(Api):
    def handle_error(self, e):
        raise e  # answer through the app's error handlers: one JSON error shape everywhere


def create_app(database_url: str | None = None, boundaries=None) -> Flask:
    """The application factory. The database comes from `database_url`, else DATABASE_URL, else
    the embedded server; boundaries from ENERGY_DATA_BOUNDARIES unless given (tests)."""
    from api.location import Locator
    from api.routes import ROUTES

    app = Flask(__name__)
    app.json.sort_keys = False
    pool = Pool(database_url)
    app.config["POOL"] = pool
    app.config["LOCATOR"] = Locator(pool) if boundaries is None else Locator(pool, boundaries)
    api = _Api(app)
    for resource in ROUTES:
        api.add_resource(resource, resource.spec.rule, strict_slashes=False)
    app.config["OPENAPI"] = openapi_document([r.spec for r in ROUTES], __version__)
    install_error_handlers(app)
    metrics.install(app)
    access.install(app, pool)
    return app
