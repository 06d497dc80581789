"""ISO-NE generation fuel mix: parse against recorded web-service days (and hand-written
fall-back and wsclient samples), fetch against a loopback server with and without an account."""
from __future__ import annotations

import base64
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import isone
from crawler.validate import validate
from tests.conftest import HAND_WRITTEN

SAMPLES = HAND_WRITTEN / "ISONE"
FALL_BACK = "handwritten_genfuelmix_day_20241103_fall_back.json"
WSCLIENT = "handwritten_wsclient_genfuelmix_20241125.json"
DAYS = ["20240101", "20240309", "20240310", "20241102"]
# The test's own reading of ISO-NE's categories (web-service and chart spellings).
LABEL_FUEL = {"Coal": "coal", "Natural Gas": "gas", "NaturalGas": "gas", "Nuclear": "nuclear",
              "Oil": "oil", "Hydro": "hydro", "Solar": "solar", "Wind": "wind", "Other": "other",
              "Wood": "biomass", "Refuse": "biomass", "Landfill Gas": "biomass", "LandfillGas": "biomass"}
FIVE = timedelta(minutes=5)

Reports = dict[datetime, dict[str, float]]


def parse_bytes(body: bytes, name: str = "genfuelmix.json") -> ParseResult:
    return isone.parse(Payload(body=body, name=name))


def parse_doc(doc: object) -> ParseResult:
    return parse_bytes(json.dumps(doc).encode())


def recorded(shared_fixtures: Path, name: str) -> bytes:
    return (shared_fixtures / "ISONE" / name).read_bytes()


def kinds(result: ParseResult) -> dict[str, int]:
    return {a.kind: a.count for a in result.anomalies}


def web_reports(body: bytes) -> Reports:
    """The test's own reading: report instant (UTC) -> MW by our fuel, from the web shape."""
    reports: Reports = {}
    for row in json.loads(body)["GenFuelMixes"]["GenFuelMix"]:
        instant = datetime.fromisoformat(row["BeginDate"]).astimezone(timezone.utc)
        fuels = reports.setdefault(instant, {})
        fuel = LABEL_FUEL[row["FuelCategory"]]
        fuels[fuel] = fuels.get(fuel, 0.0) + row["GenMw"]
    return reports


def chart_reports(body: bytes) -> Reports:
    reports: Reports = {}
    for record in json.loads(body)[0]["data"]:
        instant = datetime.fromisoformat(record["BeginDate"]).astimezone(timezone.utc)
        fuels = reports.setdefault(instant, {})
        for key, value in record.items():
            if key in LABEL_FUEL:
                fuels[LABEL_FUEL[key]] = fuels.get(LABEL_FUEL[key], 0.0) + value
    return reports


def floor5(instant: datetime) -> datetime:
    return instant.replace(minute=instant.minute - instant.minute % 5, second=0, microsecond=0)


def expected_series(reports: Reports) -> dict[pd.Timestamp, dict[str, float]]:
    """The documented rule, written out plainly: the last report inside an interval, else the
    last report before it when at most 15 minutes old, else nothing."""
    instants = sorted(reports)
    series, start = {}, floor5(instants[0])
    while start <= floor5(instants[-1]):
        inside = [t for t in instants if start <= t < start + FIVE]
        before = [t for t in instants if t < start and start - t <= timedelta(minutes=15)]
        chosen = inside[-1] if inside else (before[-1] if before else None)
        if chosen is not None:
            series[pd.Timestamp(start)] = reports[chosen]
        start += FIVE
    return series


def series_of(result: ParseResult) -> dict[pd.Timestamp, dict[str, float]]:
    readings = result.readings
    return {ts: dict(zip(group["fuel"], group["mw"])) for ts, group in readings.groupby("timestamp")}


def starts(result: ParseResult) -> list[pd.Timestamp]:
    return sorted(result.readings["timestamp"].unique())


def consecutive(first: str, last: str) -> list[pd.Timestamp]:
    return list(pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="5min"))


# -- recorded web-service days -----------------------------------------------------------------

