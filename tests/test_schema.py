"""Migrations, seeded regions and emission factors, on a real PostgreSQL."""
from __future__ import annotations

import json

import psycopg2
import pytest

from energy_data.fuels import FUELS, STORAGE_FUELS
from crawler.parsers.eia import RESPONDENTS
from database.dimensions import resolve_region
from database.migrate import migrate, migration_files


def test_migrate_again_is_a_no_op(db, db_url):
    conn = psycopg2.connect(db_url)
    assert migrate(conn) == []
    conn.close()
    with db.cursor() as cur:
        cur.execute("SELECT name FROM schema_migration ORDER BY name")
        assert [r[0] for r in cur.fetchall()] == [p.name for p in migration_files()]


def test_fuel_table_is_the_design_vocabulary(db):
    with db.cursor() as cur:
        cur.execute("SELECT name, storage FROM fuel")
        rows = dict(cur.fetchall())
    assert set(rows) == set(FUELS)
    assert {name for name, storage in rows.items() if storage} == STORAGE_FUELS


@pytest.mark.parametrize("factor_set", ["lifecycle", "direct"])
def test_every_generating_fuel_has_a_cited_default_factor(db, factor_set):
    with db.cursor() as cur:
        cur.execute("SELECT f.name, e.g_per_kwh, e.citation FROM emission_factor e JOIN fuel f ON f.id = e.fuel_id "
                    "WHERE e.factor_set = %s AND e.region_id IS NULL", (factor_set,))
        rows = {name: (value, citation) for name, value, citation in cur.fetchall()}
    assert set(rows) == set(FUELS) - STORAGE_FUELS
    assert all(citation.strip() for _, citation in rows.values())
    expected = ({"coal": 820, "gas": 490, "oil": 650, "nuclear": 12, "hydro": 24, "wind": 11, "solar": 45,
                 "geothermal": 38, "biomass": 230, "other": 700, "unknown": 700} if factor_set == "lifecycle" else
                {"coal": 760, "gas": 370, "oil": 406, "other": 575, "unknown": 575})
    assert {name: value for name, (value, _) in rows.items() if value} == expected


def test_every_eia_respondent_is_a_region(db):
    with db.cursor() as cur:
        cur.execute("SELECT code FROM region")
        codes = {r[0] for r in cur.fetchall()}
    assert set(RESPONDENTS) <= codes and len(RESPONDENTS) >= 65


@pytest.mark.parametrize("name, code", [
    ("US-CAISO", "CISO"), ("us-ny", "NYIS"), ("US-NEISO", "ISNE"), ("US-BPA", "BPAT"), ("US-SPP", "SWPP"),
    ("US-ERCOT", "ERCO"), ("US-PACW", "PACW"), ("US-MISO", "MISO"), ("US-PJM", "PJM"), ("US-HI", "HECO"),
    ("US-PR", "PREPA"), ("CAISO_NORTH", "CISO"), ("pjm", "PJM"), (" ciso ", "CISO"), ("nowhere", None),
])
def test_aliases_resolve_to_canonical_codes(db, name, code):
    with db.cursor() as cur:
        assert resolve_region(cur, name) == code


def test_every_zone_of_the_boundaries_file_is_a_region(db, shared_fixtures):
    zones = json.loads((shared_fixtures.parent / "geo" / "us_zones.geojson").read_text())["features"]
    with db.cursor() as cur:
        unresolved = [f["properties"]["zoneName"] for f in zones if resolve_region(cur, f["properties"]["zoneName"]) is None]
    assert unresolved == []


@pytest.mark.parametrize("name, code", [
    ("PJM INTERCONNECTION, LLC", "PJM"), ("ELECTRIC RELIABILITY COUNCIL OF TEXAS, INC.", "ERCO"),
    ("ISO NEW ENGLAND INC.", "ISNE"), ("PACIFICORP - EAST", "PACE"), ("Pacificorp West", "PACW"),
    ("SOUTH CAROLINA ELECTRIC & GAS COMPANY", "SCEG"), ("us-cal-ciso", "CISO"),
    ("Southern Company Services, Inc. - Trans", "SOCO"), ("PACIFICORP", None),
])
def test_boundary_file_names_resolve_once_normalised(db, name, code):
    from database.regions import normalise_name, region_names

    with db.cursor() as cur:
        assert region_names(cur).get(normalise_name(name)) == code
