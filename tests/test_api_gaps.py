"""Intervals without an intensity (no positive generation) answer null and stay out of the average."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import psycopg2
import pytest

from api import create_app
from database.dimensions import sync_source
from database.readings import write_readings


def test_an_interval_without_generation_answers_null(db_url):
    readings = pd.DataFrame({
        "region": "CISO",
        "timestamp": pd.to_datetime(["2025-02-09T08:00Z", "2025-02-09T08:05Z", "2025-02-09T08:10Z"], utc=True),
        "fuel": ["gas", "solar", "gas"],
        "mw": [100.0, -5.0, 300.0],
    })
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        write_readings(cur, sync_source(cur, "TESTGAPS", "hand-written", timedelta(minutes=5), 5), readings, 5)
    conn.close()
    response = create_app(db_url).test_client().get(
        "/carbon-intensity/?region=CISO&start=2025-02-09T08:00:00Z&end=2025-02-09T08:15:00Z&emission_factors=ipcc")
    body = response.get_json()
    assert [p["carbon_intensity"] for p in body["carbon_intensities"]] == [490.0, None, 490.0]
    assert body["carbon_intensities"][1]["renewable_ratio"] is None
    assert body["average"]["carbon_intensity"] == pytest.approx(490.0)


def test_hourly_buckets_of_a_range_starting_mid_hour_are_all_expected(filled, boundaries_env):
    """Found in review: 05:30-08:00 touches three UTC hours; coverage expected two, fewer than answered."""
    from api import create_app

    body = create_app(filled).test_client().get("/carbon-intensity/", query_string={
        "region": "NYIS", "start": "2025-02-19T05:30:00Z", "end": "2025-02-19T08:00:00Z",
        "resolution": "hour"}).get_json()
    assert body["coverage"]["intervals"] == 3
    assert body["coverage"]["expected_intervals"] == 3 and body["coverage"]["note"] is None
