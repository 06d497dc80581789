"""Europe, Australia and Québec end to end: the real recordings replayed through
`python -m crawler replay` into PostgreSQL, then the API asked by region id. Every zone's
intensity is computed here from the recorded file and the zone's factors (read from the factor
table by this test's own SQL); the scheduler, forecasts and the SDK routes answer from each
zone's data."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2
import pytest

from api import create_app
from crawler.parsers import entsoe
from database.forecast_inputs import read_operator_forecasts
from database.load_flows import read_flows, read_load
from database.regions import normalise_name
from tests.crawlhelp import crawler_cli
from tests.test_parser_entsoe import TEST_FUELS, xml_hourly_by_fuel, xml_series_values
from tests.test_parser_openelectricity import expected_mix

STORAGE = {"battery", "hydro_storage"}
ENTSOE_FILES = ("FI_production.xml", "LU_production.xml", "NO-NO5_production.xml", "DK-DK1_consumption.xml",
                "DK-DK1_GB_exchange_exports.xml", "DK-DK1_GB_exchange_imports.xml",
                "wind_solar_forecast_FI_DAY_AHEAD.xml")
AU_FILES = {"AU-NSW": "AU-NSW.v4.json", "AU-QLD": "AU-QLD.v4.json", "AU-SA": "AU-SA.v4.json",
            "AU-VIC": "AU-VIC.v4.json", "AU-WA": "AU-WA.v4.json"}
DAY = "2025-02-19"  # the day of NYISO's recorded files, and of the hand-made European and Australian bodies


# Series of the hand-made A75 bodies: psrType -> MW per interval of DAY (one decimal, as written).
FI_SERIES = {"B14": [4000.0] * 24, "B19": [round(1500 + 1000 * np.sin(i / 3), 1) for i in range(24)],
             "B04": [300.0 + 40 * i for i in range(24)]}
# The Netherlands in quarter-hours (PT15M, as TenneT reports), Sweden's SE3 hourly: the zones of
# Azure's westeurope and swedencentral.
NL_SERIES = {"B04": [round(6000 + 1500 * np.sin(i / 96 * 2 * np.pi), 1) for i in range(96)],
             "B05": [1200.0] * 96, "B14": [485.0] * 96, "B01": [300.0 + 10 * (i % 4) for i in range(96)],
             "B19": [round(2500 + 800 * np.cos(i / 10), 1) for i in range(96)],
             "B16": [round(max(0.0, 3000 * np.sin(np.pi * (i - 28) / 40)), 1) for i in range(96)]}
SE3_SERIES = {"B14": [6500.0] * 24, "B12": [1200.0 + 50 * i for i in range(24)], "B11": [800.0] * 24,
              "B19": [round(1500 + 600 * np.sin(i / 4), 1) for i in range(24)], "B20": [150.0] * 24}
HAND_MADE_A75 = {"FI": (FI_SERIES, 60), "NL": (NL_SERIES, 15), "SE-SE3": (SE3_SERIES, 60)}


def a75_document(zone: str, series: dict[str, list[float]], minutes: int) -> str:
    """Actual generation per production type (A75, A16) of `zone` over DAY, in the platform's
    format: one TimeSeries per psrType, one Period of `minutes` resolution, UTC."""
    eic = entsoe.ZONES[zone]
    timeseries = "".join(
        f"<TimeSeries><mRID>{n}</mRID><businessType>A01</businessType><objectAggregation>A08</objectAggregation>"
        f"<inBiddingZone_Domain.mRID codingScheme=\"A01\">{eic}</inBiddingZone_Domain.mRID>"
        f"<quantity_Measure_Unit.name>MAW</quantity_Measure_Unit.name><curveType>A01</curveType>"
        f"<MktPSRType><psrType>{psr}</psrType></MktPSRType><Period><timeInterval><start>{DAY}T00:00Z</start>"
        f"<end>2025-02-20T00:00Z</end></timeInterval><resolution>PT{minutes}M</resolution>"
        + "".join(f"<Point><position>{i + 1}</position><quantity>{v:.1f}</quantity></Point>" for i, v in enumerate(values))
        + "</Period></TimeSeries>" for n, (psr, values) in enumerate(series.items()))
    return ('<?xml version="1.0" encoding="utf-8"?><GL_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-6:'
            f'generationloaddocument:3:0"><type>A75</type><process.processType>A16</process.processType>'
            f'<createdDateTime>2025-02-20T01:00:00Z</createdDateTime>{timeseries}</GL_MarketDocument>')


def hourly_mix(series: dict[str, list[float]], minutes: int) -> dict[datetime, dict[str, float]]:
    """The test's own hourly mix of a hand-made body: each hour's mean of its intervals per
    production type, summed by fuel (TEST_FUELS, the platform's table written out in the parser's test)."""
    per_hour = 60 // minutes
    out: dict[datetime, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for psr, values in series.items():
        for hour in range(len(values) // per_hour):
            start = datetime.fromisoformat(f"{DAY}T00:00+00:00") + timedelta(hours=hour)
            out[start][TEST_FUELS[psr]] += sum(values[hour * per_hour:(hour + 1) * per_hour]) / per_hour
    return out


def hand_made_bodies(folder: Path) -> list[Path]:
    """Bodies in the sources' real formats for 2025-02-19, written here (no European or
    Australian recording shares a day with a US one): Finland's, the Netherlands' and SE3's A75,
    New South Wales' Open Electricity 5-minute power (stamps in NEM time)."""
    entsoe_dir, oe_dir = folder / "ENTSOE", folder / "OPENELECTRICITY"
    entsoe_dir.mkdir()
    oe_dir.mkdir()
    bodies = []
    for zone, (series, minutes) in HAND_MADE_A75.items():
        bodies.append(entsoe_dir / f"handmade_{zone}_A75.xml")
        bodies[-1].write_text(a75_document(zone, series, minutes))
    ends = pd.date_range(f"{DAY}T00:05Z", periods=144, freq="5min")
    stamp = lambda t: t.tz_convert("Etc/GMT-10").strftime("%Y-%m-%dT%H:%M:%S+10:00")  # noqa: E731
    results = [{"columns": {"region": "NSW1", "fueltech": tech}, "data": [[stamp(t), round(f(i), 3)] for i, t in enumerate(ends)]}
               for tech, f in (("coal_black", lambda i: 6000 - 10 * i), ("wind", lambda i: 800 + 600 * np.cos(i / 20)),
                               ("solar_utility", lambda i: max(0.0, 3000 * np.sin(i / 144 * np.pi))))]
    nsw = oe_dir / "handmade_AU-NSW.json"
    nsw.write_text(json.dumps({"version": "4.4.5", "success": True, "error": None, "data": [
        {"network_code": "NEM", "metric": "power", "unit": "MW", "interval": "5m", "results": results}]}))
    return [*bodies, nsw]


