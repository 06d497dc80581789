"""POST /carbon-aware-scheduler/: where and when to run one workload or a list of them."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, ValidationError, fields, validate

from api.faces.http import core, json_body, no_store_json
from api.faces.spec import Endpoint
from api.models.times import utc_now
from api.models.workload import WorkloadSchema, first_error, load_workloads
from api.services.errors import DomainError
from api.services.scheduler import answer
from api.services.scheduler.plan import DEFAULT_ALTERNATIVES, MAX_ANSWER_BYTES

MAX_WORKLOADS = 100


class SchedulerArgs(Schema):
    emission_factor_type = fields.String(load_default="lifecycle", validate=validate.OneOf(["lifecycle", "direct"]),
                                         metadata={"description": "lifecycle or direct (combustion) intensities"})
    alternatives = fields.String(
        load_default=str(DEFAULT_ALTERNATIVES), validate=validate.Regexp(r"^(all|\d{1,4})$"),
        metadata={"description": f"how many ranked alternatives each run reports beside its chosen placement: a "
                                 f"number (default {DEFAULT_ALTERNATIVES}; 0: none) or all (one per candidate), within "
                                 f"the answer's budget of {MAX_ANSWER_BYTES / 1e6:.0f} MB", "example": "all"})


class Emissions(Schema):
    compute = fields.Float(required=True, metadata={"description": "grams CO2eq of the run's energy"})
    transfer = fields.Float(required=True, metadata={
        "description": "grams CO2eq of moving its input and output between the original location and the chosen one"})
    total = fields.Float(required=True)


class Segment(Schema):
    start = fields.String(required=True)
    end = fields.String(required=True)


class PlacementDoc(Schema):
    location = fields.String(required=True, metadata={"description": "the candidate as the request named it"})
    region = fields.String(required=True, metadata={"description": "its grid region"})
    start = fields.String(required=True)
    end = fields.String(required=True)
    segments = fields.List(fields.Nested(Segment), required=True, metadata={
        "description": "when it runs: one span, or several for an interruptible workload"})
    emissions_g = fields.Nested(Emissions, required=True)


class RunDoc(Schema):
    earliest_start = fields.String(required=True)
    deadline = fields.String(required=True)
    chosen = fields.Nested(PlacementDoc, allow_none=True, required=True)
    run_now = fields.Nested(PlacementDoc, allow_none=True, required=True, metadata={
        "description": "running at once at the original location (null without original_location)"})
    saving_g = fields.Float(allow_none=True, required=True)
    saving_percent = fields.Float(allow_none=True, required=True)
    alternatives = fields.List(fields.Nested(PlacementDoc), required=True, metadata={
        "description": "the best placement in each candidate, lowest emissions first: the best "
                       "alternatives_per_run of them"})


class DataDoc(Schema):
    region = fields.String(required=True)
    source = fields.String(allow_none=True, required=True)
    interval_minutes = fields.Integer(allow_none=True, required=True)
    measured = fields.Dict(required=True, metadata={"description": "slots valued from stored data: count, first, last"})
    forecast = fields.Dict(allow_none=True, required=True, metadata={
        "description": "slots valued by the project's forecast, its issue time, model and measured error"})
    missing_slots = fields.Integer(required=True)
    note = fields.String(allow_none=True, required=True)


class WorkloadAnswer(Schema):
    original_location = fields.Dict(allow_none=True, required=True)
    candidates = fields.List(fields.Dict(), required=True)
    alternatives_per_run = fields.Integer(required=True, metadata={
        "description": "how many alternatives each run reports at most (the alternatives parameter, or every "
                       "candidate)"})
    runs = fields.List(fields.Nested(RunDoc), required=True)
    totals = fields.Dict(required=True, metadata={
        "description": "emissions_g, run_now_g, saving_g, saving_percent over the runs placed; runs_placed, "
                       "runs_not_placed"})
    left_out = fields.List(fields.Dict(), required=True, metadata={
        "description": "candidates without data in the window, left out before solving: location, reason"})
    solver = fields.Dict(required=True, metadata={"description": "method, optimal, gap to the proven bound, seconds"})
    slot_minutes = fields.Integer(required=True)
    transfer_counted = fields.Boolean(required=True)
    data = fields.List(fields.Nested(DataDoc), required=True)
    warnings = fields.List(fields.String(), required=True)


class SchedulerAnswer(Schema):
    emission_factor_type = fields.String(required=True)
    unit = fields.String(required=True)
    schedules = fields.List(fields.Nested(WorkloadAnswer), required=True, metadata={
        "description": "one per workload, in the order given"})


class CarbonAwareScheduler(Resource):
    spec = Endpoint(
        "/carbon-aware-scheduler/", "Where and when to run workloads for the least carbon", SchedulerAnswer,
        SchedulerArgs, method="post", body=WorkloadSchema, tags=("scheduler",),
        description="The body is one workload or a list of them, with the original service's field names "
                    "(runtime, schedule, dataset, original_location, candidate_providers or candidate_locations, "
                    "...) plus deadline, interruptible, power_kw and a capacity per candidate location (the "
                    "original's fields that change nothing here, such as use_prediction and its network-route "
                    "options, are refused: GET /legacy/carbon-aware-scheduler/ takes them). Each "
                    "workload's runs are placed together, optimally under the capacities. Windows in the past "
                    "use measured data; the future uses the project's forecast, with its measured error.",
        errors={400: "A bad body (the field is named; over 1 MB or nested over 10 levels: body_too_large, "
                     "body_too_deep), no run fits its window on whole slots, or a request over the work budget "
                     "(request_too_large: runs x candidates x window slots, or an answer over 10 MB; names what to "
                     "reduce)",
                404: "A named source has no data for any candidate's region (each is named)",
                503: "Database or boundaries unavailable"})

    def post(self):
        args = self.spec.parse()
        alternatives = None if args["alternatives"] == "all" else int(args["alternatives"])
        raw = json_body()
        if raw is None:
            raise DomainError("invalid_body", "the body must be a JSON workload object or a list of them "
                              "(Content-Type: application/json)", "body")
        if isinstance(raw, list) and len(raw) > MAX_WORKLOADS:
            raise DomainError("invalid_body", f"at most {MAX_WORKLOADS} workloads per request", "body")
        try:
            workloads = load_workloads(raw)
        except ValidationError as error:
            path, message = first_error(error.messages)
            raise DomainError("invalid_body", f"{path}: {message}", path) from None
        items = raw if isinstance(raw, list) else [raw]
        prefixes = [f"{i}." if isinstance(raw, list) else "" for i in range(len(items))]
        # transfer is counted unless the body says compute-only (the workload's own default is the original's)
        transfers = [item.get("carbon_accounting_mode") != "compute-only" for item in items]
        answers = answer.schedules(core().pool, core().locator, workloads, prefixes, args["emission_factor_type"],
                                   transfers, utc_now(), alternatives)
        return no_store_json({"emission_factor_type": args["emission_factor_type"], "unit": "gCO2eq",
                              "schedules": answers})
