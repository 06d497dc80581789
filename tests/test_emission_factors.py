"""Regional, year-specific emission factors (migration 0007): the table, /emission-factors/,
intensity at the factor valid at each interval, recomputation on a change, and storage."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import psycopg2
import pytest

from api import create_app
from database.dimensions import sync_source
from database.emission_factors import recompute_intensities, set_factor
from database.readings import write_readings

VOCABULARY = ["coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "geothermal", "biomass", "battery",
              "hydro_storage", "other", "unknown"]
# AR5 WG III Annex III Table A.III.2 lifecycle minus direct medians (oil: Electricity Maps' defaults)
UPSTREAM = {"coal": 60, "gas": 120, "geothermal": 38, "oil": 244}
REGIONS = ("CISO", "ERCO", "PJM", "NYIS", "MISO", "ISNE", "SWPP", "BPAT", "PACW", "SOCO", "AZPS", "HECO", "PREPA")


def factor(db, region: str | None, fuel: str, factor_set: str, at: str) -> float:
    """The factor the table holds for (region, fuel) at `at`: the region's own, else the default."""
    with db.cursor() as cur:
        cur.execute(
            "SELECT e.g_per_kwh FROM emission_factor e JOIN fuel f ON f.id = e.fuel_id "
            "LEFT JOIN region r ON r.id = e.region_id WHERE f.name = %s AND e.factor_set = %s "
            "AND (r.code = %s OR e.region_id IS NULL) AND e.valid_from <= %s "
            "ORDER BY e.region_id IS NULL, e.valid_from DESC LIMIT 1", (fuel, factor_set, region, at))
        return cur.fetchone()[0]


@pytest.fixture
def source_id(db):
    with db.cursor() as cur:
        return sync_source(cur, "TEST", "test source", timedelta(hours=1), 60)


def write(db_url, source_id, rows, interval=60):
    readings = pd.DataFrame({"region": [r[0] for r in rows], "timestamp": pd.to_datetime([r[1] for r in rows], utc=True),
                             "fuel": [r[2] for r in rows], "mw": [float(r[3]) for r in rows]})
    conn = psycopg2.connect(db_url)
    try:
        with conn, conn.cursor() as cur:
            return write_readings(cur, source_id, readings, interval)
    finally:
        conn.close()


def stored_intensity(db, region, ts, column="lifecycle_g_per_kwh"):
    with db.cursor() as cur:
        cur.execute(f"SELECT {column} FROM carbon_intensity c JOIN region r ON r.id = c.region_id "
                    "WHERE r.code = %s AND c.ts = %s", (region, ts))
        row = cur.fetchone()
        return row[0] if row else None


# -- the table ---------------------------------------------------------------------------

def test_every_regional_factor_has_a_source_a_citation_and_the_ipcc_upstream_adder(db):
    with db.cursor() as cur:
        cur.execute("SELECT r.code, f.name, e.factor_set, e.valid_from, e.g_per_kwh, e.source, e.citation "
                    "FROM emission_factor e JOIN fuel f ON f.id = e.fuel_id JOIN region r ON r.id = e.region_id")
        rows = cur.fetchall()
    # The zones outside the US (migration 0021) are checked in tests/test_zone_factors.py.
    rows = [row for row in rows if not row[6].startswith("Electricity Maps, electricitymaps-contrib config/zones/")
            or row[0] in REGIONS]
    assert {code for code, *_ in rows} == set(REGIONS)
    assert all(source and ("electricitymaps-contrib config/zones/" in citation or "EIA-930 OTH" in citation)
               for *_, source, citation in rows)
    by_key = {(code, fuel, factor_set, valid_from): g for code, fuel, factor_set, valid_from, g, *_ in rows}
    checked = 0
    for (code, fuel, factor_set, valid_from), g in by_key.items():
        if factor_set == "lifecycle" and fuel in UPSTREAM and (code, fuel, "direct", valid_from) in by_key:
            assert g - by_key[(code, fuel, "direct", valid_from)] == pytest.approx(UPSTREAM[fuel], abs=0.02)
            checked += 1
    assert checked >= len(REGIONS) * 4 * 4  # four fuels, four eGRID years each


