"""Carbon-aware placement of workloads in space (regions) and time (slots): exact for one
workload, optimal or bounded-gap for many workloads sharing regional capacity.

Interface
---------
Inputs (pure numpy; the service builds them, nothing here knows about datetimes beyond the
grid helpers, Flask or SQL):

- ``intensity``: float array (regions x slots), gCO2eq/kWh on one common UTC slot grid
  (slot k covers [grid_start + k*slot, grid_start + (k+1)*slot)); NaN = no data, and a
  placement that would run in a NaN slot is impossible.
- ``Job``: one run to place: energy per slot (kWh), runtime in slots, window
  [earliest_start, deadline) in slots, interruptible or not, input/output data (GB), origin
  region index (where the data lives and where "run now" is measured), allowed regions.
  ``job_from_times()`` makes one from datetimes on a grid.
- ``capacity``: None (unlimited), or an array (regions,) or (regions x slots): how many jobs
  may run at once in a region's slot; ``np.inf`` = unlimited.

Calls:

- ``best_placements(intensity, job) -> JobResult``: per allowed region the cheapest start (or,
  interruptible, the cheapest set of slots) in the window, ranked; plus the baseline.
- ``schedule(intensity, jobs, capacity, time_limit=...) -> ScheduleResult``: all jobs at once
  under capacity. Without binding capacity every job gets its own optimum (exact). Otherwise
  column generation on the LP relaxation (HiGHS via scipy) gives a proven lower bound, and a
  MILP (``scipy.optimize.milp``, HiGHS, time limit) over the generated placements, or LP
  rounding / greedy past the limit, gives the schedule; ``gap`` is its distance to the bound.
- ``placement_emissions(intensity, job, region, slots)``: (compute_g, transfer_g) of any
  placement, the one formula every result and test uses.

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
from datetime import datetime, timedelta

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

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
    baseline_g: float | None              # sum of baselines (None if any job lacks one)
    lower_bound_g: float
    gap: float                            # (total_g - lower_bound_g) / lower_bound_g
    optimal: bool                         # gap within the solver tolerance
    method: str                           # "independent", "milp", "lp-rounding" or "greedy"
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


# --------------------------------------------------------------------------- grid helpers

def slot_of(grid_start: datetime, slot: timedelta, moment: datetime, *, ceil: bool) -> int:
    """Index of the slot boundary at or after (ceil) / at or before (floor) `moment`."""
    steps = (moment - grid_start) / slot
    return math.ceil(steps - 1e-9) if ceil else math.floor(steps + 1e-9)


def job_from_times(grid_start: datetime, slot: timedelta, earliest: datetime, deadline: datetime,
                   runtime: timedelta, power_kw: float, *, interruptible: bool = False,
                   input_gb: float = 0.0, output_gb: float = 0.0, origin: int | None = None,
                   regions: tuple[int, ...] | None = None) -> Job:
    """A Job on the grid: the start is rounded up to a slot boundary, the deadline down, the
    runtime up to whole slots; the run's energy (power x runtime) is spread evenly over them."""
    runtime_slots = max(1, math.ceil(runtime / slot - 1e-9))
    energy_kwh = power_kw * runtime.total_seconds() / 3600.0
    return Job(energy_kwh / runtime_slots, runtime_slots,
               max(0, slot_of(grid_start, slot, earliest, ceil=True)),
               slot_of(grid_start, slot, deadline, ceil=False),
               interruptible, input_gb, output_gb, origin, regions)


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
    """Transfer grams per destination region (0 at the origin, NaN where an end has no data
    in the window): data_gb x kWh/GB x mean of the two ends' window-mean intensities."""
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
    out = job.data_gb * kwh_per_gb * (means + means[job.origin]) / 2.0
    out[job.origin] = 0.0
    return out


def placement_emissions(intensity: np.ndarray, job: Job, region: int, slots,
                        kwh_per_gb: float = DEFAULT_TRANSFER_KWH_PER_GB) -> tuple[float, float]:
    """(compute_g, transfer_g) of running `job` in `region` at `slots` (NaN if any slot lacks data)."""
    intensity = _check_intensity(intensity)
    idx = np.asarray(slots, dtype=int)
    compute = float(job.energy_kwh_per_slot * intensity[region, idx].sum())
    transfer = float(transfer_emissions(intensity, job, kwh_per_gb)[region])
    return compute, transfer


