"""BPA baltwg.txt: parse against the recorded 2014 excerpt and hand-written samples (newer
columns, both daylight-saving changes), fetch against a loopback server."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import bpa
from tests.conftest import HAND_WRITTEN

SAMPLES = HAND_WRITTEN / "BPA"
NEW_COLUMNS = "handwritten_baltwg_20250210_new_columns.txt"
FALL_BACK = "handwritten_baltwg_20241103_fall_back.txt"
SPRING_FORWARD = "handwritten_baltwg_20250309_spring_forward.txt"
# The test's own reading of BPA's columns; Load is not generation.
COLUMN_FUEL = {"Wind": "wind", "Hydro": "hydro", "Fossil/Biomass": "gas",
               "Nuclear": "nuclear"}


def parse_text(text: str) -> ParseResult:
    return bpa.parse(Payload(body=text.encode(), name="baltwg.txt"))


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def excerpt(shared_fixtures: Path) -> str:
    return (shared_fixtures / "BPA" / "baltwg_2014-04-15_excerpt.txt").read_text()


def kinds(result: ParseResult) -> dict[str, int]:
    return {a.kind: a.count for a in result.anomalies}


def table_rows(text: str, utc_offset_hours: int) -> dict[pd.Timestamp, dict[str, float]]:
    """The test's own reading: rows with values, keyed by interval START in UTC (stamp = end)."""
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Date/Time"))
    names = [c.strip() for c in lines[header].split("\t")]
    rows = {}
    for line in lines[header + 1:]:
        cells = line.split("\t")
        if len(cells) < 2 or not cells[1].strip():
            continue
        end = datetime.strptime(cells[0], "%m/%d/%Y %H:%M") + timedelta(hours=utc_offset_hours)
        start = pd.Timestamp(end - timedelta(minutes=5), tz="UTC")
        row = {COLUMN_FUEL[n]: float(v) for n, v in zip(names[1:], cells[1:]) if n not in ("Load", "Thermal")}
        if "Thermal" in names:  # Columbia's 1,150 MW when Thermal holds it, the rest gas
            thermal = float(cells[names.index("Thermal")])
            row.update(nuclear=1150.0 if thermal >= 1150 else 0.0, gas=thermal - (1150.0 if thermal >= 1150 else 0.0))
        rows[start] = row
    return rows


def series_of(result: ParseResult) -> dict[pd.Timestamp, dict[str, float]]:
    return {ts: dict(zip(g["fuel"], g["mw"])) for ts, g in result.readings.groupby("timestamp")}


def wind(result: ParseResult) -> pd.Series:
    readings = result.readings
    return readings[readings["fuel"] == "wind"].set_index("timestamp")["mw"].sort_index()


def consecutive(first: str, last: str) -> list[pd.Timestamp]:
    return list(pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="5min"))


# -- the recorded excerpt (old columns) -------------------------------------------------------

def test_recorded_excerpt_values_at_utc_interval_starts(shared_fixtures):
    text = excerpt(shared_fixtures)
    result = parse_text(text)
    expected = table_rows(text, utc_offset_hours=7)  # April: PDT
    assert series_of(result) == expected
    # 10:10 PDT closes 10:05-10:10 PDT, which starts at 17:05Z; the last row with values is 11:05.
    assert min(expected) == pd.Timestamp("2014-04-15T17:05Z") and max(expected) == pd.Timestamp("2014-04-15T18:00Z")
    assert series_of(result)[pd.Timestamp("2014-04-15T17:05Z")] == {"wind": 3732, "hydro": 11225,
                                                                     "nuclear": 1150, "gas": 449}
    assert len(expected) == 12
    # The empty rows 11:10..11:30 (future) are skipped without a word; Load is never stored.
    assert result.anomalies == []


# -- hand-written samples ---------------------------------------------------------------------

