"""ENTSO-E Transparency Platform: the recorded documents of ../shared/fixtures/ENTSOE/ parsed
exactly (every value checked against the XML read here with xml.etree on its own), hand-written
documents for what no recording shows (tests/fixtures/entsoe/, see its README), and the fetch
against a loopback server."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import entsoe
from tests.conftest import HAND_WRITTEN

SAMPLES = HAND_WRITTEN / "entsoe"
# The psrType table of the platform's API guide, written out here on its own; the test's
# expectations follow README "Fuel mapping" (ENTSO-E).
TEST_FUELS = {"B01": "biomass", "B04": "gas", "B05": "coal", "B06": "oil", "B08": "coal", "B10": "hydro_storage",
              "B11": "hydro", "B12": "hydro", "B14": "nuclear", "B15": "biomass", "B16": "solar", "B17": "biomass",
              "B19": "wind", "B20": "other"}
NS = "{urn:iec62325.351:tc57wg16:451-6:generationloaddocument:3:0}"


def parse_path(path: Path) -> ParseResult:
    return entsoe.parse(Payload(body=path.read_bytes(), name=str(path)))


def kinds(result: ParseResult) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for a in result.anomalies:
        counts[a.kind] += a.count
    return dict(counts)


def xml_quarters(path: Path) -> dict[tuple[str, int], dict[datetime, float]]:
    """(psrType, +1 production / -1 consumption) -> {interval start: MW}, read with xml.etree:
    each Period's positions from its start at its resolution, an A03 curve's gaps holding the
    value before them until the Period's end."""
    root = ET.parse(path).getroot()
    ns = root.tag.split("}")[0] + "}"
    out: dict[tuple[str, int], dict[datetime, float]] = defaultdict(dict)
    for ts in root.findall(f"{ns}TimeSeries"):
        psr = ts.find(f"{ns}MktPSRType/{ns}psrType").text
        sign = 1 if ts.find(f"{ns}inBiddingZone_Domain.mRID") is not None else -1
        curve = ts.find(f"{ns}curveType").text
        for period in ts.findall(f"{ns}Period"):
            start = datetime.fromisoformat(period.find(f"{ns}timeInterval/{ns}start").text.replace("Z", "+00:00"))
            end = datetime.fromisoformat(period.find(f"{ns}timeInterval/{ns}end").text.replace("Z", "+00:00"))
            step = {"PT15M": 15, "PT30M": 30, "PT60M": 60}[period.find(f"{ns}resolution").text]
            count = int((end - start) / timedelta(minutes=step))
            points = {int(p.find(f"{ns}position").text): float(p.find(f"{ns}quantity").text)
                      for p in period.findall(f"{ns}Point")}
            value = None
            for position in range(1, count + 1):
                if position in points:
                    value = points[position]
                elif curve != "A03":
                    continue
                out[(psr, sign)][start + timedelta(minutes=step * (position - 1))] = value
    return out


def xml_hourly_by_fuel(path: Path) -> dict[tuple[datetime, str], float]:
    """The test's own hourly means per fuel: hours with every interval of every series present."""
    quarters = xml_quarters(path)
    per_series: dict[tuple[str, int], dict[datetime, float]] = {}
    for key, values in quarters.items():
        step = min((b - a for a, b in zip(sorted(values), sorted(values)[1:])), default=timedelta(hours=1))
        hours: dict[datetime, list[float]] = defaultdict(list)
        for start, mw in values.items():
            hours[start.replace(minute=0)].append(mw)
        per_series[key] = {h: sum(v) / len(v) for h, v in hours.items() if len(v) * step == timedelta(hours=1)}
    whole = set.intersection(*(set(v) for v in per_series.values()))
    mix: dict[tuple[datetime, str], float] = defaultdict(float)
    for (psr, sign), hours in per_series.items():
        if sign < 0 and TEST_FUELS[psr] != "hydro_storage":
            continue
        for hour in whole:
            mix[(hour, TEST_FUELS[psr])] += sign * hours[hour]
    return dict(mix)


def stored(result: ParseResult) -> dict[tuple[datetime, str], float]:
    return {(row.timestamp.to_pydatetime(), row.fuel): row.mw for row in result.readings.itertuples()}


