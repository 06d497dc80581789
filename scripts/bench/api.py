"""API benchmark: /carbon-intensity (one week of 5-minute data) and /balancing-authority through
gunicorn, against the raw SQL of the same query via psycopg2, in one run.

    python scripts/bench/api.py [--seconds 12] [--connections 12] [--keep DIR | --database-url URL]

Loads 2 years of 5-minute readings for 10 regions x 8 fuels (~16.8 M readings) through the
crawler's write path into a throw-away database (a scratch database on DATABASE_URL's server,
or a temporary embedded PostgreSQL), starts gunicorn with deploy/gunicorn.conf.py and 2 workers
on a free loopback port, and loads it with wrk (or, without wrk, an asyncio client):

- throughput: --connections connections for --seconds after a warm-up;
- latency: 1 connection, compared with the raw SQL, also run on 1 connection;
- /balancing-authority at random points inside the covered zones (needs the boundaries file:
  ENERGY_DATA_BOUNDARIES or --boundaries, default ../shared/geo/us_zones.geojson).

--keep DIR keeps the loaded database in an embedded server under DIR (loaded on the first run,
reused after); --database-url uses (and fills, if empty) that database and leaves it in place.
The load generator, gunicorn and PostgreSQL share this machine's cores.
"""
from __future__ import annotations

import argparse
import gzip
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2
import psycopg2.extensions

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # before this script's folder, where `api` would be this file

import loadgen  # noqa: E402

from database.dimensions import sync_source  # noqa: E402
from database.migrate import migrate  # noqa: E402
from database.readings import write_readings  # noqa: E402
from database.scratch import scratch_database  # noqa: E402

REGIONS = ("CISO", "NYIS", "ISNE", "MISO", "PJM", "BPAT", "SWPP", "ERCO", "PACW", "HECO")
FUELS = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "other")
SOURCE = "BENCH5"
FIRST = datetime(2023, 1, 1, tzinfo=timezone.utc)
INTERVALS_PER_YEAR = 105_120  # 365 days of 5-minute intervals
WEEK = timedelta(days=7)
BENCH_DATABASE = "energy_data_bench_api"

TARGET_RPS = 500
TARGET_BA_RPS = 1000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=2, help="years of 5-minute data per region")
    parser.add_argument("--regions", default=",".join(REGIONS), help="comma list of region codes")
    parser.add_argument("--seconds", type=float, default=12, help="length of each measured load")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before each measurement")
    parser.add_argument("--connections", type=int, default=12, help="connections of the throughput loads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--windows", type=int, default=2000, help="distinct one-week windows requested")
    parser.add_argument("--sql-queries", type=int, default=2000, help="raw SQL queries timed")
    parser.add_argument("--boundaries", type=Path, default=None,
                        help="GeoJSON boundaries (default ENERGY_DATA_BOUNDARIES, else ../shared/geo/us_zones.geojson)")
    parser.add_argument("--seed", type=int, default=7)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--keep", type=Path, metavar="DIR",
                       help="keep the loaded database in an embedded PostgreSQL under DIR and reuse it")
    where.add_argument("--database-url", help="use this database (migrated and filled if empty) and keep it")
    return parser.parse_args()


# --- the database -----------------------------------------------------------------------------

@contextmanager
def bench_database(args: argparse.Namespace):
    """The URL of the database to benchmark against, for the length of the run."""
    if args.database_url:
        yield args.database_url
    elif args.keep:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver
        pgdata = args.keep.resolve() / "pgdata"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(pgdata.parent, 0o755)  # pgserver runs postgres as its own user when we are root
        with pgserver.get_server(pgdata, cleanup_mode="stop") as server:
            conn = psycopg2.connect(server.get_uri())
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
            conn.close()
            yield server.get_uri(BENCH_DATABASE)
    else:
        with scratch_database() as url:
            yield url


