"""The mix model wired into the service: `python -m api.forecasts fit` stores a fit, and every
path that issues forecasts (the native endpoint, the schedule, the scheduler, the Carbon Aware
SDK's routes) forecasts with it from inputs issued before the issue time only.

The data are hand-written here, not recorded: a deterministic generated hourly mix for ERCO
whose wind follows a generated wind speed through a power curve and whose solar follows
generated radiation, the weather forecasts of those two variables at two test points (issued
daily, 2 h before each issue's first hour, 100 hours ahead), and an operator load forecast
(the generated load). 75 days: enough for the fit's 60 training and 10 held-out days, with
few samples so that a fit takes seconds."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import psycopg2
import pytest

from api import create_app
from api.forecasts import main as forecasts_cli
from api.models import forecast as history_model
from api.models import mix_forecast
from database.dimensions import sync_source
from database.forecast_inputs import sync_weather_points, write_operator_forecasts, write_weather_forecasts
from energy_data.weather_points import WeatherPoint
from tests.apihelp import write_hourly_mix

REGION = "ERCO"
DAYS = 75
FIT_ARGS = ["fit", "--region", REGION, "--training-days", str(DAYS), "--samples", "3000", "--validation-days", "10"]
POINTS = [WeatherPoint(REGION, "TEST_WIND", 32.0, -100.0, "wind", 1.0, "generated wind area"),
          WeatherPoint(REGION, "TEST_SOLAR", 31.0, -102.0, "solar", 1.0, "generated solar area")]
ISSUE_AHEAD = 100  # hours each weather and operator issue covers
H = pd.Timedelta(hours=1)
NO_MODEL = "no fitted mix model for this region: history-only model"


def generated(hours: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(hourly MW per fuel, the weather behind it): wind speed an AR(1) walk in m/s through a
    cubic power curve to 9 GW, radiation a clear-sky day curve under generated cloud, gas
    filling a daily load shape."""
    rng = np.random.default_rng(19)
    hour = hours.hour.to_numpy()
    speed = np.empty(len(hours))
    level = 7.0
    for i, step in enumerate(rng.normal(0, 0.8, len(hours))):
        level = 7.0 + 0.93 * (level - 7.0) + step
        speed[i] = level
    speed = np.clip(speed, 0.5, 16.0)
    cloud = np.clip(50 + np.cumsum(rng.normal(0, 4, len(hours))) % 100 - 50, 0, 100)
    radiation = np.clip(np.sin((hour - 13) / 12 * np.pi + np.pi / 2), 0, None) * 900 * (1 - 0.7 * cloud / 100)
    wind = 9000 * np.minimum(speed, 12.0) ** 3 / 12.0 ** 3
    solar = radiation * 10
    load = 40000 + 8000 * np.sin((hour - 21) / 24 * 2 * np.pi)
    gas = np.clip(load - wind - solar, 1000, None)
    mix = pd.DataFrame({"wind": wind, "solar": solar, "gas": gas}, index=hours)
    weather = pd.DataFrame({"wind_speed_100m": speed, "shortwave_radiation": radiation, "cloud_cover": cloud,
                            "load": load}, index=hours)
    return mix, weather


def write_region(db_url: str, now_hour: pd.Timestamp, inputs: bool = True, days: int = DAYS) -> pd.DataFrame:
    """Write the generated history before `now_hour` and (with `inputs`) the forecasts of it,
    issued daily at now_hour - 2 h - k days; returns the generated weather."""
    hours = pd.date_range(end=now_hour - H, periods=days * 24, freq="h")
    future = pd.date_range(hours[0], now_hour + ISSUE_AHEAD * H, freq="h")
    mix, weather = generated(future)
    write_hourly_mix(db_url, REGION, mix.loc[hours])
    if inputs:
        conn = psycopg2.connect(db_url)
        with conn, conn.cursor() as cur:
            write_inputs(cur, weather, [now_hour - 2 * H - pd.Timedelta(days=k) for k in range(days + 1)])
        conn.close()
    return weather


