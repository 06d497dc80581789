"""Defects found by probing the running service as an attacker and as an unlucky operator
would (issue 10): each test here failed before its fix."""
from __future__ import annotations

import gzip
import hashlib
import json

import pandas as pd
import pytest

from crawler.crawl import Crawler, utc_now
from tests.test_api_forecast import long_history, now_hour  # noqa: F401 (fixtures)
from tests.crawlhelp import crawler_cli, fresh_count, point_sources_at, serve_nyiso, wait_for

SECRET = "sekrit" + "-eia-0123456789"  # fake, split so no scanner mistakes it for a real one
EIA_ROUTE = "/eia/electricity/rto/fuel-type-data/data/"


def eia_body(rows: list[tuple[str, str, object]], echo_key: str = SECRET) -> bytes:
    """Hand-written EIA v2 fuel-type-data page for PACW, echoing the api_key as EIA does."""
    data = [{"period": period, "respondent": "PACW", "respondent-name": "PacifiCorp West", "fueltype": fuel,
             "type-name": fuel, "value": value, "value-units": "megawatthours"} for period, fuel, value in rows]
    return json.dumps({"response": {"total": str(len(data)), "frequency": "hourly", "data": data},
                       "request": {"command": "/v2/electricity/rto/fuel-type-data/data/",
                                   "params": {"frequency": "hourly", "api_key": echo_key}},
                       "apiVersion": "2.1.8"}, indent=1).encode()


def recent_periods(hours: int) -> list[str]:
    """EIA period names (hour ending, UTC) of the last `hours` hours."""
    from datetime import timedelta

    now = utc_now().replace(minute=0, second=0, microsecond=0)
    return [f"{now - timedelta(hours=h):%Y-%m-%dT%H}" for h in range(hours, 0, -1)]


@pytest.fixture
def sources(fake_iso, monkeypatch, db_url):
    point_sources_at(monkeypatch, fake_iso.url)
    return fake_iso


@pytest.fixture
def eia(sources, monkeypatch):
    monkeypatch.setenv("EIA_API_KEY", SECRET)
    monkeypatch.setenv("EIA_RESPONDENTS", "PACW")
    return sources


def run(*names, force=True):
    lines: list[str] = []
    crawler = Crawler(out=lines.append)
    try:
        code = crawler.run(list(names), force=force, dry_run=False, now=utc_now())
    finally:
        crawler.close()
    return code, lines


def query(db, sql, *params):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def archived_bodies(db) -> list[bytes]:
    return [gzip.decompress(bytes(row[0])) for row in query(db, "SELECT body_gzip FROM raw_payload")]


# -- 1. no stored secret -------------------------------------------------------------------

def test_the_key_eia_echoes_in_its_body_is_never_archived(db, eia):
    eia.serve(EIA_ROUTE, eia_body([(p, "NG", 100) for p in recent_periods(3)]))
    code, lines = run("EIA")
    assert code == 0, lines
    bodies = archived_bodies(db)
    assert bodies and all(SECRET.encode() not in body for body in bodies)
    assert all(b'"api_key": "REDACTED"' in body for body in bodies)
    # The stored hash is the hash of the stored (redacted) body, and the readings still count.
    assert [bytes(r[0]) for r in query(db, "SELECT sha256 FROM raw_payload")] == [
        hashlib.sha256(b).digest() for b in bodies]
    assert query(db, "SELECT count(*) FROM generation_reading") == [(3,)]


