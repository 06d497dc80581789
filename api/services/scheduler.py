"""Carbon-aware scheduling for the API: which grid region each candidate location is in, the
intensity of those regions on one UTC slot grid (measured where it exists, the project's
forecast after it), the engine (api/models/optimization_engine.py) on that grid, and the
answers built from its placements.

Slot grid: the coarsest native interval of the series used (5 minutes when every region has
5-minute data, else an hour); a slot's value is the time-weighted mean of the stored
intervals in it (at least half of the slot must be covered, else it has no value and nothing
runs in it). A run's window is narrowed to whole slots (its earliest start rounded up to a
slot boundary, its deadline down) and its runtime rounded up to whole slots, its energy spread
evenly over them: a run starts at the start of its first priced slot, never before its
earliest start, and ends (start + runtime) never after its deadline. A run whose window holds
no whole-slot placement is not placed, and the answer says so (a 400 when no run fits).

Budget: one request may ask for at most MAX_REQUEST_CELLS (runs x candidates x window slots,
summed over its workloads), an answer of at most MAX_ANSWER_BYTES (runs x placements reported,
each run's alternatives capped at DEFAULT_ALTERNATIVES unless the request asks otherwise), and
the solver gets at most REQUEST_SOLVER_SECONDS for the whole request, well under gunicorn's
30 s worker timeout, shared by the workloads whose capacities may bind (at least
MIN_SOLVER_SECONDS each). Every workload of a request is checked against all three (check())
before any data is read or any workload solved; past one, a 400 names what to reduce.

One request reads each region's values on a grid, and issues each series' forecast, once for
all its workloads (RequestCache).
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np
import pandas as pd

from api.models import bounds
from api.models import forecast as forecast_model
from api.models import optimization_engine as engine
from api.models.times import iso
from api.models.workload import Run, Workload
from api.services import cloud_locations, forecasting
from api.services.errors import INVALID, NOT_FOUND, TOO_LARGE, UNAVAILABLE, DomainError
from api.services.location import Locator
from api.services.sources import default_series, marginal_series_for, series_for_range
from database.marginal import marginal_points
from database.regions import Series, all_series
from database.timeseries import intensity_series

# Where a forecast may fill in: the series' newest data must be this recent, else its future
# is unknown (an imported history of 2022 says nothing about next week).
FORECAST_MAX_LAG = timedelta(days=1)
MIN_SLOT_COVERAGE = 0.5
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
# Capacity the engine treats as unlimited.
UNLIMITED = math.inf
# Original-service data-source names that mean "let the project choose" or a source of ours.
# Sources of marginal intensity: a carbon_data_source naming one of these picks it with
# signal=marginal; any other (c3lab, emap, ...) names an average source and is left aside.
MARGINAL_SOURCES = ("WATTTIME",)
SOURCE_ALIASES = {"c3lab": None, "azure": None, "default": None,
                  "emap": "ELECTRICITYMAPS", "electricitymaps": "ELECTRICITYMAPS"}


# --------------------------------------------------------------------------- locations

@dataclass(frozen=True)
class Place:
    """A location of a request resolved to a grid region."""

    id: str                  # as the request gave it (aws:us-west-2, AWS:us-west-2, CISO, ...)
    region: str              # canonical region code
    method: str              # region, cloud, boundaries, watttime
    capacity: int | None = None


def resolve_place(locator: Locator, ident: str, latitude: float | None, longitude: float | None,
                  parameter: str, capacity: int | None = None) -> Place:
    """The grid region of a location, by Locator.resolve: its coordinates when given (they win),
    else its id; a place that cannot be used is a 400 naming `parameter`, like every other
    unusable field of a request body (503 when coordinates need boundaries not installed)."""
    place = (latitude, longitude) if latitude is not None and longitude is not None else ident
    try:
        located = locator.resolve(place, parameter)
    except DomainError as exc:
        if exc.kind == UNAVAILABLE:
            raise
        if exc.code == "unknown_location":
            raise DomainError("unknown_location", f"{parameter}: unknown location {ident!r}: give a cloud region "
                              "(aws:us-west-2, gcp:us-central1, azure:eastus, or a bare name such as westeurope), a "
                              "region id or alias (CISO, US-CAISO), or latitude and longitude", parameter) from None
        raise exc.at(parameter, INVALID) from None
    return Place(ident, located.region, located.method, capacity)


def provider_places(locator: Locator, provider: str, parameter: str) -> tuple[list[Place], list[str]]:
    """A provider's regions whose grid zone we cover, and a warning naming those left out."""
    places, outside = [], []
    for place in cloud_locations.locations(provider):
        code = locator.region_named(place.zone)
        if code is None:
            outside.append(f"{place.id} ({place.zone})")
        else:
            places.append(Place(place.id, code, "cloud"))
    if not places:
        raise DomainError("no_candidates", f"{parameter}: no region of {provider} lies in a grid zone covered "
                          "here", parameter)
    return places, ([f"{len(outside)} {provider} regions are in grid zones not covered here and were left "
                     f"out: {', '.join(outside)}"] if outside else [])


