"""The WATTTIME crawler source: hand-written v3 bodies (tests/fixtures/watttime/, written from
the public documentation) served by the loopback server, crawled by the real CLI into
marginal_intensity, and served as /carbon-intensity/?signal=marginal, apart from average
intensity."""
from __future__ import annotations

import gzip
import json
from datetime import date

import psycopg2
import pytest

from api import create_app
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import watttime as source
from tests.conftest import HAND_WRITTEN
from tests.crawlhelp import crawler_cli, point_sources_at

FIXTURES = HAND_WRITTEN / "watttime"
USER, PASSWORD, TOKEN = "loopback-user", "s3cret" + "-Passw0rd", "wt-tok-" + "abc-123"  # fakes, loopback only
LBS = 0.45359237


def body(name: str, region: str = "CAISO_NORTH") -> bytes:
    return (FIXTURES / f"handwritten_{name}_{region}.json").read_bytes()


NGINX_403 = (FIXTURES / "handwritten_403_forbidden_nginx.html").read_bytes()
NO_ACCESS_403 = (FIXTURES / "handwritten_403_no_region_access.json").read_bytes()


def payload(name: str) -> Payload:
    return Payload(body=body(name), name=f"https://api.watttime.org/v3/{name}?region=CAISO_NORTH")


def stored(db_url: str, sql: str, *params) -> list[tuple]:
    conn = psycopg2.connect(db_url, options="-c timezone=UTC")
    with conn, conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    conn.close()
    return rows


def marginal(db_url: str) -> dict[str, tuple]:
    rows = stored(db_url, "SELECT to_char(m.ts, 'HH24:MI'), m.moer_g_per_kwh, m.signal_index, "
                  "to_char(m.forecast_issued_at, 'HH24:MI') FROM marginal_intensity m "
                  "JOIN region r ON r.id = m.region_id WHERE r.code = 'CISO' ORDER BY m.ts")
    return {row[0]: tuple(row[1:]) for row in rows}


@pytest.fixture
def wt_api(fake_iso, monkeypatch):
    """The loopback server as WattTime, with credentials in the environment."""
    from energy_data import watttime

    point_sources_at(monkeypatch, fake_iso.url)
    monkeypatch.setenv("WATTTIME_BASE_URL", fake_iso.url)
    monkeypatch.setenv("WATTTIME_USERNAME", USER)
    monkeypatch.setenv("WATTTIME_PASSWORD", PASSWORD)
    monkeypatch.delenv("WATTTIME_REGIONS", raising=False)
    monkeypatch.setattr(watttime, "_clients", {})
    fake_iso.serve("/login", json.dumps({"token": TOKEN}).encode(), content_type="application/json")
    for name in ("historical", "forecast", "signal-index"):
        fake_iso.serve(f"/v3/{name}", body(name), content_type="application/json")
    return fake_iso


# -- parse (pure) ---------------------------------------------------------------------------

def test_moer_is_converted_from_lbs_per_mwh_to_grams_per_kwh():
    rows = source.parse(payload("historical")).marginal
    assert rows["moer_g_per_kwh"].tolist() == pytest.approx([v * LBS for v in (900, 905, 910, 880, 870, 860)])
    assert rows["moer_g_per_kwh"].iloc[0] == pytest.approx(408.233133)
    assert rows["forecast_issued_at"].isna().all() and rows["signal_index"].isna().all()
    assert set(rows["zone"]) == {"CAISO_NORTH"}
    assert rows["timestamp"].iloc[0].isoformat() == "2024-03-10T08:00:00+00:00"


def test_forecast_and_index_bodies_and_how_a_batch_combines_them():
    forecast = source.parse(payload("forecast")).marginal
    assert {t.isoformat() for t in forecast["forecast_issued_at"]} == {"2024-03-10T08:20:00+00:00"}
    index = source.parse(payload("signal-index")).marginal
    assert index[["signal_index"]].values.tolist() == [[62.0]] and index["moer_g_per_kwh"].isna().all()
    batch = ParseResult.concat(source.parse(payload(n)) for n in ("forecast", "historical", "signal-index")).marginal
    assert len(batch) == 10  # 08:00-08:45, one row each
    at = batch.set_index(batch["timestamp"].dt.strftime("%H:%M"))
    assert at.loc["08:25", "moer_g_per_kwh"] == pytest.approx(860 * LBS)  # measured beats forecast
    assert pd_isna(at.loc["08:25", "forecast_issued_at"]) and at.loc["08:25", "signal_index"] == 62.0
    assert at.loc["08:30", "moer_g_per_kwh"] == pytest.approx(840 * LBS)
    assert not pd_isna(at.loc["08:30", "forecast_issued_at"])


