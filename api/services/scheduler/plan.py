"""Planning: a workload's runs as the engine's jobs on the slot grid, the request's work budget,
and the engine (api/models/optimization_engine.py) called on the grid's intensities.

A run's window is narrowed to whole slots (its earliest start rounded up to a slot boundary,
its deadline down) and its runtime rounded up to whole slots, its energy spread evenly over
them: a run starts at the start of its first priced slot, never before its earliest start, and
ends (start + runtime) never after its deadline. A run whose window holds no whole-slot
placement is not placed, and the answer says so (a 400 when no run fits).

Budget: one request may ask for at most MAX_REQUEST_CELLS (runs x candidates x window slots,
summed over its workloads), an answer of at most MAX_ANSWER_BYTES (runs x placements reported,
each run's alternatives capped at DEFAULT_ALTERNATIVES unless the request asks otherwise), and
the solver gets at most REQUEST_SOLVER_SECONDS for the whole request, well under gunicorn's
30 s worker timeout, shared by the workloads whose capacities may bind (at least
MIN_SOLVER_SECONDS each). Every workload of a request is checked against all three (check())
before any data is read or any workload solved; past one, a 400 names what to reduce."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from api.models import bounds
from api.models import optimization_engine as engine
from api.models.workload import Run, TooManyRuns, Workload
from api.services.errors import NOT_FOUND, TOO_LARGE, DomainError
from api.services.location import Locator
from api.services.scheduler.places import Place, workload_places
from api.services.scheduler.slots import (MARGINAL_SOURCES, Grid, RegionData, RequestCache, make_grid,
                                          marginal_region_data, pick_series, region_data, source_name)
from api.services.sources import marginal_series_for
from database.pool import Pool
from database.regions import Series

# The work one request may ask for: sum over its workloads of runs x candidates x slots in
# each run's window (the engine's arrays grow with it), and the solver's seconds for all its
# workloads together (gunicorn kills a worker after 30 s).
MAX_REQUEST_CELLS = 3_000_000
REQUEST_SOLVER_SECONDS = 10.0
WORKLOAD_SOLVER_SECONDS = 1.8     # at most, per workload
# At least, per workload whose capacities may bind (the others need no solver time): a request
# may hold REQUEST_SOLVER_SECONDS / MIN_SOLVER_SECONDS of them. A hundred given a tenth of a
# second each ran out of time, and HiGHS stopped that early leaves runs unplaced.
MIN_SOLVER_SECONDS = 0.25
# The answer: at most this many bytes of JSON, estimated from above before any work (a 75-
# candidate request once answered 215 MB, most of it every run's alternative in every
# candidate). Each run reports its best DEFAULT_ALTERNATIVES candidates unless asked otherwise.
MAX_ANSWER_BYTES = 10_000_000
DEFAULT_ALTERNATIVES = 5
MAX_WINDOW = timedelta(days=31)
# Capacity the engine treats as unlimited.
UNLIMITED = math.inf


# --------------------------------------------------------------------------- runs as jobs

def run_job(grid: Grid, earliest: datetime, deadline: datetime, runtime: timedelta, energy_kwh: float, *,
            interruptible: bool = False, input_gb: float = 0.0, output_gb: float = 0.0, origin: int | None = None,
            regions: tuple[int, ...] | None = None, at_once: bool = False) -> engine.Job:
    """The engine's job for one run: its window narrowed to whole slots (it never starts before
    `earliest` nor ends after `deadline`), its runtime rounded up to whole slots and its energy
    spread evenly over them; `at_once`: it may not be shifted (it runs at once, when that fits).
    A job whose window is shorter than its runtime fits nowhere."""
    runtime_slots = max(1, math.ceil(runtime / grid.slot - 1e-9))
    first = max(0, grid.ceil(earliest))
    last = grid.floor(deadline)
    if at_once:
        last = min(last, first + runtime_slots)
    return engine.Job(energy_kwh / runtime_slots, runtime_slots, first, last, interruptible, input_gb, output_gb,
                      origin, regions)


def build_jobs(workload: Workload, runs: list[Run], grid: Grid, candidates: int, origin: int | None,
               count_transfer: bool) -> list[engine.Job]:
    """The engine's jobs for a workload's runs, allowed in rows 0..candidates-1."""
    moves = workload.dataset is not None and count_transfer
    return [run_job(grid, run.earliest, run.deadline, workload.runtime, workload.energy_kwh,
                    interruptible=workload.interruptible, input_gb=workload.dataset.input_size_gb if moves else 0.0,
                    output_gb=workload.dataset.output_size_gb if moves else 0.0, origin=origin,
                    regions=tuple(range(candidates)), at_once=not workload.optimize_carbon)
            for run in runs]


def window_slots(job: engine.Job) -> int:
    """Slots in a job's window (0 when it ends before it starts)."""
    return max(0, job.deadline - job.earliest_start)


