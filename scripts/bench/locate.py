"""Lookup benchmark: balancing-authority lookups per second from coordinates, in-process.

    python scripts/bench/locate.py [--file PATH] [--points 100000] [--seed 7]

The file defaults to the installed boundaries (ENERGY_DATA_BOUNDARIES or
<ENERGY_DATA_HOME>/boundaries.geojson), else the test zones in ../shared/geo/. Points are
uniform over the contiguous US bounding box, so some fall outside every region (as real
requests may). Each feature's identifying property is taken as its region code.
Prints load time, lookups/second and the share of points that found a region.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from api.services.boundaries import Boundaries, default_boundaries_path  # noqa: E402

US_BOX = (24.5, 49.4, -124.8, -66.9)  # south, north, west, east


def default_file() -> Path:
    installed = default_boundaries_path()
    if installed.is_file():
        return installed
    shared = Path(os.environ.get("ENERGY_DATA_SHARED", REPO.parent / "shared"))
    return shared / "geo" / "us_zones.geojson"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=None)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    path = args.file or default_file()

    started = time.perf_counter()
    boundaries = Boundaries.load(path, lambda name: name)
    loaded = time.perf_counter() - started

    rng = random.Random(args.seed)
    south, north, west, east = US_BOX
    points = [(rng.uniform(south, north), rng.uniform(west, east)) for _ in range(args.points)]
    started = time.perf_counter()
    found = sum(boundaries.locate(lat, lon) is not None for lat, lon in points)
    elapsed = time.perf_counter() - started

    print(f"{path}: {len(boundaries.regions)} regions, loaded in {loaded:.3f} s")
    print(f"{len(points):,} lookups in {elapsed:.2f} s: {len(points) / elapsed:,.0f} lookups/s "
          f"({elapsed / len(points) * 1e6:.1f} us each), {found / len(points):.0%} inside a region")


if __name__ == "__main__":
    main()
