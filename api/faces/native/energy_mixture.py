"""GET /energy-mixture/: generation by fuel per interval for a region over a time range."""
from __future__ import annotations

from datetime import timedelta

from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.faces.http import core, json_answer
from api.faces.native.answers import CoverageDoc, coverage
from api.faces.native.params import TimeRangeArgs, locate, require_range
from api.faces.spec import Endpoint
from api.models.times import iso, utc_now
from api.services import intensity

CAP = timedelta(days=31)


class EnergyMixtureArgs(TimeRangeArgs):
    source = fields.String(validate=validate.Length(min=1, max=32), metadata={
        "description": "crawler source to answer from; default: the finest source covering the range"})
    estimated = fields.Boolean(load_default=True, metadata={
        "description": "true (default): intervals with an estimated fuel included, flagged; false: measured "
                       "intervals only"})


class Mixture(Schema):
    timestamp = fields.String(required=True, metadata={"description": "interval start, UTC"})
    fuels = fields.Dict(keys=fields.String(), values=fields.Float(), required=True, metadata={
        "description": "MW by fuel (coal, gas, oil, nuclear, hydro, wind, solar, geothermal, biomass, battery, "
                       "hydro_storage, other, unknown); storage is negative while charging"})
    total_generation_mw = fields.Float(required=True, metadata={
        "description": "non-negative generation without storage: the intensity's denominator"})
    net_import_mw = fields.Float(allow_none=True, required=True, metadata={
        "description": "imports minus exports, where the source reports them"})
    estimated = fields.Boolean(required=True, metadata={
        "description": "a fuel of the interval is estimated: the source did not report it, or its value was "
                       "rejected or found anomalous"})
    estimation_method = fields.String(allow_none=True, required=True, metadata={
        "description": "when estimated: interpolated or previous_day (comma-separated when several)"})
    estimated_fuels = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={
        "description": "each estimated fuel and its method (empty when none)"})


class EnergyMixtureAnswer(Schema):
    region = fields.String(required=True)
    source = fields.String(allow_none=True, required=True)
    unit = fields.String(required=True)
    start = fields.String(required=True)
    end = fields.String(required=True)
    location_method = fields.String(required=True)
    mixtures = fields.List(fields.Nested(Mixture), required=True)
    coverage = fields.Nested(CoverageDoc, required=True)


class EnergyMixture(Resource):
    spec = Endpoint(
        "/energy-mixture/", "Generation by fuel of a region over a time range",
        EnergyMixtureAnswer, EnergyMixtureArgs,
        description="Power by fuel (MW) per interval, at the source's native resolution; ranges up to 31 days.",
        tags=("energy mix",),
        errors={404: "Unknown region, location or source", 503: "Database or boundaries unavailable"})

    def get(self):
        args = self.spec.parse()
        located = locate(args)
        start, end = require_range(args, CAP)
        now = utc_now()
        series, mixtures = intensity.mixtures(core().pool, located.region, args.get("source"), start, end,
                                              args["estimated"], now)
        return json_answer({
            "region": located.region,
            "source": series.source if series else None,
            "unit": "MW",
            "start": iso(start),
            "end": iso(end),
            "location_method": located.method,
            "mixtures": [_mixture_json(m) for m in mixtures],
            "coverage": coverage([m.ts for m in mixtures], series, located.region, start, end, None, now,
                                 sum(bool(m.estimated_fuels) for m in mixtures), not args["estimated"]),
        }, end)


def _mixture_json(mixture: intensity.Mixture) -> dict:
    estimated = mixture.estimated_fuels
    return {"timestamp": iso(mixture.ts), "fuels": mixture.fuels, "total_generation_mw": mixture.total_generation_mw,
            "net_import_mw": mixture.net_import_mw, "estimated": bool(estimated),
            "estimation_method": ",".join(sorted(set(estimated.values()))) if estimated else None,
            "estimated_fuels": estimated}
