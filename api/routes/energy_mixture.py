"""GET /energy-mixture/: generation by fuel per interval for a region over a time range."""
from __future__ import annotations

from datetime import timedelta
from itertools import groupby

from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.answers import CoverageDoc, coverage, iso, json_answer, utc_now
from api.params import TimeRangeArgs, require_range
from api.services import locator, pool
from api.services.sources import series_for_range
from api.spec import Endpoint
from energy_data.fuels import STORAGE_FUELS
from database.timeseries import energy_mixture, net_imports

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
        located = locator().locate(args)
        start, end = require_range(args, CAP)
        now = utc_now()
        with pool().cursor() as cur:
            series = series_for_range(cur, located.region, args.get("source"), start, end, now, fuel_mix=True)
            rows = (energy_mixture(cur, series.region_id, series.source_id, start, end, args["estimated"])
                    if series else [])
            imports = net_imports(cur, series.region_id, series.source_id, start, end) if series else {}
        intervals = [(ts, list(group)) for ts, group in groupby(rows, key=lambda row: row[0])]
        mixtures = [_mixture(ts, group, imports.get(ts)) for ts, group in intervals]
        return json_answer({
            "region": located.region,
            "source": series.source if series else None,
            "unit": "MW",
            "start": iso(start),
            "end": iso(end),
            "location_method": located.method,
            "mixtures": mixtures,
            "coverage": coverage([ts for ts, _ in intervals], series, located.region, start, end, None, now,
                                 sum(m["estimated"] for m in mixtures), not args["estimated"]),
        }, end)


def _mixture(ts, rows, net_import) -> dict:
    fuels = {fuel: mw for _, fuel, mw, _ in rows}
    estimated = {fuel: method for _, fuel, _, method in rows if method}
    total = sum(mw for fuel, mw in fuels.items() if mw >= 0 and fuel not in STORAGE_FUELS)
    return {"timestamp": iso(ts), "fuels": fuels, "total_generation_mw": total, "net_import_mw": net_import,
            "estimated": bool(estimated),
            "estimation_method": ",".join(sorted(set(estimated.values()))) if estimated else None,
            "estimated_fuels": estimated}