def test_us_coal_and_gas_are_above_the_ipcc_medians_where_the_fleet_burns_them(db):
    for region in ("ERCO", "PJM", "MISO", "SWPP"):
        assert 1000 < factor(db, region, "coal", "lifecycle", "2022-06-01T00:00Z") < 1150
        assert 505 < factor(db, region, "gas", "lifecycle", "2022-06-01T00:00Z") < 600
    assert factor(db, "TVA", "coal", "lifecycle", "2022-06-01T00:00Z") == 820  # no regional figure: global


# -- /emission-factors/ ------------------------------------------------------------------

@pytest.fixture
def client(db_url):
    return create_app(db_url).test_client()


def get(client, **params):
    response = client.get("/emission-factors/", query_string=params)
    return response.status_code, response.get_json()


def test_endpoint_answers_one_factor_per_fuel_with_its_reason(client, db):
    status, body = get(client, region="US-ERCOT", at="2022-06-01T00:00:00Z")
    assert status == 200
    assert (body["region"], body["emission_factor_type"], body["at"]) == ("ERCO", "lifecycle", "2022-06-01T00:00:00+00:00")
    factors = {f["fuel"]: f for f in body["factors"]}
    assert [f["fuel"] for f in body["factors"]] == VOCABULARY
    gas = factors["gas"]
    assert (gas["scope"], gas["unit"], gas["valid_from"], gas["valid_to"]) == (
        "region", "gCO2eq/kWh", "2022-01-01T00:00:00+00:00", "2023-01-01T00:00:00+00:00")
    assert gas["value"] == factor(db, "ERCO", "gas", "lifecycle", "2022-06-01T00:00Z")
    assert "eGRID2022" in gas["source"] and "US-TEX-ERCO.yaml" in gas["citation"]
    assert (factors["wind"]["scope"], factors["wind"]["value"], factors["wind"]["source"]) == ("global", 11, "IPCC 2014")
    assert factors["wind"]["valid_to"] is None
    assert (factors["battery"]["scope"], factors["battery"]["value"]) == ("storage", None)


def test_endpoint_follows_the_time_and_the_factor_type(client, db):
    _, older = get(client, region="ERCO", at="2021-03-01T00:00:00Z")
    _, direct = get(client, region="ERCO", at="2021-03-01T00:00:00Z", emission_factor_type="direct")
    coal = {f["fuel"]: f for f in older["factors"]}["coal"]
    assert coal["value"] == factor(db, "ERCO", "coal", "lifecycle", "2021-03-01T00:00Z")
    assert coal["valid_from"].startswith("2021-01-01") and coal["valid_to"].startswith("2022-01-01")
    direct_coal = {f["fuel"]: f for f in direct["factors"]}["coal"]
    assert direct_coal["value"] == pytest.approx(coal["value"] - 60)


def test_the_ipcc_set_stays_selectable(client):
    _, body = get(client, region="PJM", at="2022-06-01T00:00:00Z", emission_factors="ipcc")
    factors = {f["fuel"]: f for f in body["factors"]}
    assert body["emission_factors"] == "ipcc"
    assert (factors["coal"]["value"], factors["gas"]["value"], factors["other"]["value"]) == (820, 490, 700)
    assert {f["scope"] for f in body["factors"]} == {"global", "storage"}


def test_other_has_a_regional_factor_where_its_contents_are_known(client, db):
    _, prepa = get(client, region="PREPA", at="2024-01-01T00:00:00Z")
    _, nyis = get(client, region="NYIS", at="2022-06-01T00:00:00Z")
    assert {f["fuel"]: f for f in prepa["factors"]}["other"]["value"] == pytest.approx(31.94)
    assert {f["fuel"]: f for f in nyis["factors"]}["other"]["value"] == factor(db, "NYIS", "biomass", "lifecycle",
                                                                               "2022-06-01T00:00Z")


def test_endpoint_refuses_bad_input_with_a_clear_error(client):
    status, body = get(client, region="NOWHERE")
    assert status == 404 and body["error"]["code"] == "unknown_region"
    status, body = get(client, region="ERCO", at="2022-06-01T00:00:00")
    assert status == 400 and "offset" in body["error"]["message"]
    assert (body["error"]["code"], body["error"]["parameter"]) == ("invalid_parameter", "at")
    status, body = get(client, region="ERCO", emission_factor_type="upstream")
    assert status == 400
    assert (body["error"]["code"], body["error"]["parameter"]) == ("invalid_parameter", "emission_factor_type")
    status, body = get(client, region="ERCO", emission_factors="egrid")
    assert status == 400
    assert (body["error"]["code"], body["error"]["parameter"]) == ("invalid_parameter", "emission_factors")
    status, body = get(client)
    assert status == 400
    assert (body["error"]["code"], body["error"]["parameter"]) == ("missing_parameter", "region")


