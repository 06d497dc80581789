"""GET /legacy/energy-mixture/: the original's power by fuel type at coordinates."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import EXCLUDE, Schema, fields

from api.faces.http import core, json_answer
from api.faces.legacy.errors import ERROR_SCHEMA
from api.faces.legacy.schemas import ERRORS, TAG, as_utc, coordinate_field, iso_format_field, parse_query, time_field
from api.faces.spec import Endpoint
from api.models.times import utc_now
from api.services.legacy import names, power_by_fuel_type


class LegacyEnergyMixtureArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    latitude = coordinate_field("latitude", 90.0, required=True)
    longitude = coordinate_field("longitude", 180.0, required=True)
    start = time_field("Start of the window (closed)")
    end = time_field("End of the window (closed)")
    iso_format = iso_format_field()


class LegacyEnergyMixtureRequest(Schema):
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    start = fields.String(required=True, metadata={"description": "as given (no offset if none was given)"})
    end = fields.String(required=True)


class LegacyFuelPower(Schema):
    type = fields.String(required=True, metadata={"description": "fuel: coal, gas, oil, nuclear, hydro, wind, "
                                                                  "solar, geothermal, biomass, battery, ..."})
    power_mw = fields.Float(required=True)


class LegacyMixture(Schema):
    timestamp = fields.String(required=True, metadata={"description": "interval start, UTC"})
    values = fields.List(fields.Nested(LegacyFuelPower), required=True)


class LegacyEnergyMixtureAnswer(Schema):
    request = fields.Nested(LegacyEnergyMixtureRequest, required=True)
    iso = fields.String(required=True)
    region = fields.String(required=True)
    power_by_fuel_type = fields.List(fields.Nested(LegacyMixture), required=True)


class LegacyEnergyMixture(Resource):
    spec = Endpoint(
        "/legacy/energy-mixture/", "The original's /energy-mixture/", LegacyEnergyMixtureAnswer,
        LegacyEnergyMixtureArgs, tags=(TAG,), errors=ERRORS, error_schema=ERROR_SCHEMA,
        description="MW by fuel of every interval starting in [start, end] (both ends included), up to 31 "
                    "days. Native equivalent: /energy-mixture/.")

    def get(self):
        args = parse_query(LegacyEnergyMixtureArgs)
        point = (args["latitude"], args["longitude"])
        region = names(core().locator, core().locator.resolve(point).region, *point)
        mixture = power_by_fuel_type(core().pool, region.code, region.c3lab, as_utc(args["start"]),
                                     as_utc(args["end"]), utc_now())
        return json_answer({
            "request": {"latitude": args["latitude"], "longitude": args["longitude"],
                        "start": args["start"].isoformat(), "end": args["end"].isoformat()},
            "iso": region.iso(args["iso_format"]),
            "region": region.c3lab,
            "power_by_fuel_type": mixture,
        }, as_utc(args["end"]))