def generated_readings(region: str, times: pd.DatetimeIndex, rng: np.random.Generator) -> pd.DataFrame:
    """Plausible 5-minute mixes: a daily solar bell, a slow random walk of wind, flat baseload."""
    n = len(times)
    hour = (times.hour + times.minute / 60).to_numpy()
    columns = []
    for fuel in FUELS:
        level = rng.uniform(50, 5000)
        if fuel == "solar":
            shape = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
        elif fuel == "wind":
            shape = np.clip(0.55 + np.cumsum(rng.normal(0, 0.01, n)) % 0.9 - 0.45, 0.05, 1.0)
        else:
            shape = 1 + rng.normal(0, 0.02, n)
        columns.append(pd.DataFrame({"region": region, "timestamp": times, "fuel": fuel,
                                     "mw": np.round(level * shape, 1)}))
    return pd.concat(columns, ignore_index=True)


def load(url: str, regions: list[str], years: int, seed: int) -> None:
    """Fill the database through the write path (one transaction per region-year), unless the
    same data is there already."""
    conn = psycopg2.connect(url)
    migrate(conn)
    with conn, conn.cursor() as cur:
        source_id = sync_source(cur, SOURCE, "generated 5-minute data (scripts/bench/api.py)",
                                timedelta(minutes=5), 5, timedelta(minutes=30))
        cur.execute("SELECT r.code, x.first_ts, x.last_ts, x.row_count FROM series x JOIN region r "
                    "ON r.id = x.region_id WHERE x.source_id = %s", (source_id,))
        stored = {code: (first, last, count) for code, first, last, count in cur.fetchall()}
    last = FIRST + timedelta(minutes=5 * (years * INTERVALS_PER_YEAR - 1))
    per_region = years * INTERVALS_PER_YEAR * len(FUELS)
    if all(stored.get(r) == (FIRST, last, per_region) for r in regions):
        print(f"database already holds the data: {len(regions)} regions x {per_region:,} readings, reused")
        conn.close()
        return
    if stored:
        raise SystemExit(f"the database holds other {SOURCE} data ({', '.join(sorted(stored))}); "
                         "use an empty database")
    total = per_region * len(regions)
    print(f"loading {total:,} readings: {len(regions)} regions x {years} years x {INTERVALS_PER_YEAR:,} "
          f"5-minute intervals x {len(FUELS)} fuels, through database/readings.py write_readings")
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    done = 0
    for region in regions:
        for year in range(years):
            times = pd.date_range(FIRST + timedelta(minutes=5 * INTERVALS_PER_YEAR * year),
                                  periods=INTERVALS_PER_YEAR, freq="5min", tz="UTC")
            frame = generated_readings(region, times, rng)
            with conn, conn.cursor() as cur:
                counts = write_readings(cur, source_id, frame, 5)
            assert counts.inserted == len(frame), counts
            done += len(frame)
            elapsed = time.perf_counter() - started
            print(f"  {region} year {year + 1}: {done:,} of {total:,} readings, {elapsed:.0f} s, "
                  f"{done / elapsed:,.0f} readings/s", flush=True)
    conn.autocommit = True
    with conn.cursor() as cur:
        print("VACUUM ANALYZE (so that autovacuum does not run during the measurements) ...", flush=True)
        cur.execute("VACUUM (ANALYZE)")
    conn.close()
    print(f"loaded in {time.perf_counter() - started:.0f} s")


# --- what is requested ------------------------------------------------------------------------

def week_windows(regions: list[str], years: int, count: int, rng: random.Random) -> list[tuple[str, datetime]]:
    """(region, start) of one-week windows at random 5-minute offsets inside the stored years."""
    slots = years * INTERVALS_PER_YEAR - int(WEEK / timedelta(minutes=5))
    return [(rng.choice(regions), FIRST + timedelta(minutes=5 * rng.randrange(slots + 1))) for _ in range(count)]


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def intensity_path(region: str, start: datetime) -> str:
    return f"/carbon-intensity/?region={region}&start={z(start)}&end={z(start + WEEK)}"


def boundaries_file(args: argparse.Namespace) -> Path:
    if args.boundaries:
        return args.boundaries
    if os.environ.get("ENERGY_DATA_BOUNDARIES"):
        return Path(os.environ["ENERGY_DATA_BOUNDARIES"])
    shared = Path(os.environ.get("ENERGY_DATA_SHARED", REPO.parent / "shared"))
    return shared / "geo" / "us_zones.geojson"


