"""Contract tests of /legacy/: the original service's endpoints (c3lab-net/energy-data @ 646c6a7,
api/routes/, api/models/common.py, api/helpers/), asked as its clients asked them, answered with
its keys, nesting and types, on data replayed from the recorded fixtures. Then the native API's
forgiveness of the original's names and parameters.

What the original's source says, and these tests hold to:
- errors: webargs' 422 {"messages": {"query": {field: [message]}}} (a schema-level message is a
  bare string), marshmallow's own messages ("Missing data for required field.", "Invalid value."
  for a failed validator, "Must be one of ..." for its enums); other errors {"error": "..."}; an
  unknown cloud provider answers 404 with the JSON string "Provider <name> not found";
- unknown query parameters are ignored (webargs' default for the query string);
- carbon intensity: `request` echoes every parameter of its request dataclass, times as
  isoformat() of what was parsed (no offset when none was given; read as UTC); the window is
  closed and padded (the stored point at or before start, else the first; the one at or after
  end, else the last); c3lab points carry renewable_ratio, emap and azure points do not;
  desired_renewable_ratio reweighs the renewable and the other generation's intensities, and a
  ratio of 0 (falsy) answers the measured values;
- energy mixture: the closed window [start, end], values per fuel sorted by name.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import psycopg2
import pytest

from api import create_app
from api.faces.legacy.schemas import TAG
from database.dimensions import sync_source
from database.readings import write_readings
from database.emission_factors import factors_at
from tests.test_api import LIFECYCLE, intensity_of, nyiso_mix

MANHATTAN = {"latitude": 40.7831, "longitude": -73.9712}
SAN_FRANCISCO = {"latitude": 37.7749, "longitude": -122.4194}
BOARDMAN = {"latitude": 45.8234, "longitude": -119.7257}  # AWS us-west-2, PacifiCorp West in the test zones
RENEWABLE = ("hydro", "wind", "solar", "geothermal", "biomass")  # our fuel table's renewable flag
CI_KEYS = {"request", "region", "iso", "carbon_intensities"}
REQUEST_KEYS = ["start", "end", "carbon_data_source", "use_prediction", "desired_renewable_ratio", "latitude",
                "longitude", "iso"]


@pytest.fixture
def client(filled, boundaries_env):
    return create_app(filled).test_client()


def get(client, path, **params):
    response = client.get(path, query_string=params)
    return response.status_code, response.get_json()


def stamps(*moments: str) -> list[str]:
    return [f"2025-02-19T{moment}:00+00:00" for moment in moments]


def lifecycle_factors(url: str, region: str, at: str) -> dict[str, float]:
    """The lifecycle factors the region's intensity uses at `at`: its own where cited
    (migration 0007), else the global set."""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM region WHERE code = %s", (region,))
        factors = {f.fuel: f.value for f in factors_at(cur, cur.fetchone()[0], pd.Timestamp(at).to_pydatetime(),
                                                        "lifecycle")}
    conn.close()
    return factors


@pytest.fixture(scope="module")
def new_york(filled) -> dict[str, float]:
    """The factors the original computed with: one global set of lifecycle medians (IPCC 2014),
    not our regional ones."""
    return LIFECYCLE


def renewable_split(mix: dict[str, float], factors: dict[str, float]) -> tuple[float, float]:
    """Lifecycle intensity of the renewable and of the other generation of a mix."""
    renewable = {fuel: mw for fuel, mw in mix.items() if fuel in RENEWABLE}
    other = {fuel: mw for fuel, mw in mix.items() if fuel not in RENEWABLE}
    return intensity_of(renewable, factors), intensity_of(other, factors)


# -- /legacy/balancing-authority/ ------------------------------------------------------

@pytest.mark.parametrize("point, region, watttime_prefix, zone", [
    (MANHATTAN, "US-NY", "NYISO_", "US-NY-NYIS"),
    (SAN_FRANCISCO, "US-CAISO", "CAISO_", "US-CAL-CISO"),
    (BOARDMAN, "US-PACW", "PACW", "US-NW-PACW"),
])
def test_balancing_authority_in_the_original_shape(client, point, region, watttime_prefix, zone):
    status, body = get(client, "/legacy/balancing-authority/", **point)
    assert status == 200
    assert list(body) == ["request", "watttime_abbrev", "watttime_name", "iso", "region"]
    assert body["request"] == point
    assert all(isinstance(body[key], str) and body[key] for key in ("watttime_abbrev", "watttime_name"))
    assert body["watttime_abbrev"].startswith(watttime_prefix)
    assert body["iso"] == f"watttime:{body['watttime_abbrev']}" and body["region"] == region

    status, emap = get(client, "/legacy/balancing-authority/", iso_format="emap", **point)
    assert status == 200 and emap == {"request": point, "iso": f"emap:{zone}"}
    status, c3lab = get(client, "/legacy/balancing-authority/", iso_format="c3lab", **point)
    assert status == 200 and c3lab["iso"] == f"c3lab:{region}" and c3lab["region"] == region


def test_every_answered_name_leads_back_to_the_region(client):
    """The three names the legacy lookup answers are names the native API resolves to the same
    region (they come from the region's aliases)."""
    for point, code in ((MANHATTAN, "NYIS"), (SAN_FRANCISCO, "CISO"), (BOARDMAN, "PACW")):
        _, body = get(client, "/legacy/balancing-authority/", **point)
        _, emap = get(client, "/legacy/balancing-authority/", iso_format="emap", **point)
        for name in (body["iso"], f"c3lab:{body['region']}", emap["iso"]):
            status, native = get(client, "/balancing-authority/", region=name)
            assert status == 200 and native["region"]["id"] == code, name


@pytest.mark.parametrize("answered, expected", [
    ("CAISO_SANDIEGO", "CAISO_SANDIEGO"),  # WattTime's own sub-region, as the original answered
    ("PACW", "CAISO_NORTH"),  # WattTime disagrees with the boundaries: the region's representative
])
def test_with_a_watttime_account_watttime_names_the_sub_region(client, fake_iso, monkeypatch, answered, expected):
    from energy_data import watttime

    fake_iso.serve("/login", b'{"token": "tok"}', content_type="application/json")
    fake_iso.serve("/v3/region-from-loc", ('{"region": "%s", "signal_type": "co2_moer"}' % answered).encode(),
                   content_type="application/json")
    monkeypatch.setenv("WATTTIME_USERNAME", "loopback-user")
    monkeypatch.setenv("WATTTIME_PASSWORD", "loopback-pass")
    monkeypatch.setenv("WATTTIME_BASE_URL", fake_iso.url)
    monkeypatch.setattr(watttime, "_clients", {})
    status, body = get(client, "/legacy/balancing-authority/", **SAN_FRANCISCO)
    assert status == 200 and body["watttime_abbrev"] == expected and body["iso"] == f"watttime:{expected}"
    assert body["region"] == "US-CAISO"  # the region comes from the boundaries either way


@pytest.mark.parametrize("params, messages", [
    ({"longitude": -73.97}, {"latitude": ["Missing data for required field."]}),
    ({"latitude": 91, "longitude": -73.97}, {"latitude": ["Invalid value."]}),
    ({"latitude": 40.7, "longitude": -181}, {"longitude": ["Invalid value."]}),
    ({"latitude": "north", "longitude": -73.97}, {"latitude": ["Not a valid number."]}),
    ({**MANHATTAN, "iso_format": "gps"}, {"iso_format": ["Must be one of c3lab, watttime, emap."]}),
])
def test_balancing_authority_validation_answers_422(client, params, messages):
    status, body = get(client, "/legacy/balancing-authority/", **params)
    assert status == 422 and body == {"messages": {"query": messages}}


def test_balancing_authority_outside_every_region_and_unknown_parameters(client):
    status, body = get(client, "/legacy/balancing-authority/", latitude=0, longitude=-30)
    assert status == 404 and isinstance(body["error"], str) and "outside every" in body["error"]
    assert body["code"] == "no_region_here"
    status, body = get(client, "/legacy/balancing-authority/", colour="blue", **MANHATTAN)
    assert status == 200 and body["region"] == "US-NY"  # ignored, as the original's webargs did


def test_every_name_of_the_original_mapping_resolves(client, shared_fixtures):
    """The original's WattTime mapping (../shared/reference): each of its region names and each
    WattTime name under it is one of our regions, the same for both, with and without prefix."""
    import yaml

    path = shared_fixtures.parent / "reference" / "seed_watttime_ba_to_region.yaml"
    if not path.is_file():
        pytest.skip(f"the original's WattTime mapping not found at {path}")
    mapping = yaml.safe_load(path.read_text())["map_c3lab_region_to_watttime_ba"]
    for region, watttime_names in mapping.items():
        status, body = get(client, "/balancing-authority/", region=f"c3lab:{region}")
        assert status == 200, region
        for name in watttime_names:
            for asked in (f"watttime:{name}", name):
                status, other = get(client, "/balancing-authority/", region=asked)
                assert status == 200 and other["region"]["id"] == body["region"]["id"], asked


# -- /legacy/carbon-intensity/ ---------------------------------------------------------

def test_carbon_intensity_for_coordinates_with_naive_times(client, shared_fixtures, new_york):
    status, body = get(client, "/legacy/carbon-intensity/", start="2025-02-19T05:02:00",
                       end="2025-02-19T05:12:00", **MANHATTAN)
    assert status == 200 and list(body) == ["request", "region", "iso", "carbon_intensities"]
    assert list(body["request"]) == REQUEST_KEYS
    assert body["request"] == {"start": "2025-02-19T05:02:00", "end": "2025-02-19T05:12:00",
                               "carbon_data_source": "c3lab", "use_prediction": False,
                               "desired_renewable_ratio": None, **MANHATTAN, "iso": None}
    assert body["region"] == "US-NY" and body["iso"].startswith("watttime:NYISO_")
    points = body["carbon_intensities"]
    # Padded: 05:00 is the last point at or before 05:02, 05:15 the first at or after 05:12.
    assert [p["timestamp"] for p in points] == stamps("05:00", "05:05", "05:10", "05:15")
    for point in points:
        assert list(point) == ["timestamp", "carbon_intensity", "renewable_ratio"]
        assert isinstance(point["carbon_intensity"], float) and 0 < point["renewable_ratio"] < 1
    first = nyiso_mix(shared_fixtures, "02/19/2025 00:05:00")  # the interval starting 05:00Z
    assert points[0]["carbon_intensity"] == pytest.approx(intensity_of(first, new_york))
    assert points[0]["renewable_ratio"] == pytest.approx(
        sum(mw for fuel, mw in first.items() if fuel in RENEWABLE) / sum(first.values()))


def test_carbon_intensity_answers_what_the_native_route_answers(client):
    """The same reads: the legacy points are the native points of the padded window, with the
    original's global (IPCC) factors."""
    _, legacy = get(client, "/legacy/carbon-intensity/", iso="c3lab:US-NY", start="2025-02-19T06:03:00Z",
                    end="2025-02-19T07:00:00Z")
    _, native = get(client, "/carbon-intensity/", region="NYIS", start="2025-02-19T06:00:00Z",
                    end="2025-02-19T07:00:01Z", emission_factors="ipcc")
    assert legacy["carbon_intensities"] == [
        {key: p[key] for key in ("timestamp", "carbon_intensity", "renewable_ratio")}
        for p in native["carbon_intensities"]]
    assert legacy["carbon_intensities"][-1]["timestamp"] == "2025-02-19T07:00:00+00:00"  # end itself is in


def test_carbon_intensity_times_as_the_original_clients_sent_them(client):
    """Its clients passed aware datetimes in query_string: str() gives '2025-02-19 00:02:00-05:00'."""
    local = timezone(timedelta(hours=-5))
    status, body = get(client, "/legacy/carbon-intensity/", iso="watttime:NYISO_NYC",
                       start=datetime(2025, 2, 19, 0, 2, tzinfo=local), end=datetime(2025, 2, 19, 0, 12, tzinfo=local))
    assert status == 200
    assert body["request"]["start"] == "2025-02-19T00:02:00-05:00"
    assert (body["region"], body["iso"]) == (None, "watttime:NYISO_NYC")
    assert [p["timestamp"] for p in body["carbon_intensities"]] == stamps("05:00", "05:05", "05:10", "05:15")
    _, utc = get(client, "/legacy/carbon-intensity/", iso="emap:US-NY-NYIS", start="2025-02-19T05:02:00Z",
                 end="2025-02-19T05:12:00Z")
    assert utc["carbon_intensities"] == body["carbon_intensities"] and utc["region"] is None


def test_carbon_intensity_window_edges(client):
    def timestamps(start, end):
        status, body = get(client, "/legacy/carbon-intensity/", iso="c3lab:US-NY", start=start, end=end)
        assert status == 200, body
        return [p["timestamp"] for p in body["carbon_intensities"]]
    # On stored points: nothing added.
    assert timestamps("2025-02-19T05:00:00Z", "2025-02-19T05:10:00Z") == stamps("05:00", "05:05", "05:10")
    # start == end on a point: that point; between points: the two around it.
    assert timestamps("2025-02-19T05:05:00Z", "2025-02-19T05:05:00Z") == stamps("05:05")
    assert timestamps("2025-02-19T05:06:00Z", "2025-02-19T05:06:00Z") == stamps("05:05", "05:10")
    # Before the first stored point: the first one stands in.
    assert timestamps("2025-02-18T23:00:00Z", "2025-02-19T05:04:00Z") == stamps("05:00", "05:05")


def test_desired_renewable_ratio_reweighs_renewable_and_other_generation(client, shared_fixtures, new_york):
    status, body = get(client, "/legacy/carbon-intensity/", iso="c3lab:US-NY", start="2025-02-19T05:00:00Z",
                       end="2025-02-19T05:05:00Z", desired_renewable_ratio=0.8)
    assert status == 200 and body["request"]["desired_renewable_ratio"] == 0.8
    for point, stamp in zip(body["carbon_intensities"], ("02/19/2025 00:05:00", "02/19/2025 00:10:00")):
        renewable, other = renewable_split(nyiso_mix(shared_fixtures, stamp), new_york)
        assert point["renewable_ratio"] == 0.8
        assert point["carbon_intensity"] == pytest.approx(0.8 * renewable + 0.2 * other)
    # A ratio of 0 is falsy in the original's test, which then answered the measured values.
    _, zero = get(client, "/legacy/carbon-intensity/", iso="c3lab:US-NY", start="2025-02-19T05:00:00Z",
                  end="2025-02-19T05:05:00Z", desired_renewable_ratio=0)
    _, measured = get(client, "/legacy/carbon-intensity/", iso="c3lab:US-NY", start="2025-02-19T05:00:00Z",
                      end="2025-02-19T05:05:00Z")
    assert zero["carbon_intensities"] == measured["carbon_intensities"]


@pytest.mark.parametrize("params, messages", [
    ({"start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z"},
     {"iso": "iso must be specified if latitude and longitude are not specified"}),
    ({"latitude": 40.7, "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z"},
     {"iso": "iso must be specified if latitude and longitude are not specified"}),
    ({"iso": "US-NY", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z"}, {"iso": ["Invalid value."]}),
    ({"iso": "c3lab:US-NY", "end": "2025-02-19T06:00:00Z"}, {"start": ["Missing data for required field."]}),
    ({"iso": "c3lab:US-NY", "start": "yesterday", "end": "2025-02-19T06:00:00Z"},
     {"start": ["Not a valid datetime."]}),
    ({"iso": "c3lab:US-NY", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z",
      "carbon_data_source": "watttime"}, {"carbon_data_source": ["Must be one of c3lab, azure, emap."]}),
    ({"iso": "c3lab:US-NY", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z",
      "desired_renewable_ratio": 1.5}, {"desired_renewable_ratio": ["Invalid value."]}),
    ({"iso": "c3lab:US-NY", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z",
      "use_prediction": "perhaps"}, {"use_prediction": ["Not a valid boolean."]}),
])
def test_carbon_intensity_validation_answers_422(client, params, messages):
    status, body = get(client, "/legacy/carbon-intensity/", **params)
    assert status == 422 and body == {"messages": {"query": messages}}


@pytest.mark.parametrize("params, status, words", [
    ({"iso": "c3lab:US-NOWHERE"}, 404, "Region US-NOWHERE doesn't exist."),
    ({"iso": "eia:CISO"}, 400, "Unknown ISO format"),
    ({"iso": "c3lab:US-MISO"}, 404, "Region US-MISO doesn't exist."),  # a region without data
    ({"iso": "c3lab:US-NY", "start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}, 400,
     "Time range is too new. Data not yet available."),
    ({"iso": "c3lab:US-NY", "start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z"}, 400,
     "Time range is too old. No data available."),
    ({"iso": "c3lab:US-NY", "start": "2025-02-19T06:00:00Z", "end": "2025-02-19T05:00:00Z"}, 400,
     "end must be after start"),
    ({"iso": "c3lab:US-NY", "start": "2024-01-01T00:00:00Z", "end": "2025-02-19T05:00:00Z"}, 400, "over 366 days"),
    ({"iso": "c3lab:US-NY", "carbon_data_source": "emap"}, 400, "no Electricity Maps data is stored"),
    ({"iso": "c3lab:US-NY", "carbon_data_source": "azure"}, 400, "carbon_data_source=azure"),
    ({"iso": "c3lab:US-NY", "use_prediction": "true"}, 400, "answers from our forecast"),
    ({"iso": "c3lab:US-NY", "use_prediction": "true", "desired_renewable_ratio": 0.5}, 400,
     "cannot be applied to a forecast"),
    ({"latitude": 0, "longitude": -30}, 404, "outside every balancing authority"),
])
def test_carbon_intensity_errors_answer_the_original_error_shape(client, params, status, words):
    query = {"start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z", **params}
    got, body = get(client, "/legacy/carbon-intensity/", **query)
    assert got == status and set(body) == {"error", "code"} and isinstance(body["error"], str)
    assert words in body["error"]


# -- carbon_data_source=emap ------------------------------------------------------------

@pytest.fixture(scope="module")
def emap_series(filled):
    """A day of hourly intensity for PACW under source ELECTRICITYMAPS (where imported Electricity
    Maps data is stored), written by hand through the write path as a constant mix: 1000 MW of gas
    and 1000 MW of wind, so 250.5 gCO2eq/kWh (lifecycle) every hour. EIA's recorded PACW data
    covers the same day."""
    hours = pd.date_range("2023-01-02T00:00:00Z", periods=24, freq="h")
    readings = pd.DataFrame([{"timestamp": hour, "fuel": fuel, "mw": 1000.0, "region": "PACW"}
                             for hour in hours for fuel in ("gas", "wind")])
    conn = psycopg2.connect(filled)
    with conn, conn.cursor() as cur:
        source_id = sync_source(cur, "ELECTRICITYMAPS", "hand-made stand-in for imported Electricity Maps data",
                                timedelta(days=1), 60, timedelta(days=1))
        write_readings(cur, source_id, readings, 60)
    conn.close()
    factors = lifecycle_factors(filled, "PACW", "2023-01-02T00:00Z")
    return (factors["gas"] + factors["wind"]) / 2


def test_emap_answers_from_electricity_maps_data_and_c3lab_from_ours(client, emap_series):
    window = {"start": "2023-01-02T03:30:00Z", "end": "2023-01-02T05:00:00Z"}
    status, body = get(client, "/legacy/carbon-intensity/", carbon_data_source="emap", iso="emap:US-NW-PACW", **window)
    assert status == 200 and body["iso"] == "emap:US-NW-PACW"
    assert body["carbon_intensities"] == [
        {"timestamp": f"2023-01-02T0{hour}:00:00+00:00", "carbon_intensity": pytest.approx(emap_series)}
        for hour in (3, 4, 5)]  # no renewable_ratio: the original's emap points had none
    status, ours = get(client, "/legacy/carbon-intensity/", iso="emap:US-NW-PACW", **window)
    _, eia = get(client, "/carbon-intensity/", region="PACW", source="EIA", start="2023-01-02T03:00:00Z",
                 end="2023-01-02T05:00:01Z")
    assert status == 200 and [p["carbon_intensity"] for p in ours["carbon_intensities"]] == [
        p["carbon_intensity"] for p in eia["carbon_intensities"]]
    assert ours["carbon_intensities"][0]["carbon_intensity"] != pytest.approx(emap_series)
    status, body = get(client, "/legacy/carbon-intensity/", carbon_data_source="emap", iso="emap:US-NW-PACW",
                       desired_renewable_ratio=0.5, **window)
    assert status == 400 and body["code"] == "not_supported"
    status, body = get(client, "/legacy/carbon-intensity/", carbon_data_source="emap", latitude=BOARDMAN["latitude"],
                       longitude=BOARDMAN["longitude"], **window)
    assert status == 200 and (body["region"], body["iso"]) == ("US-PACW", "emap:US-NW-PACW")


# -- forecasts: use_prediction and azure -----------------------------------------------

@pytest.fixture(scope="module")
def recent_history(filled):
    """Ten days of hand-made hourly mix for ERCO up to the last hour (the recorded fixtures are
    from the past, and a forecast starts now), written through the crawler's write path."""
    now_hour = pd.Timestamp.now(tz="UTC").floor("h")
    hours = pd.date_range(end=now_hour - pd.Timedelta(hours=1), periods=10 * 24, freq="h")
    rng = np.random.default_rng(7)
    mix = pd.DataFrame({"gas": rng.uniform(20000, 40000, len(hours)), "wind": rng.uniform(2000, 9000, len(hours))},
                       index=hours)
    readings = mix.stack().rename("mw").reset_index()
    readings.columns = ["timestamp", "fuel", "mw"]
    readings["region"] = "ERCO"
    conn = psycopg2.connect(filled)
    with conn, conn.cursor() as cur:
        source_id = sync_source(cur, "TESTHOURLY", "hand-made for the legacy forecast tests", timedelta(hours=1), 60,
                                timedelta(hours=6))
        write_readings(cur, source_id, readings, 60)
    conn.close()
    return now_hour


def test_use_prediction_answers_our_forecast_in_the_original_shape(client, recent_history):
    start, end = recent_history + pd.Timedelta(hours=2, minutes=30), recent_history + pd.Timedelta(hours=6)
    status, body = get(client, "/legacy/carbon-intensity/", iso="watttime:ERCOT_AUSTIN", use_prediction="true",
                       start=start.isoformat(), end=end.isoformat())
    assert status == 200 and body["request"]["use_prediction"] is True
    points = body["carbon_intensities"]
    expected = [(recent_history + pd.Timedelta(hours=h)).isoformat() for h in range(2, 7)]
    assert [p["timestamp"] for p in points] == expected  # padded to the forecast's hours
    assert all(list(p) == ["timestamp", "carbon_intensity", "renewable_ratio"] and p["renewable_ratio"] is None
               and isinstance(p["carbon_intensity"], float) for p in points)
    _, native = get(client, "/carbon-intensity/forecast/", region="ERCO", horizon_hours=12)
    by_hour = {p["timestamp"]: p["carbon_intensity"] for p in native["forecast"]}
    assert [p["carbon_intensity"] for p in points] == [by_hour[t] for t in expected]

    status, azure = get(client, "/legacy/carbon-intensity/", iso="watttime:ERCOT_AUSTIN", carbon_data_source="azure",
                        start=start.isoformat(), end=end.isoformat())
    assert status == 200
    assert azure["carbon_intensities"] == [{"timestamp": p["timestamp"], "carbon_intensity": p["carbon_intensity"]}
                                           for p in points]


# -- /legacy/energy-mixture/ -----------------------------------------------------------

def test_energy_mixture_in_the_original_shape(client, shared_fixtures):
    status, body = get(client, "/legacy/energy-mixture/", start="2025-02-19T05:00:00", end="2025-02-19T05:05:00",
                       **MANHATTAN)
    assert status == 200 and list(body) == ["request", "iso", "region", "power_by_fuel_type"]
    assert body["request"] == {**MANHATTAN, "start": "2025-02-19T05:00:00", "end": "2025-02-19T05:05:00"}
    assert body["iso"].startswith("watttime:NYISO_") and body["region"] == "US-NY"
    entries = body["power_by_fuel_type"]
    assert [e["timestamp"] for e in entries] == stamps("05:00", "05:05")  # closed: end is in
    for entry, stamp in zip(entries, ("02/19/2025 00:05:00", "02/19/2025 00:10:00")):
        assert list(entry) == ["timestamp", "values"]
        assert all(list(v) == ["type", "power_mw"] and isinstance(v["power_mw"], float) for v in entry["values"])
        assert [v["type"] for v in entry["values"]] == sorted(v["type"] for v in entry["values"])
        assert {v["type"]: v["power_mw"] for v in entry["values"]} == pytest.approx(nyiso_mix(shared_fixtures, stamp))
    status, emap = get(client, "/legacy/energy-mixture/", start="2025-02-19T05:00:00", end="2025-02-19T05:05:00",
                       iso_format="emap", **MANHATTAN)
    assert status == 200 and emap["iso"] == "emap:US-NY-NYIS" and emap["power_by_fuel_type"] == entries


def test_energy_mixture_errors(client):
    status, body = get(client, "/legacy/energy-mixture/", end="2025-02-19T05:05:00", **MANHATTAN)
    assert status == 422 and body == {"messages": {"query": {"start": ["Missing data for required field."]}}}
    status, body = get(client, "/legacy/energy-mixture/", start="2020-01-01T00:00:00", end="2020-01-02T00:00:00",
                       **MANHATTAN)
    assert status == 400 and body["error"] == "Time range is too old. No data available."
    assert body["code"] == "no_data"
    status, body = get(client, "/legacy/energy-mixture/", start="2025-01-01T00:00:00", end="2025-02-19T05:00:00",
                       **MANHATTAN)
    assert status == 400 and "over 31 days" in body["error"]
    assert body["code"] == "range_too_large"


# -- /legacy/metadata/cloud-location/ --------------------------------------------------

def test_cloud_providers_and_locations_are_bare_arrays(client):
    status, providers = get(client, "/legacy/metadata/cloud-location/providers/")
    assert status == 200 and providers == ["AWS", "Azure", "gcloud"]
    for provider, native, expected in (("AWS", "aws", "us-east-1"), ("Azure", "azure", "westus"),
                                       ("gcloud", "gcp", "us-east7")):
        status, codes = get(client, f"/legacy/metadata/cloud-location/locations/{provider}/")
        assert status == 200 and expected in codes and all(isinstance(code, str) for code in codes)
        _, ours = get(client, f"/metadata/cloud-location/locations/{native}/")
        assert codes == [place["name"] for place in ours["locations"]]
    response = client.get("/legacy/metadata/cloud-location/locations/ibm/")
    assert response.status_code == 404 and response.get_json() == "Provider ibm not found"


def test_openapi_documents_the_legacy_routes_under_their_own_tag(client):
    document = client.get("/openapi.json").get_json()
    legacy = {path: operations["get"] for path, operations in document["paths"].items() if path.startswith("/legacy/")}
    assert set(legacy) >= {"/legacy/balancing-authority/", "/legacy/carbon-intensity/", "/legacy/energy-mixture/",
                           "/legacy/metadata/cloud-location/providers/",
                           "/legacy/metadata/cloud-location/locations/{provider}/"}
    assert all(operation["tags"] == [TAG] for operation in legacy.values())
    assert all(TAG not in operations.get("get", {}).get("tags", []) for path, operations in document["paths"].items()
               if not path.startswith("/legacy/"))
    assert "LegacyError" in document["components"]["schemas"]
    providers = legacy["/legacy/metadata/cloud-location/providers/"]["responses"]["200"]
    assert providers["content"]["application/json"]["schema"] == {"type": "array", "items": {"type": "string"}}
    names = {p["name"] for p in legacy["/legacy/carbon-intensity/"]["parameters"]}
    assert names == set(REQUEST_KEYS)


# -- the native API forgives the original's names and parameters -----------------------

def test_native_cloud_locations_take_the_original_provider_name(client):
    status, gcloud = get(client, "/metadata/cloud-location/locations/gcloud/")
    _, gcp = get(client, "/metadata/cloud-location/locations/gcp/")
    assert status == 200 and gcloud == gcp and gcloud["provider"] == "gcp"
    status, body = get(client, "/metadata/cloud-location/locations/ibm/")
    assert status == 404 and body["error"]["code"] == "unknown_provider"


@pytest.mark.parametrize("name", ["watttime:CAISO_NORTH", "c3lab:US-CAISO", "emap:US-CAL-CISO", "EMAP:us-cal-ciso"])
def test_native_region_takes_the_original_prefixed_names(client, name):
    status, body = get(client, "/carbon-intensity/", region=name, start="2025-02-09T08:00:00Z",
                       end="2025-02-09T09:00:00Z")
    assert status == 200 and body["region"] == "CISO" and len(body["carbon_intensities"]) == 12
    status, body = get(client, "/carbon-intensity/", region="eia:CISO", start="2025-02-09T08:00:00Z",
                       end="2025-02-09T09:00:00Z")
    assert status == 404 and body["error"]["code"] == "unknown_region"


@pytest.mark.parametrize("path, parameter, replacement", [
    ("/carbon-intensity/", "iso", "region="),
    ("/carbon-intensity/", "carbon_data_source", "source="),
    ("/carbon-intensity/", "use_prediction", "/carbon-intensity/forecast/"),
    ("/carbon-intensity/", "desired_renewable_ratio", "/legacy/carbon-intensity/"),
    ("/balancing-authority/", "iso_format", "/legacy/balancing-authority/"),
    ("/energy-mixture/", "iso_format", "GET /regions/"),
    ("/regions/", "iso", "region="),  # an endpoint without parameters
])
def test_native_refuses_the_original_parameters_saying_what_replaces_them(client, path, parameter, replacement):
    query = {"region": "NYIS", "start": "2025-02-19T05:00:00Z", "end": "2025-02-19T06:00:00Z", parameter: "x"}
    if path != "/carbon-intensity/" and path != "/energy-mixture/":
        query = {parameter: "x"} if path == "/regions/" else {"region": "NYIS", parameter: "x"}
    status, body = get(client, path, **query)
    assert status == 400 and body["error"]["code"] == "unknown_parameter" and body["error"]["parameter"] == parameter
    message = body["error"]["message"]
    assert message.startswith(f"unknown parameter {parameter!r}: ") and replacement in message


def test_native_refuses_other_unknown_parameters_plainly(client):
    status, body = get(client, "/carbon-intensity/", region="NYIS", start="2025-02-19T05:00:00Z",
                       end="2025-02-19T06:00:00Z", colour="blue")
    assert status == 400 and body["error"]["message"] == "unknown parameter 'colour'"