@pytest.fixture(scope="module")
def replayed(filled, shared_fixtures, tmp_path_factory):
    """The test database with the US fixtures (`filled`), then the European, Australian and
    Québec recordings and the hand-made bodies, replayed by the crawler's CLI."""
    files = ([shared_fixtures / "ENTSOE" / name for name in ENTSOE_FILES]
             + [shared_fixtures / "OPENELECTRICITY" / name for name in AU_FILES.values()]
             + [shared_fixtures / "HYDROQUEBEC" / name for name in ("production.json", "consumption.json")]
             + hand_made_bodies(tmp_path_factory.mktemp("handmade")))
    result = crawler_cli("replay", *map(str, files), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": ok: ") == len(files), result.stdout
    return filled


@pytest.fixture(scope="module")
def client(replayed):
    return create_app(replayed).test_client()


@pytest.fixture(scope="module")
def cursor(replayed):
    conn = psycopg2.connect(replayed, options="-c timezone=UTC")
    conn.autocommit = True
    with conn.cursor() as cur:
        yield cur
    conn.close()


def factors(cur, region: str, at: datetime, factor_set: str = "lifecycle") -> dict[str, float]:
    """The test's own choice of factor per fuel: the region's newest figure valid at `at`, else
    the global one's."""
    cur.execute(
        "SELECT f.name, e.region_id IS NOT NULL, e.valid_from, e.g_per_kwh FROM emission_factor e "
        "JOIN fuel f ON f.id = e.fuel_id LEFT JOIN region r ON r.id = e.region_id "
        "WHERE e.factor_set = %s AND (r.code = %s OR e.region_id IS NULL) AND e.valid_from <= %s",
        (factor_set, region, at))
    best: dict[str, tuple] = {}
    for fuel, regional, valid_from, value in cur.fetchall():
        key = (regional, valid_from)
        if fuel not in best or key > best[fuel][0]:
            best[fuel] = (key, value)
    return {fuel: value for fuel, (_, value) in best.items()}


