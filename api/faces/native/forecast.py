"""GET /carbon-intensity/forecast/: hourly carbon intensity for the next 1 to 96 hours."""
from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd
from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.faces.http import core, json_answer
from api.faces.native.params import LocationArgs, locate, time_field
from api.faces.spec import Endpoint
from api.models.mix_forecast import MAX_HORIZON_HOURS
from api.models.times import iso, utc_now
from api.services import forecasting
from api.services.errors import DomainError


class ForecastArgs(LocationArgs):
    horizon_hours = fields.Integer(load_default=24, validate=validate.Range(1, MAX_HORIZON_HOURS), metadata={
        "description": f"how many hours ahead, 1 to {MAX_HORIZON_HOURS}"})
    issued_at = time_field("When the forecast is issued (default: now), floored to the hour: only data before it "
                      "is used, so a past time gives the forecast that would have been made then",
                      required=False)
    emission_factor_type = fields.String(load_default="lifecycle", validate=validate.OneOf(["lifecycle", "direct"]))
    source = fields.String(validate=validate.Length(min=1, max=32), metadata={
        "description": "source whose history the forecast is fitted on; default: the region's default source"})


class ForecastPoint(Schema):
    timestamp = fields.String(required=True, metadata={"description": "hour start, UTC"})
    carbon_intensity = fields.Float(required=True, metadata={"description": "gCO2eq/kWh"})
    lower = fields.Float(allow_none=True, required=True, metadata={"description": "lower bound of the interval"})
    upper = fields.Float(allow_none=True, required=True)


class WeatherInputDoc(Schema):
    issued_at = fields.String(required=True, metadata={"description": "newest weather forecast issue read (before "
                                                                      "issued_at)"})
    oldest_issued_at = fields.String(required=True, metadata={"description": "oldest issue read"})
    points = fields.List(fields.String(), required=True, metadata={
        "description": "the region's weather points (energy_data/data/weather_points.csv) with a value"})


class OperatorInputDoc(Schema):
    kind = fields.String(required=True, metadata={"description": "load, wind or solar"})
    source = fields.String(required=True, metadata={"description": "the crawler source of the operator's forecast"})
    issued_at = fields.String(required=True, metadata={"description": "newest issue read (before issued_at)"})


class InputsDoc(Schema):
    weather = fields.Nested(WeatherInputDoc, allow_none=True, required=True, metadata={
        "description": "the weather forecasts read, or null when the model uses none"})
    operator = fields.List(fields.Nested(OperatorInputDoc), allow_none=True, required=True, metadata={
        "description": "the grid operators' forecasts read, or null when the model uses none"})


class ModelDoc(Schema):
    name = fields.String(required=True, metadata={
        "description": "mix_gbdt (per-fuel forecasts from weather and operators' forecasts), or ridge_same_hour "
                       "(the history-only model), or the baseline it fell back to (same_hour_yesterday)"})
    version = fields.String(required=True)
    fallback_reason = fields.String(allow_none=True, required=True, metadata={
        "description": "why the history-only model answers instead of mix_gbdt (no fitted model for the region, "
                       "inputs missing for the target hours, mix by fuel missing or stale), and why a baseline "
                       "answers instead of it (too little or too old history); null when mix_gbdt answered"})
    interval_level = fields.Float(allow_none=True, required=True, metadata={
        "description": "share of actual values expected inside lower..upper"})
    inputs = fields.Nested(InputsDoc, allow_none=True, required=True, metadata={
        "description": "the forecast inputs mix_gbdt read, all issued before issued_at; null for the history-only "
                       "model"})


class AccuracyDoc(Schema):
    window_hours = fields.Integer(required=True, metadata={"description": "the first N hours of each forecast"})
    forecasts = fields.Integer(required=True)
    mape = fields.Float(required=True, metadata={"description": "mean absolute percentage error, %"})
    mae = fields.Float(required=True, metadata={"description": "mean absolute error, gCO2eq/kWh"})
    baseline = fields.String(required=True)
    baseline_mape = fields.Float(required=True)
    baseline_mae = fields.Float(required=True)
    interval_coverage = fields.Float(allow_none=True, required=True)
    period_start = fields.String(required=True)
    period_end = fields.String(required=True)


