"""MISO real-time fuel mix: parse against recorded getfuelmix answers (one DOCTORED), replay a
day of captures, fetch against a loopback server."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import miso
from crawler.validate import validate

# The test's own reading of MISO's categories (not the parser's table).
CATEGORY_FUEL = {"Coal": "coal", "Natural Gas": "gas", "Nuclear": "nuclear", "Wind": "wind",
                 "Solar": "solar", "Other": "other"}
DAY_FOLDER = "getfuelmix_2024-01-15"


def parse_bytes(body: bytes, name: str = "getfuelmix.json"):
    return miso.parse(Payload(body=body, name=name))


def parse_doc(doc: object):
    return parse_bytes(json.dumps(doc).encode())


def recorded(shared_fixtures: Path, name: str) -> bytes:
    return (shared_fixtures / "MISO" / name).read_bytes()


def kinds(result) -> dict[str, int]:
    return {a.kind: a.count for a in result.anomalies}


def utc_of(interval_est: str) -> pd.Timestamp:
    """The test's own conversion: INTERVALEST is a fixed UTC-5 wall clock, interval start."""
    local = datetime.strptime(interval_est, "%Y-%m-%d %I:%M:%S %p")
    return pd.Timestamp(local + timedelta(hours=5), tz="UTC")


def expected_mix(doc: dict) -> tuple[pd.Timestamp, dict[str, float], float | None]:
    """(interval start, MW by fuel, net imports) read straight from a capture's JSON."""
    rows = doc["Fuel"]["Type"]
    start = utc_of(rows[0]["INTERVALEST"])
    fuels = {CATEGORY_FUEL[r["CATEGORY"]]: float(r["ACT"]) for r in rows if r["CATEGORY"] != "Imports"}
    imports = [float(r["ACT"]) for r in rows if r["CATEGORY"] == "Imports"]
    return start, fuels, imports[0] if imports else None


def mix_at(readings: pd.DataFrame, start: pd.Timestamp) -> dict[str, float]:
    at = readings[readings["timestamp"] == start]
    return dict(zip(at["fuel"], at["mw"]))


# -- single recorded captures ---------------------------------------------------------------

@pytest.mark.parametrize("name, start", [
    ("miso_getfuelmix_2022-09-06T0410EST_jqsorted.json", "2022-09-06T09:10Z"),
    ("miso_getfuelmix_2023-11-30T1245EST_imports-decimal_jqsorted.json", "2023-11-30T17:45Z"),
    ("miso_getfuelmix_2025-01-19T0220EST_negative-act_jqsorted.json", "2025-01-19T07:20Z"),
    ("miso_getfuelmix_2025-01-20T0645EST_jqsorted.json", "2025-01-20T11:45Z"),
])
def test_capture_values_match_the_file_at_its_utc_interval_start(shared_fixtures, name, start):
    body = recorded(shared_fixtures, name)
    result = parse_bytes(body)
    expected_start, fuels, _ = expected_mix(json.loads(body))
    assert expected_start == pd.Timestamp(start)  # 04:10 EST = 09:10Z: UTC-5, no DST in January
    assert mix_at(result.readings, expected_start) == fuels
    assert set(result.readings["timestamp"]) == {expected_start}
    assert result.anomalies == []


def test_imports_are_net_imports_with_decimals_not_generation(shared_fixtures):
    result = parse_bytes(recorded(shared_fixtures, "miso_getfuelmix_2023-11-30T1245EST_imports-decimal_jqsorted.json"))
    assert result.net_imports.to_dict("records") == [
        {"region": "MISO", "timestamp": pd.Timestamp("2023-11-30T17:45Z"), "mw": 4061.89}]
    assert "unknown" not in set(result.readings["fuel"])
    # The file's TotalMW includes the imports: generation alone is TotalMW - Imports.
    assert result.readings["mw"].sum() == pytest.approx(75512.89 - 4061.89)


def test_negative_values_are_kept_as_reported(shared_fixtures):
    result = parse_bytes(recorded(shared_fixtures, "miso_getfuelmix_2025-01-19T0220EST_negative-act_jqsorted.json"))
    assert mix_at(result.readings, pd.Timestamp("2025-01-19T07:20Z"))["other"] == -7.0
    assert result.net_imports["mw"].tolist() == [2288.0]