# -- generation (A75) ------------------------------------------------------------------------

@pytest.mark.parametrize("name, region", [("FI_production.xml", "FI"), ("LU_production.xml", "LU"),
                                          ("NO-NO5_production.xml", "NO-NO5"),
                                          ("NO-NO5_production-negatives.xml", "NO-NO5")])
def test_every_hour_and_fuel_is_the_mean_of_the_xml_points(shared_fixtures, name, region):
    path = shared_fixtures / "ENTSOE" / name
    result = parse_path(path)
    expected = xml_hourly_by_fuel(path)
    assert set(result.readings["region"]) == {region}
    assert stored(result).keys() == expected.keys()
    for key, mw in expected.items():
        assert stored(result)[key] == pytest.approx(mw), key
    # Per-fuel sums (energy, MWh) equal the quarter-hours' energy of the whole hours.
    got = result.readings.groupby("fuel")["mw"].sum()
    want = pd.Series(expected).groupby(level=1).sum()
    assert got.to_dict() == pytest.approx(want.to_dict())


def test_finland_is_quarter_hours_compressed_as_a03_from_the_period_start_in_utc(shared_fixtures):
    path = shared_fixtures / "ENTSOE" / "FI_production.xml"
    result = parse_path(path)
    hours = sorted(result.readings["timestamp"].unique())
    assert hours[0] == pd.Timestamp("2025-10-21T12:00Z") and hours[-1] == pd.Timestamp("2025-10-24T11:00Z")
    assert len(hours) == 72 and result.complete_intervals and not kinds(result).get("partial_hour")
    # Gas (B04) is 21 points over 288 quarter-hours: each holds until the next one.
    root = ET.parse(path).getroot()
    gas = next(ts for ts in root.iter(f"{NS}TimeSeries") if ts.find(f"{NS}MktPSRType/{NS}psrType").text == "B04")
    points = entsoe.series_points(entsoe._document(Payload(ET.tostring(gas), "gas.xml")), [])
    positions = {int(p.find(f"{NS}position").text): float(p.find(f"{NS}quantity").text)
                 for p in gas.iter(f"{NS}Point")}
    assert len(positions) == 21 and len(points) == 288
    ordered = sorted(positions)
    for first, following in zip(ordered, ordered[1:] + [289]):
        block = points["mw"].iloc[first - 1:following - 1]
        assert (block == positions[first]).all()


def test_three_resolutions_and_pumped_storage_in_one_document():
    result = parse_path(SAMPLES / "handwritten_A75_DE_storage_mixed_resolution.xml")
    table = result.readings.pivot(index="timestamp", columns="fuel", values="mw")
    h0, h1 = pd.Timestamp("2024-03-31T00:00Z"), pd.Timestamp("2024-03-31T01:00Z")
    assert list(table.index) == [h0, h1]
    assert table.loc[h0].to_dict() == {"gas": 1150.0, "wind": 5100.0, "nuclear": 3000.0, "hydro_storage": -600.0}
    # Pumped storage: A03 generation 0 then 800 from the seventh quarter, minus 100 MW pumping.
    assert table.loc[h1].to_dict() == {"gas": 2100.0, "wind": 4050.0, "nuclear": 3000.0, "hydro_storage": 300.0}
    assert kinds(result)["consumption_not_generation"] == 2  # gas own use: left out, counted
    assert set(result.readings["region"]) == {"DE"}


def test_an_hour_missing_a_production_type_is_left_out_whole(shared_fixtures):
    # LU's series break at 03:45 (the quarter is missing) for five types; solar and wind go on.
    result = parse_path(shared_fixtures / "ENTSOE" / "LU_production.xml")
    hour = pd.Timestamp("2024-05-24T03:00Z")
    assert hour not in set(result.readings["timestamp"])
    assert kinds(result)["partial_hour"] == 5 and kinds(result)["incomplete_interval"] == 1
    assert pd.Timestamp("2024-05-24T02:00Z") in set(result.readings["timestamp"])
    assert pd.Timestamp("2024-05-24T04:00Z") in set(result.readings["timestamp"])


