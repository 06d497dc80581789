"""The scheduler's forecasts: one per region and request (issue 23). A hundred identical
workloads over three regions whose data reaches the last hour issue three forecasts, not three
hundred."""
from __future__ import annotations

import numpy as np
import pandas as pd
import psycopg2
import pytest

from api import create_app
from api.models import forecast as forecast_model
from database.reported import source_id, write_reported_intensity
from tests.apihelp import Spy
from tests.test_scheduler_api import post


@pytest.fixture
def fresh(db_url):
    """Sixty days of hourly Electricity Maps intensity for CISO, ERCO and PJM up to the last hour:
    the scheduler fills the future from forecasts computed on the fly (none is stored)."""
    now_hour = pd.Timestamp.now(tz="UTC").floor("h")
    hours = pd.date_range(end=now_hour - pd.Timedelta(hours=1), periods=60 * 24, freq="h")
    rng = np.random.default_rng(23)
    frames = []
    for zone, level in (("US-CAL-CISO", 220.0), ("US-TEX-ERCO", 380.0), ("US-MIDA-PJM", 420.0)):
        daily = level + 60 * np.sin(2 * np.pi * hours.hour / 24) + rng.normal(0, 10, len(hours))
        frames.append(pd.DataFrame({"zone": zone, "timestamp": hours, "lifecycle_g_per_kwh": daily,
                                    "direct_g_per_kwh": daily * 0.8, "renewable_share": 0.3,
                                    "low_carbon_share": 0.4, "estimated": False, "estimation_method": None}))
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        write_reported_intensity(cur, source_id(cur, "ELECTRICITYMAPS"), pd.concat(frames, ignore_index=True), 60)
    conn.close()
    return now_hour


def test_a_hundred_identical_workloads_issue_one_forecast_per_region(db_url, fresh, monkeypatch):
    forecasts = Spy(monkeypatch, forecast_model, "forecast")
    one = {"runtime": 3600, "power_kw": 1.0, "candidate_locations": [{"id": "CISO"}, {"id": "ERCO"}, {"id": "PJM"}],
           "schedule": {"type": "onetime", "start_time": fresh.isoformat(), "max_delay": 6 * 3600}}
    status, answer = post(create_app(db_url).test_client(), [one] * 100)
    assert status == 200, str(answer)[:300]
    assert forecasts.calls == 3  # one per region, shared by the hundred workloads
    schedules = answer["schedules"]
    assert len(schedules) == 100
    assert all((s["runs"], s["data"]) == (schedules[0]["runs"], schedules[0]["data"]) for s in schedules)
    data = schedules[0]["data"]
    assert {d["region"] for d in data} == {"CISO", "ERCO", "PJM"}
    assert all(d["forecast"]["slots"] > 0 and d["forecast"]["issued_at"] == fresh.isoformat() for d in data)
    assert schedules[0]["runs"][0]["chosen"] is not None
