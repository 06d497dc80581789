"""Prometheus metrics: request counts and latency per endpoint (shared across gunicorn
workers through prometheus_client's multiprocess mode when PROMETHEUS_MULTIPROC_DIR is
set, as deploy/gunicorn.conf.py does), and data freshness per region read at scrape time."""
from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone

from flask import Flask, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from database.connection import DatabaseUnavailable
from database.pool import Pool

log = logging.getLogger(__name__)
from database.regions import all_series

REQUESTS = Counter("energy_data_http_requests_total", "HTTP requests answered",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("energy_data_http_request_duration_seconds", "Time to answer an HTTP request",
                    ["endpoint"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def install(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def count(response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        if "started" in g:
            LATENCY.labels(endpoint).observe(time.perf_counter() - g.started)
        return response


class FreshnessCollector:
    """Age of the newest stored interval per region and source, read when scraped."""

    def __init__(self, pool: Pool):
        self.pool = pool

    def collect(self):
        newest = GaugeMetricFamily("energy_data_newest_data_timestamp_seconds",
                                   "Start of the newest stored interval (Unix time)", labels=["region", "source"])
        age = GaugeMetricFamily("energy_data_data_age_seconds", "Seconds since the newest stored interval began",
                                labels=["region", "source"])
        stale = GaugeMetricFamily("energy_data_data_stale", "1 when the feed's newest data is older than its "
                                  "threshold", labels=["region", "source"])
        up = GaugeMetricFamily("energy_data_database_up", "1 when the database answered this scrape, else 0")
        now = datetime.now(timezone.utc)
        try:
            with self.pool.cursor() as cur:
                series = all_series(cur)
        except DatabaseUnavailable as exc:  # /metrics still answers: it is how one finds out
            log.warning("%s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for s in series:
            newest.add_metric([s.region, s.source], s.last.timestamp())
            age.add_metric([s.region, s.source], (now - s.last).total_seconds())
            stale.add_metric([s.region, s.source], 0 if s.fresh(now) else 1)
        yield from (newest, age, stale)


def render(pool: Pool) -> bytes:
    """The exposition text: request metrics (of every worker), then freshness."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder and os.path.isdir(folder):  # a folder gone (a gunicorn that ended) must not fail /metrics
        requests = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests)
    else:
        requests = REGISTRY
    freshness = CollectorRegistry()
    freshness.register(FreshnessCollector(pool))
    return generate_latest(requests) + generate_latest(freshness)
