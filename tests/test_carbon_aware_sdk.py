"""The Carbon Aware SDK's web API at its own paths, on data replayed from the real fixtures:
key sets and types as the SDK's DTOs write them, its filtering, 204 on empty, rolling-window
optima and averages checked against brute force over our own native answers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from api import create_app

NY_START = datetime(2025, 2, 19, 5, 0, tzinfo=timezone.utc)
EMISSIONS_KEYS = {"location", "time", "rating", "duration"}
FORECAST_KEYS = {"generatedAt", "requestedAt", "location", "dataStartAt", "dataEndAt", "windowSize",
                 "optimalDataPoints", "forecastData"}


@pytest.fixture
def client(filled, boundaries_env):
    return create_app(filled).test_client()


def native(client, region: str, start: datetime, end: datetime) -> dict[datetime, float]:
    """Our own /carbon-intensity/ answer: interval start -> lifecycle intensity."""
    response = client.get("/carbon-intensity/", query_string={
        "region": region, "start": start.isoformat(), "end": end.isoformat()})
    assert response.status_code == 200
    return {datetime.fromisoformat(p["timestamp"]): p["carbon_intensity"]
            for p in response.get_json()["carbon_intensities"] if p["carbon_intensity"] is not None}


def test_bylocation_answers_every_interval_overlapping_the_range(client):
    response = client.get("/emissions/bylocation", query_string={
        "location": "NYIS", "time": "2025-02-19T05:00:00Z", "toTime": "2025-02-19T06:00:00Z"})
    assert response.status_code == 200
    items = response.get_json()
    assert all(set(item) == EMISSIONS_KEYS for item in items)
    expected = native(client, "NYIS", NY_START, NY_START + timedelta(minutes=65))
    # The SDK keeps intervals ending after `time` and starting at or before `toTime`: 05:00 to 06:00.
    assert [datetime.fromisoformat(i["time"]) for i in items] == sorted(expected)
    assert [i["rating"] for i in items] == [expected[t] for t in sorted(expected)]
    assert {i["duration"] for i in items} == {"00:05:00"}
    assert {i["location"] for i in items} == {"NYIS"}


def test_paths_ignore_case_and_times_without_offset_are_utc(client):
    lower = client.get("/emissions/bylocation", query_string={
        "location": "US-NY", "time": "2025-02-19T05:00:00Z", "toTime": "2025-02-19T05:30:00Z"})
    mixed = client.get("/Emissions/byLocation", query_string={
        "location": "US-NY", "time": "2025-2-19T05:00:00", "toTime": "2025-02-19T05:30:00"})
    assert lower.status_code == mixed.status_code == 200
    assert lower.get_json() == mixed.get_json()


def test_an_instant_gets_the_interval_holding_it(client):
    items = client.get("/emissions/bylocation", query_string={
        "location": "NYIS", "time": "2025-02-19T05:07:00Z"}).get_json()
    assert [i["time"] for i in items] == ["2025-02-19T05:05:00+00:00"]


def test_no_data_answers_204_without_a_body(client):
    response = client.get("/emissions/bylocations", query_string={
        "location": "NYIS", "time": "2019-01-01T00:00:00Z", "toTime": "2019-01-01T01:00:00Z"})
    assert response.status_code == 204
    assert response.data == b""


def test_best_is_the_lowest_rating_over_locations_and_times(client):
    query = [("location", "NYIS"), ("location", "CISO"),
             ("time", "2025-02-19T05:00:00Z"), ("toTime", "2025-02-19T07:00:00Z")]
    every = client.get("/emissions/bylocations", query_string=query).get_json()
    best = client.get("/emissions/bylocations/best", query_string=query).get_json()
    lowest = min(i["rating"] for i in every)
    assert best and all(b["rating"] == lowest for b in best)
    assert sorted(b["time"] for b in best) == sorted(i["time"] for i in every if i["rating"] == lowest)


def test_average_weights_each_interval_by_its_overlap(client):
    start, end = NY_START + timedelta(minutes=2, seconds=30), NY_START + timedelta(minutes=32, seconds=30)
    response = client.get("/emissions/average-carbon-intensity", query_string={
        "location": "NYIS", "startTime": start.isoformat(), "endTime": end.isoformat()})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"location", "startTime", "endTime", "carbonIntensity"}
    points = native(client, "NYIS", NY_START, end)
    weighted = sum(value * (min(t + timedelta(minutes=5), end) - max(t, start)).total_seconds()
                   for t, value in points.items() if t + timedelta(minutes=5) > start and t < end)
    assert body["carbonIntensity"] == pytest.approx(weighted / (end - start).total_seconds())

    batch = client.post("/emissions/average-carbon-intensity/batch", json=[
        {"location": "NYIS", "startTime": start.isoformat(), "endTime": end.isoformat()}])
    assert batch.status_code == 200
    assert batch.get_json()[0]["carbonIntensity"] == pytest.approx(body["carbonIntensity"])


def test_average_outside_the_data_is_a_problem_not_a_number(client):
    response = client.get("/emissions/average-carbon-intensity", query_string={
        "location": "NYIS", "startTime": "2019-01-01T00:00:00Z", "endTime": "2019-01-02T00:00:00Z"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert (problem["status"], problem["title"]) == (400, "ArgumentException")  # the SDK's own
    assert problem["detail"].startswith("Period out of range")


@pytest.mark.parametrize("query, field", [
    ({"location": ""}, "location"),
    ({"non-location-param": ""}, "location"),
    ({"location": "NYIS", "time": "yesterday"}, "time"),
    ({"location": "NYIS", "toTime": "2025-02-19T05:00:00Z"}, "time"),
    ({"location": "atlantis-1"}, "location"),
])
def test_bad_parameters_answer_rfc7807_naming_the_field(client, query, field):
    response = client.get("/emissions/bylocation", query_string=query)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 400 and field in body["errors"]


def test_cloud_region_names_resolve_through_the_boundaries(client):
    """westus (the SDK's Azure name) lies in California: CISO's data answers it."""
    query = {"time": "2025-02-09T10:00:00Z", "toTime": "2025-02-09T11:00:00Z"}
    by_name = client.get("/emissions/bylocation", query_string={"location": "westus", **query}).get_json()
    by_region = client.get("/emissions/bylocation", query_string={"location": "CISO", **query}).get_json()
    assert by_name and [i["rating"] for i in by_name] == [i["rating"] for i in by_region]
    assert {i["location"] for i in by_name} == {"westus"}


def test_batch_forecast_rolls_windows_and_finds_the_optimum(client):
    requested = "2023-01-07T00:00:00Z"
    hourly = client.post("/emissions/forecasts/batch", json=[
        {"requestedAt": requested, "location": "PACW"}])
    assert hourly.status_code == 200
    plain = hourly.get_json()[0]
    assert set(plain) == FORECAST_KEYS and plain["windowSize"] == 0
    values = [p["value"] for p in plain["forecastData"]]
    assert {p["duration"] for p in plain["forecastData"]} == {60}

    start, end = plain["forecastData"][0]["timestamp"], plain["forecastData"][12]["timestamp"]
    rolled = client.post("/emissions/forecasts/batch", json=[
        {"requestedAt": requested, "location": "PACW", "dataStartAt": start, "dataEndAt": end,
         "windowSize": 180}]).get_json()[0]
    # Brute force: 3-hour means starting at each hour, the window ending by dataEndAt.
    expected = [sum(values[i:i + 3]) / 3 for i in range(0, 10)]
    assert [p["value"] for p in rolled["forecastData"]] == pytest.approx(expected)
    assert {p["duration"] for p in rolled["forecastData"]} == {180}
    best = min(expected)
    assert [p["value"] for p in rolled["optimalDataPoints"]] == pytest.approx(
        [v for v in expected if v == pytest.approx(best)])
    assert rolled["generatedAt"].startswith("2023-01-07T00:00:00")


def test_forecast_range_outside_the_forecast_is_refused(client):
    response = client.post("/emissions/forecasts/batch", json=[
        {"requestedAt": "2023-01-07T00:00:00Z", "location": "PACW",
         "dataStartAt": "1999-01-01T00:00:00Z", "dataEndAt": "1999-01-02T00:00:00Z"}])
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"dataStartAt", "dataEndAt"}


def test_batch_body_must_be_an_array_of_valid_requests(client):
    response = client.post("/emissions/forecasts/batch", json={"location": "PACW"})
    assert response.status_code == 400 and set(response.get_json()["errors"]) == {"body"}
    response = client.post("/emissions/forecasts/batch", json=[{"location": "PACW"}])
    assert response.status_code == 400
    assert "[0].requestedAt" in response.get_json()["errors"]


def test_locations_lists_the_cloud_regions_we_can_place(client):
    body = client.get("/locations").get_json()
    assert body["westus"]["name"] == "westus"
    assert -90 <= body["westus"]["latitude"] <= 90 and "us-west-1" in body
    # In a zone of ours (GB, AU-NSW) with no boundaries installed: the catalogue's stored zone.
    assert "uksouth" in body and "australiaeast" in body
    # In a zone no source covers (India, Japan): listed, it would only answer 400.
    assert "centralindia" not in body and "japaneast" not in body
    for name in ("westus", "us-west-1"):
        assert client.get("/emissions/bylocation", query_string={"location": name}).status_code in (200, 204)


def test_range_errors_name_the_routes_own_parameters(client):
    response = client.get("/emissions/average-carbon-intensity", query_string={
        "location": "NYIS", "startTime": "2025-01-01T00:00:00Z", "endTime": "2025-03-01T00:00:00Z"})
    assert response.status_code == 400 and set(response.get_json()["errors"]) == {"endTime"}


def test_openapi_documents_the_sdk_routes_under_their_tag(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert paths["/emissions/forecasts/batch"]["post"]["tags"] == ["Carbon Aware SDK"]
    assert "requestBody" in paths["/emissions/forecasts/batch"]["post"]