@pytest.mark.parametrize("day", DAYS)
def test_every_interval_takes_the_report_the_rule_names(shared_fixtures, day):
    body = recorded(shared_fixtures, f"genfuelmix_day_{day}.json")
    result = parse_bytes(body)
    reports = web_reports(body)
    expected = expected_series(reports)
    assert series_of(result) == expected
    # Counted as the rule says: reports beaten by a later one in their interval, carried intervals.
    own = {pd.Timestamp(floor5(t)) for t in reports}
    assert kinds(result) == {"merged_reports": len(reports) - len(own),
                             "filled_interval": len(set(expected) - own)}


def test_values_of_one_interval_read_from_the_file(shared_fixtures):
    """2024-01-01 00:00:14 EST is the first report: the interval 05:00Z, with its own numbers."""
    readings = parse_bytes(recorded(shared_fixtures, "genfuelmix_day_20240101.json")).readings
    at = readings[readings["timestamp"] == pd.Timestamp("2024-01-01T05:00Z")]
    assert dict(zip(at["fuel"], at["mw"])) == {
        "hydro": 1191, "gas": 5139, "nuclear": 3368, "other": 3, "biomass": 35 + 341 + 190, "wind": 46}


def test_spring_forward_day_has_no_duplicated_or_missing_interval(shared_fixtures):
    result = parse_bytes(recorded(shared_fixtures, "genfuelmix_day_20240310.json"))
    # 00:00 EST .. 23:50 EDT: a 23-hour day. 23:55 EDT has no report in the file (the last one
    # is at 23:54:41, in the 23:50 interval) and is not invented.
    assert starts(result) == consecutive("2024-03-10T05:00Z", "2024-03-11T03:50Z")
    assert len(starts(result)) == 23 * 12 - 1
    local = [t.tz_convert("America/New_York").strftime("%H:%M %Z") for t in starts(result)]
    jump = local.index("01:55 EST")
    assert local[jump + 1] == "03:00 EDT"


def test_two_consecutive_days_join_without_a_gap(shared_fixtures):
    bodies = [recorded(shared_fixtures, f"genfuelmix_day_{d}.json") for d in ("20240309", "20240310")]
    batch = validate("ISONE", ParseResult.concat(parse_bytes(b) for b in bodies),
                     datetime(2024, 3, 12, tzinfo=timezone.utc))
    # 03-09 starts at its first report (00:05:34 EST); its last (23:58:13) fills 23:55.
    assert starts(batch) == consecutive("2024-03-09T05:05Z", "2024-03-11T03:50Z")
    assert "duplicate_interval" not in kinds(batch)


def test_current_file_is_one_interval(shared_fixtures):
    result = parse_bytes(recorded(shared_fixtures, "genfuelmix_current_2024-11-25.json"))
    assert series_of(result) == {pd.Timestamp("2024-11-25T21:05Z"): {  # 16:07:59 EST
        "hydro": 849, "gas": 8586, "nuclear": 3351, "oil": 22, "other": 5, "biomass": 330 + 256,
        "solar": 3, "wind": 637}}
    assert result.anomalies == []


# -- hand-written samples ----------------------------------------------------------------------

def test_fall_back_day_has_no_duplicated_or_missing_interval():
    body = (SAMPLES / FALL_BACK).read_bytes()
    result = parse_bytes(body)
    assert starts(result) == consecutive("2024-11-03T04:40Z", "2024-11-03T07:15Z")  # 32 intervals
    assert series_of(result) == expected_series(web_reports(body))
    nuclear = result.readings[result.readings["fuel"] == "nuclear"].set_index("timestamp")["mw"]
    # 01:00 EDT and 01:00 EST are an hour apart and hold different reports.
    assert nuclear[pd.Timestamp("2024-11-03T05:00Z")] == 3004  # 01:01:30-04:00
    assert nuclear[pd.Timestamp("2024-11-03T06:00Z")] == 3017  # 01:01:05-05:00
    assert nuclear[pd.Timestamp("2024-11-03T05:20Z")] == 3009  # 05:22:58 beat 05:21:20
    assert nuclear[pd.Timestamp("2024-11-03T06:10Z")] == 3018  # no report: 06:06:20's carried
    assert kinds(result) == {"merged_reports": 1, "filled_interval": 4}