def test_new_columns_fossil_biomass_is_gas_and_nuclear_is_nuclear():
    text = sample(NEW_COLUMNS)
    result = parse_text(text)
    assert series_of(result) == table_rows(text, utc_offset_hours=8)  # February: PST
    assert series_of(result)[pd.Timestamp("2025-02-10T16:00Z")] == {  # the 08:05 row
        "wind": 1402, "hydro": 9855, "gas": 811, "nuclear": 1131}
    assert result.readings["timestamp"].nunique() == 12 and result.anomalies == []


def test_ver_column_is_wind():
    text = sample(NEW_COLUMNS).replace("\tWind\t", "\tVER\t")
    assert set(parse_text(text).readings["fuel"]) == {"wind", "hydro", "gas", "nuclear"}


def test_fall_back_day_has_no_duplicated_or_missing_interval():
    result = parse_text(sample(FALL_BACK))
    # 00:50 PDT closes the interval starting 07:45Z; 02:10 PST closes the one starting 10:05Z.
    assert list(wind(result).index) == consecutive("2024-11-03T07:45Z", "2024-11-03T10:05Z")
    assert list(wind(result)) == [100.0 + i for i in range(29)]  # each row on its own interval, in order
    # The stamp 01:00 is written twice: 01:00 PDT (08:00Z, first pass) closes 07:55Z-08:00Z,
    # 01:00 PST (09:00Z, second pass) closes 08:55Z-09:00Z.
    assert wind(result)[pd.Timestamp("2024-11-03T07:55Z")] == 102
    assert wind(result)[pd.Timestamp("2024-11-03T08:55Z")] == 114
    assert result.anomalies == []


def test_spring_forward_day_has_no_duplicated_or_missing_interval():
    result = parse_text(sample(SPRING_FORWARD))
    assert list(wind(result).index) == consecutive("2025-03-09T09:25Z", "2025-03-09T10:25Z")
    assert list(wind(result)) == [200.0 + i for i in range(13)]
    assert result.anomalies == []


def test_a_stamp_in_the_spring_gap_is_skipped_and_counted():
    text = sample(SPRING_FORWARD).replace("03/09/2025 03:00\t", "03/09/2025 02:00\t")
    result = parse_text(text)
    assert kinds(result) == {"nonexistent_time": 1, "missing_interval": 1}
    assert pd.Timestamp("2025-03-09T09:55Z") not in wind(result).index


# -- odd input --------------------------------------------------------------------------------

HEADER = "title line\n\nDate/Time       \tLoad\tWind\tHydro\n"


def test_a_repeated_row_keeps_the_last_and_says_so():
    result = parse_text(HEADER + "02/10/2025 08:05\t1\t10\t20\n02/10/2025 08:05\t1\t11\t21\n")
    assert series_of(result) == {pd.Timestamp("2025-02-10T16:00Z"): {"wind": 11, "hydro": 21}}
    assert kinds(result) == {"duplicate_interval": 2}


def test_missing_rows_are_reported_as_gaps(shared_fixtures):
    text = excerpt(shared_fixtures)
    result = parse_text("\n".join(line for line in text.splitlines() if "10:30" not in line) + "\n")
    assert pd.Timestamp("2014-04-15T17:25Z") not in series_of(result)
    assert kinds(result) == {"missing_interval": 1}


def test_unreadable_cells_and_rows_are_counted():
    result = parse_text(HEADER + "02/10/2025 08:05\t1\tn/a\t20\n2025-02-10 08:10\t1\t5\t5\n"
                        "02/10/2025 08:15\t1\t5\t5\t7\n02/10/2025 08:20\t1\t6\t6\t\n")
    assert series_of(result) == {pd.Timestamp("2025-02-10T16:00Z"): {"hydro": 20},
                                 pd.Timestamp("2025-02-10T16:15Z"): {"wind": 6, "hydro": 6}}
    assert kinds(result) == {"malformed_row": 1, "bad_time": 1, "non_numeric": 1, "missing_interval": 2}


def test_unknown_column_is_kept_as_unknown_and_reported():
    result = parse_text("Date/Time\tLoad\tWind\tTidal\n02/10/2025 08:05\t1\t10\t3\n")
    assert series_of(result) == {pd.Timestamp("2025-02-10T16:00Z"): {"wind": 10, "unknown": 3}}
    assert kinds(result) == {"unknown_fuel": 1} and "Tidal" in result.anomalies[0].message