def pd_isna(value) -> bool:
    import pandas as pd
    return bool(pd.isna(value))


@pytest.mark.parametrize("change, why", [
    ({"signal_type": "health_damage"}, "signal_type"),
    ({"data_point_period_seconds": 900}, "only 300 .5-minute. and 3600 .hourly."),
    ({"units": "tons_per_fortnight"}, "units"),
])
def test_other_signals_periods_and_units_are_refused(change, why):
    document = json.loads(body("historical"))
    document["meta"].update(change)
    with pytest.raises(ParseError, match=why):
        source.parse(Payload(json.dumps(document).encode(), "https://x/v3/historical"))


def test_an_hourly_body_gives_hour_starts_of_sixty_minutes():
    """/v3/my-access gives each region's data_point_period_seconds: 300 or 3600."""
    rows = source.parse(Payload(body("historical", "HOURLY_EXAMPLE"), "https://x/v3/historical")).marginal
    assert [t.isoformat() for t in rows["timestamp"]] == [
        "2024-03-10T08:00:00+00:00", "2024-03-10T09:00:00+00:00", "2024-03-10T10:00:00+00:00"]
    assert rows["interval_minutes"].tolist() == [60, 60, 60]
    assert rows["moer_g_per_kwh"].tolist() == pytest.approx([v * LBS for v in (1120, 1090, 1015)])
    assert source.parse(payload("historical")).marginal["interval_minutes"].tolist() == [5] * 6
    off_the_hour = json.loads(body("historical", "HOURLY_EXAMPLE"))
    off_the_hour["data"][1]["point_time"] = "2024-03-10T09:05:00+00:00"
    result = source.parse(Payload(json.dumps(off_the_hour).encode(), "https://x/v3/historical"))
    assert len(result.marginal) == 2 and [a.kind for a in result.anomalies] == ["bad_row"]


# -- crawled, stored, served ----------------------------------------------------------------

def test_crawl_logs_in_once_and_stores_marginal_apart_from_average(wt_api, db_url):
    result = crawler_cli("run", "--source", "WATTTIME")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WATTTIME: ok: 10 inserted, 0 updated, 0 unchanged" in result.stdout, result.stdout
    logins = [r for r in wt_api.requests if r.path == "/login"]
    data = [r for r in wt_api.requests if r.path.startswith("/v3/")]
    assert len(logins) == 1 and len(data) == 3  # the token is reused for every request of the run
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in data)
    assert all(r.query["region"] == ["CAISO_NORTH"] and r.query["signal_type"] == ["co2_moer"] for r in data)
    rows = marginal(db_url)
    assert rows["08:00"] == (pytest.approx(900 * LBS), None, None)
    assert rows["08:25"] == (pytest.approx(860 * LBS), 62.0, None)
    assert rows["08:45"] == (pytest.approx(825 * LBS), None, "08:20")
    # never mixed with average intensity
    assert stored(db_url, "SELECT count(*) FROM carbon_intensity") == [(0,)]
    assert stored(db_url, "SELECT count(*) FROM series") == [(0,)]
    # the login body (which holds the token) is not archived; no secret is stored or printed
    archived = stored(db_url, "SELECT url, body_gzip FROM raw_payload")
    assert len(archived) == 3 and not any("login" in url for url, _ in archived)
    assert not any(TOKEN in url or TOKEN.encode() in gzip.decompress(bytes(body)) for url, body in archived)
    assert TOKEN not in result.stdout + result.stderr and PASSWORD not in result.stdout + result.stderr


def test_a_measured_value_is_never_replaced_by_a_forecast(wt_api, db_url, tmp_path):
    assert crawler_cli("run", "--source", "WATTTIME").returncode == 0
    newer = json.loads(body("forecast"))
    newer["meta"]["generated_at"] = "2024-03-10T08:25:00+00:00"
    newer["data"] = [{"point_time": p["point_time"], "value": p["value"] + 100} for p in newer["data"]]
    path = tmp_path / "forecast.json"
    path.write_text(json.dumps(newer))
    result = crawler_cli("replay", "--source", "WATTTIME", str(path))
    assert "0 inserted, 4 updated, 2 unchanged" in result.stdout, result.stdout + result.stderr
    rows = marginal(db_url)
    assert rows["08:20"] == (pytest.approx(870 * LBS), None, None)  # measured: kept
    assert rows["08:30"] == (pytest.approx(940 * LBS), None, "08:25")  # older forecast: replaced
    older = dict(newer, meta=dict(newer["meta"], generated_at="2024-03-10T08:10:00+00:00"))
    path.write_text(json.dumps(older))
    assert "0 inserted, 0 updated, 6 unchanged" in crawler_cli("replay", "--source", "WATTTIME", str(path)).stdout


