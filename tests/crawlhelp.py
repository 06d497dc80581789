"""Helpers for tests that drive the crawler: recorded responses served at today's URLs,
and the crawler CLI run as a real subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent


def local_day(tz: str, days_ago: int = 0) -> str:
    return (datetime.now(timezone.utc).astimezone(ZoneInfo(tz)) - timedelta(days=days_ago)).strftime("%Y%m%d")


def serve_nyiso(fake, body: bytes, **kwargs) -> None:
    """Serve `body` as today's and yesterday's NYISO daily file."""
    for days_ago in (0, 1):
        fake.serve(f"/nyiso/{local_day('America/New_York', days_ago)}rtfuelmix.csv", body, **kwargs)


def serve_caiso(fake, body: bytes, **kwargs) -> None:
    """Serve `body` as today's and yesterday's CAISO history file."""
    for days_ago in (0, 1):
        fake.serve(f"/caiso/history/{local_day('America/Los_Angeles', days_ago)}/fuelsource.csv", body, **kwargs)


# Every <NAME>_BASE_URL the source modules read (some sources use a second host).
ENDPOINT_NAMES = ("CAISO", "CAISO_DRW", "NYISO", "MISO", "ISONE", "ISONE_WSCLIENT", "PJM", "PJM_SETTINGS",
                  "BPA", "SPP", "SPP_HISTORY", "ERCOT", "EIA", "HI", "PREPA", "ENTSOE", "OPENELECTRICITY", "HYDROQUEBEC", "GB",
                  "OPENMETEO", "OPENMETEO_PREVIOUS_RUNS", "CAISO_FORECAST", "MISO_FORECAST", "MISO_REPORTS",
                  "PJM_FORECAST", "ISONE_FORECAST", "NYISO_FORECAST", "ERCOT_FORECAST", "EIA_FORECAST")


def point_sources_at(monkeypatch, root: str) -> None:
    """Every source's endpoints under `root` (a loopback server, or a closed port)."""
    for name in ENDPOINT_NAMES:
        monkeypatch.setenv(f"{name}_BASE_URL", f"{root}/{name.lower()}")
    for name in ("EIA_API_KEY", "PJM_API_KEY", "ISONE_USERNAME", "ISONE_PASSWORD", "ENTSOE_TOKEN",
                 "OPENELECTRICITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def crawler_cli(*args: str, timeout: float = 120, **popen) -> subprocess.CompletedProcess:
    """Run `python -m crawler ARGS` with this test's environment (DATABASE_URL, base URLs)."""
    return subprocess.run([sys.executable, "-m", "crawler", *args], cwd=REPO, env=dict(os.environ),
                          capture_output=True, text=True, timeout=timeout, **popen)


def start_crawler(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "crawler", *args], cwd=REPO, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def fresh_count(db, sql: str) -> int:
    """Count on a new connection: statistics views are frozen inside a transaction."""
    import psycopg2

    conn = psycopg2.connect(db.dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]
    finally:
        conn.close()


def wait_for(predicate, timeout_s: float = 30) -> None:
    """Poll `predicate` every 0.1 s; AssertionError if it is not true within `timeout_s`."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


# -- an EIA source served by the loopback server ---------------------------------------------

EIA_ROUTE = "/eia/electricity/rto/fuel-type-data/data/"
FAKE_EIA_KEY = "sekrit" + "-eia-0123456789"  # fake, split so no scanner mistakes it for a real one


def eia_body(rows: list[tuple[str, str, object]], echo_key: str = FAKE_EIA_KEY) -> bytes:
    """Hand-written EIA v2 fuel-type-data page for PACW, echoing the api_key as EIA does."""
    import json

    data = [{"period": period, "respondent": "PACW", "respondent-name": "PacifiCorp West", "fueltype": fuel,
             "type-name": fuel, "value": value, "value-units": "megawatthours"} for period, fuel, value in rows]
    return json.dumps({"response": {"total": str(len(data)), "frequency": "hourly", "data": data},
                       "request": {"command": "/v2/electricity/rto/fuel-type-data/data/",
                                   "params": {"frequency": "hourly", "api_key": echo_key}},
                       "apiVersion": "2.1.8"}, indent=1).encode()


def recent_periods(hours: int) -> list[str]:
    """EIA period names (hour ending, UTC) of the last `hours` hours."""
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return [f"{now - timedelta(hours=h):%Y-%m-%dT%H}" for h in range(hours, 0, -1)]


def serve_eia(fake, monkeypatch) -> None:
    """The EIA source at the loopback server with the fake key, asking for PACW only."""
    point_sources_at(monkeypatch, fake.url)
    monkeypatch.setenv("EIA_API_KEY", FAKE_EIA_KEY)
    monkeypatch.setenv("EIA_RESPONDENTS", "PACW")


def run_now(*names: str, force: bool = True) -> tuple[int, list[str]]:
    """A `run` of `names` in this process, forced by default; (exit code, output lines)."""
    from crawler.crawl import Crawler, utc_now

    lines: list[str] = []
    crawler = Crawler(out=lines.append)
    try:
        code = crawler.run(list(names), force=force, dry_run=False, now=utc_now())
    finally:
        crawler.close()
    return code, lines


def query(db, sql: str, *params) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()
