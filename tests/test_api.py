"""The REST API against data ingested from the real fixtures, through the Flask app."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from api import create_app

LIFECYCLE = {"gas": 490, "nuclear": 12, "oil": 650, "biomass": 230, "wind": 11, "hydro": 24}
DIRECT = {"gas": 370, "oil": 406}
NYISO_FUEL = {"Dual Fuel": "gas", "Natural Gas": "gas", "Nuclear": "nuclear", "Other Fossil Fuels": "oil",
              "Other Renewables": "biomass", "Wind": "wind", "Hydro": "hydro"}


@pytest.fixture
def client(filled, boundaries_env):
    return create_app(filled).test_client()


def nyiso_mix(shared_fixtures, stamp: str) -> dict[str, float]:
    """MW by fuel at one NYISO stamp, read straight from the CSV."""
    text = (shared_fixtures / "NYISO" / "20250219rtfuelmix.csv").read_text()
    mix: dict[str, float] = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["Time Stamp"] == stamp:
            fuel = NYISO_FUEL[row["Fuel Category"]]
            mix[fuel] = mix.get(fuel, 0) + float(row["Gen MW"])
    return mix


def intensity_of(mix: dict[str, float], factors: dict[str, float]) -> float:
    return sum(mw * factors.get(fuel, 0) for fuel, mw in mix.items()) / sum(mix.values())


def get(client, path, **params):
    response = client.get(path, query_string=params)
    return response.status_code, response.get_json()


# -- /carbon-intensity/ ----------------------------------------------------------------

def test_carbon_intensity_matches_the_recorded_mix(client, shared_fixtures):
    status, body = get(client, "/carbon-intensity/", region="NYIS", emission_factors="ipcc",
                       start="2025-02-19T05:00:00Z", end="2025-02-19T06:00:00Z")
    assert status == 200
    assert (body["region"], body["source"], body["emission_factor_type"], body["unit"]) == (
        "NYIS", "NYISO", "lifecycle", "gCO2eq/kWh")
    points = body["carbon_intensities"]
    assert [p["timestamp"] for p in points] == [
        (datetime(2025, 2, 19, 5, tzinfo=timezone.utc) + timedelta(minutes=5 * i)).isoformat() for i in range(12)]
    first = nyiso_mix(shared_fixtures, "02/19/2025 00:05:00")  # ends 05:05Z, so it starts at 05:00Z
    assert points[0]["carbon_intensity"] == pytest.approx(intensity_of(first, LIFECYCLE))
    renewable = sum(first[f] for f in ("biomass", "wind", "hydro")) / sum(first.values())
    assert points[0]["renewable_ratio"] == pytest.approx(renewable)
    assert points[0]["low_carbon_ratio"] == pytest.approx(renewable + first["nuclear"] / sum(first.values()))
    expected_mean = sum(p["carbon_intensity"] for p in points) / 12
    assert body["average"]["carbon_intensity"] == pytest.approx(expected_mean)
    assert body["coverage"] == {"intervals": 12, "expected_intervals": 12, "estimated_intervals": 0,
                                "missing_intervals": 0, "first": points[0]["timestamp"],
                                "last": points[-1]["timestamp"], "note": None}
    assert all(p["estimated"] is False and p["estimation_method"] is None for p in points)


def test_direct_factors_and_aliases(client, shared_fixtures):
    status, body = get(client, "/carbon-intensity/", region="us-ny", emission_factor_type="direct", emission_factors="ipcc",
                       start="2025-02-19T05:00:00+00:00", end="2025-02-19T05:05:00+00:00")
    assert status == 200 and body["region"] == "NYIS"
    first = nyiso_mix(shared_fixtures, "02/19/2025 00:05:00")
    assert body["carbon_intensities"][0]["carbon_intensity"] == pytest.approx(intensity_of(first, DIRECT))


def test_hourly_resolution_is_the_time_weighted_mean(client):
    _, native = get(client, "/carbon-intensity/", region="NYIS", start="2025-02-19T05:00:00Z",
                    end="2025-02-19T07:00:00Z")
    _, hourly = get(client, "/carbon-intensity/", region="NYIS", start="2025-02-19T05:00:00Z",
                    end="2025-02-19T07:00:00Z", resolution="hour")
    values = [p["carbon_intensity"] for p in native["carbon_intensities"]]
    assert [p["carbon_intensity"] for p in hourly["carbon_intensities"]] == pytest.approx(
        [sum(values[:12]) / 12, sum(values[12:]) / 12])
    assert hourly["coverage"]["expected_intervals"] == 2


def test_a_point_and_a_cloud_region_resolve_through_the_boundaries(client):
    status, body = get(client, "/carbon-intensity/", latitude=40.7831, longitude=-73.9712,  # Manhattan
                       start="2025-02-19T05:00:00Z", end="2025-02-19T05:30:00Z")
    assert status == 200 and body["region"] == "NYIS" and body["location_method"] == "boundaries"
    assert len(body["carbon_intensities"]) == 6
    status, body = get(client, "/carbon-intensity/", location="aws:us-west-1",
                       start="2025-02-09T08:00:00Z", end="2025-02-09T09:00:00Z")
    assert status == 200 and body["region"] == "CISO" and body["source"] == "CAISO"


def test_a_range_without_data_is_an_empty_answer_that_says_why(client):
    status, body = get(client, "/carbon-intensity/", region="NYIS", start="2020-01-01T00:00:00Z",
                       end="2020-01-02T00:00:00Z")
    assert status == 200 and body["carbon_intensities"] == []
    assert body["average"]["carbon_intensity"] is None
    assert "no source has data for NYIS in this range" in body["coverage"]["note"]
    status, body = get(client, "/carbon-intensity/", region="ERCO", start="2025-02-19T00:00:00Z",
                       end="2025-02-20T00:00:00Z")
    assert status == 200 and body["source"] is None and body["coverage"]["intervals"] == 0


def test_source_can_be_asked_for_and_must_have_data(client):
    status, body = get(client, "/carbon-intensity/", region="NYIS", source="eia", start="2025-02-19T05:00:00Z",
                       end="2025-02-19T06:00:00Z")
    assert status == 404 and body["error"]["parameter"] == "source"
    assert "sources with data: NYISO" in body["error"]["message"]


@pytest.mark.parametrize("params, status, parameter, words", [
    ({"region": "NYIS", "end": "2025-02-19T06:00:00Z"}, 400, "start", "is required"),
    ({"region": "NYIS", "start": "2025-02-19T05:00:00", "end": "2025-02-19T06:00:00Z"}, 400, "start", "UTC offset"),
    ({"region": "NYIS", "start": "yesterday", "end": "2025-02-19T06:00:00Z"}, 400, "start", "ISO 8601"),
    ({"region": "NYIS", "start": "2025-02-19T06:00:00Z", "end": "2025-02-19T05:00:00Z"}, 400, "end", "after start"),
    ({"region": "NYIS", "start": "2025-01-01T00:00:00Z", "end": "2025-03-01T00:00:00Z"}, 400, "end", "31 days"),
    ({"region": "NYIS", "start": "2015-01-01T00:00:00Z", "end": "2025-03-01T00:00:00Z", "resolution": "day"},
     400, "end", "3660 days"),
    ({"region": "NYIS", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z", "resolution": "week"},
     400, "resolution", "Must be one of"),
    ({"region": "ATLANTIS", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z"}, 404, "region",
     "unknown region"),
    ({"latitude": "nan", "longitude": "0", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z"},
     400, "latitude", "nan"),
    ({"latitude": "91", "longitude": "0", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z"},
     400, "latitude", "greater than or equal to -90"),
    ({"latitude": "40", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z"}, 400, "longitude",
     "required"),
    ({"region": "NYIS", "latitude": "40", "longitude": "-74", "start": "2025-02-19T05:00:00Z",
      "end": "2025-02-19T06:00:00Z"}, 400, "latitude", "exactly one"),
    ({"start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z"}, 400, "region", "exactly one"),
    ({"region": "NYIS", "regoin": "x", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z"}, 400,
     "regoin", "unknown parameter"),
    ({"location": "aws:mars-1", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z"}, 404, "location",
     "unknown cloud location"),
    ({"latitude": "0", "longitude": "-30", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z"},
     404, "latitude", "outside every balancing authority"),
])
def test_bad_requests_name_the_parameter(client, params, status, parameter, words):
    got, body = get(client, "/carbon-intensity/", **params)
    assert got == status, body
    assert body["error"]["parameter"] == parameter
    assert words.lower() in body["error"]["message"].lower()


@pytest.mark.parametrize("query_string, parameter", [
    ("region=CISO&region=PJM&start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z", "region"),
    ("region=CISO&start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&end=2025-01-03T00:00:00Z", "end"),
    ("region=CISO&start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&resolution=hour&resolution=day", "resolution"),
])
def test_a_repeated_parameter_is_a_400_naming_it(client, query_string, parameter):
    response = client.get(f"/carbon-intensity/?{query_string}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == {"code": "repeated_parameter", "parameter": parameter,
                                            "message": f"{parameter} is given 2 times: give it once"}
    assert client.get("/balancing-authority/?latitude=40.7&latitude=41&longitude=-74").get_json()["error"][
        "parameter"] == "latitude"


def test_huge_query_strings_and_unknown_paths_answer_json(client):
    response = client.get("/carbon-intensity/?region=" + "x" * 5000)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "query_too_long"
    response = client.get("/no-such-thing")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_historical_answers_are_cacheable_and_conditional(client):
    url = "/carbon-intensity/?region=NYIS&start=2025-02-19T05:00:00Z&end=2025-02-19T06:00:00Z"
    first = client.get(url)
    assert first.headers["Cache-Control"] == "public, max-age=86400"
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other = client.get(url.replace("06:00", "07:00"), headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag  # another answer, sent whole
    assert len(other.get_json()["carbon_intensities"]) == 2 * len(first.get_json()["carbon_intensities"])


# -- /energy-mixture/ ------------------------------------------------------------------

def test_energy_mixture_matches_the_recorded_mix(client, shared_fixtures):
    status, body = get(client, "/energy-mixture/", region="NYIS", start="2025-02-19T05:00:00Z",
                       end="2025-02-19T05:10:00Z")
    assert status == 200 and body["unit"] == "MW" and len(body["mixtures"]) == 2
    first = body["mixtures"][0]
    assert first["timestamp"] == "2025-02-19T05:00:00+00:00"
    assert first["fuels"] == pytest.approx(nyiso_mix(shared_fixtures, "02/19/2025 00:05:00"))
    assert first["total_generation_mw"] == pytest.approx(sum(first["fuels"].values()))
    assert first["net_import_mw"] is None


def test_energy_mixture_carries_net_imports_and_storage(client):
    status, body = get(client, "/energy-mixture/", region="CISO", start="2025-02-09T08:00:00Z",
                       end="2025-02-09T08:05:00Z")
    assert status == 200 and body["source"] == "CAISO"
    row = next(csv.DictReader(open_caiso()))
    mix = body["mixtures"][0]
    assert mix["net_import_mw"] == pytest.approx(float(row["Imports"]))
    assert mix["fuels"]["battery"] == pytest.approx(float(row["Batteries"]))
    assert mix["fuels"]["hydro"] == pytest.approx(float(row["Small hydro"]) + float(row["Large Hydro"]))
    generation = sum(v for f, v in mix["fuels"].items() if f != "battery" and v >= 0)
    assert mix["total_generation_mw"] == pytest.approx(generation)


def open_caiso():
    from tests.apihelp import CAISO_DAY
    return io.StringIO(CAISO_DAY.read_text())


# -- /regions/, /balancing-authority/, cloud locations ---------------------------------

def test_regions_lists_every_region_with_its_data(client):
    status, body = get(client, "/regions/")
    assert status == 200
    regions = {r["id"]: r for r in body["regions"]}
    assert len(regions) >= 70 and "US-NY" in regions["NYIS"]["aliases"]
    (nyiso,) = regions["NYIS"]["sources"]
    assert (nyiso["name"], nyiso["interval_minutes"], nyiso["default"]) == ("NYISO", 5, True)
    assert nyiso["first_data"] == "2025-02-19T05:00:00+00:00"
    assert nyiso["newest_data"] == "2025-02-21T04:55:00+00:00"
    assert nyiso["stale"] is True
    assert regions["PACW"]["sources"][0]["name"] == "EIA"
    assert regions["ERCO"]["sources"] == [] and regions["ERCO"]["newest_data"] is None


def test_balancing_authority_at_a_point(client):
    status, body = get(client, "/balancing-authority/", latitude=37.7749, longitude=-122.4194)
    assert status == 200 and body["region"]["id"] == "CISO" and body["method"] == "boundaries"
    assert "US-CAL-CISO" in body["region"]["aliases"]
    status, body = get(client, "/balancing-authority/", location="azure:eastus")
    assert status == 200 and body["cloud_location"] == "azure:eastus" and body["region"]["id"] == "PJM"
    status, body = get(client, "/balancing-authority/", latitude=0, longitude=-30)
    assert status == 404 and body["error"]["code"] == "no_region_here"


def test_without_boundaries_the_lookup_says_how_to_install_them(filled, tmp_path, monkeypatch):
    monkeypatch.setenv("ENERGY_DATA_BOUNDARIES", str(tmp_path / "absent.geojson"))
    monkeypatch.delenv("WATTTIME_USERNAME", raising=False)
    status, body = get(create_app(filled).test_client(), "/balancing-authority/", latitude=37.7, longitude=-122.4)
    assert status == 503 and "make boundaries" in body["error"]["message"]
    assert body["error"]["code"] == "boundaries_not_installed" and "parameter" not in body["error"]


def test_cloud_locations(client):
    status, body = get(client, "/metadata/cloud-location/providers/")
    assert status == 200 and {p["name"] for p in body["providers"]} == {"aws", "gcp", "azure"}
    status, body = get(client, "/metadata/cloud-location/locations/aws/")
    assert status == 200
    west = next(loc for loc in body["locations"] if loc["id"] == "aws:us-west-1")
    assert west["region"] == "CISO" and west["citation"]
    status, body = get(client, "/metadata/cloud-location/locations/ibm/")
    assert status == 404 and body["error"]["parameter"] == "provider"


# -- documents and operations -----------------------------------------------------------

def test_openapi_lists_every_endpoint_and_its_parameters(client):
    status, spec = get(client, "/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    assert {"/carbon-intensity/", "/energy-mixture/", "/regions/", "/balancing-authority/",
            "/metadata/cloud-location/providers/", "/metadata/cloud-location/locations/{provider}/",
            "/health", "/metrics", "/emission-factors/"} <= set(spec["paths"])
    parameters = {p["name"]: p for p in spec["paths"]["/carbon-intensity/"]["get"]["parameters"]}
    assert {"region", "latitude", "longitude", "location", "start", "end", "emission_factor_type",
            "emission_factors", "source", "resolution", "signal", "estimated"} == set(parameters)
    assert parameters["signal"]["schema"]["enum"] == ["average", "marginal"]
    assert parameters["start"]["required"] is True
    assert parameters["resolution"]["schema"]["enum"] == ["native", "hour", "day"]


def test_docs_page_shows_every_path(client):
    response = client.get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    for path in ("/carbon-intensity/", "/energy-mixture/", "/balancing-authority/"):
        assert path in response.get_data(as_text=True)


def test_metrics_count_requests_and_report_freshness(client):
    client.get("/carbon-intensity/?region=NYIS&start=2025-02-19T05:00:00Z&end=2025-02-19T06:00:00Z")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'energy_data_http_requests_total{endpoint="/carbon-intensity/",method="GET",status="200"}' in text
    assert 'energy_data_http_request_duration_seconds_bucket{endpoint="/carbon-intensity/"' in text
    newest = datetime(2025, 2, 21, 4, 55, tzinfo=timezone.utc).timestamp()
    line = next(x for x in text.splitlines()
                if x.startswith('energy_data_newest_data_timestamp_seconds{region="NYIS",source="NYISO"}'))
    assert float(line.split()[-1]) == newest
    assert 'energy_data_data_stale{region="NYIS",source="NYISO"} 1.0' in text