def test_served_as_signal_marginal_and_refused_where_none_is_stored(wt_api, db_url):
    assert crawler_cli("run", "--source", "WATTTIME").returncode == 0
    client = create_app(db_url).test_client()
    window = {"start": "2024-03-10T08:00:00Z", "end": "2024-03-10T09:00:00Z"}
    answer = client.get("/carbon-intensity/", query_string={"region": "CAISO_NORTH", "signal": "marginal", **window})
    assert answer.status_code == 200, answer.get_json()
    got = answer.get_json()
    assert (got["region"], got["source"], got["signal"], got["unit"]) == ("CISO", "WATTTIME", "marginal", "gCO2/kWh")
    points = got["carbon_intensities"]
    assert [p["carbon_intensity"] for p in points] == pytest.approx(
        [v * LBS for v in (900, 905, 910, 880, 870, 860, 840, 835, 830, 825)])
    assert points[5]["signal_index"] == 62.0 and points[5]["forecast_issued_at"] is None
    assert points[9]["forecast_issued_at"] == "2024-03-10T08:20:00+00:00"
    assert got["average"]["carbon_intensity"] == pytest.approx(
        sum((900, 905, 910, 880, 870, 860, 840, 835, 830, 825)) / 10 * LBS)
    hourly = client.get("/carbon-intensity/", query_string={"region": "CISO", "signal": "marginal",
                                                            "resolution": "hour", **window}).get_json()
    assert [p["carbon_intensity"] for p in hourly["carbon_intensities"]] == pytest.approx(
        [got["average"]["carbon_intensity"]])
    # the default signal never answers from marginal rows
    average = client.get("/carbon-intensity/", query_string={"region": "CISO", **window}).get_json()
    assert average["signal"] == "average" and average["source"] is None and average["carbon_intensities"] == []
    refused = client.get("/carbon-intensity/", query_string={"region": "PJM", "signal": "marginal", **window})
    assert refused.status_code == 404
    assert refused.get_json()["error"]["code"] == "no_marginal_intensity"
    assert "signal=average" in refused.get_json()["error"]["message"]
    bad = client.get("/carbon-intensity/", query_string={"region": "CISO", "signal": "marginalish", **window})
    assert bad.status_code == 400
    assert (bad.get_json()["error"]["code"], bad.get_json()["error"]["parameter"]) == ("invalid_parameter", "signal")


def test_a_refused_token_is_renewed_once(wt_api, db_url):
    wt_api.serve("/v3/historical", body("historical"), fail_first=[401], content_type="application/json")
    result = crawler_cli("run", "--source", "WATTTIME")
    assert "WATTTIME: ok: 10 inserted" in result.stdout, result.stdout + result.stderr
    assert len([r for r in wt_api.requests if r.path == "/login"]) == 2


def test_a_token_refused_with_nginx_403_page_is_renewed_once(wt_api, db_url):
    """An expired or revoked token gets nginx's HTML 403 page (aiowatttime), not only a 401:
    the crawler logs in again, once, and the request then succeeds."""
    wt_api.serve("/v3/historical", body("historical"), fail_first=[403], fail_body=NGINX_403,
                 fail_content_type="text/html", content_type="application/json")
    result = crawler_cli("run", "--source", "WATTTIME")
    assert "WATTTIME: ok: 10 inserted" in result.stdout, result.stdout + result.stderr
    assert [r.path for r in wt_api.requests] == ["/login", "/v3/historical", "/login", "/v3/historical",
                                                 "/v3/forecast", "/v3/signal-index"]
    assert marginal(db_url)["08:00"] == (pytest.approx(900 * LBS), None, None)


def test_a_json_403_after_a_fresh_login_is_no_access_to_the_region(wt_api, db_url):
    """A region outside the account's plan still answers 403, as JSON, after a fresh login: that
    region's endpoint fails (the run is partial) saying so; the token is not blamed."""
    wt_api.serve("/v3/historical", NO_ACCESS_403, status=403, content_type="application/json")
    result = crawler_cli("run", "--source", "WATTTIME")
    # the forecast (08:20-08:45) and the index (08:25) are still stored
    assert "WATTTIME: partial: 6 inserted" in result.stdout, result.stdout + result.stderr
    assert ("CAISO_NORTH historical: no access to CAISO_NORTH with this account (HTTP 403 after a fresh login: "
            "'Hand-written: your account has no access to this region; see /v3/my-access.')") in result.stdout
    assert len([r for r in wt_api.requests if r.path == "/login"]) == 2  # logged in again once, not per retry
    assert len([r for r in wt_api.requests if r.path == "/v3/historical"]) == 2