def expand_runs(workload: Workload, prefix: str) -> list[Run]:
    """The workload's runs (400 naming the schedule when there are too many or none)."""
    try:
        runs = workload.runs()
    except TooManyRuns as exc:
        raise DomainError("too_many_runs", f"{prefix}schedule.interval: {exc}", f"{prefix}schedule.interval",
                          TOO_LARGE) from None
    if not runs:
        raise DomainError("no_runs", f"{prefix}schedule: the schedule has no run in its first day; shorten "
                          "schedule.interval", f"{prefix}schedule.interval")
    return runs


def no_window_error(workload: Workload, grid: Grid, prefix: str) -> DomainError:
    """400: no run has a whole-slot placement between its earliest start and its deadline."""
    field_name = f"{prefix}schedule.deadline" if workload.schedule.deadline else f"{prefix}schedule.max_delay"
    return DomainError("no_window", f"{field_name}: no run fits between its earliest start and its deadline on "
                       f"the data's {int(grid.slot.total_seconds() // 60)}-minute slots (a run starts on a slot "
                       "boundary, never before its earliest start, and must end by its deadline): allow more delay "
                       "or start on a slot boundary", field_name)


# --------------------------------------------------------------------------- the budget

@dataclass(frozen=True)
class AnswerSize:
    """How an answer grows, to bound its bytes from above before any work: bytes per run, per
    placement reported (beyond its location id and region; `segment` per further segment of
    an interrupted run), per candidate and grid slot; and what a request past it should reduce.
    Each run reports its chosen placement, running now (with an origin) and `alternatives`
    ranked ones (None: one per candidate)."""

    alternatives: int | None
    run: int
    placement: int
    segment: int
    slot: int
    reduce: str

    def estimate(self, jobs: list[engine.Job], candidates: list[Place], origin: Place | None, grid: Grid) -> int:
        ids = max((len(p.id) + len(p.region) for p in candidates), default=0)
        reported = len(candidates) if self.alternatives is None else min(self.alternatives, len(candidates))
        segments = max((_most_segments(j) for j in jobs), default=1)
        placement = self.placement + ids + self.segment * (segments - 1)
        per_run = self.run + (reported + 1 + (origin is not None)) * placement
        return len(jobs) * per_run + len(candidates) * grid.count * self.slot


def _most_segments(job: engine.Job) -> int:
    """The most segments a placement of the job can have (pauses need slots between them)."""
    if not job.interruptible:
        return 1
    return max(1, min(job.runtime_slots, window_slots(job) - job.runtime_slots + 1))


