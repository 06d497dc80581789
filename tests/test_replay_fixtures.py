"""Every real recorded generation fixture, of every source, replayed through
`python -m crawler replay` into a real PostgreSQL: the stored rows are what the parser
read, and every served interval's intensity is docs/design.md's formula over what was stored,
with the estimates (estimated_reading) in place of the fuels they stand for. The few
intervals the recordings themselves leave incomplete are listed in ESTIMATED and GAPS."""
from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pytest

from crawler.__main__ import read_payload
from crawler.crawl import REGISTRY
from tests.crawlhelp import crawler_cli

LIFECYCLE = {"coal": 820, "gas": 490, "oil": 650, "nuclear": 12, "hydro": 24, "wind": 11, "solar": 45,
             "geothermal": 38, "biomass": 230, "other": 700, "unknown": 700}
STORAGE = {"battery", "hydro_storage"}

# (source, files under ../shared/fixtures): the real generation-mix recordings. Left out:
# load forecasts, demand, interchange and price files, error bodies (tested as errors).
FIXTURES = {
    "CAISO_DRW": ["CAISO/20170312_DailyRenewablesWatch.txt", "CAISO/20171104_DailyRenewablesWatch.txt",
                  "CAISO/20171105_DailyRenewablesWatch.txt", "CAISO/20171106_DailyRenewablesWatch.txt"],
    "NYISO": ["NYISO/20160119rtfuelmix.csv", "NYISO/20250201rtfuelmix_csv.days01-20.zip",
              "NYISO/20250219rtfuelmix.csv", "NYISO/20250220rtfuelmix.csv"],
    "EIA": ["EIA/PACW_fuel-type-data_2023-01-01_2023-01-08.json", "EIA/ERCO_NG_fuel-type-data_2022-02-28.json"],
    "ISONE": ["ISONE/genfuelmix_day_20240101.json", "ISONE/genfuelmix_day_20240309.json",
              "ISONE/genfuelmix_day_20240310.json", "ISONE/genfuelmix_day_20241102.json",
              "ISONE/genfuelmix_current_2024-11-25.json"],
    "MISO": ["MISO/getfuelmix_2024-01-15", "MISO/miso_getfuelmix_2022-09-06T0410EST_jqsorted.json",
             "MISO/miso_getfuelmix_2023-11-30T1245EST_imports-decimal_jqsorted.json",
             "MISO/miso_getfuelmix_2025-01-19T0220EST_negative-act_jqsorted.json",
             "MISO/miso_getfuelmix_2025-01-20T0645EST_jqsorted.json", "MISO/getfuelmix_2018-01-25_DOCTORED.json"],
    "PJM": ["PJM/gen_by_fuel.json"],
    "BPA": ["BPA/baltwg_2014-04-15_excerpt.txt"],
    "SPP": ["SPP/GenMix_2018-07-27_DOCTORED.csv"],
    "ERCOT": ["ERCOT/fuel-mix_2024-11-23_older-shape.json", "ERCOT/fuel-mix_2025-10-08.json",
              "ERCOT/energy-storage-resources_2025-10-08.json"],
    "HI": ["HI/islandpulse_mix_2013-12-04.json", "HI/islandpulse_mix_latest_2021-11-16.json"],
    "PREPA": ["PREPA/US_PREPA_dataSource.js"],
    "ENTSOE": ["ENTSOE/FI_production.xml", "ENTSOE/LU_production.xml", "ENTSOE/NO-NO5_production.xml"],
    "OPENELECTRICITY": ["OPENELECTRICITY"],
    "HYDROQUEBEC": ["HYDROQUEBEC/production.json"],
}


# Intervals of the recordings served with an estimate, or left without intensity: each a real
# fault of the recorded body (checked by hand), never a complete interval.
ESTIMATED = {
    # 2017-03-12, hour 2: THERMAL 7,525 MW between 3,575 and 2,903, HYDRO 0 between 4,435 and
    # 4,462 (the hydro output filed under thermal for one hour): both interpolated.
    "CAISO_DRW": {("CISO", "2017-03-12T09:00Z"): {"gas", "hydro"}},
    # The fuel mix's newest interval, 2025-10-09 11:45, is beyond the storage body's newest
    # (11:40): battery there is estimated (the same time the day before).
    "ERCOT": {("ERCO", "2025-10-09T11:45Z"): {"battery"}},
}
GAPS = {
    # The storage body starts at 05:00, the fuel mix at 05:05: a battery-only interval is no mix.
    "ERCOT": {("ERCO", "2025-10-08T05:00Z")},
}


