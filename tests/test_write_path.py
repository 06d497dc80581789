"""The write path on a real PostgreSQL: upserts, revisions, counts, intensity, partitions; and a
revision crawled end to end that no longer lists a fuel."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import psycopg2
import pytest

from database.dimensions import sync_source
from database.readings import write_net_imports, write_readings
from tests.crawlhelp import EIA_ROUTE, eia_body, query, recent_periods, run_now, serve_eia

LIFECYCLE = {"coal": 820, "gas": 490, "oil": 650, "nuclear": 12, "hydro": 24, "wind": 11,
             "solar": 45, "geothermal": 38, "biomass": 230, "other": 700, "unknown": 700}
DIRECT = {"coal": 760, "gas": 370, "oil": 406, "other": 575, "unknown": 575}
RENEWABLE = {"hydro", "wind", "solar", "geothermal", "biomass"}
STORAGE = ("battery", "hydro_storage")


def frame(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "region": [r[0] for r in rows],
        "timestamp": pd.to_datetime([r[1] for r in rows], utc=True),
        "fuel": [r[2] for r in rows],
        "mw": [float(r[3]) for r in rows],
    })


@pytest.fixture
def source_id(db):
    with db.cursor() as cur:
        return sync_source(cur, "TEST", "test source", timedelta(minutes=5), 5)


def write(db_url, source_id, readings, interval=5):
    conn = psycopg2.connect(db_url)
    try:
        with conn, conn.cursor() as cur:
            return write_readings(cur, source_id, readings, interval)
    finally:
        conn.close()


def stored(db, region="CISO"):
    with db.cursor() as cur:
        cur.execute("SELECT g.ts, f.name, g.mw FROM generation_reading g JOIN fuel f ON f.id = g.fuel_id "
                    "JOIN region r ON r.id = g.region_id WHERE r.code = %s ORDER BY 1, 2", (region,))
        return cur.fetchall()


def intensity(db, ts, region="CISO", factors="ipcc"):
    """The stored intensity under the global set (the factors of LIFECYCLE and DIRECT), or
    with factors="regional" the one with the region's own factors."""
    prefix = "ipcc_" if factors == "ipcc" else ""
    with db.cursor() as cur:
        cur.execute(f"SELECT {prefix}lifecycle_g_per_kwh, {prefix}direct_g_per_kwh, renewable_share, low_carbon_share, "
                    "total_mw FROM carbon_intensity c JOIN region r ON r.id = c.region_id "
                    "WHERE r.code = %s AND c.ts = %s", (region, ts))
        return cur.fetchone()


MIX = [
    ("CISO", "2025-02-09T08:00Z", "gas", 5000), ("CISO", "2025-02-09T08:00Z", "solar", 0),
    ("CISO", "2025-02-09T08:00Z", "wind", 1200.5), ("CISO", "2025-02-09T08:00Z", "nuclear", 2200),
    ("CISO", "2025-02-09T08:00Z", "battery", -300), ("CISO", "2025-02-09T08:00Z", "hydro", 1500),
    ("CISO", "2025-02-09T08:05Z", "gas", 5100), ("CISO", "2025-02-09T08:05Z", "wind", 1100),
    ("CISO", "2025-02-09T08:05Z", "battery", 400), ("CISO", "2025-02-09T08:05Z", "coal", 10),
]


def expected_intensity(rows, ts):
    """Independent computation from docs/design.md: non-negative, non-storage generation, plus
    storage discharge at the charge-weighted intensity of the 24 h before (same-length intervals)."""
    def base(at):
        gen = [(fuel, mw) for _, t, fuel, mw in rows
               if pd.Timestamp(t) == at and mw >= 0 and fuel not in STORAGE]
        total = sum(mw for _, mw in gen)
        return (sum(mw * LIFECYCLE[f] for f, mw in gen) / total, sum(mw * DIRECT.get(f, 0) for f, mw in gen) / total,
                sum(mw for f, mw in gen if f in RENEWABLE) / total,
                sum(mw for f, mw in gen if f in RENEWABLE | {"nuclear"}) / total, total)

    at = pd.Timestamp(ts)
    lifecycle, direct, renewable, low_carbon, total = base(at)
    discharge = sum(mw for _, t, f, mw in rows if pd.Timestamp(t) == at and f in STORAGE and mw > 0)
    charges = [(pd.Timestamp(t), -mw) for _, t, f, mw in rows
               if f in STORAGE and mw < 0 and at - pd.Timedelta(hours=24) <= pd.Timestamp(t) < at]
    if discharge and charges:
        weight = sum(c for _, c in charges)
        charged = [sum(base(t)[i] * c for t, c in charges) / weight for i in (0, 1)]
        lifecycle = (lifecycle * total + charged[0] * discharge) / (total + discharge)
        direct = (direct * total + charged[1] * discharge) / (total + discharge)
    return lifecycle, direct, renewable, low_carbon, total