def workload_places(locator: Locator, workload: Workload, prefix: str) -> tuple[list[Place], Place | None, list[str]]:
    """(candidates, origin or None, warnings) of one workload; field names in errors start with `prefix`."""
    warnings: list[str] = []
    if workload.candidate_locations:
        candidates = [resolve_place(locator, c.id, c.latitude, c.longitude, f"{prefix}candidate_locations.{i}.id",
                                    c.capacity) for i, c in enumerate(workload.candidate_locations)]
    else:
        candidates = []
        for i, provider in enumerate(workload.candidate_providers):
            found, notes = provider_places(locator, provider, f"{prefix}candidate_providers.{i}")
            candidates += found
            warnings += notes
    origin = None
    if workload.original_location:
        same = [c for c in candidates if c.id.lower() == workload.original_location.lower()]
        origin = same[0] if same else resolve_place(locator, workload.original_location, None, None,
                                                    f"{prefix}original_location")
    return candidates, origin, warnings


# --------------------------------------------------------------------------- intensity

@dataclass(frozen=True)
class Grid:
    """Slot k covers [start + k*slot, start + (k+1)*slot)."""

    start: datetime
    slot: timedelta
    count: int

    @property
    def end(self) -> datetime:
        return self.start + self.count * self.slot

    def moment(self, k: int) -> datetime:
        return self.start + k * self.slot

    def floor(self, moment: datetime) -> int:
        return math.floor((moment - self.start) / self.slot + 1e-9)

    def ceil(self, moment: datetime) -> int:
        return math.ceil((moment - self.start) / self.slot - 1e-9)


@dataclass
class RegionData:
    """One region's intensity on the grid and where each value came from."""

    region: str
    series: Series | None
    values: np.ndarray                    # g/kWh per slot, NaN = unknown
    measured: np.ndarray                  # bool per slot: from stored data
    forecast: object | None = None        # database.forecasts.StoredForecast
    accuracy: list = field(default_factory=list)
    note: str | None = None

    def doc(self, grid: Grid) -> dict:
        """Which data answered for this region, for the answer."""
        forecasted = ~self.measured & np.isfinite(self.values)
        return {
            "region": self.region,
            "source": self.series.source if self.series else None,
            "interval_minutes": self.series.interval_minutes if self.series else None,
            "measured": _span(grid, self.measured),
            "forecast": None if self.forecast is None else {
                **_span(grid, forecasted),
                "issued_at": iso(self.forecast.issued_at),
                "history_end": iso(self.forecast.history_end),
                "model": self.forecast.model_name, "version": self.forecast.model_version,
                "fallback_reason": self.forecast.fallback_reason,
                "measured_error": [{"window_hours": a.window_hours, "mape": a.mape, "mae": a.mae,
                                    "baseline": a.baseline_name, "baseline_mape": a.baseline_mape,
                                    "forecasts": a.forecasts} for a in self.accuracy],
            },
            "missing_slots": int((~np.isfinite(self.values)).sum()),
            "note": self.note,
        }


def _span(grid: Grid, mask: np.ndarray) -> dict:
    where = np.flatnonzero(mask)
    if where.size == 0:
        return {"slots": 0, "first": None, "last": None}
    return {"slots": int(where.size), "first": iso(grid.moment(int(where[0]))),
            "last": iso(grid.moment(int(where[-1])))}


