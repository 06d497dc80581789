"""CAISO Daily Renewables Watch parser and fetcher: real reports recorded by pyiso, read from
../shared/fixtures/CAISO/, and the fetcher against a loopback stand-in for CAISO."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import caiso_drw
from tests.test_parser_caiso import kinds, requested, steps, utc, wide

# -- Daily Renewables Watch (real reports recorded by pyiso, read from ../shared) ---------

DRW_FUEL_COLUMNS = {
    "geothermal": ["GEOTHERMAL"], "biomass": ["BIOMASS", "BIOGAS"], "hydro": ["SMALL HYDRO", "HYDRO"],
    "wind": ["WIND TOTAL"], "solar": ["SOLAR PV", "SOLAR THERMAL"], "nuclear": ["NUCLEAR"],
    "gas": ["THERMAL"],
}
# Hours of each report that are in PST (UTC-8); the others are PDT (UTC-7).
DRW_DAYS = {
    "20171104": lambda hour: False,
    "20171106": lambda hour: True,
    "20170312": lambda hour: hour <= 2,   # clocks go forward at 02:00, hour 3 does not exist
    "20171105": lambda hour: hour >= 3,   # clocks go back at 02:00
}


def drw_hours(path: Path) -> dict[int, dict[str, float]]:
    """The test's own reading: whole-number rows of both tables, keyed by hour, by column name."""
    hours: dict[int, dict[str, float]] = {}
    header: list[str] = []
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.split("\t") if c.strip()]
        if cells[:1] == ["Hour"]:
            header = cells
        elif header and len(cells) == len(header) and all(c.lstrip("-").isdigit() for c in cells):
            hours.setdefault(int(cells[0]), {}).update(zip(header[1:], map(float, cells[1:])))
    return hours


def drw_parse(path: Path, name: str | None = None) -> ParseResult:
    return caiso_drw.parse(Payload(body=path.read_bytes(), name=name or str(path)))


@pytest.mark.parametrize("day", sorted(DRW_DAYS))
def test_drw_values_match_the_report(shared_fixtures: Path, day: str) -> None:
    path = shared_fixtures / "CAISO" / f"{day}_DailyRenewablesWatch.txt"
    result = drw_parse(path)
    table = wide(result)
    imports = result.net_imports.set_index("timestamp")["mw"]
    expected = {h: row for h, row in drw_hours(path).items() if len(row) == 12}  # both tables
    assert len(expected) >= 23
    midnight = pd.Timestamp(day, tz="UTC")
    for hour, row in expected.items():
        at = midnight + pd.Timedelta(hours=hour - 1 + (8 if DRW_DAYS[day](hour) else 7))
        for fuel, columns in DRW_FUEL_COLUMNS.items():
            assert table.at[at, fuel] == sum(row[c] for c in columns), (day, hour, fuel)
        assert imports[at] == row["IMPORTS"]
    assert set(table.index) == {midnight + pd.Timedelta(hours=h - 1 + (8 if DRW_DAYS[day](h) else 7))
                                for h in expected}
    assert set(result.readings["fuel"]) == set(DRW_FUEL_COLUMNS)  # no RENEWABLES total, no imports


def test_drw_spring_day_skips_the_nonexistent_hour(shared_fixtures: Path) -> None:
    """Hour 3 (02:00) holds CAISO's 'invalid time' error text and #VALUE!: skipped, counted once."""
    path = shared_fixtures / "CAISO" / "20170312_DailyRenewablesWatch.txt"
    assert "represents an invalid time" in path.read_text()
    result = drw_parse(path)
    timestamps = result.readings["timestamp"]
    assert timestamps.nunique() == 23
    assert steps(timestamps) == {pd.Timedelta(hours=1)}
    assert timestamps.min() == utc("2017-03-12 08:00") and timestamps.max() == utc("2017-03-13 06:00")
    assert kinds(result) == ["nonexistent_time"]
    assert wide(result).at[utc("2017-03-12 10:00"), "geothermal"] == 936  # hour 4 = 03:00 PDT


def test_drw_fall_day_has_24_rows_for_25_hours(shared_fixtures: Path) -> None:
    """The report has one row for 01:00-02:00 (taken as PDT); 01:00 PST is reported missing.
    Its solar ramp (hour 7 = 342 MW) matches the PST clock of 11/06 (193), not PDT's 11/04 (0)."""
    path = shared_fixtures / "CAISO" / "20171105_DailyRenewablesWatch.txt"
    result = drw_parse(path)
    table = wide(result)
    assert len(table) == 24 and utc("2017-11-05 09:00") not in table.index
    assert kinds(result) == ["missing_interval"] and "09:00Z" in result.anomalies[0].message
    assert table.at[utc("2017-11-05 14:00"), "solar"] == 342 + 0  # hour 7 = 06:00 PST
    assert table.index.max() == utc("2017-11-06 07:00")          # hour 24 = 23:00 PST