def test_scrub_secrets_cleans_bodies_archived_before_the_fix(db, eia):
    from database.payloads import archive_payload

    with_key = eia_body([("2025-01-01T01", "NG", 1)])
    other_key = eia_body([("2025-01-01T01", "NG", 1)], echo_key="an-older-rotated-key")
    plain = b"Time,Solar\n00:00,1\n"
    Crawler(out=lambda line: None).close()  # registers the sources
    eia_id = query(db, "SELECT id FROM source WHERE name = 'EIA'")[0][0]
    now = utc_now()
    with db.cursor() as cur:  # as the crawler archived bodies before the fix: verbatim
        for body in (with_key, other_key, plain):
            archive_payload(cur, eia_id, "https://api.eia.gov/?api_key=REDACTED", body, now, 200, "application/json")
    result = crawler_cli("scrub-secrets")
    assert result.returncode == 0, result.stderr
    assert "3 archived bodies checked, 2 scrubbed" in result.stdout
    bodies = archived_bodies(db)
    assert all(SECRET.encode() not in b and b"an-older-rotated-key" not in b for b in bodies)
    # The two bodies differed only in their key: scrubbed, they are one body fetched twice.
    assert sorted(r[0] for r in query(db, "SELECT fetch_count FROM raw_payload")) == [1, 2]
    assert plain in bodies
    assert [bytes(r[0]) for r in query(db, "SELECT sha256 FROM raw_payload ORDER BY id")] == [
        hashlib.sha256(b).digest() for b in archived_bodies_ordered(db)]


def archived_bodies_ordered(db) -> list[bytes]:
    return [gzip.decompress(bytes(row[0])) for row in query(db, "SELECT body_gzip FROM raw_payload ORDER BY id")]


# -- 2. non-finite and absurd values -------------------------------------------------------

# Hand-written: CAISO outlook format; 00:05 has an infinite solar value, 00:10 an absurd wind one.
CAISO_BAD_VALUES = (
    b"Time,Solar,Wind,Geothermal,Biomass,Biogas,Small hydro,Coal,Nuclear,Natural gas,Large hydro,Batteries,Imports,Other\n"
    b"00:00,0,1000,800,300,200,100,0,2200,8060,1500,-50,5000,10\n"
    b"00:05,inf,1010,800,300,200,100,0,2200,8060,1500,-40,-Infinity,10\n"
    b"00:10,0,1e308,800,300,200,100,0,2200,8060,1500,-30,5200,10\n"
)


def test_infinite_and_absurd_values_are_counted_anomalies_not_rows(db, tmp_path):
    day = tmp_path / "CAISO" / "20250209_fuelsource.csv"
    day.parent.mkdir()
    day.write_bytes(CAISO_BAD_VALUES)
    result = crawler_cli("replay", str(day))
    assert result.returncode == 0, result.stdout + result.stderr
    assert query(db, "SELECT count(*) FROM generation_reading WHERE mw = 'Infinity' OR mw > 1e6") == [(0,)]
    assert query(db, "SELECT count(*) FROM net_import WHERE mw = '-Infinity'") == [(0,)]
    # No intensity from a partial mix: 00:05's rejected solar (0 MW either side) is taken as not
    # generating; 00:10 lost its wind (1,010 MW before it, nothing after to interpolate to, no
    # day before): a gap, its other fuels stored as the source said.
    totals = query(db, "SELECT to_char(ts, 'HH24:MI'), total_mw, direct_g_per_kwh FROM carbon_intensity ORDER BY ts")
    assert [t for t, _, _ in totals] == ["08:00", "08:05"], totals
    assert all(0 < total < 20000 and d > 0 for _, total, d in totals), totals
    assert query(db, "SELECT f.name FROM generation_reading g JOIN fuel f ON f.id = g.fuel_id "
                     "WHERE g.ts = '2025-02-09T08:10Z' ORDER BY 1") == [(f,) for f in sorted(
        ("solar", "geothermal", "biomass", "hydro", "coal", "nuclear", "gas", "battery", "other"))]
    anomalies = query(db, "SELECT anomalies FROM crawl_run")[0][0]
    assert anomalies["non_finite_value"] == 2 and anomalies["implausible_value"] == 1


def test_a_reading_far_above_its_region_s_recorded_peak_is_an_anomaly(db, eia):
    periods = recent_periods(8 * 24)  # a week and a day of history: the peak counts from a week on
    eia.serve(EIA_ROUTE, eia_body([(p, fuel, mw) for p in periods for fuel, mw in (("NG", 5000), ("WND", 1000))]))
    assert run("EIA")[0] == 0
    assert query(db, "SELECT peak_total_mw FROM series") == [(6000.0,)]
    # A unit slip (kW for MW) in the newest hour: far under 1,000 GW, far over twice the peak.
    eia.serve(EIA_ROUTE, eia_body([(periods[-1], "NG", 65_000), (periods[-1], "WND", 1000)]))
    code, lines = run("EIA")
    assert code == 0 and "implausible_value 1" in lines[0], lines
    assert query(db, "SELECT max(mw) FROM generation_reading") == [(5000.0,)]
    assert query(db, "SELECT (anomalies->>'implausible_value')::int FROM crawl_run ORDER BY id") == [(None,), (1,)]


