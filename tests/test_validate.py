"""Values that cannot be measurements, end to end on a real PostgreSQL: infinite and absurd values
(crawler/validate.py) and a reading far above its region's recorded peak (crawler/ingest.py) are
counted anomalies, never stored rows, and never make a partial mix pass for a whole one. (What
the intensity does with the interval: tests/test_completeness.py.)"""
from __future__ import annotations

import pytest

from tests.crawlhelp import EIA_ROUTE, crawler_cli, eia_body, query, recent_periods, run_now, serve_eia

# Hand-written: CAISO outlook format; 00:05 has an infinite solar value, 00:10 an absurd wind one.
CAISO_BAD_VALUES = (
    b"Time,Solar,Wind,Geothermal,Biomass,Biogas,Small hydro,Coal,Nuclear,Natural gas,Large hydro,Batteries,Imports,Other\n"
    b"00:00,0,1000,800,300,200,100,0,2200,8060,1500,-50,5000,10\n"
    b"00:05,inf,1010,800,300,200,100,0,2200,8060,1500,-40,-Infinity,10\n"
    b"00:10,0,1e308,800,300,200,100,0,2200,8060,1500,-30,5200,10\n"
)


@pytest.fixture
def eia(fake_iso, monkeypatch, db_url):
    serve_eia(fake_iso, monkeypatch)
    return fake_iso


def test_infinite_and_absurd_values_are_counted_anomalies_not_rows(db, tmp_path):
    day = tmp_path / "CAISO" / "20250209_fuelsource.csv"
    day.parent.mkdir()
    day.write_bytes(CAISO_BAD_VALUES)
    result = crawler_cli("replay", str(day))
    assert result.returncode == 0, result.stdout + result.stderr
    assert query(db, "SELECT count(*) FROM generation_reading WHERE mw = 'Infinity' OR mw > 1e6") == [(0,)]
    assert query(db, "SELECT count(*) FROM net_import WHERE mw = '-Infinity'") == [(0,)]
    # No intensity from a partial mix: 00:05's rejected solar (0 MW either side) is taken as not
    # generating; 00:10 lost its wind (1,010 MW before it, nothing after to interpolate to, no
    # day before): a gap, its other fuels stored as the source said.
    totals = query(db, "SELECT to_char(ts, 'HH24:MI'), total_mw, direct_g_per_kwh FROM carbon_intensity ORDER BY ts")
    assert [t for t, _, _ in totals] == ["08:00", "08:05"], totals
    assert all(0 < total < 20000 and d > 0 for _, total, d in totals), totals
    assert query(db, "SELECT f.name FROM generation_reading g JOIN fuel f ON f.id = g.fuel_id "
                     "WHERE g.ts = '2025-02-09T08:10Z' ORDER BY 1") == [(f,) for f in sorted(
        ("solar", "geothermal", "biomass", "hydro", "coal", "nuclear", "gas", "battery", "other"))]
    anomalies = query(db, "SELECT anomalies FROM crawl_run")[0][0]
    assert anomalies["non_finite_value"] == 2 and anomalies["implausible_value"] == 1


def test_a_reading_far_above_its_region_s_recorded_peak_is_an_anomaly(db, eia):
    periods = recent_periods(8 * 24)  # a week and a day of history: the peak counts from a week on
    eia.serve(EIA_ROUTE, eia_body([(p, fuel, mw) for p in periods for fuel, mw in (("NG", 5000), ("WND", 1000))]))
    assert run_now("EIA")[0] == 0
    assert query(db, "SELECT peak_total_mw FROM series") == [(6000.0,)]
    # A unit slip (kW for MW) in the newest hour: far under 1,000 GW, far over twice the peak.
    eia.serve(EIA_ROUTE, eia_body([(periods[-1], "NG", 65_000), (periods[-1], "WND", 1000)]))
    code, lines = run_now("EIA")
    assert code == 0 and "implausible_value 1" in lines[0], lines
    assert query(db, "SELECT max(mw) FROM generation_reading") == [(5000.0,)]
    assert query(db, "SELECT (anomalies->>'implausible_value')::int FROM crawl_run ORDER BY id") == [(None,), (1,)]
