"""The workload schema (api/models/workload.py) and the legacy face's extension of it
(api/faces/legacy/workload.py): the original service's bodies still load, every bad field is
named, and the original's crashes (Poisson schedules, a missing original_location) are
answers or clear errors."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError

from api.faces.legacy import workload as legacy
from api.models import workload as wl

START = "2025-01-01T00:00:00Z"


def body(**changes) -> dict:
    data = {"runtime": 3600, "schedule": {"type": "onetime", "start_time": START},
            "candidate_providers": ["AWS"]}
    data.update(changes)
    return data


def problem(data) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        wl.load_workloads(data)
    return wl.first_error(caught.value.messages)


def test_the_originals_test_body_loads_with_its_defaults():
    # the request of the original's tests/test_carbon_aware_scheduler.py, plus a candidate list
    # (which its current schema requires), with the space-separated time it sends
    w, options = legacy.load_legacy_workload({
        "runtime": 3600.0,
        "schedule": {"type": "onetime", "start_time": "2022-07-28 20:40:52.973550-07:00",
                     "interval": None, "max_delay": 0.0},
        "dataset": {"input_size_gb": 0, "output_size_gb": 0},
        "candidate_providers": ["AWS"], "original_location": "AWS:us-west-1"})
    assert w.runtime == timedelta(hours=1)
    assert w.schedule.start_time.utcoffset() == timedelta(hours=-7)
    assert w.original_location == "AWS:us-west-1"          # kept as given
    assert w.power_kw == pytest.approx(0.005)               # 240 W / 48 threads x 1 core
    assert w.energy_kwh == pytest.approx(0.005)
    assert w.carbon_accounting_mode is wl.CarbonAccountingMode.COMPUTE_ONLY
    assert options.network_hop_carbon_estimation_heuristic is legacy.NetworkHopHeuristic.ROUTE_AVERAGE
    [run] = w.runs()
    assert run.deadline - run.earliest == timedelta(hours=1)


def test_every_original_field_is_accepted_by_the_legacy_schema():
    w, options = legacy.load_legacy_workload(body(
        dataset={"input_size_gb": 2.5, "output_size_gb": 0.5},
        candidate_providers=[], candidate_locations=[{"id": "AWS:us-west-2"},
                                                     {"id": "mine:lab", "latitude": 40.1, "longitude": -88.2}],
        carbon_data_source="emap", use_prediction=True, desired_renewable_ratio=0.5,
        optimize_carbon=False, only_emap_full_range_isos_for_network_hops=True,
        watts_per_core=10, core_count=4, use_new_optimization=False,
        carbon_accounting_mode="compute-and-network", original_location="AWS:us-west-2",
        inter_region_route_source="igdb.no-pops", network_hop_carbon_estimation_heuristic="world-average",
        network_hop_carbon_estimation_minimum_known_carbon_power_ratio=0.5,
        network_hop_carbon_estimation_route_average_ratio_threshold=0.6,
        network_hop_carbon_estimation_distance_km_threshold=1000))
    assert w.candidates == ["AWS:us-west-2", "mine:lab"]
    assert w.candidate_locations[1].latitude == 40.1
    assert w.power_kw == pytest.approx(0.04)
    assert w.data_gb == 3.0
    assert options.inter_region_route_source is legacy.InterRegionRouteSource.IGDB_NO_POPS
    assert options.use_prediction and options.desired_renewable_ratio == 0.5 and not w.optimize_carbon


@pytest.mark.parametrize("name, value", [("use_prediction", True), ("desired_renewable_ratio", 0.5),
                                         ("inter_region_route_source", "itdk")])
def test_the_originals_fields_that_change_nothing_are_refused_by_the_scheduler_naming_the_legacy_route(name, value):
    path, message = problem(body(**{name: value}))
    assert path == name and "GET /legacy/carbon-aware-scheduler/ takes it" in message


def test_new_fields():
    w = wl.load_workload(body(
        candidate_providers=[], candidate_locations=[{"id": "CISO", "capacity": 3}, {"id": "US-PJM"}],
        schedule={"type": "onetime", "start_time": START, "deadline": "2025-01-01T06:00:00Z"},
        interruptible=True, power_kw=2.0))
    assert w.interruptible and w.power_kw == 2.0 and w.energy_kwh == 2.0
    assert [c.capacity for c in w.candidate_locations] == [3, None]
    assert w.runs() == [wl.Run(datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 1, 1, 6, tzinfo=timezone.utc))]
    assert w.dataset is None and w.data_gb == 0.0


def test_poisson_schedule_answers_reproducibly():
    # the original drew np.random.poisson per second and then looped over the array itself: a crash
    data = body(schedule={"type": "poisson", "start_time": START, "interval": 600, "max_delay": 3600})
    runs = wl.load_workload(data).runs()
    again = wl.load_workload(data).runs()
    other = wl.load_workload(body(schedule={**data["schedule"], "seed": 7})).runs()
    assert runs == again and runs != other
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert all(start <= r.earliest < start + timedelta(days=1) for r in runs)
    assert [r.earliest for r in runs] == sorted(r.earliest for r in runs)
    assert all(r.deadline - r.earliest == timedelta(hours=2) for r in runs)   # max_delay + runtime
    assert 144 - 4 * 12 < len(runs) < 144 + 4 * 12                          # mean 144, sd 12


def test_poisson_rate_over_a_long_horizon():
    w = wl.load_workload(body(schedule={"type": "poisson", "start_time": START, "interval": 60}))
    runs = w.runs(datetime(2025, 1, 6, tzinfo=timezone.utc))     # 5 days: 7,200 expected
    assert abs(len(runs) - 7200) < 4 * 85


def test_uniform_schedule_every_interval():
    w = wl.load_workload(body(schedule={"type": "uniform-random", "start_time": START, "interval": 7200,
                                        "max_delay": 600}))
    runs = w.runs()
    assert len(runs) == 12
    assert runs[1].earliest - runs[0].earliest == timedelta(hours=2)
    assert runs[0].deadline - runs[0].earliest == timedelta(seconds=600 + 3600)


def test_too_many_runs_is_a_clear_error():
    w = wl.load_workload(body(schedule={"type": "uniform-random", "start_time": START, "interval": 1}))
    with pytest.raises(wl.TooManyRuns, match="schedule.interval"):
        w.runs()
    p = wl.load_workload(body(schedule={"type": "poisson", "start_time": START, "interval": 1}))
    with pytest.raises(wl.TooManyRuns):
        p.runs()


def test_missing_original_location_is_fine_for_compute_only():
    # the original looked up d_region_isos[None]: KeyError, a 500
    w = wl.load_workload(body())
    assert w.original_location is None


def test_missing_original_location_is_named_for_network_accounting():
    assert problem(body(carbon_accounting_mode="compute-and-network"))[0] == "original_location"


@pytest.mark.parametrize("change, field", [
    ({"runtime": 0}, "runtime"),
    ({"runtime": -5}, "runtime"),
    ({"runtime": "soon"}, "runtime"),
    ({"schedule": {"type": "weekly", "start_time": START}}, "schedule.type"),
    ({"schedule": {"type": "onetime", "start_time": "2025-01-01T00:00:00"}}, "schedule.start_time"),
    ({"schedule": {"type": "onetime", "start_time": START, "interval": 60}}, "schedule.interval"),
    ({"schedule": {"type": "uniform-random", "start_time": START}}, "schedule.interval"),
    ({"schedule": {"type": "poisson", "start_time": START, "interval": 0}}, "schedule.interval"),
    ({"schedule": {"type": "onetime", "start_time": START, "max_delay": -1}}, "schedule.max_delay"),
    ({"schedule": {"type": "onetime", "start_time": START, "max_delay": 60,
                   "deadline": "2025-01-02T00:00:00Z"}}, "schedule.deadline"),
    ({"schedule": {"type": "onetime", "start_time": START, "deadline": "2025-01-01T00:30:00Z"}},
     "schedule.deadline"),
    ({"schedule": {"type": "poisson", "start_time": START, "interval": 60,
                   "deadline": "2025-01-02T00:00:00Z"}}, "schedule.deadline"),
    ({"deadline": "2025-01-02T00:00:00Z"}, "deadline"),
    ({"dataset": {"input_size_gb": -1, "output_size_gb": 0}}, "dataset.input_size_gb"),
    ({"candidate_providers": ["AWS", "ibm"]}, "candidate_providers.1"),
    ({"candidate_providers": ["aws", "AWS"]}, "candidate_providers.1"),
    ({"candidate_providers": []}, "candidate_locations"),
    ({"candidate_locations": [{"id": "CISO"}]}, "candidate_locations"),
    ({"candidate_providers": [], "candidate_locations": [{"id": "x", "latitude": 10}]},
     "candidate_locations.0.longitude"),
    ({"candidate_providers": [], "candidate_locations": [{"id": "x", "latitude": 91, "longitude": 0}]},
     "candidate_locations.0.latitude"),
    ({"candidate_providers": [], "candidate_locations": [{"id": "CISO", "capacity": 0}]},
     "candidate_locations.0.capacity"),
    ({"candidate_providers": [], "candidate_locations": [{"id": "CISO", "capacity": 1.5}]},
     "candidate_locations.0.capacity"),
    ({"candidate_providers": [], "candidate_locations": [{"id": "CISO"}, {"id": "ciso"}]},
     "candidate_locations.1.id"),
    ({"power_kw": 1.0, "core_count": 2}, "power_kw"),
    ({"power_kw": 0}, "power_kw"),
    ({"power_kw": 1e308}, "power_kw"),
    ({"watts_per_core": 5000, "core_count": 1e6}, "core_count"),
    ({"watts_per_core": 1e308}, "watts_per_core"),
    ({"candidate_providers": [], "candidate_locations": [{"id": "CISO", "capacity": 99999999999999999999}]},
     "candidate_locations.0.capacity"),
    ({"schedule": {"type": "onetime", "start_time": "0001-01-01T00:00:00+05:00"}}, "schedule.start_time"),
    ({"schedule": {"type": "onetime", "start_time": "9999-12-31T00:00:00Z"}}, "schedule.start_time"),
    ({"schedule": {"type": "onetime", "start_time": START, "deadline": "9999-12-31T23:00:00Z"}},
     "schedule.deadline"),
    ({"desired_renewable_ratio": 1.5}, "desired_renewable_ratio"),
    ({"carbon_accounting_mode": "everything"}, "carbon_accounting_mode"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_fields_are_named(change, field):
    assert problem(body(**change))[0] == field


@pytest.mark.parametrize("schedule", [
    {"type": "onetime", "start_time": "2200-01-01T00:00:00Z"},
    {"type": "onetime", "start_time": "1899-12-31T23:00:00Z"},
    {"type": "onetime", "start_time": START, "deadline": "2500-01-01T00:00:00Z"},
])
def test_schedule_times_are_held_to_the_api_s_one_range_of_years(schedule):
    """The workload's times follow api/models/bounds.py as every other time parameter does
    (the body allowed up to 9000, the scheduler up to 9999)."""
    path, message = problem(body(schedule=schedule))
    assert path.startswith("schedule.") and message == "must be between 1900-01-01 and 2199-12-31"


def test_a_list_names_the_item():
    path, message = problem([body(), body(runtime=0)])
    assert path == "1.runtime" and "greater than 0" in message


def test_not_an_object():
    assert problem("runtime")[0] == "body"
    assert problem([])[0] == "body"
    with pytest.raises(ValidationError):
        wl.load_workload([body()])


def test_start_time_defaults_to_now():
    before = datetime.now(timezone.utc)
    w = wl.load_workload(body(schedule={"type": "onetime"}))
    assert before <= w.schedule.start_time <= datetime.now(timezone.utc)
