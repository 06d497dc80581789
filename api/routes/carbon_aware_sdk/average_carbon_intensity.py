"""GET /emissions/average-carbon-intensity: time-weighted mean intensity of a location over a range."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.routes.carbon_aware_sdk import ERRORS, TAG, SdkCarbonIntensity
from api.services import carbon_aware_sdk as sdk
from api.spec import Endpoint


class AverageArgs(Schema):
    location = fields.String(required=True, validate=validate.Length(min=1, max=200))
    startTime = sdk.SdkTime(required=True)
    endTime = sdk.SdkTime(required=True)


class AverageCarbonIntensity(Resource):
    spec = Endpoint("/emissions/average-carbon-intensity", "Average carbon intensity (Carbon Aware SDK)",
                    SdkCarbonIntensity, AverageArgs, tags=(TAG,), errors=ERRORS, error_schema="ProblemDetails", error_media_type="application/problem+json",
                    description="The mean over [startTime, endTime), each interval weighted by its overlap; 400 "
                                "when the data does not cover the range.")

    def get(self):
        args = sdk.parse_query(AverageArgs())
        return sdk.json_answer(sdk.average_answer(args["location"], args["startTime"], args["endTime"]))
