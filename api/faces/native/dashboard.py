"""GET /: the dashboard page, and the two assets it needs that are not plain static files:
the plotly.js bundle shipped inside the `plotly` package (served from the installed package,
so the page works offline and the repository holds no copy of it) and the installed region
boundaries as GeoJSON for the map. The page reads only the public JSON API otherwise; its
own script and style are static files under api/static/dashboard/."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from flask import Response, send_file
from flask_restful import Resource
from marshmallow import Schema, fields

from api.faces.http import core, json_answer
from api.faces.spec import Endpoint
from api.services.boundaries import BoundariesError

PAGE = Path(__file__).resolve().parents[2] / "static" / "dashboard" / "index.html"


class Dashboard(Resource):
    spec = Endpoint("/", "The dashboard: intensity, mix, forecast and freshness in a browser", None,
                    description="A page drawing the JSON API's answers (regions, carbon intensity, energy mix, "
                                "forecast, sources) with plotly.js served locally.",
                    tags=("dashboard",), media_type="text/html")

    def get(self):
        self.spec.parse()
        return Response(PAGE.read_bytes(), mimetype="text/html")


def plotly_bundle() -> Path:
    """plotly.min.js inside the installed `plotly` package (pinned in requirements.txt)."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


class PlotlyBundle(Resource):
    spec = Endpoint("/dashboard/plotly.min.js", "The plotly.js bundle the dashboard draws with", None,
                    description="Served from the installed `plotly` Python package, so that no CDN is needed.",
                    tags=("dashboard",), media_type="application/javascript")

    def get(self):
        self.spec.parse()
        return send_file(plotly_bundle(), mimetype="application/javascript", max_age=86400, conditional=True)


class BoundariesAnswer(Schema):
    type = fields.String(required=True, metadata={"description": "FeatureCollection"})
    features = fields.List(fields.Dict(), required=True, metadata={
        "description": "GeoJSON features: properties.id is the region code, geometry a (Multi)Polygon"})
    note = fields.String(metadata={"description": "why there are no features, when there are none"})


class RegionBoundaries(Resource):
    spec = Endpoint("/dashboard/boundaries.geojson", "Region boundaries for the dashboard's map", BoundariesAnswer,
                    description="The installed balancing-authority boundaries, one simplified feature per region "
                                "(property `id`: the region code); no features when none are installed.",
                    tags=("dashboard",), media_type="application/geo+json")

    def get(self):
        self.spec.parse()
        response = json_answer(_region_features())
        response.mimetype = "application/geo+json"
        return response


def _region_features() -> dict:
    """The installed boundaries as a FeatureCollection of region outlines (built once per file)."""
    try:
        boundaries = core().locator.boundaries()
    except BoundariesError as exc:
        return {"type": "FeatureCollection", "features": [], "note": str(exc)}
    if boundaries is None:
        return {"type": "FeatureCollection", "features": [],
                "note": "no boundaries installed: run `make boundaries` or set ENERGY_DATA_BOUNDARIES"}
    return {"type": "FeatureCollection", "features": boundaries.outlines()}
