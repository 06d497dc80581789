"""python -m api.forecasts [fit]: the service's own forecast schedule.

Bare (hourly, from cron or `make run`): issues and stores the current hour's forecast of each
region's default series for both factor sets, and re-measures the history-only model's error
once a day; requests only read what this stored (or compute a forecast on the fly).
`fit` (daily): fits the mix model (weather and operators' forecasts) of every region that has
such inputs and enough hourly history by fuel, and stores it; a region that cannot be fitted is
skipped with its reason. Runs as DATABASE_URL: the API's own role cannot write."""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone

import pandas as pd

from api.models.forecast import NoHistory
from api.models.mix_forecast import NoInputs
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


def fit_all(conn, now: datetime, only: list[str] | None = None, training_days: int = forecasting.FIT_TRAINING_DAYS,
            samples: int = forecasting.FIT_SAMPLES,
            validation_days: int = forecasting.FIT_VALIDATION_DAYS) -> tuple[int, int]:
    """(regions fitted, regions skipped): the mix model of each region's default series (every
    region with data, or the `only` ones), read in one transaction, fitted outside it, stored in
    another; one line printed per region."""
    with conn, conn.cursor() as cur:
        regions = {s.region for s in all_series(cur)}
    regions = sorted(regions & set(only) if only else regions)
    fitted = skipped = 0
    for region in regions:
        with conn, conn.cursor() as cur:
            try:
                series = history_series(all_series(cur, region), None, now, now, region)
            except DomainError as exc:
                print(f"{region}: skipped: {exc.message}")
                skipped += 1
                continue
            data = forecasting.fit_data(cur, series, now, training_days, validation_days)
        if isinstance(data, str):
            print(f"{region}: skipped: {data}")
            skipped += 1
            continue
        try:
            model = forecasting.fit(data, training_days, samples, validation_days)
        except (NoInputs, ValueError) as exc:  # too little history or input; a fuel without a factor
            print(f"{region}: skipped: {exc}")
            skipped += 1
            continue
        with conn, conn.cursor() as cur:
            model_id = forecasting.store_fit(cur, series, model, data)
        error = ", ".join(f"{name} {mape:.1f} %" for name, mape in model.validation["mape_24h"].items())
        print(f"{region}: fitted {model.name} {model.version} (id {model_id}) on {series.source}, "
              f"{model.training_start:%Y-%m-%d %H:%M} to {model.training_end:%Y-%m-%d %H:%M} UTC, "
              f"weather {','.join(model.weather_columns) or 'none'}, "
              f"operator {','.join(model.operator_columns) or 'none'}; held-out first-day MAPE {error}; "
              f"{model.fit_seconds:.1f} s")
        fitted += 1
    return fitted, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.forecasts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=("issue", "fit"), default="issue",
                        help="issue (default, hourly): this hour's forecasts; fit (daily): the mix models")
    parser.add_argument("--region", action="append", default=[], metavar="ID",
                        help="only this region (repeatable; canonical id such as CISO)")
    parser.add_argument("--training-days", type=int, default=forecasting.FIT_TRAINING_DAYS,
                        help="fit: days of history to train on (default %(default)s)")
    parser.add_argument("--samples", type=int, default=forecasting.FIT_SAMPLES,
                        help="fit: (issue, horizon) training rows per horizon band (default %(default)s)")
    parser.add_argument("--validation-days", type=int, default=forecasting.FIT_VALIDATION_DAYS,
                        help="fit: newest days held out for the measured error and interval (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        conn = connect(application_name=f"energy-data forecasts {args.command}")
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    regions = [r.upper() for r in args.region]
    try:
        migrate(conn)
        if args.command == "fit":
            fitted, skipped = fit_all(conn, datetime.now(timezone.utc), regions, args.training_days, args.samples,
                                      args.validation_days)
            print(f"{fitted} regions fitted; {skipped} skipped")
            return 0
        issued, skipped = issue_all(conn, datetime.now(timezone.utc), regions)
    finally:
        conn.close()
    print(f"{issued} forecasts issued for this hour; {skipped} region/factor sets without history")
    return 0


if __name__ == "__main__":
    sys.exit(main())
