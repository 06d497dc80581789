"""The carbon-aware scheduler's endpoints on real data: Electricity Maps 2022 exports imported
from the traces (CAISO, PJM, NYISO, ERCOT) and NYISO's recorded 5-minute fuel mix replayed
from the fixtures. Past windows use measured data, so every chosen window is checked against
a brute-force search over the same stored series, read back through /carbon-intensity/."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import create_app
from api.models.optimization_engine import DEFAULT_TRANSFER_KWH_PER_GB
from crawler.__main__ import read_payload
from crawler.parsers import electricitymaps_csv as emap
from database.reported import source_id, write_reported_intensity
from tests.apihelp import write_hourly_mix
from tests.conftest import shared_dir

TRACES = ("US-CAL-CISO", "US-MIDA-PJM", "US-NY-NYIS", "US-TEX-ERCO")
DAY = "2022-06-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def imported(filled):
    """The replayed fixtures plus the four 2022 Electricity Maps years, imported as the CLI does."""
    folder = shared_dir() / "traces" / "em_hpe_sustain_cluster"
    if not folder.is_dir():
        pytest.skip(f"Electricity Maps traces not found at {folder}")
    batch = emap.concat([emap.parse(read_payload(folder / f"{zone}_2022_hourly.csv")) for zone in TRACES])
    conn = psycopg2.connect(filled)
    with conn, conn.cursor() as cur:
        write_reported_intensity(cur, source_id(cur, "ELECTRICITYMAPS"), batch.rows, 60)
    conn.close()
    return filled


@pytest.fixture
def client(imported, boundaries_env):
    return create_app(imported).test_client()


def post(client, body, **params):
    response = client.post("/carbon-aware-scheduler/", json=body, query_string=params)
    return response.status_code, response.get_json()


def stored_hours(client, region: str, start: str, hours: int, source: str = "electricitymaps") -> np.ndarray:
    """The stored intensity of `hours` hours from `start`, read through /carbon-intensity/."""
    end = (datetime.fromisoformat(start) + timedelta(hours=hours)).isoformat()
    body = client.get("/carbon-intensity/", query_string={"region": region, "source": source, "start": start,
                                                          "end": end}).get_json()
    assert body["coverage"]["intervals"] == hours, body["coverage"]
    return np.array([p["carbon_intensity"] for p in body["carbon_intensities"]])


def best_window(values: np.ndarray, length: int) -> tuple[int, float]:
    """Brute force: the start and sum of the cheapest `length`-long run, first among equals."""
    sums = [values[i:i + length].sum() for i in range(len(values) - length + 1)]
    start = int(np.argmin(sums))
    return start, float(sums[start])


def workload(**fields) -> dict:
    body = {"runtime": 3 * 3600, "schedule": {"type": "onetime", "start_time": DAY, "max_delay": 21 * 3600},
            "candidate_locations": [{"id": "aws:us-west-1"}], "original_location": "aws:us-west-1",
            "power_kw": 2.0}
    body.update(fields)
    return body


def at(hour: int, day: str = DAY) -> str:
    return (datetime.fromisoformat(day) + timedelta(hours=hour)).isoformat()


# -- one region, past window: the engine's choice is the brute-force optimum ------------------

def test_one_region_past_window_is_the_brute_force_optimum(client):
    status, body = post(client, workload())
    assert status == 200, body
    (schedule,) = body["schedules"]
    (run,) = schedule["runs"]
    values = stored_hours(client, "CISO", DAY, 24)
    start, total = best_window(values, 3)
    chosen = run["chosen"]
    assert (chosen["location"], chosen["region"], chosen["start"], chosen["end"]) == (
        "aws:us-west-1", "CISO", at(start), at(start + 3))
    assert chosen["emissions_g"] == pytest.approx({"compute": total * 2.0, "transfer": 0.0, "total": total * 2.0})
    now = run["run_now"]
    assert (now["start"], now["emissions_g"]["total"]) == (DAY, pytest.approx(values[:3].sum() * 2.0))
    assert run["saving_g"] == pytest.approx(values[:3].sum() * 2.0 - total * 2.0)
    assert run["saving_percent"] == pytest.approx(100 * (1 - total / values[:3].sum()))
    (data,) = schedule["data"]
    assert (data["region"], data["source"], data["forecast"]) == ("CISO", "ELECTRICITYMAPS", None)
    assert data["measured"] == {"slots": 24, "first": DAY, "last": at(23)}
    assert schedule["slot_minutes"] == 60 and schedule["solver"]["optimal"]
    assert body["unit"] == "gCO2eq" and body["emission_factor_type"] == "lifecycle"


def test_direct_factors_are_scheduled_on_the_direct_series(client):
    status, body = post(client, workload(), emission_factor_type="direct")
    assert status == 200, body
    answer = client.get("/carbon-intensity/", query_string={
        "region": "CISO", "start": DAY, "end": at(24), "emission_factor_type": "direct"}).get_json()
    direct = np.array([p["carbon_intensity"] for p in answer["carbon_intensities"]])
    start, total = best_window(direct, 3)
    chosen = body["schedules"][0]["runs"][0]["chosen"]
    assert (chosen["start"], chosen["emissions_g"]["compute"]) == (at(start), pytest.approx(2.0 * total))


# -- many regions, transfer, capacity ------------------------------------------------------

FOUR = [{"id": "aws:us-west-1"}, {"id": "AWS:us-east-1"}, {"id": "US-NY"}, {"id": "US-TEX-ERCO"}]
REGIONS = {"aws:us-west-1": "CISO", "AWS:us-east-1": "PJM", "US-NY": "NYIS", "US-TEX-ERCO": "ERCO"}


def test_regions_are_ranked_and_the_best_is_the_brute_force_optimum_over_all(client):
    status, body = post(client, workload(candidate_locations=FOUR))
    assert status == 200, body
    schedule = body["schedules"][0]
    assert [(c["location"], c["region"]) for c in schedule["candidates"]] == list(REGIONS.items())
    run = schedule["runs"][0]
    best = {}
    for location, region in REGIONS.items():
        start, total = best_window(stored_hours(client, region, DAY, 24), 3)
        best[location] = (at(start), 2.0 * total)
    ranked = sorted(best, key=lambda loc: best[loc][1])
    assert [a["location"] for a in run["alternatives"]] == ranked
    for alternative in run["alternatives"]:
        assert (alternative["start"], alternative["emissions_g"]["compute"]) == (
            best[alternative["location"]][0], pytest.approx(best[alternative["location"]][1]))
    assert run["chosen"] == run["alternatives"][0]
    assert run["run_now"]["location"] == "aws:us-west-1"  # the original location, at once
    assert schedule["totals"]["saving_g"] == pytest.approx(run["saving_g"])


def test_moving_data_costs_transfer_emissions_at_both_ends(client):
    body = workload(candidate_locations=FOUR, original_location="AWS:us-east-1",
                    dataset={"input_size_gb": 800, "output_size_gb": 200})
    status, answer = post(client, body)
    assert status == 200, answer
    schedule = answer["schedules"][0]
    assert schedule["transfer_counted"] is True
    means = {region: stored_hours(client, region, DAY, 24).mean() for region in REGIONS.values()}
    by_location = {a["location"]: a for a in schedule["runs"][0]["alternatives"]}
    assert by_location["AWS:us-east-1"]["emissions_g"]["transfer"] == 0  # the data is there already
    for location in ("aws:us-west-1", "US-NY", "US-TEX-ERCO"):
        expected = 1000 * DEFAULT_TRANSFER_KWH_PER_GB * (means[REGIONS[location]] + means["PJM"]) / 2
        assert by_location[location]["emissions_g"]["transfer"] == pytest.approx(expected)
    body["carbon_accounting_mode"] = "compute-only"
    _, compute_only = post(client, body)
    assert compute_only["schedules"][0]["transfer_counted"] is False
    assert {a["emissions_g"]["transfer"] for a in compute_only["schedules"][0]["runs"][0]["alternatives"]} == {0}


def overlapping(runs: list[dict]) -> int:
    """The most runs a location holds at any one hour."""
    busy: dict[tuple[str, str], int] = {}
    for run in runs:
        chosen = run["chosen"]
        for segment in chosen["segments"]:
            hour = datetime.fromisoformat(segment["start"])
            while hour < datetime.fromisoformat(segment["end"]):
                key = (chosen["location"], hour.isoformat())
                busy[key] = busy.get(key, 0) + 1
                hour += timedelta(hours=1)
    return max(busy.values())


def test_capacity_spreads_recurring_runs_and_costs_no_more_than_needed(client):
    recurring = {"type": "uniform-random", "start_time": DAY, "interval": 3600, "max_delay": 8 * 3600}
    free = workload(runtime=3600, schedule=recurring)
    status, unlimited = post(client, free)
    assert status == 200, unlimited
    runs = unlimited["schedules"][0]["runs"]
    assert len(runs) == 24 and overlapping(runs) > 1  # without a limit the green hours fill up
    limited = workload(runtime=3600, schedule=recurring, candidate_locations=[{"id": "aws:us-west-1", "capacity": 1}])
    status, capped = post(client, limited)
    assert status == 200, capped
    schedule = capped["schedules"][0]
    assert overlapping(schedule["runs"]) == 1
    assert schedule["solver"]["method"] in ("milp", "lagrangian")  # capacity binds: not "independent"
    assert schedule["solver"]["gap"] <= 1e-3
    # no schedule under the limit is cheaper than the proven bound, and the free one is cheaper still
    assert schedule["totals"]["emissions_g"] >= schedule["solver"]["lower_bound_g"] - 1e-6
    assert schedule["totals"]["emissions_g"] >= unlimited["schedules"][0]["totals"]["emissions_g"] - 1e-6
    for run in schedule["runs"]:  # each run inside its own window
        assert run["earliest_start"] <= run["chosen"]["start"] and run["chosen"]["end"] <= run["deadline"]


def test_an_interruptible_run_takes_the_cheapest_hours(client):
    status, body = post(client, workload(interruptible=True))
    assert status == 200, body
    chosen = body["schedules"][0]["runs"][0]["chosen"]
    values = stored_hours(client, "CISO", DAY, 24)
    cheapest = np.sort(np.argsort(values, kind="stable")[:3])
    hours = [datetime.fromisoformat(s["start"]) for s in chosen["segments"]]
    assert sum(int((datetime.fromisoformat(s["end"]) - datetime.fromisoformat(s["start"])) / timedelta(hours=1))
               for s in chosen["segments"]) == 3
    assert chosen["emissions_g"]["compute"] == pytest.approx(2.0 * values[cheapest].sum())
    assert hours[0] == datetime.fromisoformat(at(int(cheapest[0])))


# -- the original's crashes, now answers ----------------------------------------------------

def test_a_poisson_schedule_is_answered_reproducibly(client):
    body = workload(runtime=1800, schedule={"type": "poisson", "start_time": DAY, "interval": 3 * 3600,
                                            "max_delay": 6 * 3600, "seed": 7})
    status, first = post(client, body)
    assert status == 200, first
    runs = first["schedules"][0]["runs"]
    assert 1 <= len(runs) < 24
    assert all(r["chosen"] is not None for r in runs)
    _, again = post(client, body)
    assert [r["earliest_start"] for r in again["schedules"][0]["runs"]] == [r["earliest_start"] for r in runs]
    body["schedule"]["seed"] = 8
    _, other = post(client, body)
    assert [r["earliest_start"] for r in other["schedules"][0]["runs"]] != [r["earliest_start"] for r in runs]


def test_without_original_location_there_is_no_baseline_but_a_schedule(client):
    body = workload(candidate_locations=FOUR)
    del body["original_location"]
    status, answer = post(client, body)
    assert status == 200, answer
    schedule = answer["schedules"][0]
    run = schedule["runs"][0]
    assert schedule["original_location"] is None
    assert run["chosen"]["location"] == run["alternatives"][0]["location"]
    assert (run["run_now"], run["saving_g"], run["saving_percent"]) == (None, None, None)
    assert schedule["totals"]["run_now_g"] is None


def test_providers_expand_to_their_covered_regions(client):
    body = workload(candidate_providers=["AWS"])
    del body["candidate_locations"]
    body["original_location"] = "AWS:us-west-1"
    status, answer = post(client, body)
    assert status == 200, answer
    schedule = answer["schedules"][0]
    located = {c["location"]: c["region"] for c in schedule["candidates"]}
    assert located["aws:us-west-1"] == "CISO" and located["aws:us-east-1"] == "PJM"
    # the catalogue's stored zones, with no boundaries: every region in a zone of ours is a
    # candidate (those without data in the window are left out with the reason), the rest are
    # named with their zone
    listing = client.get("/metadata/cloud-location/locations/aws/").get_json()["locations"]
    covered = {f"aws:{p['name']}" for p in listing if p["covered"]}
    assert {"aws:us-east-1", "aws:eu-west-1", "aws:ap-southeast-2", "aws:ca-central-1"} <= covered
    assert "aws:ap-south-1" not in covered
    assert set(located) | {item["location"] for item in schedule["left_out"]} == covered
    (left_out,) = [w for w in schedule["warnings"] if "not covered" in w]
    assert left_out.startswith(f"{len(listing) - len(covered)} AWS regions are in grid zones not covered here")
    assert "aws:ap-south-1 (IN-WE)" in left_out and "aws:eu-west-1" not in left_out
    assert schedule["runs"][0]["run_now"]["location"] == "aws:us-west-1"


# -- errors name the field -----------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({k: v for k, v in workload().items() if k != "runtime"}, "runtime"),
    (workload(runtime=-5), "runtime"),
    (workload(schedule={"type": "onetime", "start_time": DAY, "interval": 60}), "schedule.interval"),
    (workload(schedule={"type": "poisson", "start_time": DAY}), "schedule.interval"),
    (workload(schedule={"type": "onetime", "start_time": "2022-06-01T00:00:00"}), "schedule.start_time"),
    (workload(candidate_locations=[{"id": "mars:olympus-mons"}]), "candidate_locations.0.id"),
    (workload(candidate_locations=[{"id": "CISO", "latitude": 10}]), "candidate_locations.0.longitude"),
    (workload(original_location="nowhere"), "original_location"),
    (workload(candidate_providers=["AWS"]), "candidate_locations"),
    ([workload(), workload(schedule={"type": "uniform-random", "start_time": DAY})], "1.schedule.interval"),
    (workload(schedule={"type": "uniform-random", "start_time": DAY, "interval": 1}), "schedule.interval"),
    (workload(schedule={"type": "onetime", "start_time": "9999-12-31T23:00:00Z"}), "schedule.start_time"),
    (workload(schedule={"type": "onetime", "start_time": "0001-01-01T00:00:00+05:00"}), "schedule.start_time"),
    (workload(power_kw=1e308), "power_kw"),
    (workload(power_kw=None, watts_per_core=5000, core_count=1e6), "core_count"),
    (workload(candidate_locations=[{"id": "CISO", "capacity": 99999999999999999999}]), "candidate_locations.0.capacity"),
    (workload(schedule={"type": "onetime", "start_time": DAY, "max_delay": 40 * 86400}), "schedule.max_delay"),
    (workload(runtime=10**15), "runtime"),
])
def test_bad_workloads_answer_400_naming_the_field(client, body, field):
    status, answer = post(client, body)
    assert status == 400, answer
    assert answer["error"]["parameter"] == field, answer
    assert answer["error"]["message"].startswith(field)


def test_a_body_that_is_not_json_is_refused(client):
    response = client.post("/carbon-aware-scheduler/", data="runtime=5", content_type="text/plain")
    assert response.status_code == 400 and response.get_json()["error"]["parameter"] == "body"


def test_a_source_without_data_for_a_region_is_a_404(client):
    status, answer = post(client, workload(carbon_data_source="NYISO"))
    assert status == 404 and answer["error"]["code"] == "unknown_source"
    assert answer["error"]["parameter"] == "carbon_data_source"


def test_a_source_without_data_in_the_window_places_nothing_and_says_why(client):
    status, answer = post(client, workload(carbon_data_source="CAISO"))  # CAISO's one stored day is in 2025
    assert status == 200, answer
    schedule = answer["schedules"][0]
    assert schedule["runs"][0]["chosen"] is None and schedule["runs"][0]["alternatives"] == []
    assert schedule["data"][0]["source"] == "CAISO" and schedule["data"][0]["missing_slots"] == 288  # 5-minute slots
    assert any("fit in no candidate" in w for w in schedule["warnings"])
    assert any("CAISO has no value for CISO in 288 of 288 slots" in w for w in schedule["warnings"])


# -- replayed 5-minute fixtures, and the future from the forecast ------------------------------

def test_five_minute_data_replayed_from_the_fixtures_gives_five_minute_slots(client):
    start = "2025-02-19T05:00:00+00:00"
    body = {"runtime": 1800, "schedule": {"type": "onetime", "start_time": start, "max_delay": 6 * 3600},
            "candidate_locations": [{"id": "NYIS"}], "original_location": "NYIS", "watts_per_core": 10,
            "core_count": 4}
    status, answer = post(client, body)
    assert status == 200, answer
    schedule = answer["schedules"][0]
    assert schedule["slot_minutes"] == 5 and schedule["data"][0]["source"] == "NYISO"
    points = client.get("/carbon-intensity/", query_string={"region": "NYIS", "start": start,
                                                            "end": "2025-02-19T11:30:00+00:00"}).get_json()
    base = datetime.fromisoformat(start)
    values = np.full(78, np.nan)  # 6.5 h of 5-minute slots; a slot the source lacks stays unknown
    for p in points["carbon_intensities"]:
        values[int((datetime.fromisoformat(p["timestamp"]) - base) / timedelta(minutes=5))] = p["carbon_intensity"]
    sums = np.array([values[i:i + 6].sum() for i in range(78 - 6 + 1)])
    best = int(np.nanargmin(np.where(np.isnan(sums), np.inf, sums)))
    kwh_per_slot = 0.040 * 0.5 / 6
    chosen = schedule["runs"][0]["chosen"]
    assert chosen["start"] == (base + best * timedelta(minutes=5)).isoformat()
    assert chosen["end"] == (base + best * timedelta(minutes=5) + timedelta(minutes=30)).isoformat()
    assert chosen["emissions_g"]["compute"] == pytest.approx(kwh_per_slot * sums[best])


def test_a_future_window_is_scheduled_on_the_stored_forecast(client, imported):
    now_hour = pd.Timestamp.now(tz="UTC").floor("h")
    hours = pd.date_range(end=now_hour - pd.Timedelta(hours=1), periods=100 * 24, freq="h")
    rng = np.random.default_rng(5)
    solar = np.clip(np.sin((hours.hour.to_numpy() - 13) / 12 * np.pi + np.pi / 2), 0, None) * 8000
    mix = pd.DataFrame({"solar": solar, "wind": rng.uniform(2000, 9000, len(hours)), "gas": 30000 - solar},
                       index=hours)  # generated, not real: a live feed whose future must be forecast
    write_hourly_mix(imported, "SWPP", mix)
    from api.forecasts import main as forecast_schedule  # the hourly schedule stores forecast and error

    assert forecast_schedule(["--region", "SWPP"]) == 0
    start = (now_hour + pd.Timedelta(hours=1)).isoformat()
    status, answer = post(client, {"runtime": 7200, "schedule": {"type": "onetime", "start_time": start,
                                                                  "max_delay": 10 * 3600},
                                   "candidate_locations": [{"id": "SWPP"}], "original_location": "SWPP"})
    assert status == 200, answer
    schedule = answer["schedules"][0]
    (data,) = schedule["data"]
    assert data["source"] == "TESTHOURLY" and data["measured"]["slots"] == 0
    assert data["forecast"]["slots"] == 12 and data["forecast"]["model"] == "ridge_same_hour"
    assert data["forecast"]["fallback_reason"] == "no fitted mix model for this region: history-only model"
    assert data["forecast"]["issued_at"] == now_hour.isoformat()
    assert {e["window_hours"] for e in data["forecast"]["measured_error"]} >= {24}
    issued = client.get("/carbon-intensity/forecast/", query_string={
        "region": "SWPP", "source": "TESTHOURLY", "horizon_hours": 13}).get_json()
    values = np.array([p["carbon_intensity"] for p in issued["forecast"]][1:13])  # the window's 12 hours
    best, total = best_window(values, 2)
    chosen = schedule["runs"][0]["chosen"]
    assert chosen["start"] == (now_hour + pd.Timedelta(hours=1 + best)).isoformat()
    assert chosen["emissions_g"]["compute"] == pytest.approx(0.005 * total)  # 5 W x 1 core, 1 kWh-hour each


# -- GET /carbon-aware-scheduler/best-window/ ------------------------------------------------

def best(client, **params):
    response = client.get("/carbon-aware-scheduler/best-window/", query_string=params)
    return response.status_code, response.get_json()


@pytest.mark.parametrize("zone, region", [("US-TEX-ERCO", "ERCO"), ("US-MIDA-PJM", "PJM")])
def test_best_window_is_the_brute_force_optimum(client, zone, region):
    status, body = best(client, region=zone, source="electricitymaps", start=DAY, end=at(48), duration=240)
    assert status == 200, body
    values = stored_hours(client, region, DAY, 48)
    start, total = best_window(values, 4)
    assert (body["region"], body["source"], body["slot_minutes"]) == (region, "ELECTRICITYMAPS", 60)
    assert body["best"]["start"] == at(start) and body["best"]["end"] == at(start + 4)
    assert body["best"]["carbon_intensity"] == pytest.approx(total / 4)
    assert body["at_start"]["carbon_intensity"] == pytest.approx(values[:4].mean())
    assert body["saving_percent"] == pytest.approx(100 * (1 - total / values[:4].sum()))


def test_best_window_for_a_cloud_location_and_interruptible(client):
    status, body = best(client, location="aws:us-west-1", start=DAY, end=at(24), duration=180, interruptible="true")
    assert status == 200, body
    values = stored_hours(client, "CISO", DAY, 24)
    assert body["location_method"] == "cloud" and body["region"] == "CISO"
    assert body["best"]["carbon_intensity"] == pytest.approx(np.sort(values)[:3].mean())


@pytest.mark.parametrize("params, field", [
    ({"region": "CISO", "start": DAY, "end": at(24)}, "duration"),
    ({"region": "CISO", "start": DAY, "end": at(2), "duration": 180}, "duration"),
    ({"region": "CISO", "start": DAY, "end": at(24), "duration": 0}, "duration"),
    ({"region": "CISO", "start": DAY, "end": at(-1), "duration": 60}, "end"),
    ({"region": "CISO", "start": "2022-06-01T00:00:00", "end": at(24), "duration": 60}, "start"),
    ({"start": DAY, "end": at(24), "duration": 60}, "region"),
    ({"region": "CISO", "start": "9999-12-31T00:00:00Z", "end": "9999-12-31T23:00:00Z", "duration": 60}, "end"),
])
def test_best_window_errors_name_the_parameter(client, params, field):
    status, body = best(client, **params)
    assert status == 400, body
    assert body["error"]["parameter"] == field


def test_the_scheduler_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "requestBody" in paths["/carbon-aware-scheduler/"]["post"]
    assert "get" in paths["/carbon-aware-scheduler/best-window/"]
    assert "requestBody" in paths["/legacy/carbon-aware-scheduler/"]["get"]
    assert {p["name"] for p in paths["/carbon-aware-scheduler/best-window/"]["get"]["parameters"]} >= {
        "duration", "start", "end", "region", "interruptible"}


# -- GET /legacy/carbon-aware-scheduler/: the original's body and answer ----------------------

# Keys the original's api/routes/carbon_aware_scheduler.py and helpers/carbon_intensity.py answer with.
ORIGINAL_KEYS = {"request", "original-region", "isos", "warnings", "details", "optimal-regions", "weighted-scores",
                 "raw-scores"}
ORIGINAL_SCORES = {"energy-usage", "carbon-emission", "carbon-emission-from-compute",
                   "carbon-emission-from-migration", "wan-network-usage", "energy-usage-unit", "carbon-emission-unit"}
ORIGINAL_DETAILS = {"timings", "emission_rates", "emission_integral", "route", "route.hop_count"}
ORIGINAL_TIMINGS = {"input_transfer_start", "input_transfer_duration", "input_transfer_end", "compute_start",
                    "compute_duration", "compute_end", "output_transfer_start", "output_transfer_duration",
                    "output_transfer_end", "min_start", "max_end", "total_transfer_time"}
ORIGINAL_REQUEST = {"runtime", "schedule", "dataset", "original_location", "candidate_providers",
                    "candidate_locations", "carbon_data_source", "use_prediction", "desired_renewable_ratio",
                    "optimize_carbon", "only_emap_full_range_isos_for_network_hops", "watts_per_core", "core_count",
                    "use_new_optimization", "carbon_accounting_mode", "inter_region_route_source",
                    "network_hop_carbon_estimation_heuristic",
                    "network_hop_carbon_estimation_minimum_known_carbon_power_ratio",
                    "network_hop_carbon_estimation_route_average_ratio_threshold",
                    "network_hop_carbon_estimation_distance_km_threshold"}


def original_body(**fields) -> dict:
    """A request as the original's clients sent it (its README's example shape)."""
    body = {"runtime": 3600,
            "schedule": {"type": "onetime", "start_time": DAY, "interval": None, "max_delay": 6 * 3600},
            "dataset": {"input_size_gb": 0, "output_size_gb": 0},
            "candidate_locations": [{"id": "AWS:us-west-1"}, {"id": "AWS:us-east-1"}],
            "original_location": "AWS:us-west-1"}
    body.update(fields)
    return body


def legacy(client, body):
    response = client.get("/legacy/carbon-aware-scheduler/", json=body)
    return response.status_code, response.get_json()


def test_legacy_answer_has_the_original_shape_and_the_engine_numbers(client):
    status, body = legacy(client, original_body())
    assert status == 200, body
    assert set(body) == ORIGINAL_KEYS
    assert body["original-region"] == "AWS:us-west-1"
    assert set(body["isos"]) == {"AWS:us-west-1", "AWS:us-east-1"}
    assert all(iso.startswith("watttime:") for iso in body["isos"].values())
    assert set(body["request"]) >= ORIGINAL_REQUEST
    assert (body["request"]["runtime"], body["request"]["schedule"]["max_delay"]) == ("01:00:00", "06:00:00")
    kwh = 0.005  # the original's default: 5 W per core, one core, one hour
    for label, region in (("AWS:us-west-1", "CISO"), ("AWS:us-east-1", "PJM")):
        scores = body["raw-scores"][label]
        assert set(scores) == ORIGINAL_SCORES
        _, total = best_window(stored_hours(client, region, DAY, 7), 1)
        assert scores["carbon-emission"] == pytest.approx(kwh * total)
        assert (scores["energy-usage"], scores["wan-network-usage"]) == (pytest.approx(kwh), 0)
        assert (scores["energy-usage-unit"], scores["carbon-emission-unit"]) == ("kWh", "gCO2")
        assert body["weighted-scores"][label] == pytest.approx((1000 * kwh + scores["carbon-emission"]) / 3)
        details = body["details"][label]
        assert set(details) == ORIGINAL_DETAILS
        (timing,) = details["timings"]
        assert set(timing) == ORIGINAL_TIMINGS
        assert (timing["compute_duration"], timing["total_transfer_time"]) == ("01:00:00", "00:00:00")
        assert timing["min_start"] == DAY and timing["max_end"] == at(7)
        assert set(details["emission_rates"]) == {"compute", "transfer", "transfer.network", "transfer.endpoint"}
        assert len(details["emission_rates"]["compute"]) == 7
    ratings = [entry["rating"] for entry in body["optimal-regions"]]
    assert ratings == sorted(ratings) and ratings[0] == min(body["weighted-scores"].values())
    assert body["optimal-regions"][0]["candidates"] == [min(body["weighted-scores"], key=body["weighted-scores"].get)]


def test_legacy_counts_transfer_in_compute_and_network_mode(client):
    status, body = legacy(client, original_body(dataset={"input_size_gb": 100, "output_size_gb": 25},
                                                carbon_accounting_mode="compute-and-network"))
    assert status == 200, body
    east = body["raw-scores"]["AWS:us-east-1"]
    assert east["carbon-emission-from-migration"] > 0 and east["wan-network-usage"] == 125
    assert body["raw-scores"]["AWS:us-west-1"]["carbon-emission-from-migration"] == 0  # the data is there
    timing = body["details"]["AWS:us-east-1"]["timings"][0]
    assert (timing["input_transfer_duration"], timing["output_transfer_duration"]) == ("00:13:20", "00:03:20")


def test_legacy_poisson_schedule_answers_where_the_original_crashed(client):
    status, body = legacy(client, original_body(schedule={"type": "poisson", "start_time": DAY, "interval": 4 * 3600,
                                                          "max_delay": 3600}))
    assert status == 200, body
    runs = len(body["details"]["AWS:us-west-1"]["timings"])
    assert runs >= 1
    assert body["raw-scores"]["AWS:us-west-1"]["energy-usage"] == pytest.approx(0.005 * runs)


def test_legacy_without_original_location_answers_where_the_original_crashed(client):
    request = original_body()
    del request["original_location"]
    status, body = legacy(client, request)
    assert status == 200, body
    assert body["original-region"] is None and set(body["raw-scores"]) == {"AWS:us-west-1", "AWS:us-east-1"}


def test_legacy_with_electricity_maps_names_its_zones(client):
    status, body = legacy(client, original_body(carbon_data_source="emap"))
    assert status == 200, body
    assert body["isos"] == {"AWS:us-west-1": "emap:US-CAL-CISO", "AWS:us-east-1": "emap:US-MIDA-PJM"}


@pytest.mark.parametrize("change, field", [
    ({"runtime": 0}, "runtime"),
    ({"candidate_locations": []}, "candidate_locations"),
    ({"schedule": {"type": "weekly", "start_time": DAY}}, "schedule"),
])
def test_legacy_validation_errors_are_the_original_422_naming_the_field(client, change, field):
    status, body = legacy(client, original_body(**change))
    assert status == 422, body
    assert field in body["messages"]["json"]


def test_legacy_original_location_outside_the_providers_is_a_400_naming_it(client):
    status, body = legacy(client, original_body(candidate_providers=["AWS"], candidate_locations=[],
                                                original_location="gcloud:us-west1"))
    assert status == 400, body
    assert body["error"].startswith("original_location:") and body["code"] == "invalid_body"


def test_legacy_with_no_data_anywhere_is_the_original_no_viable_candidate(client):
    status, body = legacy(client, original_body(schedule={"type": "onetime", "start_time": "2019-06-01T00:00:00Z",
                                                          "max_delay": 0}))
    assert status == 400
    assert body["error"] == "No viable candidate"
    assert set(body["warnings"]) >= {"AWS:us-west-1", "AWS:us-east-1"}


# -- any past window: the answer is the brute-force optimum over the stored series ----------

@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(zone=st.sampled_from(sorted(REGIONS)), day=st.integers(0, 360), hour=st.integers(0, 23),
       runtime_hours=st.integers(1, 8), slack_hours=st.integers(0, 30), interruptible=st.booleans())
def test_any_past_window_is_the_brute_force_optimum(client, zone, day, hour, runtime_hours, slack_hours,
                                                    interruptible):
    start = (datetime(2022, 1, 1, tzinfo=timezone.utc) + timedelta(days=day, hours=hour)).isoformat()
    body = workload(runtime=runtime_hours * 3600, interruptible=interruptible, candidate_locations=[{"id": zone}],
                    original_location=zone, schedule={"type": "onetime", "start_time": start,
                                                      "max_delay": slack_hours * 3600})
    status, answer = post(client, body)
    assert status == 200, answer
    run = answer["schedules"][0]["runs"][0]
    values = stored_hours(client, REGIONS[zone], start, runtime_hours + slack_hours)
    if interruptible:
        cheapest = np.sort(np.argsort(values, kind="stable")[:runtime_hours])
        total, first = values[cheapest].sum(), int(cheapest[0])
    else:
        first, total = best_window(values, runtime_hours)
    assert run["chosen"]["emissions_g"]["compute"] == pytest.approx(2.0 * total)
    assert run["chosen"]["start"] == at(first, start)
    assert run["run_now"]["emissions_g"]["compute"] == pytest.approx(2.0 * values[:runtime_hours].sum())
    assert run["saving_g"] >= -1e-9


# -- defects found in review: each test fails on the code before its fix ----------------------

def test_savings_are_over_the_placed_runs_and_the_unplaced_are_counted(client):
    body = {"runtime": 3600, "power_kw": 1, "original_location": "CISO",
            "schedule": {"type": "uniform-random", "start_time": "2022-06-01T00:00:00Z", "interval": 1200,
                         "max_delay": 0},
            "candidate_locations": [{"id": "CISO", "capacity": 1}]}
    status, answer = post(client, body)
    assert status == 200, answer
    schedule = answer["schedules"][0]
    placed = [r for r in schedule["runs"] if r["chosen"] is not None]
    totals = schedule["totals"]
    assert totals["runs_placed"] == len(placed) and totals["runs_not_placed"] == 72 - len(placed) > 0
    assert totals["emissions_g"] == pytest.approx(sum(r["chosen"]["emissions_g"]["total"] for r in placed))
    assert totals["run_now_g"] == pytest.approx(sum(r["run_now"]["emissions_g"]["total"] for r in placed))
    # one place, no delay: every placed run runs now, so nothing is saved
    assert totals["saving_percent"] == pytest.approx(0.0, abs=1e-9)
    # runs left out by capacity alone: two-hour runs every hour, one at a time, no delay
    body["runtime"], body["schedule"]["interval"] = 7200, 3600
    status, answer = post(client, body)
    assert status == 200, answer
    schedule = answer["schedules"][0]
    placed = [r for r in schedule["runs"] if r["chosen"] is not None]
    assert len(placed) == 12 and schedule["totals"]["runs_not_placed"] == 12
    assert schedule["totals"]["run_now_g"] == pytest.approx(sum(r["run_now"]["emissions_g"]["total"] for r in placed))
    assert schedule["totals"]["saving_g"] == pytest.approx(0.0, abs=1e-6)


def test_a_run_never_ends_after_its_deadline_nor_starts_before_its_earliest_start(client):
    body = {"runtime": 3600, "power_kw": 1, "candidate_locations": [{"id": "CISO"}],
            "schedule": {"type": "onetime", "start_time": "2022-06-01T14:50:00Z",
                         "deadline": "2022-06-01T17:50:00Z"}}
    status, answer = post(client, body)
    assert status == 200, answer
    chosen = answer["schedules"][0]["runs"][0]["chosen"]
    assert "2022-06-01T15:00:00" <= chosen["start"][:19] and chosen["end"][:19] <= "2022-06-01T17:00:00"
    values = stored_hours(client, "CISO", "2022-06-01T15:00:00+00:00", 2)
    assert chosen["emissions_g"]["total"] == pytest.approx(values.min())
    status, legacy_body = legacy(client, {**body, "original_location": "CISO"})
    assert status == 200, legacy_body
    (timing,) = legacy_body["details"]["CISO"]["timings"]
    assert timing["compute_start"] >= "2022-06-01T15:00:00" and timing["compute_end"] <= "2022-06-01T17:00:00+00:00"


def test_a_window_without_a_whole_slot_is_a_400_naming_the_delay(client):
    body = {"runtime": 3600, "power_kw": 1, "candidate_locations": [{"id": "CISO"}],
            "schedule": {"type": "onetime", "start_time": "2022-06-01T14:50:00Z", "max_delay": 0}}
    status, answer = post(client, body)
    assert status == 400 and answer["error"]["code"] == "no_window", answer
    assert answer["error"]["parameter"] == "schedule.max_delay"


def test_reported_times_are_the_priced_slots_in_post_and_best_window(client):
    start = "2022-06-01T02:30:00+00:00"
    status, answer = post(client, workload(schedule={"type": "onetime", "start_time": start, "max_delay": 9 * 3600 + 1800}))
    assert status == 200, answer
    run = answer["schedules"][0]["runs"][0]
    values = stored_hours(client, "CISO", at(3), 12)   # the whole hours inside the window, 03:00 to 15:00
    first, total = best_window(values, 3)
    assert run["chosen"]["start"] == at(3 + first) and run["chosen"]["end"] == at(6 + first)
    assert run["chosen"]["emissions_g"]["compute"] == pytest.approx(total * 2.0)
    assert run["run_now"]["start"] == at(3)
    assert run["run_now"]["emissions_g"]["total"] == pytest.approx(values[:3].sum() * 2.0)
    status, window = best(client, region="CISO", source="electricitymaps", start=start, end=at(15), duration=180)
    assert status == 200, window
    assert window["at_start"]["start"] == run["run_now"]["start"]
    assert window["best"]["start"] == run["chosen"]["start"]


def test_a_request_over_the_work_budget_is_a_400_naming_what_to_reduce(client):
    one = {"runtime": 3600, "power_kw": 1,
           "schedule": {"type": "uniform-random", "start_time": DAY, "interval": 9, "max_delay": 2505600},
           "candidate_locations": [{"id": "CISO", "capacity": 2}, {"id": "PJM", "capacity": 2},
                                   {"id": "ERCO", "capacity": 2}]}
    status, answer = post(client, [one] * 8)
    assert status == 400 and answer["error"]["code"] == "request_too_large", answer
    assert "schedule.interval" in answer["error"]["message"] and "fewer" in answer["error"]["message"]


def test_a_candidate_without_data_from_the_named_source_is_left_out_and_named(client):
    body = workload(carbon_data_source="emap", candidate_locations=[{"id": "aws:us-west-1"}, {"id": "MISO"}])
    status, answer = post(client, body)
    assert status == 200, answer
    schedule = answer["schedules"][0]
    assert schedule["runs"][0]["chosen"]["region"] == "CISO"
    assert any("MISO" in w for w in schedule["warnings"])
    assert [c["location"] for c in schedule["left_out"]] == ["MISO"]
    status, legacy_body = legacy(client, original_body(carbon_data_source="emap",
                                                       candidate_locations=[{"id": "AWS:us-west-1"}, {"id": "MISO"}]))
    assert status == 200, legacy_body
    assert "MISO" in legacy_body["warnings"] and list(legacy_body["raw-scores"]) == ["AWS:us-west-1"]
    # no candidate with data: a 404 naming each region
    status, answer = post(client, workload(carbon_data_source="emap", candidate_locations=[{"id": "MISO"}],
                                           original_location=None))
    assert status == 404 and "MISO" in answer["error"]["message"], answer
    assert (answer["error"]["code"], answer["error"]["parameter"]) == ("unknown_source", "carbon_data_source"), answer


def test_a_candidate_without_data_is_dropped_before_a_capacitated_solve(client):
    recurring = {"type": "uniform-random", "start_time": DAY, "interval": 3600, "max_delay": 8 * 3600}
    body = workload(runtime=3600, schedule=recurring,
                    candidate_locations=[{"id": "aws:us-west-1", "capacity": 1}, {"id": "MISO", "capacity": 1}])
    status, answer = post(client, body)
    assert status == 200, answer
    schedule = answer["schedules"][0]
    assert [c["location"] for c in schedule["left_out"]] == ["MISO"]
    assert schedule["totals"]["runs_not_placed"] == 0
    assert 0 <= schedule["solver"]["lower_bound_g"] <= schedule["totals"]["emissions_g"] + 1e-6


def test_best_window_near_the_first_year_is_a_400(client):
    status, body = best(client, region="CISO", start="0001-01-01T00:00:00+05:00", end="0001-01-02T00:00:00Z",
                        duration=60)
    assert status == 400, body
    error = body["error"]
    assert error["code"] == "invalid_parameter" and error["parameter"] in ("start", "end"), body  # both are
    assert error["message"] == f"{error['parameter']}: must be between 1900-01-01 and 2199-12-31"
