"""PJM gen_by_fuel: parse against the recorded Data Miner answer, fetch against a loopback
server (subscription key in a header only, public key from settings.json, paging)."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import pjm
from tests.fakeiso import Response

# The test's own reading of PJM's fuel types; gas is the sum of two of them.
TYPE_FUEL = {"Coal": "coal", "Gas": "gas", "Multiple Fuels": "gas", "Hydro": "hydro", "Nuclear": "nuclear",
             "Oil": "oil", "Other Renewables": "biomass", "Solar": "solar", "Storage": "battery",
             "Wind": "wind", "Other": "other"}
KEY = "pjm-key-7c1e55"
FEED_PATH = "/api/v1/gen_by_fuel"


def parse_bytes(body: bytes, name: str = "gen_by_fuel.json") -> ParseResult:
    return pjm.parse(Payload(body=body, name=name))


def parse_doc(doc: object) -> ParseResult:
    return parse_bytes(json.dumps(doc).encode())


def recorded(shared_fixtures: Path) -> bytes:
    return (shared_fixtures / "PJM" / "gen_by_fuel.json").read_bytes()


def kinds(result: ParseResult) -> dict[str, int]:
    return {a.kind: a.count for a in result.anomalies}


def expected_hours(doc: dict) -> dict[pd.Timestamp, dict[str, float]]:
    hours: dict[pd.Timestamp, dict[str, float]] = {}
    for item in doc["items"]:
        start = pd.Timestamp(datetime.fromisoformat(item["datetime_beginning_utc"]), tz="UTC")
        fuels = hours.setdefault(start, {})
        fuel = TYPE_FUEL[item["fuel_type"]]
        fuels[fuel] = fuels.get(fuel, 0.0) + item["mw"]
    return hours


def hours_of(result: ParseResult) -> dict[pd.Timestamp, dict[str, float]]:
    return {ts: dict(zip(g["fuel"], g["mw"])) for ts, g in result.readings.groupby("timestamp")}


def item(start: str = "2025-02-09T00:00:00", fuel_type: str = "Coal", mw: object = 100.0) -> dict:
    return {"datetime_beginning_utc": start, "fuel_type": fuel_type, "mw": mw}


def page(items: list[dict], total: int | None = None, next_link: bool = False) -> dict:
    links = [{"rel": "self", "href": "https://api.pjm.com/api/v1/gen_by_fuel?startRow=1"}]
    if next_link:
        links.append({"rel": "next", "href": "https://api.pjm.com/api/v1/gen_by_fuel?startRow=2"})
    return {"links": links, "items": items, "totalRows": len(items) if total is None else total}


# -- the recorded answer --------------------------------------------------------------------

def test_values_match_the_file_per_hour_and_fuel(shared_fixtures):
    body = recorded(shared_fixtures)
    result = parse_bytes(body)
    expected = expected_hours(json.loads(body))
    assert hours_of(result) == expected
    assert len(expected) == 22 and min(expected) == pd.Timestamp("2025-02-09T00:00Z")
    first = expected[pd.Timestamp("2025-02-09T00:00Z")]
    assert first["gas"] == 47280.0 + 1179.0  # Gas + Multiple Fuels, read off the file
    assert result.anomalies == []


def test_the_hours_are_consecutive_utc_starts(shared_fixtures):
    readings = parse_bytes(recorded(shared_fixtures)).readings
    starts = sorted(readings["timestamp"].unique())
    assert starts == list(pd.date_range("2025-02-09T00:00Z", "2025-02-09T21:00Z", freq="h"))
    assert (readings.groupby("timestamp")["fuel"].nunique() == 9).all()


def test_a_bare_list_of_rows_is_read_too(shared_fixtures):
    """`download=true` answers are the rows alone, without paging envelope."""
    doc = json.loads(recorded(shared_fixtures))
    pd.testing.assert_frame_equal(parse_doc(doc["items"]).readings, parse_doc(doc).readings)


# -- odd input ------------------------------------------------------------------------------

def test_other_and_unknown_fuel_types():
    result = parse_doc(page([item(fuel_type="Other", mw=5), item(fuel_type="Hydrogen", mw=7)]))
    assert hours_of(result) == {pd.Timestamp("2025-02-09T00:00Z"): {"other": 5, "unknown": 7}}
    assert kinds(result) == {"unknown_fuel": 1} and "Hydrogen" in result.anomalies[0].message


def test_null_values_and_repeated_rows_are_counted():
    result = parse_doc(page([item(mw=None), item(fuel_type="Wind", mw=1), item(fuel_type="Wind", mw=2),
                             item(fuel_type="Solar", mw="n/a"), item(start="yesterday", fuel_type="Oil")]))
    assert hours_of(result) == {pd.Timestamp("2025-02-09T00:00Z"): {"wind": 2}}
    assert kinds(result) == {"malformed_row": 2, "duplicate_interval": 1, "missing_value": 1}


def test_no_rows_is_an_empty_result():
    result = parse_doc(page([]))
    assert result.readings.empty and list(result.readings.columns) == ["region", "timestamp", "fuel", "mw"]


@pytest.mark.parametrize("doc, message", [
    ({"links": [], "data": [], "totalRows": 0}, "no 'items' list"),
    (page([{"datetime_beginning_ept": "2025-02-08T19:00:00", "fuel_type": "Coal", "mw": 1}]),
     "lack 'datetime_beginning_utc' \\(rows carry datetime_beginning_ept"),
    (page([{"datetime_beginning_utc": "2025-02-09T00:00:00", "fuel": "Coal", "megawatts": 1}]),
     "lack 'fuel_type', 'mw'"),
    ({"items": {"Coal": 1}}, "not a list of objects"),
    ({"errors": [{"field": "datetime_beginning_utc", "message": "Invalid date range"}]},
     "API error: Invalid date range"),
    ({"statusCode": 401, "message": "Access denied due to invalid subscription key."},
     "API error: Access denied.*status 401"),
])
def test_changed_shape_is_a_parse_error_naming_what_is_missing(doc, message):
    with pytest.raises(ParseError, match=message):
        parse_doc(doc)


# -- fetch ------------------------------------------------------------------------------------

class PagedRoutes(dict):
    """The loopback server answers by path only; this answers the feed by the startRow asked."""

    def __init__(self, server, pages: dict[int, dict]):
        super().__init__(server.routes)
        self.server, self.pages = server, pages

    def get(self, path, default=None):
        if path != FEED_PATH:
            return super().get(path, default)
        start_row = int(self.server.requests[-1].query.get("startRow", ["1"])[0])
        doc = self.pages.get(start_row)
        return Response(json.dumps(doc).encode(), content_type="application/json") if doc else default


@pytest.fixture
def pjm_server(fake_iso, monkeypatch):
    monkeypatch.setenv("PJM_BASE_URL", f"{fake_iso.url}/api/v1")
    monkeypatch.setenv("PJM_SETTINGS_BASE_URL", f"{fake_iso.url}/config")
    monkeypatch.setenv("PJM_API_KEY", KEY)
    return fake_iso


def feed_requests(server) -> list:
    return [r for r in server.requests if r.path == FEED_PATH]


NOW = datetime(2025, 2, 9, 12, 34, tzinfo=timezone.utc)


def test_latest_asks_for_48_hours_with_the_key_in_a_header_only(pjm_server, shared_fixtures):
    pjm_server.serve(FEED_PATH, recorded(shared_fixtures), content_type="application/json")
    archived: list[Payload] = []
    client = HttpClient(archive=archived.append)
    payloads = pjm.fetch_latest(client, NOW, None)
    [request] = feed_requests(pjm_server)
    assert request.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert request.query == {
        "rowCount": ["50000"], "startRow": ["1"], "sort": ["datetime_beginning_utc"], "order": ["Asc"],
        "fields": ["datetime_beginning_utc,fuel_type,mw"],
        "datetime_beginning_utc": ["02/07/2025 12:00to02/09/2025 12:00"]}
    assert archived == payloads and len(payloads) == 1
    assert KEY not in payloads[0].name and KEY.encode() not in payloads[0].body
    assert pjm.parse(payloads[0]).readings["timestamp"].nunique() == 22


def test_without_pjm_api_key_the_public_key_is_read_but_not_archived(pjm_server, monkeypatch):
    monkeypatch.delenv("PJM_API_KEY")
    public = "public-dataminer-key-93b2"
    pjm_server.serve("/config/settings.json", json.dumps({"baseUrl": "https://api.pjm.com/api/v1",
                                                          "subscriptionKey": public}).encode())
    pjm_server.serve(FEED_PATH, json.dumps(page([item()])).encode())
    archived: list[Payload] = []
    pjm.fetch_latest(HttpClient(archive=archived.append), NOW, None)
    assert [r.path for r in pjm_server.requests] == ["/config/settings.json", FEED_PATH]
    assert pjm_server.requests[1].headers["Ocp-Apim-Subscription-Key"] == public
    assert [p.name.split("?")[0] for p in archived] == [f"{pjm_server.url}{FEED_PATH}"]
    assert all(public not in p.name and public.encode() not in p.body for p in archived)


@pytest.mark.parametrize("settings, message", [
    (None, "PJM_API_KEY is not set and the public key could not be read: HTTP 404"),
    (b'{"baseUrl": "https://api.pjm.com/api/v1"}', "holds no 'subscriptionKey'"),
    (b"<html>moved</html>", "holds no 'subscriptionKey'"),
])
def test_no_key_at_all_is_a_fetch_error(pjm_server, monkeypatch, settings, message):
    monkeypatch.delenv("PJM_API_KEY")
    if settings is not None:
        pjm_server.serve("/config/settings.json", settings)
    with pytest.raises(FetchError, match=message):
        pjm.fetch_latest(HttpClient(), NOW, None)
    assert feed_requests(pjm_server) == []


def test_pages_are_followed_by_start_row(pjm_server, monkeypatch):
    monkeypatch.setattr(pjm, "ROW_COUNT", 3)
    first = [item(fuel_type=f) for f in ("Coal", "Gas", "Hydro")]
    second = [item(fuel_type=f) for f in ("Nuclear", "Wind")]
    pjm_server.routes = PagedRoutes(pjm_server, {1: page(first, total=5, next_link=True),
                                                 4: page(second, total=5)})
    payloads = pjm.fetch_latest(HttpClient(), NOW, None)
    requests = feed_requests(pjm_server)
    assert [r.query["startRow"] for r in requests] == [["1"], ["4"]]
    assert all(r.query["rowCount"] == ["3"] and r.headers["Ocp-Apim-Subscription-Key"] == KEY for r in requests)
    batch = ParseResult.concat(pjm.parse(p) for p in payloads)
    assert set(batch.readings["fuel"]) == {"coal", "gas", "hydro", "nuclear", "wind"}


def test_a_failed_later_page_keeps_the_first_in_a_run_but_fails_a_backfill(pjm_server, monkeypatch):
    monkeypatch.setattr(pjm, "ROW_COUNT", 3)
    first = [item(fuel_type=f) for f in ("Coal", "Gas", "Hydro")]
    pjm_server.routes = PagedRoutes(pjm_server, {1: page(first, total=5, next_link=True)})  # row 4: 404
    client = HttpClient()
    payloads = pjm.fetch_latest(client, NOW, None)
    assert len(payloads) == 1 and len(client.errors) == 1
    assert "row 4 failed" in client.errors[0] and "404" in client.errors[0]
    with pytest.raises(FetchError, match="404"):
        pjm.fetch_range(HttpClient(), date(2025, 2, 1), date(2025, 3, 1))


def test_a_refused_key_is_a_fetch_error_without_the_key(pjm_server):
    pjm_server.serve(FEED_PATH, b'{"statusCode": 401, "message": "Access denied"}', status=401)
    with pytest.raises(FetchError) as raised:
        pjm.fetch_latest(HttpClient(), NOW, None)
    assert "HTTP 401" in str(raised.value) and KEY not in str(raised.value)


def test_backfill_months_ask_for_each_hour_of_the_range(pjm_server):
    assert pjm.backfill_chunks(date(2025, 1, 15), date(2025, 3, 1)) == [
        (date(2025, 1, 15), date(2025, 2, 1)), (date(2025, 2, 1), date(2025, 3, 1))]
    pjm_server.serve(FEED_PATH, json.dumps(page([])).encode())
    pjm.fetch_range(HttpClient(), date(2025, 2, 1), date(2025, 3, 1))
    [request] = feed_requests(pjm_server)
    # PJM's range filter includes its end: the last hour asked for is the one starting 23:00.
    assert request.query["datetime_beginning_utc"] == ["02/01/2025 00:00to02/28/2025 23:00"]


def test_module_contract():
    assert (pjm.SOURCE, pjm.REGION, pjm.INTERVAL_MINUTES) == ("PJM", "PJM", 60)
    assert (pjm.FREQUENCY_MINUTES, pjm.STALE_AFTER_MINUTES) == (60, 360)
