"""EIA-930 fuel-type-data: parse against recorded EIA responses (and EIA-shaped synthetic
edge cases), fetch against a loopback server."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import ParseError, Payload
from crawler.parsers import eia
from tests.conftest import REPO

ROUTE = "/electricity/rto/fuel-type-data/data/"
KEY = "test-key-5f3a9c"


def parse_bytes(body: bytes, name: str = "eia.json"):
    return eia.parse(Payload(body=body, name=name))


def parse_doc(doc: object):
    return parse_bytes(json.dumps(doc).encode())


def recorded(shared_fixtures, name: str) -> bytes:
    return (shared_fixtures / "EIA" / name).read_bytes()


def body_of(rows: list[dict], total: int | str | None = None) -> dict:
    return {"response": {"total": len(rows) if total is None else total, "frequency": "hourly",
                         "data": rows}}


def row(period: str = "2024-05-01T13", respondent: str = "CISO", fueltype: str = "NG",
        value: object = 100) -> dict:
    return {"period": period, "respondent": respondent, "fueltype": fueltype, "value": value,
            "value-units": "megawatthours"}


def kinds(result) -> dict[str, int]:
    return {a.kind: a.count for a in result.anomalies}


def value_at(readings: pd.DataFrame, region: str, start: str, fuel: str) -> float:
    hit = readings[(readings["region"] == region) & (readings["timestamp"] == pd.Timestamp(start))
                   & (readings["fuel"] == fuel)]
    assert len(hit) == 1
    return float(hit["mw"].iloc[0])


# -- real responses -----------------------------------------------------------------------

PACW = "PACW_fuel-type-data_2023-01-01_2023-01-08.json"
PACW_FUELS = {"NG": "gas", "OTH": "other", "SUN": "solar", "WAT": "hydro", "WND": "wind"}


def test_pacw_week_every_row_with_its_value_an_hour_earlier(shared_fixtures):
    body = recorded(shared_fixtures, PACW)
    rows = json.loads(body)["response"]["data"]
    result = parse_bytes(body, PACW)
    assert len(rows) == 845 and len(result.readings) == 845
    assert result.anomalies == []
    for source_row in (rows[0], rows[3], rows[422], rows[-1]):
        # `period` is the hour ending: the interval starts one hour before it.
        start = pd.Timestamp(source_row["period"] + ":00Z") - pd.Timedelta(hours=1)
        fuel = PACW_FUELS[source_row["fueltype"]]
        assert value_at(result.readings, "PACW", str(start), fuel) == float(source_row["value"])


def test_pacw_period_2023_01_01t00_is_the_hour_from_2022_12_31t23(shared_fixtures):
    readings = parse_bytes(recorded(shared_fixtures, PACW)).readings
    assert value_at(readings, "PACW", "2022-12-31T23:00Z", "hydro") == 476.0  # "value": "476"
    starts = readings["timestamp"].drop_duplicates().sort_values()
    assert list(starts) == list(pd.date_range("2022-12-31T23:00Z", "2023-01-07T23:00Z", freq="h"))
    assert readings["mw"].dtype == "float64"


def test_erco_gas_numeric_values(shared_fixtures):
    body = recorded(shared_fixtures, "ERCO_NG_fuel-type-data_2022-02-28.json")
    rows = json.loads(body)["response"]["data"]
    readings = parse_bytes(body).readings
    assert len(rows) == len(readings) == 25 and set(readings["fuel"]) == {"gas"}
    assert isinstance(rows[0]["value"], int)
    assert value_at(readings, "ERCO", "2022-02-27T23:00Z", "gas") == rows[0]["value"]
    assert value_at(readings, "ERCO", "2022-02-28T23:00Z", "gas") == rows[-1]["value"]


@pytest.mark.parametrize("name, kind", [
    ("PACW_region-data_D_2023-01-01_2023-01-08.json", "region-data"),
    ("synthetic/US_NW_BPAT-consumption.json", "region-data"),
    ("US-FLA-FPC_US-FLA-FPL_exchange.json", "interchange-data"),
])
def test_demand_or_interchange_response_is_a_parse_error(shared_fixtures, name, kind):
    # Decision: a body from another EIA route is the wrong file, not "no generation".
    with pytest.raises(ParseError, match=f"no 'fueltype'.*{kind}"):
        parse_bytes(recorded(shared_fixtures, name))


# -- synthetic edge cases (EIA's shape, made-up content) -----------------------------------

def test_null_value_is_skipped_and_counted(shared_fixtures):
    result = parse_bytes(recorded(shared_fixtures, "synthetic/US-NW-PGE-with-nulls.json"))
    assert result.readings.to_dict("records") == [
        {"region": "PGE", "timestamp": pd.Timestamp("2022-10-31T11:00Z"), "fuel": "gas", "mw": 400.0}]
    assert kinds(result) == {"missing_value": 1}


@pytest.mark.parametrize("name", ["synthetic/US_CAR_SC-nuclear.json", "synthetic/US_NW_AVRN-other.json"])
def test_empty_data_is_an_empty_result_without_error(shared_fixtures, name):
    result = parse_bytes(recorded(shared_fixtures, name))
    assert result.readings.empty and result.anomalies == []


def test_empty_object_is_a_shape_error(shared_fixtures):
    with pytest.raises(ParseError, match="EIA: unexpected JSON shape: "):
        parse_bytes(recorded(shared_fixtures, "synthetic/US_NW_AVRN.json"))


@pytest.mark.parametrize("name, code", [
    ("synthetic/US_NW_AVRN-wind.json", "WIN"),
    ("synthetic/US_NW_BPAT-wind.json", "WIND"),
    ("synthetic/US_SMTH-coal.json", "COAL"),
])
def test_odd_fuel_codes_are_unknown_not_guessed(shared_fixtures, name, code):
    result = parse_bytes(recorded(shared_fixtures, name))
    assert set(result.readings["fuel"]) == {"unknown"} and len(result.readings) == 2
    assert kinds(result) == {"unknown_fuel": 2} and repr(code) in result.anomalies[0].message


def test_negative_hydro_is_kept_as_reported(shared_fixtures):
    readings = parse_bytes(recorded(shared_fixtures, "synthetic/US_SW_DEAA-hydro.json")).readings
    assert value_at(readings, "DEAA", "2022-10-31T11:00Z", "hydro") == -900.0


def test_respondent_outside_the_region_list_is_skipped_and_counted(shared_fixtures):
    result = parse_bytes(recorded(shared_fixtures, "synthetic/US_CAL_IID-battery_storage.json"))
    assert result.readings.empty
    assert kinds(result) == {"unknown_region": 1} and "(EIA)" in result.anomalies[0].message


# -- hand-written bodies --------------------------------------------------------------------

@pytest.mark.parametrize("code, fuel", [
    ("COL", "coal"), ("NG", "gas"), ("NUC", "nuclear"), ("OIL", "oil"), ("WAT", "hydro"),
    ("SUN", "solar"), ("WND", "wind"), ("GEO", "geothermal"), ("BAT", "battery"),
    ("PS", "hydro_storage"), ("OES", "battery"), ("SNB", "solar"), ("WNB", "wind"),
    ("OTH", "other"), ("UNK", "unknown"),
])
def test_every_eia_fuel_code_maps_into_the_vocabulary(code, fuel):
    result = parse_doc(body_of([row(fueltype=code, value="-12")]))
    assert result.readings[["fuel", "mw"]].to_dict("records") == [{"fuel": fuel, "mw": -12.0}]
    assert result.anomalies == []


def test_solar_with_battery_is_added_to_solar():
    readings = parse_doc(body_of([row(fueltype="SUN", value=300), row(fueltype="SNB", value="20")])).readings
    assert value_at(readings, "CISO", "2024-05-01T12:00Z", "solar") == 320.0


def test_several_respondents_in_one_body_keep_their_regions():
    readings = parse_doc(body_of([row(respondent="CISO"), row(respondent="MISO", value=7)])).readings
    assert value_at(readings, "MISO", "2024-05-01T12:00Z", "gas") == 7.0
    assert set(readings["region"]) == {"CISO", "MISO"}


def test_repeated_row_keeps_the_last_and_reports_it():
    result = parse_doc(body_of([row(value=1), row(fueltype="NUC", value=5), row(value=2)]))
    assert value_at(result.readings, "CISO", "2024-05-01T12:00Z", "gas") == 2.0
    assert kinds(result) == {"duplicate_interval": 1}


def test_unreadable_period_or_value_is_skipped_and_counted():
    result = parse_doc(body_of([row(), row(period="2024-05-01 13:00", fueltype="NUC"),
                                row(fueltype="WND", value="n/a")]))
    assert len(result.readings) == 1 and kinds(result) == {"malformed_row": 2}


@pytest.mark.parametrize("body, text", [
    (b"[]", "unexpected JSON shape: top level is list"),
    (b'{"response": {"total": 0}}', "unexpected JSON shape: no 'response.data'"),
    (b'{"response": {"data": "none"}}', "unexpected JSON shape"),
])
def test_body_that_is_not_an_eia_response_is_a_parse_error(body, text):
    with pytest.raises(ParseError, match=re.escape(text)):
        parse_bytes(body)


@pytest.mark.parametrize("doc, text", [
    ({"error": "Invalid facet 'respondnt'.", "code": 400}, "Invalid facet 'respondnt'. (code 400)"),
    ({"error": {"code": "API_KEY_INVALID", "message": "An invalid api_key was supplied."}},
     "An invalid api_key was supplied."),
    ({"response": {"total": 0}, "warnings": [{"warning": "no data", "description": "Invalid route."}]},
     "no data: Invalid route."),
])
def test_eia_error_bodies_are_parse_errors_carrying_eias_text(doc, text):
    with pytest.raises(ParseError, match=re.escape(text)):
        parse_doc(doc)


def test_paging_warning_beside_data_is_not_an_anomaly_but_other_warnings_are():
    doc = body_of([row()], total=6000)
    doc["response"]["warnings"] = [{"warning": "incomplete return",
                                    "description": "The API can only return 5000 rows in JSON format."}]
    assert parse_doc(doc).anomalies == []
    doc["response"]["warnings"] = [{"warning": "deprecated", "description": "use v3"}]
    assert kinds(parse_doc(doc)) == {"source_warning": 1}


def test_local_time_frequency_is_refused():
    doc = body_of([row(period="2024-05-01T13-07")])
    doc["response"]["frequency"] = "local-hourly"
    with pytest.raises(ParseError, match="local-hourly"):
        parse_doc(doc)


def test_respondents_are_the_migrations_regions_without_heco_and_prepa():
    sql = (REPO / "database" / "migrations" / "0003_regions.sql").read_text()
    start = sql.index("INSERT INTO region (code")
    region_block = sql[start:sql.index(";", start)]
    codes = re.findall(r"^\s+\('([A-Z]+)',", region_block, flags=re.MULTILINE)
    assert set(codes) - set(eia.RESPONDENTS) == {"HECO", "PREPA"}
    assert set(eia.RESPONDENTS) <= set(codes) and len(set(eia.RESPONDENTS)) == len(eia.RESPONDENTS)


# -- fetch --------------------------------------------------------------------------------

@pytest.fixture
def eia_server(fake_iso, monkeypatch):
    monkeypatch.setenv("EIA_BASE_URL", fake_iso.url)
    monkeypatch.setenv("EIA_API_KEY", KEY)
    monkeypatch.setattr(eia, "RESPONDENTS", ("CISO", "PACW"))
    return fake_iso


def serve(server, doc: dict, **kwargs) -> None:
    server.serve(ROUTE, json.dumps(doc).encode(), content_type="application/json", **kwargs)


def query(request) -> dict[str, str]:
    return {k: v[0] for k, v in request.query.items()}


NOW = datetime(2024, 5, 3, 14, 37, tzinfo=timezone.utc)


def test_latest_asks_each_respondent_for_48_hours_with_the_key_kept_secret(eia_server):
    serve(eia_server, body_of([row()]))
    payloads = eia.fetch_latest(HttpClient(), NOW, None)
    assert [query(r)["facets[respondent][]"] for r in eia_server.requests] == ["CISO", "PACW"]
    asked = query(eia_server.requests[0])
    assert asked == {
        "frequency": "hourly", "data[0]": "value", "facets[respondent][]": "CISO",
        "start": "2024-05-01T14", "end": "2024-05-03T14", "sort[0][column]": "period",
        "sort[0][direction]": "asc", "offset": "0", "length": "5000", "api_key": KEY,
    }
    assert len(payloads) == 2
    for payload in payloads:
        assert KEY not in payload.name and "api_key=REDACTED" in payload.name
        assert payload.name.startswith(eia_server.url + ROUTE)


def test_pages_are_followed_with_offset_while_rows_remain(eia_server):
    # The loopback server answers every page with the same two rows of "3" (a string, as EIA
    # sends it): page 1 (offset 0) then page 2 (offset 2) reaches the total.
    serve(eia_server, body_of([row(), row(fueltype="NUC")], total="3"))
    payloads = eia.fetch_range(HttpClient(), date(2024, 5, 1), date(2024, 6, 1))
    offsets = [(query(r)["facets[respondent][]"], query(r)["offset"]) for r in eia_server.requests]
    assert offsets == [("CISO", "0"), ("CISO", "2"), ("PACW", "0"), ("PACW", "2")]
    assert len(payloads) == 4


def test_range_asks_for_the_hours_ending_inside_it(eia_server):
    serve(eia_server, body_of([]))
    eia.fetch_range(HttpClient(), date(2024, 5, 1), date(2024, 6, 1))
    asked = query(eia_server.requests[0])
    # Hours starting 2024-05-01T00Z .. 2024-05-31T23Z end at 05-01T01 .. 06-01T00.
    assert (asked["start"], asked["end"]) == ("2024-05-01T01", "2024-06-01T00")


def test_one_failing_respondent_is_noted_and_the_others_kept(eia_server):
    serve(eia_server, body_of([row(respondent="PACW")]), fail_first=[404])
    client = HttpClient()
    payloads = eia.fetch_latest(client, NOW, None)
    assert len(payloads) == 1 and parse_bytes(payloads[0].body).readings["region"].tolist() == ["PACW"]
    assert len(client.errors) == 1 and client.errors[0].startswith("EIA CISO: HTTP 404")
    assert KEY not in client.errors[0]


def test_every_respondent_failing_is_a_fetch_error(eia_server):
    client = HttpClient()
    with pytest.raises(FetchError, match="all 2 respondents failed"):
        eia.fetch_latest(client, NOW, None)
    assert KEY not in " ".join(client.errors)


def test_missing_key_is_a_fetch_error_before_any_request(eia_server, monkeypatch):
    monkeypatch.delenv("EIA_API_KEY")
    for fetch in (lambda c: eia.fetch_latest(c, NOW, None),
                  lambda c: eia.fetch_range(c, date(2024, 5, 1), date(2024, 5, 2))):
        with pytest.raises(FetchError, match="EIA_API_KEY is not set"):
            fetch(HttpClient())
    assert eia_server.requests == []


def test_backfill_chunks_are_calendar_months():
    assert eia.backfill_chunks(date(2024, 1, 15), date(2024, 3, 10)) == [
        (date(2024, 1, 15), date(2024, 2, 1)),
        (date(2024, 2, 1), date(2024, 3, 1)),
        (date(2024, 3, 1), date(2024, 3, 10)),
    ]
    assert eia.backfill_chunks(date(2024, 12, 1), date(2025, 1, 1)) == [(date(2024, 12, 1), date(2025, 1, 1))]


def test_respondent_or_fueltype_that_is_not_text_is_skipped_and_counted():
    result = parse_doc(body_of([row(), row(fueltype={"id": "NUC"}), row(respondent=["CISO"], fueltype="WND"),
                                row(fueltype=None)]))
    assert value_at(result.readings, "CISO", "2024-05-01T12:00Z", "gas") == 100.0
    assert len(result.readings) == 1 and kinds(result) == {"malformed_row": 3}


# -- hour labels and reclassified nuclear (issue: data fidelity) ---------------------------

@pytest.mark.parametrize("also", [[], [row("2022-06-01T17", "ERCO", "NG", 5)]], ids=["one respondent", "mixed"])
def test_pjm_periods_are_hour_starts_while_the_others_are_hour_ends(also):
    """README "EIA-930 hour labels": PJM's series is labelled by hour start (solar noon and
    hour-to-hour changes against PJM's own data); the rest as EIA documents, by hour end."""
    result = parse_doc(body_of([row("2022-06-01T17", "PJM", "SUN", 7)] + also))
    assert value_at(result.readings, "PJM", "2022-06-01T17:00Z", "solar") == 7
    if also:
        assert value_at(result.readings, "ERCO", "2022-06-01T16:00Z", "gas") == 5


def nyis_hour(period: str, nuclear: float, other: float, respondent: str = "NYIS") -> list[dict]:
    return [row(period, respondent, "NUC", nuclear), row(period, respondent, "OTH", other), row(period, respondent, "NG", 4000)]


def test_new_york_nuclear_filed_under_other_is_a_counted_anomaly():
    rows = (nyis_hour("2022-03-01T01", 3200, 190) + nyis_hour("2022-03-01T02", 0, 2600)
            + nyis_hour("2022-03-01T03", 120, 2580))
    result = parse_doc(body_of(rows))
    assert kinds(result) == {"nuclear_filed_as_other": 2}
    assert "NYIS" in result.anomalies[0].message and "2022-03-01 01:00Z" in result.anomalies[0].message
    # stored as reported
    assert value_at(result.readings, "NYIS", "2022-03-01T01:00Z", "other") == 2600


def test_large_other_is_no_anomaly_where_nuclear_runs_or_where_there_is_none():
    rows = nyis_hour("2022-03-01T01", 3200, 1200) + nyis_hour("2022-03-01T01", 0, 1340, respondent="AZPS")
    assert kinds(parse_doc(body_of(rows))) == {}