def test_endpoint_defaults_to_now(client):
    status, body = get(client, region="TVA")
    assert status == 200
    assert abs(datetime.fromisoformat(body["at"]) - datetime.now(timezone.utc)) < timedelta(minutes=5)
    assert {f["scope"] for f in body["factors"]} == {"global", "storage"}


# -- intensity ---------------------------------------------------------------------------

def test_intensity_uses_the_factor_valid_at_the_interval(db, db_url, source_id):
    write(db_url, source_id, [("ERCO", "2021-12-31T23:00Z", "gas", 100), ("ERCO", "2022-01-01T00:00Z", "gas", 100)])
    assert stored_intensity(db, "ERCO", "2021-12-31T23:00Z") == factor(db, "ERCO", "gas", "lifecycle", "2021-12-31T23:00Z")
    assert stored_intensity(db, "ERCO", "2022-01-01T00:00Z") == factor(db, "ERCO", "gas", "lifecycle", "2022-01-01T00:00Z")
    assert stored_intensity(db, "ERCO", "2021-12-31T23:00Z") != stored_intensity(db, "ERCO", "2022-01-01T00:00Z")
    assert stored_intensity(db, "ERCO", "2022-01-01T00:00Z", "ipcc_lifecycle_g_per_kwh") == 490


def test_changing_a_factor_recomputes_the_affected_intensities(db, db_url, source_id):
    write(db_url, source_id, [("ERCO", "2021-12-31T23:00Z", "gas", 100), ("ERCO", "2022-06-01T00:00Z", "gas", 100),
                              ("PJM", "2022-06-01T00:00Z", "gas", 100)])
    before_2021 = stored_intensity(db, "ERCO", "2021-12-31T23:00Z")
    pjm = stored_intensity(db, "PJM", "2022-06-01T00:00Z")
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        recomputed = set_factor(cur, "lifecycle", "gas", "ERCO", datetime(2022, 1, 1, tzinfo=timezone.utc), 600.0,
                                "test", "a changed figure")
    conn.close()
    assert recomputed == 1
    assert stored_intensity(db, "ERCO", "2022-06-01T00:00Z") == 600
    assert stored_intensity(db, "ERCO", "2021-12-31T23:00Z") == before_2021
    assert stored_intensity(db, "PJM", "2022-06-01T00:00Z") == pjm
    assert stored_intensity(db, "ERCO", "2022-06-01T00:00Z", "ipcc_lifecycle_g_per_kwh") == 490


def test_a_bad_factor_change_is_refused_and_changes_nothing(db, db_url):
    conn = psycopg2.connect(db_url)
    with conn.cursor() as cur:
        for args, message in ((("lifecycle", "gas", "ERCO", -1.0), "negative"), (("lifecycle", "battery", "ERCO", 5.0), "storage"),
                              (("lifecycle", "gas", "XXXX", 5.0), "unknown region"), (("upstream", "gas", None, 5.0), "factor set")):
            with pytest.raises(ValueError, match=message):
                set_factor(cur, *args[:3], datetime(2022, 1, 1, tzinfo=timezone.utc), args[3], "test", "test")
    conn.rollback()
    conn.close()
    assert factor(db, "ERCO", "gas", "lifecycle", "2022-06-01T00:00Z") != 5.0


def test_recompute_restores_every_stored_intensity(db, db_url, source_id):
    write(db_url, source_id, [("ERCO", "2022-06-01T00:00Z", "coal", 100), ("ERCO", "2022-06-01T00:00Z", "wind", 100)])
    expected = stored_intensity(db, "ERCO", "2022-06-01T00:00Z")
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE carbon_intensity SET lifecycle_g_per_kwh = 0")
        assert recompute_intensities(cur) == 1
    conn.close()
    assert stored_intensity(db, "ERCO", "2022-06-01T00:00Z") == pytest.approx(expected)
    coal = factor(db, "ERCO", "coal", "lifecycle", "2022-06-01T00:00Z")
    assert expected == pytest.approx((coal + 11) / 2)


