"""The scheduler's answers as plain documents: the native POST /carbon-aware-scheduler/ (every
workload of a request checked against the budget first, then each planned) and the best window
of GET /carbon-aware-scheduler/best-window/. The original's answer is the legacy face's
(api/faces/legacy/carbon_aware_scheduler.py), built from the same Solved."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from api.models import optimization_engine as engine
from api.models.times import iso
from api.models.workload import Run, Workload
from api.services.location import Locator
from api.services.scheduler import plan
from api.services.scheduler.plan import AnswerSize, Problem, Solved
from api.services.scheduler.slots import Grid, RegionData, RequestCache, source_name
from database.pool import Pool


def native_size(alternatives: int | None = plan.DEFAULT_ALTERNATIVES) -> AnswerSize:
    """The native answer's size (measured: a placement ~230 bytes, a run ~170 beyond them)."""
    return AnswerSize(alternatives, run=220, placement=300, segment=80, slot=0,
                      reduce="ask fewer alternatives per run (alternatives=0 reports only the chosen placement), "
                             "raise schedule.interval (fewer runs), name fewer candidate_locations or send fewer "
                             "workloads per request")


def schedules(pool: Pool, locator: Locator, workloads: list[Workload], prefixes: list[str], factor_set: str,
              transfers: list[bool], now: datetime, alternatives: int | None) -> list[dict]:
    """The native answer of each workload of a request (`transfers`: whether each counts moving
    its data), in the request's work budget, each region's data read once for all of them."""
    budget = plan.Budget()  # the whole request's work, well under gunicorn's timeout
    cache = RequestCache()  # each place, region's data and forecast, read once for every workload
    size = native_size(alternatives)
    with pool.cursor() as cur:
        # every workload against the budget first: a request past it does none of the work
        checked = [plan.check(cur, locator, workload, prefix, now, budget, cache, size)
                   for workload, prefix in zip(workloads, prefixes)]
        return [workload_doc(plan.solve(cur, done, factor_set, count_transfer, now, budget, cache, size),
                             alternatives, count_transfer)
                for done, count_transfer in zip(checked, transfers)]