def source_name(carbon_data_source: str | None) -> str | None:
    """The source a request names (None: the default policy)."""
    if carbon_data_source is None:
        return None
    key = carbon_data_source.strip().lower()
    return SOURCE_ALIASES[key] if key in SOURCE_ALIASES else carbon_data_source.strip().upper()


def pick_series(cur, region: str, source: str | None, start: datetime, end: datetime, now: datetime) -> Series | None:
    """The series answering for [start, end) in a region: the named source (404 if it has no
    data there), else the default for the measured part, else the region's default."""
    if source is not None:
        return series_for_range(cur, region, source, start, end, now)
    chosen = series_for_range(cur, region, None, start, min(end, now), now) if start < now else None
    return chosen or default_series(all_series(cur, region), now)


def make_grid(series: list[Series | None], start: datetime, end: datetime) -> Grid:
    """The slot grid over [start, end): the coarsest native interval among the series."""
    minutes = max([s.interval_minutes for s in series if s is not None] or [60])
    if 60 % minutes:
        minutes = 60
    slot = timedelta(minutes=minutes)
    epoch = datetime(2000, 1, 1, tzinfo=timezone.utc)
    first = epoch + math.floor((start - epoch) / slot) * slot
    count = max(1, math.ceil((end - first) / slot - 1e-9))
    return Grid(first, slot, count)


def region_data(cur, region: str, series: Series | None, grid: Grid, factor_set: str, now: datetime,
                cache: RequestCache | None = None) -> RegionData:
    """Measured slot means of the series over the grid, then its forecast where the grid
    reaches past the data (if the series is live enough to forecast); read once per request
    with a `cache`."""
    if cache is not None:
        key = ("values", region, series and (series.region_id, series.source_id), grid, factor_set)
        found = cache.once(key, lambda: _region_data(cur, region, series, grid, factor_set, now, cache))
        return dataclasses.replace(found)   # a copy: the caller may add a note
    return _region_data(cur, region, series, grid, factor_set, now, None)


def _region_data(cur, region: str, series: Series | None, grid: Grid, factor_set: str, now: datetime,
                 cache: RequestCache | None) -> RegionData:
    values = np.full(grid.count, np.nan)
    if series is None:
        return RegionData(region, None, values, np.zeros(grid.count, bool), note=f"no data for {region}")
    points = intensity_series(cur, series.region_id, series.source_id, grid.start, min(grid.end, now + grid.slot),
                              factor_set, "native")
    values = _slot_means(points, grid)
    measured = np.isfinite(values)
    data = RegionData(region, series, values, measured)
    if grid.end > series.last + timedelta(minutes=series.interval_minutes):
        _fill_forecast(cur, data, grid, factor_set, now, cache)
    missing = int((~np.isfinite(data.values)).sum())
    if missing and data.note is None:
        data.note = (f"{series.source} has no value for {region} in {missing} of {grid.count} slots (its data spans "
                     f"{iso(series.first)} to {iso(series.last)}); nothing runs there then")
    return data


