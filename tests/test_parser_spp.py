"""SPP generation mix: parse against hand-written samples of both header layouts
(tests/fixtures/SPP/, see its README) and SPP files recorded in ../shared/fixtures/SPP/,
fetch against a loopback server."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import READING_COLUMNS, ParseError, ParseResult, Payload
from crawler.parsers import spp
from tests.conftest import HAND_WRITTEN

SAMPLES = HAND_WRITTEN / "SPP"
MARKET_SELF = "handwritten_GenMix_2023_first_hour_market_self.csv"
GMTTIME = "handwritten_GenMix2Hour_gmttime_newest_first.csv"
FIVE = pd.Timedelta(minutes=5)

# Vocabulary fuel -> the columns that add up to it, in each layout (the test's own reading).
MARKET_SELF_COLUMNS = {
    "coal": ["Coal Market", "Coal Self"],
    "oil": ["Diesel Fuel Oil Market", "Diesel Fuel Oil Self"],
    "hydro": ["Hydro Market", "Hydro Self"],
    "gas": ["Natural Gas Market", "Gas Self", "Waste Heat Market", "Waste Heat Self"],
    "nuclear": ["Nuclear Market", "Nuclear Self"],
    "solar": ["Solar Market", "Solar Self"],
    "biomass": ["Waste Disposal Services Market", "Waste Disposal Services Self"],
    "wind": ["Wind Market", "Wind Self"],
    "other": ["Other Market", "Other Self"],
}
GMTTIME_COLUMNS = {
    "coal": ["COAL_MKT", "COAL_SELF"],
    "oil": ["DIESEL_FUEL_OIL_MKT", "DIESEL_FUEL_SELF"],
    "hydro": ["HYDRO_MKT", "HYDRO_SELF"],
    "gas": ["NATURAL_GAS_MKT", "NATURAL_GAS_SELF", "WASTE_HEAT_MKT", "WASTE_HEAT_SELF"],
    "nuclear": ["NUCLEAR_MKT", "NUCLEAR_SELF"],
    "solar": ["SOLAR_MKT", "SOLAR_SELF"],
    "biomass": ["WASTE_DISPOSAL_SERVICES_MKT", "WASTE_DISPOSAL_SERVICES_SELF"],
    "wind": ["WIND_MKT", "WIND_SELF"],
    "other": ["OTHER_MKT", "OTHER_SELF"],
}
SUMMED_COLUMNS = {  # the doctored recording: one column per fuel
    "coal": ["Coal"], "oil": ["Diesel Fuel Oil"], "hydro": ["Hydro"], "gas": ["Natural Gas", "Waste Heat"],
    "nuclear": ["Nuclear"], "solar": ["Solar"], "biomass": ["Waste Disposal Services"],
    "wind": ["Wind"], "other": ["Other"], "unknown": ["Flux Capacitor"],
}
HEADER = "GMT MKT Interval, Coal Market, Coal Self, Wind Market, Wind Self, Load"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def parse_text(text: str, name: str = "inline.csv") -> ParseResult:
    return spp.parse(Payload(body=text.encode(), name=name))


def parse_sample(name: str) -> ParseResult:
    return spp.parse(Payload(body=(SAMPLES / name).read_bytes(), name=name))


def rows_of(text: str) -> list[dict[str, str]]:
    """The file read with the csv module, header names and cells stripped."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    return [dict(zip(header, (c.strip() for c in row))) for row in reader]


def wide(result: ParseResult) -> pd.DataFrame:
    return result.readings.pivot(index="timestamp", columns="fuel", values="mw")


def kinds(result: ParseResult) -> dict[str, int]:
    return {a.kind: a.count for a in result.anomalies}


def check_every_value(result: ParseResult, text: str, time_column: str,
                      columns: dict[str, list[str]]) -> None:
    """Each row lands on the interval ending at its stamp, each fuel the sum of its columns."""
    table = wide(result)
    rows = rows_of(text)
    assert len(table) == len(rows)
    for row in rows:
        start = pd.Timestamp(row[time_column]) - FIVE
        for fuel, names in columns.items():
            assert table.at[start, fuel] == pytest.approx(sum(float(row[n]) for n in names)), (start, fuel)