# -- 3. a revision that drops a fuel -------------------------------------------------------

def test_a_revision_that_drops_a_fuel_removes_it_and_recomputes_intensity(db, eia):
    periods = recent_periods(3)
    first = [(p, fuel, mw) for p in periods for fuel, mw in (("NG", 500), ("COL", 500), ("WND", 1000))]
    eia.serve(EIA_ROUTE, eia_body(first))
    assert run("EIA")[0] == 0
    # EIA's revision of the middle hour no longer lists coal (the respondent resubmitted it).
    revised = [row for row in first if not (row[0] == periods[1] and row[1] == "COL")]
    eia.serve(EIA_ROUTE, eia_body(revised))
    code, lines = run("EIA")
    assert code == 0 and "1 removed" in lines[0], lines
    starts = [ts for (ts,) in query(db, "SELECT DISTINCT ts FROM generation_reading ORDER BY 1")]
    coal = [ts for (ts,) in query(db, "SELECT g.ts FROM generation_reading g JOIN fuel f ON f.id = g.fuel_id "
                                      "WHERE f.name = 'coal' ORDER BY 1")]
    assert len(starts) == 3 and coal == [starts[0], starts[2]]
    totals = query(db, "SELECT total_mw, direct_g_per_kwh FROM carbon_intensity ORDER BY ts")
    # The factor valid for PACW at that time: its own override first, as docs/design.md says.
    direct = {fuel: query(db, "SELECT e.g_per_kwh FROM emission_factor e JOIN fuel f ON f.id = e.fuel_id "
                              "LEFT JOIN region r ON r.id = e.region_id WHERE e.factor_set = 'direct' "
                              "AND f.name = %s AND (r.code = 'PACW' OR e.region_id IS NULL) AND e.valid_from <= %s "
                              "ORDER BY e.region_id IS NULL, e.valid_from DESC LIMIT 1", fuel, starts[1])[0][0]
              for fuel in ("gas", "coal")}
    assert totals[1] == pytest.approx((1500, 500 * direct["gas"] / 1500))
    assert totals[0] == totals[2] == pytest.approx((2000, (500 * direct["gas"] + 500 * direct["coal"]) / 2000))
    assert query(db, "SELECT row_count FROM series") == [(8,)]


# -- 4. empty successes --------------------------------------------------------------------

NYISO_HEADER_ONLY = b'"Time Stamp","Time Zone","Fuel Category","Gen MW"\n'  # hand-written


def test_a_source_that_keeps_returning_nothing_is_counted_and_shown(db, sources, eia):
    serve_nyiso(sources, NYISO_HEADER_ONLY)
    for _ in range(2):
        code, lines = run("NYISO")
        assert code == 0 and "empty_body" in lines[0], lines
    assert query(db, "SELECT count(*) FROM crawl_run WHERE (anomalies->>'empty_body')::int > 0") == [(2,)]
    line = next(l for l in crawler_cli("status").stdout.splitlines() if l.startswith("NYISO "))
    assert "EMPTY: the last 2 runs returned no data" in line
    eia.serve(EIA_ROUTE, eia_body([]))  # an EIA page without data: counted the same way
    assert "empty_body 1" in run("EIA")[1][0]
    # One run with data ends the streak.
    serve_nyiso(sources, NYISO_HEADER_ONLY + b'"02/19/2025 00:05:00","EST","Hydro",3000\n')
    assert "1 inserted" in run("NYISO")[1][0]
    line = next(l for l in crawler_cli("status").stdout.splitlines() if l.startswith("NYISO "))
    assert "EMPTY" not in line


# -- 5. nothing hangs a crawl ----------------------------------------------------------------