def test_negative_quantities_of_a_non_storage_type_are_kept_as_reported(shared_fixtures):
    result = parse_path(shared_fixtures / "ENTSOE" / "NO-NO5_production-negatives.xml")
    gas = result.readings[result.readings["fuel"] == "gas"].set_index("timestamp")["mw"]
    assert gas[pd.Timestamp("2023-05-09T09:00Z")] == -0.4
    assert gas[pd.Timestamp("2023-05-11T07:00Z")] == -900.0


# -- load, flows, forecasts -----------------------------------------------------------------

def xml_series_values(path: Path) -> list[tuple[dict[str, str], dict[datetime, float]]]:
    """(the TimeSeries' leaf fields, {interval start: value}) per TimeSeries, A01 curves only."""
    root = ET.parse(path).getroot()
    ns = root.tag.split("}")[0] + "}"
    out = []
    for ts in root.findall(f"{ns}TimeSeries"):
        fields = {child.tag.split("}")[1]: (child.text or "").strip() for child in ts if len(child) == 0}
        psr = ts.find(f"{ns}MktPSRType/{ns}psrType")
        if psr is not None:
            fields["psrType"] = psr.text
        values = {}
        for period in ts.findall(f"{ns}Period"):
            start = datetime.fromisoformat(period.find(f"{ns}timeInterval/{ns}start").text.replace("Z", "+00:00"))
            step = {"PT15M": 15, "PT60M": 60}[period.find(f"{ns}resolution").text]
            for p in period.findall(f"{ns}Point"):
                values[start + timedelta(minutes=step * (int(p.find(f"{ns}position").text) - 1))] = float(
                    p.find(f"{ns}quantity").text)
        out.append((fields, values))
    return out


def test_actual_load_is_stored_as_load_not_generation(shared_fixtures):
    path = shared_fixtures / "ENTSOE" / "DK-DK1_consumption.xml"
    result = parse_path(path)
    assert result.readings.empty and result.net_imports.empty
    ((fields, values),) = xml_series_values(path)
    assert fields["outBiddingZone_Domain.mRID"] == "10YDK-1--------W"
    assert {r.timestamp.to_pydatetime(): r.mw for r in result.load.itertuples()} == values
    assert set(result.load["region"]) == {"DK-DK1"}


@pytest.mark.parametrize("name", ["DK-DK1_GB_exchange_exports.xml", "DK-DK1_GB_exchange_imports.xml"])
def test_physical_flows_go_from_out_domain_to_in_domain(shared_fixtures, name):
    path = shared_fixtures / "ENTSOE" / name
    result = parse_path(path)
    expected = {}
    for fields, values in xml_series_values(path):
        pair = (entsoe.EIC_REGIONS[fields["out_Domain.mRID"]], entsoe.EIC_REGIONS[fields["in_Domain.mRID"]])
        expected.update({(pair, start): mw for start, mw in values.items()})
    got = {((r.from_region, r.to_region), r.timestamp.to_pydatetime()): r.mw for r in result.flows.itertuples()}
    assert got == expected
    assert {pair for pair, _ in got} == ({("DK-DK1", "GB")} if "exports" in name else {("GB", "DK-DK1")})


def test_day_ahead_load_forecast_is_issued_by_ten_brussels_the_day_before(shared_fixtures):
    path = shared_fixtures / "ENTSOE" / "DK-DK2_consumption_forecast.xml"
    result = parse_path(path)
    frame = result.operator_forecasts
    assert set(frame["kind"]) == {"load"} and set(frame["region"]) == {"DK-DK2"}
    expected = {start: mw for _, values in xml_series_values(path) for start, mw in values.items()}
    assert {r.timestamp.to_pydatetime(): r.mw for r in frame.itertuples()} == expected
    by_target = frame.set_index("timestamp")["issued_at"]
    # 2023-12-28 00:00 Brussels (23:00Z the day before) is delivered on the 28th: due 27th 10:00 CET.
    assert by_target[pd.Timestamp("2023-12-27T23:00Z")] == pd.Timestamp("2023-12-27T09:00Z")
    assert by_target[pd.Timestamp("2023-12-31T22:00Z")] == pd.Timestamp("2023-12-30T09:00Z")
    assert (frame["issued_at"] < frame["timestamp"]).all()


