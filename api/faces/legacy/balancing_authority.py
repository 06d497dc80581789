"""GET /legacy/balancing-authority/: the original's region lookup from coordinates."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import EXCLUDE, Schema, fields

from api.faces.http import core, json_answer
from api.faces.legacy.errors import ERROR_SCHEMA
from api.faces.legacy.schemas import ERRORS, TAG, coordinate_field, iso_format_field, parse_query
from api.faces.spec import Endpoint
from api.services.legacy import names


class LegacyBalancingAuthorityArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    latitude = coordinate_field("latitude", 90.0, required=True)
    longitude = coordinate_field("longitude", 180.0, required=True)
    iso_format = iso_format_field()


class LegacyPoint(Schema):
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)


class LegacyBalancingAuthorityAnswer(Schema):
    request = fields.Nested(LegacyPoint, required=True)
    watttime_abbrev = fields.String(metadata={"description": "not with iso_format=emap"})
    watttime_name = fields.String(metadata={"description": "not with iso_format=emap"})
    iso = fields.String(required=True, metadata={"description": "e.g. watttime:CAISO_NORTH, c3lab:US-CAISO, "
                                                                 "emap:US-CAL-CISO"})
    region = fields.String(metadata={"description": "the original's region name, e.g. US-CAISO; not with "
                                                    "iso_format=emap"})


class LegacyBalancingAuthority(Resource):
    spec = Endpoint(
        "/legacy/balancing-authority/", "The original's /balancing-authority/", LegacyBalancingAuthorityAnswer,
        LegacyBalancingAuthorityArgs, tags=(TAG,), errors=ERRORS, error_schema=ERROR_SCHEMA,
        description="The region at a point in the original's shape. Native equivalent: /balancing-authority/. "
                    "WattTime splits some ISOs into sub-regions that only its own lookup tells apart; "
                    "watttime_abbrev then names one representative sub-region of the ISO.")

    def get(self):
        args = parse_query(LegacyBalancingAuthorityArgs)
        point = (args["latitude"], args["longitude"])
        region = names(core().locator, core().locator.resolve(point).region, *point)
        asked = {"request": {"latitude": args["latitude"], "longitude": args["longitude"]}}
        if args["iso_format"] == "emap":
            return json_answer({**asked, "iso": region.iso("emap")})
        return json_answer({**asked, "watttime_abbrev": region.watttime, "watttime_name": region.watttime_name,
                            "iso": region.iso(args["iso_format"]), "region": region.c3lab})
