"""The range of times a request may name (api/models/bounds.py: 1900-01-01 to 2199-12-31), on every
face: a time at the limits of the calendar (0001-01-01T00:00+14:00 is valid ISO 8601 but has no
UTC equivalent) is refused in the face's own error shape, naming the parameter, never a 500."""
from __future__ import annotations

import pytest

from api import create_app


@pytest.mark.parametrize("path, params, parameter", [
    ("/carbon-intensity/", "region=CISO&start=0001-01-01T00:00:00%2B14:00&end=0001-01-01T01:00:00%2B14:00", "end"),
    ("/carbon-intensity/", "region=CISO&start=2025-01-01T00:00:00Z&end=9999-12-31T23:59:59-14:00", "end"),
    ("/energy-mixture/", "region=CISO&start=0001-01-01T00:00:00%2B14:00&end=0001-01-02T00:00:00%2B14:00", "end"),
    ("/carbon-intensity/forecast/", "region=CISO&issued_at=0001-01-01T00:00:00%2B14:00", "issued_at"),
    ("/carbon-intensity/forecast/", "region=CISO&issued_at=9999-12-31T23:59:59-14:00", "issued_at"),
])
def test_times_at_the_limits_of_the_calendar_are_a_400_naming_them(db_url, path, params, parameter):
    response = create_app(db_url).test_client().get(f"{path}?{params}")
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert (error["code"], error["parameter"]) == ("invalid_parameter", parameter)
    assert "between 1900-01-01 and 2199-12-31" in error["message"]


def test_legacy_and_scheduler_times_at_the_limits_are_refused_in_their_own_shapes(filled, boundaries_env):
    client = create_app(filled).test_client()
    far = "start=0001-01-01T00:00:00%2B14:00&end=0001-01-02T00:00:00%2B14:00"
    for path in (f"/legacy/carbon-intensity/?iso=CAISO&{far}", f"/legacy/energy-mixture/?iso=CAISO&{far}"):
        response = client.get(path)
        assert response.status_code == 422, response.get_data(as_text=True)  # the original's validation shape
        assert response.get_json()["messages"]["query"]["start"] == ["must be between 1900-01-01 and 2199-12-31"]
    body = {"runtime": 3600, "schedule": {"type": "onetime", "start_time": "0001-01-01T00:00:00+14:00"},
            "candidate_locations": [{"id": "aws:us-west-1"}], "original_location": "aws:us-west-1"}
    response = client.post("/carbon-aware-scheduler/", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert (error["code"], error["parameter"]) == ("invalid_body", "schedule.start_time")
    assert error["message"] == "schedule.start_time: must be between 1900-01-01 and 2199-12-31"
