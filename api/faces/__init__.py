"""The API's three faces, each an adapter over the HTTP-free core (api/services/): it parses and
validates requests, calls the core with plain values, shapes the answers, and renders the one
DomainError in its own format.

- native/: the API of this project (README, /openapi.json);
- carbon_aware_sdk.py: the Green Software Foundation's Carbon Aware SDK web API, at its paths;
- legacy/: the original service's API, under /legacy/.

Each face is one Flask blueprint, so that its error handlers answer for its own resources only;
what no face answers (unknown paths, the database down outside a legacy route, bugs) answers in
the native format (native/errors.py)."""
from __future__ import annotations

from flask import Blueprint, Flask
from flask_restful import Api

from api.faces import carbon_aware_sdk, legacy, native
from api.faces.native import errors as native_errors
from api.faces.spec import Face

FACES: tuple[Face, ...] = (native.FACE, carbon_aware_sdk.FACE, legacy.FACE)
ROUTES = tuple(route for face in FACES for route in face.routes)


class _Api(Api):
    def handle_error(self, e):
        raise e  # answer through the faces' and the app's error handlers, not Flask-RESTful's


def register(app: Flask) -> None:
    """Every face's resources, each face with its error handlers, and the app-wide ones."""
    for face in FACES:
        blueprint = Blueprint(face.name, __name__)
        api = _Api(blueprint)
        for resource in face.routes:
            api.add_resource(resource, resource.spec.rule, strict_slashes=False)
        for error, handler in face.handlers.items():
            blueprint.register_error_handler(error, handler)
        app.register_blueprint(blueprint)
    native_errors.install(app)
    app.wsgi_app = carbon_aware_sdk.CaseInsensitiveSdkPaths(app.wsgi_app)