def workload_doc(solved: Solved, alternatives: int | None, count_transfer: bool) -> dict:
    """Where and when each run of a workload goes, what it emits, and against what; each run's
    `alternatives` best other placements (None: one per candidate)."""
    problem, grid, result, origin = solved.problem, solved.grid, solved.result, solved.origin
    workload = problem.workload
    times = SlotTimes(grid, workload.runtime)
    reported = problem.candidates if alternatives is None else min(alternatives, problem.candidates)
    return {
        "original_location": None if origin is None else {"location": origin.id, "region": origin.region},
        "candidates": [{"location": p.id, "region": p.region, "located_by": p.method, "capacity": p.capacity}
                       for p in problem.places[:problem.candidates]],
        "alternatives_per_run": reported,
        "runs": [run_doc(problem, times, run, job_result, reported)
                 for run, job_result in zip(problem.runs, result.results)],
        "totals": {"emissions_g": result.total_g, "run_now_g": result.baseline_g, "saving_g": result.saving_g,
                   "saving_percent": result.saving_pct, "runs_placed": len(problem.runs) - len(result.unplaced),
                   "runs_not_placed": len(result.unplaced)},
        "left_out": [{"location": p.id, "region": p.region, "reason": why} for p, why in solved.dropped.items()],
        "solver": {"method": result.method, "optimal": result.optimal, "gap": result.gap,
                   "lower_bound_g": result.lower_bound_g, "seconds": result.seconds},
        "slot_minutes": int(grid.slot.total_seconds() // 60),
        "transfer_counted": count_transfer and origin is not None and workload.data_gb > 0,
        "data": [data_doc(solved.data[r], grid) for r in sorted(solved.data)],
        "warnings": solved.warnings,
    }


class SlotTimes:
    """ISO texts of slot boundaries and of runs' ends (start + runtime), each formatted once
    per answer: a large answer repeats the same few hundred times thousands of times."""

    def __init__(self, grid: Grid, runtime: timedelta) -> None:
        self.grid, self.runtime = grid, runtime
        self._at: dict[int, str] = {}
        self._ends: dict[int, str] = {}

    def at(self, k: int) -> str:
        if k not in self._at:
            self._at[k] = iso(self.grid.moment(k))
        return self._at[k]

    def run_end(self, k: int) -> str:
        """The end of a contiguous run starting at slot k: one runtime later, not its slot's end."""
        if k not in self._ends:
            self._ends[k] = iso(self.grid.moment(k) + self.runtime)
        return self._ends[k]


def placement_doc(placement: engine.Placement, problem: Problem, times: SlotTimes) -> dict:
    """Where and when a placement runs, in times, and its grams: it starts at its first priced
    slot's start (never before the run's earliest start: windows are narrowed to whole slots)."""
    place = problem.places[placement.region]
    slots = placement.slots
    if slots[-1] - slots[0] + 1 == len(slots):  # one span: it ends one runtime after its start, not at the slot's end
        segments = [{"start": times.at(slots[0]), "end": times.run_end(slots[0])}]
    else:
        segments = [{"start": times.at(a), "end": times.at(b)} for a, b in placement.segments]
    return {
        "location": place.id, "region": place.region,
        "start": segments[0]["start"], "end": segments[-1]["end"],
        "segments": segments,
        "emissions_g": {"compute": placement.compute_g, "transfer": placement.transfer_g,
                        "total": placement.total_g},
    }


def run_doc(problem: Problem, times: SlotTimes, run: Run, result: engine.JobResult, alternatives: int) -> dict:
    baseline = result.baseline
    return {
        "earliest_start": iso(run.earliest),
        "deadline": iso(run.deadline),
        "chosen": placement_doc(result.best, problem, times) if result.best else None,
        "run_now": placement_doc(baseline, problem, times) if baseline else None,
        "saving_g": result.saving_g,
        "saving_percent": result.saving_pct,
        "alternatives": [placement_doc(p, problem, times) for p in result.alternatives[:alternatives]],
    }



def data_doc(data: RegionData, grid: Grid) -> dict:
    """Which data answered for a region: measured and forecast slots, the forecast's model and
    its measured error."""
    forecasted = ~data.measured & np.isfinite(data.values)
    return {
        "region": data.region,
        "source": data.series.source if data.series else None,
        "interval_minutes": data.series.interval_minutes if data.series else None,
        "measured": _span(grid, data.measured),
        "forecast": None if data.forecast is None else {
            **_span(grid, forecasted),
            "issued_at": iso(data.forecast.issued_at),
            "history_end": iso(data.forecast.history_end),
            "model": data.forecast.model_name, "version": data.forecast.model_version,
            "fallback_reason": data.forecast.fallback_reason,
            "measured_error": [{"window_hours": a.window_hours, "mape": a.mape, "mae": a.mae,
                                "baseline": a.baseline_name, "baseline_mape": a.baseline_mape,
                                "forecasts": a.forecasts} for a in data.accuracy],
        },
        "missing_slots": int((~np.isfinite(data.values)).sum()),
        "note": data.note,
    }


def _span(grid: Grid, mask: np.ndarray) -> dict:
    where = np.flatnonzero(mask)
    if where.size == 0:
        return {"slots": 0, "first": None, "last": None}
    return {"slots": int(where.size), "first": iso(grid.moment(int(where[0]))),
            "last": iso(grid.moment(int(where[-1])))}


def best_window(pool: Pool, region: str, carbon_data_source: str | None, start: datetime, end: datetime,
                duration: timedelta, factor_set: str, interruptible: bool, now: datetime,
                signal: str = "average") -> dict:
    """The lowest-carbon window of `duration` inside [start, end) in one region, beside running
    at `start`, with the data that answered."""
    found = plan.best_window(pool, region, source_name(carbon_data_source), start, end, duration, factor_set,
                             interruptible, now, signal)
    grid = found.grid

    def window(placement: engine.Placement | None) -> dict | None:
        if placement is None:
            return None
        segments = [{"start": iso(grid.moment(a)), "end": iso(grid.moment(b))} for a, b in placement.segments]
        return {"start": segments[0]["start"], "end": segments[-1]["end"], "segments": segments,
                "carbon_intensity": placement.compute_g / found.slots}
    return {
        "region": region,
        "source": found.series.source if found.series else None,
        "signal": signal,
        "emission_factor_type": "direct" if signal == "marginal" else factor_set,
        "unit": "gCO2/kWh" if signal == "marginal" else "gCO2eq/kWh",
        "start": iso(start), "end": iso(end),
        "duration_minutes": duration.total_seconds() / 60,
        "slot_minutes": int(grid.slot.total_seconds() // 60),
        "best": window(found.result.best),
        "at_start": window(found.result.baseline),
        "saving_percent": found.result.saving_pct,
        "data": data_doc(found.data, grid),
    }