def hand_intensity(mix: dict[str, float], table: dict[str, float]) -> float | None:
    generation = {f: mw for f, mw in mix.items() if mw >= 0 and f not in STORAGE}
    total = sum(generation.values())
    return sum(mw * table[f] for f, mw in generation.items()) / total if total else None


def api_intensity(client, region: str, start: str, end: str, **params) -> dict[str, float]:
    response = client.get("/carbon-intensity/", query_string={"region": region, "start": start, "end": end, **params})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["region"] == region
    return {p["timestamp"]: p["carbon_intensity"] for p in body["carbon_intensities"]}


def by_interval(mix: dict[tuple[datetime, str], float]) -> dict[datetime, dict[str, float]]:
    out: dict[datetime, dict[str, float]] = defaultdict(dict)
    for (start, fuel), mw in mix.items():
        out[start][fuel] = mw
    return out


# -- intensity per zone, by hand from the files ----------------------------------------------

@pytest.mark.parametrize("name, region", [("FI_production.xml", "FI"), ("LU_production.xml", "LU")])
def test_european_zone_intensity_is_the_file_s_mix_with_the_zone_s_factors(client, cursor, shared_fixtures,
                                                                           name, region):
    mixes = by_interval(xml_hourly_by_fuel(shared_fixtures / "ENTSOE" / name))
    first, last = min(mixes), max(mixes)
    got = api_intensity(client, region, first.isoformat(), (last + timedelta(hours=1)).isoformat())
    assert len(got) == len(mixes)
    table = factors(cursor, region, first)
    for start, mix in mixes.items():
        assert got[start.isoformat()] == pytest.approx(hand_intensity(mix, table)), start
    if region == "FI":  # Finland's coal figure is Electricity Maps' (EU-ETS 2025), not the IPCC median
        assert table["coal"] != 820 and table["biomass"] == 230


@pytest.mark.parametrize("region", list(AU_FILES))
def test_australian_zone_intensity_is_the_file_s_mix(client, cursor, shared_fixtures, region):
    mix, _ = expected_mix(shared_fixtures / "OPENELECTRICITY" / AU_FILES[region])
    mixes = by_interval(mix)
    first, last = min(mixes), max(mixes)
    got = api_intensity(client, region, first.isoformat(), (last + timedelta(minutes=5)).isoformat())
    table = factors(cursor, region, first)
    assert table["coal"] == 820  # no regional figure for Australia: the IPCC defaults answer
    # Intervals with storage discharging take the charging hours' intensity (database/intensity.py);
    # every other interval is the plain formula.
    plain = {t: m for t, m in mixes.items() if not any(m.get(f, 0) > 0 for f in STORAGE)}
    assert len(plain) >= 40 and set(got) == {t.isoformat() for t in mixes}
    for start, m in plain.items():
        assert got[start.isoformat()] == pytest.approx(hand_intensity(m, table)), start


def test_quebec_intensity_is_the_file_s_mix(client, cursor, shared_fixtures):
    path = shared_fixtures / "HYDROQUEBEC" / "production.json"
    fuels = {"hydraulique": "hydro", "eolien": "wind", "solaire": "solar", "thermique": "gas", "autres": "biomass"}
    table = factors(cursor, "CA-QC", datetime(2023, 8, 15, tzinfo=timezone.utc))
    expected = {}
    for entry in json.loads(path.read_text())["details"]:
        mix = {fuels[k]: v for k, v in entry["valeurs"].items() if k != "total"}
        if mix:  # 00:30 EDT is the middle of 04:00Z-05:00Z
            start = pd.Timestamp(entry["date"]).tz_localize("America/Toronto").tz_convert("UTC") - timedelta(minutes=30)
            expected[start.isoformat()] = hand_intensity(mix, table)
    got = api_intensity(client, "CA-QC", "2023-08-15T00:00:00Z", "2023-08-17T00:00:00Z")
    assert got == pytest.approx(expected)


