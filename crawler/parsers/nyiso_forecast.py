"""NYISO's own load forecast: the ISO load forecast file of the day (`isolf`).

`<base>/YYYYMMDDisolf.csv`: `"Time Stamp","Capitl","Centrl",...,"West","NYISO"`, one row per
hour of six days from the file's day, `"02/19/2025 00:00",...,18054`. NYISO is the system total
and the one stored. Time Stamp is the hour's START in Eastern prevailing time (the autumn
repeated hour appears twice, in order).

Issue time: the file states none, and NYISO re-posts the day's file as it updates the forecast,
so it is the fetch time, never later than the end of the file's day in Eastern time (for a
recorded file fetched later).
"""
from __future__ import annotations

import io
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from crawler.bodies import body_text, complete_lines
from crawler.chunks import day_chunks
from crawler.forecast_inputs import known_by, operator_rows
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, empty_frame
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="NYISO_FORECAST",
    module_name=__name__,
    description="NYISO ISO load forecast (isolf), six days ahead, hourly",
    regions=("NYIS",),
    interval_minutes=60,
    frequency_minutes=60,
    stale_after_minutes=30 * 60,
    time_convention="Time Stamp is the hour's START in Eastern prevailing time; issued_at = fetch time, "
                    "at most the end of the file's day",
    backfill="days of isolf files",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://mis.nyiso.com/public/csv/isolf"
EASTERN = ZoneInfo("America/New_York")
TOTAL = "NYISO"
_DAY = re.compile(r"(\d{8})isolf")


def parse(payload: Payload) -> ParseResult:
    """One isolf file into NYIS load forecasts (UTC hour starts)."""
    anomalies: list[Anomaly] = []
    # Every complete file ends with a line break: a last line without one is cut (its load a
    # cut number) and is left out.
    table = pd.read_csv(io.StringIO(complete_lines(body_text(payload, "CSV", SOURCE), SOURCE, anomalies)))
    if "Time Stamp" not in table or TOTAL not in table:
        raise ParseError(f"{SOURCE}: expected 'Time Stamp' and '{TOTAL}' columns, found {list(table.columns)}")
    found = _DAY.search(payload.name.rsplit("/", 1)[-1])
    day_end = (datetime.combine(datetime.strptime(found.group(1), "%Y%m%d").date() + timedelta(days=1), time(0),
                                EASTERN) if found else None)
    issued = known_by(payload, day_end)
    wall = pd.to_datetime(table["Time Stamp"].astype(str).str.strip(), format="%m/%d/%Y %H:%M", errors="coerce")
    local = wall.dt.tz_localize(EASTERN, ambiguous="infer", nonexistent="NaT")
    return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES, anomalies=anomalies,
                       operator_forecasts=operator_rows(SOURCE, REGION, "load", issued, local, table[TOTAL], anomalies))


def daily_url(day: date) -> str:
    """A day's file (NYISO_FORECAST_BASE_URL points it at a mirror or a test server)."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/{day:%Y%m%d}isolf.csv"


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Today's file (Eastern), which may not be out just after midnight: then yesterday's."""
    today = now.astimezone(EASTERN).date()
    try:
        return [client.get(daily_url(today))]
    except FetchError:
        return [client.get(daily_url(today - timedelta(days=1)))]


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    return day_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    return [client.get(daily_url(day)) for day, _ in day_chunks(start, end)]
