"""GET /legacy/carbon-aware-scheduler/: the original service's scheduler, with its JSON body
and its answer's shape, computed by the new engine (api/services/scheduler/).

The answer, per candidate region named as the original named it ("AWS:us-west-1", or a
candidate location's id as given): its grid region in `isos` (the original's ISO format of
the carbon source: watttime:NAME for c3lab and azure, emap:ZONE for emap), and in
`raw-scores` the original's three factors: energy-usage (kWh over the first 24 h of the
schedule), carbon-emission (grams: the best start of every run in that region, compute plus
transfer; the original kept only the last run's) and wan-network-usage (GB), weighted as the
original did ((1000 x energy + carbon + 0.001 x GB) / 3) into `weighted-scores` and ranked
in `optimal-regions`. `details` holds each run's timings (transfers at 1024 Mbit/s before and
after the compute, as the original assumed), the compute emission rate (g/s) over the
window, and an empty route (traced network routes are not modelled; transfer energy is the
engine's per-GB model instead).

Where the original crashed, this answers: a Poisson schedule is expanded (seeded), a missing
original_location gives no baseline and `original-region` null, and an original_location
that is not among candidate_providers' regions is a 400 naming it.
"""
from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta, timezone

from flask_restful import Resource
from marshmallow import Schema, ValidationError, fields

from api.faces.http import core, json_body, no_store_json
from api.faces.legacy.errors import ERROR_SCHEMA, Unprocessable
from api.faces.legacy.schemas import TAG
from api.faces.legacy.workload import LegacyWorkloadSchema, duration_text, load_legacy_workload, request_echo
from api.faces.spec import Endpoint
from api.models import optimization_engine as engine
from api.models.times import iso, utc_now
from api.models.workload import CarbonAccountingMode
from api.services import cloud_locations
from api.services.errors import DomainError
from api.services.legacy import ISO_FORMAT_OF_SOURCE, LEGACY_PROVIDERS, names
from api.services.scheduler.places import Place, workload_places
from api.services.scheduler.plan import AnswerSize, Solved, solve_alone

# The original's factors and weights (its api/routes/carbon_aware_scheduler.py).
WEIGHTS = {"energy-usage": 1000.0, "carbon-emission": 1.0, "wan-network-usage": 0.001}
# The original's provider spellings, for candidate names.
PROVIDER_NAMES = {ours: original for original, ours in LEGACY_PROVIDERS.items()}
TRANSFER_SECONDS_PER_GB = 8.0  # 2**30 bytes at 1024 x 2**20 bit/s, the original's fixed rate
# The answer's size, bounded before any work: a timing per run and candidate (~560 bytes) and an
# emission rate per candidate and slot (~45 bytes); every candidate is scored.
ANSWER = AnswerSize(None, run=0, placement=700, segment=0, slot=60,
                    reduce="name fewer candidates or raise schedule.interval (fewer runs); the native POST "
                           "/carbon-aware-scheduler/ reports fewer alternatives per run")


class LegacySchedulerAnswer(Schema):
    request = fields.Dict(required=True, metadata={"description": "the workload as understood, defaults filled"})
    original_region = fields.String(data_key="original-region", allow_none=True, required=True)
    isos = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    warnings = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    details = fields.Dict(required=True, metadata={"description": "per candidate: timings, emission_rates, route"})
    optimal_regions = fields.List(fields.Dict(), data_key="optimal-regions", metadata={
        "description": "[{rating, candidates}], best (lowest) rating first"})
    weighted_scores = fields.Dict(data_key="weighted-scores")
    raw_scores = fields.Dict(data_key="raw-scores")
    error = fields.String(metadata={"description": "'No viable candidate' (with status 400)"})