def test_the_mix_of_a_zone_is_served_by_fuel(client, shared_fixtures):
    mixes = by_interval(xml_hourly_by_fuel(shared_fixtures / "ENTSOE" / "NO-NO5_production.xml"))
    response = client.get("/energy-mixture/", query_string={"region": "no-no5", "start": "2023-05-09T00:00:00Z",
                                                            "end": "2023-05-12T00:00:00Z"})
    body = response.get_json()
    assert response.status_code == 200 and body["region"] == "NO-NO5" and body["source"] == "ENTSOE"
    served = {datetime.fromisoformat(m["timestamp"]): m["fuels"] for m in body["mixtures"]}
    assert served.keys() == mixes.keys()
    for start, mix in mixes.items():
        assert served[start] == pytest.approx(mix)
        assert "hydro_storage" in served[start]  # pumped storage B10 kept apart from hydro


def test_aliases_resolve_to_the_zone(client):
    for alias in ("10YFI-1--------U", "fi", "Finland", "NSW1", "AU-NSW"):
        region = client.get("/carbon-intensity/", query_string={"region": alias, "start": "2025-10-22T00:00:00Z",
                                                                "end": "2025-10-22T01:00:00Z"}).get_json()["region"]
        assert region == ("AU-NSW" if "NSW" in alias else "FI"), alias


# -- load, flows, regions ---------------------------------------------------------------------

def test_load_and_flows_are_stored_where_later_work_reads_them(cursor, shared_fixtures):
    start, end = datetime(2023, 12, 1, tzinfo=timezone.utc), datetime(2024, 1, 1, tzinfo=timezone.utc)
    load = read_load(cursor, "DK-DK1", start, end)
    ((_, values),) = xml_series_values(shared_fixtures / "ENTSOE" / "DK-DK1_consumption.xml")
    assert set(load["source"]) == {"ENTSOE"}
    assert {t.to_pydatetime(): mw for t, mw in zip(load["ts"], load["mw"])} == values
    flows = read_flows(cursor, "GB", start, end)
    assert set(zip(flows["from_region"], flows["to_region"])) == {("DK-DK1", "GB"), ("GB", "DK-DK1")}
    assert len(flows) == 88
    quebec = read_load(cursor, "CA-QC", datetime(2023, 8, 15, tzinfo=timezone.utc), datetime(2023, 8, 17, tzinfo=timezone.utc))
    assert len(quebec) == 30 and set(quebec["source"]) == {"HYDROQUEBEC"}


def test_entsoe_day_ahead_forecasts_are_stored_as_forecast_inputs_from_their_issue_time(cursor, shared_fixtures):
    """The replayed A69 day-ahead body reaches the forecast-input store: hourly means of the
    file's quarter-hours, visible only to forecasts issued after its deadline (the day before
    delivery, 18:00 Brussels)."""
    path = shared_fixtures / "ENTSOE" / "wind_solar_forecast_FI_DAY_AHEAD.xml"
    expected: dict[tuple[str, datetime], float] = defaultdict(float)
    for fields, values in xml_series_values(path):
        kind = {"B16": "solar", "B18": "wind", "B19": "wind"}[fields["psrType"]]
        for start, mw in values.items():
            expected[(kind, start.replace(minute=0))] += mw / 4
    first_day = (datetime(2024, 2, 7, 23, tzinfo=timezone.utc), datetime(2024, 2, 8, 23, tzinfo=timezone.utc))
    late = read_operator_forecasts(cursor, "FI", datetime(2024, 3, 1, tzinfo=timezone.utc), *first_day)
    assert len(late) == 24
    for kind in ("wind", "solar"):
        got = late[f"{kind}_forecast_mw"]
        assert got.to_numpy() == pytest.approx([expected[(kind, t.to_pydatetime())] for t in got.index])
    # Due 2024-02-07 17:00Z for delivery on the 8th: a forecast issued before sees none of it.
    early = read_operator_forecasts(cursor, "FI", datetime(2024, 2, 7, 17, tzinfo=timezone.utc), *first_day)
    assert early.empty or early.isna().all().all()