def test_a_token_refused_again_after_a_fresh_login_fails_the_run(wt_api, db_url):
    """nginx's 403 page even for a fresh token: the account is at fault, not a region; nothing
    of the run is stored and the message says what to check."""
    wt_api.serve("/v3/historical", NGINX_403, status=403, content_type="text/html")
    result = crawler_cli("run", "--source", "WATTTIME")
    assert result.returncode == 1
    assert ("WATTTIME: failed: WattTime refused a fresh token (HTTP 403, an HTML page, on /v3/historical): check the "
            "account (WATTTIME_USERNAME, WATTTIME_PASSWORD) at WattTime") in result.stdout, result.stdout
    assert marginal(db_url) == {}
    assert PASSWORD not in result.stdout + result.stderr and TOKEN not in result.stdout + result.stderr


def test_refused_credentials_fail_the_run_without_showing_the_password(wt_api, db_url):
    wt_api.serve("/login", b'{"error": "bad credentials"}', status=403)
    result = crawler_cli("run", "--source", "WATTTIME")
    assert result.returncode == 1
    assert "WattTime login refused (HTTP 403)" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    assert len([r for r in wt_api.requests if r.path == "/login"]) == 1  # not once per request


def test_without_an_account_the_source_is_disabled_and_says_why(db_url, monkeypatch):
    monkeypatch.delenv("WATTTIME_USERNAME", raising=False)
    monkeypatch.delenv("WATTTIME_PASSWORD", raising=False)
    line = next(l for l in crawler_cli("status").stdout.splitlines() if l.startswith("WATTTIME"))
    assert "disabled: WATTTIME_USERNAME, WATTTIME_PASSWORD not set" in line


# -- the scheduler on marginal intensity ------------------------------------------------------

MOER = [v * LBS for v in (900, 905, 910, 880, 870, 860, 840, 835, 830, 825)]  # 08:00-08:45, 5-minute


def test_best_window_on_marginal_intensity_is_the_brute_force_optimum(wt_api, db_url):
    assert crawler_cli("run", "--source", "WATTTIME").returncode == 0
    client = create_app(db_url).test_client()
    query = {"region": "CISO", "signal": "marginal", "duration": 15, "start": "2024-03-10T08:00:00Z",
             "end": "2024-03-10T08:50:00Z"}
    answer = client.get("/carbon-aware-scheduler/best-window/", query_string=query)
    assert answer.status_code == 200, answer.get_json()
    got = answer.get_json()
    means = [sum(MOER[k:k + 3]) / 3 for k in range(len(MOER) - 2)]
    best = min(range(len(means)), key=means.__getitem__)
    assert (got["signal"], got["source"], got["unit"]) == ("marginal", "WATTTIME", "gCO2/kWh")
    assert got["best"]["start"] == f"2024-03-10T08:{5 * best:02d}:00+00:00"
    assert got["best"]["carbon_intensity"] == pytest.approx(means[best])
    assert got["at_start"]["carbon_intensity"] == pytest.approx(means[0])
    assert got["data"]["forecast"] is None  # WattTime's stored forecast, not the project's model
    refused = client.get("/carbon-aware-scheduler/best-window/", query_string={**query, "region": "PJM"})
    assert refused.status_code == 404 and refused.get_json()["error"]["parameter"] == "signal"


