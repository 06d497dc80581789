"""/health latency while heavy requests run, under a real gunicorn (deploy/gunicorn.conf.py).

    python scripts/bench/stall.py [--seconds 20] [--heavy 3] [--worker-class gthread --threads 4]

Loads the recorded fixtures and the four Electricity Maps 2022 exports of
../shared/traces/em_hpe_sustain_cluster/ into a scratch database, starts gunicorn with 2 workers,
and asks /health every 50 ms, one request at a time: first alone (the baseline), then while
--heavy clients each send the heaviest scheduler request the budget accepts, again and again
(10,000 runs every 8.64 s over a day, two hours of slack, 30 candidate locations by coordinates
with capacity 1, alternatives=0: the Lagrangian solver's full 1.8 s plus the answer). It prints
/health's latency percentiles in both phases, their ratio, and what the heavy requests got. The
issue's own request (the same with default alternatives) is refused within the budget now; it is
sent once too, and its status and time printed.

--worker-class and --threads override the configuration file (sync/1 is what it had before).
The load generator, gunicorn and PostgreSQL share this machine's cores.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from database.scratch import scratch_database  # noqa: E402

SHARED = Path(os.environ.get("ENERGY_DATA_SHARED", REPO.parent / "shared"))
ZONES = ("US-CAL-CISO", "US-MIDA-PJM", "US-NY-NYIS", "US-TEX-ERCO")
POINTS = ((36.74, -119.78), (39.96, -83.0), (42.65, -73.75), (30.27, -97.74))  # CISO, PJM, NYIS, ERCO


def heavy_body(candidates: int = 30, capacity: int | None = 1) -> dict:
    located = [{"id": f"s{i:02d}", "latitude": POINTS[i % 4][0] + 0.001 * i, "longitude": POINTS[i % 4][1],
                **({"capacity": capacity} if capacity else {})} for i in range(candidates)]
    return {"runtime": 3600, "power_kw": 1.0, "candidate_locations": located,
            "schedule": {"type": "uniform-random", "start_time": "2022-06-01T00:00:00Z", "interval": 8.64,
                         "max_delay": 7200}}


def load_data(url: str) -> None:
    import psycopg2

    from crawler.__main__ import read_payload
    from crawler.parsers import electricitymaps_csv as emap
    from database.reported import source_id, write_reported_intensity

    batch = emap.concat([emap.parse(read_payload(SHARED / "traces" / "em_hpe_sustain_cluster" / f"{z}_2022_hourly.csv"))
                         for z in ZONES])
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        write_reported_intensity(cur, source_id(cur, "ELECTRICITYMAPS"), batch.rows, 60)
    conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, body: dict | None = None, timeout: float = 120) -> tuple[int, int, float]:
    """(status, bytes, seconds) of one request; a POST when `body` is given."""
    data = None if body is None else json.dumps(body).encode()
    made = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(made, timeout=timeout) as response:
            return response.status, len(response.read()), time.perf_counter() - began
    except urllib.error.HTTPError as exc:
        return exc.code, len(exc.read()), time.perf_counter() - began


def health_latencies(base: str, seconds: float) -> list[float]:
    samples, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        status, _, took = request(base + "/health", timeout=60)
        if status != 200:
            raise SystemExit(f"/health answered {status}")
        samples.append(took)
        time.sleep(0.05)
    return samples


def percentiles(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    return (f"n={len(ms):4d}  p50 {np.percentile(ms, 50):7.1f}  p90 {np.percentile(ms, 90):7.1f}  "
            f"p99 {np.percentile(ms, 99):7.1f}  max {ms.max():7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--heavy", type=int, default=3, help="concurrent clients sending the heavy request")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", help="override deploy/gunicorn.conf.py (e.g. sync)")
    parser.add_argument("--threads", type=int, help="override deploy/gunicorn.conf.py")
    args = parser.parse_args()
    geo = SHARED / "geo" / "us_zones.geojson"
    if not geo.is_file():
        raise SystemExit(f"{geo} not found (set ENERGY_DATA_SHARED)")
    overrides = ([f"--worker-class={args.worker_class}"] if args.worker_class else []) + \
                ([f"--threads={args.threads}"] if args.threads else [])
    with scratch_database() as url:
        from tests.apihelp import fill

        os.environ["DATABASE_URL"] = url
        fill(SHARED / "fixtures")
        load_data(url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        metrics = tempfile.mkdtemp(prefix="energy-data-bench-metrics-")
        env = {**os.environ, "DATABASE_URL": url, "PORT": str(port), "WEB_CONCURRENCY": str(args.workers),
               "ENERGY_DATA_BOUNDARIES": str(geo), "PROMETHEUS_MULTIPROC_DIR": metrics, "ACCESS_LOG": os.devnull}
        log = Path(tempfile.gettempdir()) / "energy-data-bench-stall-gunicorn.log"
        with log.open("w") as out:
            server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config",
                                       "deploy/gunicorn.conf.py", *overrides, "api:create_app()"],
                                      cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            return run(base, server, args, log)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


def run(base: str, server: subprocess.Popen, args, log: Path) -> int:
    deadline = time.monotonic() + 90
    while True:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited; its log:\n{log.read_text()[-3000:]}")
        try:
            if request(base + "/health", timeout=5)[0] == 200:
                break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer /health; its log:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
    heavy_url = base + "/carbon-aware-scheduler/?alternatives=0"
    for _ in range(2):  # warm every worker up (imports, boundaries, first reads)
        request(heavy_url, heavy_body())
    print(f"gunicorn: {args.workers} workers, {args.worker_class or 'worker class of the config'}, "
          f"{args.threads or 'threads of the config'}; {os.cpu_count()} cores shared with PostgreSQL and this "
          "script", flush=True)
    status, size, took = request(base + "/carbon-aware-scheduler/", heavy_body())
    print(f"the issue's request as sent (default alternatives): {status}, {size:,} bytes, {took:.2f} s")
    baseline = health_latencies(base, args.seconds)
    print(f"/health alone:                    {percentiles(baseline)}", flush=True)
    stop = threading.Event()
    answers: list[tuple[int, int, float]] = []

    def heavy() -> None:
        while not stop.is_set():
            answers.append(request(heavy_url, heavy_body()))
    clients = [threading.Thread(target=heavy) for _ in range(args.heavy)]
    for client in clients:
        client.start()
    time.sleep(1.0)  # every client has a request in flight
    loaded = health_latencies(base, args.seconds)
    stop.set()
    for client in clients:
        client.join()
    print(f"/health beside {args.heavy} heavy clients:  {percentiles(loaded)}")
    ratio = np.percentile(loaded, 99) / np.percentile(baseline, 99)
    print(f"p99 ratio (heavy / alone): {ratio:.1f}x; /health slowest: {max(loaded) * 1000:.0f} ms")
    statuses = sorted({a[0] for a in answers})
    seconds = [a[2] for a in answers]
    print(f"heavy requests: {len(answers)} answered, statuses {statuses}, {np.median([a[1] for a in answers]):,.0f} "
          f"bytes, {np.median(seconds):.2f} s median, {max(seconds):.2f} s slowest")
    return 0 if max(loaded) < 1.0 and statuses == [200] else 1


if __name__ == "__main__":
    sys.exit(main())