def marginal_region_data(cur, region: str, series, grid: Grid) -> RegionData:
    """Slot means of the stored marginal intensity: measured values, then WattTime's own stored
    forecast (the project's forecast models average intensity only, so none is made here)."""
    if series is None:  # none stored for the region: every slot unknown
        return RegionData(region, None, np.full(grid.count, np.nan), np.zeros(grid.count, bool),
                          note=f"no marginal intensity for {region}")
    points = marginal_points(cur, series, grid.start, grid.end, "native")
    known = np.array([p.moer_g_per_kwh is not None for p in points], bool)
    columns = SimpleNamespace(
        ts=np.array([int((p.ts - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(microseconds=1))
                     for p in points], dtype=np.int64),
        minutes=np.array([p.minutes for p in points], dtype=np.int64),
        carbon_intensity=np.array([p.moer_g_per_kwh or 0.0 for p in points], dtype=float),
        carbon_intensity_known=known)
    values = _slot_means(columns, grid)
    forecast = np.zeros(grid.count, bool)
    for p in points:
        k = grid.floor(p.ts)
        if p.forecast_issued_at is not None and 0 <= k < grid.count:
            forecast[k] = True
    data = RegionData(region, series, values, np.isfinite(values) & ~forecast)
    missing = int((~np.isfinite(values)).sum())
    if missing:
        data.note = (f"{series.source} has no marginal value for {region} in {missing} of {grid.count} slots "
                     f"(stored from {iso(series.first)} to {iso(series.last)}); nothing runs there then")
    return data


def _slot_means(points, grid: Grid) -> np.ndarray:
    """Time-weighted mean of the known points in each slot; NaN under MIN_SLOT_COVERAGE."""
    slot_us = int(grid.slot / timedelta(microseconds=1))
    start_us = int((grid.start - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(microseconds=1))
    index = (points.ts - start_us) // slot_us
    keep = points.carbon_intensity_known & (index >= 0) & (index < grid.count)
    weights = points.minutes[keep].astype(float)
    covered = np.bincount(index[keep], weights=weights, minlength=grid.count)
    total = np.bincount(index[keep], weights=weights * points.carbon_intensity[keep], minlength=grid.count)
    enough = covered >= MIN_SLOT_COVERAGE * grid.slot.total_seconds() / 60
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(enough, total / covered, np.nan)


def _fill_forecast(cur, data: RegionData, grid: Grid, factor_set: str, now: datetime,
                   cache: RequestCache | None = None) -> None:
    series = data.series
    if now - series.last > FORECAST_MAX_LAG:
        data.note = (f"{series.source} data for {data.region} ends {iso(series.last)}: no forecast after it, so "
                     "later slots have no value")
        return
    issued_at = pd.Timestamp(now).floor("h").to_pydatetime()

    def issue():
        return (forecasting.issue(cur, series, factor_set, issued_at, now),
                forecasting.measured_accuracy(cur, series, factor_set, now))
    try:
        if cache is None:
            issued, accuracy = issue()
        else:  # one forecast per series and request, whatever the workloads' grids
            issued, accuracy = cache.once(("forecast", series.region_id, series.source_id, factor_set, issued_at),
                                          issue)
    except forecast_model.NoHistory as exc:
        data.note = f"no forecast for {data.region}: {exc}"
        return
    frame = issued.frame
    hours = pd.DatetimeIndex(frame["timestamp"]).tz_convert("UTC")
    slot_hours = pd.DatetimeIndex([grid.moment(k) for k in range(grid.count)]).floor("h")
    position = hours.get_indexer(slot_hours)
    fill = (position >= 0) & ~np.isfinite(data.values) & (slot_hours >= pd.Timestamp(issued_at))
    if not fill.any():
        return
    data.values[fill] = frame["value"].to_numpy(dtype=float)[position[fill]]
    data.forecast = issued
    data.accuracy = accuracy


# --------------------------------------------------------------------------- scheduling

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


def build_jobs(workload: Workload, runs: list[Run], grid: Grid, candidates: int, origin: int | None,
               count_transfer: bool, shift: bool = True) -> list[engine.Job]:
    """The engine's jobs for the runs: windows narrowed to whole slots (a run never starts
    before its earliest start nor ends after its deadline), runtime rounded up to whole slots;
    a job whose window is shorter than its runtime fits nowhere."""
    runtime_slots = max(1, math.ceil(workload.runtime / grid.slot - 1e-9))
    energy = workload.energy_kwh / runtime_slots
    data_in = workload.dataset.input_size_gb if (workload.dataset and count_transfer) else 0.0
    data_out = workload.dataset.output_size_gb if (workload.dataset and count_transfer) else 0.0
    jobs = []
    for run in runs:
        first = max(0, grid.ceil(run.earliest))
        deadline = grid.floor(run.deadline)
        if not shift:  # run at once, when that fits
            deadline = min(deadline, first + runtime_slots)
        jobs.append(engine.Job(energy, runtime_slots, first, deadline,
                               workload.interruptible, data_in, data_out, origin, tuple(range(candidates))))
    return jobs


def window_slots(job: engine.Job) -> int:
    """Slots in a job's window (0 when it ends before it starts)."""
    return max(0, job.deadline - job.earliest_start)


def no_window_error(workload: Workload, grid: Grid, prefix: str) -> DomainError:
    """400: no run has a whole-slot placement between its earliest start and its deadline."""
    field_name = f"{prefix}schedule.deadline" if workload.schedule.deadline else f"{prefix}schedule.max_delay"
    return DomainError("no_window", f"{field_name}: no run fits between its earliest start and its deadline on "
                    f"the data's {int(grid.slot.total_seconds() // 60)}-minute slots (a run starts on a slot "
                    "boundary, never before its earliest start, and must end by its deadline): allow more delay "
                    "or start on a slot boundary", field_name)


def capacities(places: list[Place], candidates: int) -> np.ndarray | None:
    """Per row: how many runs may run at once (None when nothing is limited)."""
    if all(p.capacity is None for p in places[:candidates]):
        return None
    return np.array([float(p.capacity) if (i < candidates and p.capacity is not None) else UNLIMITED
                     for i, p in enumerate(places)])


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




MAX_WINDOW = timedelta(days=31)


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
                           f"{estimate / 1e6:,.1f} MB{more}, over the {MAX_ANSWER_BYTES / 1e6:,.0f} MB one answer may "
                           f"take: {reduce}", f"{prefix}schedule", TOO_LARGE)
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
                           f"{self.seconds:.0f} s for a request, at least {MIN_SOLVER_SECONDS} s for each of them): "
                           "send fewer such workloads per request", f"{prefix}candidate_locations", TOO_LARGE)
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
                           f"{self.seconds:.0f} s one request may take: send fewer workloads per request, or fewer "
                           "runs (raise schedule.interval) or candidates per workload", f"{prefix}schedule", TOO_LARGE)
        return min(WORKLOAD_SOLVER_SECONDS, share)


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