class ForecastAnswer(Schema):
    region = fields.String(required=True)
    source = fields.String(required=True)
    emission_factor_type = fields.String(required=True)
    unit = fields.String(required=True)
    issued_at = fields.String(required=True)
    history_end = fields.String(required=True, metadata={"description": "start of the newest hour of data used"})
    location_method = fields.String(required=True)
    model = fields.Nested(ModelDoc, required=True)
    forecast = fields.List(fields.Nested(ForecastPoint), required=True)
    accuracy = fields.List(fields.Nested(AccuracyDoc), required=True, metadata={
        "description": "the history-only model's error measured on this region's own data by daily backtests "
                       "(empty until enough history); mix_gbdt's held-out error is in docs/forecasts.md"})


class CarbonIntensityForecast(Resource):
    spec = Endpoint(
        "/carbon-intensity/forecast/", "Carbon-intensity forecast for the next 1 to 96 hours", ForecastAnswer,
        ForecastArgs,
        description="Hourly forecast with an 80 % interval, from data before issued_at only. Where the region "
                    "has a fitted mix model (python -m api.forecasts fit, daily), each fuel's production is "
                    "forecast from the recent mix and the weather and grid operators' forecasts issued before "
                    "issued_at, and intensity computed from that mix (model mix_gbdt, its inputs named in "
                    "model.inputs); otherwise the history-only model (ridge_same_hour) answers and "
                    "model.fallback_reason says why. Each hour the service issues and stores the current hour's "
                    "forecast (python -m api.forecasts), which this answers; any other issued_at is computed "
                    "on the fly. A request never writes.",
        tags=("carbon intensity",),
        errors={404: "Unknown region, location or source, or no history to forecast from",
                503: "Database or boundaries unavailable"})

    def get(self):
        args = self.spec.parse()
        located = locate(args)
        now = utc_now()
        issued_at = args.get("issued_at") or now
        if issued_at > now + timedelta(minutes=1):
            raise DomainError("invalid_parameter", "issued_at is in the future: a forecast can only be issued "
                              "from data that exists", "issued_at")
        issued_at = pd.Timestamp(issued_at).tz_convert("UTC").floor("h").to_pydatetime()
        factor_set = args["emission_factor_type"]
        # reads only: the hourly schedule (python -m api.forecasts) is what stores forecasts
        series, issued, accuracy = forecasting.issued_forecast(core().pool, located.region, args.get("source"),
                                                               factor_set, issued_at, now)
        frame = issued.frame.head(args["horizon_hours"])
        return json_answer({
            "region": located.region,
            "source": series.source,
            "emission_factor_type": factor_set,
            "unit": "gCO2eq/kWh",
            "issued_at": iso(issued.issued_at),
            "history_end": iso(issued.history_end),
            "location_method": located.method,
            "model": {"name": issued.model_name, "version": issued.model_version,
                      "fallback_reason": issued.fallback_reason, "interval_level": issued.interval_level,
                      "inputs": issued.inputs},
            "forecast": [{"timestamp": iso(row.timestamp.to_pydatetime()), "carbon_intensity": float(row.value),
                          "lower": _number(row.lower), "upper": _number(row.upper)}
                         for row in frame.itertuples(index=False)],
            "accuracy": [_accuracy_doc(a) for a in accuracy],
        })


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _accuracy_doc(a) -> dict:
    return {"window_hours": a.window_hours, "forecasts": a.forecasts, "mape": a.mape, "mae": a.mae,
            "baseline": a.baseline_name, "baseline_mape": a.baseline_mape, "baseline_mae": a.baseline_mae,
            "interval_coverage": _number(a.interval_coverage), "period_start": iso(a.period_start),
            "period_end": iso(a.period_end)}
