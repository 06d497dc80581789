"""GET /emissions/forecasts/current: the current forecast of each location, rolled over a window."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.routes.carbon_aware_sdk import FORECAST_ERRORS, TAG, SdkEmissionsForecast
from api.services import carbon_aware_sdk as sdk
from api.spec import Endpoint


class CurrentForecastArgs(Schema):
    location = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                           validate=validate.Length(min=1, max=20))
    dataStartAt = sdk.SdkTime(metadata={"description": "first time considered (default: the forecast's start)"})
    dataEndAt = sdk.SdkTime(metadata={"description": "last time considered (default: the forecast's end)"})
    windowSize = fields.Integer(validate=validate.Range(0, 72 * 60), metadata={
        "description": "minutes of the workload: forecastData holds the mean over each such window"})


class CurrentForecast(Resource):
    spec = Endpoint("/emissions/forecasts/current", "Current forecasts (Carbon Aware SDK)",
                    SdkEmissionsForecast(many=True), CurrentForecastArgs, tags=(TAG,), errors=FORECAST_ERRORS,
                    error_schema="ProblemDetails", error_media_type="application/problem+json",
                    description="The project's hourly forecast issued now for each location; with windowSize, "
                                "the rolling mean over windows of that many minutes, and the optimal windows.")

    def get(self):
        args = sdk.parse_query(CurrentForecastArgs())
        return sdk.json_answer([sdk.forecast_answer(sdk.forecast(location, None), None, args.get("dataStartAt"),
                                                    args.get("dataEndAt"), args.get("windowSize"))
                                for location in args["location"]])