def test_a_later_report_wins_as_a_whole():
    """The later report of an interval replaces the earlier one whole: coal, listed only in the
    earlier one, is not carried over into a mix it was not part of."""
    rows = [{"BeginDate": "2024-11-25T10:00:10.000-05:00", "GenMw": 5, "FuelCategory": "Coal"},
            {"BeginDate": "2024-11-25T10:00:10.000-05:00", "GenMw": 100, "FuelCategory": "Wind"},
            {"BeginDate": "2024-11-25T10:03:00.000-05:00", "GenMw": 90, "FuelCategory": "Wind"}]
    result = parse_doc({"GenFuelMixes": {"GenFuelMix": rows}})
    assert series_of(result) == {pd.Timestamp("2024-11-25T15:00Z"): {"wind": 90}}


def test_wsclient_chart_answer():
    body = (SAMPLES / WSCLIENT).read_bytes()
    result = parse_bytes(body, "https://www.iso-ne.com/ws/wsclient")
    reports = chart_reports(body)
    assert series_of(result) == expected_series(reports)
    assert starts(result) == consecutive("2024-11-25T21:00Z", "2024-11-25T21:15Z")
    at_1605 = series_of(result)[pd.Timestamp("2024-11-25T21:05Z")]
    assert at_1605 == {"gas": 8586, "nuclear": 3351, "hydro": 849, "wind": 637, "solar": 3, "oil": 22,
                       "other": 5, "coal": 2, "biomass": 256 + 330 + 34}
    # The Renewables total is not a fuel: storing it would count wind, solar and biomass twice.
    record = next(r for r in json.loads(body)[0]["data"] if r["BeginDate"].startswith("2024-11-25T16:07"))
    assert sum(at_1605.values()) == sum(v for k, v in record.items() if k in LABEL_FUEL)
    assert "solar" not in series_of(result)[pd.Timestamp("2024-11-25T21:15Z")]
    assert result.anomalies == []


def test_wsclient_envelope_around_the_web_shape(shared_fixtures):
    body = recorded(shared_fixtures, "genfuelmix_current_2024-11-25.json")
    wrapped = json.dumps([{"data": json.loads(body), "namespace": "_nstmp_"}]).encode()
    pd.testing.assert_frame_equal(parse_bytes(wrapped).readings, parse_bytes(body).readings)


# -- odd input ---------------------------------------------------------------------------------

def web(*rows: tuple[str, str, object]) -> dict:
    return {"GenFuelMixes": {"GenFuelMix": [{"BeginDate": s, "FuelCategory": f, "GenMw": v} for s, f, v in rows]}}


def test_a_silence_longer_than_15_minutes_stays_a_gap():
    result = parse_doc(web(("2024-11-25T10:01:00.000-05:00", "Wind", 1),
                           ("2024-11-25T10:23:00.000-05:00", "Wind", 2)))
    # 10:05, 10:10, 10:15 are 4-14 minutes after the 10:01 report; 10:20 has its own.
    assert series_of(result) == {pd.Timestamp(f"2024-11-25T15:{m}Z"): {"wind": w}
                                 for m, w in (("00", 1), ("05", 1), ("10", 1), ("15", 1), ("20", 2))}
    result = parse_doc(web(("2024-11-25T10:01:00.000-05:00", "Wind", 1),
                           ("2024-11-25T10:33:00.000-05:00", "Wind", 2)))
    assert starts(result) == [pd.Timestamp(f"2024-11-25T15:{m}Z") for m in ("00", "05", "10", "15", "30")]
    assert kinds(result)["missing_interval"] == 2 and "15:20Z" in result.anomalies[-1].message


def test_unknown_label_is_kept_as_unknown_and_reported():
    result = parse_doc(web(("2024-11-25T10:01:00.000-05:00", "Wind", 10),
                           ("2024-11-25T10:01:00.000-05:00", "Fusion", 7),
                           ("2024-11-25T10:01:00.000-05:00", "Battery Storage", -3)))
    assert series_of(result) == {pd.Timestamp("2024-11-25T15:00Z"): {"wind": 10, "unknown": 7, "battery": -3}}
    assert kinds(result) == {"unknown_fuel": 1} and "Fusion" in result.anomalies[0].message


def test_repeated_fuel_in_one_report_keeps_the_last():
    result = parse_doc(web(("2024-11-25T10:01:00.000-05:00", "Wind", 10),
                           ("2024-11-25T10:01:00.000-05:00", "Wind", 12)))
    assert series_of(result) == {pd.Timestamp("2024-11-25T15:00Z"): {"wind": 12}}
    assert kinds(result) == {"duplicate_interval": 1}


