"""GET /legacy/carbon-intensity/: the original's carbon intensity over a padded window."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from api.faces.http import core, json_answer
from api.faces.legacy.errors import ERROR_SCHEMA
from api.faces.legacy.schemas import ERRORS, TAG, as_utc, coordinate_field, holds, parse_query, time_field
from api.faces.spec import Endpoint
from api.models.times import utc_now
from api.services.legacy import (CARBON_DATA_SOURCES, ISO_FORMAT_OF_SOURCE, forecast_intensities,
                                 measured_intensities, names, region_of_iso)


class LegacyCarbonIntensityArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    start = time_field("Start of the window: the point at or before it is included")
    end = time_field("End of the window: the point at or after it is included")
    carbon_data_source = fields.String(load_default="c3lab", validate=validate.OneOf(
        CARBON_DATA_SOURCES, error=f"Must be one of {', '.join(CARBON_DATA_SOURCES)}."), metadata={
        "description": "c3lab: our data; emap: imported Electricity Maps data (400 where none is stored); "
                       "azure: our forecast, for windows reaching the future"})
    use_prediction = fields.Boolean(load_default=False, metadata={
        "description": "answer from our forecast (the window must reach the future)"})
    desired_renewable_ratio = fields.Float(load_default=None, validate=holds(lambda r: 0.0 <= r <= 1.0), metadata={
        "description": "0..1: each point's intensity as if renewables had this share of generation (c3lab, past "
                       "data only); 0 answers the measured values, as in the original"})
    latitude = coordinate_field("latitude", 90.0, required=False)
    longitude = coordinate_field("longitude", 180.0, required=False)
    iso = fields.String(load_default=None, validate=holds(lambda name: ":" in name), metadata={
        "description": "a region as prefix:name, instead of coordinates: watttime:CAISO_NORTH, c3lab:US-CAISO, "
                       "emap:US-CAL-CISO"})

    @validates_schema
    def _location(self, data: dict, **kwargs) -> None:
        if data.get("iso") is None and (data.get("latitude") is None or data.get("longitude") is None):
            raise ValidationError({"iso": "iso must be specified if latitude and longitude are not specified"})


class LegacyCarbonIntensityRequest(Schema):
    start = fields.String(required=True, metadata={"description": "as given (no offset if none was given)"})
    end = fields.String(required=True)
    carbon_data_source = fields.String(required=True)
    use_prediction = fields.Boolean(required=True)
    desired_renewable_ratio = fields.Float(allow_none=True, required=True)
    latitude = fields.Float(allow_none=True, required=True)
    longitude = fields.Float(allow_none=True, required=True)
    iso = fields.String(allow_none=True, required=True)


class LegacyIntensityPoint(Schema):
    timestamp = fields.String(required=True, metadata={"description": "interval start, UTC"})
    carbon_intensity = fields.Float(allow_none=True, required=True, metadata={"description": "gCO2eq/kWh"})
    renewable_ratio = fields.Float(allow_none=True, metadata={"description": "c3lab only"})


class LegacyCarbonIntensityAnswer(Schema):
    request = fields.Nested(LegacyCarbonIntensityRequest, required=True)
    region = fields.String(allow_none=True, required=True, metadata={
        "description": "the original's region name for coordinates; null when iso was given"})
    iso = fields.String(required=True)
    carbon_intensities = fields.List(fields.Nested(LegacyIntensityPoint), required=True)


class LegacyCarbonIntensity(Resource):
    spec = Endpoint(
        "/legacy/carbon-intensity/", "The original's /carbon-intensity/", LegacyCarbonIntensityAnswer,
        LegacyCarbonIntensityArgs, tags=(TAG,), errors=ERRORS, error_schema=ERROR_SCHEMA,
        description="Intensity (gCO2eq/kWh, lifecycle factors) from the point at or before start to the one "
                    "at or after end, in the original's shape. Native equivalents: /carbon-intensity/ and "
                    "/carbon-intensity/forecast/.")

    def get(self):
        args = parse_query(LegacyCarbonIntensityArgs)
        source = args["carbon_data_source"]
        locator = core().locator
        if args["iso"] is not None:
            iso, region_name = args["iso"], None
            region = names(locator, region_of_iso(locator, iso))
        else:
            point = (args["latitude"], args["longitude"])
            region = names(locator, locator.resolve(point).region, *point)
            iso, region_name = region.iso(ISO_FORMAT_OF_SOURCE[source]), region.c3lab
        start, end, now = as_utc(args["start"]), as_utc(args["end"]), utc_now()
        # The forecast answers use_prediction, and azure for windows reaching the future.
        predict = args["use_prediction"] or (source == "azure" and end > now)
        read = forecast_intensities if predict else measured_intensities
        label = region_name or iso.partition(":")[2]  # how error messages name the region
        points = read(core().pool, region.code, label, source, start, end, args["desired_renewable_ratio"], now)
        return json_answer({
            "request": {"start": args["start"].isoformat(), "end": args["end"].isoformat(),
                        "carbon_data_source": source, "use_prediction": args["use_prediction"],
                        "desired_renewable_ratio": args["desired_renewable_ratio"], "latitude": args["latitude"],
                        "longitude": args["longitude"], "iso": args["iso"]},
            "region": region_name,
            "iso": iso,
            "carbon_intensities": points,
        }, None if predict else end)
