"""Ingest benchmark: one year of hourly readings for 65 regions x 8 fuels (about 4.5 M rows)
through the crawler's write path, against a raw COPY of the same rows in the same run.

    python scripts/bench/ingest.py [--regions 65] [--hours 8760] [--repeat 1]

Uses a throw-away database (a scratch database on DATABASE_URL's server, or a temporary
embedded PostgreSQL). Prints readings/second for each and their ratio.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from database.copy import copy_frame  # noqa: E402
from database.dimensions import sync_source  # noqa: E402
from database.readings import COLUMN_TYPES, write_readings  # noqa: E402
from database.scratch import scratch_database  # noqa: E402

FUELS = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "other")


def generated_readings(regions: list[str], hours: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Plausible hourly mixes per region: a daily solar bell, noisy wind, flat baseload."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-01-01", periods=hours, freq="h", tz="UTC")
    hour = times.hour.to_numpy()
    frames = {}
    for region in regions:
        level = {f: rng.uniform(50, 5000) for f in FUELS}
        columns = []
        for fuel in FUELS:
            shape = np.ones(hours)
            if fuel == "solar":
                shape = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
            elif fuel == "wind":
                shape = rng.uniform(0.1, 1.0, hours)
            columns.append(pd.DataFrame({"region": region, "timestamp": times, "fuel": fuel,
                                         "mw": np.round(level[fuel] * shape, 1)}))
        frames[region] = pd.concat(columns, ignore_index=True)
    return frames


def bench_write_path(url: str, frames: dict[str, pd.DataFrame]) -> float:
    """One transaction per region, as a backfill of one EIA respondent-year would be."""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        source_id = sync_source(cur, "BENCH", "benchmark", timedelta(hours=1), 60)
    start = time.perf_counter()
    for frame in frames.values():
        with conn, conn.cursor() as cur:
            counts = write_readings(cur, source_id, frame, 60)
            assert counts.inserted == len(frame), counts
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def bench_raw_copy(url: str, frames: dict[str, pd.DataFrame], indexed: bool) -> float:
    """The same rows, same types and encoding (binary COPY), into a scratch table (with or
    without the primary key of generation_reading)."""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS scratch_copy")
        cur.execute("CREATE TABLE scratch_copy (ts timestamptz, mw float8, region_id smallint, source_id smallint, "
                    "fuel_id smallint, interval_minutes smallint"
                    + (", PRIMARY KEY (region_id, source_id, ts, fuel_id))" if indexed else ")"))
    fuel_id = {f: i for i, f in enumerate(FUELS, start=1)}
    start = time.perf_counter()
    for region_id, frame in enumerate(frames.values(), start=1):
        rows = pd.DataFrame({"ts": frame["timestamp"], "mw": frame["mw"], "region_id": region_id,
                             "source_id": 1, "fuel_id": frame["fuel"].map(fuel_id), "interval_minutes": 60})
        with conn, conn.cursor() as cur:
            copy_frame(cur, "scratch_copy", rows, {c: COLUMN_TYPES[c] for c in rows.columns})
    elapsed = time.perf_counter() - start
    with conn, conn.cursor() as cur:
        cur.execute("DROP TABLE scratch_copy")
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=65)
    parser.add_argument("--hours", type=int, default=8760)
    args = parser.parse_args()

    with scratch_database() as url:
        conn = psycopg2.connect(url)
        with conn.cursor() as cur:
            cur.execute("SELECT code FROM region WHERE code NOT IN ('HECO', 'PREPA') ORDER BY code LIMIT %s",
                        (args.regions,))
            regions = [r[0] for r in cur.fetchall()]
        conn.close()
        frames = generated_readings(regions, args.hours)
        total = sum(len(f) for f in frames.values())
        print(f"{total:,} readings: {len(regions)} regions x {len(FUELS)} fuels x {args.hours} hours")

        copy_plain = bench_raw_copy(url, frames, indexed=False)
        copy_indexed = bench_raw_copy(url, frames, indexed=True)
        write_path = bench_write_path(url, frames)

    print(f"raw COPY, unindexed scratch table:   {total / copy_plain:>12,.0f} readings/s ({copy_plain:.1f} s)")
    print(f"raw COPY, scratch table with PK:     {total / copy_indexed:>12,.0f} readings/s ({copy_indexed:.1f} s)")
    print(f"write path (upsert + intensity):     {total / write_path:>12,.0f} readings/s ({write_path:.1f} s)")
    print(f"write path / raw COPY (unindexed):   {copy_plain / write_path:.2f}")
    print(f"write path / raw COPY (with PK):     {copy_indexed / write_path:.2f}")


if __name__ == "__main__":
    main()
