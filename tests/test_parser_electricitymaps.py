"""The ELECTRICITYMAPS crawler source: hand-written v3 bodies (tests/fixtures/electricitymaps/,
written from the public documentation and real samples of public clients) served by the
loopback server, crawled by the real CLI into PostgreSQL through import-emap-csv's write path,
and served by /carbon-intensity/. The loopback server behaves as the live API does where it
matters: past-range refuses more than 10 days, a free token gets 403 for past-range, a sandbox
token gets synthetic data with HTTP 200."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import psycopg2
import pytest

from api import create_app
from crawler.http import HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import electricitymaps as emaps
from energy_data.http import make_session
from tests.conftest import HAND_WRITTEN
from tests.crawlhelp import crawler_cli, point_sources_at
from tests.fakeiso import Response

FIXTURES = HAND_WRITTEN / "electricitymaps"
CSV = FIXTURES / "handwritten_US-CAL-CISO_hourly.csv"
TOKEN = "emaps-" + "loopback-token-42"  # a fake, for the loopback server only
CI = "/v3/carbon-intensity"
PB = "/v3/power-breakdown"
FREE_403 = b'{"error": "Hand-written: Endpoint not available for this token"}'


def body(name: str) -> bytes:
    return (FIXTURES / f"handwritten_{name}.json").read_bytes()


def payload(name: str, url: str = "https://api.electricitymaps.com/v3/x") -> Payload:
    return Payload(body=body(name), name=url)


def stored(db_url: str, sql: str, *params) -> list[tuple]:
    conn = psycopg2.connect(db_url, options="-c timezone=UTC")
    with conn, conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    conn.close()
    return rows


def reported(db_url: str, zone_code: str) -> dict[str, tuple]:
    rows = stored(db_url, "SELECT to_char(i.ts, 'HH24'), i.lifecycle_g_per_kwh, i.direct_g_per_kwh, i.renewable_share, "
                  "i.low_carbon_share, i.estimated FROM reported_intensity i JOIN region r ON r.id = i.region_id "
                  "WHERE r.code = %s ORDER BY i.ts", zone_code)
    return {row[0]: tuple(row[1:]) for row in rows}


def as_history(past_range: bytes) -> bytes:
    """A past-range body as `history` wraps the same items."""
    document = json.loads(past_range)
    document["history"] = document.pop("data")
    return json.dumps(document).encode()


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def refuse_more_than_ten_days(fake) -> None:
    """The loopback server refuses a past-range of more than 10 days (240 hours), as the API
    does for hourly data."""
    routes = fake.match

    def match(path: str, query: dict):
        if path.endswith("/past-range") and at(query["end"][0]) - at(query["start"][0]) > timedelta(days=10):
            return Response(b'{"error": "Hand-written: the time range is limited to 10 days for hourly data"}',
                            status=400, content_type="application/json")
        return routes(path, query)
    fake.match = match


def last_success(db_url: str, ago: timedelta) -> None:
    """A successful run of the source `ago` before now, as if the crawler had stopped since."""
    stored(db_url, "INSERT INTO crawl_run (source_id, kind, status, started_at, finished_at) "
           "SELECT id, 'run', 'ok', now() - %s, now() - %s FROM source WHERE name = 'ELECTRICITYMAPS' RETURNING id",
           ago, ago)


@pytest.fixture
def emaps_api(fake_iso, monkeypatch):
    """The loopback server as Electricity Maps with a commercial token: the history and the
    past-range bodies of two zones (the same hours), refusing past-range over 10 days."""
    point_sources_at(monkeypatch, fake_iso.url)
    monkeypatch.setenv("ELECTRICITYMAPS_BASE_URL", fake_iso.url)
    monkeypatch.setenv("ELECTRICITYMAPS_TOKEN", TOKEN)
    monkeypatch.setenv("ELECTRICITYMAPS_ZONES", "US-CAL-CISO,DE")
    fake_iso.serve("/v3/zones", body("zones"), content_type="application/json")
    for zone in ("US-CAL-CISO", "DE"):
        for factor in ("lifecycle", "direct"):
            ci = body(f"carbon-intensity_past-range_{zone}_{factor}")
            for kind, text in (("past-range", ci), ("history", as_history(ci))):
                fake_iso.serve(f"{CI}/{kind}", text, query={"zone": zone, "emissionFactorType": factor},
                               content_type="application/json")
        pb = body(f"power-breakdown_past-range_{zone}")
        for kind, text in (("past-range", pb), ("history", as_history(pb))):
            fake_iso.serve(f"{PB}/{kind}", text, query={"zone": zone}, content_type="application/json")
    refuse_more_than_ten_days(fake_iso)
    return fake_iso


@pytest.fixture
def free_token(emaps_api):
    """A free token: /v3/zones names the zones without saying what the token may use there,
    and past-range answers 403."""
    emaps_api.serve("/v3/zones", body("zones_names_only"), content_type="application/json")
    for path in (f"{CI}/past-range", f"{PB}/past-range"):
        emaps_api.query_routes.pop(path)
        emaps_api.serve(path, FREE_403, status=403, content_type="application/json")
    return emaps_api


# -- parse (pure) ---------------------------------------------------------------------------

def test_each_body_carries_its_own_columns_only():
    lifecycle = emaps.parse(payload("carbon-intensity_past-range_US-CAL-CISO_lifecycle")).reported
    assert lifecycle["lifecycle_g_per_kwh"].tolist() == [262, 251, 241, 231]
    assert lifecycle["direct_g_per_kwh"].isna().all() and lifecycle["renewable_share"].isna().all()
    assert [t.isoformat() for t in lifecycle["timestamp"]][:1] == ["2024-03-10T08:00:00+00:00"]
    shares = emaps.parse(payload("power-breakdown_past-range_US-CAL-CISO")).reported
    assert shares["renewable_share"].tolist() == pytest.approx([0.40, 0.42, 0.45, 0.46])
    assert shares["low_carbon_share"].tolist() == pytest.approx([0.55, 0.57, 0.60, 0.61])
    assert shares["lifecycle_g_per_kwh"].isna().all()
    latest = emaps.parse(payload("carbon-intensity_latest_US-CAL-CISO_direct")).reported
    assert latest[["zone", "direct_g_per_kwh"]].values.tolist() == [["US-CAL-CISO", 165]]
    history = emaps.parse(payload("carbon-intensity_history_US-CAL-CISO_lifecycle")).reported
    assert history["lifecycle_g_per_kwh"].tolist() == [235, 221]
    zones = emaps.parse(payload("zones"))
    assert zones.zone_names == {"DE": "Germany", "US-CAL-CISO": "California Independent System Operator"}
    assert zones.reported.empty


def test_a_batch_combines_partial_bodies_per_zone_and_hour():
    names = ["zones", "carbon-intensity_past-range_DE_lifecycle", "carbon-intensity_past-range_DE_direct",
             "power-breakdown_past-range_DE"]
    rows = ParseResult.concat(emaps.parse(payload(n)) for n in names).reported
    assert len(rows) == 2
    first, second = rows.iloc[0], rows.iloc[1]
    assert (first["lifecycle_g_per_kwh"], first["direct_g_per_kwh"]) == (412, 351)
    assert (first["renewable_share"], first["low_carbon_share"]) == pytest.approx((0.50, 0.62))
    assert (second["estimated"], second["estimation_method"]) == (1.0, "TIME_SLICER_AVERAGE")
    assert first["estimated"] == 0.0


def test_the_emission_factor_type_may_come_from_the_url_only():
    item = json.loads(body("carbon-intensity_latest_US-CAL-CISO_direct"))
    del item["emissionFactorType"]
    url = "https://x/v3/carbon-intensity/latest?zone=US-CAL-CISO&emissionFactorType=direct"
    rows = emaps.parse(Payload(json.dumps(item).encode(), url)).reported
    assert rows["direct_g_per_kwh"].tolist() == [165] and rows["lifecycle_g_per_kwh"].isna().all()


@pytest.mark.parametrize("text, why", [
    (b'{"error": "Zone XX-NOWHERE does not exist"}', "answered an error"),
    (b'{"zone": "DE", "stuff": []}', "not an Electricity Maps"),
])
def test_bodies_of_another_shape_are_refused_with_the_reason(text, why):
    with pytest.raises(ParseError, match=why):
        emaps.parse(Payload(text, "https://x/v3/carbon-intensity/latest?zone=DE"))


def test_absurd_values_and_times_off_the_hour_are_skipped_and_counted():
    item = json.loads(body("carbon-intensity_latest_US-CAL-CISO_direct"))
    bodies = {"history": [dict(item, carbonIntensity=-5), dict(item, datetime="2024-03-10T12:30:00Z"),
                          dict(item, carbonIntensity=180)]}
    result = emaps.parse(Payload(json.dumps(bodies).encode(), "https://x/v3/carbon-intensity/history"))
    assert result.reported["direct_g_per_kwh"].tolist() == [180]
    assert sorted(a.kind for a in result.anomalies) == ["bad_row", "missing_value"]


# -- what a run asks for ----------------------------------------------------------------------

def test_a_run_asks_history_latest_or_past_range_by_the_last_success(emaps_api, monkeypatch):
    monkeypatch.setenv("ELECTRICITYMAPS_ZONES", "DE")
    for factor in ("lifecycle", "direct"):
        emaps_api.serve(f"{CI}/latest", body("carbon-intensity_latest_US-CAL-CISO_direct"),
                        query={"emissionFactorType": factor})
    emaps_api.serve(f"{PB}/latest", body("carbon-intensity_latest_US-CAL-CISO_direct"))
    now = datetime(2026, 12, 1, 10, 20, tzinfo=timezone.utc)

    def asked(last_success):
        emaps_api.requests.clear()
        emaps.fetch_latest(HttpClient(), now, last_success)
        return [(r.path, r.query.get("start", [None])[0], r.query.get("end", [None])[0]) for r in emaps_api.requests]
    # a first run: the last 24 hours, which every plan reads
    assert asked(None) == [("/v3/zones", None, None)] + [(f"{CI}/history", None, None)] * 2 + [
        (f"{PB}/history", None, None)]
    # over a day since: from the last success to the last full hour
    assert asked(now - timedelta(days=3))[1] == (f"{CI}/past-range", "2026-11-28T10:00Z", "2026-12-01T10:00Z")
    # over 9 days: 9 days at most, never reaching the API's limit of 10
    nine_days = ("2026-11-22T10:00Z", "2026-12-01T10:00Z")
    assert asked(now - timedelta(days=30))[1:] == [(f"{CI}/past-range", *nine_days)] * 2 + [
        (f"{PB}/past-range", *nine_days)]
    assert [p for p, _, _ in asked(now - timedelta(minutes=15))] == ["/v3/zones"] + [f"{CI}/latest"] * 2 + [
        f"{PB}/latest"]
    assert [p for p, _, _ in asked(now - timedelta(minutes=25))][1:] == [f"{CI}/history"] * 2 + [f"{PB}/history"]
    assert all(r.headers["auth-token"] == TOKEN for r in emaps_api.requests)
    assert {r.query["emissionFactorType"][0] for r in emaps_api.requests if r.path.startswith(CI)} == {
        "lifecycle", "direct"}


def test_backfill_pieces_are_nine_days_at_most():
    from datetime import date
    chunks = emaps.backfill_chunks(date(2024, 1, 1), date(2024, 1, 25))
    assert chunks == [(date(2024, 1, 1), date(2024, 1, 10)), (date(2024, 1, 10), date(2024, 1, 19)),
                      (date(2024, 1, 19), date(2024, 1, 25))]
    assert all(end - start <= timedelta(days=9) for start, end in chunks)


def test_an_outage_over_ten_days_is_recovered_without_exceeding_the_limit(emaps_api, db_url):
    """The API refuses past-range over 10 days (a 4xx). After a 12-day outage a run asks 9 days
    to the last full hour, stores them, says which hours it left to backfill, and the next run
    is an ordinary one: the crawler is not stuck asking the same refused range forever."""
    last_success(db_url, timedelta(days=12))
    result = crawler_cli("run", "--source", "ELECTRICITYMAPS")
    assert "ELECTRICITYMAPS: partial: 6 inserted" in result.stdout, result.stdout + result.stderr
    ranges = {(r.query["start"][0], r.query["end"][0]) for r in emaps_api.requests if r.path.endswith("/past-range")}
    (start, end), = ranges
    assert at(end) - at(start) == timedelta(days=9) and at(end).minute == 0
    assert timedelta(0) <= datetime.now(timezone.utc) - at(end) < timedelta(hours=1)
    assert "were not fetched (a run reads 9 days back at most)" in result.stdout
    assert "python -m crawler backfill --source ELECTRICITYMAPS --start" in result.stdout
    assert reported(db_url, "DE") == {"08": (412, 351, 0.50, 0.62, False), "09": (398, 340, 0.48, 0.60, True)}
    emaps_api.requests.clear()
    again = crawler_cli("run", "--source", "ELECTRICITYMAPS", "--force")  # within the hour: `latest`
    assert [r.path for r in emaps_api.requests][:2] == ["/v3/zones", f"{CI}/latest"], again.stdout


def test_a_first_run_reads_history_which_a_free_token_has(free_token, db_url):
    """The free plan reads latest and history (24 h) only: a first run asks no past-range, stores
    both zones, and counts its requests for `status`."""
    result = crawler_cli("run", "--source", "ELECTRICITYMAPS")
    assert "ELECTRICITYMAPS: ok: 6 inserted" in result.stdout, result.stdout + result.stderr
    assert not [r for r in free_token.requests if r.path.endswith("/past-range")]
    assert reported(db_url, "CISO")["08"] == (262, 201, 0.40, 0.55, False)
    line = next(l for l in crawler_cli("status").stdout.splitlines() if l.startswith("ELECTRICITYMAPS"))
    assert "requests: 7 in the last run; at a run every 15 min about 28 an hour, 672 a day" in line, line


def test_past_range_refused_to_a_free_token_is_asked_once_and_said_in_status(free_token, db_url, monkeypatch):
    """After a gap over a day the run asks past-range once: refused (403) while history answers,
    the refusal is remembered for the token, the other zones and later runs read history, and
    backfill fails at once saying why."""
    last_success(db_url, timedelta(days=3))
    result = crawler_cli("run", "--source", "ELECTRICITYMAPS")
    assert "ELECTRICITYMAPS: partial: 6 inserted" in result.stdout, result.stdout + result.stderr
    assert "were not fetched (this token has no past-range)" in result.stdout
    refused = [r for r in free_token.requests if r.path.endswith("/past-range")]
    assert [(r.path, r.query["zone"]) for r in refused] == [(f"{CI}/past-range", ["US-CAL-CISO"])]
    assert reported(db_url, "DE")["09"] == (398, 340, 0.48, 0.60, True)
    status = crawler_cli("status").stdout
    line = next(l for l in status.splitlines() if l.startswith("ELECTRICITYMAPS"))
    assert ('past-range: refused (HTTP 403: "Hand-written: Endpoint not available for this token" for US-CAL-CISO, '
            "whose history answered): runs read latest and history (24 h)") in line, line
    last_success(db_url, timedelta(days=2))
    free_token.requests.clear()
    crawler_cli("run", "--source", "ELECTRICITYMAPS", "--force")
    assert not [r for r in free_token.requests if r.path.endswith("/past-range")]
    backfill = crawler_cli("backfill", "--source", "ELECTRICITYMAPS", "--start", "2024-03-10", "--end", "2024-03-11")
    assert backfill.returncode == 1 and "past-range was refused to this token on" in backfill.stdout, backfill.stdout
    assert "backfill needs a plan with past-range" in backfill.stdout
    assert not [r for r in free_token.requests if r.path.endswith("/past-range")]
    # another token is another plan: asked again
    monkeypatch.setenv("ELECTRICITYMAPS_TOKEN", "emaps-" + "another-token")
    crawler_cli("backfill", "--source", "ELECTRICITYMAPS", "--start", "2024-03-10", "--end", "2024-03-11")
    assert [r.path for r in free_token.requests if r.path.endswith("/past-range")] == [f"{CI}/past-range"]


def test_zones_and_endpoints_the_token_lacks_are_not_asked(emaps_api, db_url):
    """Asked with a token, /v3/zones lists the zones it may read and each one's endpoints: a zone
    it does not list is not asked (the run is partial, saying so), nor past-range where absent."""
    access = ["carbon-intensity/latest", "carbon-intensity/history", "power-breakdown/latest",
              "power-breakdown/history"]
    zones = {"US-CAL-CISO": {"countryName": "United States of America",
                             "zoneName": "California Independent System Operator", "access": access}}
    emaps_api.serve("/v3/zones", json.dumps(zones).encode(), content_type="application/json")
    last_success(db_url, timedelta(days=3))
    result = crawler_cli("run", "--source", "ELECTRICITYMAPS")
    assert "ELECTRICITYMAPS: partial: 4 inserted" in result.stdout, result.stdout + result.stderr
    assert "DE: /v3/zones does not list DE among this token's zones (US-CAL-CISO)" in result.stdout
    assert "(/v3/zones does not list past-range among this token's endpoints)" in result.stdout
    assert sorted({(r.path, r.query.get("zone", [None])[0]) for r in emaps_api.requests}, key=str) == sorted(
        [("/v3/zones", None), (f"{CI}/history", "US-CAL-CISO"), (f"{PB}/history", "US-CAL-CISO")], key=str)


def test_sandbox_data_is_refused_and_status_says_the_token_is_a_sandbox_one(emaps_api, db_url):
    """A sandbox token gets synthetic values with HTTP 200 (estimationMethod SANDBOX_MODE_DATA, a
    _disclaimer saying SANDBOX MODE): none is stored, and `status` says why."""
    emaps_api.query_routes.pop(f"{CI}/history")
    emaps_api.serve(f"{CI}/history", body("carbon-intensity_history_US-CAL-CISO_sandbox"),
                    content_type="application/json")
    result = crawler_cli("run", "--source", "ELECTRICITYMAPS")
    assert result.returncode == 1
    assert ("ELECTRICITYMAPS: failed: Electricity Maps answered synthetic sandbox data on /v3/carbon-intensity/history "
            "for US-CAL-CISO (_disclaimer 'Hand-written: the values of this response are random, generated in SANDBOX "
            "MODE; they are no measure'); nothing of the run was stored: set ELECTRICITYMAPS_TOKEN to a token with "
            "real data") in result.stdout, result.stdout
    assert stored(db_url, "SELECT count(*) FROM reported_intensity") == [(0,)]
    assert len([r for r in emaps_api.requests if r.path != "/v3/zones"]) == 1  # stopped at the first such body
    line = next(l for l in crawler_cli("status").stdout.splitlines() if l.startswith("ELECTRICITYMAPS"))
    assert "sandbox: this token is a sandbox token: Electricity Maps answered synthetic sandbox data" in line, line
    # a production token's data is stored again, and the note goes
    emaps_api.query_routes[f"{CI}/history"] = []
    emaps_api.routes.pop(f"{CI}/history")
    for zone in ("US-CAL-CISO", "DE"):
        for factor in ("lifecycle", "direct"):
            emaps_api.serve(f"{CI}/history", as_history(body(f"carbon-intensity_past-range_{zone}_{factor}")),
                            query={"zone": zone, "emissionFactorType": factor}, content_type="application/json")
    assert "ELECTRICITYMAPS: ok: 6 inserted" in crawler_cli("run", "--source", "ELECTRICITYMAPS", "--force").stdout
    line = next(l for l in crawler_cli("status").stdout.splitlines() if l.startswith("ELECTRICITYMAPS"))
    assert "sandbox:" not in line, line


@pytest.mark.parametrize("marker", ["_disclaimer", "estimationMethod"])
def test_a_sandbox_body_is_refused_by_parse_whichever_mark_it_carries(marker):
    document = json.loads(body("carbon-intensity_history_US-CAL-CISO_sandbox"))
    if marker == "_disclaimer":
        for item in document["history"]:
            item["estimationMethod"] = "TIME_SLICER_AVERAGE"
    else:
        del document["_disclaimer"]
    with pytest.raises(ParseError, match="sandbox data"):
        emaps.parse(Payload(json.dumps(document).encode(), "https://x/v3/carbon-intensity/history?zone=US-CAL-CISO"))


def test_hand_written_bodies_have_the_shape_of_real_ones():
    """As real samples (aioelectricitymaps' recordings, the API reference): temporalGranularity
    beside a list, never inside its items; US zones of countryName "United States of America"."""
    for path in FIXTURES.glob("handwritten_*.json"):
        document = json.loads(path.read_text())
        for item in document.get("history", []) + document.get("data", []):
            assert "temporalGranularity" not in item, path.name
    assert json.loads(body("zones"))["US-CAL-CISO"]["countryName"] == "United States of America"
    five_minutes = dict(json.loads(body("carbon-intensity_past-range_DE_direct")), temporalGranularity="5_minutes")
    with pytest.raises(ParseError, match="only hourly"):
        emaps.parse(Payload(json.dumps(five_minutes).encode(), "https://x/v3/carbon-intensity/past-range?zone=DE"))


def test_rate_limit_answers_are_retried_honouring_retry_after_up_to_a_cap(emaps_api):
    emaps_api.serve("/v3/zones", body("zones"), fail_first=[429], fail_headers={"Retry-After": "1"})
    payloads = emaps.fetch_latest(HttpClient(), datetime.now(timezone.utc), None)
    assert len([r for r in emaps_api.requests if r.path == "/v3/zones"]) == 2
    assert json.loads(payloads[0].body)["DE"]["zoneName"] == "Germany"
    policy = make_session().get_adapter("https://api.electricitymaps.com").max_retries
    assert 429 in policy.status_forcelist and policy.respect_retry_after_header
    assert policy.parse_retry_after("3600") == 30  # an hour's wait would hold every source's crawl


# -- crawled, stored, served ----------------------------------------------------------------

def test_crawl_stores_both_zones_and_makes_an_unknown_zone_a_region(emaps_api, db_url):
    result = crawler_cli("run", "--source", "ELECTRICITYMAPS")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ELECTRICITYMAPS: ok: 6 inserted, 0 updated, 0 unchanged" in result.stdout, result.stdout
    assert reported(db_url, "CISO") == {
        "08": (262, 201, 0.40, 0.55, False), "09": (251, 191, 0.42, 0.57, False),
        "10": (241, 181, 0.45, 0.60, False), "11": (231, 171, 0.46, 0.61, False)}
    assert reported(db_url, "DE") == {"08": (412, 351, 0.50, 0.62, False), "09": (398, 340, 0.48, 0.60, True)}
    # DE is a region of ours (migration 0017): its rows land there, its name and time zone kept.
    assert stored(db_url, "SELECT name, time_zone FROM region WHERE code = 'DE'") == [("Germany", "Europe/Berlin")]
    # the token went in a header on every request and is nowhere in what was archived or printed
    assert all(r.headers.get("auth-token") == TOKEN for r in emaps_api.requests)
    archived = stored(db_url, "SELECT url FROM raw_payload")
    assert len(archived) == 7 and not any(TOKEN in url for (url,) in archived)
    assert TOKEN not in result.stdout + result.stderr
    # within the same hour a run asks for `latest`, which this server lacks: a failed run, data kept
    again = crawler_cli("run", "--source", "ELECTRICITYMAPS", "--force")
    assert "ELECTRICITYMAPS: failed: " in again.stdout and "HTTP 404" in again.stdout, again.stdout
    assert reported(db_url, "CISO")["08"] == (262, 201, 0.40, 0.55, False)


def test_a_zone_outside_our_regions_becomes_a_region_named_by_the_zones_list(emaps_api, db_url, monkeypatch):
    """JP-TK is no region of ours: its rows make it one, named as /v3/zones names it."""
    zones = json.loads(body("zones"))
    zones["JP-TK"] = {**zones["DE"], "zoneName": "Tokyo"}
    emaps_api.serve("/v3/zones", json.dumps(zones).encode(), content_type="application/json")
    for factor in ("lifecycle", "direct"):
        ci = body(f"carbon-intensity_past-range_DE_{factor}").replace(b'"DE"', b'"JP-TK"')
        for kind, text in (("past-range", ci), ("history", as_history(ci))):
            emaps_api.serve(f"{CI}/{kind}", text, query={"zone": "JP-TK", "emissionFactorType": factor},
                            content_type="application/json")
    pb = body("power-breakdown_past-range_DE").replace(b'"DE"', b'"JP-TK"')
    for kind, text in (("past-range", pb), ("history", as_history(pb))):
        emaps_api.serve(f"{PB}/{kind}", text, query={"zone": "JP-TK"}, content_type="application/json")
    monkeypatch.setenv("ELECTRICITYMAPS_ZONES", "JP-TK")
    assert stored(db_url, "SELECT code FROM region WHERE code = 'JP-TK'") == []
    result = crawler_cli("run", "--source", "ELECTRICITYMAPS")
    assert result.returncode == 0, result.stdout + result.stderr
    assert stored(db_url, "SELECT name FROM region WHERE code = 'JP-TK'") == [("Tokyo",)]
    assert reported(db_url, "JP-TK") == {"08": (412, 351, 0.50, 0.62, False), "09": (398, 340, 0.48, 0.60, True)}


def test_crawled_rows_are_served_by_carbon_intensity(emaps_api, db_url):
    assert crawler_cli("run", "--source", "ELECTRICITYMAPS").returncode == 0
    client = create_app(db_url).test_client()
    window = {"start": "2024-03-10T08:00:00Z", "end": "2024-03-10T12:00:00Z", "source": "electricitymaps"}
    answer = client.get("/carbon-intensity/", query_string={"region": "US-CAL-CISO", **window})
    assert answer.status_code == 200, answer.get_json()
    got = answer.get_json()
    assert (got["region"], got["source"]) == ("CISO", "ELECTRICITYMAPS")
    assert [p["carbon_intensity"] for p in got["carbon_intensities"]] == [262, 251, 241, 231]
    assert [p["renewable_ratio"] for p in got["carbon_intensities"]] == pytest.approx([0.40, 0.42, 0.45, 0.46])
    direct = client.get("/carbon-intensity/", query_string={"region": "CISO", "emission_factor_type": "direct",
                                                            **window}).get_json()
    assert [p["carbon_intensity"] for p in direct["carbon_intensities"]] == [201, 191, 181, 171]
    germany = client.get("/carbon-intensity/", query_string={"region": "de", **window}).get_json()
    assert germany["region"] == "DE" and [p["carbon_intensity"] for p in germany["carbon_intensities"]] == [412, 398]


def test_later_bodies_fill_their_columns_and_blank_none(emaps_api, db_url, tmp_path):
    """Replayed one by one (one transaction each): a lifecycle-only history revises 11:00 and
    adds 12:00 without blanking 11:00's direct value or shares; a direct-only latest then
    completes 12:00."""
    assert crawler_cli("run", "--source", "ELECTRICITYMAPS").returncode == 0
    history = tmp_path / "history.json"
    history.write_bytes(body("carbon-intensity_history_US-CAL-CISO_lifecycle"))
    latest = tmp_path / "latest.json"
    latest.write_bytes(body("carbon-intensity_latest_US-CAL-CISO_direct"))
    result = crawler_cli("replay", "--source", "ELECTRICITYMAPS", str(history), str(latest))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 inserted, 1 updated, 0 unchanged" in result.stdout  # history: 12:00 new, 11:00 revised
    assert "0 inserted, 1 updated, 0 unchanged" in result.stdout  # latest: 12:00 completed
    rows = reported(db_url, "CISO")
    assert rows["11"] == (235, 171, 0.46, 0.61, False)
    assert rows["12"] == (221, 165, None, None, False)
    assert stored(db_url, "SELECT lifecycle_g_per_kwh, direct_g_per_kwh FROM carbon_intensity WHERE ts = "
                  "'2024-03-10 11:00Z'") == [(235, 171)]


def test_crawl_and_csv_import_write_the_same_rows_last_write_wins(emaps_api, db_url):
    imported = crawler_cli("import-emap-csv", str(CSV))
    assert "5 inserted" in imported.stdout, imported.stdout + imported.stderr
    crawled = crawler_cli("run", "--source", "ELECTRICITYMAPS")
    # 08-10 revised by the crawl, 11 new for CISO, two DE hours new
    assert "ELECTRICITYMAPS: ok: 3 inserted, 3 updated, 0 unchanged" in crawled.stdout, crawled.stdout
    assert reported(db_url, "CISO")["08"] == (262, 201, 0.40, 0.55, False)
    again = crawler_cli("import-emap-csv", str(CSV))
    assert "0 inserted, 3 updated, 2 unchanged" in again.stdout, again.stdout  # the export wins again
    assert reported(db_url, "CISO")["08"] == (260.25, 200.5, 0.4025, 0.555, False)
    assert reported(db_url, "CISO")["11"] == (231, 171, 0.46, 0.61, False)  # only the crawl had 11:00
    assert stored(db_url, "SELECT count(*) FROM series s JOIN source x ON x.id = s.source_id "
                  "WHERE x.name = 'ELECTRICITYMAPS'") == [(2,)]


def test_without_a_token_the_source_is_disabled_and_says_why(db_url, monkeypatch):
    monkeypatch.delenv("ELECTRICITYMAPS_TOKEN", raising=False)
    status = crawler_cli("status")
    line = next(l for l in status.stdout.splitlines() if l.startswith("ELECTRICITYMAPS"))
    assert " no " in line and "disabled: ELECTRICITYMAPS_TOKEN not set" in line
    run = crawler_cli("run", "--source", "ELECTRICITYMAPS")
    assert "ELECTRICITYMAPS: disabled (ELECTRICITYMAPS_TOKEN not set)" in run.stdout


def test_a_zone_that_fails_leaves_the_run_partial_and_the_others_stored(emaps_api, db_url):
    """Electricity Maps says "Access denied" to a bad token as to a zone outside the plan: the
    message quotes it and names both, blaming neither."""
    emaps_api.query_routes[f"{PB}/history"] = [(q, r) for q, r in emaps_api.query_routes[f"{PB}/history"]
                                               if q["zone"] != "DE"]
    emaps_api.serve(f"{PB}/history", b'{"error": "Access denied"}', status=403, content_type="application/json")
    result = crawler_cli("run", "--source", "ELECTRICITYMAPS")
    assert "ELECTRICITYMAPS: partial: 4 inserted" in result.stdout, result.stdout
    assert ('DE: Electricity Maps refused access (HTTP 403 on /v3/power-breakdown/history for DE: "Access denied"): '
            "check ELECTRICITYMAPS_TOKEN, and that its plan covers this zone and endpoint") in result.stdout
    assert "not in the token's plan" not in result.stdout
    assert reported(db_url, "DE") == {}


def test_parse_prints_reported_rows_without_a_database():
    result = crawler_cli("parse", "ELECTRICITYMAPS", str(FIXTURES / "handwritten_carbon-intensity_past-range_DE_direct.json"))
    assert result.returncode == 0, result.stderr
    first = json.loads(result.stdout.splitlines()[0])
    assert first == {"zone": "DE", "timestamp": "2024-03-10T08:00:00+00:00", "lifecycle_g_per_kwh": None,
                     "direct_g_per_kwh": 351.0, "renewable_share": None, "low_carbon_share": None,
                     "estimated": 0.0, "estimation_method": None}


def test_a_dry_run_says_what_it_would_store_and_stores_nothing(emaps_api, db_url):
    regions = stored(db_url, "SELECT count(*) FROM region")
    result = crawler_cli("run", "--source", "ELECTRICITYMAPS", "--dry-run")
    assert "ELECTRICITYMAPS: dry run: 6 reported intensity rows, 2 zone(s)" in result.stdout, result.stdout
    assert stored(db_url, "SELECT count(*) FROM reported_intensity") == [(0,)]
    assert stored(db_url, "SELECT count(*) FROM region") == regions


def test_backfill_reads_past_range_by_chunk_and_fails_a_chunk_whole(emaps_api, db_url):
    result = crawler_cli("backfill", "--source", "ELECTRICITYMAPS", "--start", "2024-03-10", "--end", "2024-03-11")
    assert result.returncode == 0, result.stdout + result.stderr
    ranges = {(r.query["start"][0], r.query["end"][0]) for r in emaps_api.requests if r.path.endswith("/past-range")}
    assert ranges == {("2024-03-10T00:00Z", "2024-03-11T00:00Z")}
    assert "6 inserted" in result.stdout
    emaps_api.query_routes[f"{PB}/past-range"].pop()  # DE's power breakdown is gone: the chunk fails
    again = crawler_cli("backfill", "--source", "ELECTRICITYMAPS", "--start", "2024-03-10", "--end", "2024-03-11")
    assert again.returncode == 1 and "1 chunk(s) failed: 2024-03-10..2024-03-11" in again.stdout, again.stdout


def test_a_refused_token_fails_the_run_saying_what_to_check(emaps_api, db_url):
    emaps_api.serve("/v3/zones", b'{"error":"Invalid auth-token"}', status=401)  # as grid-intensity-go #66 quotes it
    result = crawler_cli("run", "--source", "ELECTRICITYMAPS")
    assert result.returncode == 1
    assert ('refused the token (HTTP 401 on /v3/zones: "Invalid auth-token"): check ELECTRICITYMAPS_TOKEN'
            in result.stdout), result.stdout
    assert TOKEN not in result.stdout + result.stderr