def test_truncated_download_keeps_complete_rows_and_says_so(shared_fixtures):
    text = excerpt(shared_fixtures)
    cut = text.index("04/15/2014 10:55\t6451\t37") + len("04/15/2014 10:55\t6451\t37")
    result = parse_text(text[:cut])
    assert max(series_of(result)) == pd.Timestamp("2014-04-15T17:45Z")  # the 10:50 row
    assert kinds(result) == {"truncated": 1}


@pytest.mark.parametrize("text, message", [
    ("BPA Balancing Authority Load\nDateTime\tLoad\tWind\n02/10/2025 08:05\t1\t2\n", "no 'Date/Time' header line"),
    ("Date/Time\tLoad\n02/10/2025 08:05\t1\n", "no generation column"),
    ("Date/Time\tLoad\tWind\tHydro\n", "header only"),
])
def test_unreadable_files_are_parse_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_text(text)


# -- fetch ------------------------------------------------------------------------------------

@pytest.fixture
def bpa_server(fake_iso, monkeypatch):
    monkeypatch.setenv("BPA_BASE_URL", f"{fake_iso.url}/Wind")
    return fake_iso


def test_fetch_latest_reads_the_rolling_file(bpa_server):
    body = (SAMPLES / NEW_COLUMNS).read_bytes()
    bpa_server.serve("/Wind/baltwg.txt", body)
    now = datetime(2025, 2, 10, 17, 3, tzinfo=timezone.utc)
    [payload] = bpa.fetch_latest(HttpClient(), now, None)
    assert [(r.method, r.path) for r in bpa_server.requests] == [("GET", "/Wind/baltwg.txt")]
    assert payload.body == body and bpa.parse(payload).readings["timestamp"].nunique() == 12


def test_fetch_latest_failure_is_a_fetch_error(bpa_server):
    with pytest.raises(FetchError, match="404"):
        bpa.fetch_latest(HttpClient(), datetime(2025, 2, 10, tzinfo=timezone.utc), None)


def test_there_is_no_backfill():
    assert bpa.backfill_chunks(date(2025, 1, 1), date(2025, 2, 1)) == []
    with pytest.raises(FetchError, match="BPA .* has no history endpoint: baltwg.txt holds only the last 7 days"):
        bpa.fetch_range(HttpClient(), date(2025, 1, 1), date(2025, 1, 2))


def test_module_contract():
    assert (bpa.SOURCE, bpa.REGION, bpa.INTERVAL_MINUTES) == ("BPA", "BPAT", 5)
    assert (bpa.FREQUENCY_MINUTES, bpa.STALE_AFTER_MINUTES) == (5, 60)


def test_old_thermal_is_split_into_columbia_nuclear_and_gas(shared_fixtures):
    """The 2014 excerpt: Thermal ~1,600 MW holds Columbia's 1,150 MW; the region's intensity
    with the global factors is ~33 g/kWh, where Thermal as unknown (700) made it ~86."""
    result = parse_text(excerpt(shared_fixtures))
    first = series_of(result)[pd.Timestamp("2014-04-15T17:05Z")]
    factors = {"wind": 11, "hydro": 24, "nuclear": 12, "gas": 490}
    intensity = sum(mw * factors[f] for f, mw in first.items()) / sum(first.values())
    assert 30 < intensity < 36
    assert "unknown" not in set(result.readings["fuel"]) and not [a for a in result.anomalies if a.kind == "unknown_fuel"]


def test_thermal_below_columbia_output_is_all_gas():
    text = ("Date/Time\tLoad\tWind\tHydro\tThermal\n"
            "04/15/2014 10:10\t6553\t3732\t11225\t640\n")
    assert series_of(parse_text(text))[pd.Timestamp("2014-04-15T17:05Z")] == {
        "wind": 3732, "hydro": 11225, "nuclear": 0, "gas": 640}
