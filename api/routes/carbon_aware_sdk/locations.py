"""GET /locations: every location name the SDK routes accept, with its coordinates."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields

from api.routes.carbon_aware_sdk import NO_DATA, TAG
from api.services import carbon_aware_sdk as sdk
from api.spec import Endpoint


class SdkLocation(Schema):
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    name = fields.String(required=True)


class Locations(Resource):
    spec = Endpoint("/locations", "Locations (Carbon Aware SDK)", None, tags=(TAG,), no_content=NO_DATA,
                    description="An object keyed by cloud region name (Azure, AWS, Google Cloud), each "
                                "{latitude, longitude, name}; our region ids and aliases are accepted too.")

    def get(self):
        return sdk.json_or_no_content(sdk.all_locations())