# -- the two layouts ----------------------------------------------------------------------

def test_market_and_self_columns_are_summed_into_each_fuel() -> None:
    text = (SAMPLES / MARKET_SELF).read_text()
    result = parse_sample(MARKET_SELF)
    check_every_value(result, text, "GMT MKT Interval", MARKET_SELF_COLUMNS)
    assert result.anomalies == []


def test_gmttime_layout_newest_first_comes_out_sorted_and_summed() -> None:
    text = (SAMPLES / GMTTIME).read_text()
    result = parse_sample(GMTTIME)
    check_every_value(result, text, "GMTTIME", GMTTIME_COLUMNS)
    starts = result.readings["timestamp"].drop_duplicates()
    assert list(starts) == list(pd.date_range(utc("2025-03-31 11:00"), periods=24, freq="5min"))
    assert result.anomalies == []


def test_known_numbers_of_the_first_row() -> None:
    """Read off the sample's first line (stamp 06:05Z): Coal 7378.9 + 3536, Natural Gas Market
    5135.1 + Gas Self 1453.3 + Waste Heat 0 + 4.2, Wind 11791.8 + 307.4, Load 29535.8 (not stored)."""
    first = wide(parse_sample(MARKET_SELF)).loc[utc("2023-01-01 06:00")]
    assert first["coal"] == pytest.approx(7378.9 + 3536)
    assert first["gas"] == pytest.approx(5135.1 + 1453.3 + 4.2)
    assert first["wind"] == pytest.approx(11791.8 + 307.4)
    assert 29535.8 not in set(first) and "Load" not in first.index


def test_a_yearly_file_starts_with_the_interval_from_central_midnight() -> None:
    """Stamp 06:05Z closes 00:00-00:05 CST, the first interval of the Central-time year."""
    readings = parse_sample(MARKET_SELF).readings
    assert readings["timestamp"].min() == pd.Timestamp("2023-01-01 00:00", tz="America/Chicago")
    assert readings["timestamp"].nunique() == 12


def test_load_is_not_generation_and_every_column_maps() -> None:
    for name in (MARKET_SELF, GMTTIME):
        result = parse_sample(name)
        assert set(result.readings["fuel"]) == set(MARKET_SELF_COLUMNS)


@pytest.mark.parametrize("column", ["Energy Storage", "Battery Storage"])
def test_a_storage_column_is_battery_and_may_be_negative(column: str) -> None:
    result = parse_text(f"{HEADER}, {column} Market, {column} Self\n"
                        "2025-03-31T13:00:00Z, 1, 2, 3, 4, 30000, -50, -7.5\n")
    assert wide(result).loc[utc("2025-03-31 12:55"), "battery"] == -57.5
    assert result.anomalies == []


# -- the recorded files ------------------------------------------------------------------

def test_doctored_recording_with_summed_columns_and_a_fake_fuel(shared_fixtures) -> None:
    """DOCTORED by the project that recorded it: columns already summed, and a made-up
    "Flux Capacitor" column, which must come out as unknown with an anomaly."""
    path = shared_fixtures / "SPP" / "GenMix_2018-07-27_DOCTORED.csv"
    text = path.read_text()
    result = spp.parse(Payload(body=path.read_bytes(), name=str(path)))
    check_every_value(result, text, "GMT MKT Interval", SUMMED_COLUMNS)
    starts = result.readings["timestamp"].drop_duplicates()
    assert list(starts) == list(pd.date_range(utc("2018-07-27 09:50"), utc("2018-07-27 11:40"), freq="5min"))
    assert len(starts) == 23
    assert kinds(result) == {"unknown_fuel": 1} and "Flux Capacitor" in result.anomalies[0].message
    # "Average Actual Load" (27589.4 in the first row) is not generation.
    assert 27589.4 not in set(result.readings["mw"])


def test_price_file_is_a_parse_error_naming_the_missing_columns(shared_fixtures) -> None:
    path = shared_fixtures / "SPP" / "RTBM-LMP-SL-202503310840.csv"
    with pytest.raises(ParseError) as error:
        spp.parse(Payload(body=path.read_bytes(), name=str(path)))
    message = str(error.value)
    assert "missing column(s) 'GMT MKT Interval' (or 'GMTTIME')" in message
    assert "any fuel column" in message and "GMTIntervalEnd" in message  # shows the header it got