def write_inputs(cur, weather: pd.DataFrame, issues: list[pd.Timestamp], scale: float = 1.0) -> None:
    """Weather at both points and the load forecast, issued at each of `issues` for the
    ISSUE_AHEAD hours after it; wind speed and radiation times `scale` (1: the generated truth).
    The load stays true: a scaled load would move the intensity the other way (less gas),
    by an amount that depends on the hour the test runs at."""
    weather_source = sync_source(cur, "TEST_WEATHER", "generated", timedelta(hours=1), 60, timedelta(hours=6))
    operator_source = sync_source(cur, "TEST_ISO_FORECAST", "generated", timedelta(hours=1), 60, timedelta(hours=6))
    sync_weather_points(cur, POINTS)
    rows, loads = [], []
    for issued in issues:
        part = weather[(weather.index > issued) & (weather.index <= issued + ISSUE_AHEAD * H)]
        for point in POINTS:
            rows.append(pd.DataFrame({"point": point.point, "issued_at": issued, "timestamp": part.index,
                                      "wind_speed_100m": part["wind_speed_100m"] * scale,
                                      "shortwave_radiation": part["shortwave_radiation"] * scale,
                                      "cloud_cover": part["cloud_cover"]}))
        loads.append(pd.DataFrame({"region": REGION, "issued_at": issued, "timestamp": part.index, "kind": "load",
                                   "mw": part["load"]}))
    write_weather_forecasts(cur, weather_source, pd.concat(rows, ignore_index=True))
    write_operator_forecasts(cur, operator_source, pd.concat(loads, ignore_index=True))


@pytest.fixture
def now_hour():
    return pd.Timestamp.now(tz="UTC").floor("h")


