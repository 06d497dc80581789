"""PJM's own forecasts (Data Miner 2 API): hourly wind and solar power forecasts and the
seven-day load forecast of the RTO.

- `<base>/hourly_wind_power_forecast` (and `hourly_solar_power_forecast`), filtered on
  evaluated_at_ept: `{"items": [{"evaluated_at_utc": "2025-02-22T01:00:00",
  "datetime_beginning_utc": "2025-02-24T00:00:00", "wind_forecast_mwh": 5467.953, ...}, ...],
  "totalRows": ..}`; a new evaluation every 10 minutes (wind) or hour (solar), each forecasting
  the days ahead. solar_forecast_mwh is utility-scale solar, what gen_by_fuel's Solar
  measures; the behind-the-meter estimate (solar_forecast_btm_mwh) is not stored.
- `<base>/load_frcstd_7_day?forecast_area=RTO_COMBINED`: `evaluated_at_datetime_utc`,
  `forecast_datetime_beginning_utc`, `forecast_area`, `forecast_load_mw`; only the current
  forecast is served (a download answers the same rows as a bare list).

Time: the *_beginning_utc fields are the hour's START in UTC. Issue time: the evaluation time
each row states (evaluated_at_utc, evaluated_at_datetime_utc), capped by the fetch time.
The subscription key is PJM's (crawler.parsers.pjm.subscription_key).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd

from crawler.bodies import load_json
from crawler.chunks import day_chunks
from crawler.forecast_inputs import known_by, operator_rows
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import OPERATOR_FORECAST_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, \
    empty_frame
from crawler.parsers import pjm
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="PJM_FORECAST",
    module_name=__name__,
    description="PJM Data Miner hourly wind and solar power forecasts and seven-day load forecast (RTO)",
    regions=("PJM",),
    interval_minutes=60,
    frequency_minutes=60,
    stale_after_minutes=6 * 60,
    time_convention="*_beginning_utc is the hour's START in UTC; issued_at = the row's evaluated_at (UTC)",
    backfill="days of wind and solar evaluations (PJM keeps 30 days); the load forecast has no history",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = pjm.DEFAULT_BASE_URL
EASTERN = ZoneInfo("America/New_York")
FEEDS = {  # feed: (kind, issue field, target field, value field)
    "hourly_wind_power_forecast": ("wind", "evaluated_at_utc", "datetime_beginning_utc", "wind_forecast_mwh"),
    "hourly_solar_power_forecast": ("solar", "evaluated_at_utc", "datetime_beginning_utc", "solar_forecast_mwh"),
    "load_frcstd_7_day": ("load", "evaluated_at_datetime_utc", "forecast_datetime_beginning_utc", "forecast_load_mw"),
}
LOAD_AREA = "RTO_COMBINED"
# Each run reads the evaluations of the last hours (a missed run is caught up by the next).
LOOKBACK = timedelta(hours=3)
ROW_COUNT = 50_000
MAX_PAGES = 20


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """One page of a wind, solar or load forecast feed; the feed is told by its fields."""
    anomalies: list[Anomaly] = []
    rows = pjm._items(load_json(payload, SOURCE))
    table = pd.DataFrame.from_records(rows)
    if table.empty:
        frame = empty_frame(OPERATOR_FORECAST_COLUMNS)
    else:
        frame = _forecasts(table, payload, anomalies)
    return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES,
                       anomalies=anomalies, operator_forecasts=frame)


def _forecasts(table: pd.DataFrame, payload: Payload, anomalies: list[Anomaly]) -> pd.DataFrame:
    found = [(feed, spec) for feed, spec in FEEDS.items() if spec[3] in table]
    if not found:
        raise ParseError(f"{SOURCE}: rows carry none of {[s[3] for s in FEEDS.values()]} "
                         f"(row keys: {sorted(table.columns)})")
    feed, (kind, issue_field, target_field, value_field) = found[0]
    missing = [f for f in (issue_field, target_field) if f not in table]
    if missing:
        raise ParseError(f"{SOURCE}: {feed} rows lack {missing} (row keys: {sorted(table.columns)})")
    if "forecast_area" in table:
        table = table[table["forecast_area"].astype(str).str.strip() == LOAD_AREA]
    issued = _utc(table[issue_field])
    bound = known_by(payload)
    issued = issued.where(issued < bound, bound)
    return operator_rows(SOURCE, REGION, kind, issued, _utc(table[target_field]), table[value_field], anomalies)


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype(str).str.strip().str[:19], format="%Y-%m-%dT%H:%M:%S",
                          errors="coerce").dt.tz_localize("UTC")


# -- fetch ------------------------------------------------------------------------------

def feed_url(feed: str) -> str:
    """A forecast feed (PJM_FORECAST_BASE_URL points it at a mirror or a test server)."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/{feed}"


def _evaluated(first: datetime, last: datetime) -> str:
    """PJM's range filter on evaluated_at_ept: Eastern prevailing time, both ends inclusive."""
    first, last = first.astimezone(EASTERN), last.astimezone(EASTERN)
    return f"{first:%m/%d/%Y %H:%M}to{last:%m/%d/%Y %H:%M}"


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """The wind and solar evaluations of the last hours and the current load forecast; a feed
    that fails is noted, all failing raise."""
    payloads, failures = [], []
    evaluated = _evaluated(now - LOOKBACK, now)
    for feed in FEEDS:
        extra = {"forecast_area": LOAD_AREA} if FEEDS[feed][0] == "load" else {"evaluated_at_ept": evaluated}
        try:
            payloads.extend(_pages(client, feed, extra))
        except FetchError as exc:
            failures.append(f"{SOURCE} {feed}: {exc}")
    if not payloads:
        raise FetchError("; ".join(failures))
    for failure in failures:
        client.note_error(failure)
    return payloads


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    return day_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """The wind and solar evaluations made on the UTC days [start, end)."""
    first = datetime.combine(start, time(0), timezone.utc)
    last = datetime.combine(end, time(0), timezone.utc) - timedelta(minutes=1)
    return [page for feed, spec in FEEDS.items() if spec[0] != "load"
            for page in _pages(client, feed, {"evaluated_at_ept": _evaluated(first, last)})]


def _pages(client: HttpClient, feed: str, extra: dict[str, object]) -> list[Payload]:
    headers = {pjm.KEY_HEADER: pjm.subscription_key(client)}
    payloads: list[Payload] = []
    start_row = 1
    while len(payloads) < MAX_PAGES:
        params = {"rowCount": ROW_COUNT, "startRow": start_row, **extra}
        payload = client.get(feed_url(feed), params=params, headers=headers)
        payloads.append(payload)
        rows, total, has_next = pjm._page_counts(payload.body)
        start_row += rows
        if rows == 0 or (start_row > total and not has_next):
            return payloads
    raise FetchError(f"more than {MAX_PAGES} pages of {ROW_COUNT} rows")
