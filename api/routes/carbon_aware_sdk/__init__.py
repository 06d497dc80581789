"""The Carbon Aware SDK's web API at its own paths (no prefix: an SDK client needs only our base
URL), one resource per module; answers and errors built by api/services/carbon_aware_sdk.py."""
from __future__ import annotations

from marshmallow import Schema, fields

from api.spec import EXTRA_ERROR_SCHEMAS

TAG = "Carbon Aware SDK"
ERRORS = {400: "Invalid or missing parameter (RFC 7807 problem details)"}
FORECAST_ERRORS = {**ERRORS, 404: "No history to forecast the location from"}
NO_DATA = "No data for the locations and range"
SDK_PREFIXES = ("/emissions", "/locations")


class ProblemDetails(Schema):
    type = fields.String()
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


EXTRA_ERROR_SCHEMAS["ProblemDetails"] = ProblemDetails


class SdkEmissionsData(Schema):
    location = fields.String(required=True, metadata={"description": "the location as asked for"})
    time = fields.String(required=True, metadata={"description": "interval start, UTC"})
    rating = fields.Float(required=True, metadata={"description": "lifecycle carbon intensity, gCO2eq/kWh"})
    duration = fields.String(required=True, metadata={"description": "interval length as a .NET TimeSpan, hh:mm:ss"})


class SdkForecastPoint(Schema):
    location = fields.String(required=True)
    timestamp = fields.String(required=True)
    duration = fields.Integer(required=True, metadata={"description": "minutes"})
    value = fields.Float(required=True, metadata={"description": "gCO2eq/kWh"})


class SdkEmissionsForecast(Schema):
    generatedAt = fields.String(required=True)
    requestedAt = fields.String(required=True)
    location = fields.String(required=True)
    dataStartAt = fields.String(required=True)
    dataEndAt = fields.String(required=True)
    windowSize = fields.Integer(required=True)
    optimalDataPoints = fields.List(fields.Nested(SdkForecastPoint), required=True)
    forecastData = fields.List(fields.Nested(SdkForecastPoint), required=True)


class SdkCarbonIntensity(Schema):
    location = fields.String(required=True)
    startTime = fields.String(required=True)
    endTime = fields.String(required=True)
    carbonIntensity = fields.Float(required=True)


class CaseInsensitiveSdkPaths:
    """WSGI middleware: the SDK's ASP.NET routing ignores case (/emissions/byLocation), ours does
    not, so SDK paths are lower-cased before routing."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.lower().startswith(SDK_PREFIXES):
            environ["PATH_INFO"] = path.lower()
        return self.app(environ, start_response)


def _routes() -> tuple:
    """The SDK's resources (imported here, after the shared schemas they use are defined)."""
    from api.routes.carbon_aware_sdk.average_carbon_intensity import AverageCarbonIntensity
    from api.routes.carbon_aware_sdk.average_carbon_intensity_batch import AverageCarbonIntensityBatch
    from api.routes.carbon_aware_sdk.emissions_best import BestEmissions
    from api.routes.carbon_aware_sdk.emissions_by_location import EmissionsByLocation
    from api.routes.carbon_aware_sdk.emissions_by_locations import EmissionsByLocations
    from api.routes.carbon_aware_sdk.forecasts_batch import BatchForecast
    from api.routes.carbon_aware_sdk.forecasts_current import CurrentForecast
    from api.routes.carbon_aware_sdk.locations import Locations
    return (EmissionsByLocation, EmissionsByLocations, BestEmissions, CurrentForecast, BatchForecast,
            AverageCarbonIntensity, AverageCarbonIntensityBatch, Locations)


SDK_ROUTES = _routes()