def files_of(shared_fixtures, names):
    for name in names:
        path = shared_fixtures / name
        yield from (sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path])


def expected_readings(source, files) -> dict[tuple, float]:
    """What the parser reads from the files, later files winning, as the replay writes them."""
    module = REGISTRY[source].module
    expected = {}
    for path in files:
        result = module.parse(read_payload(path))
        for row in result.readings.dropna(subset=["mw"]).itertuples(index=False):
            expected[(row.region, row.timestamp.to_pydatetime(), row.fuel)] = row.mw
    return expected


@pytest.mark.parametrize("source", list(FIXTURES))
def test_replayed_fixtures_are_stored_with_their_intensity(db, shared_fixtures, source):
    files = list(files_of(shared_fixtures, FIXTURES[source]))
    result = crawler_cli("replay", "--source", source, *map(str, files))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": ok: ") == len(files)

    with db.cursor() as cur:
        cur.execute("SELECT r.code, g.ts, f.name, g.mw FROM generation_reading g JOIN region r ON r.id = g.region_id "
                    "JOIN fuel f ON f.id = g.fuel_id JOIN source s ON s.id = g.source_id WHERE s.name = %s", (source,))
        stored = {(code, ts, fuel): mw for code, ts, fuel, mw in cur.fetchall()}
        cur.execute("SELECT r.code, e.ts, f.name, e.mw FROM estimated_reading e JOIN region r ON r.id = e.region_id "
                    "JOIN fuel f ON f.id = e.fuel_id JOIN source s ON s.id = e.source_id WHERE s.name = %s", (source,))
        estimates = {(code, ts, fuel): mw for code, ts, fuel, mw in cur.fetchall()}
        cur.execute("SELECT r.code, c.ts, c.ipcc_lifecycle_g_per_kwh, c.total_mw, c.estimated FROM carbon_intensity c "
                    "JOIN region r ON r.id = c.region_id JOIN source s ON s.id = c.source_id WHERE s.name = %s",
                    (source,))
        intensity = {(code, ts): (value, total, flag) for code, ts, value, total, flag in cur.fetchall()}

    expected = expected_readings(source, files)
    assert stored.keys() == expected.keys()
    assert all(stored[k] == pytest.approx(expected[k]) for k in expected)

    by_interval: dict[tuple, dict] = defaultdict(dict)
    for (code, ts, fuel), mw in stored.items():
        by_interval[(code, ts)][fuel] = mw
    estimated_fuels: dict[tuple, set] = defaultdict(set)
    for (code, ts, fuel), mw in estimates.items():
        by_interval[(code, ts)][fuel] = mw  # the estimate stands for the stored (or absent) value
        estimated_fuels[(code, ts)].add(fuel)
    gaps = {(code, pd.Timestamp(ts)) for code, ts in GAPS.get(source, set())}
    assert {(code, pd.Timestamp(ts)) for code, ts in by_interval.keys() - intensity.keys()} == gaps
    assert {(code, pd.Timestamp(ts)): fuels for (code, ts), fuels in estimated_fuels.items()} == \
        {(code, pd.Timestamp(ts)): fuels for (code, ts), fuels in ESTIMATED.get(source, {}).items()}
    for key, (value, stored_total, flag) in intensity.items():
        assert flag == (key in estimated_fuels)
        mix = by_interval[key]
        generation = [(fuel, mw) for fuel, mw in mix.items() if mw >= 0 and fuel not in STORAGE]
        total = sum(mw for _, mw in generation)
        assert stored_total == pytest.approx(total)
        discharging = any(mw > 0 and fuel in STORAGE for fuel, mw in mix.items())
        if discharging:  # discharge takes the charging hours' intensity: see test_write_path
            assert (value is None) == (total == 0)
        elif total > 0:
            assert value == pytest.approx(sum(mw * LIFECYCLE[f] for f, mw in generation) / total)
        else:
            assert value is None