@pytest.mark.parametrize("name, process", [("wind_solar_forecast_FI_DAY_AHEAD.xml", "A01"),
                                           ("wind_solar_forecast_FI_INTRADAY.xml", "A40"),
                                           ("wind_solar_forecast_FI_CURRENT.xml", "A18")])
def test_wind_and_solar_forecasts_are_hourly_means_with_their_issue_time(shared_fixtures, name, process):
    path = shared_fixtures / "ENTSOE" / name
    result = parse_path(path)
    frame = result.operator_forecasts
    assert result.readings.empty
    expected: dict[tuple[str, datetime], float] = {}
    for fields, values in xml_series_values(path):
        kind = {"B16": "solar", "B19": "wind", "B18": "wind"}[fields["psrType"]]
        hours: dict[datetime, list[float]] = defaultdict(list)
        for start, mw in values.items():
            hours[start.replace(minute=0)].append(mw)
        for hour, quarter_values in hours.items():
            assert len(quarter_values) == 4
            expected[(kind, hour)] = expected.get((kind, hour), 0.0) + sum(quarter_values) / 4
    got = {(r.kind, r.timestamp.to_pydatetime()): r.mw for r in frame.itertuples()}
    assert got.keys() == expected.keys()
    assert all(got[k] == pytest.approx(v) for k, v in expected.items())
    created = pd.Timestamp(ET.parse(path).getroot().find(f"{NS}createdDateTime").text)
    if process == "A01":
        # Delivered 2024-02-08 (from 23:00Z on the 7th): due on the 7th at 18:00 Brussels, 17:00Z.
        issued = frame.set_index(["kind", "timestamp"])["issued_at"]
        assert issued[("wind", pd.Timestamp("2024-02-07T23:00Z"))] == pd.Timestamp("2024-02-07T17:00Z")
        assert issued[("solar", pd.Timestamp("2024-02-09T22:00Z"))] == pd.Timestamp("2024-02-08T17:00Z")
        assert (frame["issued_at"] <= created).all()
    else:
        assert set(frame["issued_at"]) == {created}


@pytest.mark.parametrize("name", ["SE-SE3_generation_forecast.xml", "EE_FI_exchange_forecast_exports.xml"])
def test_documents_this_source_does_not_read_are_refused_by_name(shared_fixtures, name):
    with pytest.raises(ParseError, match="not one this source reads"):
        parse_path(shared_fixtures / "ENTSOE" / name)


def test_no_data_is_an_empty_success_and_a_refusal_an_error():
    empty = parse_path(SAMPLES / "handwritten_acknowledgement_no_data.xml")
    assert empty.readings.empty and kinds(empty) == {"no_data": 1}
    with pytest.raises(ParseError, match="Unknown parameter: in_Domain"):
        parse_path(SAMPLES / "handwritten_acknowledgement_refused.xml")


# -- fetch --------------------------------------------------------------------------------

@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("ENTSOE_TOKEN", "secret-entsoe-token-123")
    monkeypatch.delenv("ENTSOE_ZONES", raising=False)


def test_a_run_asks_generation_and_load_of_each_zone_with_the_token_redacted(fake_iso, monkeypatch, token,
                                                                           shared_fixtures):
    monkeypatch.setenv("ENTSOE_BASE_URL", f"{fake_iso.url}/api")
    monkeypatch.setenv("ENTSOE_ZONES", "FI,NO-NO5")
    fake_iso.serve("/api", (shared_fixtures / "ENTSOE" / "FI_production.xml").read_bytes(),
                   query={"documentType": "A75", "in_Domain": "10YFI-1--------U"})
    fake_iso.serve("/api", (SAMPLES / "handwritten_acknowledgement_no_data.xml").read_bytes(), status=400)
    archived = []
    client = HttpClient(archive=archived.append)
    now = datetime(2025, 10, 24, 10, 20, tzinfo=timezone.utc)
    payloads = entsoe.fetch_latest(client, now, last_success=now - timedelta(minutes=60))
    queries = [{k: v[0] for k, v in r.query.items()} for r in fake_iso.requests]
    assert sorted((q["documentType"], q.get("in_Domain") or q.get("outBiddingZone_Domain")) for q in queries) == [
        ("A65", "10Y1001A1001A48H"), ("A65", "10YFI-1--------U"), ("A75", "10Y1001A1001A48H"),
        ("A75", "10YFI-1--------U")]
    assert {(q["periodStart"], q["periodEnd"]) for q in queries} == {("202510240300", "202510241100")}
    assert all(q["securityToken"] == "secret-entsoe-token-123" for q in queries)
    assert len(payloads) == 4 and not client.errors  # the 400 acknowledgement is an answer, not a failure
    for payload in archived:
        assert "secret-entsoe-token-123" not in payload.name and "securityToken=REDACTED" in payload.name
    parsed = [entsoe.parse(p) for p in payloads]
    assert sum(len(r.readings) for r in parsed) == len(parse_path(shared_fixtures / "ENTSOE" / "FI_production.xml")
                                                       .readings)


