"""Emission factors of the zones outside the US (migration 0021): each one cited and dated, the
lifecycle figure the direct one plus the IPCC upstream share where its source says so, and the
IPCC defaults where no regional figure exists."""
from __future__ import annotations

import pytest

from crawler.parsers import entsoe

UPSTREAM = {"coal": 60, "gas": 120, "oil": 244}  # AR5 WG III Annex III: lifecycle minus direct medians
OUTSIDE_US = set(entsoe.ZONES) | {"GB", "AU-NSW", "AU-QLD", "AU-SA", "AU-TAS", "AU-VIC", "AU-WA", "CA-QC"}


def zone_rows(db) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute("SELECT r.code, f.name, e.factor_set, e.valid_from, e.g_per_kwh, e.source, e.citation "
                    "FROM emission_factor e JOIN fuel f ON f.id = e.fuel_id JOIN region r ON r.id = e.region_id "
                    "WHERE r.code = ANY(%s)", (sorted(OUTSIDE_US),))
        return cur.fetchall()


def test_every_zone_factor_is_cited_and_dated_with_the_upstream_share(db):
    rows = zone_rows(db)
    assert len(rows) > 1500
    for code, fuel, factor_set, valid_from, g, source, citation in rows:
        assert f"config/zones/{code}.yaml, emissionFactors.{factor_set}." in citation and source, citation
        assert g >= 0
    by_key = {(code, fuel, fs, vf): (g, source) for code, fuel, fs, vf, g, source, _ in rows}
    checked = 0
    for (code, fuel, fs, vf), (g, source) in by_key.items():
        direct = by_key.get((code, fuel, "direct", vf))
        if fs == "lifecycle" and fuel in UPSTREAM and source.startswith("EU-ETS") and source.endswith("IPCC 2014") \
                and direct:
            assert g - direct[0] == pytest.approx(UPSTREAM[fuel], abs=0.02), (code, fuel, vf)
            checked += 1
    assert checked > 500


def test_zones_without_a_figure_keep_the_ipcc_defaults(db):
    codes = {row[0] for row in zone_rows(db)}
    assert {"GE", "XK", "IT-CA", "UA", "CA-QC", "AU-NSW", "AU-WA"}.isdisjoint(codes)
    assert {"DE", "FR", "FI", "SE-SE3", "NO-NO5", "PL", "IE", "GB"} <= codes
    # Germany's coal in 2024 (EU ETS over ENTSO-E generation) is far above the IPCC median.
    with db.cursor() as cur:
        cur.execute("SELECT e.g_per_kwh FROM emission_factor e JOIN region r ON r.id = e.region_id JOIN fuel f "
                    "ON f.id = e.fuel_id WHERE r.code = 'DE' AND f.name = 'coal' AND e.factor_set = 'direct' "
                    "AND e.valid_from = '2024-01-01'")
        assert cur.fetchone()[0] == pytest.approx(1080.4)


def test_the_emission_factor_endpoint_answers_a_zone(db_url, db):
    from api import create_app

    body = create_app(db_url).test_client().get("/emission-factors/", query_string={
        "region": "10YPL-AREA-----S", "at": "2023-06-01T00:00:00Z"}).get_json()
    factors = {f["fuel"]: f for f in body["factors"]}
    assert body["region"] == "PL"
    assert factors["coal"]["scope"] == "region" and "PL.yaml" in factors["coal"]["citation"]
    assert factors["coal"]["valid_from"] == "2023-01-01T00:00:00+00:00"
    assert factors["nuclear"]["scope"] in ("region", "global")
