"""Forecast-input parsers on real recordings (../shared/fixtures) and hand-written bodies
(tests/fixtures/openmeteo, tests/fixtures/EIA): every value and time is checked against the
file itself, read here independently of the parser, and every row carries its issue time."""
from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from crawler.model import ParseError, Payload
from crawler.parsers import (caiso_forecast, eia_forecast, ercot_forecast, isone_forecast, miso_forecast,
                             nyiso_forecast, openmeteo, pjm_forecast)
from energy_data.weather_points import points_by_region
from tests.conftest import HAND_WRITTEN

UTC = timezone.utc
PACIFIC, EASTERN = ZoneInfo("America/Los_Angeles"), ZoneInfo("America/New_York")
EST = timezone(timedelta(hours=-5))
LATE = datetime(2030, 1, 1, tzinfo=UTC)  # a fetch long after: the body's own issue time counts


def payload(path: Path, name: str | None = None, fetched_at: datetime | None = LATE) -> Payload:
    body = path.read_bytes()
    if path.suffix == ".gz":
        body = gzip.decompress(body)
    return Payload(body=body, name=name or str(path), fetched_at=fetched_at)


def by_target(rows: pd.DataFrame, region: str, kind: str) -> dict[pd.Timestamp, float]:
    part = rows[(rows["region"] == region) & (rows["kind"] == kind)]
    return dict(zip(part["timestamp"], part["mw"]))


# -- CAISO ------------------------------------------------------------------------------

def test_caiso_day_ahead_wind_and_solar_sum_the_trading_hubs(shared_fixtures):
    path = shared_fixtures / "CAISO" / "20250204_20250211_SLD_REN_FCST_DAM_20250214_04_52_10_v1.zip"
    with zipfile.ZipFile(path) as archive:
        lines = list(csv.DictReader(io.StringIO(archive.read(archive.namelist()[0]).decode())))
    expected: dict[tuple, float] = {}
    for line in lines:
        key = (line["RENEWABLE_TYPE"].lower(), pd.Timestamp(line["INTERVALSTARTTIME_GMT"]).tz_convert("UTC"))
        expected[key] = expected.get(key, 0.0) + float(line["MW"])
    rows = caiso_forecast.parse(payload(path)).operator_forecasts
    assert len(rows) == len(expected) == 2 * 168
    for kind in ("wind", "solar"):
        got = by_target(rows, "CISO", kind)
        assert got == pytest.approx({ts: mw for (k, ts), mw in expected.items() if k == kind})
    # DAM of operating day D: issued D-1 at 13:00 Pacific (its results' publication).
    first = rows[rows["timestamp"] == pd.Timestamp("2025-02-04T08:00Z")]
    assert set(first["issued_at"]) == {pd.Timestamp(datetime(2025, 2, 3, 13, tzinfo=PACIFIC))}
    assert (rows["issued_at"] < rows["timestamp"]).all()


def test_caiso_seven_day_demand_of_caiso_and_of_weim_areas(shared_fixtures):
    path = shared_fixtures / "CAISO" / "20250219_20250227_SLD_FCST_7DA_20250221_01_09_58_v1.zip"
    table = pd.read_csv(path)
    rows = caiso_forecast.parse(payload(path)).operator_forecasts
    for area, region in (("CA ISO-TAC", "CISO"), ("BPAT", "BPAT"), ("LADWP", "LDWP"), ("PACW", "PACW")):
        part = table[table["TAC_AREA_NAME"] == area]
        expected = dict(zip(pd.to_datetime(part["INTERVALSTARTTIME_GMT"], utc=True), part["MW"].astype(float)))
        assert by_target(rows, region, "load") == expected
    assert "PGE-TAC" not in set(rows["region"]) and set(rows["kind"]) == {"load"}
    # No run time in 7DA rows: the file's generation time (read as Pacific, the later reading).
    assert set(rows["issued_at"]) == {pd.Timestamp(datetime(2025, 2, 21, 1, 9, 58, tzinfo=PACIFIC))}