def native_answer(alternatives: int | None = DEFAULT_ALTERNATIVES) -> AnswerSize:
    """The native answer's size (measured: a placement ~230 bytes, a run ~170 beyond them)."""
    return AnswerSize(alternatives, run=220, placement=300, segment=80, slot=0,
                      reduce="ask fewer alternatives per run (alternatives=0 reports only the chosen placement), "
                             "raise schedule.interval (fewer runs), name fewer candidate_locations or send fewer "
                             "workloads per request")


class RequestCache:
    """What one request reads once for all its workloads: each region's series, its values on a
    grid, and each series' forecast (100 workloads over three regions issued 300 forecasts)."""

    def __init__(self) -> None:
        self._found: dict[tuple, object] = {}

    def once(self, key: tuple, make: Callable[[], object]):
        """make()'s result, or the DomainError or NoHistory it raised, once per key."""
        if key not in self._found:
            try:
                self._found[key] = make()
            except (DomainError, forecast_model.NoHistory) as exc:
                self._found[key] = exc
        found = self._found[key]
        if isinstance(found, Exception):
            raise found
        return found


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
    failed: dict[str, DomainError]      # region -> why the named source has nothing there
    grid: Grid
    unfit: int                       # runs with no whole-slot window
    capacitated: bool                # more runs than a candidate's capacity: the solver may need time


def check(cur, locator: Locator, workload: Workload, prefix: str, now: datetime, budget: Budget,
          cache: RequestCache, answer: AnswerSize,
          places: tuple[list[Place], Place | None, list[str]] | None = None) -> Checked:
    """Resolve one workload and charge it to the budget (cells, answer bytes): every 400 and
    404 a workload can cause comes from here, before any data is read or forecast issued, so a
    request is refused before the work of any of its workloads. `places` (candidates, origin,
    warnings) replaces the workload's own when given."""
    candidates, origin, warnings = places or workload_places(locator, workload, prefix)
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
    windows = build_jobs(workload, runs, grid, len(candidates), None, False, shift=workload.optimize_carbon)
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


def solve(cur, locator: Locator, workload: Workload, prefix: str, factor_set: str, count_transfer: bool,
          now: datetime, places: tuple[list[Place], Place | None, list[str]] | None = None,
          budget: Budget | None = None, cache: RequestCache | None = None,
          answer: AnswerSize | None = None, checked: Checked | None = None) -> Solved:
    """Schedule one workload: all its runs at once, under its candidates' capacities, leaving
    out candidates without data (named in the warnings; 404 when no candidate has data).
    `budget` and `cache` are the request's (shared by its workloads); `answer` the size of the
    answer to be built from it; `checked`, the workload already checked (else it is here)."""
    budget = budget or Budget()
    cache = cache or RequestCache()
    answer = answer or native_answer()
    checked = checked or check(cur, locator, workload, prefix, now, budget, cache, answer, places)
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
    jobs = build_jobs(workload, runs, grid, len(kept), origin_row, count_transfer,
                      shift=workload.optimize_carbon)
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