def test_first_write_inserts_everything_and_computes_intensity(db, db_url, source_id):
    counts = write(db_url, source_id, frame(MIX))
    assert (counts.inserted, counts.updated, counts.unchanged) == (len(MIX), 0, 0)
    assert counts.intensities == 2
    for ts in ("2025-02-09T08:00Z", "2025-02-09T08:05Z"):
        assert intensity(db, ts) == pytest.approx(expected_intensity(MIX, ts))


def test_battery_discharge_carries_the_charging_intensity_but_stays_out_of_the_shares(db, db_url, source_id):
    write(db_url, source_id, frame(MIX))
    # 08:05: gas 5100, wind 1100, coal 10; the 400 MW battery discharge is not in the total
    # of generation the shares are of.
    assert intensity(db, "2025-02-09T08:05Z")[4] == pytest.approx(6210)
    # It charged at 08:00 (-300 MW), whose mix was cleaner: discharge lowers 08:05's intensity.
    charged_at = expected_intensity(MIX, "2025-02-09T08:00Z")[0]
    without_storage = (5100 * 490 + 1100 * 11 + 10 * 820) / 6210
    assert intensity(db, "2025-02-09T08:05Z")[0] == pytest.approx(
        (without_storage * 6210 + charged_at * 400) / 6610)
    # 08:00: the -300 MW battery charge is stored as reported.
    assert ("battery", -300.0) in [(f, mw) for _, f, mw in stored(db)]


def test_rewriting_the_same_rows_changes_nothing(db, db_url, source_id):
    write(db_url, source_id, frame(MIX))
    before = stored(db)
    counts = write(db_url, source_id, frame(MIX))
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, len(MIX))
    assert stored(db) == before


def test_a_revision_replaces_the_value_and_the_intensity(db, db_url, source_id):
    write(db_url, source_id, frame(MIX))
    revised = [r if not (r[1] == "2025-02-09T08:00Z" and r[2] == "gas") else (*r[:3], 7000) for r in MIX]
    counts = write(db_url, source_id, frame(revised))
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 1, len(MIX) - 1)
    gas = [mw for ts, f, mw in stored(db) if f == "gas" and ts == pd.Timestamp("2025-02-09T08:00Z")]
    assert gas == [7000.0]
    assert intensity(db, "2025-02-09T08:00Z") == pytest.approx(expected_intensity(revised, "2025-02-09T08:00Z"))


def test_overlapping_batch_counts_new_and_revised_rows(db, db_url, source_id):
    write(db_url, source_id, frame(MIX[:6]))
    counts = write(db_url, source_id, frame(MIX[4:]))  # two stored rows again, four new
    assert (counts.inserted, counts.updated, counts.unchanged) == (4, 0, 2)
    with db.cursor() as cur:
        cur.execute("SELECT row_count, first_ts, last_ts FROM series")
        assert cur.fetchone() == (len(MIX), pd.Timestamp("2025-02-09T08:00Z"), pd.Timestamp("2025-02-09T08:05Z"))


def test_a_fuel_added_later_to_an_interval_updates_its_intensity(db, db_url, source_id):
    """EIA delivers one fuel per request: the intensity must cover all fuels stored."""
    write(db_url, source_id, frame([r for r in MIX if r[2] != "gas"]))
    write(db_url, source_id, frame([r for r in MIX if r[2] == "gas"]))
    assert intensity(db, "2025-02-09T08:05Z") == pytest.approx(expected_intensity(MIX, "2025-02-09T08:05Z"))


def test_region_override_and_validity_date_of_factors(db, db_url, source_id):
    with db.cursor() as cur:
        cur.execute("INSERT INTO emission_factor (factor_set, fuel_id, region_id, valid_from, g_per_kwh, citation) "
                    "SELECT 'lifecycle', f.id, r.id, '2025-02-09T08:05Z', 400, 'test' "
                    "FROM fuel f, region r WHERE f.name = 'gas' AND r.code = 'CISO'")
    rows = [("CISO", "2025-02-09T08:00Z", "gas", 100), ("CISO", "2025-02-09T08:05Z", "gas", 100),
            ("NYIS", "2025-02-09T08:05Z", "gas", 100)]
    write(db_url, source_id, frame(rows))
    regional = dict(factors="regional")
    assert intensity(db, "2025-02-09T08:00Z", **regional)[0] == pytest.approx(516.16)  # before: eGRID2023 (0007)
    assert intensity(db, "2025-02-09T08:05Z", **regional)[0] == pytest.approx(400)  # the override
    assert intensity(db, "2025-02-09T08:05Z")[0] == pytest.approx(490)  # the global set ignores overrides
    assert intensity(db, "2025-02-09T08:05Z", "NYIS", **regional)[0] == pytest.approx(537.21)  # other region