def test_caiso_an_oasis_error_file_is_a_parse_error():
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w") as archive:
        archive.writestr("INVALID_REQUEST.xml", "<m:OASISReport><m:ERR_CODE>1000</m:ERR_CODE>"
                                                "<m:ERR_DESC>No data returned for the specified selection</m:ERR_DESC>"
                                                "</m:OASISReport>")
    with pytest.raises(ParseError, match="No data returned"):
        caiso_forecast.parse(Payload(body.getvalue(), "https://oasis.caiso.com/oasisapi/SingleZip?x=1"))


# -- MISO -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, kind, issued", [
    ("DataBrokerServicesgetWindForecast.asmx.json", "wind", datetime(2025, 3, 10, 4, tzinfo=EST)),
    ("DataBrokerServicesgetSolarForecast.asmx.json", "solar", datetime(2025, 3, 10, 6, tzinfo=EST)),
])
def test_miso_wind_and_solar_forecasts_in_fixed_est_issued_at_their_refid(shared_fixtures, name, kind, issued):
    path = shared_fixtures / "MISO" / name
    doc = json.loads(path.read_bytes())
    expected = {pd.Timestamp(datetime.strptime(r["DateTimeEST"], "%Y-%m-%d %I:%M:%S %p").replace(tzinfo=EST)):
                float(r["Value"]) for r in doc["Forecast"]}
    rows = miso_forecast.parse(payload(path)).operator_forecasts
    assert by_target(rows, "MISO", kind) == expected and len(rows) == 48
    assert set(rows["issued_at"]) == {pd.Timestamp(issued)}


def test_miso_load_report_keeps_the_miso_mtlf_issued_at_the_end_of_its_published_day(shared_fixtures):
    path = shared_fixtures / "MISO" / "20250310_df_al.xls"
    sheet = pd.read_excel(path, header=None, engine="xlrd")  # pandas reads the market days as dates
    data = sheet[sheet[0].map(lambda cell: isinstance(cell, datetime)) & pd.to_numeric(sheet[1], errors="coerce").notna()]
    days = pd.to_datetime(data[0])
    starts = (days + pd.to_timedelta(data[1].astype(float) - 1, unit="h")).dt.tz_localize(EST)
    expected = dict(zip(starts, data[14].astype(float)))  # column 14: "MISO MTLF (MWh)"
    rows = miso_forecast.parse(payload(path)).operator_forecasts
    assert by_target(rows, "MISO", "load") == expected and len(expected) == 168
    assert expected[pd.Timestamp("2025-03-10T05:00Z")] == 63085.0
    assert set(rows["issued_at"]) == {pd.Timestamp(datetime(2025, 3, 11, tzinfo=EST))}
    fetched_earlier = miso_forecast.parse(payload(path, fetched_at=datetime(2025, 3, 10, 15, tzinfo=UTC)))
    assert set(fetched_earlier.operator_forecasts["issued_at"]) == {pd.Timestamp("2025-03-10T15:00Z")}


# -- PJM --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, kind, field", [
    ("pjm_wind_forecast_2025-02-24.json", "wind", "wind_forecast_mwh"),
    ("pjm_solar_forecast_2025-02-24.json", "solar", "solar_forecast_mwh"),
])
def test_pjm_wind_and_solar_keep_every_evaluation_with_its_time(shared_fixtures, name, kind, field):
    path = shared_fixtures / "PJM" / name
    items = json.loads(path.read_bytes())["items"]
    expected = {(pd.Timestamp(i["evaluated_at_utc"] + "Z"), pd.Timestamp(i["datetime_beginning_utc"] + "Z")): i[field]
                for i in items}
    rows = pjm_forecast.parse(payload(path)).operator_forecasts
    got = {(r.issued_at, r.timestamp): r.mw for r in rows.itertuples()}
    assert got == expected and set(rows["kind"]) == {kind}
    assert len(rows) == len(items) and rows["issued_at"].nunique() == len({i["evaluated_at_utc"] for i in items})