def test_rows_without_offset_or_number_are_skipped_and_counted():
    result = parse_doc(web(("2024-11-25T10:01:00.000-05:00", "Wind", 10),
                           ("2024-11-25T10:01:00", "Hydro", 7),  # no offset: which hour?
                           ("2024-11-25T10:01:00.000-05:00", "Nuclear", "n/a"),
                           ("2024-11-25T10:01:00.000-05:00", "", 4)))
    assert series_of(result) == {pd.Timestamp("2024-11-25T15:00Z"): {"wind": 10}}
    assert kinds(result) == {"malformed_row": 3}


@pytest.mark.parametrize("doc", [{"GenFuelMixes": ""}, {"GenFuelMixes": {}}, {"GenFuelMixes": {"GenFuelMix": []}},
                                 [{"data": [], "namespace": "_nstmp_"}]])
def test_a_day_without_reports_is_an_empty_result(doc):
    result = parse_doc(doc)
    assert result.readings.empty and list(result.readings.columns) == ["region", "timestamp", "fuel", "mw"]


def test_a_single_row_object_is_read_as_a_list():
    result = parse_doc({"GenFuelMixes": {"GenFuelMix": {"BeginDate": "2024-11-25T10:01:00.000-05:00",
                                                        "FuelCategory": "Hydro", "GenMw": 5}}})
    assert series_of(result) == {pd.Timestamp("2024-11-25T15:00Z"): {"hydro": 5}}


@pytest.mark.parametrize("doc, message", [
    ({"FuelMixes": {"FuelMix": []}}, "no 'GenFuelMixes' object"),
    ({"GenFuelMixes": {"GenFuelMix": [{"BeginDate": "2024-01-01T00:00:14.000-05:00", "Mw": 1,
                                       "FuelCategory": "Hydro"}]}}, "lack 'GenMw'"),
    ({"GenFuelMixes": {"GenFuelMix": [{"Begin": "x", "Category": "Hydro", "GenMw": 1}]}},
     "lack 'BeginDate', 'FuelCategory'"),
    ({"GenFuelMixes": {"GenFuelMix": "none"}}, "not a list of objects"),
    ([{"data": [{"Date": "2024-11-25T16:02:10.000-05:00", "Wind": 5}]}], "lack 'BeginDate'"),
    ([], "empty list"),
    ([{"payload": []}], "no 'data'"),
    ("text", "top level: str"),
])
def test_changed_json_shape_is_a_parse_error_naming_what_is_missing(doc, message):
    with pytest.raises(ParseError, match=message):
        parse_doc(doc)


# -- fetch -------------------------------------------------------------------------------------

@pytest.fixture
def isone_server(fake_iso, monkeypatch):
    monkeypatch.setenv("ISONE_BASE_URL", f"{fake_iso.url}/api/v1.1")
    monkeypatch.setenv("ISONE_WSCLIENT_BASE_URL", f"{fake_iso.url}/ws")
    monkeypatch.delenv("ISONE_USERNAME", raising=False)
    monkeypatch.delenv("ISONE_PASSWORD", raising=False)
    return fake_iso


@pytest.fixture
def account(monkeypatch):
    monkeypatch.setenv("ISONE_USERNAME", "grid-watcher")
    monkeypatch.setenv("ISONE_PASSWORD", "s3cret-pw-41")
    return ("grid-watcher", "s3cret-pw-41")


def day_path(day: str) -> str:
    return f"/api/v1.1/genfuelmix/day/{day}"


NOON = datetime(2024, 11, 25, 17, 0, tzinfo=timezone.utc)            # 12:00 EST
JUST_AFTER_MIDNIGHT = datetime(2024, 11, 25, 5, 10, tzinfo=timezone.utc)  # 00:10 EST


def test_with_an_account_the_web_service_is_asked_for_json(isone_server, account, shared_fixtures):
    body = recorded(shared_fixtures, "genfuelmix_current_2024-11-25.json")
    isone_server.serve(day_path("20241125"), body, content_type="application/json")
    client = HttpClient()
    [payload] = isone.fetch_latest(client, NOON, NOON - timedelta(minutes=5))
    [request] = isone_server.requests
    assert (request.method, request.path) == ("GET", day_path("20241125"))
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"grid-watcher:s3cret-pw-41").decode()
    assert "s3cret" not in payload.name and client.errors == []
    assert isone.parse(payload).readings["timestamp"].unique().tolist() == [pd.Timestamp("2024-11-25T21:05Z")]