def _contiguous_costs(window: np.ndarray, runtime: int) -> np.ndarray:
    """Sum of every `runtime`-long run in each row (inf where it touches NaN), by prefix sums."""
    finite = np.isfinite(window)
    n_rows, width = window.shape
    sums = np.zeros((n_rows, width + 1))
    np.cumsum(np.where(finite, window, 0.0), axis=1, out=sums[:, 1:])
    holes = np.zeros((n_rows, width + 1), dtype=np.int32)
    np.cumsum(~finite, axis=1, out=holes[:, 1:])
    totals = sums[:, runtime:] - sums[:, :-runtime]
    totals[(holes[:, runtime:] - holes[:, :-runtime]) > 0] = np.inf
    return totals


def _cheapest_slots(window: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row the `count` cheapest slots (earliest first among equals) and their sum (inf
    when fewer than `count` slots have data)."""
    values = np.where(np.isfinite(window), window, np.inf)
    order = np.argsort(values, axis=1, kind="stable")[:, :count]
    chosen = np.take_along_axis(values, order, axis=1)
    return np.sort(order, axis=1), chosen.sum(axis=1)


def _region_bests(intensity: np.ndarray, job: Job, extra: np.ndarray | None = None
                  ) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Per region: the minimal compute cost (of intensity + extra/energy) and its slots
    (None where infeasible). `extra` (regions x slots, grams) prices slots, e.g. duals."""
    n_regions, n_slots = intensity.shape
    lo, hi = _window(job, n_slots)
    d = job.runtime_slots
    costs = np.full(n_regions, np.inf)
    slots: list[np.ndarray | None] = [None] * n_regions
    if hi - lo < d:
        return costs, slots
    priced = job.energy_kwh_per_slot * intensity[:, lo:hi]
    if extra is not None:
        priced = priced + extra[:, lo:hi]
    allowed = _allowed(job, n_regions)
    if job.interruptible:
        chosen, totals = _cheapest_slots(priced, d)
        for r in np.flatnonzero(allowed & np.isfinite(totals)):
            costs[r], slots[r] = totals[r], chosen[r] + lo
    else:
        totals = _contiguous_costs(priced, d)
        starts = np.argmin(totals, axis=1)
        best = totals[np.arange(n_regions), starts]
        for r in np.flatnonzero(allowed & np.isfinite(best)):
            costs[r], slots[r] = best[r], np.arange(lo + starts[r], lo + starts[r] + d)
    return costs, slots


def _placement(intensity: np.ndarray, job: Job, region: int, slots, transfer: np.ndarray) -> Placement:
    compute = float(job.energy_kwh_per_slot * intensity[region, slots].sum())
    return Placement(int(region), tuple(int(s) for s in slots), compute, float(transfer[region]))


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
                    transfer_kwh_per_gb: float = DEFAULT_TRANSFER_KWH_PER_GB) -> JobResult:
    """One job alone: the best placement per allowed region, ranked by total emissions."""
    intensity = _check_intensity(intensity)
    costs, slots = _region_bests(intensity, job)
    transfer = transfer_emissions(intensity, job, transfer_kwh_per_gb)
    totals = costs + transfer
    ranked = [r for r in np.argsort(totals, kind="stable") if np.isfinite(totals[r])]
    alternatives = tuple(_placement(intensity, job, r, slots[r], transfer) for r in ranked)
    return JobResult(alternatives[0] if alternatives else None, alternatives, baseline(intensity, job))


# --------------------------------------------------------------------------- many workloads

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
    for p in placements:
        if p is not None:
            used[p.region, list(p.slots)] += 1
    return used


def schedule(intensity: np.ndarray, jobs: list[Job], capacity=None, *,
             time_limit: float = 1.5, mip_rel_gap: float = 1e-4,
             transfer_kwh_per_gb: float = DEFAULT_TRANSFER_KWH_PER_GB) -> ScheduleResult:
    """Place all jobs at once, each in one region, minimising total emissions under
    `capacity` (jobs running at once per region and slot). See the module docstring."""
    began = time.perf_counter()
    intensity = _check_intensity(intensity)
    cap = _capacity_grid(capacity, intensity.shape)
    singles = [best_placements(intensity, job, transfer_kwh_per_gb) for job in jobs]
    own = [s.best for s in singles]
    lower = float(sum(p.total_g for p in own if p is not None))
    if cap is None or (_usage(own, intensity.shape) <= cap).all():
        return _result(singles, own, lower, "independent", True, began)
    solver = _ColumnSolver(intensity, jobs, cap, singles, transfer_kwh_per_gb)
    chosen, lower, method = solver.solve(began + time_limit, mip_rel_gap)
    gap = _gap(sum(p.total_g for p in chosen if p is not None), lower)
    return _result(singles, chosen, lower, method, gap <= mip_rel_gap + 1e-9, began)