def test_pjm_seven_day_load_forecast_of_the_rto(shared_fixtures):
    path = shared_fixtures / "PJM" / "compressed_pjm_load_forecast_2025-03-19.gz"
    items = json.loads(gzip.decompress(path.read_bytes()))
    expected = {pd.Timestamp(i["forecast_datetime_beginning_utc"] + "Z"): float(i["forecast_load_mw"])
                for i in items if i["forecast_area"] == "RTO_COMBINED"}
    rows = pjm_forecast.parse(payload(path)).operator_forecasts
    assert by_target(rows, "PJM", "load") == expected and len(expected) == 168
    assert set(rows["issued_at"]) == {pd.Timestamp("2025-03-19T09:17:53Z")}


# -- ISO-NE -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, kind, generated", [
    ("seven_day_wind_power_forecast_20250225.csv", "wind", "02/25/2025 10:08:14"),
    ("seven_day_solar_power_forecast_20250225.csv", "solar", "02/25/2025 10:02:35"),
])
def test_isone_seven_day_reports_by_local_hour_ending(shared_fixtures, name, kind, generated):
    path = shared_fixtures / "ISONE" / name
    lines = list(csv.reader(io.StringIO(path.read_text())))
    dates = next(line for line in lines if line[:2] == ["D", "Date"])[3:]
    expected = {}
    for line in lines:
        if line[0] == "D" and line[1] == "" and line[2].isdigit():
            for day, cell in zip(dates, line[3:]):
                if cell:
                    wall = datetime.strptime(day, "%m/%d/%Y") + timedelta(hours=int(line[2]) - 1)
                    expected[pd.Timestamp(wall.replace(tzinfo=EASTERN))] = float(cell)
    rows = isone_forecast.parse(payload(path)).operator_forecasts
    assert by_target(rows, "ISNE", kind) == expected and len(expected) == 168
    assert set(rows["issued_at"]) == {pd.Timestamp(datetime.strptime(generated, "%m/%d/%Y %H:%M:%S")
                                                   .replace(tzinfo=EST))}


def test_isone_report_without_its_closing_line_keeps_only_whole_lines(shared_fixtures):
    """The report ends with its "T","24 lines" line (and no line break): without it the body is
    cut, and the last line, here hour ending 04 cut inside Friday's 519 (read as 5), is left out."""
    path = shared_fixtures / "ISONE" / "seven_day_wind_power_forecast_20250225.csv"
    text = path.read_text()
    assert text.endswith('"T","24 lines"')
    whole = by_target(isone_forecast.parse(payload(path)).operator_forecasts, "ISNE", "wind")
    hour_04 = '"D",,04,,340,99,519,'
    cut = text[:text.index(hour_04) + len(hour_04) - 3]
    result = isone_forecast.parse(Payload(body=cut.encode(), name=str(path), fetched_at=LATE))
    rows = by_target(result.operator_forecasts, "ISNE", "wind")
    hours_01_to_03 = {t: v for t, v in whole.items() if t.tz_convert(EASTERN).hour in (0, 1, 2)}
    assert rows == hours_01_to_03 and len(rows) == 3 * 7  # Tuesday's column is empty
    assert [a.kind for a in result.anomalies] == ["truncated"]


def test_isone_load_forecasts_carry_their_creation_date(shared_fixtures):
    path = shared_fixtures / "ISONE" / "wsclient_systemload_20250317.json"
    data = json.loads(path.read_bytes())[0]["data"]
    expected = {(pd.Timestamp(r["CreationDate"]), pd.Timestamp(r["BeginDate"])): float(r["Mw"])
                for r in data["forecast"] + data["priorDay"]}
    rows = isone_forecast.parse(payload(path)).operator_forecasts
    assert {(r.issued_at, r.timestamp): r.mw for r in rows.itertuples()} == expected
    assert rows["issued_at"].nunique() == 2  # yesterday's forecast and today's, both kept


# -- NYISO, ERCOT, EIA --------------------------------------------------------------------