def points_inside(url: str, path: Path, regions: list[str], count: int,
                  rng: random.Random) -> list[tuple[float, float, str]]:
    """Random (latitude, longitude, region) inside the zones of `regions`, as the API locates them."""
    from api.services.boundaries import Boundaries
    from database.regions import normalise_name, region_names

    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        names = region_names(cur)
    conn.close()
    boundaries = Boundaries.load(path, lambda name: names.get(normalise_name(name)))
    zones = [r for r in regions if r in boundaries.regions]
    points: list[tuple[float, float, str]] = []
    for i in range(count):
        region = zones[i % len(zones)]
        geometry = boundaries._geometries[boundaries._codes.index(region)]
        west, south, east, north = geometry.bounds
        while True:
            lat, lon = round(rng.uniform(south, north), 4), round(rng.uniform(west, east), 4)
            if boundaries.locate(lat, lon) == region:
                points.append((lat, lon, region))
                break
    return points


# --- raw SQL ----------------------------------------------------------------------------------

class _TimedCursor(psycopg2.extensions.cursor):
    """Times what reaches the server and comes back (execute, fetch, COPY), nothing done after."""

    spent = 0.0

    def _timed(self, method, *args):
        started = time.perf_counter()
        try:
            return method(*args)
        finally:
            self.spent += time.perf_counter() - started

    def execute(self, query, vars=None):
        return self._timed(super().execute, query, vars)

    def fetchall(self):
        return self._timed(super().fetchall)

    def copy_expert(self, sql, file, size=8192):
        return self._timed(super().copy_expert, sql, file, size)


def raw_sql(url: str, windows: list[tuple[str, datetime]], queries: int, read) -> tuple[np.ndarray, int]:
    """Milliseconds per one-week query (native resolution, lifecycle factors) as `read` runs it
    (a reader of database/timeseries.py), timing only the statement's round trip and transfer,
    on one connection set up as the API's pool sets up its connections."""
    from database.pool import STATEMENT_TIMEOUT_MS
    from api.services.sources import choose_series
    from database.regions import all_series

    conn = psycopg2.connect(url, options=f"-c timezone=UTC -c statement_timeout={STATEMENT_TIMEOUT_MS}")
    with conn, conn.cursor() as cur:
        now = datetime.now(timezone.utc)
        series = {s.region: s for s in all_series(cur)}
    times, rows = [], 0
    for i in range(queries + 200):  # the first 200: warm-up
        region, start = windows[i % len(windows)]
        chosen = choose_series([series[region]], None, start, start + WEEK, now)
        with conn, conn.cursor(cursor_factory=_TimedCursor) as cur:
            points = read(cur, chosen.region_id, chosen.source_id, start, start + WEEK, "lifecycle", "native")
            if i >= 200:
                times.append(cur.spent * 1e3)
                rows += len(points)
    conn.close()
    return np.array(times), rows // queries


# --- gunicorn ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(url: str, workers: int, boundaries: Path | None, log: Path):
    port = free_port()
    metrics = tempfile.mkdtemp(prefix="energy-data-bench-metrics-")
    env = {**os.environ, "DATABASE_URL": url, "WEB_CONCURRENCY": str(workers), "HOST": "127.0.0.1",
           "PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": metrics}
    env.pop("EIA_API_KEY", None)
    if boundaries is not None:
        env["ENERGY_DATA_BOUNDARIES"] = str(boundaries.resolve())
    else:
        env["ENERGY_DATA_BOUNDARIES"] = str(Path(tempfile.gettempdir()) / "no-boundaries-for-the-bench.geojson")
    with log.open("w") as out:
        server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config",
                                   "deploy/gunicorn.conf.py", "api:create_app()"],
                                  cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited; its log:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not answer /health; its log:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield base, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(metrics, ignore_errors=True)


def check_answer(base: str, path: str, expect: str) -> bytes:
    with urllib.request.urlopen(base + path, timeout=10) as response:
        body = response.read()
    if expect.encode() not in body:
        raise SystemExit(f"unexpected answer to {path}: {body[:300]!r}")
    return body