def _gap(total: float, lower: float) -> float:
    if lower <= 0:
        return 0.0 if total <= lower + 1e-9 else math.inf
    return max(0.0, (total - lower) / lower)


def _result(singles: list[JobResult], chosen: list[Placement | None], lower: float,
            method: str, optimal: bool, began: float) -> ScheduleResult:
    results = tuple(JobResult(p, s.alternatives, s.baseline) for s, p in zip(singles, chosen))
    total = float(sum(p.total_g for p in chosen if p is not None))
    baselines = [s.baseline for s in singles]
    base = None if any(b is None for b in baselines) else float(sum(b.total_g for b in baselines))
    unplaced = tuple(i for i, p in enumerate(chosen) if p is None)
    return ScheduleResult(results, total, base, lower, _gap(total, lower), optimal, method,
                          time.perf_counter() - began, unplaced)


class _ColumnSolver:
    """Capacity-coupled jobs as a set-partitioning problem over placements ("columns").

    Columns are generated from the LP relaxation's duals: a job's cheapest placement under
    slot prices lambda (regions x slots, >= 0) is found by the same prefix sums as for one
    job, so the full (huge) time-indexed model is never built. Every pricing round also gives
    the Lagrangian bound sum_j min_p (c_p + lambda.a_p) - lambda.cap, a proven lower bound on
    the optimum. A MILP over the generated columns then picks the schedule."""

    def __init__(self, intensity: np.ndarray, jobs: list[Job], cap: np.ndarray,
                 singles: list[JobResult], kwh_per_gb: float) -> None:
        self.intensity, self.jobs, self.cap, self.singles = intensity, jobs, cap, singles
        self.shape = intensity.shape
        self.transfer = [transfer_emissions(intensity, job, kwh_per_gb) for job in jobs]
        worst = max((a.total_g for s in singles for a in s.alternatives), default=1.0)
        self.penalty = 10.0 * worst + 1.0   # cost of leaving a job unplaced: dearer than any placement
        self.col_job: list[int] = []
        self.col_region: list[int] = []
        self.col_slots: list[np.ndarray] = []
        self.col_cost: list[float] = []
        self.seen: set[tuple[int, int, bytes]] = set()
        for j, single in enumerate(singles):
            for p in single.alternatives:
                self._add(j, p.region, np.asarray(p.slots))

    def _add(self, j: int, region: int, slots: np.ndarray) -> bool:
        key = (j, int(region), slots.astype(np.int32).tobytes())
        if key in self.seen:
            return False
        self.seen.add(key)
        cost = self.jobs[j].energy_kwh_per_slot * self.intensity[region, slots].sum()
        self.col_job.append(j)
        self.col_region.append(int(region))
        self.col_slots.append(slots)
        self.col_cost.append(float(cost + self.transfer[j][region]))
        return True

    def _matrices(self) -> tuple[np.ndarray, sparse.csr_matrix, sparse.csr_matrix, np.ndarray, np.ndarray]:
        """Costs, job rows (=1) and capacity rows (<= cap) of columns + one slack per job."""
        n_jobs, n_cols = len(self.jobs), len(self.col_cost)
        cost = np.concatenate((self.col_cost, np.full(n_jobs, self.penalty)))
        a_eq = sparse.csr_matrix((np.ones(n_cols + n_jobs),
                                  (np.concatenate((self.col_job, np.arange(n_jobs))),
                                   np.arange(n_cols + n_jobs))), shape=(n_jobs, n_cols + n_jobs))
        n_slots = self.shape[1]
        cells = np.concatenate([r * n_slots + s for r, s in zip(self.col_region, self.col_slots)])
        owners = np.repeat(np.arange(n_cols), [len(s) for s in self.col_slots])
        limited = np.flatnonzero(np.isfinite(self.cap.ravel()))
        row_of = np.full(self.cap.size, -1)
        row_of[limited] = np.arange(limited.size)
        keep = row_of[cells] >= 0
        a_ub = sparse.csr_matrix((np.ones(keep.sum()), (row_of[cells[keep]], owners[keep])),
                                 shape=(limited.size, n_cols + n_jobs))
        return cost, a_eq, a_ub, self.cap.ravel()[limited], limited

    def _price(self, prices: np.ndarray) -> tuple[float, int]:
        """Add each job's cheapest placement under `prices`; return sum_j min reduced cost
        (without the job duals) and how many new columns were added."""
        total, added = 0.0, 0
        for j, job in enumerate(self.jobs):
            costs, slots = _region_bests(self.intensity, job, prices)
            costs = costs + self.transfer[j]
            r = int(np.argmin(costs))
            if not np.isfinite(costs[r]) or costs[r] >= self.penalty:
                total += self.penalty
                continue
            total += float(costs[r])
            added += self._add(j, r, slots[r])
        return total, added

    def solve(self, deadline: float, mip_rel_gap: float) -> tuple[list[Placement | None], float, str]:
        lower = -math.inf
        x_lp = None
        for _ in range(200):
            cost, a_eq, a_ub, b_ub, limited = self._matrices()
            lp = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.ones(len(self.jobs)),
                         bounds=(0, None), method="highs")
            if lp.status != 0:
                break
            x_lp = lp.x
            prices = np.zeros(self.cap.size)
            prices[limited] = np.maximum(0.0, -lp.ineqlin.marginals)
            prices = prices.reshape(self.shape)
            priced, added = self._price(prices)
            bound = priced - float((prices.ravel()[limited] * b_ub).sum())
            lower = max(lower, bound)
            if added == 0 or lp.fun - lower <= 1e-7 * max(1.0, abs(lower)) \
                    or time.perf_counter() > deadline - 0.3 * (deadline - time.perf_counter()):
                break
        candidates = [("greedy", self._greedy(None))]
        if x_lp is not None:
            candidates.append(("lp-rounding", self._greedy(x_lp)))
        remaining = deadline - time.perf_counter()
        if remaining > 0.05:
            found = self._milp(remaining, mip_rel_gap)
            if found is not None:
                candidates.append(("milp", found))
        method, chosen = min(candidates, key=lambda c: self._objective(c[1]))
        return chosen, lower, method

    def _objective(self, chosen: list[Placement | None]) -> float:
        return sum(self.penalty if p is None else p.total_g for p in chosen)

    def _as_placement(self, k: int) -> Placement:
        j = self.col_job[k]
        return _placement(self.intensity, self.jobs[j], self.col_region[k], self.col_slots[k], self.transfer[j])

    def _milp(self, seconds: float, mip_rel_gap: float) -> list[Placement | None] | None:
        cost, a_eq, a_ub, b_ub, _ = self._matrices()
        n = len(cost)
        res = milp(cost, integrality=np.ones(n), bounds=Bounds(0, 1),
                   constraints=[LinearConstraint(a_eq, 1, 1), LinearConstraint(a_ub, -np.inf, b_ub)],
                   options={"time_limit": max(0.01, seconds), "mip_rel_gap": mip_rel_gap})
        if res.x is None:
            return None
        chosen: list[Placement | None] = [None] * len(self.jobs)
        for k in np.flatnonzero(res.x[:len(self.col_cost)] > 0.5):
            chosen[self.col_job[k]] = self._as_placement(k)
        return chosen

    def _greedy(self, x_lp: np.ndarray | None) -> list[Placement | None]:
        """Jobs in order (largest LP weight first, or largest energy first), each at its
        cheapest placement that still fits: the LP's own column when it fits, else a fresh one."""
        n_jobs = len(self.jobs)
        used = np.zeros(self.shape)
        chosen: list[Placement | None] = [None] * n_jobs
        preferred: dict[int, tuple[float, int]] = {}
        if x_lp is not None:
            for k, weight in enumerate(x_lp[:len(self.col_cost)]):
                j = self.col_job[k]
                if weight > preferred.get(j, (0.0, -1))[0]:
                    preferred[j] = (weight, k)
            order = sorted(range(n_jobs), key=lambda j: -preferred.get(j, (0.0, -1))[0])
        else:
            order = sorted(range(n_jobs), key=lambda j: -self.jobs[j].energy_kwh_per_slot * self.jobs[j].runtime_slots)
        for j in order:
            job = self.jobs[j]
            if j in preferred:
                k = preferred[j][1]
                r, s = self.col_region[k], self.col_slots[k]
                if (used[r, s] + 1 <= self.cap[r, s]).all():
                    used[r, s] += 1
                    chosen[j] = self._as_placement(k)
                    continue
            full = np.where(used + 1 <= self.cap, self.intensity, np.nan)
            costs, slots = _region_bests(full, job)
            costs = costs + self.transfer[j]
            r = int(np.argmin(costs))
            if np.isfinite(costs[r]):
                used[r, slots[r]] += 1
                chosen[j] = _placement(self.intensity, job, r, slots[r], self.transfer[j])
        return chosen
