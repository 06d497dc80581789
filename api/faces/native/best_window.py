"""GET /carbon-aware-scheduler/best-window/: the lowest-carbon window for one job in one place."""
from __future__ import annotations

from datetime import timedelta

from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.faces.http import core, json_answer
from api.faces.native.params import TimeRangeArgs, locate, require_range
from api.faces.spec import Endpoint
from api.models.times import utc_now
from api.services.scheduler import answer

CAP = timedelta(days=31)


class BestWindowArgs(TimeRangeArgs):
    duration = fields.Integer(required=True, validate=validate.Range(1, 31 * 24 * 60), metadata={
        "description": "how long the job runs, in minutes (the Carbon Aware SDK's windowSize)", "example": 60})
    interruptible = fields.Boolean(load_default=False, metadata={
        "description": "the job may pause between slots: the cheapest slots, not one contiguous window"})
    emission_factor_type = fields.String(load_default="lifecycle", validate=validate.OneOf(["lifecycle", "direct"]))
    source = fields.String(validate=validate.Length(min=1, max=32), metadata={
        "description": "source to answer from (CAISO, EIA, electricitymaps, ...); default: the region's choice"})
    signal = fields.String(load_default="average", validate=validate.OneOf(["average", "marginal"]), metadata={
        "description": "average intensity (default) or marginal intensity (WattTime MOER, where stored; 404 "
                       "where not)"})


class Window(Schema):
    start = fields.String(required=True)
    end = fields.String(required=True)
    segments = fields.List(fields.Dict(), required=True)
    carbon_intensity = fields.Float(required=True, metadata={"description": "mean gCO2eq/kWh while it runs"})


class BestWindowAnswer(Schema):
    region = fields.String(required=True)
    source = fields.String(allow_none=True, required=True)
    signal = fields.String(required=True, metadata={"description": "average or marginal"})
    location_method = fields.String(required=True)
    emission_factor_type = fields.String(required=True)
    unit = fields.String(required=True)
    start = fields.String(required=True)
    end = fields.String(required=True)
    duration_minutes = fields.Float(required=True)
    slot_minutes = fields.Integer(required=True)
    best = fields.Nested(Window, allow_none=True, required=True, metadata={
        "description": "null when no window of that length has data"})
    at_start = fields.Nested(Window, allow_none=True, required=True, metadata={"description": "running at start"})
    saving_percent = fields.Float(allow_none=True, required=True)
    data = fields.Dict(required=True, metadata={"description": "measured and forecast slots, the forecast's error"})


class BestWindow(Resource):
    spec = Endpoint(
        "/carbon-aware-scheduler/best-window/", "The lowest-carbon window for one job in one place", BestWindowAnswer,
        BestWindowArgs, tags=("scheduler",),
        description="Inside [start, end), the window of `duration` minutes with the lowest mean intensity, next to "
                    "running at start. Measured data where it exists, the project's forecast after it.",
        errors={404: "Unknown region, location or source; signal=marginal where none is stored",
                503: "Database or boundaries unavailable"})

    def get(self):
        args = self.spec.parse()
        located = locate(args)
        start, end = require_range(args, CAP)
        window = answer.best_window(core().pool, located.region, args.get("source"), start, end,
                                    timedelta(minutes=args["duration"]), args["emission_factor_type"],
                                    args["interruptible"], utc_now(), args["signal"])
        return json_answer({**window, "location_method": located.method}, end)