class LegacyCarbonAwareScheduler(Resource):
    spec = Endpoint(
        "/legacy/carbon-aware-scheduler/", "The original's /carbon-aware-scheduler/ (GET with a JSON body)",
        LegacySchedulerAnswer, body=LegacyWorkloadSchema, tags=(TAG,), error_schema=ERROR_SCHEMA,
        description="The original service's scheduler request (a workload as JSON body of a GET) and answer "
                    "(request, original-region, isos, warnings, details, optimal-regions, weighted-scores, "
                    "raw-scores), computed by the new engine. Native equivalent: POST /carbon-aware-scheduler/.",
        errors={400: "A bad body: over 1 MB or nested over 10 levels, a string with a control character, or a "
                     "request whose answer would pass 10 MB (each names what to reduce): {\"error\": message, "
                     "\"code\"}",
                404: "A named carbon_data_source has no data for any candidate's region: {\"error\": message} "
                     "naming each (a candidate without data is named in `warnings` and not scored)",
                422: "A body the original's validation refused: {\"messages\": {\"json\": {field: [message]}}}",
                503: "Database or boundaries unavailable"})

    def get(self):
        self.spec.parse()
        raw = json_body()  # bounded in size and depth before it is parsed
        if not isinstance(raw, dict):
            raise DomainError("invalid_body", "the body must be a JSON workload object (Content-Type: "
                              "application/json)", "body")
        try:
            workload, options = load_legacy_workload(raw)
        except ValidationError as error:  # as the original's webargs answered a bad JSON body
            raise Unprocessable("json", error.messages) from None
        now = utc_now()
        if options.use_prediction and workload.schedule.start_time < now:
            # As the original: a forecast starts now (rounded up to 5 minutes), not in the past.
            start = datetime.fromtimestamp(math.ceil(now.timestamp() / 300) * 300, timezone.utc)
            workload = dataclasses.replace(workload, schedule=dataclasses.replace(workload.schedule, start_time=start))
        lookup = core().locator
        candidates, origin, warnings = legacy_places(lookup, workload)
        count_transfer = workload.carbon_accounting_mode is CarbonAccountingMode.COMPUTE_AND_NETWORK
        solved = solve_alone(core().pool, lookup, workload, "lifecycle", count_transfer, now, ANSWER,
                             (candidates, origin, warnings))
        iso_format = ISO_FORMAT_OF_SOURCE.get(workload.carbon_data_source.lower(), "watttime")
        isos = {name(p): names(lookup, p.region).iso(iso_format) for p in candidates}
        return legacy_answer(workload, options, solved, isos)


def legacy_places(lookup, workload) -> tuple[list[Place], Place | None, list[str]]:
    """Candidates as the original saw them: with candidate_locations the original location is
    one of them; with candidate_providers it must be one of the providers' regions."""
    candidates, origin, warnings = workload_places(lookup, workload, "")
    if origin is None:
        return candidates, None, warnings
    if not any(c.id.lower() == origin.id.lower() for c in candidates):
        if workload.candidate_providers:
            raise DomainError("invalid_body", "original_location: not one of the candidate providers' regions "
                              "(the original required it to be)", "original_location")
        candidates = candidates + [origin]
    return candidates, origin, warnings


def name(place: Place) -> str:
    """The original's name of a candidate: Provider:region for catalogue regions, else the id as given."""
    found = cloud_locations.find(place.id)
    if found is not None and place.method == "cloud":
        return f"{PROVIDER_NAMES[found.provider]}:{found.name}"
    return place.id


