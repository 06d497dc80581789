"""ERCOT's own load forecast: the dashboard of forecast against actual load.

`<base>/loadForecastVsActual.json`: `{"lastUpdated": "2024-11-25 02:15:02-0600", "previousDay":
{"dayDate": ..., "data": [{"hourEnding": 1, "currentLoadForecast": 41916.43, "dayAheadForecast":
41533.01, "systemLoad": 42015.44, "timestamp": "2024-11-24 01:00:00-0600", "epoch":
1732431600000}, ...]}, "currentDay": {...}, "nextDay": {...}}`. `timestamp` (and `epoch`, its
instant in milliseconds) is the END of the hour, with its UTC offset.

Stored: currentLoadForecast, ERCOT's current forecast, issued at `lastUpdated` (capped by the
fetch time). dayAheadForecast is not stored: the dashboard does not say when it was made.
"""
from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from crawler.bodies import load_json
from crawler.forecast_inputs import known_by, operator_rows
from crawler.http import HttpClient, base_url
from crawler.model import OPERATOR_FORECAST_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, \
    empty_frame
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="ERCOT_FORECAST",
    module_name=__name__,
    description="ERCOT current load forecast (dashboard), yesterday to tomorrow, hourly",
    regions=("ERCO",),
    interval_minutes=60,
    frequency_minutes=60,
    stale_after_minutes=6 * 60,
    time_convention="timestamp is the hour's END with its UTC offset; issued_at = lastUpdated",
    backfill="none: the dashboard serves only the current forecast",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://www.ercot.com/api/1/services/read/dashboards"
DAYS = ("previousDay", "currentDay", "nextDay")
HOUR = pd.Timedelta(hours=1)


def parse(payload: Payload) -> ParseResult:
    anomalies: list[Anomaly] = []
    doc = load_json(payload, SOURCE)
    if not isinstance(doc, dict) or not any(isinstance(doc.get(day), dict) for day in DAYS):
        raise ParseError(f"{SOURCE}: none of {DAYS} in the answer "
                         f"(keys: {sorted(doc) if isinstance(doc, dict) else type(doc).__name__})")
    updated = pd.to_datetime(doc.get("lastUpdated"), utc=True, errors="coerce", format="%Y-%m-%d %H:%M:%S%z")
    issued = known_by(payload, None if pd.isna(updated) else updated)
    records = [r for day in DAYS for r in ((doc.get(day) or {}).get("data") or []) if isinstance(r, dict)]
    table = pd.DataFrame.from_records(records)
    if table.empty or "currentLoadForecast" not in table:
        rows = empty_frame(OPERATOR_FORECAST_COLUMNS)
    else:
        ends = pd.to_datetime(table["timestamp"], utc=True, errors="coerce", format="%Y-%m-%d %H:%M:%S%z")
        rows = operator_rows(SOURCE, REGION, "load", issued, ends - HOUR, table["currentLoadForecast"], anomalies)
    return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES, anomalies=anomalies,
                       operator_forecasts=rows)


def dashboard_url() -> str:
    """The dashboard (ERCOT_FORECAST_BASE_URL points it at a mirror or a test server)."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/loadForecastVsActual.json"


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    return [client.get(dashboard_url())]


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    return []


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    return []
