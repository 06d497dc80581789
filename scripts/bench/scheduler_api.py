"""Scheduler endpoints and import-emap-csv on real data, end to end (Flask app, PostgreSQL).

    python scripts/bench/scheduler_api.py [--repeat 15]

Imports the four Electricity Maps 2022 exports of ../shared/traces/em_hpe_sustain_cluster/
(CAISO, PJM, NYISO, ERCOT: 35,040 hourly rows) into a scratch database through the importer's
write path, twice (the second import changes nothing), then times requests through the app's
test client (no HTTP server): the baseline is reading the same four regions' day through
/carbon-intensity/ (what any schedule must at least read); beside it, POST
/carbon-aware-scheduler/ for one run and for 24 hourly runs under capacity, the best-window
query and the legacy route. Medians of --repeat calls after one warm-up.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from database.scratch import scratch_database  # noqa: E402

SHARED = Path(os.environ.get("ENERGY_DATA_SHARED", REPO.parent / "shared"))
ZONES = ("US-CAL-CISO", "US-MIDA-PJM", "US-NY-NYIS", "US-TEX-ERCO")
DAY = "2022-06-01T00:00:00Z"
CANDIDATES = [{"id": "aws:us-west-1"}, {"id": "aws:us-east-1"}, {"id": "US-NY"}, {"id": "US-TEX-ERCO"}]


def import_traces(url: str) -> tuple[int, float, str]:
    import psycopg2

    from crawler.__main__ import read_payload
    from crawler.parsers import electricitymaps_csv as emap
    from database.reported import source_id, write_reported_intensity

    began = time.perf_counter()
    batch = emap.concat([emap.parse(read_payload(SHARED / "traces" / "em_hpe_sustain_cluster" / f"{z}_2022_hourly.csv"))
                         for z in ZONES])
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        counts = write_reported_intensity(cur, source_id(cur, "ELECTRICITYMAPS"), batch.rows, 60)
    conn.close()
    return len(batch.rows), time.perf_counter() - began, f"{counts.inserted} inserted, {counts.unchanged} unchanged"


def timed(call, repeat: int) -> float:
    call()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    boundaries = SHARED / "geo" / "us_zones.geojson"
    if not boundaries.is_file():
        raise SystemExit(f"{boundaries} not found (set ENERGY_DATA_SHARED)")
    os.environ["ENERGY_DATA_BOUNDARIES"] = str(boundaries)
    with scratch_database() as url:
        for label in ("import (new)", "import (again)"):
            rows, seconds, counts = import_traces(url)
            print(f"{label:<16} {rows} rows in {seconds:.2f} s ({rows / seconds:,.0f} rows/s): {counts}")
        from api import create_app

        client = create_app(url).test_client()

        def ok(response):
            assert response.status_code == 200, response.get_json()
            return response

        def reads():
            for region in ("CISO", "PJM", "NYIS", "ERCO"):
                ok(client.get("/carbon-intensity/", query_string={"region": region, "start": DAY,
                                                                  "end": "2022-06-02T00:00:00Z"}))
        one = {"runtime": 10800, "power_kw": 2, "schedule": {"type": "onetime", "start_time": DAY, "max_delay": 75600},
               "original_location": "aws:us-west-1", "candidate_locations": CANDIDATES}
        hourly = {**one, "runtime": 3600,
                  "schedule": {"type": "uniform-random", "start_time": DAY, "interval": 3600, "max_delay": 8 * 3600},
                  "candidate_locations": [{**c, "capacity": 2} for c in CANDIDATES]}
        legacy = {"runtime": 3600, "schedule": {"type": "onetime", "start_time": DAY, "max_delay": 21600},
                  "dataset": {"input_size_gb": 0, "output_size_gb": 0}, "original_location": "AWS:us-west-1",
                  "candidate_locations": [{"id": "AWS:us-west-1"}, {"id": "AWS:us-east-1"}]}
        cases = [
            ("4 x GET /carbon-intensity/ (1 day, baseline)", reads),
            ("POST scheduler, 1 run x 4 regions", lambda: ok(client.post("/carbon-aware-scheduler/", json=one))),
            ("POST scheduler, 24 runs x 4 regions, capacity 2",
             lambda: ok(client.post("/carbon-aware-scheduler/", json=hourly))),
            ("GET best-window (48 h, 4 h job)", lambda: ok(client.get("/carbon-aware-scheduler/best-window/", query_string={
                "region": "CISO", "start": DAY, "end": "2022-06-03T00:00:00Z", "duration": 240}))),
            ("GET /legacy/carbon-aware-scheduler/ (2 regions)",
             lambda: ok(client.get("/legacy/carbon-aware-scheduler/", json=legacy))),
        ]
        baseline = None
        for label, call in cases:
            median = timed(call, args.repeat)
            baseline = baseline or median
            print(f"{label:<48} {median:8.1f} ms  {median / baseline:5.2f}x the baseline")
        solver = client.post("/carbon-aware-scheduler/", json=hourly).get_json()["schedules"][0]["solver"]
        print(f"24 runs under capacity: method {solver['method']}, gap {solver['gap']:.2e}, "
              f"solver {solver['seconds'] * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
