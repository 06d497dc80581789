"""energy-data REST API: `gunicorn 'api:create_app()'`."""
from __future__ import annotations

from flask import Flask

from api import access, faces, metrics
from api.faces import http
from api.faces.spec import openapi_document
from api.services import Services
from api.services.location import Locator
from database.pool import Pool
from energy_data import __version__

# The API's sessions refuse writes (database/pool.py): no request stores anything (issued
# forecasts and their measured error come from the hourly `python -m api.forecasts`).
READ_ONLY_SESSIONS = True


def create_app(database_url: str | None = None, boundaries=None) -> Flask:
    """The application factory. The database comes from `database_url`, else DATABASE_URL, else
    the embedded server; boundaries from ENERGY_DATA_BOUNDARIES unless given (tests)."""
    app = Flask(__name__)
    app.json.sort_keys = False
    pool = Pool(database_url, read_only=READ_ONLY_SESSIONS)
    locator = Locator(pool) if boundaries is None else Locator(pool, boundaries)
    http.install(app, Services(pool, locator), access.document(openapi_document(faces.FACES, __version__)))
    faces.register(app)
    metrics.install(app)
    access.install(app, pool)
    return app
