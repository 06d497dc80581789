"""Forecast-input sources through the real crawler CLI: fetched from the loopback server (run,
backfill) or replayed from recordings, written by the write path with their issue times, shown
by `status`, and read back for a forecast issued at T without anything issued after T."""
from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone

import psycopg2
import pytest

from database.forecast_inputs import read_operator_forecasts, read_weather_features
from tests.conftest import HAND_WRITTEN
from tests.crawlhelp import crawler_cli, point_sources_at

UTC = timezone.utc


def query(db_url: str, sql: str, *params) -> list[tuple]:
    conn = psycopg2.connect(db_url, options="-c timezone=UTC")
    with conn, conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    conn.close()
    return rows


def read(db_url: str, reader, region: str, issued_before: datetime, start: datetime, end: datetime):
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        frame = reader(cur, region, issued_before, start, end)
    conn.close()
    return frame


@pytest.fixture
def endpoints(fake_iso, monkeypatch):
    point_sources_at(monkeypatch, fake_iso.url)
    monkeypatch.setenv("OPENMETEO_REGIONS", "ISNE")
    return fake_iso


def test_openmeteo_run_stores_each_point_and_a_repeated_forecast_adds_nothing(endpoints, db_url):
    body = (HAND_WRITTEN / "openmeteo" / "handwritten_forecast_ISNE.json").read_bytes()
    endpoints.serve("/openmeteo/v1/forecast", body, content_type="application/json")
    before = datetime.now(UTC)
    first = crawler_cli("run", "--source", "OPENMETEO")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "OPENMETEO: ok: 30 inserted, 0 updated, 0 unchanged" in first.stdout, first.stdout
    [request] = [r for r in endpoints.requests if r.path == "/openmeteo/v1/forecast"]
    assert request.query["hourly"] == ["wind_speed_10m,wind_speed_100m,temperature_2m,dew_point_2m,"
                                       "shortwave_radiation,cloud_cover,precipitation"]
    assert (request.query["forecast_hours"], request.query["timezone"], request.query["wind_speed_unit"]) == \
        (["96"], ["GMT"], ["ms"])
    assert request.query["latitude"] == ["45.5,44.5,42.35,41.6,42.36,41.76"]
    [(rows, points, issued)] = query(db_url, "SELECT count(*), count(DISTINCT point_id), max(issued_at) "
                                             "FROM weather_forecast")
    assert (rows, points) == (30, 6) and before <= issued <= datetime.now(UTC)  # issued at the fetch

    again = crawler_cli("run", "--source", "OPENMETEO", "--force")
    assert "OPENMETEO: ok: 0 inserted, 0 updated, 30 unchanged" in again.stdout, again.stdout
    status = crawler_cli("status")
    line = next(line for line in status.stdout.splitlines() if line.startswith("OPENMETEO "))
    assert " 30  " in line and "never" not in line.split("yes", 1)[1][:40], line

    start, end = datetime(2025, 3, 10, 12, tzinfo=UTC), datetime(2025, 3, 10, 16, tzinfo=UTC)
    features = read(db_url, read_weather_features, "ISNE", datetime.now(UTC), start, end)
    # temperature over the two load points, weights 0.6 and 0.4 (Boston 4th, Hartford 5th in the body)
    assert features["temperature_2m"].iloc[0] == pytest.approx(0.6 * (2.5 + 4 * 0.8) + 0.4 * (2.5 + 5 * 0.8))
    assert read(db_url, read_weather_features, "ISNE", before, start, end).columns.empty  # issued after `before`


def test_openmeteo_backfill_asks_previous_runs_for_leads_of_one_to_four_days(endpoints, db_url):
    body = (HAND_WRITTEN / "openmeteo" / "handwritten_previous_runs_ISNE.json").read_bytes()
    endpoints.serve("/openmeteo_previous_runs/v1/forecast", body, content_type="application/json")
    result = crawler_cli("backfill", "--source", "OPENMETEO", "--start", "2025-03-10", "--end", "2025-03-11")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OPENMETEO 2025-03-10..2025-03-11: ok: 48 inserted" in result.stdout, result.stdout
    [request] = endpoints.requests
    assert (request.query["start_date"], request.query["end_date"]) == (["2025-03-10"], ["2025-03-10"])
    assert "precipitation_previous_day4" in request.query["hourly"][0].split(",")
    [(early, late)] = query(db_url, "SELECT min(issued_at - ts), max(issued_at - ts) FROM weather_forecast")
    assert (early.total_seconds() / 3600, late.total_seconds() / 3600) == (-48 + 9, -24 + 9)


