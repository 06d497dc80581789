"""Helpers for API tests: a database filled from the recorded fixtures through the crawler's
own replay path, and an app bound to it."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import psycopg2

from crawler.__main__ import read_payload
from crawler.crawl import REGISTRY, Crawler, utc_now
from database.dimensions import sync_source
from database.readings import write_readings
from tests.conftest import HAND_WRITTEN

CAISO_DAY = HAND_WRITTEN / "CAISO" / "handwritten_20250209_fuelsource.csv"


def replay(*items: tuple[str, Path]) -> None:
    """Ingest (source, file) pairs exactly as `python -m crawler replay` does."""
    lines: list[str] = []
    crawler = Crawler(out=lines.append)
    try:
        code = crawler.replay([(REGISTRY[source], read_payload(path)) for source, path in items], utc_now())
    finally:
        crawler.close()
    assert code == 0, lines


def fill(shared_fixtures: Path) -> None:
    """NYISO 2025-02-19..20 (5-minute), EIA PACW 2023-01-01..08 (hourly), CAISO 2025-02-09 (hand-written)."""
    replay(("NYISO", shared_fixtures / "NYISO" / "20250219rtfuelmix.csv"),
           ("NYISO", shared_fixtures / "NYISO" / "20250220rtfuelmix.csv"),
           ("EIA", shared_fixtures / "EIA" / "PACW_fuel-type-data_2023-01-01_2023-01-08.json"),
           ("CAISO", CAISO_DAY))


def write_hourly_mix(db_url: str, region: str, mix: pd.DataFrame) -> None:
    """Write a generated hourly mix (one MW column per fuel, indexed by hour) for `region` as
    source TESTHOURLY, through the write path."""
    readings = mix.stack().rename("mw").reset_index()
    readings.columns = ["timestamp", "fuel", "mw"]
    readings["region"] = region
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        write_readings(cur, sync_source(cur, "TESTHOURLY", "generated", timedelta(hours=1), 60, timedelta(hours=6)),
                       readings, 60)
    conn.close()


class Spy:
    """Counts the calls of a real function and lets them through."""

    def __init__(self, monkeypatch, owner, name: str):
        self.calls = 0
        real = getattr(owner, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)
        monkeypatch.setattr(owner, name, counted)
