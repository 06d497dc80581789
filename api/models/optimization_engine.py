"""Carbon-aware placement of workloads in space (regions) and time (slots): exact for one
workload, optimal or bounded-gap for many workloads sharing regional capacity.

Interface
---------
Inputs (pure numpy; the service builds them on its slot grid: nothing here knows about
datetimes, Flask or SQL):

- ``intensity``: float array (regions x slots), gCO2eq/kWh on one common UTC slot grid
  (slot k covers [grid_start + k*slot, grid_start + (k+1)*slot)); NaN = no data, and a
  placement that would run in a NaN slot is impossible.
- ``Job``: one run to place: energy per slot (kWh), runtime in slots, window
  [earliest_start, deadline) in slots, interruptible or not, input/output data (GB), origin
  region index (where the data lives and where "run now" is measured), allowed regions.
- ``capacity``: None (unlimited), or an array (regions,) or (regions x slots): how many jobs
  may run at once in a region's slot; ``np.inf`` = unlimited.

Calls:

- ``best_placements(intensity, job, alternatives=None) -> JobResult``: per allowed region the
  cheapest start (or, interruptible, the cheapest set of slots) in the window, ranked (the best
  `alternatives` of them; None: every region); plus the baseline. Its search (``_search``)
  and ranking (``_rank``) are those ``schedule`` uses for each job on its own.
- ``schedule(intensity, jobs, capacity, time_limit=1.8, alternatives=None) -> ScheduleResult``:
  all jobs at once under capacity. Without binding capacity every job gets its own optimum (exact,
  "independent"). Otherwise, when the time-indexed model is small (<= COMPACT_MAX_NONZEROS),
  the exact MILP with ``scipy.optimize.milp`` (HiGHS) under the time limit ("milp"); else, or
  if HiGHS found nothing in time, Lagrangian relaxation of the capacity rows (slot prices;
  its value is the LP relaxation's bound at the best prices) with a repair heuristic
  ("lagrangian"). ``lower_bound_g`` is always a proven bound on the grams of the jobs placed
  and ``gap`` the distance to it; ``time_limit`` covers the whole call, preparation included.
  Jobs that fit nowhere (no data in their window, or no room left) come back with
  ``best=None`` and their index in ``unplaced``. Each job's alternatives are its best
  placement in each region, the best ``alternatives`` of them (None: all): building every
  region's for every job of a large schedule cost more than solving it.
- ``transfer_emissions(intensity, job)``: transfer grams per destination region;
  ``baseline(intensity, job)``: running now at the origin.

One kernel prices every window: ``window_sums`` (prefix sums, ``prefix_sums``: the sum of any
window of a row in O(1), infinite where the window holds a slot without data or room). The
single-job search (``_cheapest``: the cheapest window, or the cheapest slots of an
interruptible job; used alone, for each interruptible job of a schedule, and to repair a
schedule), the batched search of every contiguous job at once (``_Problem.base``), the exact
model's columns and the Lagrangian rounds (prefix sums of the slot prices) all price windows
with it; every job's regions are ranked by one function (``_rank``).

Outputs: ``Placement`` (region, slots, compute_g, transfer_g, total_g, segments),
``JobResult`` (best, ranked alternatives, baseline, saving_g, saving_pct), ``ScheduleResult``
(results per job in input order, totals, lower bound, gap, method, optimal flag, seconds).

Model
-----
Compute emissions = sum over the slots run of energy_kwh_per_slot x intensity. Transfer
emissions (only when the region differs from the origin and data moves): (input_gb +
output_gb) x kWh/GB x the mean of the two ends' intensities, each end's intensity being its
mean over the job's window: the network energy is split evenly between the two ends, and a
transfer is not itself scheduled, so the window mean is the expected intensity it meets.
kWh/GB: Aslan, Mayers, Koomey, France, "Electricity Intensity of Internet Data Transmission:
Untangling the Estimates", Journal of Industrial Ecology 22(4), 2018: 0.06 kWh/GB in 2015,
halving about every two years (``transfer_kwh_per_gb(year)``); the default is that trend
carried to 2024 (~0.0027 kWh/GB), and every call takes ``transfer_kwh_per_gb=`` to override.
(The original service summed per-hop router/WDM W/Gbps figures along a traced route; it had
no per-GB figure.)

Baseline ("run now at the original location"): contiguous from earliest_start at the
origin, no transfer. Without an origin, or without data there, there is no baseline and
savings are None.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

TRANSFER_KWH_PER_GB_2015 = 0.06   # Aslan et al. 2018, table/abstract: 0.06 kWh/GB for 2015
TRANSFER_HALVING_YEARS = 2.0      # same paper: intensity halves roughly every 2 years since 2000
DEFAULT_TRANSFER_YEAR = 2024


def transfer_kwh_per_gb(year: float = DEFAULT_TRANSFER_YEAR) -> float:
    """Network energy per GB moved in `year`, by Aslan et al. (2018)'s 2015 figure and trend."""
    return TRANSFER_KWH_PER_GB_2015 * 0.5 ** ((year - 2015) / TRANSFER_HALVING_YEARS)


DEFAULT_TRANSFER_KWH_PER_GB = transfer_kwh_per_gb()