def test_pjm_forecasts_fetched_with_their_filters_and_stored_by_evaluation(endpoints, db_url, shared_fixtures,
                                                                            monkeypatch):
    monkeypatch.setenv("PJM_API_KEY", "loopback-key")
    fixtures = shared_fixtures / "PJM"
    endpoints.serve("/pjm_forecast/hourly_wind_power_forecast",
                    (fixtures / "pjm_wind_forecast_2025-02-24.json").read_bytes(), content_type="application/json")
    endpoints.serve("/pjm_forecast/hourly_solar_power_forecast",
                    (fixtures / "pjm_solar_forecast_2025-02-24.json").read_bytes(), content_type="application/json")
    endpoints.serve("/pjm_forecast/load_frcstd_7_day",
                    gzip.decompress((fixtures / "compressed_pjm_load_forecast_2025-03-19.gz").read_bytes()),
                    content_type="application/json")
    result = crawler_cli("run", "--source", "PJM_FORECAST")
    assert result.returncode == 0, result.stdout + result.stderr
    by_path = {r.path.rsplit("/", 1)[-1]: r for r in endpoints.requests}
    assert "to" in by_path["hourly_wind_power_forecast"].query["evaluated_at_ept"][0]
    assert by_path["load_frcstd_7_day"].query["forecast_area"] == ["RTO_COMBINED"]
    assert all(r.headers["Ocp-Apim-Subscription-Key"] == "loopback-key" for r in endpoints.requests)
    counts = dict(query(db_url, "SELECT kind, count(*) FROM operator_forecast GROUP BY kind"))
    # Every wind and solar evaluation that changed a value is kept; repeats of the previous one are not.
    assert counts["load"] == 168 and 1000 < counts["wind"] <= 5896 and 100 < counts["solar"] <= 1061

    day = datetime(2025, 2, 24, tzinfo=UTC), datetime(2025, 2, 25, tzinfo=UTC)
    at_midnight = read(db_url, read_operator_forecasts, "PJM", day[0], *day)
    assert at_midnight.attrs["issued_at"]["wind"] < day[0] and at_midnight["wind_forecast_mw"].notna().all()


@pytest.mark.parametrize("source, relative, kind, issued", [
    ("ISONE_FORECAST", "ISONE/seven_day_wind_power_forecast_20250225.csv", "wind", "2025-02-25T15:08:14Z"),
    ("CAISO_FORECAST", "CAISO/20250219_20250227_SLD_FCST_7DA_20250221_01_09_58_v1.zip", "load", "2025-02-21T09:09:58Z"),
    ("NYISO_FORECAST", "NYISO/20250219isolf.csv", "load", "2025-02-20T05:00:00Z"),
    ("ERCOT_FORECAST", "ERCOT/loadForecastVsActual_2024-11-24.json", "load", "2024-11-25T08:15:02Z"),
    ("MISO_FORECAST", "MISO/20250310_df_al.xls", "load", "2025-03-11T05:00:00Z"),
])
def test_a_replayed_recording_is_invisible_to_a_forecast_issued_before_it(db_url, shared_fixtures, source,
                                                                            relative, kind, issued):
    result = crawler_cli("replay", "--source", source, str(shared_fixtures / relative))
    assert result.returncode == 0 and ": ok: " in result.stdout, result.stdout + result.stderr
    region = {"ISONE_FORECAST": "ISNE", "CAISO_FORECAST": "CISO", "NYISO_FORECAST": "NYIS",
              "ERCOT_FORECAST": "ERCO", "MISO_FORECAST": "MISO"}[source]
    moment = datetime.fromisoformat(issued.replace("Z", "+00:00"))
    window = (moment - timedelta(days=10), moment + timedelta(days=10))
    column = f"{kind}_forecast_mw"
    assert column not in read(db_url, read_operator_forecasts, region, moment, *window)  # issued at T: not before T
    seen = read(db_url, read_operator_forecasts, region, moment.replace(microsecond=1), *window)
    assert seen[column].notna().any() and seen.attrs["issued_at"][kind] == moment


def test_prune_thins_operator_issues_older_than_the_retention(db_url, shared_fixtures, monkeypatch):
    """Every PJM wind evaluation of the recording (every 10 minutes, two and a half days before
    the target day) is older than 3 days: prune keeps one issue per target and 6-hour bin."""
    replayed = crawler_cli("replay", "--source", "PJM_FORECAST",
                           str(shared_fixtures / "PJM" / "pjm_wind_forecast_2025-02-24.json"))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    [(before, bins)] = query(db_url, "SELECT count(*), count(DISTINCT (ts, date_bin('6 hours', issued_at, "
                                     "'2000-01-01'))) FROM operator_forecast")
    monkeypatch.setenv("RETAIN_EVERY_INPUT_ISSUE_DAYS", "3")
    result = crawler_cli("prune")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{before - bins} operator forecast rows (thinned)" in result.stdout, result.stdout
    [(after,)] = query(db_url, "SELECT count(*) FROM operator_forecast")
    [(series_rows,)] = query(db_url, "SELECT row_count FROM input_series WHERE kind = 'wind'")
    assert after == series_rows == bins