def test_discharge_carries_the_intensity_of_the_hours_it_charged_in(db, db_url, source_id):
    # Charged at night from coal-heavy hours, discharged at noon in a later batch.
    night = [("TVA", "2025-03-01T02:00Z", "coal", 900), ("TVA", "2025-03-01T02:00Z", "wind", 100),
             ("TVA", "2025-03-01T02:00Z", "battery", -50),
             ("TVA", "2025-03-01T03:00Z", "wind", 1000), ("TVA", "2025-03-01T03:00Z", "battery", -150)]
    write(db_url, source_id, night)
    write(db_url, source_id, [("TVA", "2025-03-01T12:00Z", "solar", 1000), ("TVA", "2025-03-01T12:00Z", "battery", 200)])
    charged = (50 * (900 * 820 + 100 * 11) / 1000 + 150 * 11) / 200
    assert stored_intensity(db, "TVA", "2025-03-01T12:00Z") == pytest.approx((1000 * 45 + 200 * charged) / 1200)
    # Outside the 24 h window the charging no longer counts: the time-weighted fallback has no history.
    write(db_url, source_id, [("TVA", "2025-03-03T12:00Z", "solar", 1000), ("TVA", "2025-03-03T12:00Z", "battery", 200)])
    assert stored_intensity(db, "TVA", "2025-03-03T12:00Z") == pytest.approx(45)


def test_net_storage_without_charging_takes_the_mean_of_the_day_before(db, db_url, source_id):
    write(db_url, source_id, [("TVA", "2025-03-01T00:00Z", "gas", 100), ("TVA", "2025-03-01T01:00Z", "wind", 100),
                              ("TVA", "2025-03-01T02:00Z", "hydro_storage", 100), ("TVA", "2025-03-01T02:00Z", "wind", 100)])
    assert stored_intensity(db, "TVA", "2025-03-01T02:00Z") == pytest.approx((100 * 11 + 100 * (490 + 11) / 2) / 200)


def test_the_api_serves_both_factor_sets(db_url, source_id, client):
    write(db_url, source_id, [("ERCO", "2022-06-01T00:00Z", "coal", 500), ("ERCO", "2022-06-01T00:00Z", "gas", 500)])
    answers = {}
    for choice in ("regional", "ipcc"):
        response = client.get("/carbon-intensity/", query_string={
            "region": "ERCO", "start": "2022-06-01T00:00:00Z", "end": "2022-06-01T01:00:00Z", "emission_factors": choice})
        assert response.status_code == 200
        answers[choice] = response.get_json()["carbon_intensities"][0]["carbon_intensity"]
    assert answers["ipcc"] == pytest.approx((820 + 490) / 2)
    assert answers["regional"] > answers["ipcc"] * 1.15


def test_recompute_command_applies_a_factor_edited_by_hand(db, db_url, source_id, capsys):
    from database.__main__ import main

    write(db_url, source_id, [("ERCO", "2022-06-01T00:00Z", "gas", 100)])
    with db.cursor() as cur:
        cur.execute("UPDATE emission_factor SET g_per_kwh = 555 WHERE region_id = (SELECT id FROM region "
                    "WHERE code = 'ERCO') AND fuel_id = 2 AND factor_set = 'lifecycle' AND valid_from = '2022-01-01Z'")
        assert cur.rowcount == 1
    assert main(["recompute-intensity"]) == 0
    assert "recomputed 1 intervals" in capsys.readouterr().out
    assert stored_intensity(db, "ERCO", "2022-06-01T00:00Z") == 555


def test_a_migration_marked_for_it_recomputes_stored_intensities(db, db_url, source_id, tmp_path, monkeypatch):
    from database import migrate

    write(db_url, source_id, [("ERCO", "2022-06-01T00:00Z", "gas", 100)])
    for path in migrate.migration_files():
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "0999_test_factor.sql").write_text(
        f"{migrate.RECOMPUTE_MARKER}\nUPDATE emission_factor SET g_per_kwh = 444 WHERE region_id = "
        "(SELECT id FROM region WHERE code = 'ERCO') AND fuel_id = 2 AND factor_set = 'lifecycle';\n")
    monkeypatch.setattr(migrate, "MIGRATIONS", tmp_path)
    conn = psycopg2.connect(db_url)
    try:
        assert migrate.migrate(conn) == ["0999_test_factor.sql"]
    finally:
        with conn, conn.cursor() as cur:
            cur.execute("DELETE FROM schema_migration WHERE name = '0999_test_factor.sql'")
        conn.close()
    assert stored_intensity(db, "ERCO", "2022-06-01T00:00Z") == 444