@dataclass(frozen=True)
class Job:
    """One run to place on the slot grid: it must run `runtime_slots` slots inside
    [earliest_start, deadline) (slot indices; deadline exclusive), in one region."""

    energy_kwh_per_slot: float
    runtime_slots: int
    earliest_start: int
    deadline: int
    interruptible: bool = False           # may run in any `runtime_slots` slots of the window
    input_gb: float = 0.0
    output_gb: float = 0.0
    origin: int | None = None             # region index of the data and of the baseline
    regions: tuple[int, ...] | None = None  # allowed region indices; None = every region

    def __post_init__(self) -> None:
        if self.runtime_slots < 1:
            raise ValueError(f"runtime_slots must be >= 1, got {self.runtime_slots}")
        if self.earliest_start < 0:
            raise ValueError(f"earliest_start must be >= 0, got {self.earliest_start}")
        if not (self.energy_kwh_per_slot >= 0 and self.input_gb >= 0 and self.output_gb >= 0):
            raise ValueError("energy and data sizes must be >= 0")

    @property
    def latest_start(self) -> int:
        """Last start slot that still finishes by the deadline (when run contiguously)."""
        return self.deadline - self.runtime_slots

    @property
    def data_gb(self) -> float:
        return self.input_gb + self.output_gb


@dataclass(frozen=True)
class Placement:
    """Where and when one job runs, and what it emits there (grams CO2eq)."""

    region: int
    slots: tuple[int, ...]                # sorted slot indices it runs in
    compute_g: float
    transfer_g: float

    @property
    def total_g(self) -> float:
        return self.compute_g + self.transfer_g

    @property
    def start(self) -> int:
        return self.slots[0]

    @property
    def end(self) -> int:
        """Exclusive end slot of the last segment."""
        return self.slots[-1] + 1

    @property
    def segments(self) -> list[tuple[int, int]]:
        """Contiguous runs as [start, end) slot pairs (one pair unless interrupted)."""
        s = np.asarray(self.slots)
        breaks = np.flatnonzero(np.diff(s) != 1) + 1
        starts = np.concatenate(([s[0]], s[breaks]))
        ends = np.concatenate((s[breaks - 1] + 1, [s[-1] + 1]))
        return [(int(a), int(b)) for a, b in zip(starts, ends)]


@dataclass(frozen=True)
class JobResult:
    """The chosen placement of one job (None: no region has data or room for it), the best
    placement in every feasible region ranked by total emissions, and the baseline."""

    best: Placement | None
    alternatives: tuple[Placement, ...]
    baseline: Placement | None

    @property
    def saving_g(self) -> float | None:
        if self.best is None or self.baseline is None:
            return None
        return self.baseline.total_g - self.best.total_g

    @property
    def saving_pct(self) -> float | None:
        if self.saving_g is None or self.baseline.total_g <= 0:
            return None
        return 100.0 * self.saving_g / self.baseline.total_g


@dataclass(frozen=True)
class ScheduleResult:
    """Placements of many jobs under capacity. `lower_bound_g` is proven (LP relaxation or its
    Lagrangian bound), so the schedule is within `gap` (relative) of the optimum."""

    results: tuple[JobResult, ...]        # in the order of the jobs given
    total_g: float                        # of the placed jobs
    baseline_g: float | None              # sum of the placed jobs' baselines (None if one lacks it)
    lower_bound_g: float
    gap: float                            # (total_g - lower_bound_g) / lower_bound_g
    optimal: bool                         # gap within the solver tolerance
    method: str                           # "independent", "milp" or "lagrangian"
    seconds: float
    unplaced: tuple[int, ...] = field(default=())  # job indices that fit nowhere

    @property
    def saving_g(self) -> float | None:
        return None if self.baseline_g is None else self.baseline_g - self.total_g

    @property
    def saving_pct(self) -> float | None:
        if self.baseline_g is None or self.baseline_g <= 0:
            return None
        return 100.0 * self.saving_g / self.baseline_g


# --------------------------------------------------------------------------- one workload

def _check_intensity(intensity: np.ndarray) -> np.ndarray:
    array = np.asarray(intensity, dtype=float)
    if array.ndim != 2:
        raise ValueError(f"intensity must be regions x slots, got shape {array.shape}")
    return array


def _window(job: Job, n_slots: int) -> tuple[int, int]:
    return job.earliest_start, min(job.deadline, n_slots)


def _allowed(job: Job, n_regions: int) -> np.ndarray:
    mask = np.zeros(n_regions, dtype=bool)
    if job.regions is None:
        mask[:] = True
    else:
        for r in job.regions:
            if not 0 <= r < n_regions:
                raise ValueError(f"region index {r} outside 0..{n_regions - 1}")
            mask[r] = True
    return mask


def transfer_emissions(intensity: np.ndarray, job: Job,
                       kwh_per_gb: float = DEFAULT_TRANSFER_KWH_PER_GB) -> np.ndarray:
    """Transfer grams per destination region (0 at the origin, NaN where the destination has
    no data in the window): data_gb x kWh/GB x mean of the two ends' window-mean intensities
    (the destination's alone when the origin has no data)."""
    intensity = _check_intensity(intensity)
    n_regions, n_slots = intensity.shape
    out = np.zeros(n_regions)
    if job.origin is None or job.data_gb == 0 or kwh_per_gb == 0:
        return out
    lo, hi = _window(job, n_slots)
    window = intensity[:, lo:hi]
    finite = np.isfinite(window)
    counts = finite.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(finite, window, 0.0).sum(axis=1) / counts
    means[counts == 0] = np.nan
    # an origin without data in the window: the destination's intensity stands for both ends
    origin = means[job.origin] if np.isfinite(means[job.origin]) else means
    out = job.data_gb * kwh_per_gb * (means + origin) / 2.0
    out[job.origin] = 0.0
    return out


def prefix_sums(values: np.ndarray, axis: int = -1, dtype=float) -> np.ndarray:
    """Running sums along `axis` with a leading zero: the sum over slots [a, b) is p[b] - p[a]
    (taken along that axis). The first half of the window-cost kernel."""
    shape = list(values.shape)
    shape[axis] += 1
    sums = np.zeros(shape, dtype=dtype)
    inner = [slice(None)] * len(shape)
    inner[axis] = slice(1, None)
    np.cumsum(values, axis=axis, out=sums[tuple(inner)])
    return sums