def measure(base: str, paths: list[str], connections: int, args: argparse.Namespace,
            meter: loadgen.CpuMeter) -> tuple[loadgen.Load, loadgen.CpuShare]:
    """A warm-up, then the measured load (from the other half of the list, so that it does not
    repeat the warm-up's requests first), with the CPU each party spent during it."""
    loadgen.run(base, paths, connections, args.warmup)
    half = len(paths) // 2
    meter.start()
    result = loadgen.run(base, paths[half:] + paths[:half], connections, args.seconds)
    return result, meter.stop()


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine (read while the
    backend that tells it still runs)."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
        try:  # the pid names a local process only if that process is a PostgreSQL backend
            if b"postgres" not in Path(f"/proc/{backend}/cmdline").read_bytes():
                return None
        except OSError:
            return None
        stat = loadgen._proc_stat(backend)
        return int(stat[1]) if stat is not None else None
    finally:
        conn.close()


# --- the run ----------------------------------------------------------------------------------

def main() -> None:
    args = parse_args()
    regions = [r.strip().upper() for r in args.regions.split(",") if r.strip()]
    rng = random.Random(args.seed)
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "scripts/bench/api.py", *sys.argv[1:]])
    started = time.perf_counter()
    with bench_database(args) as url:
        load(url, regions, args.years, args.seed)
        windows = week_windows(regions, args.years, args.windows, rng)
        paths = [intensity_path(region, start) for region, start in windows]

        from database.timeseries import carbon_intensity, intensity_series

        # The statement the API runs (database/timeseries.py intensity_series, a binary COPY), and
        # the plain SELECT + fetchall of the same rows (carbon_intensity) for comparison.
        sql_ms, sql_rows = raw_sql(url, windows, args.sql_queries, intensity_series)
        select_ms, _ = raw_sql(url, windows, args.sql_queries, carbon_intensity)
        print(f"raw SQL: {len(sql_ms):,} one-week queries, {sql_rows:,} rows each: the API's statement (COPY) p50 "
              f"{np.percentile(sql_ms, 50):.2f} ms, p99 {np.percentile(sql_ms, 99):.2f} ms; plain SELECT + fetchall "
              f"p50 {np.percentile(select_ms, 50):.2f} ms, p99 {np.percentile(select_ms, 99):.2f} ms", flush=True)

        geo = boundaries_file(args)
        ba_paths: list[str] = []
        if geo.is_file():
            points = points_inside(url, geo, regions, 1000, rng)
            ba_paths = [f"/balancing-authority/?latitude={lat}&longitude={lon}" for lat, lon, _ in points]
            covered = sorted({region for _, _, region in points})
            print(f"boundaries: {geo} ({len(covered)} of the regions: {', '.join(covered)})")
        else:
            print(f"SKIPPED /balancing-authority: no boundaries file at {geo} "
                  "(set ENERGY_DATA_BOUNDARIES or --boundaries)")
            geo = None

        log = Path(tempfile.gettempdir()) / "energy-data-bench-api-gunicorn.log"
        with gunicorn(url, args.workers, geo, log) as (base, pid):
            answer = check_answer(base, paths[0], '"timestamp"')
            print(f"a one-week answer: {len(answer):,} bytes, {len(gzip.compress(answer, 1)):,} gzipped "
                  "(level 1, nginx's default)")
            if ba_paths:
                check_answer(base, ba_paths[0], '"method":"boundaries"')
            meter = loadgen.CpuMeter(pid, postmaster_pid(url))
            print(f"gunicorn: {args.workers} workers at {base} (log: {log}); load: {loadgen.tool()}; "
                  f"{os.cpu_count()} cores shared by the load generator, gunicorn and PostgreSQL", flush=True)
            loads = {"api_throughput": measure(base, paths, args.connections, args, meter),
                     "api_latency": measure(base, paths, 1, args, meter)}
            if ba_paths:
                loads["ba_throughput"] = measure(base, ba_paths, args.connections, args, meter)
                loads["ba_latency"] = measure(base, ba_paths, 1, args, meter)
    report(args, loads, sql_ms, select_ms, sql_rows, command, time.perf_counter() - started)


