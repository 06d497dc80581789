"""The mix model in the service: how long `python -m api.forecasts fit` takes for one region,
and how long issuing a 96-hour forecast with the stored fit takes against the history-only model.

    python scripts/bench/forecast_service.py [--days 560] [--issues 20]

Writes `--days` days of a generated hourly ERCO mix (the hand-written generator of
tests/test_mix_forecast_service.py: wind from a generated wind speed, solar from generated
radiation) and its weather forecasts at every ERCO point of energy_data/data/weather_points.csv
plus an operator load forecast, issued daily for the next 100 hours, into a scratch PostgreSQL
(DATABASE_URL's server if set, else an embedded one). Then runs the fit as the CLI does
(api.forecasts.fit_all: the reads, the fit with the CLI's defaults, the store) and prints its
seconds, then the p50 and p90 of api.services.forecasting.issue() for 96 hours (the request's
path when no stored forecast answers: reads of the mix, the inputs and the factors, predict)
against the same call answered by the history-only model (the baseline: no fit stored), and
their ratio.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.forecasts import fit_all  # noqa: E402
from api.services import forecasting  # noqa: E402
from database.dimensions import sync_source  # noqa: E402
from database.forecast_inputs import sync_weather_points, write_operator_forecasts, write_weather_forecasts  # noqa: E402
from database.migrate import migrate  # noqa: E402
from database.regions import all_series  # noqa: E402
from database.scratch import scratch_database  # noqa: E402
from energy_data.weather_points import load_points  # noqa: E402
from tests.apihelp import write_hourly_mix  # noqa: E402
from tests.test_mix_forecast_service import ISSUE_AHEAD, generated  # noqa: E402

REGION = "ERCO"
H = pd.Timedelta(hours=1)


def write(url: str, now_hour: pd.Timestamp, days: int) -> None:
    hours = pd.date_range(end=now_hour - H, periods=days * 24, freq="h")
    mix, weather = generated(pd.date_range(hours[0], now_hour + ISSUE_AHEAD * H, freq="h"))
    write_hourly_mix(url, REGION, mix.loc[hours])
    points = [p for p in load_points() if p.region == REGION]
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        weather_source = sync_source(cur, "TEST_WEATHER", "generated", timedelta(hours=1), 60, timedelta(hours=6))
        operator_source = sync_source(cur, "TEST_ISO_FORECAST", "generated", timedelta(hours=1), 60, timedelta(hours=6))
        sync_weather_points(cur, points)
    for k in range(days + 1):   # one transaction per issue: the crawler's size of batch
        issued = now_hour - 2 * H - pd.Timedelta(days=k)
        part = weather[(weather.index > issued) & (weather.index <= issued + ISSUE_AHEAD * H)]
        rows = pd.concat([pd.DataFrame({"point": p.point, "issued_at": issued, "timestamp": part.index,
                                        "wind_speed_100m": part["wind_speed_100m"],
                                        "shortwave_radiation": part["shortwave_radiation"],
                                        "cloud_cover": part["cloud_cover"]}) for p in points], ignore_index=True)
        with conn, conn.cursor() as cur:
            write_weather_forecasts(cur, weather_source, rows)
            write_operator_forecasts(cur, operator_source, pd.DataFrame({
                "region": REGION, "issued_at": issued, "timestamp": part.index, "kind": "load", "mw": part["load"]}))
    with conn.cursor() as cur:
        # A live database has autovacuum's statistics; without them the planner takes the year
        # of readings for one row and the fit's read of the mix by fuel takes minutes, not seconds.
        conn.autocommit = True
        cur.execute("VACUUM (ANALYZE)")
    conn.close()


def timed_issues(url: str, issued_at, count: int) -> tuple[list[float], str]:
    conn = psycopg2.connect(url, options="-c timezone=UTC")
    times, name = [], ""
    with conn, conn.cursor() as cur:
        series = all_series(cur, REGION)[0]
        for _ in range(count + 1):
            began = time.perf_counter()
            made = forecasting.issue(cur, series, "lifecycle", issued_at)
            times.append(time.perf_counter() - began)
            name = made.model_name
    conn.close()
    return times[1:], name   # the first one loads the stored fit into the process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=560)
    parser.add_argument("--issues", type=int, default=20)
    args = parser.parse_args()
    now_hour = pd.Timestamp.now(tz="UTC").floor("h")
    with scratch_database() as url:
        began = time.perf_counter()
        write(url, now_hour, args.days)
        print(f"wrote {args.days} days of generated {REGION} history and inputs in {time.perf_counter() - began:.0f} s")
        issued_at = now_hour.to_pydatetime()
        baseline, base_name = timed_issues(url, issued_at, args.issues)
        conn = psycopg2.connect(url)
        migrate(conn)
        began = time.perf_counter()
        fitted, skipped = fit_all(conn, now_hour.to_pydatetime(), [REGION])
        fit_seconds = time.perf_counter() - began
        conn.close()
        assert fitted == 1, "the region was not fitted"
        mixed, mix_name = timed_issues(url, issued_at, args.issues)
    p50, base50 = statistics.median(mixed), statistics.median(baseline)
    print(f"fit (python -m api.forecasts fit's path: reads, fit, store): {fit_seconds:.1f} s")
    print(f"issue 96 h, {mix_name}: p50 {1000 * p50:.0f} ms, p90 {1000 * sorted(mixed)[int(0.9 * len(mixed))]:.0f} ms")
    print(f"issue 96 h, {base_name} (no fit stored): p50 {1000 * base50:.0f} ms, "
          f"p90 {1000 * sorted(baseline)[int(0.9 * len(baseline))]:.0f} ms")
    print(f"mix/history-only issue time {p50 / base50:.2f}")


if __name__ == "__main__":
    main()
