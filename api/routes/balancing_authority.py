"""GET /balancing-authority/: the grid region at a point (or a cloud region)."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields

from api.answers import RegionDoc, json_answer, region_doc, utc_now
from api.params import LocationArgs
from api.services import locator, pool
from api.spec import Endpoint
from database.regions import all_series


class BalancingAuthorityAnswer(Schema):
    region = fields.Nested(RegionDoc, required=True)
    method = fields.String(required=True, metadata={
        "description": "how the region was found: boundaries (offline point-in-polygon), watttime, or region"})
    latitude = fields.Float(allow_none=True, required=True)
    longitude = fields.Float(allow_none=True, required=True)
    cloud_location = fields.String(allow_none=True, required=True)


class BalancingAuthority(Resource):
    spec = Endpoint(
        "/balancing-authority/", "The grid region at a point", BalancingAuthorityAnswer, LocationArgs,
        description="Offline point-in-polygon over balancing-authority boundaries; latitude+longitude, or "
                    "location=provider:name for a cloud region.",
        tags=("regions",),
        errors={404: "No region at the point, or unknown location", 503: "Boundaries not installed"})

    def get(self):
        lookup = locator()
        located = lookup.locate(self.spec.parse())
        region = lookup.region(located.region)
        with pool().cursor() as cur:
            series = all_series(cur, located.region)
        return json_answer({"region": region_doc(region, series, utc_now()), "method": located.method,
                            "latitude": located.latitude, "longitude": located.longitude,
                            "cloud_location": located.cloud_location})