def test_without_an_account_the_public_form_is_posted(isone_server):
    body = (SAMPLES / WSCLIENT).read_bytes()
    isone_server.serve("/ws/wsclient", body, content_type="application/json")
    [payload] = isone.fetch_latest(HttpClient(), NOON, NOON - timedelta(minutes=5))
    [request] = isone_server.requests
    assert (request.method, request.path) == ("POST", "/ws/wsclient")
    assert request.form == {"_nstmp_requestType": ["genfuelmix"], "_nstmp_fuelType": ["all"],
                            "_nstmp_startDate": ["11/25/2024"], "_nstmp_endDate": ["11/25/2024"],
                            "_nstmp_twodays": ["false"], "_nstmp_showtwodays": ["false"]}
    assert "Authorization" not in request.headers
    assert len(isone.parse(payload).readings["timestamp"].unique()) == 4


def test_after_midnight_yesterday_is_fetched_too(isone_server):
    isone_server.serve("/ws/wsclient", b"[]")
    payloads = isone.fetch_latest(HttpClient(), JUST_AFTER_MIDNIGHT, None)
    assert [r.form["_nstmp_startDate"] for r in isone_server.requests] == [["11/25/2024"], ["11/24/2024"]]
    assert len(payloads) == 2


def test_todays_404_just_after_midnight_is_expected(isone_server, account):
    isone_server.serve(day_path("20241124"), b"{}")
    client = HttpClient()
    payloads = isone.fetch_latest(client, JUST_AFTER_MIDNIGHT, None)
    assert [r.path for r in isone_server.requests] == [day_path("20241125"), day_path("20241124")]
    assert len(payloads) == 1 and client.errors == []


def test_a_missing_day_later_on_is_a_noted_error(isone_server, account):
    isone_server.serve(day_path("20241125"), b"{}")
    client = HttpClient()
    payloads = isone.fetch_latest(client, NOON, None)  # never succeeded: yesterday is wanted too
    assert len(payloads) == 1
    assert len(client.errors) == 1 and "2024-11-24" in client.errors[0] and "404" in client.errors[0]


def test_a_username_without_password_falls_back_to_the_form_and_says_so(isone_server, monkeypatch, caplog):
    monkeypatch.setenv("ISONE_USERNAME", "grid-watcher")
    isone_server.serve("/ws/wsclient", b"[]")
    isone.fetch_latest(HttpClient(), NOON, NOON - timedelta(minutes=5))
    assert [r.method for r in isone_server.requests] == ["POST"]
    assert "only one of ISONE_USERNAME and ISONE_PASSWORD" in caplog.text


def test_nothing_fetched_is_a_fetch_error(isone_server, account):
    with pytest.raises(FetchError, match="404"):
        isone.fetch_latest(HttpClient(), NOON, None)


def test_refused_credentials_say_which_variables_to_check(isone_server, account):
    isone_server.serve(day_path("20241125"), b"Unauthorized", status=401)
    with pytest.raises(FetchError) as raised:
        isone.fetch_latest(HttpClient(), NOON, NOON - timedelta(minutes=5))
    assert "HTTP 401" in str(raised.value) and "ISONE_USERNAME" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_backfill_is_day_by_day_and_fails_as_a_whole(isone_server, account):
    assert isone.backfill_chunks(date(2024, 3, 9), date(2024, 3, 11)) == [
        (date(2024, 3, 9), date(2024, 3, 10)), (date(2024, 3, 10), date(2024, 3, 11))]
    isone_server.serve(day_path("20240309"), b"{}")
    with pytest.raises(FetchError, match="20240310"):
        isone.fetch_range(HttpClient(), date(2024, 3, 9), date(2024, 3, 11))
    isone_server.serve(day_path("20240310"), b"{}")
    assert len(isone.fetch_range(HttpClient(), date(2024, 3, 9), date(2024, 3, 11))) == 2


def test_module_contract():
    assert (isone.SOURCE, isone.REGION, isone.INTERVAL_MINUTES) == ("ISONE", "ISNE", 5)
    assert isone.FREQUENCY_MINUTES == 5 and isone.STALE_AFTER_MINUTES == 60
