"""The scheduling engine (api/models/optimization_engine.py) against brute force: the same
optimum for one job and for small sets of jobs under capacity; the MILP and the Lagrangian
path on medium sets; and properties of windows, DST days (runs put on the slot grid by the
scheduler's run_job), interruptible runs and capacity."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.models import optimization_engine as oe
from api.models.optimization_engine import Job
from api.services.scheduler.plan import run_job
from api.services.scheduler.slots import Grid

KWH = 0.01   # a transfer energy large enough to matter on small instances


def grams(intensity: np.ndarray, job: Job, region: int, slots) -> tuple[float, float]:
    """(compute, transfer) grams of running `job` in `region` at `slots`, computed here: energy x
    the slots' intensities, and the engine's transfer model (pinned by the tests below)."""
    compute = float(job.energy_kwh_per_slot * intensity[region, list(slots)].sum())
    return compute, float(oe.transfer_emissions(intensity, job, KWH)[region])


def random_intensity(rng: np.random.Generator, regions: int, slots: int, holes: float = 0.0) -> np.ndarray:
    values = rng.uniform(50, 600, (regions, slots)).round(1)
    values[rng.random((regions, slots)) < holes] = np.nan
    return values


def random_job(rng: np.random.Generator, regions: int, slots: int, *, interruptible: bool | None = None,
               max_runtime: int = 4) -> Job:
    runtime = int(rng.integers(1, max_runtime + 1))
    earliest = int(rng.integers(0, slots - runtime + 1))
    deadline = int(rng.integers(earliest + runtime, slots + 1))
    allowed = None if rng.random() < 0.5 else tuple(sorted(rng.choice(regions, int(rng.integers(1, regions + 1)), replace=False).tolist()))
    return Job(float(rng.uniform(0.1, 3)), runtime, earliest, deadline,
               bool(rng.random() < 0.4) if interruptible is None else interruptible,
               float(rng.uniform(0, 20)), float(rng.uniform(0, 5)),
               int(rng.integers(regions)) if rng.random() < 0.8 else None, allowed)


def all_placements(intensity: np.ndarray, job: Job) -> list[tuple[float, int, tuple[int, ...]]]:
    """Every feasible (grams, region, slots) of one job, enumerated slot by slot."""
    regions = range(intensity.shape[0]) if job.regions is None else job.regions
    window = range(job.earliest_start, min(job.deadline, intensity.shape[1]))
    found = []
    for r in regions:
        if job.interruptible:
            choices = itertools.combinations(window, job.runtime_slots)
        else:
            choices = (tuple(range(s, s + job.runtime_slots)) for s in window if s + job.runtime_slots <= window.stop)
        for slots in choices:
            compute, transfer = grams(intensity, job, r, slots)
            if np.isfinite(compute) and np.isfinite(transfer):
                found.append((compute + transfer, r, slots))
    return found


def brute_schedule(intensity: np.ndarray, jobs: list[Job], cap: np.ndarray) -> float:
    """Least total grams of any combination of placements that fits the capacity."""
    options = [all_placements(intensity, job) for job in jobs]
    best = np.inf
    for combo in itertools.product(*options):
        used = np.zeros(intensity.shape)
        for _, r, slots in combo:
            used[r, list(slots)] += 1
        if (used <= cap).all():
            best = min(best, sum(c[0] for c in combo))
    return best


def assert_fits(result: oe.ScheduleResult, jobs: list[Job], cap: np.ndarray, intensity: np.ndarray) -> None:
    used = np.zeros(intensity.shape)
    for job, res in zip(jobs, result.results):
        if res.best is not None:
            assert_valid(res.best, job, intensity)
            used[res.best.region, list(res.best.slots)] += 1
    assert (used <= cap).all()
    assert result.total_g >= result.lower_bound_g - 1e-6 * max(1.0, result.total_g)


def assert_valid(p: oe.Placement, job: Job, intensity: np.ndarray) -> None:
    slots = np.array(p.slots)
    assert len(slots) == job.runtime_slots == len(set(p.slots))
    assert job.earliest_start <= slots.min() and slots.max() < job.deadline
    assert np.isfinite(intensity[p.region, slots]).all()
    if not job.interruptible:
        assert (np.diff(slots) == 1).all()
    if job.regions is not None:
        assert p.region in job.regions
    compute, transfer = grams(intensity, job, p.region, p.slots)
    assert p.compute_g == pytest.approx(compute) and p.transfer_g == pytest.approx(transfer)


# --------------------------------------------------------------------------- one job

@pytest.mark.parametrize("seed", range(60))
def test_one_job_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    regions, slots = int(rng.integers(1, 4)), int(rng.integers(4, 13))
    intensity = random_intensity(rng, regions, slots, holes=0.1 if seed % 3 == 0 else 0.0)
    job = random_job(rng, regions, slots)
    result = oe.best_placements(intensity, job, KWH)
    options = all_placements(intensity, job)
    if not options:
        assert result.best is None and result.alternatives == () and result.saving_g is None
        return
    assert result.best.total_g == pytest.approx(min(o[0] for o in options), rel=1e-12)
    assert_valid(result.best, job, intensity)
    # one alternative per feasible region, each that region's optimum, ranked
    per_region = {}
    for grams, r, _ in options:
        per_region[r] = min(grams, per_region.get(r, np.inf))
    assert [a.region for a in result.alternatives] == sorted(per_region, key=lambda r: (per_region[r], r))
    for a in result.alternatives:
        assert a.total_g == pytest.approx(per_region[a.region], rel=1e-12)


def test_baseline_and_saving():
    intensity = np.array([[500.0, 500, 100, 100, 500], [300, 300, 300, 300, 300]])
    job = Job(2.0, 2, 0, 5, origin=0, input_gb=10)
    result = oe.best_placements(intensity, job, KWH)
    assert result.baseline.region == 0 and result.baseline.slots == (0, 1)
    assert result.baseline.total_g == pytest.approx(2 * 2 * 500)
    assert result.best.region == 0 and result.best.slots == (2, 3)
    assert result.saving_g == pytest.approx(2000 - 400) and result.saving_pct == pytest.approx(80.0)
    # region 1: 1,200 g compute + 10 GB x 0.01 kWh/GB x (mean 340 + mean 300)/2
    other = result.alternatives[1]
    assert other.compute_g == pytest.approx(1200) and other.transfer_g == pytest.approx(0.1 * 320)


def test_no_origin_means_no_baseline_and_no_transfer():
    intensity = np.array([[500.0, 100], [50, 50]])
    result = oe.best_placements(intensity, Job(1.0, 1, 0, 2, input_gb=100), KWH)
    assert result.baseline is None and result.saving_g is None and result.saving_pct is None
    assert result.best.region == 1 and result.best.transfer_g == 0.0


def test_window_shorter_than_runtime_or_without_data():
    intensity = np.array([[1.0, 2, np.nan, 4]])
    assert oe.best_placements(intensity, Job(1.0, 3, 1, 3)).best is None
    assert oe.best_placements(intensity, Job(1.0, 2, 1, 4)).best is None          # every run meets NaN
    assert oe.best_placements(intensity, Job(1.0, 2, 1, 4, interruptible=True)).best.slots == (1, 3)
    assert oe.best_placements(intensity, Job(1.0, 1, 2, 3, origin=0)).baseline is None


def test_transfer_model_is_cited_trend():
    assert oe.transfer_kwh_per_gb(2015) == pytest.approx(0.06)
    assert oe.transfer_kwh_per_gb(2017) == pytest.approx(0.03)
    assert oe.DEFAULT_TRANSFER_KWH_PER_GB == pytest.approx(0.06 * 0.5 ** 4.5)
    intensity = np.full((2, 4), 400.0)
    grams = oe.transfer_emissions(intensity, Job(1.0, 1, 0, 4, input_gb=3, output_gb=1, origin=1), 0.05)
    assert grams.tolist() == pytest.approx([4 * 0.05 * 400, 0.0])


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        Job(1.0, 0, 0, 5)
    with pytest.raises(ValueError):
        Job(-1.0, 1, 0, 5)
    with pytest.raises(ValueError):
        oe.best_placements(np.zeros(5), Job(1.0, 1, 0, 5))
    with pytest.raises(ValueError):
        oe.best_placements(np.zeros((2, 5)), Job(1.0, 1, 0, 5, regions=(3,)))
    with pytest.raises(ValueError):
        oe.schedule(np.zeros((2, 5)), [Job(1.0, 1, 0, 5)], capacity=[1, 2, 3])
    with pytest.raises(ValueError):
        oe.schedule(np.zeros((2, 5)), [Job(1.0, 1, 0, 5)], capacity=[1, -1])


def test_segments():
    p = oe.Placement(0, (2, 3, 7, 9, 10), 0.0, 0.0)
    assert p.segments == [(2, 4), (7, 8), (9, 11)] and p.start == 2 and p.end == 11


# --------------------------------------------------------------------------- many jobs

@pytest.mark.parametrize("seed", range(25))
def test_schedule_equals_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    regions, slots = int(rng.integers(1, 3)), int(rng.integers(4, 7))
    intensity = random_intensity(rng, regions, slots)
    jobs = [random_job(rng, regions, slots, max_runtime=3) for _ in range(int(rng.integers(2, 5)))]
    cap = rng.integers(1, 3, (regions, slots)).astype(float)
    expected = brute_schedule(intensity, jobs, cap)
    result = oe.schedule(intensity, jobs, cap, transfer_kwh_per_gb=KWH, time_limit=20)
    assert_fits(result, jobs, cap, intensity)
    if not np.isfinite(expected):           # some job cannot fit: it is reported unplaced
        assert result.unplaced
        return
    assert not result.unplaced
    assert result.total_g == pytest.approx(expected, rel=1e-6)
    assert result.optimal
    # the Lagrangian path: a schedule that fits, and a bound that is a bound
    relaxed = oe.schedule(intensity, jobs, cap, transfer_kwh_per_gb=KWH, time_limit=1, exact=False)
    assert_fits(relaxed, jobs, cap, intensity)
    assert relaxed.lower_bound_g <= expected * (1 + 1e-9) <= relaxed.total_g * (1 + 1e-9) + 1e-9


def test_capacity_spreads_jobs_over_time_and_space():
    # four identical jobs all want slot 0 in region 0; one fits there at a time
    intensity = np.array([[10.0, 20, 30, 40], [15, 25, 35, 45]])
    jobs = [Job(1.0, 1, 0, 4, origin=0) for _ in range(4)]
    result = oe.schedule(intensity, jobs, capacity=[1, 1])
    assert sorted(r.best.total_g for r in result.results) == [10, 15, 20, 25]
    assert result.optimal and result.method == "milp"
    unlimited = oe.schedule(intensity, jobs)
    assert unlimited.method == "independent" and unlimited.total_g == 40
    assert unlimited.saving_g == pytest.approx(0.0)


def test_no_room_leaves_jobs_unplaced():
    intensity = np.array([[10.0, 20]])
    result = oe.schedule(intensity, [Job(1.0, 2, 0, 2), Job(1.0, 2, 0, 2)], capacity=[1])
    assert len(result.unplaced) == 1 and result.results[result.unplaced[0]].best is None


def test_savings_are_over_the_placed_runs_only():
    # two identical runs, room for one: the baseline must not count the run never placed
    intensity = np.array([[10.0, 20, 40]])
    jobs = [Job(1.0, 2, 0, 3, origin=0), Job(1.0, 2, 0, 3, origin=0)]
    result = oe.schedule(intensity, jobs, capacity=[1])
    assert len(result.unplaced) == 1
    assert result.total_g == 30.0 and result.baseline_g == 30.0
    assert result.saving_g == 0.0 and result.saving_pct == 0.0


def test_the_lagrangian_bound_is_never_negative_grams():
    # capacity far too tight: most jobs stay unplaced, and the bound stays a bound on grams
    rng = np.random.default_rng(0)
    intensity = rng.uniform(100, 500, (3, 200))
    intensity[2] = np.nan    # one candidate without data
    jobs = [Job(1.0, 3, int(s), int(s) + 40, origin=0) for s in rng.integers(0, 150, 600)]
    result = oe.schedule(intensity, jobs, capacity=[2, 2, 2], exact=False, time_limit=0.5)
    assert result.method == "lagrangian" and result.unplaced
    assert 0.0 <= result.lower_bound_g <= result.total_g
    assert all(r.best is None or r.best.region != 2 for r in result.results)


@pytest.mark.parametrize("seed", range(3))
def test_medium_lagrangian_against_milp(seed):
    rng = np.random.default_rng(7 + seed)
    regions, slots = 3, 36
    intensity = random_intensity(rng, regions, slots)
    jobs = [random_job(rng, regions, slots, max_runtime=6) for _ in range(25)]
    cap = np.full(regions, 3.0)
    exact = oe.schedule(intensity, jobs, cap, transfer_kwh_per_gb=KWH, time_limit=60, exact=True)
    fast = oe.schedule(intensity, jobs, cap, transfer_kwh_per_gb=KWH, time_limit=2, exact=False)
    full = np.repeat(cap[:, None], slots, axis=1)
    assert_fits(exact, jobs, full, intensity)
    assert_fits(fast, jobs, full, intensity)
    assert exact.optimal and not exact.unplaced and not fast.unplaced
    assert fast.lower_bound_g <= exact.total_g * (1 + 1e-6)
    assert exact.total_g <= fast.total_g * (1 + 1e-6)
    assert fast.total_g <= exact.total_g * 1.05      # the heuristic is close, not just feasible


# --------------------------------------------------------------------------- properties

@st.composite
def instances(draw, interruptible=None):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    regions = draw(st.integers(1, 4))
    slots = draw(st.integers(2, 60))
    intensity = random_intensity(rng, regions, slots, holes=draw(st.sampled_from([0.0, 0.05, 0.3])))
    return intensity, random_job(rng, regions, slots, interruptible=interruptible, max_runtime=min(8, slots))


@settings(max_examples=150, deadline=None)
@given(instances())
def test_placements_stay_in_their_window(instance):
    intensity, job = instance
    result = oe.best_placements(intensity, job, KWH)
    for p in result.alternatives:
        assert_valid(p, job, intensity)
    if result.best is not None and result.baseline is not None and job.deadline >= job.earliest_start + job.runtime_slots \
            and (job.regions is None or job.origin in job.regions):
        assert result.best.total_g <= result.baseline.total_g + 1e-9   # running now is one of the choices


@settings(max_examples=100, deadline=None)
@given(instances(interruptible=False))
def test_pausing_never_costs_more(instance):
    intensity, job = instance
    whole = oe.best_placements(intensity, job, KWH).best
    split = oe.best_placements(intensity, Job(**{**job.__dict__, "interruptible": True}), KWH).best
    if whole is not None:
        assert split is not None and split.total_g <= whole.total_g + 1e-9
        if len(split.segments) == 1:
            assert split.total_g == pytest.approx(whole.total_g)


@settings(max_examples=60, deadline=None)
@given(instances(interruptible=True))
def test_interruptible_takes_the_cheapest_slots(instance):
    intensity, job = instance
    best = oe.best_placements(intensity, job, KWH).best
    if best is None:
        return
    window = intensity[best.region, job.earliest_start:min(job.deadline, intensity.shape[1])]
    cheapest = np.sort(window[np.isfinite(window)])[:job.runtime_slots]
    assert best.compute_g == pytest.approx(job.energy_kwh_per_slot * cheapest.sum())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(3, 12))
def test_capacity_is_never_exceeded(seed, regions, n_jobs):
    rng = np.random.default_rng(seed)
    slots = 24
    intensity = random_intensity(rng, regions, slots, holes=0.05)
    jobs = [random_job(rng, regions, slots, max_runtime=6) for _ in range(n_jobs)]
    cap = rng.integers(0, 3, (regions, slots)).astype(float)
    cap[rng.random((regions, slots)) < 0.2] = np.inf
    for exact in (None, False):
        result = oe.schedule(intensity, jobs, cap, transfer_kwh_per_gb=KWH, time_limit=2, exact=exact)
        assert_fits(result, jobs, cap, intensity)
        own = [oe.best_placements(intensity, j, KWH).best for j in jobs]
        for res, alone in zip(result.results, own):
            assert (res.best is None) or (alone is not None and res.best.total_g >= alone.total_g - 1e-9)


DST_DAYS = [("America/Los_Angeles", datetime(2025, 3, 9)), ("America/Los_Angeles", datetime(2025, 11, 2)),
            ("America/New_York", datetime(2024, 3, 10)), ("Europe/Berlin", datetime(2024, 10, 27))]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(DST_DAYS), st.integers(0, 23 * 12), st.integers(1, 36), st.integers(0, 48),
       st.sampled_from([5, 15, 60]))
def test_dst_days_on_a_utc_grid(day, start_step, runtime_steps, slack_steps, minutes):
    """Local wall-clock windows on a DST day become exact UTC slot counts: no slot is lost in
    the short night or counted twice in the long one."""
    zone, date = day
    local_midnight = date.replace(tzinfo=ZoneInfo(zone))
    grid_start = local_midnight.astimezone(timezone.utc)
    slot = timedelta(minutes=minutes)
    step = timedelta(minutes=5)
    earliest = (grid_start + start_step * step).astimezone(ZoneInfo(zone))   # a local wall-clock time
    runtime = runtime_steps * step
    # elapsed time, not wall-clock: adding a timedelta to a zoned datetime would add wall time
    deadline = (earliest.astimezone(timezone.utc) + runtime + slack_steps * step).astimezone(ZoneInfo(zone))
    job = run_job(Grid(grid_start, slot, 1000), earliest, deadline, runtime, runtime.total_seconds() / 3600)
    assert job.earliest_start * slot >= earliest - grid_start > (job.earliest_start - 1) * slot
    assert job.deadline * slot <= deadline - grid_start < (job.deadline + 1) * slot
    assert job.runtime_slots * slot >= runtime > (job.runtime_slots - 1) * slot
    assert job.energy_kwh_per_slot * job.runtime_slots == pytest.approx(runtime.total_seconds() / 3600)
    intensity = np.arange(job.deadline + 5, dtype=float)[None, :]
    result = oe.best_placements(intensity, job)
    if job.deadline - job.earliest_start >= job.runtime_slots:
        assert result.best.start == job.earliest_start           # rising intensity: the first start wins
    else:
        assert result.best is None


def test_dst_spring_day_has_23_hours_of_slots():
    zone = ZoneInfo("America/Los_Angeles")
    grid_start = datetime(2025, 3, 9, tzinfo=zone).astimezone(timezone.utc)
    end = datetime(2025, 3, 10, tzinfo=zone)
    job = run_job(Grid(grid_start, timedelta(minutes=5), 1000), datetime(2025, 3, 9, tzinfo=zone), end,
                  timedelta(hours=1), 1.0)
    assert job.deadline == 23 * 12


def test_origin_without_data_still_moves_work():
    # the origin has no data at all: no baseline, but work can go elsewhere, its transfer
    # charged at the destination's intensity for both ends
    intensity = np.array([[np.nan, np.nan, np.nan], [100.0, 200, 300]])
    job = Job(1.0, 1, 0, 3, origin=0, input_gb=10)
    result = oe.best_placements(intensity, job, KWH)
    assert result.baseline is None and result.saving_g is None
    assert result.best.region == 1 and result.best.slots == (0,)
    assert result.best.transfer_g == pytest.approx(10 * KWH * 200)


# --------------------------------------------------------------------------- issue 23

def test_with_runs_left_unplaced_the_bound_and_gap_are_over_the_placed_runs():
    # far more runs than room (capacity 1): the bound was 0 g and the gap null
    rng = np.random.default_rng(23)
    intensity = rng.uniform(100, 500, (10, 27))
    jobs = [Job(1.0, 1, 1 + k * 24 // 2000, 3 + k * 24 // 2000) for k in range(2000)]
    result = oe.schedule(intensity, jobs, capacity=np.ones(10), time_limit=1.0)
    placed = [j for j, r in enumerate(result.results) if r.best is not None]
    assert result.unplaced and len(placed) + len(result.unplaced) == len(jobs)
    alone = sum(oe.best_placements(intensity, jobs[j]).best.total_g for j in placed)
    assert alone - 1e-6 <= result.lower_bound_g <= result.total_g
    assert result.gap == pytest.approx((result.total_g - result.lower_bound_g) / result.lower_bound_g)
    assert np.isfinite(result.gap)


@pytest.mark.parametrize("capacity", [None, [1, 1, 1, 1]])
def test_alternatives_keep_the_best_few_and_the_schedule_is_unchanged(capacity):
    rng = np.random.default_rng(5)
    intensity = random_intensity(rng, 4, 24)
    jobs = [random_job(rng, 4, 24) for _ in range(12)]
    every = oe.schedule(intensity, jobs, capacity, transfer_kwh_per_gb=KWH, exact=True)
    two = oe.schedule(intensity, jobs, capacity, transfer_kwh_per_gb=KWH, exact=True, alternatives=2)
    assert two.total_g == pytest.approx(every.total_g)
    for full, kept in zip(every.results, two.results):
        assert kept.alternatives == full.alternatives[:2]
        assert (kept.best is None) == (full.best is None)
    assert oe.best_placements(intensity, jobs[0], KWH, alternatives=1).alternatives == \
        oe.best_placements(intensity, jobs[0], KWH).alternatives[:1]