def test_drw_date_comes_from_the_report(shared_fixtures: Path) -> None:
    path = shared_fixtures / "CAISO" / "20171106_DailyRenewablesWatch.txt"
    assert drw_parse(path, name="report.txt").readings["timestamp"].min() == utc("2017-11-06 08:00")
    mismatched = drw_parse(path, name="20171107_DailyRenewablesWatch.txt")
    assert kinds(mismatched) == ["date_mismatch"]
    assert mismatched.readings["timestamp"].min() == utc("2017-11-06 08:00")


def test_drw_report_cut_inside_its_last_value_leaves_that_row_out(shared_fixtures: Path) -> None:
    """Every complete report ends with a line break: the last totals row without one is cut
    (its 1969 MW of imports arrived as 1) and is left out; the hours before are whole."""
    path = shared_fixtures / "CAISO" / "20171106_DailyRenewablesWatch.txt"
    body = path.read_bytes()
    assert body.endswith(b"\r\n")
    cut = body[:body.rindex(b"1969") + 1]
    result = caiso_drw.parse(Payload(body=cut, name=str(path)))
    hours = drw_hours(path)
    hour_24 = utc("2017-11-07 07:00")  # hour ending 24, 23:00 PST
    imports = result.net_imports.set_index("timestamp")["mw"]
    assert hour_24 not in imports.index and imports[utc("2017-11-07 06:00")] == hours[23]["IMPORTS"]
    table = wide(result)
    assert pd.isna(table.at[hour_24, "nuclear"]) and pd.isna(table.at[hour_24, "gas"])  # the totals row
    assert table.at[hour_24, "wind"] == hours[24]["WIND TOTAL"]  # the renewables table is whole
    assert kinds(result) == ["truncated"]


def test_drw_bad_bodies_raise_a_readable_parse_error(shared_fixtures: Path) -> None:
    text = (shared_fixtures / "CAISO" / "20171106_DailyRenewablesWatch.txt").read_text()
    first_table_only = text[:text.index("Hourly Breakdown of Total Production")]
    cases = [(first_table_only.encode(), "no 'Hourly Breakdown of Total Production by Resource Type' table"),
             (b"just some text\n", "no date")]
    for body, message in cases:
        with pytest.raises(ParseError, match=message):
            caiso_drw.parse(Payload(body=body, name="x.txt"))


@pytest.fixture
def drw_server(fake_iso, monkeypatch):
    monkeypatch.setenv("CAISO_DRW_BASE_URL", f"{fake_iso.url}/renewrpt")
    return fake_iso


def test_drw_fetch_latest_asks_for_the_two_latest_reports(drw_server) -> None:
    for day in ("20171105", "20171106"):
        drw_server.serve(f"/renewrpt/{day}_DailyRenewablesWatch.txt", day.encode())
    now = utc("2017-11-07 18:00").to_pydatetime()  # 10:00 PST on the 7th
    payloads = caiso_drw.fetch_latest(HttpClient(), now, None)
    assert requested(drw_server) == ["/renewrpt/20171105_DailyRenewablesWatch.txt",
                                     "/renewrpt/20171106_DailyRenewablesWatch.txt"]
    assert [p.body for p in payloads] == [b"20171105", b"20171106"]


def test_drw_fetch_latest_tolerates_an_unpublished_report(drw_server) -> None:
    drw_server.serve("/renewrpt/20171105_DailyRenewablesWatch.txt", b"old")
    client = HttpClient()
    payloads = caiso_drw.fetch_latest(client, utc("2017-11-07 09:00").to_pydatetime(), None)
    assert [p.body for p in payloads] == [b"old"] and client.errors == []
    with pytest.raises(FetchError, match="404"):
        caiso_drw.fetch_latest(HttpClient(), utc("2017-11-09 09:00").to_pydatetime(), None)


def test_drw_25_row_report_is_read_as_consecutive_hours() -> None:
    """Hand-written: a fall-back report with all 25 hours (not seen in the 2017 recordings)."""
    renewables = "".join(f"\t{h}\t\t1\t\t2\t\t3\t\t4\t\t5\t\t6\t\t{h}\t\t\n" for h in range(1, 26))
    totals = "".join(f"\t{h}\t\t10\t\t20\t\t30\t\t40\t\t50\t\t\n" for h in range(1, 26))
    body = ("11/05/17\t\t\tHourly Breakdown of Renewable Resources (MW)\n"
            "\tHour\t\tGEOTHERMAL\tBIOMASS\t\tBIOGAS\t\tSMALL HYDRO\tWIND TOTAL\tSOLAR PV\tSOLAR THERMAL\n"
            f"{renewables}\n\t\t\tHourly Breakdown of Total Production by Resource Type (MW)\n"
            f"\tHour\t\tRENEWABLES\tNUCLEAR\t\tTHERMAL\t\tIMPORTS\t\tHYDRO\n{totals}")
    result = caiso_drw.parse(Payload(body=body.encode(), name="handwritten.txt"))
    solar = result.readings.query("fuel == 'solar'").set_index("timestamp")["mw"]
    assert len(solar) == 25 and result.anomalies == []
    assert solar[utc("2017-11-05 08:00")] == 6 + 2 and solar[utc("2017-11-05 09:00")] == 6 + 3
    assert steps(result.readings["timestamp"]) == {pd.Timedelta(hours=1)}
