"""ERCOT dashboards: parse against bodies recorded in ../shared/fixtures/ERCOT/ (both shapes of
fuel-mix.json, energy-storage-resources.json) and hand-written fall-back samples
(tests/fixtures/ERCOT/, see its README); fetch against a loopback server."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import READING_COLUMNS, ParseError, ParseResult, Payload
from crawler.parsers import ercot
from tests.conftest import HAND_WRITTEN

SAMPLES = HAND_WRITTEN / "ERCOT"
FALL_MIX = "handwritten_fuel-mix_2024-11-03_fall_back.json"
FALL_STORAGE = "handwritten_energy-storage-resources_2024-11-03_fall_back.json"
NEW_SHAPE = "fuel-mix_2025-10-08.json"
OLD_SHAPE = "fuel-mix_2024-11-23_older-shape.json"
STORAGE = "energy-storage-resources_2025-10-08.json"
FUELS = {"Coal and Lignite": "coal", "Natural Gas": "gas", "Nuclear": "nuclear", "Hydro": "hydro",
         "Solar": "solar", "Wind": "wind", "Other": "other"}


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def parse_path(path: Path) -> ParseResult:
    return ercot.parse(Payload(body=path.read_bytes(), name=str(path)))


def parse_doc(doc: object) -> ParseResult:
    return ercot.parse(Payload(body=json.dumps(doc).encode(), name="inline.json"))


def wide(result: ParseResult) -> pd.DataFrame:
    return result.readings.pivot(index="timestamp", columns="fuel", values="mw")


def kinds(result: ParseResult) -> dict[str, int]:
    return {a.kind: a.count for a in result.anomalies}


def stamp_utc(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S%z").astimezone(timezone.utc)


def sced_interval_start(stamp: str) -> pd.Timestamp:
    """The test's own rounding: the 5-minute mark nearest to the stamp (a few seconds later)."""
    seconds = stamp_utc(stamp).timestamp()
    return pd.Timestamp(round(seconds / 300) * 300, unit="s", tz="UTC")


def fuel_mix_entries(path: Path) -> list[tuple[str, str, float]]:
    """(stamp, label, gen) of every fuel entry, read with the json module."""
    doc = json.loads(path.read_text())
    return [(stamp, label, entry["gen"]) for stamps in doc["data"].values()
            for stamp, fuels in stamps.items() for label, entry in fuels.items()]


def storage_rows(path: Path) -> list[dict]:
    doc = json.loads(path.read_text())
    return doc["previousDay"]["data"] + doc["currentDay"]["data"]


# -- fuel mix, both shapes ----------------------------------------------------------------

@pytest.mark.parametrize("name", [NEW_SHAPE, OLD_SHAPE])
def test_every_fuel_value_lands_on_its_interval(shared_fixtures, name: str) -> None:
    path = shared_fixtures / "ERCOT" / name
    table = wide(parse_path(path))
    entries = fuel_mix_entries(path)
    assert len(entries) == 8 * len(table)
    for stamp, label, gen in entries:
        if label != "Power Storage":
            assert table.at[sced_interval_start(stamp), FUELS[label]] == gen, (stamp, label)


@pytest.mark.parametrize("name, first, count", [
    (NEW_SHAPE, "2025-10-08 05:05", 288 + 81),   # 00:04:56 CDT .. 2025-10-09 06:44:56 CDT
    (OLD_SHAPE, "2024-11-23 06:05", 288 + 98),   # 00:04:57 CST .. 2024-11-24 08:09:57 CST
])
def test_yesterday_and_today_are_contiguous_5_minute_intervals(shared_fixtures, name, first, count) -> None:
    result = parse_path(shared_fixtures / "ERCOT" / name)
    starts = result.readings["timestamp"].drop_duplicates()
    assert list(starts) == list(pd.date_range(utc(first), periods=count, freq="5min"))
    assert (result.readings.groupby("timestamp").size() == 7).all()
    assert set(result.readings["fuel"]) == set(FUELS.values())  # no battery from the fuel mix
    assert result.anomalies == []


def test_known_value_of_the_first_stamp(shared_fixtures) -> None:
    """Read off the recording: "2025-10-08 00:04:56-0500" Coal and Lignite gen 10519.1865234375,
    Nuclear 3703.91748046875, taken as the interval 00:05-00:10 CDT = 05:05Z."""
    first = wide(parse_path(shared_fixtures / "ERCOT" / NEW_SHAPE)).loc[utc("2025-10-08 05:05")]
    assert first["coal"] == 10519.1865234375 and first["nuclear"] == 3703.91748046875