class Budget:
    """What one request may still spend: cells (runs x candidates x window slots), bytes of
    answer and solver seconds; a 400 naming what to reduce when a workload asks for more."""

    def __init__(self, cells: int = MAX_REQUEST_CELLS, seconds: float = REQUEST_SOLVER_SECONDS,
                 answer_bytes: int = MAX_ANSWER_BYTES) -> None:
        self.cells = cells
        self.deadline = time.perf_counter() + seconds
        self.seconds = seconds
        self.answer_bytes = answer_bytes
        self.solves = 0                   # workloads whose capacities may bind, still to solve

    def charge_answer(self, estimate: int, prefix: str, reduce: str) -> None:
        """Spend `estimate` bytes of answer; 400 when the request's answer would pass
        MAX_ANSWER_BYTES, naming what to reduce."""
        if estimate > self.answer_bytes:
            more = " more" if self.answer_bytes < MAX_ANSWER_BYTES else ""
            raise DomainError("request_too_large", f"{prefix}schedule: the answer would take about "
                              f"{estimate / 1e6:,.1f} MB{more}, over the {MAX_ANSWER_BYTES / 1e6:,.0f} MB one answer "
                              f"may take: {reduce}", f"{prefix}schedule", TOO_LARGE)
        self.answer_bytes -= estimate

    def charge(self, cells: int, prefix: str) -> None:
        """Spend `cells`; 400 when the request's total would pass MAX_REQUEST_CELLS."""
        if cells > self.cells:
            raise DomainError("request_too_large", f"{prefix}schedule: the request asks for {cells:,} run x "
                              f"candidate x slot combinations{' more' if self.cells < MAX_REQUEST_CELLS else ''}, "
                              f"over the {MAX_REQUEST_CELLS:,} one request may ask for: raise schedule.interval, "
                              "shorten schedule.max_delay, name fewer candidate_locations or send fewer workloads "
                              "per request", f"{prefix}schedule", TOO_LARGE)
        self.cells -= cells

    def charge_solve(self, prefix: str) -> None:
        """Count a workload whose capacities may bind: 400 when the request holds more than its
        solver seconds can give MIN_SOLVER_SECONDS each."""
        if (self.solves + 1) * MIN_SOLVER_SECONDS > self.seconds:
            most = int(self.seconds / MIN_SOLVER_SECONDS)
            raise DomainError("request_too_large", f"{prefix}candidate_locations: more than {most} workloads of "
                              "the request have more runs than a candidate's capacity (the solver has "
                              f"{self.seconds:.0f} s for a request, at least {MIN_SOLVER_SECONDS} s for each of "
                              "them): send fewer such workloads per request", f"{prefix}candidate_locations",
                              TOO_LARGE)
        self.solves += 1

    def time_limit(self, prefix: str, shared: bool = True) -> float:
        """The solver's seconds for the next workload: at most WORKLOAD_SOLVER_SECONDS, and for
        one whose capacities may bind an even share of what is left among those still to solve
        (at least MIN_SOLVER_SECONDS unless earlier ones overran), so that the request ends in
        time; a 400 only when overruns have left nothing."""
        left = self.deadline - time.perf_counter()
        share = left / max(1, self.solves) if shared else left
        self.solves -= shared
        if share <= 0.02:
            raise DomainError("request_too_large", f"{prefix}schedule: the request's workloads used the "
                              f"{self.seconds:.0f} s one request may take: send fewer workloads per request, or "
                              "fewer runs (raise schedule.interval) or candidates per workload", f"{prefix}schedule",
                              TOO_LARGE)
        return min(WORKLOAD_SOLVER_SECONDS, share)


# --------------------------------------------------------------------------- one workload

@dataclass
class Checked:
    """One workload resolved and checked against its request's budget, before any data is
    read: its places, runs, series and slot grid."""

    workload: Workload
    prefix: str
    candidates: list[Place]
    origin: Place | None
    warnings: list[str]
    runs: list[Run]
    series: dict[str, Series | None]
    failed: dict[str, DomainError]   # region -> why the named source has nothing there
    grid: Grid
    unfit: int                       # runs with no whole-slot window
    capacitated: bool                # more runs than a candidate's capacity: the solver may need time


@dataclass(frozen=True)
class Problem:
    """One workload on the grid: rows are its candidates, then its origin if that is not one."""

    workload: Workload
    places: list[Place]         # one per intensity row
    candidates: int             # rows 0..candidates-1 may run jobs
    origin: int | None
    runs: list[Run]
    jobs: list[engine.Job]
    warnings: list[str]


@dataclass
class Solved:
    """One workload scheduled: the problem on its grid, the data, the engine's result."""

    problem: Problem
    grid: Grid
    data: dict[str, RegionData]
    result: engine.ScheduleResult
    origin: Place | None
    warnings: list[str]
    dropped: dict[Place, str] = field(default_factory=dict)  # candidate -> why it was left out
    unfit: int = 0                                            # runs with no whole-slot window