def test_error_body_is_a_parse_error(shared_fixtures):
    with pytest.raises(ParseError, match="API error: no data"):
        parse_bytes(recorded(shared_fixtures, "miso_getfuelmix_2024-12-07_error-no-data_jqsorted.json"))


def test_doctored_unknown_category_is_kept_as_unknown_and_reported(shared_fixtures):
    """The 2018 file is DOCTORED by its recorder: "Antimatter" (256 MW) is a fake category."""
    result = parse_bytes(recorded(shared_fixtures, "getfuelmix_2018-01-25_DOCTORED.json"))
    fuels = mix_at(result.readings, pd.Timestamp("2018-01-25T09:30Z"))
    assert fuels == {"coal": 40384.0, "gas": 14977.0, "nuclear": 12223.0, "wind": 2675.0,
                     "other": 531.0, "unknown": 256.0}
    assert kinds(result) == {"unknown_fuel": 1} and "Antimatter" in result.anomalies[0].message


def test_summer_stamps_are_still_utc_minus_5(shared_fixtures):
    """MISO writes EST all year: a July 06:45 is 11:45Z, not 10:45Z as Eastern (EDT) would give."""
    text = recorded(shared_fixtures, "miso_getfuelmix_2025-01-20T0645EST_jqsorted.json").decode()
    july = text.replace("2025-01-20", "2025-07-20").replace("20-Jan-2025", "20-Jul-2025")
    readings = parse_bytes(july.encode()).readings
    assert set(readings["timestamp"]) == {pd.Timestamp("2025-07-20T11:45Z")}


# -- a day of captures replayed in order ------------------------------------------------------

def captures(shared_fixtures: Path) -> list[Path]:
    return sorted((shared_fixtures / "MISO" / DAY_FOLDER).glob("captured_*Z.json"))


def test_replaying_a_day_of_captures_builds_its_series(shared_fixtures):
    files = captures(shared_fixtures)
    assert len(files) == 84
    docs = [json.loads(f.read_bytes()) for f in files]
    # A revision: the last capture's interval captured once more, later, with other values.
    revised = json.loads(json.dumps(docs[-1]))
    for row in revised["Fuel"]["Type"]:
        row["ACT"] = str(float(row["ACT"]) + 1)
    bodies = [f.read_bytes() for f in files] + [json.dumps(revised).encode()]
    batch = validate("MISO", ParseResult.concat(parse_bytes(b) for b in bodies),
                     datetime(2024, 1, 16, tzinfo=timezone.utc))

    expected: dict[pd.Timestamp, dict[str, float]] = {}
    for doc in docs + [revised]:  # in capture order: a later capture of an interval wins
        start, fuels, _ = expected_mix(doc)
        expected[start] = fuels
    starts = sorted(batch.readings["timestamp"].unique())
    assert starts == sorted(expected) and len(starts) == 84
    assert starts[0] == pd.Timestamp("2024-01-15T00:50Z") and starts[-1] == pd.Timestamp("2024-01-15T23:45Z")
    for start, fuels in expected.items():
        assert mix_at(batch.readings, start) == fuels
    assert mix_at(batch.readings, starts[-1])["coal"] == float(docs[-1]["Fuel"]["Type"][0]["ACT"]) + 1
    # The revision replaced one interval's 6 fuels; night-time solar of -1 MW is kept as reported.
    assert kinds(batch)["duplicate_interval"] == 6
    assert set(kinds(batch)) == {"duplicate_interval", "negative_generation"}


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("doc, missing", [
    ({"RefId": "x", "Fuel": {"Types": []}}, "'Fuel.Type'"),
    ({"RefId": "x", "fuel": {"Type": []}}, "'Fuel'"),
    ([{"CATEGORY": "Coal"}], "top level is list"),
    ({"Fuel": {"Type": [{"INTERVALEST": "2025-01-20 6:45:00 AM", "CATEGORY": "Coal", "ACTUAL": "1"}]}}, "lack 'ACT'"),
    ({"Fuel": {"Type": [{"IntervalEST": "2025-01-20 6:45:00 AM", "Category": "Coal", "ACT": "1"}]}},
     "lack 'INTERVALEST', 'CATEGORY'"),
    ({"Fuel": {"Type": "none"}}, "not a list of objects"),
])
def test_changed_json_shape_is_a_parse_error_naming_what_is_missing(doc, missing):
    with pytest.raises(ParseError, match=missing):
        parse_doc(doc)