def test_flows_every_six_hours_and_forecasts_after_their_publication(fake_iso, monkeypatch, token):
    monkeypatch.setenv("ENTSOE_BASE_URL", f"{fake_iso.url}/api")
    monkeypatch.setenv("ENTSOE_ZONES", "EE")
    fake_iso.serve("/api", (SAMPLES / "handwritten_acknowledgement_no_data.xml").read_bytes(), status=400)

    def asked(now, last):
        fake_iso.requests.clear()
        entsoe.fetch_latest(HttpClient(), now, last)
        return sorted({r.query["documentType"][0] + "/" + r.query.get("processType", ["-"])[0] for r in fake_iso.requests})

    now = datetime(2024, 3, 25, 19, 5, tzinfo=timezone.utc)  # 20:05 in Brussels: forecasts are out
    assert asked(now, now - timedelta(hours=2)) == ["A11/-", "A65/A01", "A65/A16", "A69/A01", "A75/A16"]
    assert asked(now + timedelta(hours=1), now) == ["A65/A16", "A75/A16"]
    assert asked(datetime(2024, 3, 26, 0, 5, tzinfo=timezone.utc), now + timedelta(hours=4)) == [
        "A11/-", "A65/A16", "A75/A16"]
    # Estonia's borders (EE-FI, EE-LV) both ways.
    pairs = {(r.query["out_Domain"][0], r.query["in_Domain"][0]) for r in fake_iso.requests
             if r.query["documentType"] == ["A11"]}
    assert pairs == {(entsoe.ZONES["EE"], entsoe.ZONES["FI"]), (entsoe.ZONES["FI"], entsoe.ZONES["EE"]),
                     (entsoe.ZONES["EE"], entsoe.ZONES["LV"]), (entsoe.ZONES["LV"], entsoe.ZONES["EE"])}


def test_a_zone_failing_makes_the_run_partial_and_a_backfill_chunk_fail(fake_iso, monkeypatch, token):
    monkeypatch.setenv("ENTSOE_BASE_URL", f"{fake_iso.url}/api")
    monkeypatch.setenv("ENTSOE_ZONES", "FI,EE")
    fake_iso.serve("/api", b"gone", status=404, query={"in_Domain": entsoe.ZONES["EE"]})
    fake_iso.serve("/api", (SAMPLES / "handwritten_acknowledgement_no_data.xml").read_bytes())
    client = HttpClient()
    now = datetime(2024, 3, 25, 10, 5, tzinfo=timezone.utc)
    payloads = entsoe.fetch_latest(client, now, now - timedelta(hours=1))
    assert len(payloads) == 3 and len(client.errors) == 1 and "EE generation" in client.errors[0]
    with pytest.raises(FetchError, match="EE generation"):
        entsoe.fetch_range(HttpClient(), date(2024, 3, 1), date(2024, 4, 1))


def test_unknown_zones_and_a_missing_token_are_refused(monkeypatch, token):
    monkeypatch.setenv("ENTSOE_ZONES", "FI,XX")
    with pytest.raises(FetchError, match="XX"):
        entsoe.zones()
    monkeypatch.delenv("ENTSOE_ZONES")
    monkeypatch.delenv("ENTSOE_TOKEN")
    with pytest.raises(FetchError, match="ENTSOE_TOKEN"):
        entsoe.fetch_queries(HttpClient(), [("FI generation", {})], lenient=True)
    assert entsoe.SPEC.disabled_reason() == "ENTSOE_TOKEN not set"