# -- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    (b"GMT MKT Interval, Coal Mar", "ends inside the header"),
    (b"Time, Coal Market, Coal Self\n2025-03-31T13:00:00Z, 1, 2\n", r"missing column\(s\) 'GMT MKT Interval'"),
    (b"GMTTIME,LOAD\n2025-03-31T13:00:00Z,30000\n", r"missing column\(s\) any fuel column"),
    (b"GMTTIME,COAL_MKT,COAL_MKT\n2025-03-31T13:00:00Z,1,2\n", "'COAL_MKT' appear more than once"),
])
def test_bad_bodies_are_readable_parse_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        spp.parse(Payload(body=body, name="x.csv"))


def test_truncated_download_keeps_the_complete_rows() -> None:
    text = (SAMPLES / MARKET_SELF).read_text()
    cut = text.index("2023-01-01T06:30:00Z") + len("2023-01-01T06:30:00Z, 7401.2, 35")
    result = parse_text(text[:cut])
    assert result.readings["timestamp"].max() == utc("2023-01-01 06:20")  # rows up to 06:25Z
    assert result.readings["timestamp"].nunique() == 5
    assert kinds(result) == {"truncated": 1}


def test_header_only_is_an_empty_result() -> None:
    result = parse_text(HEADER + "\n")
    assert result.readings.empty and list(result.readings.columns) == READING_COLUMNS
    assert result.anomalies == []


def test_repeated_interval_keeps_the_last_row_and_says_so() -> None:
    result = parse_text(f"{HEADER}\n2025-03-31T13:00:00Z, 1, 2, 3, 4, 100\n"
                        "2025-03-31T13:00:00Z, 10, 20, 30, 40, 100\n")
    assert wide(result).loc[utc("2025-03-31 12:55")].to_dict() == {"coal": 30.0, "wind": 70.0}
    assert kinds(result) == {"duplicate_interval": 1}


def test_unknown_column_is_kept_as_unknown_once_per_label() -> None:
    result = parse_text(f"{HEADER}, Hydrogen Market, Hydrogen Self\n"
                        "2025-03-31T13:00:00Z, 1, 2, 3, 4, 100, 5, 6\n")
    assert wide(result).loc[utc("2025-03-31 12:55"), "unknown"] == 11
    assert kinds(result) == {"unknown_fuel": 1} and "'Hydrogen'" in result.anomalies[0].message


def test_unreadable_values_and_stamps_are_counted_and_skipped() -> None:
    result = parse_text(f"{HEADER}\n2025-03-31T13:00:00Z, 1, n/a, 3, 4, 100\n"
                        "yesterday, 1, 2, 3, 4, 100\n2025-03-31T13:07:00Z, 1, 2, 3, 4, 100\n"
                        "03/31/2025 13:10:00, 5, 6, 7, 8, 100\n")
    table = wide(result)
    # Coal's Self part is unreadable: its Market part alone is no value of coal, so coal is
    # rejected there (a stored value stays) instead of stored as 1 MW.
    assert table.loc[utc("2025-03-31 12:55")].dropna().to_dict() == {"wind": 7.0}
    assert result.rejected[["timestamp", "fuel", "kind"]].to_dict("records") == [
        {"timestamp": utc("2025-03-31 12:55"), "fuel": "coal", "kind": "missing_value"}]
    assert table.loc[utc("2025-03-31 13:05")].to_dict() == {"coal": 11.0, "wind": 15.0}
    assert kinds(result) == {"non_numeric": 1, "bad_time": 1, "off_schedule_timestamp": 1,
                             "missing_interval": 1}


def test_empty_cells_of_the_last_row_are_skipped_silently() -> None:
    """A yearly file ends with a row whose values are empty."""
    result = parse_text(f"{HEADER}\n2026-01-01T05:55:00Z, 1, 2, 3, 4, 100\n2026-01-01T06:00:00Z,,,,,\n")
    assert result.readings["timestamp"].nunique() == 1 and result.anomalies == []


