"""Which source answers, where a region has several: the CAISO feed with a missing day beside
an Electricity Maps import that has it (found by a user: the feed was chosen by its first and
last time and answered nothing), the fuel mix only from sources that have one, and the
factor choices of reported intensities and of the legacy routes."""
from __future__ import annotations

import pytest

from api import create_app
from tests.apihelp import replay
from tests.conftest import HAND_WRITTEN
from tests.crawlhelp import crawler_cli

HEADER = ("Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),"
          "Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,Data Source,"
          "Data Estimated,Data Estimation Method\n")
MISSING_DAY = "2025-02-11"  # the CAISO hand-written days are the 9th, 10th and 12th


@pytest.fixture
def client(db_url, tmp_path):
    replay(("CAISO", HAND_WRITTEN / "CAISO" / "handwritten_20250209_fuelsource.csv"),
           ("CAISO", HAND_WRITTEN / "CAISO" / "handwritten_20250212_current_fuelsource.csv"))
    # Hand-written: Electricity Maps hours over the day CAISO's data misses, and the one before.
    export = tmp_path / "handwritten_US-CAL-CISO_2025-02-10_11.csv"
    rows = [f"2025-02-{day} {hour:02d}:00:00,USA,CAISO,US-CAL-CISO,{100 + hour},{150 + hour},60,45,"
            f"caiso.com,false,\n" for day in ("10", "11") for hour in range(24)]
    export.write_text(HEADER + "".join(rows), encoding="utf-8")
    assert crawler_cli("import-emap-csv", str(export)).returncode == 0
    return create_app(db_url).test_client()


def answer(client, path, **params):
    response = client.get(path, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_hole_in_the_finer_feed_is_answered_by_the_source_that_has_the_data(client):
    body = answer(client, "/carbon-intensity/", region="CISO",
                  start=f"{MISSING_DAY}T02:00:00Z", end=f"{MISSING_DAY}T05:00:00Z")
    assert body["source"] == "ELECTRICITYMAPS"
    assert [p["carbon_intensity"] for p in body["carbon_intensities"]] == [152.0, 153.0, 154.0]


def test_where_the_finer_feed_has_data_it_still_wins(client):
    body = answer(client, "/carbon-intensity/", region="CISO",
                  start="2025-02-09T10:00:00Z", end="2025-02-09T11:00:00Z")
    assert body["source"] == "CAISO" and len(body["carbon_intensities"]) == 12


def test_the_fuel_mix_comes_only_from_a_source_that_has_one(client):
    # Electricity Maps covers the 10th to the 11th; CAISO has readings on the 9th only in that span.
    body = answer(client, "/energy-mixture/", region="CISO",
                  start="2025-02-09T23:00:00Z", end="2025-02-10T02:00:00Z")
    assert body["source"] == "CAISO" and body["mixtures"]
    assert {fuel for m in body["mixtures"] for fuel in m["fuels"]} >= {"gas", "solar"}


def test_ipcc_factors_are_refused_for_reported_intensities(client):
    response = client.get("/carbon-intensity/", query_string={
        "region": "CISO", "source": "electricitymaps", "emission_factors": "ipcc",
        "start": f"{MISSING_DAY}T02:00:00Z", "end": f"{MISSING_DAY}T05:00:00Z"})
    assert response.status_code == 400
    assert response.get_json()["error"]["parameter"] == "emission_factors"


def test_the_legacy_routes_compute_with_the_originals_global_factors(client):
    start, end = "2025-02-09T10:00:00", "2025-02-09T10:00:00"
    legacy = answer(client, "/legacy/carbon-intensity/", iso="c3lab:US-CAISO", start=start, end=end)
    ipcc = answer(client, "/carbon-intensity/", region="CISO", emission_factors="ipcc",
                  start="2025-02-09T10:00:00Z", end="2025-02-09T10:05:00Z")
    regional = answer(client, "/carbon-intensity/", region="CISO",
                      start="2025-02-09T10:00:00Z", end="2025-02-09T10:05:00Z")
    point = next(p for p in legacy["carbon_intensities"] if p["timestamp"].startswith("2025-02-09T10:00"))
    assert point["carbon_intensity"] == pytest.approx(ipcc["carbon_intensities"][0]["carbon_intensity"])
    assert ipcc["carbon_intensities"][0]["carbon_intensity"] != regional["carbon_intensities"][0]["carbon_intensity"]


def test_no_fuel_mix_anywhere_says_so_instead_of_naming_a_source_without_one(client):
    body = answer(client, "/energy-mixture/", region="CISO",
                  start=f"{MISSING_DAY}T02:00:00Z", end=f"{MISSING_DAY}T05:00:00Z")
    assert body["source"] is None and body["mixtures"] == []
    assert "no source has data" in body["coverage"]["note"]


def test_the_scheduler_uses_the_same_policy(client):
    body = answer(client, "/carbon-aware-scheduler/best-window/", region="CISO", duration=60,
                  start=f"{MISSING_DAY}T02:00:00Z", end=f"{MISSING_DAY}T05:00:00Z")
    assert body["source"] == "ELECTRICITYMAPS"
    assert body["best"]["carbon_intensity"] == pytest.approx(152.0)
