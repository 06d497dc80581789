"""POST /emissions/forecasts/batch: forecasts as they were issued at past times."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.routes.carbon_aware_sdk import FORECAST_ERRORS, TAG, SdkEmissionsForecast
from api.services import carbon_aware_sdk as sdk
from api.spec import Endpoint


class ForecastRequest(Schema):
    requestedAt = sdk.SdkTime(required=True, metadata={"description": "when the forecast is issued"})
    location = fields.String(required=True, validate=validate.Length(min=1, max=200))
    dataStartAt = sdk.SdkTime()
    dataEndAt = sdk.SdkTime()
    windowSize = fields.Integer(validate=validate.Range(0, 72 * 60))


class BatchForecast(Resource):
    spec = Endpoint("/emissions/forecasts/batch", "Historical forecasts (Carbon Aware SDK)",
                    SdkEmissionsForecast(many=True), tags=(TAG,), errors=FORECAST_ERRORS, error_schema="ProblemDetails", error_media_type="application/problem+json",
                    method="post", body=ForecastRequest(many=True),
                    description="For each request, the forecast issued at requestedAt from the data before it. At most "
                                f"{sdk.MAX_BATCH} requests, and {sdk.MAX_BATCH_FORECASTS} different forecasts (location "
                                "and requestedAt hour), per batch; the body is at most 1 MB.")

    def post(self):
        requests = sdk.parse_body(ForecastRequest())
        made = sdk.forecasts(requests)
        return sdk.json_answer([sdk.forecast_answer(forecast, r["requestedAt"], r.get("dataStartAt"),
                                                    r.get("dataEndAt"), r.get("windowSize"))
                                for forecast, r in zip(made, requests)])