def window_sums(values: np.ndarray, starts: np.ndarray | slice, ends: np.ndarray | slice) -> np.ndarray:
    """The window-cost kernel: for each row of `values` (rows x slots), the sum over every
    window [starts, ends) (integer arrays of one shape, or slices for consecutive windows), by
    prefix sums; inf where the window holds a value that is not finite (no data, or no room).
    Shape: rows x the windows'."""
    finite = np.isfinite(values)
    sums = prefix_sums(np.where(finite, values, 0.0))
    holes = prefix_sums(~finite, dtype=np.int32)
    totals = sums[:, ends] - sums[:, starts]
    totals[(holes[:, ends] - holes[:, starts]) > 0] = np.inf
    return totals


def _cheapest_slots(window: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row the `count` cheapest slots (earliest first among equals) and their sum (inf
    when fewer than `count` slots have data)."""
    values = np.where(np.isfinite(window), window, np.inf)
    order = np.argsort(values, axis=1, kind="stable")[:, :count]
    chosen = np.take_along_axis(values, order, axis=1)
    return np.sort(order, axis=1), chosen.sum(axis=1)


def _cheapest(priced: np.ndarray, job: Job) -> tuple[np.ndarray, np.ndarray]:
    """The single-job search, on the job's window: per row of `priced` (grams of each slot of
    the window; not finite where the job cannot run), the least grams of a placement (inf where
    none fits) and where it is: the offset of the cheapest `runtime_slots`-long window, or for an
    interruptible job the sorted offsets of its cheapest `runtime_slots` slots (rows x slots)."""
    n_rows, width = priced.shape
    d = job.runtime_slots
    if width < d:
        return np.full(n_rows, np.inf), np.zeros((n_rows, d) if job.interruptible else n_rows, dtype=int)
    if job.interruptible:
        chosen, costs = _cheapest_slots(priced, d)
        return costs, chosen
    totals = window_sums(priced, slice(0, width - d + 1), slice(d, width + 1))
    first = np.argmin(totals, axis=1)
    return totals[np.arange(n_rows), first], first


def _offsets(job: Job, where: np.ndarray, row: int) -> np.ndarray:
    """The slots (offsets into the window) _cheapest found for one row."""
    return where[row] if job.interruptible else np.arange(where[row], where[row] + job.runtime_slots)


def _search(intensity: np.ndarray, job: Job, transfer: np.ndarray,
            allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One job's cheapest placement in each region: its total grams (inf where the region is
    not allowed or nothing fits) and where it is, as _cheapest answers."""
    lo, hi = _window(job, intensity.shape[1])
    costs, where = _cheapest(job.energy_kwh_per_slot * intensity[:, lo:hi], job)
    return np.where(allowed, costs, np.inf) + transfer, where


