"""GET /balancing-authority/: the grid region at a point (or a cloud region)."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields

from api.faces.http import core, json_answer
from api.faces.native.answers import RegionDoc, region_doc
from api.faces.native.params import LocationArgs, locate
from api.faces.spec import Endpoint
from api.models.times import utc_now
from api.services.regions import series_of


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
        located = locate(self.spec.parse())
        region = core().locator.region(located.region)
        series = series_of(core().pool, located.region)
        return json_answer({"region": region_doc(region, series, utc_now()), "method": located.method,
                            "latitude": located.latitude, "longitude": located.longitude,
                            "cloud_location": located.cloud_location})
