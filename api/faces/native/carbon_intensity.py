"""GET /carbon-intensity/: carbon intensity of a region over a time range."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.faces.http import core, json_answer
from api.faces.native.answers import CoverageDoc, coverage_of
from api.faces.native.params import TimeRangeArgs, locate, require_range
from api.faces.spec import Endpoint
from api.models.times import iso, iso_column, utc_now
from api.services import intensity
from api.services.location import Located

CAPS = {"native": timedelta(days=31), "hour": timedelta(days=366), "day": timedelta(days=3660)}
STEP = {"native": None, "hour": 60, "day": 1440}  # minutes of the UTC buckets


class CarbonIntensityArgs(TimeRangeArgs):
    emission_factor_type = fields.String(load_default="lifecycle", validate=validate.OneOf(["lifecycle", "direct"]),
                                         metadata={"description": "lifecycle (with upstream emissions) or direct "
                                                                  "(combustion only) emission factors"})
    emission_factors = fields.String(load_default="regional", validate=validate.OneOf(["regional", "ipcc"]), metadata={
        "description": "regional: the region's own cited factors for the interval's year where they exist "
                       "(see /emission-factors/), the global set elsewhere; ipcc: the global set (IPCC 2014 "
                       "medians) everywhere, as in published work and the original service"})
    source = fields.String(validate=validate.Length(min=1, max=32), metadata={
        "description": "crawler source to answer from (CAISO, EIA, ...); default: the finest source "
                       "covering the range"})
    signal = fields.String(load_default="average", validate=validate.OneOf(["average", "marginal"]), metadata={
        "description": "average: the intensity of the whole mix (default); marginal: of the generators answering "
                       "a change in load (WattTime's MOER, combustion only), where the WATTTIME source stored it; "
                       "the two are never mixed"})
    resolution = fields.String(load_default="native", validate=validate.OneOf(list(CAPS)), metadata={
        "description": "native intervals, or time-weighted means per UTC hour or day; ranges are capped "
                       "at 31, 366 and 3660 days respectively"})
    estimated = fields.Boolean(load_default=True, metadata={
        "description": "true (default): estimated points included, flagged; false: measured points only (an "
                       "interval with an estimated fuel is left out, and counted as missing)"})


class Point(Schema):
    timestamp = fields.String(required=True, metadata={"description": "interval start, UTC"})
    carbon_intensity = fields.Float(allow_none=True, required=True, metadata={"description": "gCO2eq/kWh"})
    renewable_ratio = fields.Float(allow_none=True, required=True)
    low_carbon_ratio = fields.Float(allow_none=True, required=True, metadata={
        "description": "renewable plus nuclear share of generation"})
    estimated = fields.Boolean(required=True, metadata={
        "description": "the point holds an estimate: a fuel the source did not report, rejected or found anomalous "
                       "was estimated (for an hour or day: in one of its intervals at least)"})
    estimation_method = fields.String(allow_none=True, required=True, metadata={
        "description": "when estimated: interpolated (between the fuel's neighbouring values), previous_day (its "
                       "value 24 h before), or a provider's own method; comma-separated when several"})
    signal_index = fields.Float(allow_none=True, metadata={
        "description": "signal=marginal only: WattTime's index, where the MOER stands within its forecast of the next "
                       "24 hours (0-100)"})
    forecast_issued_at = fields.String(allow_none=True, metadata={
        "description": "signal=marginal only: null for a measured value, else when the forecast giving it was issued"})


class Average(Schema):
    carbon_intensity = fields.Float(allow_none=True, required=True, metadata={
        "description": "time-weighted mean over the range (what a constant load would see)"})
    renewable_ratio = fields.Float(allow_none=True, required=True)


class CarbonIntensityAnswer(Schema):
    region = fields.String(required=True)
    source = fields.String(allow_none=True, required=True)
    signal = fields.String(required=True, metadata={"description": "average or marginal"})
    emission_factor_type = fields.String(required=True, metadata={
        "description": "lifecycle or direct; always direct for signal=marginal (MOER counts combustion only)"})
    emission_factors = fields.String(required=True, metadata={
        "description": "regional or ipcc; watttime for signal=marginal (WattTime's model, no factor table)"})
    resolution = fields.String(required=True)
    unit = fields.String(required=True)
    start = fields.String(required=True)
    end = fields.String(required=True)
    location_method = fields.String(required=True, metadata={"description": "region, boundaries, watttime or cloud"})
    carbon_intensities = fields.List(fields.Nested(Point), required=True)
    average = fields.Nested(Average, required=True)
    coverage = fields.Nested(CoverageDoc, required=True)


class CarbonIntensity(Resource):
    spec = Endpoint(
        "/carbon-intensity/", "Carbon intensity of a region over a time range",
        CarbonIntensityAnswer, CarbonIntensityArgs,
        description="Intensity per interval (gCO2eq/kWh) with renewable and low-carbon ratios, their "
                    "time-weighted average, and the coverage of the range. A range without data answers "
                    "an empty list and says why in coverage.note.",
        tags=("carbon intensity",),
        errors={404: "Unknown region, location or source; no region at the coordinates; signal=marginal where "
                     "no marginal intensity is stored",
                503: "Database or boundaries unavailable"})

    def get(self):
        args = self.spec.parse()
        located = locate(args)
        resolution = args["resolution"]
        start, end = require_range(args, CAPS[resolution], f" at {resolution} resolution")
        now = utc_now()
        if args["signal"] == "marginal":
            return _marginal_answer(args, located, start, end, now)
        series, points = intensity.average(core().pool, located.region, args.get("source"), start, end,
                                           args["emission_factor_type"], resolution, args["emission_factors"],
                                           args["estimated"], now)
        count = len(points) if points is not None else 0
        mean, renewable = intensity.time_weighted(points) if count else (None, None)
        return json_answer({
            "region": located.region,
            "source": series.source if series else None,
            "signal": "average",
            "emission_factor_type": args["emission_factor_type"],
            "emission_factors": args["emission_factors"],
            "resolution": resolution,
            "unit": "gCO2eq/kWh",
            "start": iso(start),
            "end": iso(end),
            "location_method": located.method,
            "carbon_intensities": _points_json(points) if count else [],
            "average": {"carbon_intensity": mean, "renewable_ratio": renewable},
            "coverage": coverage_of(count, points.moment(0) if count else None,
                                    points.moment(count - 1) if count else None,
                                    series, located.region, start, end, STEP[resolution], now,
                                    int(points.estimated.sum()) if count else 0, not args["estimated"]),
        }, end)


def _points_json(points: intensity.IntensitySeries) -> list[dict]:
    """The points as dicts, built from columns (a week of 5-minute data is 2,016 points);
    an unknown (NULL) value becomes NaN, which the encoder writes as null."""
    def values(column: np.ndarray, known: np.ndarray) -> list[float]:
        return np.where(known, column, np.nan).tolist()
    return [{"timestamp": t, "carbon_intensity": c, "renewable_ratio": r, "low_carbon_ratio": low, "estimated": e,
             "estimation_method": m}
            for t, c, r, low, e, m in zip(iso_column(points.ts),
                                          values(points.carbon_intensity, points.carbon_intensity_known),
                                          values(points.renewable_share, points.renewable_share_known),
                                          values(points.low_carbon_share, points.low_carbon_share_known),
                                          points.estimated.tolist(), points.estimation_method)]


def _marginal_answer(args: dict, located: Located, start: datetime, end: datetime, now: datetime):
    """signal=marginal: the same answer's shape from marginal intensity (WattTime MOER), never
    from average intensity."""
    resolution = args["resolution"]
    series, points, mean = intensity.marginal(core().pool, located.region, args.get("source"), start, end,
                                              resolution)
    return json_answer({
        "region": located.region, "source": series.source, "signal": "marginal", "emission_factor_type": "direct",
        "emission_factors": "watttime",
        "resolution": resolution, "unit": "gCO2/kWh", "start": iso(start), "end": iso(end),
        "location_method": located.method,
        "carbon_intensities": [{"timestamp": iso(p.ts), "carbon_intensity": p.moer_g_per_kwh, "renewable_ratio": None,
                                "low_carbon_ratio": None, "estimated": False, "estimation_method": None,
                                "signal_index": p.signal_index,
                                "forecast_issued_at": iso(p.forecast_issued_at) if p.forecast_issued_at else None}
                               for p in points],
        "average": {"carbon_intensity": mean, "renewable_ratio": None},
        "coverage": coverage_of(len(points), points[0].ts if points else None, points[-1].ts if points else None,
                                series, located.region, start, end, STEP[resolution], now),
    }, end)