def test_a_request_cannot_be_made_without_a_timeout(fake_iso, monkeypatch):
    import requests

    from energy_data import http

    monkeypatch.setattr(http, "READ_TIMEOUT_S", 0.5)
    fake_iso.serve("/slow", b"late", delay_s=5)
    session = http.make_session()
    session.mount("http://", requests.adapters.HTTPAdapter(max_retries=0))  # one attempt is enough here
    with pytest.raises(requests.Timeout):
        session.get(f"{fake_iso.url}/slow", timeout=None)  # "wait for ever", as requests reads it


def test_crawler_sessions_have_statement_and_lock_timeouts(db_url):
    crawler = Crawler(out=lambda line: None)
    try:
        for conn in (crawler.meta, crawler.data):
            with conn.cursor() as cur:
                cur.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
                assert cur.fetchone() == ("2min", "20s")
            conn.rollback()
    finally:
        crawler.close()


def test_a_run_past_its_deadline_stops_records_interrupted_and_releases_the_lock(db, sources, monkeypatch):
    serve_nyiso(sources, NYISO_HEADER_ONLY, delay_s=20)  # a server that takes its time
    monkeypatch.setenv("CRAWLER_RUN_DEADLINE_S", "2")
    result = crawler_cli("run", "--source", "NYISO")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NYISO: interrupted: the run passed its deadline" in result.stdout
    assert "run stopped: past its deadline of 2 s (CRAWLER_RUN_DEADLINE_S)" in result.stdout
    assert query(db, "SELECT status, error FROM crawl_run") == [
        ("interrupted", "stopped: the run passed its deadline")]
    # The lock is free at once: the next run is not told that another one is running.
    serve_nyiso(sources, NYISO_HEADER_ONLY)
    monkeypatch.setenv("CRAWLER_RUN_DEADLINE_S", "60")
    again = crawler_cli("run", "--source", "NYISO", "--force")
    assert again.returncode == 0 and again.stdout.startswith("NYISO: ok"), again.stdout


def test_a_killed_replay_is_marked_interrupted(db, shared_fixtures):
    import signal
    import subprocess
    import sys

    from tests.crawlhelp import REPO

    day = shared_fixtures / "NYISO" / "20250219rtfuelmix.csv"
    with db.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("LOCK TABLE carbon_intensity IN EXCLUSIVE MODE")
        replay = subprocess.Popen([sys.executable, "-m", "crawler", "replay", str(day)], cwd=REPO,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: fresh_count(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                        "'energy-data crawler writes' AND wait_event_type = 'Lock'") == 1)
        replay.send_signal(signal.SIGKILL)
        replay.wait(timeout=10)
        cur.execute("COMMIT")
    wait_for(lambda: fresh_count(db, "SELECT count(*) FROM pg_stat_activity "
                                     "WHERE application_name LIKE 'energy-data crawler%'") == 0)
    assert query(db, "SELECT kind, status FROM crawl_run") == [("replay", "running")]
    assert crawler_cli("run", "--source", "HI").returncode == 0  # any later crawler command notices
    assert query(db, "SELECT kind, status FROM crawl_run") == [("replay", "interrupted")]


def test_a_backfill_still_running_elsewhere_is_left_alone(db_url, db):
    from database import crawl_runs

    busy = Crawler(out=lambda line: None)  # another process's backfill, mid-way
    with busy.meta.cursor() as cur:
        crawl_runs.start_run(cur, busy.source_ids["EIA"], "backfill", "2025-01-01..2025-02-01")
    Crawler(out=lambda line: None).close()  # a cron run starting meanwhile
    assert query(db, "SELECT status FROM crawl_run") == [("running",)]
    busy.close()
    wait_for(lambda: fresh_count(db, "SELECT count(*) FROM pg_stat_activity "
                                     "WHERE application_name LIKE 'energy-data crawler%'") == 0)
    Crawler(out=lambda line: None).close()
    assert query(db, "SELECT status FROM crawl_run") == [("interrupted",)]

# -- 6. the database restarting in the middle of a crawl -------------------------------------

