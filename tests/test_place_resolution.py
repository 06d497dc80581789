"""One resolver (Locator.resolve): the same string means the same region on every face.

Each row of the table is asked of every face that takes it: the native region= and location=
(GET /balancing-authority/), the scheduler's candidates (POST /carbon-aware-scheduler/, whose
answer names each candidate's region), the Carbon Aware SDK's location (GET
/emissions/bylocation, whose answer must equal the one for the expected region's id), and the
original's iso= (GET /legacy/carbon-intensity/, for the prefixed names it takes, compared with
the answer for `c3lab:<region id>`). Before, the scheduler tried cloud ids first, the SDK our
names first, and neither took the original's prefixed names. Coordinates are asked of the
native, legacy and scheduler faces. The expected regions come from the region table's
migrations and the cloud catalogue's stored zones, not from the code under test."""
from __future__ import annotations

import pytest

from api import create_app
from api.services.errors import NOT_COVERED, NOT_FOUND, DomainError
from api.services.location import Locator

CAISO_HOUR = {"start": "2025-02-09T08:00:00Z", "end": "2025-02-09T09:00:00Z"}  # the hand-written CAISO day
SDK_HOUR = {"time": CAISO_HOUR["start"], "toTime": CAISO_HOUR["end"]}

# (text, its region) for text every face takes; the original's iso= takes the prefixed ones.
COVERED = [
    ("CISO", "CISO"), ("ciso", "CISO"),                        # region id, any case
    ("US-CAISO", "CISO"), ("US-CAL-CISO", "CISO"), ("CAISO_NORTH", "CISO"),  # the original's, Electricity Maps', WattTime's
    ("10Y1001A1001A83F", "DE"), ("NSW1", "AU-NSW"),            # an EIC code, an AEMO region (migration 0017)
    ("watttime:CAISO_NORTH", "CISO"), ("c3lab:US-CAISO", "CISO"), ("emap:US-CAL-CISO", "CISO"),
    ("aws:us-west-1", "CISO"), ("AWS:us-west-1", "CISO"), ("amazon:us-west-1", "CISO"),
    ("azure:westus", "CISO"), ("gcp:us-west2", "CISO"), ("google:us-west2", "CISO"),
    ("westus", "CISO"), ("us-west-1", "CISO"), ("us-west2", "CISO"),  # bare Azure, AWS, Google names
    ("eastus", "PJM"), ("aws:us-east-1", "PJM"),
]
NOT_COVERED_HERE = ["ap-south-1", "aws:ap-south-1", "centralindia"]  # grid zone IN-WE: no source here
UNKNOWN = ["ATLANTIS", "aws:mars-1", "c3lab:eastus"]  # a prefixed name is a region name, never a cloud region


@pytest.fixture(scope="module")
def client(filled):
    import os

    from tests.conftest import shared_dir

    previous = os.environ.get("ENERGY_DATA_BOUNDARIES")
    os.environ["ENERGY_DATA_BOUNDARIES"] = str(shared_dir() / "geo" / "us_zones.geojson")
    try:
        yield create_app(filled).test_client()
    finally:
        if previous is None:
            os.environ.pop("ENERGY_DATA_BOUNDARIES", None)
        else:
            os.environ["ENERGY_DATA_BOUNDARIES"] = previous


def native(client, parameter: str, text: str) -> tuple[int, dict]:
    response = client.get("/balancing-authority/", query_string={parameter: text})
    return response.status_code, response.get_json()


def scheduled(client, candidate: dict) -> tuple[int, dict]:
    body = {"runtime": 3600, "power_kw": 1.0, "candidate_locations": [candidate],
            "schedule": {"type": "onetime", "start_time": CAISO_HOUR["start"], "max_delay": 3600}}
    response = client.post("/carbon-aware-scheduler/", json=body)
    return response.status_code, response.get_json()


def sdk(client, text: str) -> tuple[int, object]:
    response = client.get("/emissions/bylocation", query_string={"location": text, **SDK_HOUR})
    return response.status_code, response.get_json(silent=True)


def legacy(client, iso: str) -> tuple[int, dict]:
    response = client.get("/legacy/carbon-intensity/", query_string={"iso": iso, **CAISO_HOUR})
    return response.status_code, response.get_json()


@pytest.mark.parametrize("text, region", COVERED)
def test_a_string_names_the_same_region_on_every_face(client, text, region):
    for parameter in ("region", "location"):
        status, body = native(client, parameter, text)
        assert status == 200 and body["region"]["id"] == region, (parameter, body)
    status, body = scheduled(client, {"id": text})
    assert status == 200, body
    assert body["schedules"][0]["candidates"][0] == {"location": text, "region": region,
                                                    "located_by": body["schedules"][0]["candidates"][0]["located_by"],
                                                    "capacity": None}
    status, answer = sdk(client, text)
    expected_status, expected = sdk(client, region)
    assert status == expected_status, answer
    if region == "CISO":  # the hand-written CAISO day: the same intervals, named as asked
        assert status == 200 and len(answer) >= 12  # [time, toTime] closed: 08:00 to 09:00
        assert [{**item, "location": region} for item in answer] == expected
    if ":" in text and text.split(":")[0].lower() in ("watttime", "c3lab", "emap"):
        status, answer = legacy(client, text)
        assert status == 200, answer
        assert answer["carbon_intensities"] == legacy(client, f"c3lab:{region}")[1]["carbon_intensities"]