def test_regions_lists_the_zones_with_their_time_zones_and_sources(client):
    body = client.get("/regions/").get_json()
    regions = {r["id"] if "id" in r else r["code"]: r for r in body["regions"]}
    for code, zone in (("DE", "Europe/Berlin"), ("SE-SE3", "Europe/Stockholm"), ("GB", "Europe/London"),
                       ("AU-NSW", "Australia/Sydney"), ("CA-QC", "America/Toronto"), ("FR", "Europe/Paris")):
        assert regions[code]["time_zone"] == zone, code
    assert [s["name"] for s in regions["FI"]["sources"]] == ["ENTSOE"]
    assert [s["name"] for s in regions["AU-WA"]["sources"]] == ["OPENELECTRICITY"]
    assert [s["name"] for s in regions["CA-QC"]["sources"]] == ["HYDROQUEBEC"]
    assert "10YFI-1--------U" in json.dumps(regions["FI"])


def test_the_parser_s_eic_codes_are_the_regions_aliases(cursor):
    cursor.execute("SELECT a.alias, r.code FROM region_alias a JOIN region r ON r.id = a.region_id WHERE a.kind = 'eic'")
    aliases = dict(cursor.fetchall())
    for zone, eic in entsoe.ZONES.items():
        assert aliases[eic] == zone
    assert all(aliases[eic] == zone for zone, eic in entsoe.FLOW_EICS.items())


def test_no_two_regions_share_a_name_once_normalised(cursor):
    cursor.execute("SELECT r.code, n FROM region r, LATERAL (SELECT r.name UNION SELECT r.code UNION "
                   "SELECT alias FROM region_alias a WHERE a.region_id = r.id) AS names (n)")
    owners: dict[str, set[str]] = defaultdict(set)
    for code, name in cursor.fetchall():
        owners[normalise_name(name)].add(code)
    assert {name: codes for name, codes in owners.items() if len(codes) > 1} == {}


# -- forecasts, SDK, scheduler ---------------------------------------------------------------

def test_a_forecast_on_history_answers_for_a_zone(client):
    issued = "2025-10-24T12:00:00+00:00"
    response = client.get("/carbon-intensity/forecast/", query_string={"region": "FI", "issued_at": issued,
                                                                       "horizon_hours": 3})
    body = response.get_json()
    assert response.status_code == 200, body
    assert (body["region"], body["source"], body["history_end"]) == ("FI", "ENTSOE", "2025-10-24T11:00:00+00:00")
    # Three days of history: the same hour yesterday, labelled as the fallback it is.
    yesterday = api_intensity(client, "FI", "2025-10-23T12:00:00Z", "2025-10-23T15:00:00Z")
    assert body["model"]["fallback_reason"]
    assert [p["carbon_intensity"] for p in body["forecast"]] == pytest.approx(list(yesterday.values()))


def test_the_sdk_route_answers_a_zone_by_its_id(client):
    response = client.get("/emissions/bylocation", query_string={"location": "FI", "time": "2025-10-22T00:00:00Z",
                                                                 "toTime": "2025-10-22T03:00:00Z"})
    assert response.status_code == 200
    items = response.get_json()
    stored = api_intensity(client, "FI", "2025-10-21T23:00:00Z", "2025-10-22T04:00:00Z")
    assert {i["location"] for i in items} == {"FI"} and len(items) >= 3
    for item in items:
        assert item["rating"] == pytest.approx(stored[pd.Timestamp(item["time"]).isoformat()])