def test_fuel_mix_power_storage_describes_the_interval_after_its_stamp(shared_fixtures) -> None:
    """The evidence for the time convention: "Power Storage" stamped just before the mark T
    matches the mean of the storage dashboard's discharge at T and T+5 far better than at
    T-5 and T, so the stamp starts its interval."""
    folder = shared_fixtures / "ERCOT"
    discharge = pd.Series({stamp_utc(r["timestamp"]): r["totalDischarging"] for r in storage_rows(folder / STORAGE)})
    power = pd.Series({sced_interval_start(s): gen for s, label, gen in fuel_mix_entries(folder / NEW_SHAPE)
                       if label == "Power Storage"})
    after = (discharge + discharge.shift(-1)) / 2
    before = (discharge.shift(1) + discharge) / 2
    error_after = (power - after.reindex(power.index)).abs().mean()
    error_before = (power - before.reindex(power.index)).abs().mean()
    assert error_after < 0.5 * error_before


@pytest.mark.parametrize("name", [NEW_SHAPE, OLD_SHAPE])
def test_fuel_mix_power_storage_is_discharge_only(shared_fixtures, name: str) -> None:
    """Why battery comes from the storage dashboard: the fuel mix never reports charging."""
    values = [gen for _, label, gen in fuel_mix_entries(shared_fixtures / "ERCOT" / name)
              if label == "Power Storage"]
    assert len(values) > 300 and min(values) >= 0


# -- storage ------------------------------------------------------------------------------

def test_storage_net_output_is_the_battery_reading_charging_negative(shared_fixtures) -> None:
    path = shared_fixtures / "ERCOT" / STORAGE
    result = parse_path(path)
    rows = storage_rows(path)
    battery = result.readings.set_index("timestamp")["mw"]
    assert set(result.readings["fuel"]) == {"battery"} and len(battery) == len(rows) == 288 + 81
    for row in rows:
        assert battery[stamp_utc(row["timestamp"])] == row["netOutput"]
    assert list(battery.index) == list(pd.date_range(utc("2025-10-08 05:00"), periods=369, freq="5min"))
    negative = [r["netOutput"] for r in rows if r["netOutput"] < 0]
    assert (battery < 0).sum() == len(negative) > 100 and battery.min() == min(negative)
    assert result.anomalies == []


def test_one_fetch_gives_each_interval_and_fuel_once(shared_fixtures) -> None:
    folder = shared_fixtures / "ERCOT"
    both = ParseResult.concat([parse_path(folder / NEW_SHAPE), parse_path(folder / STORAGE)]).readings
    assert not both.duplicated(["timestamp", "fuel"]).any()
    assert (both["fuel"] == "battery").sum() == 369
    # Where both bodies cover an interval it has all seven fuels and one battery reading.
    shared = both.groupby("timestamp")["fuel"].nunique()
    assert (shared == 8).sum() == 368


def test_another_dashboard_is_a_parse_error_naming_the_missing_key(shared_fixtures) -> None:
    with pytest.raises(ParseError, match="storage rows lack 'netOutput'"):
        parse_path(shared_fixtures / "ERCOT" / "loadForecastVsActual_2024-11-24.json")


# -- daylight saving (hand-written) --------------------------------------------------------

def test_fall_back_fuel_mix_has_every_interval_once() -> None:
    """Local 01:04:56 .. 01:59:56 appear twice (-0500, then -0600); the offsets keep them apart."""
    table = wide(parse_path(SAMPLES / FALL_MIX))
    assert list(table.index) == list(pd.date_range(utc("2024-11-03 05:50"), utc("2024-11-03 08:05"), freq="5min"))
    assert list(table["nuclear"]) == [5000.0 + i for i in range(28)]
    assert table.at[utc("2024-11-03 06:05"), "nuclear"] == 5003  # 01:04:56 CDT
    assert table.at[utc("2024-11-03 07:05"), "nuclear"] == 5015  # 01:04:56 CST


def test_fall_back_storage_row_stamped_two_oclock_is_relabelled_by_its_place() -> None:
    result = parse_path(SAMPLES / FALL_STORAGE)
    battery = result.readings.set_index("timestamp")["mw"]
    assert list(battery.index) == list(pd.date_range(utc("2024-11-03 05:50"), utc("2024-11-03 08:05"), freq="5min"))
    assert list(battery) == [-150.0 + 10 * i for i in range(28)]
    assert battery[utc("2024-11-03 07:00")] == -10  # the row written "02:00:00-0600"
    assert battery[utc("2024-11-03 08:00")] == 110  # the real 02:00 CST
    assert kinds(result) == {"relabelled_interval": 1}


def test_a_repeated_stamp_that_fits_no_gap_is_a_duplicate_not_a_relabel() -> None:
    rows = [{"timestamp": f"2025-10-08 00:{m:02d}:00-0500", "netOutput": m} for m in (0, 5, 10)]
    rows.append({"timestamp": "2025-10-08 00:10:00-0500", "netOutput": 99})
    result = parse_doc({"previousDay": {"data": rows}, "currentDay": {"data": []}})
    assert list(result.readings["mw"]) == [0, 5, 99]
    assert kinds(result) == {"duplicate_interval": 1}


# -- bad input ----------------------------------------------------------------------------

FUEL_ENTRY = {"Wind": {"gen": 100}, "Solar": {"gen": 5}}


