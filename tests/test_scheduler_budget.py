"""The scheduler's work budget: one request cannot stall the service (issue 23). The answer is
in its work budget (alternatives per run capped, answer bytes bounded, decided before any data
is read), one forecast per region and request, every number bounded, and no identifier with a
control character. Against a real app on real data: the 2022 Electricity Maps exports
(imported as the CLI does) and the recorded fixtures."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import pytest

from api import create_app
from api.services.scheduler import plan, slots
from tests.apihelp import Spy
from tests.test_scheduler_api import DAY, imported, post, stored_hours, workload  # noqa: F401 (fixture)

# Points well inside CISO, PJM, NYIS and ERCO (Fresno, Columbus, Albany, Austin).
POINTS = {"CISO": (36.74, -119.78), "PJM": (39.96, -83.0), "NYIS": (42.65, -73.75), "ERCO": (30.27, -97.74)}


@pytest.fixture
def client(imported, boundaries_env):
    return create_app(imported).test_client()


def by_coordinates(count: int) -> list[dict]:
    """`count` candidate locations given by coordinates, spread over the four regions."""
    rng = random.Random(23)
    regions = list(POINTS)
    located = []
    for i in range(count):
        latitude, longitude = POINTS[regions[i % 4]]
        located.append({"id": f"s{i:02d}", "latitude": round(latitude + rng.uniform(-0.05, 0.05), 4),
                        "longitude": round(longitude + rng.uniform(-0.05, 0.05), 4)})
    return located


def issue_body(candidates: int = 100, interval: float = 8.64) -> dict:
    """The issue's 5 KB body: a run every 8.64 s over a day (10,000 runs), two hours of slack,
    `candidates` candidate locations by coordinates."""
    return {"runtime": 3600, "power_kw": 1.0,
            "schedule": {"type": "uniform-random", "start_time": DAY, "interval": interval, "max_delay": 7200},
            "candidate_locations": by_coordinates(candidates)}


# -- the answer is in the budget ------------------------------------------------------------

def test_the_issue_s_5kb_body_is_a_400_decided_before_any_data_is_read(client, monkeypatch):
    import json

    body = issue_body()
    assert 4_000 < len(json.dumps(body, separators=(",", ":"))) < 6_000  # as a client sends it
    reads = Spy(monkeypatch, slots, "intensity_series")
    solves = Spy(monkeypatch, plan.engine, "schedule")
    status, answer = post(client, body)
    assert status == 400, str(answer)[:300]
    error = answer["error"]
    assert (error["code"], error["parameter"]) == ("request_too_large", "schedule")
    assert "alternatives=0" in error["message"] and "schedule.interval" in error["message"]
    assert (reads.calls, solves.calls) == (0, 0)  # refused before reading data or solving


def test_the_issue_s_body_with_no_alternatives_is_answered_within_the_budget(client):
    status, answer = post(client, issue_body(), alternatives="0")
    assert status == 200, str(answer)[:300]
    (schedule,) = answer["schedules"]
    assert schedule["alternatives_per_run"] == 0
    runs = schedule["runs"]
    assert len(runs) == 10_000 and all(run["alternatives"] == [] for run in runs)
    assert schedule["totals"]["runs_placed"] == 10_000
    assert {c["region"] for c in schedule["candidates"]} == set(POINTS)
    # the chosen hour of a sample of runs: the cheapest whole hour in its window over the four regions
    day = datetime.fromisoformat(DAY)
    hours = {region: stored_hours(client, region, DAY, 27) for region in POINTS}
    for run in runs[::997]:
        first = math.ceil((datetime.fromisoformat(run["earliest_start"]) - day) / timedelta(hours=1) - 1e-9)
        last = math.floor((datetime.fromisoformat(run["deadline"]) - day) / timedelta(hours=1) + 1e-9) - 1
        cheapest = min(hours[region][h] for region in POINTS for h in range(first, last + 1))
        assert run["chosen"]["emissions_g"]["total"] == pytest.approx(cheapest)


def test_alternatives_are_the_best_five_unless_asked_and_all_within_the_budget(client):
    eight = workload(candidate_locations=by_coordinates(8))
    status, default = post(client, eight)
    assert status == 200, default
    status, every = post(client, eight, alternatives="all")
    assert status == 200, every
    status, two = post(client, eight, alternatives="2")
    assert status == 200, two
    default_run, every_run, two_run = (a["schedules"][0]["runs"][0] for a in (default, every, two))
    assert len(every_run["alternatives"]) == 8 and every["schedules"][0]["alternatives_per_run"] == 8
    assert default_run["alternatives"] == every_run["alternatives"][:5]
    assert default["schedules"][0]["alternatives_per_run"] == 5
    assert two_run["alternatives"] == every_run["alternatives"][:2]
    totals = [a["emissions_g"]["total"] for a in every_run["alternatives"]]
    assert totals == sorted(totals) and every_run["chosen"] == every_run["alternatives"][0]


def test_every_alternative_past_the_answer_budget_is_a_400_naming_alternatives(client):
    body = issue_body(candidates=100, interval=86.4)  # 1,000 runs
    status, answer = post(client, body, alternatives="all")
    assert status == 400 and answer["error"]["code"] == "request_too_large", answer
    assert "alternatives" in answer["error"]["message"]
    status, answer = post(client, body)  # the best five each: in the budget
    assert status == 200, str(answer)[:300]
    assert {len(run["alternatives"]) for run in answer["schedules"][0]["runs"]} == {5}


def test_every_workload_is_checked_before_any_is_solved(client, monkeypatch):
    # a hundred workloads of 100 runs: the answer passes the budget at the 57th; none is solved
    hundred = workload(runtime=3600, schedule={"type": "uniform-random", "start_time": DAY, "interval": 864,
                                                "max_delay": 6 * 3600},
                       candidate_locations=[{"id": "CISO"}, {"id": "PJM"}, {"id": "NYIS"}, {"id": "ERCO"}])
    reads = Spy(monkeypatch, slots, "intensity_series")
    solves = Spy(monkeypatch, plan.engine, "schedule")
    status, answer = post(client, [hundred] * 100)
    assert status == 400 and answer["error"]["code"] == "request_too_large", answer
    assert answer["error"]["parameter"].endswith(".schedule")
    assert (reads.calls, solves.calls) == (0, 0)
    # with capacities that may bind, a hundred would get a tenth of a second each: refused up front
    capped = {**hundred, "candidate_locations": [{"id": r, "capacity": 1} for r in ("CISO", "PJM", "NYIS", "ERCO")]}
    status, answer = post(client, [capped] * 100, alternatives="0")
    assert status == 400 and answer["error"]["parameter"] == "40.candidate_locations", answer
    assert (reads.calls, solves.calls) == (0, 0)


def test_forty_capacitated_workloads_are_each_solved_in_their_share(client):
    capped = workload(runtime=3600, schedule={"type": "uniform-random", "start_time": DAY, "interval": 864,
                                              "max_delay": 6 * 3600},
                      candidate_locations=[{"id": r, "capacity": 1} for r in ("CISO", "PJM", "NYIS", "ERCO")])
    status, answer = post(client, [capped] * 40, alternatives="0")
    assert status == 200, str(answer)[:300]
    schedules = answer["schedules"]
    assert len(schedules) == 40 and all(s["totals"]["runs_placed"] == 100 for s in schedules)
    assert all(s["solver"]["method"] in ("milp", "lagrangian") and s["solver"]["gap"] is not None for s in schedules)
    assert all(s["totals"]["emissions_g"] >= s["solver"]["lower_bound_g"] - 1e-6 for s in schedules)


def test_a_forecast_batch_computes_each_forecast_once_and_at_most_twenty(client, monkeypatch):
    from api.models import forecast as forecast_model
    from api.services.carbon_aware_sdk import MAX_BATCH_FORECASTS

    made = Spy(monkeypatch, forecast_model, "forecast")
    hours = [f"2022-06-02T{h:02d}:00:00Z" for h in range(MAX_BATCH_FORECASTS + 1)]
    response = client.post("/emissions/forecasts/batch", json=[{"location": "CISO", "requestedAt": h} for h in hours])
    assert response.status_code == 400 and made.calls == 0
    assert f"at most {MAX_BATCH_FORECASTS}" in response.get_json()["errors"]["body"][0]
    same = [{"location": name, "requestedAt": "2022-06-02T05:10:00Z"} for name in ("CISO", "ciso", "CISO ")] * 30
    response = client.post("/emissions/forecasts/batch", json=same)
    assert response.status_code == 200, response.get_json()
    assert made.calls == 1  # one (location, hour) asked ninety times
    answers = response.get_json()
    assert len(answers) == 90 and [a["location"] for a in answers[:3]] == ["CISO", "ciso", "CISO "]
    assert all(a["forecastData"] == [{**p, "location": a["location"]} for p in answers[0]["forecastData"]]
               for a in answers)


@pytest.mark.parametrize("value", ["-1", "many", "12345", "1.5"])
def test_a_bad_alternatives_parameter_is_a_400_naming_it(client, value):
    status, answer = post(client, workload(), alternatives=value)
    assert status == 400 and answer["error"]["parameter"] == "alternatives", answer


def test_the_legacy_scheduler_answer_is_in_the_budget_too(client, monkeypatch):
    reads = Spy(monkeypatch, slots, "intensity_series")
    response = client.get("/legacy/carbon-aware-scheduler/", json=issue_body(candidates=10))
    body = response.get_json()
    assert response.status_code == 400, str(body)[:300]
    assert body["code"] == "request_too_large" and "fewer candidates" in body["error"]
    assert reads.calls == 0


# -- every number bounded, booleans are not numbers, no control characters ------------------

ORIGINAL = {"runtime": 3600, "schedule": {"type": "onetime", "start_time": DAY, "max_delay": 6 * 3600},
            "candidate_locations": [{"id": "AWS:us-west-1"}, {"id": "AWS:us-east-1"}],
            "original_location": "AWS:us-west-1"}


def test_dataset_sizes_are_bounded_on_both_routes(client):
    moved = {"dataset": {"input_size_gb": 1e308, "output_size_gb": 0}, "original_location": "aws:us-west-1",
             "candidate_locations": [{"id": "aws:us-west-1"}, {"id": "AWS:us-east-1"}]}
    status, answer = post(client, workload(**moved))
    assert status == 400 and answer["error"]["parameter"] == "dataset.input_size_gb", answer
    legacy = {**ORIGINAL, "dataset": {"input_size_gb": 1e11, "output_size_gb": 0},
              "carbon_accounting_mode": "compute-and-network"}
    response = client.get("/legacy/carbon-aware-scheduler/", json=legacy)
    assert response.status_code == 422, response.get_json()
    assert "input_size_gb" in response.get_json()["messages"]["json"]["dataset"]
    # at the bound both answer, with every candidate scored
    legacy["dataset"]["input_size_gb"] = 1e6
    response = client.get("/legacy/carbon-aware-scheduler/", json=legacy)
    assert response.status_code == 200, response.get_json()
    assert set(response.get_json()["raw-scores"]) == {"AWS:us-west-1", "AWS:us-east-1"}
    moved["dataset"]["input_size_gb"] = 1e6
    status, answer = post(client, workload(**moved))
    assert status == 200 and len(answer["schedules"][0]["runs"][0]["alternatives"]) == 2, answer


@pytest.mark.parametrize("change, field", [
    ({"runtime": True}, "runtime"),
    ({"schedule": {"type": "uniform-random", "start_time": DAY, "interval": True}}, "schedule.interval"),
    ({"schedule": {"type": "onetime", "start_time": DAY, "max_delay": False}}, "schedule.max_delay"),
    ({"schedule": {"type": "poisson", "start_time": DAY, "interval": 3600, "seed": 2**70}}, "schedule.seed"),
    ({"network_hop_carbon_estimation_distance_km_threshold": 1e300},
     "network_hop_carbon_estimation_distance_km_threshold"),
])
def test_booleans_are_not_numbers_and_every_number_is_bounded(client, change, field):
    status, answer = post(client, workload(**change))
    assert status == 400 and answer["error"]["parameter"] == field, answer
    response = client.get("/legacy/carbon-aware-scheduler/", json={**ORIGINAL, **change})
    assert response.status_code == 422, response.get_json()
    assert field.split(".")[0] in response.get_json()["messages"]["json"]


def test_identifiers_with_control_characters_are_refused_everywhere(client):
    status, answer = post(client, workload(candidate_locations=[{"id": "CISO\u0000"}]))
    assert status == 400 and answer["error"]["parameter"] == "candidate_locations.0.id", answer
    assert "control character" in answer["error"]["message"]
    range_ = {"start": DAY, "end": "2022-06-02T00:00:00Z"}
    response = client.get("/carbon-intensity/", query_string={"region": "CISO\u0000", **range_})
    assert response.status_code == 400 and response.get_json()["error"]["parameter"] == "region"
    assert client.get("/carbon-intensity/", query_string={"region": "CISO", **range_}).status_code == 200
    response = client.get("/emissions/bylocation", query_string={"location": "CISO\u0000", "time": DAY})
    assert response.status_code == 400 and "location" in response.get_json()["errors"]
    response = client.get("/legacy/carbon-intensity/", query_string={"iso": "c3lab:US-CAISO\u0001", **range_})
    assert response.status_code == 422 and "iso" in response.get_json()["messages"]["query"]
    response = client.get("/legacy/carbon-aware-scheduler/", json={**ORIGINAL, "original_location": "AWS:us-west-1\n"})
    assert response.status_code == 400 and response.get_json()["error"].startswith("original_location")
    assert response.get_json()["code"] == "invalid_body"


def test_the_alternatives_parameter_and_the_budget_are_in_the_openapi_document(client):
    document = client.get("/openapi.json").get_json()
    operation = document["paths"]["/carbon-aware-scheduler/"]["post"]
    (declared,) = [p for p in operation["parameters"] if p["name"] == "alternatives"]
    assert declared["in"] == "query" and declared["schema"]["default"] == "5"
    assert "all" in declared["description"] and "10 MB" in declared["description"]
    assert "request_too_large" in operation["responses"]["400"]["description"]
    run = document["components"]["schemas"]["RunDoc"]["properties"]["alternatives"]
    assert "alternatives_per_run" in run["description"]
