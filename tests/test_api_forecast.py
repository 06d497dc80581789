"""GET /carbon-intensity/forecast/ on a real PostgreSQL holding generated hourly history; only the
hourly schedule stores forecasts, a request never does."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import psycopg2
import pytest

from api import create_app
from api.models import forecast as model
from database.dimensions import sync_source
from database.emission_factors import factors_at
from database.readings import write_readings
from tests.crawlhelp import query

LIFECYCLE = ("gas", "solar", "wind")


def _region_id(cur, code: str) -> int:
    cur.execute("SELECT id FROM region WHERE code = %s", (code,))
    return cur.fetchone()[0]


def generated_mix(hours: pd.DatetimeIndex, seed: int = 3) -> pd.DataFrame:
    """Hand-made hourly mix: a solar day curve, noisy wind, gas filling a daily load shape."""
    rng = np.random.default_rng(seed)
    hour = hours.hour.to_numpy()
    solar = np.clip(np.sin((hour - 13) / 12 * np.pi + np.pi / 2), 0, None) * 8000  # noon Central ~ 18Z
    # Wind wanders from hour to hour as a fleet's does (an AR(1) walk): independent draws would
    # jump 2 GW -> 9 GW -> 2 GW, which the write path rightly takes for single-hour spikes.
    steps = rng.normal(0, 700, len(hours))
    wind = np.empty(len(hours))
    level = 5500.0
    for i, step in enumerate(steps):
        level = 5500 + 0.9 * (level - 5500) + step
        wind[i] = level
    wind = np.clip(wind, 2000, 9000)
    load = 40000 + 8000 * np.sin((hour - 21) / 24 * 2 * np.pi)
    gas = np.clip(load - solar - wind, 1000, None)
    return pd.DataFrame({"solar": solar, "wind": wind, "gas": gas}, index=hours)


def write_history(db_url: str, region: str, hours: pd.DatetimeIndex) -> pd.DataFrame:
    """Write the generated mix as readings of a test source; returns its lifecycle intensity
    and renewable share, computed here from the mix."""
    mix = generated_mix(hours)
    readings = mix.stack().rename("mw").reset_index()
    readings.columns = ["timestamp", "fuel", "mw"]
    readings["region"] = region
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        source_id = sync_source(cur, "TESTHOURLY", "generated", timedelta(hours=1), 60, timedelta(hours=6))
        write_readings(cur, source_id, readings, 60)
        # The region's own factors where it has them (migration 0007), valid over the whole history.
        region_id = _region_id(cur, region)
        factors = {f.fuel: f.value for f in factors_at(cur, region_id, hours[0].to_pydatetime(), "lifecycle")}
        assert factors == {f.fuel: f.value for f in factors_at(cur, region_id, hours[-1].to_pydatetime(), "lifecycle")}
    conn.close()
    total = mix.sum(axis=1)
    return pd.DataFrame({"intensity": sum(mix[f] * factors[f] for f in LIFECYCLE) / total,
                         "renewable": (mix["solar"] + mix["wind"]) / total})


@pytest.fixture
def now_hour():
    return pd.Timestamp.now(tz="UTC").floor("h")


@pytest.fixture
def long_history(db_url, now_hour):
    hours = pd.date_range(end=now_hour - pd.Timedelta(hours=1), periods=100 * 24, freq="h")
    return write_history(db_url, "ERCO", hours)


def get(client, **params):
    response = client.get("/carbon-intensity/forecast/", query_string=params)
    return response.status_code, response.get_json()


def schedule() -> None:
    """The hourly schedule (cron in production), as a CLI run: it stores what requests read."""
    from api.forecasts import main

    assert main([]) == 0


def test_forecast_for_the_next_hours_with_bounds_and_measured_error(db_url, db, long_history, now_hour):
    schedule()
    client = create_app(db_url).test_client()
    status, body = get(client, region="US-ERCOT", horizon_hours=24)
    assert status == 200, body
    assert (body["region"], body["source"], body["model"]["name"]) == ("ERCO", "TESTHOURLY", model.MODEL_NAME)
    # No mix model was fitted for the region: the history-only model answers and says why.
    assert body["model"]["fallback_reason"] == "no fitted mix model for this region: history-only model"
    assert body["model"]["inputs"] is None
    points = body["forecast"]
    assert [p["timestamp"] for p in points] == [(now_hour + pd.Timedelta(hours=h)).isoformat() for h in range(24)]
    assert all(p["lower"] <= p["carbon_intensity"] <= p["upper"] for p in points)
    assert body["history_end"] == (now_hour - pd.Timedelta(hours=1)).isoformat()
    # The same model, fed the same history directly, issues the same values.
    direct = model.forecast(long_history["intensity"], now_hour, 72, long_history[["renewable"]])
    assert [p["carbon_intensity"] for p in points] == pytest.approx(direct.frame["value"].head(24).tolist())
    windows = {a["window_hours"]: a for a in body["accuracy"]}
    assert set(windows) == {24, 48, 72}
    assert windows[24]["forecasts"] == 28 and windows[24]["baseline"] in model.BASELINES
    assert windows[24]["mape"] > 0


def test_the_schedule_stores_the_hour_s_forecast_and_requests_read_it(db_url, db, long_history):
    client = create_app(db_url).test_client()
    computed = get(client, region="ERCO", horizon_hours=72)[1]  # nothing stored yet: computed on the fly
    schedule()
    first = get(client, region="ERCO", horizon_hours=72)[1]
    second = get(client, region="ERCO", horizon_hours=6)[1]
    assert first["forecast"] == computed["forecast"] and second["forecast"] == first["forecast"][:6]
    assert len(first["accuracy"]) == 3 and computed["accuracy"] == []
    with db.cursor() as cur:
        cur.execute("SELECT factor_set, count(*) FROM forecast GROUP BY 1 ORDER BY 1")
        assert cur.fetchall() == [("direct", 1), ("lifecycle", 1)]
        cur.execute("SELECT count(*) FROM forecast_accuracy")
        assert cur.fetchone()[0] == 6
    schedule()  # the same hour again: nothing new
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM forecast")
        assert cur.fetchone()[0] == 2


def test_a_past_issue_time_uses_only_data_before_it(db_url, long_history, now_hour):
    client = create_app(db_url).test_client()
    issued = now_hour - pd.Timedelta(days=20)
    status, body = get(client, region="ERCO", horizon_hours=48, issued_at=(issued + pd.Timedelta(minutes=25)).isoformat())
    assert status == 200
    assert body["issued_at"] == issued.isoformat()  # floored to the hour
    assert body["history_end"] == (issued - pd.Timedelta(hours=1)).isoformat()
    direct = model.forecast(long_history["intensity"], issued, 72, long_history[["renewable"]])
    assert [p["carbon_intensity"] for p in body["forecast"]] == pytest.approx(direct.frame["value"].head(48).tolist())


def test_too_little_history_falls_back_to_a_labelled_baseline(db_url, now_hour):
    history = write_history(db_url, "PACW", pd.date_range(end=now_hour - pd.Timedelta(hours=1), periods=5 * 24,
                                                          freq="h"))
    status, body = get(create_app(db_url).test_client(), region="PACW", horizon_hours=24)
    assert status == 200
    assert body["model"]["name"] == model.SAME_HOUR_YESTERDAY and body["model"]["fallback_reason"]
    assert body["forecast"][0]["lower"] is None and body["accuracy"] == []
    yesterday = history["intensity"][now_hour - pd.Timedelta(days=1)]
    assert body["forecast"][0]["carbon_intensity"] == pytest.approx(yesterday)


def test_no_request_stores_a_forecast_only_the_hourly_schedule_does(db_url, db, long_history, now_hour):
    from api.forecasts import main as schedule

    client = create_app(db_url).test_client()
    for days in (0, 3, 4, 5):  # the current hour and past ones, as anyone may ask: computed, not stored
        issued = (now_hour - pd.Timedelta(days=days)).isoformat()
        response = client.get("/carbon-intensity/forecast/", query_string={"region": "ERCO", "issued_at": issued})
        assert response.status_code == 200 and response.get_json()["issued_at"] == issued
        assert len(response.get_json()["forecast"]) == 24
    assert query(db, "SELECT count(*) FROM forecast") == [(0,)]
    assert schedule([]) == 0
    assert query(db, "SELECT DISTINCT issued_at FROM forecast") == [(now_hour.to_pydatetime(),)]


@pytest.mark.parametrize("params, status, parameter", [
    ({"region": "ERCO", "horizon_hours": 0}, 400, "horizon_hours"),
    ({"region": "ERCO", "horizon_hours": 97}, 400, "horizon_hours"),
    ({"region": "ERCO", "issued_at": "2999-01-01T00:00:00Z"}, 400, "issued_at"),
    ({"region": "ERCO", "issued_at": "2025-01-01T00:00:00"}, 400, "issued_at"),
    ({"region": "NYIS"}, 404, "region"),
    ({"region": "ERCO", "source": "EIA"}, 404, "source"),
    ({"region": "ERCO", "issued_at": "2000-01-01T00:00:00Z"}, 404, "region"),
])
def test_bad_forecast_requests(db_url, long_history, params, status, parameter):
    got, body = get(create_app(db_url).test_client(), **params)
    assert got == status, body
    assert body["error"]["parameter"] == parameter
