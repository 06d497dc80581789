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
        "description": "how the region was found: boundaries (offline point-in-polygon), watttime, region, "
                       "or cloud (the cloud-region catalogue's stored grid zone)"})
    latitude = fields.Float(allow_none=True, required=True)
    longitude = fields.Float(allow_none=True, required=True)
    cloud_location = fields.String(allow_none=True, required=True)


class BalancingAuthority(Resource):
    spec = Endpoint(
        "/balancing-authority/", "The grid region at a point", BalancingAuthorityAnswer, LocationArgs,
        description="Offline point-in-polygon over the installed boundaries (balancing authorities in the US, "
                    "countries and bidding zones elsewhere) for latitude+longitude; location=provider:name (or "
                    "a bare name such as westeurope) for a cloud region, answered from its catalogued grid zone.",
        tags=("regions",),
        errors={404: "No region at the point, unknown location, or a zone not covered here",
                503: "Boundaries not installed (coordinates only)"})

    def get(self):
        lookup = locator()
        located = lookup.locate(self.spec.parse())
        region = lookup.region(located.region)
        with pool().cursor() as cur:
            series = all_series(cur, located.region)
        return json_answer({"region": region_doc(region, series, utc_now()), "method": located.method,
                            "latitude": located.latitude, "longitude": located.longitude,
                            "cloud_location": located.cloud_location})
