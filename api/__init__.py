"""energy-data REST API: `gunicorn 'api:create_app()'`."""
from __future__ import annotations

from flask import Flask
from flask_restful import Api

from api import access, metrics, services
from api.errors import install_error_handlers
from api.routes.carbon_aware_sdk import CaseInsensitiveSdkPaths
from api.services.carbon_aware_sdk import SdkProblem
from api.services.location import Locator
from api.spec import openapi_document
from energy_data import __version__
from database.pool import Pool


# The API's sessions refuse writes (database/pool.py) once no GET stores an issued forecast any
# more (the hardening issue); until then only the energy_reader role (API_DATABASE_URL on a
# deployed host, and the embedded server) makes them read-only.
READ_ONLY_SESSIONS = False


class _Api(Api):
    def handle_error(self, e):
        raise e  # answer through the app's error handlers: one JSON error shape everywhere


def create_app(database_url: str | None = None, boundaries=None) -> Flask:
    """The application factory. The database comes from `database_url`, else DATABASE_URL, else
    the embedded server; boundaries from ENERGY_DATA_BOUNDARIES unless given (tests)."""
    from api.routes import ROUTES

    app = Flask(__name__)
    app.json.sort_keys = False
    pool = Pool(database_url, read_only=READ_ONLY_SESSIONS)
    locator = Locator(pool) if boundaries is None else Locator(pool, boundaries)
    document = access.document(openapi_document([r.spec for r in ROUTES], __version__))
    services.install(app, services.Services(pool, locator, document))
    api = _Api(app)
    for resource in ROUTES:
        api.add_resource(resource, resource.spec.rule, strict_slashes=False)
    install_error_handlers(app)
    app.register_error_handler(SdkProblem, SdkProblem.response)
    app.wsgi_app = CaseInsensitiveSdkPaths(app.wsgi_app)
    metrics.install(app)
    access.install(app, pool)
    return app
