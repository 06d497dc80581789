"""Forecast-input storage benchmark: what a day of live Open-Meteo issues costs on disk, how
long the model's read of one region's 96 hours takes, and what pruning's thinning leaves.

    python scripts/bench/forecast_inputs.py [--days 2] [--reads 50]

Writes `--days` days of hourly issues for every point of energy_data/data/weather_points.csv
(96 target hours each, values changing every issue, so none is skipped as a repeat) through
database.forecast_inputs.write_weather_forecasts, then prints: rows and bytes per row (table
plus indexes), the p50 and p90 of read_weather_features for one region and 96 hours against
a plain SELECT of the same rows (the baseline: the ratio is the cost of choosing the newest
issue and averaging), and the rows left after thin_issues. Runs a scratch PostgreSQL
(DATABASE_URL's server if set, else an embedded one).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from database.forecast_inputs import (WEATHER_VARIABLES, read_weather_features, sync_weather_points,  # noqa: E402
                                      thin_issues, write_weather_forecasts)
from database.scratch import scratch_database  # noqa: E402
from energy_data.weather_points import load_points  # noqa: E402

START = datetime(2025, 3, 1, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--reads", type=int, default=50)
    args = parser.parse_args()
    points = load_points()
    rng = np.random.default_rng(1)
    with scratch_database() as url:
        conn = psycopg2.connect(url)
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO source (name, frequency, interval_minutes) VALUES ('OPENMETEO', '1 hour', 60) "
                        "ON CONFLICT (name) DO NOTHING RETURNING id")
            source = cur.fetchone()[0]
            sync_weather_points(cur, points)
        for issue in range(args.days * 24):
            issued = START + issue * HOUR
            hours = [issued.replace(minute=0) + h * HOUR for h in range(96)]
            frame = pd.DataFrame({"point": np.repeat([p.point for p in points], 96),
                                  "issued_at": pd.Timestamp(issued), "timestamp": hours * len(points)})
            for variable in WEATHER_VARIABLES:
                frame[variable] = rng.uniform(0, 30, len(frame)).round(1)
            with conn, conn.cursor() as cur:
                write_weather_forecasts(cur, source, frame)
        with conn.cursor() as cur:
            cur.execute("SELECT count(*), pg_total_relation_size('weather_forecast') FROM weather_forecast")
            rows, size = cur.fetchone()
        conn.commit()
        per_day = rows / args.days
        print(f"points: {len(points)}; rows: {rows} ({per_day:,.0f} a day of hourly issues); "
              f"{size / rows:.0f} bytes a row with indexes; {per_day * size / rows / 1e6:.1f} MB a day")

        issued_before = START + timedelta(days=args.days) - HOUR / 2
        window = (issued_before.replace(minute=0) + HOUR, issued_before.replace(minute=0) + 97 * HOUR)
        ours, plain = [], []
        with conn.cursor() as cur:
            for _ in range(args.reads):
                began = time.perf_counter()
                frame = read_weather_features(cur, "PJM", issued_before, *window)
                ours.append(time.perf_counter() - began)
                began = time.perf_counter()
                cur.execute("SELECT w.* FROM weather_forecast w JOIN weather_point p ON p.id = w.point_id "
                            "JOIN region r ON r.id = p.region_id WHERE r.code = 'PJM' AND w.ts >= %s AND w.ts < %s "
                            "AND w.issued_at = %s", (*window, frame.attrs["issued_at"]))
                cur.fetchall()
                plain.append(time.perf_counter() - began)
        conn.commit()
        p50, p90 = statistics.median(ours) * 1e3, np.percentile(ours, 90) * 1e3
        base = statistics.median(plain) * 1e3
        print(f"read_weather_features PJM, 96 h: p50 {p50:.1f} ms, p90 {p90:.1f} ms; plain select of the "
              f"newest issue's rows: p50 {base:.1f} ms; ratio {p50 / base:.1f}")

        with conn, conn.cursor() as cur:
            began = time.perf_counter()
            thinned = thin_issues(cur, START + timedelta(days=args.days + 3, hours=6), timedelta(days=3))
            took = time.perf_counter() - began
            cur.execute("SELECT count(*) FROM weather_forecast")
            left = cur.fetchone()[0]
        print(f"thinning: {thinned['weather_forecast']} rows deleted in {took:.1f} s; {left} left "
              f"({left / args.days:,.0f} a day: one issue per 6 hours)")
        conn.close()


if __name__ == "__main__":
    main()