def row(category: str, act: str, stamp: str = "2025-01-20 6:45:00 AM") -> dict:
    return {"INTERVALEST": stamp, "CATEGORY": category, "ACT": act}


def test_a_category_repeated_in_one_capture_keeps_the_last():
    result = parse_doc({"Fuel": {"Type": [row("Coal", "10"), row("Wind", "5"), row("Coal", "12")]}})
    assert mix_at(result.readings, pd.Timestamp("2025-01-20T11:45Z")) == {"coal": 12.0, "wind": 5.0}
    assert kinds(result) == {"duplicate_interval": 1}


def test_unreadable_rows_are_skipped_and_counted():
    result = parse_doc({"Fuel": {"Type": [row("Coal", "10"), row("Wind", "n/a"), row("Solar", "3", "yesterday"),
                                          row("", "4"), row("Nuclear", "7", "2025-01-20 6:47:00 AM")]}})
    assert mix_at(result.readings, pd.Timestamp("2025-01-20T11:45Z")) == {"coal": 10.0}
    assert kinds(result) == {"malformed_row": 3, "off_schedule_timestamp": 1}


def test_a_single_category_object_is_read_as_a_list():
    result = parse_doc({"Fuel": {"Type": row("Nuclear", "11909")}})
    assert mix_at(result.readings, pd.Timestamp("2025-01-20T11:45Z")) == {"nuclear": 11909.0}


def test_an_empty_category_list_is_an_empty_result():
    result = parse_doc({"RefId": "20-Jan-2025 - Interval 06:45 EST", "Fuel": {"Type": []}})
    assert result.readings.empty and result.net_imports.empty and result.anomalies == []


def test_a_refid_in_another_zone_is_refused():
    doc = {"RefId": "20-Jul-2025 - Interval 06:45 EDT", "Fuel": {"Type": [row("Coal", "1")]}}
    with pytest.raises(ParseError, match="EDT, not EST"):
        parse_doc(doc)


def test_hydro_and_storage_categories_when_miso_adds_them():
    result = parse_doc({"Fuel": {"Type": [row("Hydro", "900"), row("Storage", "-40")]}})
    assert mix_at(result.readings, pd.Timestamp("2025-01-20T11:45Z")) == {"hydro": 900.0, "battery": -40.0}
    assert result.anomalies == []


# -- fetch ------------------------------------------------------------------------------------

@pytest.fixture
def miso_server(fake_iso, monkeypatch):
    monkeypatch.setenv("MISO_BASE_URL", fake_iso.url)
    return fake_iso


def test_fetch_latest_asks_for_the_json_fuel_mix(miso_server, shared_fixtures):
    body = recorded(shared_fixtures, "miso_getfuelmix_2025-01-20T0645EST_jqsorted.json")
    miso_server.serve("/DataBrokerServices.asmx", body, content_type="application/json")
    now = datetime(2025, 1, 20, 11, 52, tzinfo=timezone.utc)
    [payload] = miso.fetch_latest(HttpClient(), now, now - timedelta(minutes=1))
    [request] = miso_server.requests
    assert request.path == "/DataBrokerServices.asmx"
    assert request.query == {"messageType": ["getfuelmix"], "returnType": ["json"]}
    assert payload.body == body and "messageType=getfuelmix" in payload.name
    assert miso.parse(payload).readings["timestamp"].unique().tolist() == [pd.Timestamp("2025-01-20T11:45Z")]


def test_fetch_latest_failure_is_a_fetch_error(miso_server):
    with pytest.raises(FetchError, match="404"):
        miso.fetch_latest(HttpClient(), datetime(2025, 1, 20, tzinfo=timezone.utc), None)


def test_there_is_no_backfill():
    assert miso.backfill_chunks(date(2025, 1, 1), date(2025, 2, 1)) == []
    with pytest.raises(FetchError, match="MISO real-time fuel mix has no history endpoint"):
        miso.fetch_range(HttpClient(), date(2025, 1, 1), date(2025, 1, 2))


def test_module_contract():
    assert (miso.SOURCE, miso.REGION, miso.INTERVAL_MINUTES) == ("MISO", "MISO", 5)
    assert miso.FREQUENCY_MINUTES <= miso.INTERVAL_MINUTES < miso.STALE_AFTER_MINUTES
