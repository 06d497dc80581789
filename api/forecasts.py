"""python -m api.forecasts: the service's own forecast schedule (hourly, from cron or `make run`).
Issues and stores the current hour's forecast of each region's default series for both factor
sets, and re-measures the model's error once a day; requests only read what this stored (or
compute a forecast on the fly). Runs as DATABASE_URL: the API's own role cannot write."""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone

import pandas as pd

from api.models.forecast import NoHistory
from api.services import forecasting
from api.services.errors import DomainError
from api.services.sources import history_series
from database.connection import DatabaseUnavailable, connect
from database.forecasts import FACTOR_SETS
from database.migrate import migrate
from database.regions import all_series

log = logging.getLogger(__name__)


def issue_all(conn, now: datetime, only: list[str] | None = None) -> tuple[int, int]:
    """(forecasts issued or found current, regions without history) at the hour of `now`, for
    every region with data or the `only` ones; one transaction per region and factor set."""
    issued_at = pd.Timestamp(now).floor("h").to_pydatetime()
    with conn, conn.cursor() as cur:
        regions = {s.region for s in all_series(cur)}
    regions = sorted(regions & set(only) if only else regions)
    issued = skipped = 0
    for region in regions:
        for factor_set in FACTOR_SETS:
            with conn, conn.cursor() as cur:
                try:
                    series = history_series(all_series(cur, region), None, issued_at, now, region)
                    forecasting.issue_and_store(cur, series, factor_set, issued_at)
                    forecasting.measure_accuracy(cur, series, factor_set, now)
                    issued += 1
                except (NoHistory, DomainError) as exc:  # no series, or too little history, before the hour
                    log.info("%s %s: %s", region, factor_set, exc)
                    skipped += 1
    return issued, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.forecasts", description=__doc__)
    parser.add_argument("--region", action="append", default=[], metavar="ID",
                        help="only this region (repeatable; canonical id such as CISO)")
    args = parser.parse_args(argv)
    try:
        conn = connect(application_name="energy-data forecasts")
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        migrate(conn)
        issued, skipped = issue_all(conn, datetime.now(timezone.utc), [r.upper() for r in args.region])
    finally:
        conn.close()
    print(f"{issued} forecasts issued for this hour; {skipped} region/factor sets without history")
    return 0


if __name__ == "__main__":
    sys.exit(main())
