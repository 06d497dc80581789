"""GET /carbon-intensity/latest/: the newest carbon intensity of every region, in one answer (the
dashboard's map shades every region by it; one /carbon-intensity/ request per region was ~70)."""
from __future__ import annotations

from datetime import datetime

from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.faces.http import core, json_answer
from api.faces.spec import Endpoint
from api.models.times import iso, utc_now
from api.services.intensity import NewestIntensity, latest
from api.services.regions import Series


class LatestArgs(Schema):
    emission_factor_type = fields.String(load_default="lifecycle", validate=validate.OneOf(["lifecycle", "direct"]),
                                         metadata={"description": "lifecycle (with upstream emissions) or direct "
                                                                  "(combustion only) emission factors"})


class LatestPoint(Schema):
    region = fields.String(required=True, metadata={"description": "canonical region id"})
    source = fields.String(required=True, metadata={"description": "the region's default source (as in /regions/)"})
    interval_minutes = fields.Integer(required=True)
    timestamp = fields.String(allow_none=True, required=True, metadata={
        "description": "start (UTC) of the source's newest interval with a known intensity; null when it has none"})
    carbon_intensity = fields.Float(allow_none=True, required=True, metadata={"description": "gCO2eq/kWh"})
    estimated = fields.Boolean(allow_none=True, required=True, metadata={
        "description": "the interval holds an estimate (see /carbon-intensity/)"})
    stale = fields.Boolean(required=True, metadata={"description": "the source's newest data is older than its "
                                                                   "feed's threshold: not a current value"})


class LatestAnswer(Schema):
    emission_factor_type = fields.String(required=True)
    unit = fields.String(required=True)
    regions = fields.List(fields.Nested(LatestPoint), required=True, metadata={
        "description": "every region with data, by id"})


class LatestCarbonIntensity(Resource):
    spec = Endpoint("/carbon-intensity/latest/", "The newest carbon intensity of every region", LatestAnswer,
                    LatestArgs, tags=("carbon intensity",),
                    description="For each region with data: the newest interval (starting now or earlier) of its "
                                "default source, with regional factors, as /carbon-intensity/ answers it for that "
                                "interval. One request for a map of every region.")

    def get(self):
        args = self.spec.parse()
        now = utc_now()
        return json_answer({"emission_factor_type": args["emission_factor_type"], "unit": "gCO2eq/kWh",
                            "regions": [_point(s, newest, now)
                                        for s, newest in latest(core().pool, args["emission_factor_type"], now)]})


def _point(series: Series, newest: NewestIntensity | None, now: datetime) -> dict:
    return {"region": series.region, "source": series.source,
            "interval_minutes": newest.interval_minutes if newest else series.interval_minutes,
            "timestamp": iso(newest.ts) if newest else None,
            "carbon_intensity": newest.carbon_intensity if newest else None,
            "estimated": newest.estimated if newest else None, "stale": not series.fresh(now)}