def test_a_row_with_too_many_fields_is_malformed() -> None:
    result = parse_text(f"{HEADER}\n2025-03-31T13:00:00Z, 1, 2, 3, 4, 100, 9\n"
                        "2025-03-31T13:05:00Z, 1, 2, 3, 4, 100\n")
    assert result.readings["timestamp"].nunique() == 1 and kinds(result) == {"malformed_row": 1}


@pytest.mark.parametrize("column, label", [
    ("Coal Market", "Coal"), ("COAL_SELF", "COAL"), ("Gas Self", "Gas"),
    ("DIESEL_FUEL_SELF", "DIESEL FUEL"), ("Waste Disposal Services", "Waste Disposal Services"),
])
def test_base_label_drops_the_market_or_self_suffix(column: str, label: str) -> None:
    assert spp.base_label(column) == label


# -- fetch --------------------------------------------------------------------------------

@pytest.fixture
def spp_server(fake_iso, monkeypatch):
    monkeypatch.setenv("SPP_BASE_URL", fake_iso.url)
    monkeypatch.setenv("SPP_HISTORY_BASE_URL", fake_iso.url)
    monkeypatch.setattr(spp, "local_today", lambda: date(2025, 4, 1))
    return fake_iso


NOW = datetime(2025, 3, 31, 13, 2, tzinfo=timezone.utc)
HISTORY = "/file-browser-api/download/generation-mix-historical"


def test_latest_fetches_the_recent_file(spp_server) -> None:
    body = (SAMPLES / MARKET_SELF).read_bytes()
    spp_server.serve("/chart-api/gen-mix/asFile", body)
    payloads = spp.fetch_latest(HttpClient(), NOW, None)
    assert [r.path for r in spp_server.requests] == ["/chart-api/gen-mix/asFile"]
    assert [p.body for p in payloads] == [body]
    assert spp.parse(payloads[0]).readings["timestamp"].nunique() == 12


def test_latest_failing_is_a_fetch_error(spp_server) -> None:
    with pytest.raises(FetchError, match="404"):
        spp.fetch_latest(HttpClient(), NOW, None)


def test_backfill_chunks_are_years() -> None:
    assert spp.backfill_chunks(date(2022, 11, 15), date(2024, 2, 1)) == [
        (date(2022, 11, 15), date(2023, 1, 1)), (date(2023, 1, 1), date(2024, 1, 1)),
        (date(2024, 1, 1), date(2024, 2, 1))]
    assert spp.backfill_chunks(date(2023, 1, 1), date(2024, 1, 1)) == [(date(2023, 1, 1), date(2024, 1, 1))]
    assert spp.backfill_chunks(date(2023, 5, 1), date(2023, 5, 1)) == []


def test_fetch_range_asks_for_the_yearly_file_and_ytd_for_this_year(spp_server) -> None:
    spp_server.serve(HISTORY, b"yearly")
    payloads = spp.fetch_range(HttpClient(), date(2024, 12, 1), date(2025, 2, 1))
    assert [(r.path, r.query) for r in spp_server.requests] == [
        (HISTORY, {"path": ["/GenMix_2024.csv"]}), (HISTORY, {"path": ["/GenMixYTD.csv"]})]
    assert payloads[0].name.endswith("generation-mix-historical?path=%2FGenMix_2024.csv")


def test_fetch_range_fails_as_a_whole(spp_server) -> None:
    with pytest.raises(FetchError, match="404"):
        spp.fetch_range(HttpClient(), date(2023, 1, 1), date(2024, 1, 1))


def test_waste_heat_is_not_charged_as_an_unknown_fuel() -> None:
    """Recovered exhaust heat of gas-fired compressors: gas, not "other" at 700 g/kWh."""
    text = ("GMT MKT Interval, Natural Gas Market, Waste Heat Market, Waste Heat Self, Other Market\n"
            "2025-02-09T08:00:00Z, 100, 7, 3, 5\n")
    readings = parse_text(text).readings.set_index("fuel")["mw"]
    assert readings.to_dict() == {"gas": 110.0, "other": 5.0}
