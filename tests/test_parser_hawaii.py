"""Island Pulse (HI, Oahu): parse against the answers recorded in ../shared/fixtures/HI/ and a
hand-written day (tests/fixtures/HI/, see its README); fetch against a loopback server."""
from __future__ import annotations

import json
from itertools import pairwise
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import hawaii
from tests.conftest import HAND_WRITTEN

DAY_SAMPLE = HAND_WRITTEN / "HI" / "handwritten_islandpulse_mix_2019-06-01.json"
HALF_HOUR = pd.Timedelta(minutes=30)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def parse_path(path: Path) -> ParseResult:
    return hawaii.parse(Payload(body=path.read_bytes(), name=str(path)))


def parse_doc(doc: object) -> ParseResult:
    return hawaii.parse(Payload(body=json.dumps(doc).encode(), name="inline.json"))


def wide(result: ParseResult) -> pd.DataFrame:
    return result.readings.pivot(index="timestamp", columns="fuel", values="mw")


def kinds(result: ParseResult) -> dict[str, int]:
    return {a.kind: a.count for a in result.anomalies}


def expected(reading: dict) -> dict[str, float]:
    """The test's own mapping of one reading's keys to fuels."""
    return {"oil": reading["Fossil_Fuel"], "coal": reading["Coal"], "solar": reading["Solar"],
            "wind": reading["WindFarm"], "biomass": reading["Waste2Energy"] + reading["BioFuel"]}


def end_utc(stamp: str) -> pd.Timestamp:
    """The test's own reading of dateTime: Z is UTC, no offset is Hawaii time, UTC-10."""
    if stamp.endswith("Z"):
        return pd.Timestamp(stamp)
    return pd.Timestamp(stamp).tz_localize("UTC") + pd.Timedelta(hours=10)


def check_every_reading(result: ParseResult, readings: list[dict]) -> None:
    table = wide(result)
    assert len(table) == len(readings)
    for reading in readings:
        row = table.loc[end_utc(reading["dateTime"]) - HALF_HOUR]
        assert row.to_dict() == pytest.approx(expected(reading)), reading["dateTime"]


# -- recorded answers ---------------------------------------------------------------------

def test_latest_reading_of_2021(shared_fixtures) -> None:
    path = shared_fixtures / "HI" / "islandpulse_mix_latest_2021-11-16.json"
    result = parse_path(path)
    check_every_reading(result, json.loads(path.read_text()))
    # 00:30Z closes the half hour from 00:00Z (14:00-14:30 HST on the 15th).
    assert list(result.readings["timestamp"].unique()) == [utc("2021-11-16 00:00")]
    assert wide(result).loc[utc("2021-11-16 00:00"), "oil"] == 537.3
    assert result.anomalies == []


def test_2013_answer_mixes_a_utc_first_reading_with_hawaii_local_ones(shared_fixtures) -> None:
    """Hand-edited in its origin. The first dateTime is UTC with Z, the rest naive HST."""
    path = shared_fixtures / "HI" / "islandpulse_mix_2013-12-04.json"
    readings = json.loads(path.read_text())
    result = parse_path(path)
    check_every_reading(result, readings)
    starts = sorted(result.readings["timestamp"].unique())
    # 08:30, 09:00, 09:30 HST end the half hours from 18:00Z, 18:30Z, 19:00Z; 09:30Z ends 09:00Z.
    assert starts == [utc("2013-12-04 18:00"), utc("2013-12-04 18:30"), utc("2013-12-04 19:00"),
                      utc("2013-12-05 09:00")]
    local = [pd.Timestamp(r["dateTime"]) for r in readings[1:]]
    assert {a - b for a, b in pairwise(local)} == {HALF_HOUR}  # why the interval is 30 minutes


# -- a whole day (hand-written) -----------------------------------------------------------

def test_a_day_is_48_contiguous_half_hours_with_every_value() -> None:
    readings = json.loads(DAY_SAMPLE.read_text())
    result = parse_path(DAY_SAMPLE)
    check_every_reading(result, readings)
    table = wide(result)
    # 00:00 HST (10:00Z) closes the first half hour; 23:30 HST (09:30Z next day) the last.
    assert list(table.index) == list(pd.date_range(utc("2019-06-01 09:30"), periods=48, freq="30min"))
    assert list(table["oil"]) == [500.0 + k for k in range(48)]
    assert result.anomalies == []


@pytest.mark.parametrize("stamp, start", [
    ("2019-01-15 12:00:00", "2019-01-15 21:30"),
    ("2019-07-15 12:00:00", "2019-07-15 21:30"),  # no daylight saving in Hawaii
    ("2019-07-15T22:00:00.000Z", "2019-07-15 21:30"),
])
def test_hawaii_time_is_utc_minus_10_all_year(stamp: str, start: str) -> None:
    result = parse_doc([{"dateTime": stamp, "Solar": 1.0}])
    assert list(result.readings["timestamp"]) == [utc(start)]