CAISO_SMALL = (  # hand-written: CAISO outlook format, two 5-minute rows
    b"Time,Solar,Wind,Geothermal,Biomass,Biogas,Small hydro,Coal,Nuclear,Natural gas,Large hydro,Batteries,Imports,Other\n"
    b"00:00,0,1000,800,300,200,100,0,2200,6000,1500,-50,5000,10\n"
    b"00:05,0,1010,800,300,200,100,0,2200,5900,1500,-40,5100,10\n"
)


def test_sessions_ended_by_the_server_mid_crawl_are_reconnected_and_the_other_sources_run(db, sources):
    from tests.crawlhelp import serve_caiso, start_crawler

    serve_nyiso(sources, NYISO_HEADER_ONLY, delay_s=3)
    serve_caiso(sources, CAISO_SMALL)
    crawl = start_crawler("run", "--source", "NYISO", "--source", "CAISO")
    wait_for(lambda: any(r.path.startswith("/nyiso/") for r in sources.requests))
    # What a restart does to the crawler's sessions: the server ends them while NYISO is fetched.
    query(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
          "energy-data crawler%")
    out, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, out + err
    assert "Traceback" not in err and "InterfaceError" not in out + err
    assert "NYISO: failed: database connection lost: " in out
    assert query(db, "SELECT s.name, r.status FROM crawl_run r JOIN source s ON s.id = r.source_id ORDER BY r.id") == [
        ("NYISO", "failed"), ("CAISO", "ok")]
    assert query(db, "SELECT count(*) FROM generation_reading")[0][0] > 0


def test_a_database_restart_mid_crawl_ends_in_a_reconnect_or_one_line(db, sources, database_url_session):
    from pathlib import Path
    from urllib.parse import parse_qs, urlsplit

    from tests.crawlhelp import serve_caiso, start_crawler
    from tests.test_service import restart_embedded

    socket_dir = parse_qs(urlsplit(database_url_session).query).get("host", [""])[0]
    if not socket_dir.endswith("pgdata"):
        pytest.skip("the database is not this test session's embedded server; it cannot be restarted here")
    serve_nyiso(sources, NYISO_HEADER_ONLY, delay_s=3)
    serve_caiso(sources, CAISO_SMALL)
    crawl = start_crawler("run", "--source", "NYISO", "--source", "CAISO")
    wait_for(lambda: any(r.path.startswith("/nyiso/") for r in sources.requests))
    db.close()
    restart_embedded(Path(socket_dir))
    out, err = crawl.communicate(timeout=120)
    assert "Traceback" not in err, err
    if crawl.returncode == 2:  # the server was not back within the reconnect attempts
        assert err.count("\n") == 1 and err.startswith("error: database"), err
    else:
        assert crawl.returncode == 0 and "CAISO: ok" in out, out + err


# -- 7. dates at the limits of the calendar ----------------------------------------------------

@pytest.mark.parametrize("path, params, parameter", [
    ("/carbon-intensity/", "region=CISO&start=0001-01-01T00:00:00%2B14:00&end=0001-01-01T01:00:00%2B14:00", "end"),
    ("/carbon-intensity/", "region=CISO&start=2025-01-01T00:00:00Z&end=9999-12-31T23:59:59-14:00", "end"),
    ("/energy-mixture/", "region=CISO&start=0001-01-01T00:00:00%2B14:00&end=0001-01-02T00:00:00%2B14:00", "end"),
    ("/carbon-intensity/forecast/", "region=CISO&issued_at=0001-01-01T00:00:00%2B14:00", "issued_at"),
    ("/carbon-intensity/forecast/", "region=CISO&issued_at=9999-12-31T23:59:59-14:00", "issued_at"),
])
def test_times_at_the_limits_of_the_calendar_are_a_400_naming_them(db_url, path, params, parameter):
    from api import create_app

    response = create_app(db_url).test_client().get(f"{path}?{params}")
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["parameter"] == parameter and "between 1900-01-01 and 2199-12-31" in error["message"]