def test_the_scheduler_places_a_run_on_marginal_intensity_when_asked(wt_api, db_url):
    assert crawler_cli("run", "--source", "WATTTIME").returncode == 0
    client = create_app(db_url).test_client()
    workload = {"runtime": 600, "power_kw": 1, "signal": "marginal", "candidate_locations": [{"id": "CISO"}],
                "schedule": {"type": "onetime", "start_time": "2024-03-10T08:00:00Z", "max_delay": 2400}}
    answer = client.post("/carbon-aware-scheduler/", json=workload)
    assert answer.status_code == 200, answer.get_json()
    schedule, = answer.get_json()["schedules"]
    run, = schedule["runs"]
    pairs = [(MOER[k] + MOER[k + 1]) / 2 for k in range(len(MOER) - 1)]
    best = min(range(len(pairs)), key=pairs.__getitem__)
    assert run["chosen"]["start"] == f"2024-03-10T08:{5 * best:02d}:00+00:00"
    assert run["chosen"]["emissions_g"]["compute"] == pytest.approx(pairs[best] * 600 / 3600)
    # a candidate without marginal data is left out and named; only none with data is a 404
    other = dict(workload, candidate_locations=[{"id": "CISO"}, {"id": "PJM"}])
    kept = client.post("/carbon-aware-scheduler/", json=other)
    assert kept.status_code == 200, kept.get_json()
    assert [c["location"] for c in kept.get_json()["schedules"][0]["left_out"]] == ["PJM"]
    refused = client.post("/carbon-aware-scheduler/", json=dict(workload, candidate_locations=[{"id": "PJM"}]))
    assert refused.status_code == 404 and refused.get_json()["error"]["parameter"] == "signal"
    assert "PJM" in refused.get_json()["error"]["message"]
    bad = client.post("/carbon-aware-scheduler/", json=dict(workload, signal="median"))
    assert bad.status_code == 400
    assert (bad.get_json()["error"]["code"], bad.get_json()["error"]["parameter"]) == ("invalid_body", "signal")


def test_status_counts_marginal_rows_and_their_newest_measured_time(wt_api, db_url):
    assert crawler_cli("run", "--source", "WATTTIME").returncode == 0
    line = next(l for l in crawler_cli("status").stdout.splitlines() if l.startswith("WATTTIME"))
    assert "2024-03-10 08:25Z" in line  # the newest measured value, not the forecast's 08:45
    assert " 10  " in line and "STALE" in line  # 2024's data is far older than 6 hours


def test_backfill_reads_historical_by_chunk_ending_before_the_end_day(wt_api, db_url):
    """WattTime's `end` is inclusive (the official client ends each chunk a period early): a
    day ends at 23:55, so no point of the next day is asked for twice."""
    result = crawler_cli("backfill", "--source", "WATTTIME", "--start", "2024-03-10", "--end", "2024-03-11")
    assert result.returncode == 0, result.stdout + result.stderr
    asked, = [r for r in wt_api.requests if r.path.startswith("/v3/")]
    assert (asked.path, asked.query["start"], asked.query["end"]) == (
        "/v3/historical", ["2024-03-10T00:00Z"], ["2024-03-10T23:55Z"])
    assert "6 inserted" in result.stdout and len(marginal(db_url)) == 6
    assert source.backfill_chunks(date(2024, 1, 1), date(2024, 3, 1)) == [
        (date(2024, 1, 1), date(2024, 1, 31)), (date(2024, 1, 31), date(2024, 3, 1))]


def test_an_hourly_region_is_stored_as_hours_beside_a_five_minute_one(wt_api, db_url, monkeypatch):
    """One batch, two regions of different periods: each row keeps its own interval length, so
    the hourly region's hours weigh 60 minutes each when served."""
    monkeypatch.setenv("WATTTIME_REGIONS", "CAISO_NORTH,HOURLY_EXAMPLE")
    wt_api.serve("/v3/historical", body("historical", "HOURLY_EXAMPLE"), query={"region": "HOURLY_EXAMPLE"},
                 content_type="application/json")
    result = crawler_cli("backfill", "--source", "WATTTIME", "--start", "2024-03-10", "--end", "2024-03-11")
    assert "9 inserted" in result.stdout and result.returncode == 0, result.stdout + result.stderr
    assert stored(db_url, "SELECT r.code, m.interval_minutes, count(*) FROM marginal_intensity m "
                  "JOIN region r ON r.id = m.region_id GROUP BY 1, 2 ORDER BY 1") == [
        ("CISO", 5, 6), ("HOURLY_EXAMPLE", 60, 3)]
    client = create_app(db_url).test_client()
    window = {"region": "HOURLY_EXAMPLE", "signal": "marginal", "start": "2024-03-10T08:00:00Z",
              "end": "2024-03-10T11:00:00Z"}
    hourly = client.get("/carbon-intensity/", query_string={**window, "resolution": "hour"}).get_json()
    assert [p["carbon_intensity"] for p in hourly["carbon_intensities"]] == pytest.approx(
        [v * LBS for v in (1120, 1090, 1015)])
    assert hourly["average"]["carbon_intensity"] == pytest.approx((1120 + 1090 + 1015) / 3 * LBS)
    native = client.get("/carbon-intensity/", query_string=window).get_json()
    assert [p["timestamp"] for p in native["carbon_intensities"]] == [
        "2024-03-10T08:00:00+00:00", "2024-03-10T09:00:00+00:00", "2024-03-10T10:00:00+00:00"]