@pytest.mark.parametrize("location, zone", [("westeurope", "NL"), ("swedencentral", "SE-SE3")])
def test_the_sdk_answers_an_azure_region_from_its_zone_s_data(client, cursor, location, zone):
    """The issue's case: Azure's names as the SDK sends them answer from the zone's replayed
    A75 body, each hour's rating the test's own mean of the body's intervals priced with the
    zone's factors."""
    response = client.get("/emissions/bylocation", query_string={"location": location, "time": f"{DAY}T06:00:00Z",
                                                                 "toTime": f"{DAY}T09:00:00Z"})
    assert response.status_code == 200, response.get_data(as_text=True)
    items = response.get_json()
    series, minutes = HAND_MADE_A75[zone]
    mixes = hourly_mix(series, minutes)
    table = factors(cursor, zone, datetime.fromisoformat(f"{DAY}T00:00+00:00"))
    # Every hour overlapping [06:00, 09:00]: the SDK's closed range includes the hour starting at 09:00.
    assert [pd.Timestamp(i["time"]) for i in items] == [pd.Timestamp(f"{DAY}T{h:02d}:00Z") for h in (6, 7, 8, 9)]
    for item in items:
        assert item["location"] == location and item["duration"] == "01:00:00"
        assert item["rating"] == pytest.approx(hand_intensity(mixes[pd.Timestamp(item["time"]).to_pydatetime()], table))
    # The two zones' mixes differ by an order of magnitude: an answer from the wrong zone would show.
    assert (items[0]["rating"] > 250) == (zone == "NL")


def hourly(client, region: str, start: datetime, hours: int) -> np.ndarray:
    got = api_intensity(client, region, start.isoformat(), (start + timedelta(hours=hours)).isoformat(),
                        resolution="hour")
    assert len(got) == hours, (region, got)
    return np.array(list(got.values()))


def test_the_scheduler_places_work_in_europe_australia_and_the_us_from_each_zone_s_data(client):
    start = datetime(2025, 2, 19, 6, tzinfo=timezone.utc)
    body = {"runtime": 2 * 3600, "power_kw": 1.0, "original_location": "NYIS",
            "schedule": {"type": "onetime", "start_time": start.isoformat(), "max_delay": 4 * 3600},
            "candidate_locations": [{"id": "FI"}, {"id": "AU-NSW"}, {"id": "NYIS"}]}
    response = client.post("/carbon-aware-scheduler/", json=body)
    answer = response.get_json()
    assert response.status_code == 200, answer
    (schedule,) = answer["schedules"]
    assert [(c["location"], c["region"]) for c in schedule["candidates"]] == [
        ("FI", "FI"), ("AU-NSW", "AU-NSW"), ("NYIS", "NYIS")]
    assert {d["region"]: d["source"] for d in schedule["data"]} == {"FI": "ENTSOE", "AU-NSW": "OPENELECTRICITY",
                                                                   "NYIS": "NYISO"}
    assert schedule["slot_minutes"] == 60
    best = {}
    for region in ("FI", "AU-NSW", "NYIS"):
        values = hourly(client, region, start, 6)
        sums = [values[i:i + 2].sum() for i in range(5)]
        best[region] = (start + timedelta(hours=int(np.argmin(sums))), min(sums))
    (run,) = schedule["runs"]
    alternatives = {a["location"]: a for a in run["alternatives"]}
    for region, (when, grams) in best.items():
        assert alternatives[region]["start"] == when.isoformat()
        assert alternatives[region]["emissions_g"]["compute"] == pytest.approx(grams)
    assert run["chosen"]["location"] == min(best, key=lambda r: best[r][1])


def test_the_legacy_route_answers_a_zone_named_as_the_original_names_regions(client):
    response = client.get("/legacy/carbon-intensity/", query_string={
        "iso": "emap:FI", "start": "2025-10-22T00:00:00Z", "end": "2025-10-22T03:00:00Z"})
    assert response.status_code == 200, response.get_json()
    points = [p for key, value in response.get_json().items() if isinstance(value, list) for p in value]
    # the legacy face prices on the original's (IPCC) factors
    stored = api_intensity(client, "FI", "2025-10-22T00:00:00Z", "2025-10-22T04:00:00Z", emission_factors="ipcc")
    assert len(points) == 4
    for point in points:
        assert point["carbon_intensity"] == pytest.approx(stored[point["timestamp"]])