@pytest.mark.parametrize("text", NOT_COVERED_HERE)
def test_a_cloud_region_no_source_covers_is_refused_on_every_face_naming_its_zone(client, text):
    for parameter in ("region", "location"):
        status, body = native(client, parameter, text)
        assert status == 404 and (body["error"]["code"], body["error"]["parameter"]) == ("not_covered", parameter)
        assert "grid zone IN-WE (Western India) is not covered" in body["error"]["message"]
    status, body = scheduled(client, {"id": text})
    assert status == 400 and body["error"]["code"] == "not_covered", body
    assert body["error"]["parameter"] == "candidate_locations.0.id" and "IN-WE" in body["error"]["message"]
    status, body = sdk(client, text)
    assert status == 400 and body["title"] == "One or more validation errors occurred."
    assert "grid zone IN-WE" in body["errors"]["location"][0]


@pytest.mark.parametrize("text", UNKNOWN)
def test_an_unknown_string_is_unknown_on_every_face(client, text):
    for parameter, code in (("region", "unknown_region"), ("location", "unknown_location")):
        status, body = native(client, parameter, text)
        assert status == 404 and (body["error"]["code"], body["error"]["parameter"]) == (code, parameter), body
    status, body = scheduled(client, {"id": text})
    assert status == 400 and (body["error"]["code"], body["error"]["parameter"]) == (
        "unknown_location", "candidate_locations.0.id"), body
    status, body = sdk(client, text)
    assert status == 400 and body["errors"]["location"][0].startswith(f"unknown location {text!r}"), body
    if text.startswith("c3lab:"):
        status, body = legacy(client, text)
        assert status == 404 and body == {"error": "Region eastus doesn't exist.", "code": "unknown_region"}


@pytest.mark.parametrize("point, region", [((37.7749, -122.4194), "CISO"), ((40.7128, -74.006), "NYIS")])
def test_coordinates_name_the_same_region_on_every_face_that_takes_them(client, point, region):
    latitude, longitude = point
    response = client.get("/balancing-authority/", query_string={"latitude": latitude, "longitude": longitude})
    assert response.status_code == 200 and response.get_json()["region"]["id"] == region
    status, body = scheduled(client, {"id": "mine", "latitude": latitude, "longitude": longitude})
    assert status == 200 and body["schedules"][0]["candidates"][0]["region"] == region, body
    answer = client.get("/legacy/balancing-authority/", query_string={"latitude": latitude, "longitude": longitude,
                                                                     "iso_format": "c3lab"}).get_json()
    assert native(client, "region", answer["iso"])[1]["region"]["id"] == region  # c3lab:US-..., read back
    status, body = scheduled(client, {"id": "sea", "latitude": 0, "longitude": -30})
    assert status == 400 and body["error"]["code"] == "no_region_here", body


# -- the precedence itself, on a made-up region table ----------------------------------------------

def locator_with(names: dict[str, str]) -> Locator:
    """A locator whose region table is `names` (normalised name -> code), with no database."""
    locator = Locator(pool=None, boundaries=None)
    locator._names = names
    return locator


def test_the_precedence_region_table_then_cloud_id_then_bare_cloud_name():
    locator = locator_with({"CISO": "CISO", "WESTUS": "XX", "CAISO NORTH": "CISO"})
    assert (locator.resolve("westus").region, locator.resolve("westus").method) == ("XX", "region")  # 2 before 4
    assert (locator.resolve("azure:westus").region, locator.resolve("azure:westus").method) == ("CISO", "cloud")
    assert locator.resolve("us-west-1").cloud_location == "aws:us-west-1"     # no region of that name: the cloud one
    assert locator.resolve("c3lab:westus").region == "XX"                      # 1: a prefixed name is a region name
    assert locator.resolve("watttime:caiso_north").region == "CISO"
    with pytest.raises(DomainError) as refused:
        locator.resolve("c3lab:eastus", "iso")                                 # ... and never a cloud region
    assert (refused.value.kind, refused.value.code, refused.value.parameter) == (NOT_FOUND, "unknown_location", "iso")
    with pytest.raises(DomainError) as refused:
        locator.resolve("eastus", "region")                                    # PJM is no region of this table
    assert (refused.value.kind, refused.value.code) == (NOT_COVERED, "not_covered")
    assert "azure:eastus: grid zone PJM" in refused.value.message