def _rank(grams: np.ndarray, keep: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The ranking: in each column (a job) of `grams` (regions x jobs), the regions cheapest
    first (a tie to the lower index), the first `keep` of them; and which of those are feasible."""
    ranks = np.argsort(grams, axis=0, kind="stable")[:keep]
    return ranks, np.take_along_axis(np.isfinite(grams), ranks, axis=0)


def _found(intensity: np.ndarray, job: Job, transfer: np.ndarray, where: np.ndarray, ranks: np.ndarray,
           feasible: np.ndarray) -> tuple[Placement, ...]:
    """The ranked placements _search found for one job, its infeasible regions left out."""
    return tuple(_placement(intensity, job, r, job.earliest_start + _offsets(job, where, r), transfer)
                 for r, ok in zip(ranks.tolist(), feasible.tolist()) if ok)


def _placement(intensity: np.ndarray, job: Job, region: int, slots, transfer: np.ndarray) -> Placement:
    slots = np.asarray(slots)
    compute = float(job.energy_kwh_per_slot * intensity[region, slots].sum())
    return Placement(int(region), tuple(slots.tolist()), compute, float(transfer[region]))


def baseline(intensity: np.ndarray, job: Job) -> Placement | None:
    """Running now at the origin: contiguous from earliest_start, no transfer; None without
    an origin or without data for those slots."""
    intensity = _check_intensity(intensity)
    if job.origin is None:
        return None
    slots = np.arange(job.earliest_start, job.earliest_start + job.runtime_slots)
    if slots[-1] >= intensity.shape[1] or not np.isfinite(intensity[job.origin, slots]).all():
        return None
    return _placement(intensity, job, job.origin, slots, np.zeros(intensity.shape[0]))


def best_placements(intensity: np.ndarray, job: Job,
                    transfer_kwh_per_gb: float = DEFAULT_TRANSFER_KWH_PER_GB,
                    alternatives: int | None = None) -> JobResult:
    """One job alone: the best placement per allowed region, ranked by total emissions (the
    best `alternatives` of them; None: every region)."""
    intensity = _check_intensity(intensity)
    transfer = transfer_emissions(intensity, job, transfer_kwh_per_gb)
    grams, where = _search(intensity, job, transfer, _allowed(job, intensity.shape[0]))
    ranks, feasible = _rank(grams[:, None], _keep(alternatives))
    found = _found(intensity, job, transfer, where, ranks[:, 0], feasible[:, 0])
    return JobResult(found[0] if found else None, found, baseline(intensity, job))


# --------------------------------------------------------------------------- many workloads

# Largest time-indexed model (non-zeros of its capacity rows) solved directly as one MILP;
# beyond it the Lagrangian relaxation bounds the optimum and a repair heuristic schedules.
COMPACT_MAX_NONZEROS = 300_000
THETA_START, THETA_PATIENCE = 1.0, 5   # subgradient step factor; halved after this many rounds without progress
TARGET_MARGIN = 0.05
SMOOTHING = 0.8                         # weight of the past in the averaged prices repairs use
REPAIR_EVERY = 12                       # rounds between repairs of the relaxed placements


def schedule(intensity: np.ndarray, jobs: list[Job], capacity=None, *,
             time_limit: float = 1.8, mip_rel_gap: float = 1e-4,
             transfer_kwh_per_gb: float = DEFAULT_TRANSFER_KWH_PER_GB,
             exact: bool | None = None, alternatives: int | None = None) -> ScheduleResult:
    """Place all jobs at once, each in one region, minimising total emissions under
    `capacity` (jobs running at once per region and slot), within about `time_limit`
    seconds (preparation included). `exact`: force (True) or forbid (False) the direct MILP;
    None decides by size. `alternatives`: how many ranked alternatives each job's result
    keeps (None: one per feasible region)."""
    began = time.perf_counter()
    intensity = _check_intensity(intensity)
    cap = _capacity_grid(capacity, intensity.shape)
    problem = _Problem(intensity, list(jobs), cap, transfer_kwh_per_gb, alternatives)
    own = [s.best for s in problem.singles]
    if cap is None or (_usage(own, intensity.shape) <= cap).all():
        lower = float(sum(p.total_g for p in own if p is not None))
        return _result(problem.singles, own, lower, "independent", True, began)
    deadline = began + time_limit
    found = None
    if exact or (exact is None and problem.compact_nonzeros() <= COMPACT_MAX_NONZEROS):
        found = problem.solve_compact(deadline - time.perf_counter(), mip_rel_gap)
    if found is None:
        found = problem.solve_lagrangian(deadline, mip_rel_gap)
    chosen, lower, method = found
    total = sum(p.total_g for p in chosen if p is not None)
    unplaced = sum(p is None and s.best is not None for p, s in zip(chosen, problem.singles))
    # Jobs that found no room cost a penalty above any placement in the solver's objective.
    optimal = _gap(total + problem.penalty * unplaced, lower) <= mip_rel_gap + 1e-9
    return _result(problem.singles, chosen, _placed_bound(problem, chosen, lower, unplaced, total),
                   method, optimal, began)


def _placed_bound(problem: "_Problem", chosen: list[Placement | None], lower: float, unplaced: int,
                  total: float) -> float:
    """A proven lower bound on the grams of the jobs placed. The solver's bound, less the
    penalties of the jobs left without room, bounds schedules that place as many jobs; with
    many unplaced that is near 0 g (the penalties dwarf the grams), so each placed job at its
    own best placement, a bound too, is taken when it is higher. Never above the schedule."""
    bound = lower - problem.penalty * unplaced
    if unplaced:
        bound = max(bound, sum(s.best.total_g for p, s in zip(chosen, problem.singles) if p is not None))
    return min(total, bound)


def _keep(alternatives: int | None) -> int | None:
    """How many ranked alternatives to build (a slice end; None: all); at least the best."""
    return None if alternatives is None else max(1, alternatives)


def _capacity_grid(capacity, shape: tuple[int, int]) -> np.ndarray | None:
    if capacity is None:
        return None
    cap = np.asarray(capacity, dtype=float)
    if cap.ndim == 1:
        cap = np.repeat(cap[:, None], shape[1], axis=1)
    if cap.shape != shape:
        raise ValueError(f"capacity must be (regions,) or {shape}, got {cap.shape}")
    if (cap < 0).any() or np.isnan(cap).any():
        raise ValueError("capacity must be >= 0 (np.inf for unlimited)")
    return cap


def _usage(placements: list[Placement | None], shape: tuple[int, int]) -> np.ndarray:
    used = np.zeros(shape)
    placed = [p for p in placements if p is not None]
    if placed:
        regions = np.repeat([p.region for p in placed], [len(p.slots) for p in placed])
        np.add.at(used, (regions, np.concatenate([p.slots for p in placed]).astype(int)), 1.0)
    return used


def _gap(total: float, lower: float) -> float:
    if lower <= 0:
        return 0.0 if total <= lower + 1e-9 else math.inf
    return max(0.0, (total - lower) / lower)


def _result(singles: list[JobResult], chosen: list[Placement | None], lower: float,
            method: str, optimal: bool, began: float) -> ScheduleResult:
    results = tuple(JobResult(p, s.alternatives, s.baseline) for s, p in zip(singles, chosen))
    total = float(sum(p.total_g for p in chosen if p is not None))
    # the baseline covers the same runs as the total (the placed ones), else the saving
    # would count the runs that were never placed as saved
    baselines = [s.baseline for s, p in zip(singles, chosen) if p is not None]
    base = None if any(b is None for b in baselines) else float(sum(b.total_g for b in baselines))
    unplaced = tuple(i for i, p in enumerate(chosen) if p is None)
    lower = max(0.0, lower)   # emissions are never negative: neither is a bound on them
    return ScheduleResult(results, total, base, lower, _gap(total, lower), optimal, method,
                          time.perf_counter() - began, unplaced)


Pick = tuple[int, np.ndarray]   # (region, slots) of one job, before it becomes a Placement


class _Picks:
    """The relaxed placements of one pricing round, as arrays; `get(j)` gives one job's."""

    def __init__(self, problem: "_Problem", c_region, c_start, i_region, i_chosen) -> None:
        self.problem, self.c_region, self.c_start = problem, c_region, c_start
        self.i_region, self.i_chosen = i_region, i_chosen

    def get(self, j: int) -> Pick | None:
        p = self.problem
        i = p.position[j]
        if p.jobs[j].interruptible:
            r = int(self.i_region[i])
            return None if r < 0 else (r, p.i_slots[i, self.i_chosen[i]])
        r = int(self.c_region[i])
        start = int(self.c_start[i])
        return None if r < 0 else (r, np.arange(start, start + p.jobs[j].runtime_slots))


class _Problem:
    """Jobs coupled by capacity.

    Exact model (solved directly when small): one binary per (job, region, start) for
    contiguous jobs; for interruptible ones a binary region choice z and a binary per slot y
    with sum_t y = runtime * z; every (region, slot) holds at most cap jobs; one "unplaced"
    slack per job at a cost above any placement, so a schedule always exists.

    Large instances never build it. Relaxing the capacity rows with slot prices lambda >= 0
    splits the problem into one search per job (the prefix-sum search of a single job, on
    intensity plus prices, for all contiguous jobs in a few array operations), and
    L(lambda) = sum_j min_p (c_p + lambda.a_p) - lambda.cap is a proven lower bound on the
    optimum (the LP relaxation's bound at the best lambda). Subgradient steps raise it; each
    round's relaxed placements are repaired into a schedule that fits."""

    def __init__(self, intensity: np.ndarray, jobs: list[Job], cap: np.ndarray | None,
                 kwh_per_gb: float, alternatives: int | None = None) -> None:
        began = time.perf_counter()
        self.intensity, self.jobs, self.cap = intensity, jobs, cap
        self.shape = intensity.shape
        self.transfer = [transfer_emissions(intensity, job, kwh_per_gb) for job in jobs]
        masks: dict[tuple[int, ...] | None, np.ndarray] = {}   # jobs of one workload share their regions
        self.allowed = [masks[job.regions] if job.regions in masks
                        else masks.setdefault(job.regions, _allowed(job, self.shape[0])) for job in jobs]
        self._prepare_batch()
        self.worst = 1.0                      # the costliest region-best placement of any job
        self.singles = self._singles(_keep(alternatives))
        self.placeable = [s.best is not None for s in self.singles]
        self.penalty = 10.0 * self.worst + 1.0
        # a pass over every job, as a repair makes: what a repair costs until one is timed
        self.setup_seconds = time.perf_counter() - began
        # repair order: largest energy first, as they gain or lose most by a slot
        self.order = sorted((j for j in range(len(jobs)) if self.placeable[j]),
                            key=lambda j: -jobs[j].energy_kwh_per_slot * jobs[j].runtime_slots)

    # ----------------------------------------------------------------- one search per job
    def _prepare_batch(self) -> None:
        """Padded (regions x jobs x starts) grams of every contiguous placement."""
        n_regions, n_slots = self.shape
        self.contiguous = np.array([j for j, job in enumerate(self.jobs) if not job.interruptible], dtype=int)
        self.interrupted = [j for j, job in enumerate(self.jobs) if job.interruptible]
        jobs = [self.jobs[j] for j in self.contiguous]
        lo = np.array([job.earliest_start for job in jobs], dtype=int)
        d = np.array([job.runtime_slots for job in jobs], dtype=int)
        n = np.array([min(job.deadline, n_slots) for job in jobs], dtype=int) - lo - d + 1
        width = max(1, int(n.max())) if n.size else 1
        offsets = np.arange(width)
        valid = offsets[None, :] < n[:, None]
        self.starts = np.where(valid, lo[:, None] + offsets[None, :], 0)
        self.ends = np.where(valid, self.starts + d[:, None], 0)
        energy = np.array([job.energy_kwh_per_slot for job in jobs])
        with np.errstate(invalid="ignore"):   # 0 kWh x a window without data: NaN, made inf below
            base = energy[None, :, None] * window_sums(self.intensity, self.starts, self.ends)
        self.energy = energy
        self.c_transfer = (np.stack([self.transfer[j] for j in self.contiguous], axis=1) if jobs
                           else np.zeros((n_regions, 0)))                          # regions x jobs
        base += self.c_transfer[:, :, None]
        base[:, ~valid] = np.inf
        if jobs:
            base[~np.stack([self.allowed[j] for j in self.contiguous], axis=1)] = np.inf
        base[np.isnan(base)] = np.inf
        self.base, self.width, self.runtime = base, width, d
        self.position = {int(j): i for i, j in enumerate(self.contiguous)}
        self.position.update({j: i for i, j in enumerate(self.interrupted)})
        self.base_by_job = np.ascontiguousarray(base.transpose(1, 2, 0))   # jobs x starts x regions
        self._prepare_interrupted()

    def _prepare_interrupted(self) -> None:
        """Padded (regions x jobs x window slots) grams of each slot of each interruptible job."""
        n_regions, n_slots = self.shape
        jobs = [self.jobs[j] for j in self.interrupted]
        lo = np.array([job.earliest_start for job in jobs], dtype=int)
        n = np.array([min(job.deadline, n_slots) for job in jobs], dtype=int) - lo
        width = max(1, int(n.max())) if n.size else 1
        offsets = np.arange(width)
        valid = offsets[None, :] < n[:, None]
        self.i_slots = np.where(valid, lo[:, None] + offsets[None, :], 0)
        energy = np.array([job.energy_kwh_per_slot for job in jobs])
        base = energy[None, :, None] * self.intensity[:, self.i_slots]
        base[:, ~valid] = np.inf
        if jobs:
            base[~np.stack([self.allowed[j] for j in self.interrupted], axis=1)] = np.inf
        base[np.isnan(base)] = np.inf
        self.i_base = base
        self.i_runtime = np.array([job.runtime_slots for job in jobs], dtype=int)
        self.i_transfer = (np.stack([self.transfer[j] for j in self.interrupted], axis=1)
                           if jobs else np.zeros((n_regions, 0)))

    def _singles(self, keep: int | None) -> list[JobResult]:
        """Every job on its own: its cheapest placement in each region (all contiguous jobs at
        once on `base`, each interruptible one by _cheapest), the regions ranked by grams in one
        pass for every job (the first `keep` kept), and its baseline."""
        grams = np.full((self.shape[0], len(self.jobs)), np.inf)                   # regions x jobs
        column = np.argmin(self.base, axis=2)                                       # regions x contiguous jobs
        grams[:, self.contiguous] = np.take_along_axis(self.base, column[:, :, None], axis=2)[:, :, 0]
        where: dict[int, np.ndarray] = {}
        for j in self.interrupted:
            grams[:, j], where[j] = _search(self.intensity, self.jobs[j], self.transfer[j], self.allowed[j])
        finite = np.isfinite(grams)
        if finite.any():
            self.worst = max(self.worst, float(grams[finite].max()))
        ranks, ok = _rank(grams, keep)                                              # kept ranks x jobs
        alternatives: list[tuple[Placement, ...]] = [()] * len(self.jobs)
        if self.contiguous.size:
            jobs = np.arange(self.contiguous.size)
            c_ranks = ranks[:, self.contiguous]
            starts = self.starts[jobs[None, :], column[c_ranks, jobs[None, :]]]
            # compute grams straight from the intensity of the slots run (as every placement's)
            compute = self._contiguous_compute(c_ranks, starts)
            transfer = self.c_transfer[c_ranks, jobs[None, :]]
            columns = zip(self.contiguous.tolist(), c_ranks.T.tolist(), starts.T.tolist(), compute.T.tolist(),
                          transfer.T.tolist(), ok[:, self.contiguous].T.tolist())   # lists: numpy per element is slow
            for j, regions, first, grams_c, grams_t, feasible in columns:
                d = self.jobs[j].runtime_slots
                alternatives[j] = tuple(Placement(r, tuple(range(a, a + d)), c, t)
                                        for r, a, c, t, f in zip(regions, first, grams_c, grams_t, feasible) if f)
        for j in self.interrupted:
            alternatives[j] = _found(self.intensity, self.jobs[j], self.transfer[j], where[j], ranks[:, j], ok[:, j])
        return [JobResult(found[0] if found else None, found, baseline(self.intensity, job))
                for job, found in zip(self.jobs, alternatives)]

    def _contiguous_compute(self, regions: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Compute grams of contiguous jobs (columns) run in `regions` from `starts` (both
        ranks x jobs): energy x the sum of the slots' intensities, slot by slot."""
        runtime = self.runtime[None, :]
        longest = int(self.runtime.max())
        total = np.zeros(regions.shape)
        for step in range(longest):   # runtimes are a few slots: a loop over them, not over jobs
            inside = step < runtime
            slot = np.minimum(starts + step, self.shape[1] - 1)
            total += np.where(inside, self.intensity[regions, slot], 0.0)
        return self.energy[None, :] * total

    def _placement(self, j: int, region: int, slots: np.ndarray) -> Placement:
        return _placement(self.intensity, self.jobs[j], region, slots, self.transfer[j])

    # ----------------------------------------------------------------- exact MILP
    def compact_nonzeros(self) -> int:
        n_regions, n_slots = self.shape
        total = 0
        for job, ok in zip(self.jobs, self.placeable):
            lo, hi = _window(job, n_slots)
            width = max(0, hi - lo)
            if ok:
                total += n_regions * (width if job.interruptible
                                      else max(0, width - job.runtime_slots + 1) * job.runtime_slots)
        return total

    def solve_compact(self, seconds: float, mip_rel_gap: float):
        """The exact MILP with HiGHS; None if it found no schedule in time."""
        n_regions, n_slots = self.shape
        costs, eq, links, cells, decode = [], [], [], [], []
        n_vars = 0

        def new(cost: np.ndarray) -> np.ndarray:
            nonlocal n_vars
            ids = np.arange(n_vars, n_vars + cost.size)
            n_vars += cost.size
            costs.append(np.asarray(cost, dtype=float))
            return ids

        placeable = [j for j in range(len(self.jobs)) if self.placeable[j]]
        for row, j in enumerate(placeable):
            job = self.jobs[j]
            lo, hi = _window(job, n_slots)
            d, allowed = job.runtime_slots, _allowed(job, n_regions)
            priced = job.energy_kwh_per_slot * self.intensity[:, lo:hi]
            if not job.interruptible:
                totals = window_sums(priced, slice(0, hi - lo - d + 1), slice(d, hi - lo + 1))
                totals += self.transfer[j][:, None]
                totals[~allowed] = np.inf
                rr, ss = np.nonzero(np.isfinite(totals))
                ids = new(totals[rr, ss])
                eq.append((np.full(ids.size, row), ids, np.ones(ids.size)))
                run = (rr * n_slots + lo + ss)[:, None] + np.arange(d)[None, :]
                cells.append((run.ravel(), np.repeat(ids, d)))
                decode.append((False, j, rr, lo + ss, ids))
                continue
            for r in np.flatnonzero(allowed & np.isfinite(self.transfer[j])).tolist():
                slots = np.flatnonzero(np.isfinite(priced[r]))
                if slots.size < d:
                    continue
                z = new(np.array([self.transfer[j][r]]))
                y = new(priced[r, slots])
                eq.append((np.array([row]), z, np.ones(1)))
                links.append((np.full(y.size + 1, len(links)), np.concatenate((z, y)),
                              np.concatenate(([-float(d)], np.ones(y.size)))))
                cells.append((r * n_slots + lo + slots, y))
                decode.append((True, j, r, lo + slots, np.concatenate((z, y))))
        slack = new(np.full(len(placeable), self.penalty))
        eq.append((np.arange(len(placeable)), slack, np.ones(len(placeable))))

        def matrix(parts, n_rows):
            rows, cols, vals = (np.concatenate(p) for p in zip(*parts))
            return sparse.csr_matrix((vals, (rows, cols)), shape=(n_rows, n_vars))

        constraints = [LinearConstraint(matrix(eq, len(placeable)), 1, 1)]
        if links:
            constraints.append(LinearConstraint(matrix(links, len(links)), 0, 0))
        cell, owner = (np.concatenate(p) for p in zip(*cells))
        flat_cap = self.cap.ravel()
        limited = np.isfinite(flat_cap[cell])
        rows, row_cells = np.unique(cell[limited], return_inverse=True)
        a_cap = sparse.csr_matrix((np.ones(row_cells.size), (row_cells, owner[limited])),
                                  shape=(rows.size, n_vars))
        constraints.append(LinearConstraint(a_cap, -np.inf, flat_cap[rows]))
        res = milp(np.concatenate(costs), integrality=np.ones(n_vars), bounds=Bounds(0, 1),
                   constraints=constraints,
                   options={"time_limit": max(0.05, seconds), "mip_rel_gap": mip_rel_gap})
        if res.x is None:
            return None
        x = res.x > 0.5
        chosen: list[Placement | None] = [None] * len(self.jobs)
        for interruptible, j, r, where, ids in decode:
            if interruptible:
                if x[ids[0]]:
                    chosen[j] = self._placement(j, r, where[x[ids[1:]]])
            else:
                for k in np.flatnonzero(x[ids]).tolist():
                    start = int(where[k])
                    chosen[j] = self._placement(j, int(r[k]), np.arange(start, start + self.jobs[j].runtime_slots))
        bound = getattr(res, "mip_dual_bound", None)
        lower = float(bound) if bound is not None and np.isfinite(bound) else -math.inf
        return chosen, min(max(lower, 0.0), float(res.fun)), "milp"

    # ----------------------------------------------------------------- Lagrangian relaxation
    def _relaxed(self, prices: np.ndarray) -> tuple[float, "_Picks", np.ndarray]:
        """Every job at its cheapest placement under slot `prices`, capacity ignored: the sum
        of those priced grams, the placements and the resulting jobs per (region, slot).
        Array operations only; placements become slot lists only when a repair asks."""
        n_regions, n_slots = self.shape
        value = 0.0
        starts_diff = np.zeros((n_regions, n_slots + 1))
        c_region = np.full(self.contiguous.size, -1)
        c_start = np.zeros(self.contiguous.size, dtype=int)
        if self.contiguous.size:
            running = prefix_sums(prices.T, axis=0)       # slots first: gathers give jobs x starts x regions
            priced = self.base_by_job + (running[self.ends] - running[self.starts])
            flat = priced.reshape(self.contiguous.size, -1)
            k = np.argmin(flat, axis=1)
            best = flat[np.arange(self.contiguous.size), k]
            ok = np.flatnonzero(np.isfinite(best))
            value += float(np.minimum(best[ok], self.penalty).sum())
            column, region = np.divmod(k[ok], n_regions)
            c_region[ok] = region
            c_start[ok] = self.starts[ok, column]
            np.add.at(starts_diff, (region, c_start[ok]), 1.0)
            np.add.at(starts_diff, (region, c_start[ok] + self.runtime[ok]), -1.0)
        usage = np.cumsum(starts_diff, axis=1)[:, :n_slots]
        i_region = np.full(len(self.interrupted), -1)
        i_chosen = np.zeros((len(self.interrupted), 1), dtype=bool)
        if self.interrupted:
            n_jobs = len(self.interrupted)
            priced = self.i_base + prices[:, self.i_slots]
            ranked = np.sort(priced, axis=2)   # (np.partition at every runtime was 10x slower)
            longest = int(self.i_runtime.max())
            cheapest = np.cumsum(ranked[:, :, :longest], axis=2)[:, np.arange(n_jobs), self.i_runtime - 1]
            totals = cheapest + self.i_transfer                                  # regions x jobs
            region = np.argmin(totals, axis=0)
            grams = totals[region, np.arange(n_jobs)]
            ok = np.isfinite(grams)
            value += float(np.minimum(grams[ok], self.penalty).sum())
            rows = priced[region, np.arange(n_jobs)]                             # jobs x window
            order = np.argsort(rows, axis=1, kind="stable")
            i_chosen = np.zeros(rows.shape, dtype=bool)
            np.put_along_axis(i_chosen, order, np.arange(rows.shape[1])[None, :] < self.i_runtime[:, None], axis=1)
            i_chosen &= ok[:, None]
            i_region = np.where(ok, region, -1)
            job_of, column = np.nonzero(i_chosen)
            np.add.at(usage, (i_region[job_of], self.i_slots[job_of, column]), 1.0)
        return value, _Picks(self, c_region, c_start, i_region, i_chosen), usage

    def solve_lagrangian(self, deadline: float, rel_gap: float):
        """Subgradient ascent on the slot prices (Polyak steps towards the best schedule's
        cost, or 5 % above the bound before there is one), repairing the relaxed placements
        into a schedule every few rounds and once more at the end with the prices of the best
        bound, improving every job then while time remains."""
        finite = np.isfinite(self.cap)
        cap = np.where(finite, self.cap, 0.0)
        prices = np.zeros(self.shape)
        value, picks, usage = self._relaxed(prices)
        lower, best_picks, best_prices = value, picks, prices   # prices 0: every job alone
        upper, best_sched = math.inf, None
        theta, stale, rounds = THETA_START, 0, 0
        smooth = prices                      # moving average of the prices: steadier repairs
        # for the last repair: until one is timed, a quarter of the time left or what preparing
        # the jobs took (a repair passes over every job too; 10,000 jobs took 0.4-0.6 s)
        reserve = max(0.25 * (deadline - time.perf_counter()), 1.5 * self.setup_seconds)
        repair_seconds = reserve                             # what a repair on the way costs, when timed
        self.place_seconds = None
        while _gap(upper, lower) > rel_gap:
            excess = np.where(finite, usage - cap, 0.0)
            excess[(prices <= 0) & (excess < 0)] = 0.0   # projected: a free slot cannot get cheaper
            norm = float((excess * excess).sum())
            if norm == 0:                       # the relaxed placements fit as they are
                upper, best_sched = self._better(picks, prices, upper, best_sched)
                break
            if time.perf_counter() + reserve > deadline:     # room for the last repair
                break
            complete = best_sched is not None and all(p is not None or not ok
                                                      for p, ok in zip(best_sched, self.placeable))
            target = upper if complete else lower + TARGET_MARGIN * abs(lower) + 1e-9
            prices = np.maximum(0.0, prices + theta * (target - lower) / norm * excess)
            smooth = SMOOTHING * smooth + (1 - SMOOTHING) * prices
            value, picks, usage = self._relaxed(prices)
            bound = value - float((prices * cap).sum())
            if bound > lower:
                lower, best_picks, best_prices, stale = bound, picks, prices, 0
            else:
                stale += 1
                if stale >= THETA_PATIENCE:
                    theta, stale = theta / 2, 0
            rounds += 1
            if rounds % REPAIR_EVERY == 0 and time.perf_counter() + repair_seconds + reserve < deadline:
                tick = time.perf_counter()
                upper, best_sched = self._better(self._relaxed(smooth)[1], smooth, upper, best_sched)
                repair_seconds = time.perf_counter() - tick
                reserve = 1.5 * self.place_seconds + 0.01
        if best_sched is None or rounds:
            upper, best_sched = self._better(best_picks, best_prices, upper, best_sched, until=deadline)
        chosen = [None if p is None else self._placement(j, p[0], p[1]) for j, p in enumerate(best_sched)]
        return chosen, lower, "lagrangian"

    def _better(self, picks: "_Picks", prices: np.ndarray, upper: float,
                best: list[Pick | None], until: float | None = None) -> tuple[float, list[Pick | None]]:
        sched = self._repair(picks, prices, until)
        cost = self._cost(sched)
        return (cost, sched) if best is None or cost < upper else (upper, best)

    def _cost_of(self, j: int, pick: Pick) -> float:
        r, slots = pick
        return float(self.jobs[j].energy_kwh_per_slot * self.intensity[r, slots].sum() + self.transfer[j][r])

    def _cost(self, sched: list[Pick | None]) -> float:
        return sum((self.penalty if ok else 0.0) if p is None else self._cost_of(j, p)
                   for j, (p, ok) in enumerate(zip(sched, self.placeable)))

    def _cheapest_fit(self, j: int, room: "_Room", prices: np.ndarray | None) -> Pick | None:
        """The job's cheapest placement (with `prices`, if given) in the room left: the
        single-job search, returning only the winner."""
        job = self.jobs[j]
        lo, hi = _window(job, self.shape[1])
        if not room.any_in(lo, hi):   # every slot of the window is full: no search
            return None
        priced = job.energy_kwh_per_slot * self.intensity[:, lo:hi]
        if prices is not None:
            priced = priced + prices[:, lo:hi]
        priced = np.where(room.used[:, lo:hi] < self.cap[:, lo:hi], priced, np.inf)
        costs, where = _cheapest(priced, job)
        totals = costs + self.transfer[j]
        totals[~self.allowed[j]] = np.inf
        r = int(np.argmin(totals))
        if not np.isfinite(totals[r]):
            return None
        return r, lo + _offsets(job, where, r)

    def _repair(self, picks: "_Picks", prices: np.ndarray, until: float | None = None) -> list[Pick | None]:
        """A schedule that fits: relaxed placements kept where they fit (largest jobs first),
        the others at their cheapest priced placement in the room left; then those others
        (and, with `until`, every job until that time) move to their cheapest true-cost
        placement given the rest."""
        room = _Room(self.cap)
        sched: list[Pick | None] = [None] * len(self.jobs)
        for j in self.order:
            p = picks.get(j)
            if p is not None and room.fits(p):
                room.take(p)
                sched[j] = p
        displaced = [j for j in self.order if sched[j] is None]
        tick = time.perf_counter()
        for j in displaced:
            sched[j] = self._cheapest_fit(j, room, prices)
            if sched[j] is not None:
                room.take(sched[j])
        self.place_seconds = time.perf_counter() - tick   # what a repair cannot skip
        for n, j in enumerate(displaced if until is None else displaced + self.order + self.order):
            if until is not None and n % 32 == 0 and time.perf_counter() > until:
                break
            own = self.singles[j].best.total_g
            current = None if sched[j] is None else self._cost_of(j, sched[j])
            if current is not None and current <= own + 1e-9 * max(1.0, own):
                continue
            if sched[j] is not None:
                room.release(sched[j])
            better = self._cheapest_fit(j, room, None)
            if better is not None and (current is None or self._cost_of(j, better) < current):
                sched[j] = better
            if sched[j] is not None:
                room.take(sched[j])
        return sched


class _Room:
    """Jobs running per (region, slot) against the capacity, and per slot how many regions
    still have room there: a job whose whole window is full is refused without a search (with
    thousands of jobs and little room, those searches were most of a repair)."""

    def __init__(self, cap: np.ndarray) -> None:
        self.cap = cap
        self.used = np.zeros(cap.shape)
        self.free = (cap > 0).sum(axis=0)

    def fits(self, pick: Pick) -> bool:
        r, slots = pick
        return bool((self.used[r, slots] < self.cap[r, slots]).all())

    def any_in(self, lo: int, hi: int) -> bool:
        return bool(self.free[lo:hi].any())

    def take(self, pick: Pick) -> None:
        r, slots = pick
        self.used[r, slots] += 1
        self.free[slots[self.used[r, slots] == self.cap[r, slots]]] -= 1   # cells that just filled

    def release(self, pick: Pick) -> None:
        r, slots = pick
        self.free[slots[self.used[r, slots] == self.cap[r, slots]]] += 1   # cells about to have room again
        self.used[r, slots] -= 1