def report(args, loads: dict[str, tuple[loadgen.Load, loadgen.CpuShare]], sql_ms: np.ndarray,
           select_ms: np.ndarray, sql_rows: int, command: str, elapsed: float) -> None:
    cores = os.cpu_count() or 1
    names = {"api_throughput": f"/carbon-intensity, 1 week, {args.connections} conn.",
             "api_latency": "/carbon-intensity, 1 week, 1 conn.",
             "ba_throughput": f"/balancing-authority, {args.connections} conn.",
             "ba_latency": "/balancing-authority, 1 conn."}
    print()
    print(f"{'':38} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'failed':>6} | CPU ms per request: {'gunicorn':>8} "
          f"{'postgres':>8} {'loadgen':>7} -> req/s on {cores} idle cores | machine used by others, steal")
    for key, (result, cpu) in loads.items():
        n = max(result.requests, 1)
        per_request = (cpu.gunicorn + (cpu.postgres or 0.0) + cpu.load_generator) / n
        postgres = f"{cpu.postgres / n * 1e3:>8.2f}" if cpu.postgres is not None else f"{'n/a':>8}"
        print(f"{names[key]:38} {result.rps:>7,.0f} {result.p50_ms:>7.2f} {result.p99_ms:>7.2f} "
              f"{result.non_2xx + result.errors:>6} | {'':19} {cpu.gunicorn / n * 1e3:>8.2f} "
              f"{postgres} {cpu.load_generator / n * 1e3:>7.2f} -> "
              f"{cores / per_request if per_request else 0:>16,.0f} | {cpu.others / cpu.wall / cores:>22.0%} "
              f"{cpu.steal / cpu.wall / cores:>5.0%}")
    for label, times, how in (("raw SQL: the API's statement", sql_ms,
                               "binary COPY, database/timeseries.py intensity_series"),
                              ("raw SQL: plain SELECT + fetchall", select_ms,
                               "rows decoded to Python objects, database/timeseries.py carbon_intensity")):
        print(f"{label:38} {1e3 / times.mean():>7,.0f} {np.percentile(times, 50):>7.2f} "
              f"{np.percentile(times, 99):>7.2f}        | 1 connection, psycopg2, {sql_rows:,} rows: {how}")
    print()
    api = loads["api_latency"][0]
    api_rps = loads["api_throughput"][0].rps
    checks = []
    for label, times in (("the plain SELECT", select_ms), ("the API's own statement", sql_ms)):
        bound = 2 * float(np.percentile(times, 50)) + 2
        checks.append((f"/carbon-intensity p50 (1 conn.) <= 2 x SQL p50 + 2 ms, SQL = {label}: {bound:.2f} ms",
                       api.p50_ms <= bound, f"{api.p50_ms:.2f} ms"))
    checks.append((f"/carbon-intensity >= {TARGET_RPS} req/s ({args.connections} conn.)", api_rps >= TARGET_RPS,
                   f"{api_rps:,.0f} req/s"))
    if "ba_throughput" in loads:
        ba_rps = loads["ba_throughput"][0].rps
        checks.append((f"/balancing-authority >= {TARGET_BA_RPS:,} req/s ({args.connections} conn.)",
                       ba_rps >= TARGET_BA_RPS, f"{ba_rps:,.0f} req/s"))
    else:
        checks.append((f"/balancing-authority >= {TARGET_BA_RPS:,} req/s", None, "skipped: no boundaries file"))
    for what, ok, value in checks:
        print(f"{'SKIP' if ok is None else 'PASS' if ok else 'MISS'}  {what}: {value}")
    failed = sum(r.non_2xx + r.errors for r, _ in loads.values())
    if failed:
        print(f"WARNING: {failed} requests failed or answered an error status (see the gunicorn log)")
    print()
    print(f"Load generator: {loads['api_throughput'][0].tool}, on the same {cores} cores as gunicorn "
          f"({args.workers} sync workers) and PostgreSQL. Under {args.connections} connections p50 includes "
          f"queueing behind the {args.workers} workers; the 1-connection p50 is compared with the SQL. "
          "'req/s on idle cores' = cores / CPU per request of gunicorn + PostgreSQL + load generator (an estimate for a machine running nothing else); "
          "'used by others' = the share of the machine's CPU spent by other processes during the measurement.")
    print(f"Run took {elapsed:.0f} s; reproduce with: {command}")


if __name__ == "__main__":
    main()