def test_interval_with_only_negative_generation_has_no_intensity(db, db_url, source_id):
    write(db_url, source_id, frame([("CISO", "2025-02-09T08:00Z", "solar", -5),
                                    ("CISO", "2025-02-09T08:00Z", "battery", 20)]))
    lifecycle, direct, renewable, low_carbon, total = intensity(db, "2025-02-09T08:00Z")
    assert (lifecycle, direct, renewable, total) == (None, None, None, 0)


def test_years_get_their_own_partitions(db, db_url, source_id):
    write(db_url, source_id, frame([("CISO", "2016-01-19T05:00Z", "gas", 1), ("CISO", "2025-12-31T23:55Z", "gas", 2),
                                    ("CISO", "2026-01-01T00:00Z", "gas", 3)]))
    with db.cursor() as cur:
        cur.execute("SELECT tableoid::regclass::text, mw FROM generation_reading ORDER BY ts")
        assert cur.fetchall() == [("generation_reading_2016", 1.0), ("generation_reading_2025", 2.0),
                                  ("generation_reading_2026", 3.0)]


def test_unknown_region_is_refused_and_nothing_is_written(db, db_url, source_id):
    with pytest.raises(ValueError, match="unknown region XXXX"):
        write(db_url, source_id, frame([("CISO", "2025-02-09T08:00Z", "gas", 1), ("XXXX", "2025-02-09T08:00Z", "gas", 1)]))
    assert stored(db) == []


def test_net_imports_are_upserted_apart_from_generation(db, db_url, source_id):
    imports = pd.DataFrame({"region": ["CISO"], "timestamp": pd.to_datetime(["2025-02-09T08:00Z"], utc=True),
                            "mw": [4321.0]})
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        assert write_net_imports(cur, source_id, imports, 5) == 1
        assert write_net_imports(cur, source_id, imports, 5) == 0
        assert write_net_imports(cur, source_id, imports.assign(mw=1.0), 5) == 1
    conn.close()
    with db.cursor() as cur:
        cur.execute("SELECT mw FROM net_import")
        assert cur.fetchall() == [(1.0,)]
    assert stored(db) == []


# -- a revision that drops a fuel, crawled end to end -------------------------------------------

@pytest.fixture
def eia(fake_iso, monkeypatch, db_url):
    serve_eia(fake_iso, monkeypatch)
    return fake_iso


def test_a_revision_that_drops_a_fuel_removes_it_and_recomputes_intensity(db, eia):
    periods = recent_periods(3)
    first = [(p, fuel, mw) for p in periods for fuel, mw in (("NG", 500), ("COL", 500), ("WND", 1000))]
    eia.serve(EIA_ROUTE, eia_body(first))
    assert run_now("EIA")[0] == 0
    # EIA's revision of the middle hour no longer lists coal (the respondent resubmitted it).
    revised = [row for row in first if not (row[0] == periods[1] and row[1] == "COL")]
    eia.serve(EIA_ROUTE, eia_body(revised))
    code, lines = run_now("EIA")
    assert code == 0 and "1 removed" in lines[0], lines
    starts = [ts for (ts,) in query(db, "SELECT DISTINCT ts FROM generation_reading ORDER BY 1")]
    coal = [ts for (ts,) in query(db, "SELECT g.ts FROM generation_reading g JOIN fuel f ON f.id = g.fuel_id "
                                      "WHERE f.name = 'coal' ORDER BY 1")]
    assert len(starts) == 3 and coal == [starts[0], starts[2]]
    totals = query(db, "SELECT total_mw, direct_g_per_kwh FROM carbon_intensity ORDER BY ts")
    # The factor valid for PACW at that time: its own override first, the global one otherwise.
    direct = {fuel: query(db, "SELECT e.g_per_kwh FROM emission_factor e JOIN fuel f ON f.id = e.fuel_id "
                              "LEFT JOIN region r ON r.id = e.region_id WHERE e.factor_set = 'direct' "
                              "AND f.name = %s AND (r.code = 'PACW' OR e.region_id IS NULL) AND e.valid_from <= %s "
                              "ORDER BY e.region_id IS NULL, e.valid_from DESC LIMIT 1", fuel, starts[1])[0][0]
              for fuel in ("gas", "coal")}
    assert totals[1] == pytest.approx((1500, 500 * direct["gas"] / 1500))
    assert totals[0] == totals[2] == pytest.approx((2000, (500 * direct["gas"] + 500 * direct["coal"]) / 2000))
    assert query(db, "SELECT row_count FROM series") == [(8,)]
