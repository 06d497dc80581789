"""CAISO Today's Outlook parser and fetcher: the fuel source file against hand-written samples
in tests/fixtures/CAISO/ (see its README), the fetcher against a loopback stand-in for CAISO.
The Daily Renewables Watch has its own file, test_parser_caiso_drw.py."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import caiso
from tests.conftest import HAND_WRITTEN

SAMPLES = HAND_WRITTEN / "CAISO"
NORMAL_DAY = "handwritten_20250209_fuelsource.csv"
OTHER_SPELLING = "handwritten_20250210_fuelsource.csv"
SPRING_DAY = "handwritten_20250309_fuelsource.csv"
FALL_DAY = "handwritten_20251102_fuelsource.csv"
CURRENT_DAY = "handwritten_20250212_current_fuelsource.csv"
TRUNCATED = "handwritten_20250214_fuelsource_truncated.csv"

# Vocabulary fuel -> the CSV columns (lower-cased) that add up to it.
COLUMNS_OF = {
    "solar": ["solar"], "wind": ["wind"], "geothermal": ["geothermal"],
    "biomass": ["biomass", "biogas"], "hydro": ["small hydro", "large hydro"], "coal": ["coal"],
    "nuclear": ["nuclear"], "gas": ["natural gas"], "battery": ["batteries"], "other": ["other"],
}
HEADER = ("Time,Solar,Wind,Geothermal,Biomass,Biogas,Small hydro,Coal,Nuclear,Natural gas,"
          "Large hydro,Batteries,Imports,Other")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def sample(name: str) -> Payload:
    path = SAMPLES / name
    return Payload(body=path.read_bytes(), name=str(path))


def parse(name: str) -> ParseResult:
    return caiso.parse(sample(name))


def inline(body: str, name: str = "inline_20250209_fuelsource.csv") -> ParseResult:
    return caiso.parse(Payload(body=body.encode(), name=name))


def file_rows(name: str) -> list[dict[str, str]]:
    """The sample's rows read with the csv module, header lower-cased: the test's own reading."""
    text = (SAMPLES / name).read_text()
    return [{k.lower(): v for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def wide(result: ParseResult) -> pd.DataFrame:
    return result.readings.pivot(index="timestamp", columns="fuel", values="mw")


def steps(timestamps: pd.Series) -> set[pd.Timedelta]:
    return set(pd.Series(sorted(timestamps.unique())).diff().dropna())


def kinds(result: ParseResult) -> list[str]:
    return [a.kind for a in result.anomalies]


# -- output shape and values -------------------------------------------------------------

def test_a_normal_day_parses_without_anomalies() -> None:
    assert parse(NORMAL_DAY).anomalies == []


@pytest.mark.parametrize("name", [NORMAL_DAY, OTHER_SPELLING])
def test_every_value_matches_the_file(name: str) -> None:
    """Both header spellings; February is PST, so UTC = local + 8 h (worked out here, not by zoneinfo)."""
    table = wide(parse(name))
    day = pd.Timestamp(name.split("_")[1])
    rows = file_rows(name)
    assert len(rows) == len(table) == 288
    for row in rows:
        hours, minutes = map(int, row["time"].split(":"))
        at = (day + pd.Timedelta(hours=hours + 8, minutes=minutes)).tz_localize("UTC")
        for fuel, columns in COLUMNS_OF.items():
            assert table.at[at, fuel] == sum(float(row[c]) for c in columns), (row["time"], fuel)


def test_known_values_at_noon() -> None:
    """Numbers written into the sample's 12:00 row (= 20:00Z): 13329 solar, 291 + 175 biomass,
    207 + 1677 hydro, -4124 batteries charging, 3557 imports."""
    result = parse(NORMAL_DAY)
    noon = wide(result).loc[utc("2025-02-09 20:00")]
    assert noon["solar"] == 13329
    assert noon["biomass"] == 291 + 175
    assert noon["hydro"] == 207 + 1677
    assert noon["battery"] == -4124
    imports = result.net_imports.set_index("timestamp")["mw"]
    assert imports[utc("2025-02-09 20:00")] == 3557


def test_other_spelling_maps_gas_and_hydro_without_anomalies() -> None:
    result = parse(OTHER_SPELLING)
    assert {"gas", "hydro"} <= set(result.readings["fuel"])
    assert result.anomalies == []


def test_imports_are_net_imports_not_generation() -> None:
    result = parse(NORMAL_DAY)
    assert "imports" not in set(result.readings["fuel"]) and "unknown" not in set(result.readings["fuel"])
    assert set(result.readings["fuel"]) == set(COLUMNS_OF)
    assert len(result.net_imports) == 288
    expected = sum(float(r["imports"]) for r in file_rows(NORMAL_DAY))
    assert result.net_imports["mw"].sum() == expected


def test_negative_batteries_are_kept_as_charging() -> None:
    battery = parse(NORMAL_DAY).readings.query("fuel == 'battery'")["mw"]
    expected = [float(r["batteries"]) for r in file_rows(NORMAL_DAY)]
    assert battery.min() == min(expected) < 0
    assert (battery < 0).sum() == sum(v < 0 for v in expected)


def test_unknown_column_is_kept_as_unknown_with_an_anomaly() -> None:
    result = inline("Time,Solar,Hydrogen,Imports\n00:00,5,42,100\n00:05,6,43,101\n")
    unknown = result.readings.query("fuel == 'unknown'")
    assert list(unknown["mw"]) == [42, 43]
    assert kinds(result) == ["unknown_fuel"]
    assert "Hydrogen" in result.anomalies[0].message


# -- time ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, first, last, count", [
    (NORMAL_DAY, "2025-02-09 08:00", "2025-02-10 07:55", 288),   # PST, UTC-8
    (SPRING_DAY, "2025-03-09 08:00", "2025-03-10 06:55", 276),   # PST, then PDT from 03:00
    (FALL_DAY, "2025-11-02 07:00", "2025-11-03 07:55", 300),     # PDT, then PST from the second 01:00
])
def test_each_day_is_contiguous_in_utc(name: str, first: str, last: str, count: int) -> None:
    """No duplicated and no missing interval on normal and DST days: every step is 5 minutes."""
    timestamps = parse(name).readings["timestamp"]
    assert timestamps.nunique() == count
    assert timestamps.min() == utc(first) and timestamps.max() == utc(last)
    assert steps(timestamps) == {pd.Timedelta(minutes=5)}
    assert len(parse(name).readings) == count * 10


def test_spring_forward_day_jumps_from_0155_pst_to_0300_pdt() -> None:
    table = wide(parse(SPRING_DAY))
    rows = {r["time"]: r for r in file_rows(SPRING_DAY)}
    assert "02:00" not in rows and len(rows) == 276
    assert table.at[utc("2025-03-09 09:55"), "wind"] == float(rows["01:55"]["wind"])
    assert table.at[utc("2025-03-09 10:00"), "wind"] == float(rows["03:00"]["wind"])


def test_fall_back_day_repeated_hour_is_resolved_by_row_order() -> None:
    """First 01:00 is PDT (08:00Z), the second 01:00 is PST (09:00Z); their values differ."""
    table = wide(parse(FALL_DAY))
    rows = file_rows(FALL_DAY)
    first, second = [r for r in rows if r["time"] == "01:00"]
    assert first["wind"] != second["wind"]
    assert table.at[utc("2025-11-02 08:00"), "wind"] == float(first["wind"])
    assert table.at[utc("2025-11-02 09:00"), "wind"] == float(second["wind"])
    assert table.at[utc("2025-11-02 10:00"), "wind"] == float(next(r for r in rows if r["time"] == "02:00")["wind"])


def test_nonexistent_local_time_is_an_anomaly_not_a_crash() -> None:
    body = f"{HEADER}\n" + "".join(f"{t},1,2,3,4,5,6,7,8,9,10,11,12,13\n" for t in ("01:55", "02:30", "03:00"))
    result = inline(body, name="x_20250309.csv")
    assert sorted(result.readings["timestamp"].unique()) == [utc("2025-03-09 09:55"), utc("2025-03-09 10:00")]
    assert kinds(result) == ["nonexistent_time"]
    assert "02:30" in result.anomalies[0].message


def test_bad_time_value_is_an_anomaly() -> None:
    body = f"{HEADER}\n00:00,1,2,3,4,5,6,7,8,9,10,11,12,13\nnoon,1,2,3,4,5,6,7,8,9,10,11,12,13\n"
    result = inline(body)
    assert result.readings["timestamp"].nunique() == 1
    assert kinds(result) == ["bad_time"]


# -- partial, date, and bad bodies --------------------------------------------------------

def test_current_day_file_skips_empty_future_rows_silently() -> None:
    result = parse(CURRENT_DAY)
    filled = [r for r in file_rows(CURRENT_DAY) if r["solar"] != ""]
    assert len(filled) == 176 and len(file_rows(CURRENT_DAY)) == 288
    assert result.readings["timestamp"].nunique() == 176
    assert result.readings["timestamp"].max() == utc("2025-02-12 22:35")  # 14:35 PST
    assert len(result.net_imports) == 176
    assert result.anomalies == []


def test_current_url_takes_the_pacific_date_of_the_fetch_time() -> None:
    """06:30Z on the 13th is still the 12th in California."""
    payload = Payload(body=(SAMPLES / CURRENT_DAY).read_bytes(),
                      name="https://www.caiso.com/outlook/current/fuelsource.csv",
                      fetched_at=datetime(2025, 2, 13, 6, 30, tzinfo=timezone.utc))
    assert caiso.parse(payload).readings["timestamp"].min() == utc("2025-02-12 08:00")


@pytest.mark.parametrize("name", [
    "https://www.caiso.com/outlook/history/20250209/fuelsource.csv",
    "/var/archive/2024-01-01/caiso_2025-02-09_fuelsource.csv",
    "fuelsource_20250209.csv",
])
def test_day_comes_from_the_payload_name(name: str) -> None:
    payload = Payload(body=(SAMPLES / NORMAL_DAY).read_bytes(), name=name)
    assert caiso.parse(payload).readings["timestamp"].min() == utc("2025-02-09 08:00")


@pytest.mark.parametrize("name, fetched_at", [
    ("fuelsource.csv", None),
    ("https://www.caiso.com/outlook/current/fuelsource.csv", None),
])
def test_missing_date_is_a_parse_error(name: str, fetched_at: datetime | None) -> None:
    with pytest.raises(ParseError, match="no date"):
        caiso.parse(Payload(body=(SAMPLES / NORMAL_DAY).read_bytes(), name=name, fetched_at=fetched_at))


@pytest.mark.parametrize("body, message", [
    (b"Time,Solar,Wind,Geoth", "ends inside the header"),
    (b"Hour,Solar,Wind\n00:00,1,2\n", "no 'Time' column"),
    (b"Time,Solar,time\n00:00,1,00:00\n", "more than one .Time. column"),
    (f"{HEADER}\n".encode(), "no data rows"),
    (b"Time,Imports\n00:00,5\n", "no fuel columns"),
])
def test_bad_bodies_raise_a_readable_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        caiso.parse(Payload(body=body, name="x_20250209_fuelsource.csv"))


def test_truncated_file_keeps_complete_rows_and_notes_the_cut_one() -> None:
    result = parse(TRUNCATED)
    assert result.readings["timestamp"].nunique() == 124  # 00:00..10:15
    assert result.readings["timestamp"].max() == utc("2025-02-14 18:15")
    assert kinds(result) == ["truncated"]
    assert not (SAMPLES / TRUNCATED).read_bytes().endswith(b"\n")


@pytest.mark.parametrize("kept", ["1", "2", "23", "2395"])
def test_a_last_row_cut_inside_its_last_value_is_skipped_not_read_as_a_smaller_number(kept: str) -> None:
    """A full-width last line without its line break is cut: its 2395 may arrive as 2."""
    whole = f"{HEADER}\n00:00,1,2,3,4,5,6,7,8,9,10,11,12,13\n00:05,1,2,3,4,5,6,7,8,9,10,11,12,2395\n"
    result = inline(whole[:whole.index("2395") + len(kept)])
    assert set(result.readings["timestamp"]) == {utc("2025-02-09 08:00")}
    assert wide(result).loc[utc("2025-02-09 08:00"), "other"] == 13
    assert kinds(result) == ["truncated"]
    assert "00:05,1,2" in result.anomalies[0].message


def test_a_complete_file_keeps_its_last_row() -> None:
    result = inline(f"{HEADER}\n00:00,1,2,3,4,5,6,7,8,9,10,11,12,13\n00:05,1,2,3,4,5,6,7,8,9,10,11,12,2395\n")
    assert wide(result).loc[utc("2025-02-09 08:05"), "other"] == 2395
    assert result.anomalies == []


def test_short_row_inside_the_file_is_malformed_not_truncated() -> None:
    body = f"{HEADER}\n00:00,1,2,3,4,5,6,7,8,9,10,11,12,13\n00:05,1,2\n00:10,1,2,3,4,5,6,7,8,9,10,11,12,13\n"
    result = inline(body)
    assert result.readings["timestamp"].nunique() == 2
    assert kinds(result) == ["malformed_row"]


def test_non_numeric_values_are_anomalies_not_crashes() -> None:
    body = f"{HEADER}\n00:00,1,n/a,3,4,5,6,7,8,9,10,11,12,13\n00:05,1,2,3,4,5,6,7,8,9,10,11,#N/A,13\n"
    result = inline(body)
    table = wide(result)
    assert pd.isna(table.at[utc("2025-02-09 08:00"), "wind"])
    assert table.at[utc("2025-02-09 08:05"), "wind"] == 2
    assert list(result.net_imports["mw"]) == [12]
    assert sorted(kinds(result)) == ["non_numeric", "non_numeric"]


# -- fetching -----------------------------------------------------------------------------

def history_path(day: str) -> str:
    return f"/outlook/history/{day}/fuelsource.csv"


@pytest.fixture
def caiso_server(fake_iso, monkeypatch):
    monkeypatch.setenv("CAISO_BASE_URL", f"{fake_iso.url}/outlook")
    return fake_iso


def requested(server) -> list[str]:
    return [r.path for r in server.requests]


@pytest.mark.parametrize("now, last_success, days", [
    # 12:00 PST, last run 5 minutes ago: today only.
    ("2025-02-09 20:00", "2025-02-09 19:55", ["20250209"]),
    # First ever run: yesterday too.
    ("2025-02-09 20:00", None, ["20250208", "20250209"]),
    # 00:07 PST, last run at 00:02: yesterday's last rows may be missing.
    ("2025-02-10 08:07", "2025-02-10 08:02", ["20250209", "20250210"]),
    # 00:25 PST, last run at 00:20 (after the grace period): today only.
    ("2025-02-10 08:25", "2025-02-10 08:20", ["20250210"]),
    # Summer: Pacific midnight is 07:00Z.
    ("2025-07-01 07:10", "2025-07-01 07:05", ["20250630", "20250701"]),
])
def test_fetch_latest_requests_today_and_yesterday_after_midnight(
        caiso_server, now: str, last_success: str | None, days: list[str]) -> None:
    for day in days:
        caiso_server.serve(history_path(day), f"body {day}".encode())
    last = utc(last_success).to_pydatetime() if last_success else None
    payloads = caiso.fetch_latest(HttpClient(), utc(now).to_pydatetime(), last)
    assert requested(caiso_server) == [history_path(d) for d in days]
    assert [p.body for p in payloads] == [f"body {d}".encode() for d in days]


def test_fetched_payload_parses_with_the_date_from_its_url(caiso_server) -> None:
    caiso_server.serve(history_path("20250209"), (SAMPLES / NORMAL_DAY).read_bytes())
    now = utc("2025-02-09 20:00").to_pydatetime()
    [payload] = caiso.fetch_latest(HttpClient(), now, now - timedelta(minutes=5))
    assert caiso.parse(payload).readings["timestamp"].min() == utc("2025-02-09 08:00")


def test_today_404_just_after_midnight_is_normal(caiso_server) -> None:
    caiso_server.serve(history_path("20250209"), b"yesterday")
    client = HttpClient()
    payloads = caiso.fetch_latest(client, utc("2025-02-10 08:03").to_pydatetime(), None)
    assert [p.body for p in payloads] == [b"yesterday"]
    assert requested(caiso_server) == [history_path("20250209"), history_path("20250210")]
    assert client.errors == []


def test_yesterday_404_is_recorded_but_today_is_returned(caiso_server) -> None:
    caiso_server.serve(history_path("20250210"), b"today")
    client = HttpClient()
    payloads = caiso.fetch_latest(client, utc("2025-02-10 08:03").to_pydatetime(), None)
    assert [p.body for p in payloads] == [b"today"]
    assert len(client.errors) == 1 and "404" in client.errors[0] and "20250209" in client.errors[0]


def test_fetch_latest_raises_when_nothing_could_be_fetched(caiso_server) -> None:
    with pytest.raises(FetchError, match="404"):
        caiso.fetch_latest(HttpClient(), utc("2025-02-10 08:03").to_pydatetime(), None)


def test_backfill_chunks_are_single_days() -> None:
    assert caiso.backfill_chunks(date(2025, 3, 8), date(2025, 3, 11)) == [
        (date(2025, 3, 8), date(2025, 3, 9)), (date(2025, 3, 9), date(2025, 3, 10)),
        (date(2025, 3, 10), date(2025, 3, 11))]
    assert caiso.backfill_chunks(date(2025, 3, 8), date(2025, 3, 8)) == []


def test_fetch_range_fetches_each_day_and_fails_on_a_missing_one(caiso_server) -> None:
    for day in ("20250308", "20250309"):
        caiso_server.serve(history_path(day), day.encode())
    payloads = caiso.fetch_range(HttpClient(), date(2025, 3, 8), date(2025, 3, 10))
    assert [p.body for p in payloads] == [b"20250308", b"20250309"]
    with pytest.raises(FetchError, match="20250310"):
        caiso.fetch_range(HttpClient(), date(2025, 3, 9), date(2025, 3, 11))


def test_unreachable_host_is_reported_once_not_per_file(monkeypatch) -> None:
    monkeypatch.setenv("CAISO_BASE_URL", "http://127.0.0.1:9/outlook")  # nothing listens on port 9
    with pytest.raises(FetchError) as raised:
        caiso.fetch_latest(HttpClient(), utc("2025-02-10 08:03").to_pydatetime(), None)
    assert str(raised.value) == "unreachable: 127.0.0.1:9 (connection refused)"


def test_quoted_cells_and_a_stray_quote_do_not_derail_the_file() -> None:
    body = ('"Time","Solar","Wind","Imports"\n"00:00","1","2","3"\n'
            '00:05,1,"2,3\n00:10,4,5",6\n00:15,7,8,9\n')
    result = inline(body)
    table = wide(result)
    assert table.at[utc("2025-02-09 08:00"), "wind"] == 2
    assert table.at[utc("2025-02-09 08:05"), "wind"] == 2  # the unmatched quote stays in its cell
    assert table.at[utc("2025-02-09 08:10"), "wind"] == 5
    assert table.at[utc("2025-02-09 08:15"), "wind"] == 8
    assert result.anomalies == []


def test_trailing_midnight_row_is_the_next_day_and_leaves_the_first_interval_alone() -> None:
    """CAISO has served fuelsource.csv with a last `00:00` row: the next midnight. Read as
    the day's own 00:00 it overwrote the first interval."""
    rows = [("00:00", 100), ("00:05", 200), ("23:55", 300), ("00:00", 999)]
    body = f"{HEADER}\n" + "".join(f"{t},0,{wind},0,0,0,0,0,0,0,0,0,0,0\n" for t, wind in rows)
    for name in ("x_20250209.csv", "x_20250309.csv"):  # an ordinary day, and a DST day (the slow path)
        table = wide(inline(body, name=name))
        first = caiso.local_to_utc(caiso.day_of(Payload(body=b"", name=name)), 0)
        next_midnight = caiso.local_to_utc(caiso.day_of(Payload(body=b"", name=name)) + timedelta(days=1), 0)
        assert table.at[pd.Timestamp(first), "wind"] == 100
        assert table.at[pd.Timestamp(next_midnight), "wind"] == 999
        assert len(table) == 4