def test_legacy_and_scheduler_times_at_the_limits_are_refused_in_their_own_shapes(filled, boundaries_env):
    from api import create_app

    client = create_app(filled).test_client()
    far = "start=0001-01-01T00:00:00%2B14:00&end=0001-01-02T00:00:00%2B14:00"
    for path in (f"/legacy/carbon-intensity/?iso=CAISO&{far}", f"/legacy/energy-mixture/?iso=CAISO&{far}"):
        response = client.get(path)
        assert response.status_code == 422, response.get_data(as_text=True)  # the original's validation shape
        assert response.get_json()["messages"]["query"]["start"] == ["must be between 1900-01-01 and 2199-12-31"]
    body = {"runtime": 3600, "schedule": {"type": "onetime", "start_time": "0001-01-01T00:00:00+14:00"},
            "candidate_locations": [{"id": "aws:us-west-1"}], "original_location": "aws:us-west-1"}
    response = client.post("/carbon-aware-scheduler/", json=body)
    assert response.status_code == 400 and response.get_json()["error"]["parameter"] == "schedule.start_time"

# -- 8. request lines nginx passes: tests/test_nginx.py (a real nginx in front of gunicorn) -------


# -- 9. a GET that writes ------------------------------------------------------------------------

def test_no_request_stores_a_forecast_only_the_hourly_schedule_does(db_url, db, long_history, now_hour):
    from api import create_app
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


def test_old_issued_forecasts_are_pruned_on_a_schedule(db_url, db, long_history, now_hour, monkeypatch):
    from database.forecasts import save_forecast
    from tests.crawlhelp import REPO

    frame = pd.DataFrame({"timestamp": pd.date_range(now_hour, periods=3, freq="h"), "value": [1.0, 2.0, 3.0],
                          "lower": [0.5] * 3, "upper": [4.0] * 3})
    region, source = query(db, "SELECT region_id, source_id FROM series")[0]
    with db.cursor() as cur:
        for days in (40, 31, 2):
            issued = (now_hour - pd.Timedelta(days=days)).to_pydatetime()
            save_forecast(cur, region_id=region, source_id=source, factor_set="lifecycle", issued_at=issued,
                          history_end=issued - pd.Timedelta(hours=1), model_name="m", model_version="1", frame=frame)
    monkeypatch.setenv("RETAIN_FORECAST_DAYS", "30")
    result = crawler_cli("prune")
    assert result.returncode == 0 and "2 forecasts" in result.stdout, result.stdout + result.stderr
    assert query(db, "SELECT issued_at FROM forecast") == [((now_hour - pd.Timedelta(days=2)).to_pydatetime(),)]
    assert query(db, "SELECT count(*) FROM forecast_value") == [(3,)]
    assert "run-crawler.sh prune" in (REPO / "deploy" / "crontab.example").read_text()  # nightly


# -- 10. errors that say too much ------------------------------------------------------------------

def test_a_database_outage_says_database_unavailable_and_metrics_still_answer(caplog):
    import socket

    from api import create_app

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = create_app(f"postgresql://nobody@127.0.0.1:{port}/nothing").test_client()
    for path in ("/regions/", "/carbon-intensity/?region=CISO&start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.get_json() == {"error": {"code": "database_unavailable", "message": "database unavailable"}}
    health = client.get("/health")
    assert health.status_code == 503 and health.get_json()["database"]["error"] == "database unavailable"
    assert str(port) not in health.get_data(as_text=True)
    assert str(port) in caplog.text  # the detail is logged
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert b"energy_data_database_up 0.0" in metrics.data and b"energy_data_http_requests_total" in metrics.data


# -- 11. repeated query parameters -------------------------------------------------------------------

@pytest.mark.parametrize("query_string, parameter", [
    ("region=CISO&region=PJM&start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z", "region"),
    ("region=CISO&start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&end=2025-01-03T00:00:00Z", "end"),
    ("region=CISO&start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&resolution=hour&resolution=day", "resolution"),
])
def test_a_repeated_parameter_is_a_400_naming_it(db_url, query_string, parameter):
    from api import create_app

    client = create_app(db_url).test_client()
    response = client.get(f"/carbon-intensity/?{query_string}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == {"code": "repeated_parameter", "parameter": parameter,
                                            "message": f"{parameter} is given 2 times: give it once"}
    assert client.get("/balancing-authority/?latitude=40.7&latitude=41&longitude=-74").get_json()["error"][
        "parameter"] == "latitude"