@pytest.mark.parametrize("body, message", [
    (b"{}", "missing key 'data' \\(fuel mix\\) or 'previousDay'/'currentDay'"),
    (b"[1, 2]", "unexpected JSON shape.*list"),
    (b'{"data": [1, 2]}', "'data' is a list, not an object of days"),
    (b'{"data": {"2025-10-08": {"2025-10-08 00:04:56-0500": {"Wind": {"mw": 5}}}}}',
     "no fuel entry has the key 'gen'"),
    (b'{"previousDay": {"rows": []}}', "missing key 'previousDay.data'"),
    (b'{"previousDay": {"data": [{"time": "x", "netOutput": 1}]}}', "storage rows lack 'timestamp'"),
])
def test_bad_bodies_raise_readable_parse_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        ercot.parse(Payload(body=body, name="x.json"))


def test_unknown_fuel_is_kept_as_unknown_and_reported() -> None:
    stamps = {"2025-10-08 00:04:56-0500": {**FUEL_ENTRY, "Geothermal": {"gen": 7}}}
    result = parse_doc({"data": {"2025-10-08": stamps}})
    assert wide(result).loc[utc("2025-10-08 05:05")].to_dict() == {"wind": 100, "solar": 5, "unknown": 7}
    assert kinds(result) == {"unknown_fuel": 1} and "Geothermal" in result.anomalies[0].message


def test_odd_stamps_and_values_are_counted_not_crashed_on() -> None:
    day = {"2025-10-08 00:04:56-0500": FUEL_ENTRY,
           "2025-10-08 00:05:02-0500": {"Wind": {"gen": 101}, "Solar": {"gen": None}},  # same mark again
           "2025-10-08 00:12:30-0500": FUEL_ENTRY,                                      # between marks
           "08/10/2025 00:15": FUEL_ENTRY,                                              # unreadable
           "2025-10-08 00:19:56-0500": {"Wind": "n/a", "Solar": {"gen": 6}}}
    result = parse_doc({"data": {"2025-10-08": day}})
    table = wide(result)
    assert table.loc[utc("2025-10-08 05:05")].to_dict() == {"wind": 101, "solar": 5}
    assert table.loc[utc("2025-10-08 05:20")].dropna().to_dict() == {"solar": 6}
    assert kinds(result) == {"off_schedule_timestamp": 2, "bad_time": 2, "missing_value": 2,
                             "duplicate_interval": 1, "missing_interval": 2}


def test_empty_days_are_an_empty_result() -> None:
    for doc in ({"data": {}}, {"previousDay": {"data": []}, "currentDay": {"data": []}}):
        result = parse_doc(doc)
        assert result.readings.empty and list(result.readings.columns) == READING_COLUMNS


# -- fetch --------------------------------------------------------------------------------

@pytest.fixture
def ercot_server(fake_iso, monkeypatch):
    monkeypatch.setenv("ERCOT_BASE_URL", f"{fake_iso.url}/dashboards")
    return fake_iso


NOW = datetime(2025, 10, 9, 11, 47, tzinfo=timezone.utc)
PATHS = ["/dashboards/fuel-mix.json", "/dashboards/energy-storage-resources.json"]


def test_latest_fetches_both_dashboards(ercot_server, shared_fixtures) -> None:
    for path, name in zip(PATHS, (NEW_SHAPE, STORAGE)):
        ercot_server.serve(path, (shared_fixtures / "ERCOT" / name).read_bytes(), content_type="application/json")
    client = HttpClient()
    payloads = ercot.fetch_latest(client, NOW, NOW - timedelta(minutes=5))
    assert [r.path for r in ercot_server.requests] == PATHS
    assert [p.name.rsplit("/", 1)[-1] for p in payloads] == ["fuel-mix.json", "energy-storage-resources.json"]
    both = ParseResult.concat([ercot.parse(p) for p in payloads]).readings
    assert not both.duplicated(["timestamp", "fuel"]).any() and client.errors == []


@pytest.mark.parametrize("served, failed", [(0, "energy-storage-resources.json"), (1, "fuel-mix.json")])
def test_one_dashboard_failing_is_noted_and_the_other_kept(ercot_server, served: int, failed: str) -> None:
    ercot_server.serve(PATHS[served], b"{}")
    client = HttpClient()
    payloads = ercot.fetch_latest(client, NOW, None)
    assert len(payloads) == 1 and payloads[0].name.endswith(PATHS[served])
    assert len(client.errors) == 1 and failed in client.errors[0] and "404" in client.errors[0]


def test_both_dashboards_failing_is_a_fetch_error(ercot_server) -> None:
    with pytest.raises(FetchError, match="fuel-mix.json.*404.*energy-storage-resources.json.*404"):
        ercot.fetch_latest(HttpClient(), NOW, None)


def test_no_backfill_from_the_dashboards(ercot_server) -> None:
    assert ercot.backfill_chunks(date(2025, 1, 1), date(2025, 2, 1)) == []
    with pytest.raises(FetchError, match="EIA"):
        ercot.fetch_range(HttpClient(), date(2025, 1, 1), date(2025, 1, 2))
    assert ercot_server.requests == []