def plan(cur, locator: Locator, workload: Workload, prefix: str, factor_set: str, count_transfer: bool,
         now: datetime, budget: Budget | None = None, cache: RequestCache | None = None,
         alternatives: int | None = DEFAULT_ALTERNATIVES, checked: Checked | None = None) -> dict:
    """The native answer for one workload: where and when each run goes, what it emits, and
    against what; each run's `alternatives` best other placements (None: one per candidate)."""
    solved = solve(cur, locator, workload, prefix, factor_set, count_transfer, now, budget=budget, cache=cache,
                   answer=native_answer(alternatives), checked=checked)
    problem, grid, result, origin = solved.problem, solved.grid, solved.result, solved.origin
    times = SlotTimes(grid, workload.runtime)
    reported = problem.candidates if alternatives is None else min(alternatives, problem.candidates)
    return {
        "original_location": None if origin is None else {"location": origin.id, "region": origin.region},
        "candidates": [{"location": p.id, "region": p.region, "located_by": p.method, "capacity": p.capacity}
                       for p in problem.places[:problem.candidates]],
        "alternatives_per_run": reported,
        "runs": [_run_doc(problem, times, run, job_result, reported)
                 for run, job_result in zip(problem.runs, result.results)],
        "totals": {"emissions_g": result.total_g, "run_now_g": result.baseline_g, "saving_g": result.saving_g,
                   "saving_percent": result.saving_pct, "runs_placed": len(problem.runs) - len(result.unplaced),
                   "runs_not_placed": len(result.unplaced)},
        "left_out": [{"location": p.id, "region": p.region, "reason": why} for p, why in solved.dropped.items()],
        "solver": {"method": result.method, "optimal": result.optimal, "gap": result.gap,
                   "lower_bound_g": result.lower_bound_g, "seconds": result.seconds},
        "slot_minutes": int(grid.slot.total_seconds() // 60),
        "transfer_counted": count_transfer and origin is not None and workload.data_gb > 0,
        "data": [solved.data[r].doc(grid) for r in sorted(solved.data)],
        "warnings": solved.warnings,
    }


def expand_runs(workload: Workload, prefix: str) -> list[Run]:
    """The workload's runs (400 naming the schedule when there are too many or none)."""
    from api.models.workload import TooManyRuns

    try:
        runs = workload.runs()
    except TooManyRuns as exc:
        raise DomainError("too_many_runs", f"{prefix}schedule.interval: {exc}",
                          f"{prefix}schedule.interval", TOO_LARGE) from None
    if not runs:
        raise DomainError("no_runs", f"{prefix}schedule: the schedule has no run in its first day; shorten "
                       "schedule.interval", f"{prefix}schedule.interval")
    return runs


def _run_doc(problem: Problem, times: SlotTimes, run: Run, result: engine.JobResult, alternatives: int) -> dict:
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


def best_window(cur, region: str, source: str | None, start: datetime, end: datetime, duration: timedelta,
                factor_set: str, interruptible: bool, now: datetime, signal: str = "average") -> dict:
    """The lowest-carbon window of `duration` inside [start, end) in one region (like the Carbon
    Aware SDK's best-window query), beside running at `start`; on marginal intensity if asked."""
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
    job = engine.Job(1.0, slots, first, deadline, interruptible, origin=0)
    result = engine.best_placements(data.values[None, :], job)

    def window(placement: engine.Placement | None) -> dict | None:
        if placement is None:
            return None
        segments = [{"start": iso(grid.moment(a)), "end": iso(grid.moment(b))} for a, b in placement.segments]
        return {"start": segments[0]["start"], "end": segments[-1]["end"], "segments": segments,
                "carbon_intensity": placement.compute_g / slots}
    return {
        "region": region,
        "source": series.source if series else None,
        "signal": signal,
        "emission_factor_type": "direct" if signal == "marginal" else factor_set,
        "unit": "gCO2/kWh" if signal == "marginal" else "gCO2eq/kWh",
        "start": iso(start), "end": iso(end),
        "duration_minutes": duration.total_seconds() / 60,
        "slot_minutes": int(grid.slot.total_seconds() // 60),
        "best": window(result.best),
        "at_start": window(result.baseline),
        "saving_percent": result.saving_pct,
        "data": data.doc(grid),
    }
