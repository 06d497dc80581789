"""POST /emissions/average-carbon-intensity/batch: several averages in one request."""
from __future__ import annotations

from flask_restful import Resource

from api.routes.carbon_aware_sdk import ERRORS, TAG, SdkCarbonIntensity
from api.routes.carbon_aware_sdk.average_carbon_intensity import AverageArgs
from api.services import carbon_aware_sdk as sdk
from api.spec import Endpoint


class AverageCarbonIntensityBatch(Resource):
    spec = Endpoint("/emissions/average-carbon-intensity/batch", "Average carbon intensities (Carbon Aware SDK)",
                    SdkCarbonIntensity(many=True), tags=(TAG,), errors=ERRORS, error_schema="ProblemDetails", error_media_type="application/problem+json",
                    method="post", body=AverageArgs(many=True),
                    description="For each {location, startTime, endTime}, the time-weighted mean intensity.")

    def post(self):
        return sdk.json_answer([sdk.average_answer(r["location"], r["startTime"], r["endTime"])
                                for r in sdk.parse_body(AverageArgs())])