def legacy_answer(workload, options, solved: Solved, isos: dict[str, str]):
    """The original's answer from the schedule: per candidate its scores and details, ranked."""
    problem, grid, result = solved.problem, solved.grid, solved.result
    energy_24h = workload.energy_kwh * len(problem.runs)  # the runs start within the first 24 h
    raw_scores, details, warnings = {}, {}, {}
    dropped_notes = {f"{place.id} left out: {why}" for place, why in solved.dropped.items()}
    for place, why in solved.dropped.items():  # candidates without data: named, not scored (as the original)
        warnings[name(place)] = why
    for row, place in enumerate(problem.places[:problem.candidates]):
        label = name(place)
        note = solved.data[place.region].note
        if note:
            warnings[label] = note
        placements = [_in_row(job_result, row) for job_result in result.results]
        if any(p is None for p in placements):
            warnings.setdefault(label, f"no carbon data for {place.region} in the window of every run")
            continue
        compute = sum(p.compute_g for p in placements)
        transfer = sum(p.transfer_g for p in placements)
        raw_scores[label] = {
            "energy-usage": energy_24h, "carbon-emission-from-compute": compute,
            "carbon-emission-from-migration": transfer, "carbon-emission": compute + transfer,
            "wan-network-usage": workload.data_gb,
            "energy-usage-unit": "kWh", "carbon-emission-unit": "gCO2",
        }
        details[label] = {
            "timings": [_timings(p, problem, grid, run, transfer_moves=p.transfer_g > 0)
                        for p, run in zip(placements, problem.runs)],
            "emission_rates": {"compute": _compute_rates(solved, place, workload),
                               "transfer": {}, "transfer.network": {}, "transfer.endpoint": {}},
            "emission_integral": {},
            "route": [],
            "route.hop_count": 0,
        }
    notes = [w for w in solved.warnings if w not in warnings.values() and w not in dropped_notes]
    if options.desired_renewable_ratio is not None:
        notes.append("desired_renewable_ratio is not used: runs are placed by carbon intensity alone")
    if notes:  # about the request as a whole (providers' regions left out, unused fields)
        warnings["request"] = "; ".join(notes)
    weighted = {label: sum(scores[f] * w for f, w in WEIGHTS.items()) / len(WEIGHTS)
                for label, scores in raw_scores.items()}
    by_rating: dict[float, list[str]] = {}
    for label, rating in weighted.items():
        by_rating.setdefault(rating, []).append(label)
    answer = {
        "request": request_echo(workload, options),
        "original-region": workload.original_location,
        "isos": isos,
        "warnings": warnings,
        "details": details,
    }
    if not weighted:
        return no_store_json({**answer, "error": "No viable candidate"}, 400)
    return no_store_json({**answer,
                          "optimal-regions": [{"rating": r, "candidates": by_rating[r]} for r in sorted(by_rating)],
                          "weighted-scores": weighted, "raw-scores": raw_scores})


def _in_row(job_result: engine.JobResult, row: int) -> engine.Placement | None:
    return next((p for p in job_result.alternatives if p.region == row), None)


def _timings(placement: engine.Placement, problem, grid, run, transfer_moves: bool) -> dict:
    workload = problem.workload
    dataset = workload.dataset
    moves = transfer_moves and dataset is not None
    sizes = (dataset.input_size_gb, dataset.output_size_gb) if moves else (0.0, 0.0)
    input_time, output_time = (timedelta(seconds=math.ceil(gb * TRANSFER_SECONDS_PER_GB)) for gb in sizes)
    compute_start = grid.moment(placement.start)  # the priced slot: windows are whole slots inside the run's
    compute_end = compute_start + workload.runtime
    return {
        "input_transfer_start": iso(compute_start - input_time), "input_transfer_duration": duration_text(input_time),
        "input_transfer_end": iso(compute_start),
        "compute_start": iso(compute_start), "compute_duration": duration_text(workload.runtime),
        "compute_end": iso(compute_end),
        "output_transfer_start": iso(compute_end), "output_transfer_duration": duration_text(output_time),
        "output_transfer_end": iso(compute_end + output_time),
        "min_start": iso(run.earliest), "max_end": iso(run.deadline),
        "total_transfer_time": duration_text(input_time + output_time),
    }


def _compute_rates(solved: Solved, place: Place, workload) -> dict[str, float]:
    """gCO2/s of running the workload in each slot of the window (the original's emission_rates.compute)."""
    values = solved.data[place.region].values
    watts = workload.power_kw * 1000.0
    return {iso(solved.grid.moment(k)): float(v) * watts / 3.6e6 for k, v in enumerate(values) if math.isfinite(v)}