def test_backfill_is_in_months_within_the_api_s_year():
    assert entsoe.backfill_chunks(date(2024, 1, 15), date(2024, 3, 2)) == [
        (date(2024, 1, 15), date(2024, 2, 1)), (date(2024, 2, 1), date(2024, 3, 1)), (date(2024, 3, 1), date(2024, 3, 2))]


def test_every_border_joins_two_zones_with_flow_codes():
    for a, b in entsoe.BORDERS:
        assert a != b and a in entsoe.FLOW_EICS and b in entsoe.FLOW_EICS, (a, b)
    assert len(set(entsoe.BORDERS)) == len(entsoe.BORDERS)
    assert all(entsoe.EIC_REGIONS[eic] == zone for zone, eic in entsoe.ZONES.items())
    assert entsoe.EIC_REGIONS["10Y1001A1001A82H"] == "DE"  # the DE-LU bidding zone's flows are Germany's


def test_the_day_ahead_issue_time_is_correct_across_a_daylight_saving_change():
    # Delivery on 2024-03-31 (Brussels switches to summer time that night): due on the 30th,
    # 18:00 CET = 17:00Z; delivery on the 1st of April: due on 31 March 18:00 CEST = 16:00Z.
    hours = pd.Series(pd.to_datetime(["2024-03-31T05:00Z", "2024-04-01T05:00Z"]))
    issued = entsoe._issued_day_ahead(hours, entsoe.WIND_SOLAR_DEADLINE, pd.Timestamp("2024-05-01T00:00Z"))
    assert list(issued) == [pd.Timestamp("2024-03-30T17:00Z"), pd.Timestamp("2024-03-31T16:00Z")]


def test_a_crawler_run_stores_what_the_platform_answers_and_archives_no_token(fake_iso, monkeypatch, token, db,
                                                                          shared_fixtures):
    from tests.crawlhelp import crawler_cli, point_sources_at

    point_sources_at(monkeypatch, fake_iso.url)
    monkeypatch.setenv("ENTSOE_TOKEN", "secret-entsoe-token-123")
    monkeypatch.setenv("ENTSOE_ZONES", "FI,DK-DK1")
    fake_iso.serve("/entsoe", (shared_fixtures / "ENTSOE" / "FI_production.xml").read_bytes(),
                   query={"documentType": "A75", "in_Domain": entsoe.ZONES["FI"]})
    fake_iso.serve("/entsoe", (shared_fixtures / "ENTSOE" / "DK-DK1_consumption.xml").read_bytes(),
                   query={"documentType": "A65", "processType": "A16", "outBiddingZone_Domain": entsoe.ZONES["DK-DK1"]})
    fake_iso.serve("/entsoe", (SAMPLES / "handwritten_acknowledgement_no_data.xml").read_bytes(), status=400)
    result = crawler_cli("run", "--source", "ENTSOE")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ENTSOE: ok: " in result.stdout, result.stdout
    expected = parse_path(shared_fixtures / "ENTSOE" / "FI_production.xml").readings
    with db.cursor() as cur:
        cur.execute("SELECT count(*), sum(mw) FROM generation_reading g JOIN region r ON r.id = g.region_id "
                    "WHERE r.code = 'FI'")
        count, total = cur.fetchone()
        assert count == len(expected) and total == pytest.approx(expected["mw"].sum())
        cur.execute("SELECT count(*) FROM load_reading l JOIN region r ON r.id = l.region_id WHERE r.code = 'DK-DK1'")
        assert cur.fetchone()[0] == 47
        cur.execute("SELECT url FROM raw_payload")
        urls = [url for (url,) in cur.fetchall()]
    # the bodies are archived once each (every acknowledgement is the same body)
    assert len(urls) == 3 and all("securityToken=REDACTED" in url for url in urls)
    assert not any("secret-entsoe-token-123" in text for text in urls + [result.stdout, result.stderr])