def check(cur, locator: Locator, workload: Workload, prefix: str, now: datetime, budget: Budget,
          cache: RequestCache, answer: AnswerSize,
          places: tuple[list[Place], Place | None, list[str]] | None = None) -> Checked:
    """Resolve one workload and charge it to the budget (cells, answer bytes): every 400 and
    404 a workload can cause comes from here, before any data is read or forecast issued, so a
    request is refused before the work of any of its workloads. `places` (candidates, origin,
    warnings) replaces the workload's own when given."""
    candidates, origin, warnings = places or workload_places(locator, workload, prefix, cache)
    runs = expand_runs(workload, prefix)
    start, end = min(r.earliest for r in runs), max(r.deadline for r in runs)
    if end > bounds.LATEST:  # the times given are within the bounds; a run's deadline is derived from them
        raise DomainError("invalid_body", f"{prefix}schedule: the runs would end after {bounds.LAST_YEAR}-12-31; "
                          "give an earlier start_time", f"{prefix}schedule")
    if end - start > MAX_WINDOW:
        raise DomainError("range_too_large", f"{prefix}schedule: the runs span {end - start}, over "
                          f"{MAX_WINDOW.days} days; shorten the horizon or the delay", f"{prefix}schedule", TOO_LARGE)
    source = source_name(workload.carbon_data_source)
    regions = sorted({p.region for p in candidates} | ({origin.region} if origin else set()))
    marginal = workload.signal == "marginal"
    field_name = "signal" if marginal else "carbon_data_source"
    series, failed = {}, {}
    for r in regions:  # a region the named source has no data for is left out, not fatal
        try:
            series[r] = cache.once(("series", r, source, start, end, marginal), lambda r=r: (
                marginal_series_for(cur, r, source if source in MARGINAL_SOURCES else None, start, end) if marginal
                else pick_series(cur, r, source, start, end, now)))
        except DomainError as exc:
            if exc.kind != NOT_FOUND:
                raise
            series[r], failed[r] = None, exc
    if all(p.region in failed for p in candidates):
        first = failed[candidates[0].region]
        named = "; ".join(f"{r}: {failed[r].message}" for r in sorted({p.region for p in candidates}))
        raise DomainError(first.code, f"{prefix}{field_name}: no candidate has data ({named})",
                          f"{prefix}{field_name}", NOT_FOUND)
    grid = make_grid(list(series.values()), start, end)
    windows = build_jobs(workload, runs, grid, len(candidates), None, False)
    unfit = sum(window_slots(j) < j.runtime_slots for j in windows)
    if unfit == len(windows):
        raise no_window_error(workload, grid, prefix)
    budget.charge(sum(window_slots(j) for j in windows) * len(candidates), prefix)
    budget.charge_answer(answer.estimate(windows, candidates, origin, grid), prefix, answer.reduce)
    capacitated = len(runs) > min((p.capacity for p in candidates if p.capacity is not None), default=len(runs))
    if capacitated:
        budget.charge_solve(prefix)
    return Checked(workload, prefix, candidates, origin, list(warnings), runs, series, failed, grid, unfit,
                   capacitated)


def solve(cur, checked: Checked, factor_set: str, count_transfer: bool, now: datetime, budget: Budget,
          cache: RequestCache, answer: AnswerSize) -> Solved:
    """Schedule one checked workload: all its runs at once, under its candidates' capacities,
    leaving out candidates without data (named in the warnings). `budget` and `cache` are the
    request's (shared by its workloads); `answer` the size of the answer to be built from it."""
    workload, prefix = checked.workload, checked.prefix
    candidates, origin, runs, grid, unfit = (checked.candidates, checked.origin, checked.runs, checked.grid,
                                             checked.unfit)
    warnings = list(checked.warnings)
    marginal = workload.signal == "marginal"
    data = {r: (marginal_region_data(cur, r, series, grid) if marginal
                else region_data(cur, r, series, grid, factor_set, now, cache)) for r, series in checked.series.items()}
    for r, exc in checked.failed.items():
        data[r].note = f"{r}: {exc.message}"
    kept, dropped = _with_data(candidates, data)
    warnings += [f"{place.id} left out: {why}" for place, why in dropped.items()]
    rows, origin_row = _rows(kept, origin)
    intensity = np.vstack([data[p.region].values for p in rows])
    jobs = build_jobs(workload, runs, grid, len(kept), origin_row, count_transfer)
    problem = Problem(workload, rows, len(kept), origin_row, runs, jobs, warnings)
    result = engine.schedule(intensity, jobs, capacities(rows, len(kept)), alternatives=answer.alternatives,
                             time_limit=budget.time_limit(prefix, checked.capacitated))
    dropped_regions = {p.region for p in dropped} - {p.region for p in rows}
    warnings = warnings + [d.note for r, d in data.items() if d.note and r not in dropped_regions]
    if unfit:
        warnings.append(f"{unfit} of {len(runs)} runs have no whole {int(grid.slot.total_seconds() // 60)}-minute "
                        "slot window between their earliest start and their deadline and were not placed: allow "
                        "more delay")
    if len(result.unplaced) > unfit:
        warnings.append(f"{len(result.unplaced) - unfit} of {len(runs)} runs fit in no candidate: no data or no "
                        "capacity in their window")
    if result.unplaced:
        warnings.append(f"totals and savings are over the {len(runs) - len(result.unplaced)} runs placed")
    return Solved(problem, grid, data, result, origin, warnings, dropped, unfit)


