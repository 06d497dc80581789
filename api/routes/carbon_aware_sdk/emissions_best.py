"""GET /emissions/bylocations/best: the lowest-carbon intervals among locations and times."""
from __future__ import annotations

from flask_restful import Resource

from api.routes.carbon_aware_sdk import ERRORS, NO_DATA, TAG, SdkEmissionsData
from api.routes.carbon_aware_sdk.emissions_by_locations import ByLocationsArgs
from api.services import carbon_aware_sdk as sdk
from api.spec import Endpoint


class BestEmissions(Resource):
    spec = Endpoint("/emissions/bylocations/best", "Best location and time (Carbon Aware SDK)",
                    SdkEmissionsData(many=True), ByLocationsArgs, tags=(TAG,), errors=ERRORS,
                    error_schema="ProblemDetails", error_media_type="application/problem+json",
                    no_content=NO_DATA,
                    description="The intervals with the lowest rating over every location and [time, toTime] "
                                "(all of them when several tie); 204 when there is no data.")

    def get(self):
        args = sdk.parse_query(ByLocationsArgs())
        start, end = sdk.emissions_range(args)
        return sdk.json_or_no_content(sdk.best_emissions_data(sdk.emissions(args["location"], start, end)))
