"""NYISO real-time fuel mix: parse against recorded NYISO files (and hand-written DST samples),
fetch against a loopback server."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import requests

from crawler.http import FetchError, HttpClient
from crawler.model import ParseError, Payload
from crawler.parsers import nyiso
from tests.conftest import HAND_WRITTEN

HEADER = "Time Stamp,Time Zone,Fuel Category,Gen MW"
# NYISO label -> our fuel; gas is the sum of the two gas labels.
SINGLE_LABELS = {"Nuclear": "nuclear", "Other Fossil Fuels": "oil", "Other Renewables": "biomass",
                 "Wind": "wind", "Hydro": "hydro"}
FUELS_PER_INTERVAL = {"gas", *SINGLE_LABELS.values()}
ON_GRID = re.compile(r"^\d\d/\d\d/\d{4} \d\d:\d[05](:00)?$")


def parse_bytes(body: bytes, name: str = "test.csv"):
    return nyiso.parse(Payload(body=body, name=name))


def parse_text(text: str):
    return parse_bytes(text.encode())


def csv_rows(text: str) -> list[dict[str, str]]:
    """The file read with the csv module, independently of the parser."""
    return list(csv.DictReader(io.StringIO(text)))


def expected_fuels(rows: list[dict[str, str]], stamp: str) -> dict[str, float]:
    """The per-fuel MW the parser should produce for one stamp, straight from the CSV rows."""
    value_column = "Gen MW" if "Gen MW" in rows[0] else "Gen MWh"
    by_label = {r["Fuel Category"]: float(r[value_column]) for r in rows if r["Time Stamp"] == stamp}
    fuels = {fuel: by_label[label] for label, fuel in SINGLE_LABELS.items()}
    fuels["gas"] = by_label["Dual Fuel"] + by_label["Natural Gas"]
    return fuels


def fuels_at(readings: pd.DataFrame, start: str) -> dict[str, float]:
    at = readings[readings["timestamp"] == pd.Timestamp(start)]
    return dict(zip(at["fuel"], at["mw"]))


def kinds(result) -> dict[str, int]:
    return {a.kind: a.count for a in result.anomalies}


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# -- real daily files ---------------------------------------------------------------------

@pytest.mark.parametrize("stamp, start", [
    ("02/19/2025 00:05:00", "2025-02-19T05:00Z"),  # first stamp of the file: local 00:00-00:05 EST
    ("02/19/2025 12:00:00", "2025-02-19T16:55Z"),
    ("02/20/2025 00:00:00", "2025-02-20T04:55Z"),  # last stamp: closes local 23:55-24:00
])
def test_values_match_the_csv_at_interval_start_in_utc(shared_fixtures, stamp, start):
    text = (shared_fixtures / "NYISO" / "20250219rtfuelmix.csv").read_text()
    result = parse_text(text)
    assert fuels_at(result.readings, start) == expected_fuels(csv_rows(text), stamp)


def test_old_2016_file_with_gen_mwh_header_and_stamps_without_seconds(shared_fixtures):
    text = (shared_fixtures / "NYISO" / "20160119rtfuelmix.csv").read_text()
    assert text.startswith("Time Stamp,Time Zone,Fuel Category,Gen MWh")
    readings, rows = parse_text(text).readings, csv_rows(text)
    assert fuels_at(readings, "2016-01-19T05:00Z") == expected_fuels(rows, "01/19/2016 00:05")
    assert fuels_at(readings, "2016-01-19T22:30Z") == expected_fuels(rows, "01/19/2016 17:35")


@pytest.mark.parametrize("name, day", [
    ("20250219rtfuelmix.csv", "2025-02-19"),
    ("20250220rtfuelmix.csv", "2025-02-20"),
    ("20160119rtfuelmix.csv", "2016-01-19"),
])
def test_a_day_is_288_intervals_from_local_midnight_each_with_every_fuel(shared_fixtures, name, day):
    readings = parse_bytes((shared_fixtures / "NYISO" / name).read_bytes()).readings
    starts = readings["timestamp"].drop_duplicates().sort_values()
    midnight = pd.Timestamp(f"{day}T00:00", tz="America/New_York").tz_convert("UTC")
    assert list(starts) == list(pd.date_range(midnight, periods=288, freq="5min"))
    assert (readings.groupby("timestamp")["fuel"].apply(frozenset) == frozenset(FUELS_PER_INTERVAL)).all()


@pytest.mark.parametrize("name", ["20250219rtfuelmix.csv", "20250220rtfuelmix.csv", "20160119rtfuelmix.csv"])
def test_off_schedule_stamps_are_dropped_and_counted_once(shared_fixtures, name):
    text = (shared_fixtures / "NYISO" / name).read_text()
    stamps = {r["Time Stamp"] for r in csv_rows(text)}
    off_grid = {s for s in stamps if not ON_GRID.match(s)}
    result = parse_text(text)
    off = [a for a in result.anomalies if a.kind == "off_schedule_timestamp"]
    assert len(off) == 1 and off[0].count == len(off_grid)
    assert result.readings["timestamp"].nunique() == len(stamps) - len(off_grid)
    if name == "20250219rtfuelmix.csv":
        assert (len(stamps), len(off_grid)) == (300, 12)


# -- real monthly zip ---------------------------------------------------------------------

def zip_members(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n).decode() for n in archive.namelist()}


def test_monthly_zip_holds_every_on_grid_stamp_of_its_20_days(shared_fixtures):
    path = shared_fixtures / "NYISO" / "20250201rtfuelmix_csv.days01-20.zip"
    members = zip_members(path)
    stamps = {r["Time Stamp"] for text in members.values() for r in csv_rows(text)}
    on_grid = {s for s in stamps if ON_GRID.match(s)}
    result = parse_bytes(path.read_bytes(), path.name)
    starts = result.readings["timestamp"].drop_duplicates()
    assert len(members) == 20 and len(starts) == len(on_grid)
    assert starts.min() == utc("2025-02-01T05:00Z") and starts.max() == utc("2025-02-21T04:55Z")
    # The real files lack six on-grid stamps (e.g. 02/03 23:50, 02/10 15:05 came at 15:05:01):
    # 20 x 288 minus those, each reported rather than invented.
    assert kinds(result)["missing_interval"] == 20 * 288 - len(on_grid) == 6
    assert kinds(result)["off_schedule_timestamp"] == len(stamps) - len(on_grid)
    assert len([a for a in result.anomalies if a.kind == "off_schedule_timestamp"]) == 1


def test_a_day_read_from_the_zip_equals_the_daily_file(shared_fixtures):
    archive = shared_fixtures / "NYISO" / "20250201rtfuelmix_csv.days01-20.zip"
    from_zip = parse_bytes(archive.read_bytes()).readings
    daily = parse_bytes((shared_fixtures / "NYISO" / "20250219rtfuelmix.csv").read_bytes()).readings
    same_day = from_zip[from_zip["timestamp"].between(daily["timestamp"].min(), daily["timestamp"].max())]
    pd.testing.assert_frame_equal(same_day.reset_index(drop=True), daily)


# -- daylight saving (hand-written samples) -------------------------------------------------

def dst_sample(name: str) -> str:
    return (HAND_WRITTEN / "NYISO" / name).read_text()


FALL_BACK = "handwritten_20241103_fall_back_rtfuelmix.csv"
SPRING_FORWARD = "handwritten_20250309_spring_forward_rtfuelmix.csv"


@pytest.mark.parametrize("boundary", [None, ("11/03/2024 01:00:00,EST", "11/03/2024 02:00:00,EDT")])
def test_fall_back_day_has_no_duplicated_or_missing_utc_interval(boundary):
    text = dst_sample(FALL_BACK)
    if boundary:  # the other way NYISO could label the stamp that closes 01:55-02:00 EDT
        text = text.replace(*boundary)
    readings = parse_text(text).readings
    nuclear = readings[readings["fuel"] == "nuclear"].sort_values("timestamp")
    expected = pd.date_range("2024-11-03T04:45Z", "2024-11-03T07:05Z", freq="5min")
    assert list(nuclear["timestamp"]) == list(expected)
    # Values count up one per row of the file: each row landed on its own interval, in order.
    assert list(nuclear["mw"]) == [3000.0 + i for i in range(29)]
    # Local 01:05 appears twice: first EDT (05:05Z, closes 05:00Z), then EST (06:05Z).
    assert fuels_at(readings, "2024-11-03T05:00Z")["nuclear"] == 3003.0
    assert fuels_at(readings, "2024-11-03T06:00Z")["nuclear"] == 3015.0


@pytest.mark.parametrize("boundary", [None, ("03/09/2025 03:00:00,EDT", "03/09/2025 02:00:00,EST")])
def test_spring_forward_day_has_no_duplicated_or_missing_utc_interval(boundary):
    text = dst_sample(SPRING_FORWARD)
    if boundary:
        text = text.replace(*boundary)
    readings = parse_text(text).readings
    wind = readings[readings["fuel"] == "wind"].sort_values("timestamp")
    expected = pd.date_range("2025-03-09T06:25Z", "2025-03-09T07:25Z", freq="5min")
    assert list(wind["timestamp"]) == list(expected)
    assert list(wind["mw"]) == [100.0 + i for i in range(13)]


# -- bad input ----------------------------------------------------------------------------

def test_truncated_download_keeps_complete_intervals_and_says_so(shared_fixtures):
    text = (shared_fixtures / "NYISO" / "20250219rtfuelmix.csv").read_text()
    cut = text.index("02/19/2025 12:00:00,EST,Natural Gas") + len("02/19/2025 12:00:00,EST,Natu")
    result = parse_text(text[:cut])
    starts = result.readings["timestamp"].drop_duplicates()
    # 00:05 .. 11:55 are complete; 12:00 (Dual Fuel only, then a cut row) is dropped.
    assert starts.max() == utc("2025-02-19T16:50Z") and len(starts) == 143
    last_complete = expected_fuels(csv_rows(text), "02/19/2025 11:55:00")
    assert fuels_at(result.readings, "2025-02-19T16:50Z") == last_complete
    assert kinds(result)["truncated"] == 1 and kinds(result)["incomplete_interval"] == 1


def test_a_whole_file_ends_without_a_line_break_and_keeps_its_last_row(shared_fixtures):
    """NYISO's files end without a line break, so that is no sign of a cut: the last value,
    written with its decimal (1709.0), says the row is whole."""
    text = (shared_fixtures / "NYISO" / "20250219rtfuelmix.csv").read_text()
    assert text.endswith("02/20/2025 00:00:00,EST,Hydro,1709.0")
    result = parse_text(text)
    assert fuels_at(result.readings, "2025-02-20T04:55Z")["hydro"] == 1709.0
    assert "truncated" not in kinds(result)


@pytest.mark.parametrize("kept", ["1", "17", "170", "1709", "1709."])
def test_a_last_value_cut_short_is_not_read_as_a_smaller_number(shared_fixtures, kept):
    """A download that stops inside the last value (1709.0 arriving as 1, 17, ... 1709.) leaves
    that row out, so the last interval lacks a fuel and is dropped: never 1 MW of hydro."""
    text = (shared_fixtures / "NYISO" / "20250219rtfuelmix.csv").read_text()
    result = parse_text(text.removesuffix("1709.0") + kept)
    starts = result.readings["timestamp"].drop_duplicates()
    assert starts.max() == utc("2025-02-20T04:50Z") and len(starts) == 287
    assert fuels_at(result.readings, "2025-02-20T04:50Z") == expected_fuels(csv_rows(text), "02/19/2025 23:55:00")
    assert kinds(result)["truncated"] == 1 and kinds(result)["incomplete_interval"] == 1


def test_download_cut_between_rows_drops_the_half_listed_last_interval(shared_fixtures):
    text = (shared_fixtures / "NYISO" / "20250219rtfuelmix.csv").read_text()
    cut = text.index("02/19/2025 12:00:00,EST,Natural Gas")
    result = parse_text(text[:cut])
    assert result.readings["timestamp"].max() == utc("2025-02-19T16:50Z")
    off_grid = {r["Time Stamp"] for r in csv_rows(text[:cut]) if not ON_GRID.match(r["Time Stamp"])}
    assert kinds(result) == {"off_schedule_timestamp": len(off_grid), "incomplete_interval": 1}


@pytest.mark.parametrize("header, missing", [
    ("Time Stamp,Fuel Category,Gen MW", "'Time Zone'"),
    ("Time Stamp,Time Zone,Fuel Category,MW", "'Gen MW'"),
    ("Timestamp,Time Zone,Fuel,Gen MW", "'Time Stamp', 'Fuel Category'"),
])
def test_missing_column_is_a_parse_error_naming_it(header, missing):
    with pytest.raises(ParseError, match=f"missing column\\(s\\) {missing}"):
        parse_text(f"{header}\n02/19/2025 00:05:00,EST,Wind,5.0\n")


def test_unknown_fuel_label_is_kept_as_unknown_and_reported():
    # Hand-written: a label NYISO does not use today.
    result = parse_text(f"{HEADER}\n02/19/2025 00:05:00,EST,Wind,10.0\n"
                        "02/19/2025 00:05:00,EST,Battery Storage,-3.0\n")
    assert fuels_at(result.readings, "2025-02-19T05:00Z") == {"wind": 10.0, "unknown": -3.0}
    assert kinds(result) == {"unknown_fuel": 1}
    assert "Battery Storage" in result.anomalies[0].message


def test_repeated_row_keeps_the_last_value_and_reports_it():
    result = parse_text(f"{HEADER}\n02/19/2025 00:05:00,EST,Wind,10.0\n02/19/2025 00:05:00,EST,Hydro,7.0\n"
                        "02/19/2025 00:05:00,EST,Wind,12.0\n")
    assert fuels_at(result.readings, "2025-02-19T05:00Z") == {"wind": 12.0, "hydro": 7.0}
    assert kinds(result) == {"duplicate_interval": 1}


def test_dual_fuel_and_natural_gas_are_summed_into_gas():
    result = parse_text(f"{HEADER}\n02/19/2025 00:05:00,EST,Dual Fuel,100.0\n"
                        "02/19/2025 00:05:00,EST,Natural Gas,23.5\n")
    assert fuels_at(result.readings, "2025-02-19T05:00Z") == {"gas": 123.5}


def test_unreadable_rows_are_skipped_and_counted():
    result = parse_text(f"{HEADER}\n02/19/2025 00:05:00,EST,Wind,10.0\n02/19/2025 00:05:00,XST,Hydro,7.0\n"
                        "02/19/2025 00:05:00,EST,Nuclear,n/a\n2025-02-19 00:05,EST,Hydro,7.0\n"
                        "02/19/2025 00:05:00,EST,Other Fossil Fuels,1.0\n")
    assert fuels_at(result.readings, "2025-02-19T05:00Z") == {"wind": 10.0, "oil": 1.0}
    # The Nuclear row names its interval and fuel but no readable value: a missing value
    # (nuclear has no value anywhere in this body, so it is no rejected cell either).
    assert kinds(result) == {"malformed_row": 2, "missing_value": 1}
    assert result.rejected.empty


def test_a_fuel_part_without_a_value_rejects_the_fuel_not_the_sum_of_its_other_parts():
    # Natural Gas has a value at 00:05, so its "nan" at 00:10 is a missing part of gas: gas is
    # rejected there rather than stored as Dual Fuel alone.
    result = parse_text(f"{HEADER}\n02/19/2025 00:05:00,EST,Dual Fuel,100.0\n02/19/2025 00:05:00,EST,Natural Gas,23.5\n"
                        "02/19/2025 00:10:00,EST,Dual Fuel,101.0\n02/19/2025 00:10:00,EST,Natural Gas,nan\n"
                        "02/19/2025 00:10:00,EST,Wind,5.0\n")
    assert fuels_at(result.readings, "2025-02-19T05:00Z") == {"gas": 123.5}
    assert fuels_at(result.readings, "2025-02-19T05:05Z") == {"wind": 5.0}
    assert result.rejected.to_dict("records") == [{"region": "NYIS", "timestamp": utc("2025-02-19T05:05Z"),
                                                   "fuel": "gas", "kind": "missing_value"}]


def test_an_absurd_part_makes_the_folded_fuel_take_its_value_for_validation_to_reject():
    result = parse_text(f"{HEADER}\n02/19/2025 00:05:00,EST,Dual Fuel,4091.0\n"
                        "02/19/2025 00:05:00,EST,Natural Gas,1e308\n02/19/2025 00:10:00,EST,Dual Fuel,4000.0\n"
                        "02/19/2025 00:10:00,EST,Natural Gas,inf\n")
    assert fuels_at(result.readings, "2025-02-19T05:00Z") == {"gas": 1e308}
    assert fuels_at(result.readings, "2025-02-19T05:05Z") == {"gas": float("inf")}


def test_header_only_is_an_empty_result():
    result = parse_text(HEADER + "\r\n")
    assert result.readings.empty and list(result.readings.columns) == ["region", "timestamp", "fuel", "mw"]
    assert result.anomalies == []


def test_broken_zip_is_a_parse_error(shared_fixtures):
    body = (shared_fixtures / "NYISO" / "20250201rtfuelmix_csv.days01-20.zip").read_bytes()
    with pytest.raises(ParseError, match="unreadable zip"):
        parse_bytes(body[:5000])


def test_zip_without_csv_is_a_parse_error():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "nothing here")
    with pytest.raises(ParseError, match="no CSV"):
        parse_bytes(buffer.getvalue())


# -- fetch --------------------------------------------------------------------------------

@pytest.fixture
def nyiso_server(fake_iso, monkeypatch):
    monkeypatch.setenv("NYISO_BASE_URL", fake_iso.url)
    return fake_iso


def served_day(server, day: str, body: bytes = b"") -> None:
    server.serve(f"/{day}rtfuelmix.csv", body or f"{HEADER}\n".encode())


def requested(server) -> list[str]:
    return [r.path for r in server.requests]


JUST_AFTER_MIDNIGHT = datetime(2025, 2, 19, 5, 10, tzinfo=timezone.utc)  # 00:10 EST
NOON = datetime(2025, 2, 19, 17, 0, tzinfo=timezone.utc)


def test_latest_fetches_today_only_after_a_recent_success(nyiso_server, shared_fixtures):
    body = (shared_fixtures / "NYISO" / "20250219rtfuelmix.csv").read_bytes()
    served_day(nyiso_server, "20250219", body)
    client = HttpClient()
    payloads = nyiso.fetch_latest(client, NOON, NOON - timedelta(minutes=5))
    assert requested(nyiso_server) == ["/20250219rtfuelmix.csv"]
    assert [p.body for p in payloads] == [body] and payloads[0].name.endswith("/20250219rtfuelmix.csv")
    assert client.errors == []


def test_latest_also_fetches_yesterday_when_its_end_may_be_missing(nyiso_server):
    served_day(nyiso_server, "20250218")
    served_day(nyiso_server, "20250219")
    last_success = datetime(2025, 2, 19, 5, 4, tzinfo=timezone.utc)  # 00:04 EST, before 00:20
    payloads = nyiso.fetch_latest(HttpClient(), NOON, last_success)
    assert requested(nyiso_server) == ["/20250219rtfuelmix.csv", "/20250218rtfuelmix.csv"]
    assert len(payloads) == 2


def test_todays_404_just_after_midnight_is_expected(nyiso_server):
    served_day(nyiso_server, "20250218")
    client = HttpClient()
    payloads = nyiso.fetch_latest(client, JUST_AFTER_MIDNIGHT, None)
    assert len(payloads) == 1 and payloads[0].name.endswith("/20250218rtfuelmix.csv")
    assert client.errors == []


def test_one_missing_file_later_in_the_day_is_a_noted_error(nyiso_server):
    served_day(nyiso_server, "20250218")
    client = HttpClient()
    payloads = nyiso.fetch_latest(client, NOON, None)
    assert len(payloads) == 1
    assert len(client.errors) == 1 and "2025-02-19" in client.errors[0] and "404" in client.errors[0]


def test_nothing_fetched_is_a_fetch_error(nyiso_server):
    with pytest.raises(FetchError, match="404"):
        nyiso.fetch_latest(HttpClient(), JUST_AFTER_MIDNIGHT, None)


@pytest.fixture
def today_is_2025_03_15(monkeypatch):
    monkeypatch.setattr(nyiso, "local_today", lambda: date(2025, 3, 15))


def test_backfill_uses_month_zips_once_settled_and_days_after(today_is_2025_03_15):
    chunks = nyiso.backfill_chunks(date(2025, 1, 15), date(2025, 3, 4))
    # January and February ended 10+ days before 2025-03-15; March is still being written.
    assert chunks == [
        (date(2025, 1, 15), date(2025, 2, 1)),
        (date(2025, 2, 1), date(2025, 3, 1)),
        (date(2025, 3, 1), date(2025, 3, 2)),
        (date(2025, 3, 2), date(2025, 3, 3)),
        (date(2025, 3, 3), date(2025, 3, 4)),
    ]


def test_a_month_that_ended_under_10_days_ago_is_fetched_day_by_day(monkeypatch):
    monkeypatch.setattr(nyiso, "local_today", lambda: date(2025, 3, 5))
    assert nyiso.backfill_chunks(date(2025, 2, 26), date(2025, 3, 1)) == [
        (date(2025, 2, 26), date(2025, 2, 27)), (date(2025, 2, 27), date(2025, 2, 28)),
        (date(2025, 2, 28), date(2025, 3, 1))]


def test_fetch_range_gets_the_zip_for_a_settled_month(nyiso_server, shared_fixtures, today_is_2025_03_15):
    body = (shared_fixtures / "NYISO" / "20250201rtfuelmix_csv.days01-20.zip").read_bytes()
    nyiso_server.serve("/20250201rtfuelmix_csv.zip", body)
    payloads = nyiso.fetch_range(HttpClient(), date(2025, 2, 1), date(2025, 3, 1))
    assert requested(nyiso_server) == ["/20250201rtfuelmix_csv.zip"]
    assert nyiso.parse(payloads[0]).readings["timestamp"].nunique() == 20 * 288 - 6


def test_fetch_range_gets_daily_files_for_recent_days(nyiso_server, today_is_2025_03_15):
    for day in ("20250303", "20250304"):
        served_day(nyiso_server, day)
    payloads = nyiso.fetch_range(HttpClient(), date(2025, 3, 3), date(2025, 3, 5))
    assert requested(nyiso_server) == ["/20250303rtfuelmix.csv", "/20250304rtfuelmix.csv"]
    assert len(payloads) == 2


def test_fetch_range_fails_as_a_whole_when_a_file_is_missing(nyiso_server, today_is_2025_03_15):
    served_day(nyiso_server, "20250303")
    with pytest.raises(FetchError, match="404"):
        nyiso.fetch_range(HttpClient(), date(2025, 3, 3), date(2025, 3, 5))


def test_the_same_failure_of_both_files_is_said_once(monkeypatch):
    monkeypatch.setenv("NYISO_BASE_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    no_retries = HttpClient(session=requests.Session())
    with pytest.raises(FetchError) as failure:
        nyiso.fetch_latest(no_retries, JUST_AFTER_MIDNIGHT, None)
    assert str(failure.value) == "unreachable: 127.0.0.1:9 (connection refused)"
