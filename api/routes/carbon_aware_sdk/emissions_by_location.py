"""GET /emissions/bylocation: the SDK's emissions data of one location over a time range."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.routes.carbon_aware_sdk import ERRORS, NO_DATA, TAG, SdkEmissionsData
from api.services import carbon_aware_sdk as sdk
from api.spec import Endpoint


class ByLocationArgs(Schema):
    location = fields.String(required=True, validate=validate.Length(min=1), metadata={
        "description": "eastus, us-east-1, aws:us-west-2, or a region id or alias (CISO, US-CAL-CISO)"})
    time = sdk.SdkTime(metadata={"description": "start (default now); without an offset: UTC"})
    toTime = sdk.SdkTime(metadata={"description": "end (default: the instant `time`)"})


class EmissionsByLocation(Resource):
    spec = Endpoint("/emissions/bylocation", "Emissions data of a location (Carbon Aware SDK)",
                    SdkEmissionsData(many=True), ByLocationArgs, tags=(TAG,), errors=ERRORS,
                    error_schema="ProblemDetails", error_media_type="application/problem+json",
                    no_content=NO_DATA,
                    description="Every interval overlapping [time, toTime]; 204 when there is none.")

    def get(self):
        args = sdk.parse_query(ByLocationArgs())
        start, end = sdk.emissions_range(args)
        answer = sdk.all_emissions_data(sdk.emissions([args["location"]], start, end))
        return sdk.json_or_no_content(answer)