def solve_alone(pool: Pool, locator: Locator, workload: Workload, factor_set: str, count_transfer: bool,
                now: datetime, answer: AnswerSize,
                places: tuple[list[Place], Place | None, list[str]] | None = None) -> Solved:
    """One workload as its own request (the original's route takes one), `places` (candidates,
    origin, warnings) given or resolved here."""
    budget, cache = Budget(), RequestCache()
    with pool.cursor() as cur:
        checked = check(cur, locator, workload, "", now, budget, cache, answer, places)
        return solve(cur, checked, factor_set, count_transfer, now, budget, cache, answer)


def capacities(places: list[Place], candidates: int) -> np.ndarray | None:
    """Per row: how many runs may run at once (None when nothing is limited)."""
    if all(p.capacity is None for p in places[:candidates]):
        return None
    return np.array([float(p.capacity) if (i < candidates and p.capacity is not None) else UNLIMITED
                     for i, p in enumerate(places)])


def _with_data(candidates: list[Place], data: dict[str, RegionData]) -> tuple[list[Place], dict[Place, str]]:
    """The candidates with any value on the grid, and why each other was left out; all of them
    when none has a value (then nothing is placed and the notes say why)."""
    def has_data(p: Place) -> bool:
        return bool(np.isfinite(data[p.region].values).any())
    kept = [p for p in candidates if has_data(p)]
    if not kept:
        return list(candidates), {}
    dropped = {p: data[p.region].note or f"no data for {p.region} in the window"
               for p in candidates if not has_data(p)}
    return kept, dropped


def _rows(candidates: list[Place], origin: Place | None) -> tuple[list[Place], int | None]:
    """Intensity rows: the candidates, then the origin if it is not one of them; the origin's row."""
    rows = list(candidates)
    if origin is None:
        return rows, None
    same = [i for i, p in enumerate(candidates) if p.id.lower() == origin.id.lower()]
    if same:
        return rows, same[0]
    rows.append(origin)
    return rows, len(rows) - 1


# --------------------------------------------------------------------------- one window

@dataclass(frozen=True)
class BestWindow:
    """The lowest-carbon placement of one job in one region, and running at the start."""

    series: Series | None
    grid: Grid
    data: RegionData
    slots: int                  # the job's runtime in slots
    result: engine.JobResult


def best_window(pool: Pool, region: str, source: str | None, start: datetime, end: datetime, duration: timedelta,
                factor_set: str, interruptible: bool, now: datetime, signal: str = "average") -> BestWindow:
    """The lowest-carbon window of `duration` inside [start, end) in one region (like the Carbon
    Aware SDK's best-window query), beside running at `start`; on marginal intensity if asked."""
    with pool.cursor() as cur:
        if signal == "marginal":
            series = marginal_series_for(cur, region, source, start, end)
            grid = make_grid([series], start, end)
            data = marginal_region_data(cur, region, series, grid)
        else:
            series = pick_series(cur, region, source, start, end, now)
            grid = make_grid([series], start, end)
            data = region_data(cur, region, series, grid, factor_set, now)
    slots = max(1, math.ceil(duration / grid.slot - 1e-9))
    first, deadline = grid.ceil(start), grid.floor(end)
    if deadline - first < slots:
        raise DomainError("invalid_range", f"duration: {duration} does not fit between start and end on the "
                          f"{grid.slot} slots of {series.source if series else 'the data'}", "duration")
    job = engine.Job(1.0, slots, first, deadline, interruptible, origin=0)  # 1 kWh a slot: grams are intensity sums
    return BestWindow(series, grid, data, slots, engine.best_placements(data.values[None, :], job))