# -- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    (b'{"error": "no data"}', "expected a list of readings, got \\['error'\\]"),
    (b"[1, 2]", "expected a list of readings"),
    (b'[{"time": "2021-11-16T00:30:00.000Z", "Solar": 1}]', "lack the key 'dateTime'"),
    (b'[{"dateTime": "2021-11-16T00:30:00.000Z"}]', "no fuel"),
])
def test_bad_bodies_raise_readable_parse_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        hawaii.parse(Payload(body=body, name="mix"))


def test_empty_list_is_an_empty_result() -> None:
    result = parse_doc([])
    assert result.readings.empty and result.anomalies == []


def test_unknown_key_is_kept_as_unknown_and_reported() -> None:
    result = parse_doc([{"dateTime": "2021-11-16T00:30:00.000Z", "Solar": 5, "Battery": -2}])
    assert wide(result).loc[utc("2021-11-16 00:00")].to_dict() == {"solar": 5, "unknown": -2}
    assert kinds(result) == {"unknown_fuel": 1} and "Battery" in result.anomalies[0].message


def test_same_instant_twice_keeps_the_later_entry() -> None:
    """The UTC first entry and a local entry naming the same instant."""
    result = parse_doc([{"dateTime": "2021-11-16T00:30:00.000Z", "Solar": 5},
                        {"dateTime": "2021-11-15 14:30:00", "Solar": 6}])
    assert list(result.readings["mw"]) == [6]
    assert kinds(result) == {"duplicate_interval": 1}


def test_odd_stamps_and_values_are_counted_not_crashed_on() -> None:
    result = parse_doc([{"dateTime": "2021-11-16T00:30:00.000Z", "Solar": "n/a", "Coal": 180},
                        {"dateTime": "2021-11-16T00:10:00.000Z", "Solar": 1},
                        {"dateTime": "yesterday", "Solar": 1},
                        {"dateTime": None, "Solar": 1}])
    assert wide(result).loc[utc("2021-11-16 00:00")].dropna().to_dict() == {"coal": 180}
    assert kinds(result) == {"bad_time": 2, "off_schedule_timestamp": 1, "missing_value": 1}


# -- fetch --------------------------------------------------------------------------------

@pytest.fixture
def hi_server(fake_iso, monkeypatch):
    monkeypatch.setenv("HI_BASE_URL", f"{fake_iso.url}/api")
    fake_iso.serve("/api/mix", DAY_SAMPLE.read_bytes(), content_type="application/json")
    return fake_iso


def dates(server) -> list[str]:
    assert {r.path for r in server.requests} <= {"/api/mix"}
    return [r.query["date"][0] for r in server.requests]


NOON_HST = datetime(2019, 6, 1, 22, 0, tzinfo=timezone.utc)


def test_latest_asks_for_today_in_hawaii(hi_server) -> None:
    payloads = hawaii.fetch_latest(HttpClient(), NOON_HST, NOON_HST - timedelta(minutes=30))
    assert dates(hi_server) == ["2019-06-01"]
    assert payloads[0].name.endswith("/api/mix?date=2019-06-01")
    assert hawaii.parse(payloads[0]).readings["timestamp"].nunique() == 48


@pytest.mark.parametrize("now, last_success", [
    (datetime(2019, 6, 2, 10, 20, tzinfo=timezone.utc), datetime(2019, 6, 2, 9, 50, tzinfo=timezone.utc)),
    (NOON_HST, None),
])
def test_latest_also_asks_for_yesterday_after_midnight_or_on_a_first_run(hi_server, now, last_success) -> None:
    hawaii.fetch_latest(HttpClient(), now, last_success)
    today = now.astimezone(hawaii.HAWAII).date()
    assert dates(hi_server) == [str(today - timedelta(days=1)), str(today)]


def test_one_day_failing_is_noted(fake_iso, monkeypatch) -> None:
    monkeypatch.setenv("HI_BASE_URL", f"{fake_iso.url}/api")
    fake_iso.serve("/api/mix", b"[]", fail_first=[404])
    client = HttpClient()
    payloads = hawaii.fetch_latest(client, NOON_HST, None)
    assert len(payloads) == 1 and len(client.errors) == 1
    assert "2019-05-31" in client.errors[0] and "404" in client.errors[0]


def test_nothing_fetched_is_a_fetch_error(fake_iso, monkeypatch) -> None:
    monkeypatch.setenv("HI_BASE_URL", f"{fake_iso.url}/api")
    with pytest.raises(FetchError, match="404"):
        hawaii.fetch_latest(HttpClient(), NOON_HST, None)


def test_backfill_is_one_request_per_hawaii_day(hi_server) -> None:
    assert hawaii.backfill_chunks(date(2019, 6, 1), date(2019, 6, 3)) == [
        (date(2019, 6, 1), date(2019, 6, 2)), (date(2019, 6, 2), date(2019, 6, 3))]
    payloads = hawaii.fetch_range(HttpClient(), date(2019, 6, 1), date(2019, 6, 3))
    assert dates(hi_server) == ["2019-06-01", "2019-06-02"] and len(payloads) == 2


def test_fetch_range_fails_as_a_whole(fake_iso, monkeypatch) -> None:
    monkeypatch.setenv("HI_BASE_URL", f"{fake_iso.url}/api")
    with pytest.raises(FetchError, match="404"):
        hawaii.fetch_range(HttpClient(), date(2019, 6, 1), date(2019, 6, 2))
