"""GET /emissions/bylocations: the SDK's emissions data of several locations over a time range."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.routes.carbon_aware_sdk import ERRORS, NO_DATA, TAG, SdkEmissionsData
from api.services import carbon_aware_sdk as sdk
from api.spec import Endpoint


class ByLocationsArgs(Schema):
    location = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                           validate=validate.Length(min=1, max=50), metadata={
                               "description": "repeat for each location: location=eastus&location=westus"})
    time = sdk.SdkTime(metadata={"description": "start (default now); without an offset: UTC"})
    toTime = sdk.SdkTime(metadata={"description": "end (default: the instant `time`)"})


class EmissionsByLocations(Resource):
    spec = Endpoint("/emissions/bylocations", "Emissions data of several locations (Carbon Aware SDK)",
                    SdkEmissionsData(many=True), ByLocationsArgs, tags=(TAG,), errors=ERRORS,
                    error_schema="ProblemDetails", error_media_type="application/problem+json",
                    no_content=NO_DATA,
                    description="Every interval overlapping [time, toTime] in each location; 204 when there is none.")

    def get(self):
        args = sdk.parse_query(ByLocationsArgs())
        start, end = sdk.emissions_range(args)
        return sdk.json_or_no_content(sdk.all_emissions_data(sdk.emissions(args["location"], start, end)))