def get(client, **params):
    response = client.get("/carbon-intensity/forecast/", query_string={"region": REGION, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def values(body: dict) -> list[float]:
    return [p["carbon_intensity"] for p in body["forecast"]]


def test_fit_stores_a_model_and_the_forecast_names_it_and_its_inputs(db_url, db, now_hour, capsys):
    write_region(db_url, now_hour)
    assert forecasts_cli(FIT_ARGS) == 0
    assert f"{REGION}: fitted mix_gbdt" in capsys.readouterr().out
    with db.cursor() as cur:
        cur.execute("SELECT model_name, training_start, training_end, inputs, validation, fit_seconds "
                    "FROM forecast_model")
        (name, start, end, inputs, validation, seconds), = cur.fetchall()
    assert name == mix_forecast.MODEL_NAME and seconds > 0
    assert end == now_hour - H and end - start >= timedelta(days=DAYS - 1)
    assert inputs["weather"] == ["wind_speed_100m", "shortwave_radiation", "cloud_cover"]
    assert inputs["operator"] == ["load_forecast_mw"] and inputs["lead_hours"] == 24
    assert inputs["operator_sources"] == {"load": "TEST_ISO_FORECAST"}
    assert set(validation["mape_24h"]) == {"lifecycle", "direct"} and validation["issues"] > 0

    client = create_app(db_url).test_client()
    body = get(client, horizon_hours=96)
    assert (body["model"]["name"], body["model"]["fallback_reason"]) == ("mix_gbdt", None)
    newest_issue = (now_hour - 2 * H).isoformat()
    assert body["model"]["inputs"] == {
        "weather": {"issued_at": newest_issue, "oldest_issued_at": body["model"]["inputs"]["weather"]["oldest_issued_at"],
                    "points": ["TEST_SOLAR", "TEST_WIND"]},
        "operator": [{"kind": "load", "source": "TEST_ISO_FORECAST", "issued_at": newest_issue}]}
    assert body["model"]["inputs"]["weather"]["oldest_issued_at"] < body["issued_at"]
    points = body["forecast"]
    assert len(points) == 96 and points[-1]["timestamp"] == (now_hour + 95 * H).isoformat()
    assert all(0 < p["lower"] <= p["carbon_intensity"] <= p["upper"] for p in points)
    assert body["history_end"] == (now_hour - H).isoformat()

    # The schedule stores it with the model's id and the inputs, and requests then read that.
    assert forecasts_cli(["--region", REGION]) == 0
    with db.cursor() as cur:
        cur.execute("SELECT f.model_name, f.model_id = m.id, f.inputs FROM forecast f, forecast_model m "
                    "WHERE f.factor_set = 'lifecycle'")
        assert cur.fetchall() == [("mix_gbdt", True, body["model"]["inputs"])]
    stored = get(client, horizon_hours=96)
    assert (stored["model"], stored["forecast"]) == (body["model"], body["forecast"])


def test_an_input_issued_after_t_cannot_reach_the_forecast_issued_at_t(db_url, db, now_hour):
    weather = write_region(db_url, now_hour)
    assert forecasts_cli(FIT_ARGS) == 0
    client = create_app(db_url).test_client()
    # T is named, not taken from the clock: a test running across the hour would otherwise
    # move T past the input issued at T + 30 minutes.
    before = get(client, horizon_hours=48, issued_at=now_hour.isoformat())
    assert before["model"]["name"] == "mix_gbdt"

    # A wildly different forecast (calm and dark: a tenth of the wind and sun) issued 30 minutes after T for
    # the same hours: the forecast issued at T is unchanged, to the last digit.
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        write_inputs(cur, weather, [now_hour + pd.Timedelta(minutes=30)], scale=0.1)
    assert get(client, horizon_hours=48, issued_at=now_hour.isoformat()) == before

    # The same forecast issued 30 minutes BEFORE T is read, and the answer moves with it.
    with conn, conn.cursor() as cur:
        write_inputs(cur, weather, [now_hour - pd.Timedelta(minutes=30)], scale=0.1)
    conn.close()
    after = get(client, horizon_hours=48, issued_at=now_hour.isoformat())
    assert after["model"]["inputs"]["weather"]["issued_at"] == (now_hour - pd.Timedelta(minutes=30)).isoformat()
    # Calm and dark: less wind and sun, more gas, so a dirtier first day than the forecast from the truth.
    assert np.mean(values(after)[:24]) > np.mean(values(before)[:24]) * 1.02


def test_without_a_model_or_without_inputs_the_history_model_answers_and_says_why(db_url, db, now_hour, capsys):
    write_region(db_url, now_hour)
    client = create_app(db_url).test_client()
    plain = get(client, horizon_hours=96)
    assert (plain["model"]["name"], plain["model"]["fallback_reason"]) == (history_model.MODEL_NAME, NO_MODEL)
    assert plain["model"]["inputs"] is None and len(plain["forecast"]) == 96

    assert forecasts_cli(FIT_ARGS) == 0
    assert get(client)["model"]["name"] == "mix_gbdt"
    # The weather for the hours ahead is gone (a feed that stopped): the history model answers.
    with db.cursor() as cur:
        cur.execute("DELETE FROM weather_forecast WHERE ts >= %s", (now_hour.to_pydatetime(),))
    body = get(client, horizon_hours=96)
    assert body["model"]["name"] == history_model.MODEL_NAME and body["model"]["inputs"] is None
    assert body["model"]["fallback_reason"] == ("the weather forecast lacks wind_speed_100m, shortwave_radiation, "
                                                "cloud_cover for the target hours: history-only model")
    assert values(body) == pytest.approx(values(plain))  # the same history-only forecast as without a model


def test_fit_skips_regions_without_inputs_or_history_with_a_reason(db_url, now_hour, capsys):
    write_region(db_url, now_hour, inputs=True, days=30)
    mix, _ = generated(pd.date_range(end=now_hour - H, periods=80 * 24, freq="h"))
    write_hourly_mix(db_url, "SWPP", mix)
    assert forecasts_cli(["fit", "--validation-days", "10"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"{REGION}: skipped: 30 days of hourly mix by fuel from TESTHOURLY; the mix model needs 70 " \
           "(60 to train, 10 held out)" in out
    assert "SWPP: skipped: no weather or operator forecasts stored for the region" in out
    assert out[-1] == "0 regions fitted; 2 skipped"


def test_the_scheduler_and_the_sdk_forecast_with_the_mix_model(db_url, now_hour):
    write_region(db_url, now_hour)
    assert forecasts_cli(FIT_ARGS) == 0
    client = create_app(db_url).test_client()
    native = get(client, horizon_hours=96)
    start = (now_hour + H).isoformat()
    response = client.post("/carbon-aware-scheduler/", json={
        "runtime": 7200, "schedule": {"type": "onetime", "start_time": start, "max_delay": 10 * 3600},
        "candidate_locations": [{"id": REGION}], "original_location": REGION})
    assert response.status_code == 200, response.get_json()
    (data,) = response.get_json()["schedules"][0]["data"]
    assert (data["forecast"]["model"], data["forecast"]["fallback_reason"]) == ("mix_gbdt", None)

    sdk = client.get("/emissions/forecasts/current", query_string={"location": REGION})
    assert sdk.status_code == 200, sdk.get_json()
    (made,) = sdk.get_json()
    # The SDK's answer has no place for a model name: its values are the mix model's.
    assert [p["value"] for p in made["forecastData"]] == pytest.approx(values(native)[:len(made["forecastData"])])