def test_nyiso_isolf_total_by_local_hour(shared_fixtures):
    path = shared_fixtures / "NYISO" / "20250219isolf.csv"
    table = pd.read_csv(path)
    expected = {pd.Timestamp(datetime.strptime(t, "%m/%d/%Y %H:%M").replace(tzinfo=EASTERN)): float(v)
                for t, v in zip(table["Time Stamp"], table["NYISO"])}
    rows = nyiso_forecast.parse(payload(path)).operator_forecasts
    assert by_target(rows, "NYIS", "load") == expected and len(expected) == 144
    # No issue time in the file: at most the end of its day (Eastern), or the fetch if earlier.
    assert set(rows["issued_at"]) == {pd.Timestamp(datetime(2025, 2, 20, tzinfo=EASTERN))}
    fetched = nyiso_forecast.parse(payload(path, fetched_at=datetime(2025, 2, 19, 14, tzinfo=UTC)))
    assert set(fetched.operator_forecasts["issued_at"]) == {pd.Timestamp("2025-02-19T14:00Z")}


def test_nyiso_isolf_cut_inside_its_last_value_leaves_that_hour_out(shared_fixtures):
    """Every complete isolf file ends with a line break: a last line without one is cut (its
    16465 MW arriving as 1) and is left out."""
    path = shared_fixtures / "NYISO" / "20250219isolf.csv"
    body = path.read_bytes()
    assert body.endswith(b",16465\n")
    whole = by_target(nyiso_forecast.parse(payload(path)).operator_forecasts, "NYIS", "load")
    result = nyiso_forecast.parse(Payload(body=body[:-len(b"6465\n")], name=str(path), fetched_at=LATE))
    last = max(whole)
    assert by_target(result.operator_forecasts, "NYIS", "load") == {t: v for t, v in whole.items() if t != last}
    assert whole[last] == 16465 and [a.kind for a in result.anomalies] == ["truncated"]


def test_ercot_current_load_forecast_issued_at_last_updated(shared_fixtures):
    path = shared_fixtures / "ERCOT" / "loadForecastVsActual_2024-11-24.json"
    doc = json.loads(path.read_bytes())
    expected = {pd.Timestamp(r["epoch"] - 3_600_000, unit="ms", tz="UTC"): r["currentLoadForecast"]
                for day in ("previousDay", "currentDay", "nextDay") for r in doc[day]["data"]}
    rows = ercot_forecast.parse(payload(path)).operator_forecasts
    assert by_target(rows, "ERCO", "load") == pytest.approx(expected) and len(expected) == 72
    assert set(rows["issued_at"]) == {pd.Timestamp("2024-11-25T08:15:02Z")}


def test_eia_day_ahead_demand_forecast_issued_by_7_eastern_of_its_day():
    path = HAND_WRITTEN / "EIA" / "handwritten_region-data_DF_CISO_PJM_2025-03-10.json"
    parsed = eia_forecast.parse(payload(path, fetched_at=None))
    rows = parsed.operator_forecasts
    ciso = by_target(rows, "CISO", "load")
    assert ciso[pd.Timestamp("2025-03-10T02:00Z")] == 22110.0  # period 03 is the hour ending 03:00 UTC
    assert by_target(rows, "PJM", "load")[pd.Timestamp("2025-03-10T03:00Z")] == 88120.0  # PJM labels hour starts
    assert len(rows) == 11 and any(a.kind == "missing_value" for a in parsed.anomalies)
    issued = dict(zip(rows["timestamp"][rows["region"] == "CISO"], rows["issued_at"][rows["region"] == "CISO"]))
    assert issued[pd.Timestamp("2025-03-10T03:00Z")] == pd.Timestamp(datetime(2025, 3, 9, 7, tzinfo=EASTERN))
    assert issued[pd.Timestamp("2025-03-10T04:00Z")] == pd.Timestamp(datetime(2025, 3, 10, 7, tzinfo=EASTERN))
    fetched = eia_forecast.parse(payload(path, fetched_at=datetime(2025, 3, 9, 20, tzinfo=UTC))).operator_forecasts
    assert fetched["issued_at"].max() == pd.Timestamp("2025-03-09T20:00Z")


# -- Open-Meteo -----------------------------------------------------------------------------

def isne_url(host: str = "https://api.open-meteo.com") -> str:
    points = points_by_region()["ISNE"]
    return (f"{host}/v1/forecast?latitude={','.join(f'{p.latitude:g}' for p in points)}"
            f"&longitude={','.join(f'{p.longitude:g}' for p in points)}&timezone=GMT&wind_speed_unit=ms")


def test_openmeteo_live_forecast_by_point_issued_at_the_fetch():
    path = HAND_WRITTEN / "openmeteo" / "handwritten_forecast_ISNE.json"
    fetched = datetime(2025, 3, 10, 12, 7, tzinfo=UTC)
    rows = openmeteo.parse(payload(path, isne_url(), fetched)).weather_forecasts
    locations = json.loads(path.read_bytes())
    points = [p.point for p in points_by_region()["ISNE"]]
    assert sorted(rows["point"].unique()) == sorted(points)
    assert set(rows["issued_at"]) == {pd.Timestamp(fetched)}
    for point, location in zip(points, locations):
        mine = rows[rows["point"] == point].set_index("timestamp")
        hourly = location["hourly"]
        for i, label in enumerate(hourly["time"]):
            at = pd.Timestamp(label + "Z")
            # instantaneous values at their label, which starts the hour
            assert mine.loc[at, "temperature_2m"] == hourly["temperature_2m"][i]
            assert mine.loc[at, "cloud_cover"] == hourly["cloud_cover"][i]
            # radiation and precipitation cover the hour before their label
            assert mine.loc[at - timedelta(hours=1), "shortwave_radiation"] == hourly["shortwave_radiation"][i]
            assert mine.loc[at - timedelta(hours=1), "precipitation"] == hourly["precipitation"][i]
    last = rows[(rows["point"] == points[5]) & (rows["timestamp"] == pd.Timestamp("2025-03-10T15:00Z"))]
    assert last["wind_speed_100m"].isna().all() and last["wind_speed_10m"].notna().all()  # null stays missing


def test_openmeteo_previous_runs_issued_n_days_before_plus_the_publication_delay():
    path = HAND_WRITTEN / "openmeteo" / "handwritten_previous_runs_ISNE.json"
    rows = openmeteo.parse(payload(path, isne_url("https://previous-runs-api.open-meteo.com"), None)).weather_forecasts
    hourly = json.loads(path.read_bytes())[0]["hourly"]
    maine = rows[rows["point"] == "ISNE_W_MAINE"]
    at = pd.Timestamp("2025-03-10T13:00Z")
    for days in (1, 2):
        issued = at + timedelta(hours=1) - timedelta(days=days) + timedelta(hours=8)
        row = maine[(maine["timestamp"] == at) & (maine["issued_at"] == issued)]
        assert row["temperature_2m"].tolist() == [hourly[f"temperature_2m_previous_day{days}"][1]]
        assert row["shortwave_radiation"].tolist() == [hourly[f"shortwave_radiation_previous_day{days}"][2]]
        assert (row["issued_at"] < row["timestamp"]).all()
    assert rows["issued_at"].nunique() == 2 * 4  # two leads x (3 labels + the hour before the first)


def test_openmeteo_refuses_errors_other_units_and_answers_out_of_order():
    error = HAND_WRITTEN / "openmeteo" / "handwritten_error.json"
    with pytest.raises(ParseError, match="invalid String value"):
        openmeteo.parse(payload(error, isne_url()))
    path = HAND_WRITTEN / "openmeteo" / "handwritten_forecast_ISNE.json"
    doc = json.loads(path.read_bytes())
    doc[0]["hourly_units"]["wind_speed_10m"] = "km/h"
    with pytest.raises(ParseError, match="km/h"):
        openmeteo.parse(Payload(json.dumps(doc).encode(), isne_url(), LATE))
    swapped = json.loads(path.read_bytes())
    swapped[0], swapped[3] = swapped[3], swapped[0]
    with pytest.raises(ParseError, match="out of order"):
        openmeteo.parse(Payload(json.dumps(swapped).encode(), isne_url(), LATE))
    with pytest.raises(ParseError, match="cannot tell the points"):
        openmeteo.parse(payload(path, "recorded.json"))
