"""MISO's own forecasts: wind and solar (real-time data broker) and the medium-term load
forecast of its daily "Forecasted and Actual Load" report.

- `<broker>/DataBrokerServices.asmx?messageType=getWindForecast&returnType=json` (and
  getSolarForecast): `{"MktDay": "03-10-2025", "RefId": "10-Mar-2025 - Interval 06:00 EST",
  "Forecast": [{"DateTimeEST": "2025-03-10 12:00:00 AM", "HourEndingEST": "1", "Value":
  "17716.00"}, ...]}`, two market days of hours. DateTimeEST is the hour's START (HourEndingEST
  is one more), in EST, a fixed UTC-5 all year like MISO's other broker feeds. Issue time:
  the interval RefId names (when the forecast was made), capped by the fetch time.
- `<reports>/YYYYMMDD_df_al.xls`: sheet of blocks per market day, "Market Day, HourEnding,
  LRZ1 MTLF (MWh), LRZ1 ActualLoad (MWh), ..., MISO MTLF (MWh), MISO ActualLoad (MWh)", hour
  ending 1-24 in EST. MISO MTLF is stored (the zones and the actual load are not). The header
  states only a "Published Date", no hour: issue time = the end of that day in EST, or the fetch
  time if earlier.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd

from crawler.bodies import load_json
from crawler.chunks import day_chunks
from crawler.forecast_inputs import known_by, operator_rows
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import (OPERATOR_FORECAST_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload,
                           empty_frame)
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="MISO_FORECAST",
    module_name=__name__,
    description="MISO wind and solar forecasts (data broker) and medium-term load forecast (daily report)",
    regions=("MISO",),
    interval_minutes=60,
    frequency_minutes=60,
    stale_after_minutes=12 * 60,
    time_convention="hours in fixed EST (UTC-5); issued_at = RefId interval (wind, solar) or end of the "
                    "published day in EST (load report), capped by the fetch time",
    backfill="days of the load report (YYYYMMDD_df_al.xls); wind and solar have no history",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://api.misoenergy.org/MISORTWDDataBroker"
REPORTS = "MISO_REPORTS"  # its own host: MISO_REPORTS_BASE_URL
DEFAULT_REPORTS_URL = "https://docs.misoenergy.org/marketreports"
EST = timezone(timedelta(hours=-5), "EST")
BROKER_KINDS = {"getWindForecast": "wind", "getSolarForecast": "solar"}
MTLF_COLUMN = "MISO MTLF (MWh)"
_REF = re.compile(r"^\s*(\d{1,2}-[A-Za-z]{3}-\d{4})\s*-\s*Interval\s+(\d{1,2}:\d{2})\s+([A-Za-z]+)\s*$")


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """A wind or solar broker answer (JSON) or a daily load report (.xls)."""
    anomalies: list[Anomaly] = []
    if payload.body[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # an OLE2 (legacy Excel) file
        rows = _load_report(payload, anomalies)
    else:
        rows = _broker(payload, anomalies)
    return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES,
                       anomalies=anomalies, operator_forecasts=rows)


def _broker(payload: Payload, anomalies: list[Anomaly]) -> pd.DataFrame:
    doc = load_json(payload, SOURCE)
    if not isinstance(doc, dict) or not isinstance(doc.get("Forecast"), list):
        raise ParseError(f"{SOURCE}: no 'Forecast' list (keys: {sorted(doc) if isinstance(doc, dict) else type(doc)})")
    kind = next((k for name, k in BROKER_KINDS.items() if name.lower() in payload.name.lower()), None)
    if kind is None:
        raise ParseError(f"{SOURCE}: cannot tell wind from solar: the payload name {payload.name!r} names neither "
                         f"{' nor '.join(BROKER_KINDS)}")
    issued = known_by(payload, _ref_time(doc.get("RefId")))
    table = pd.DataFrame.from_records(doc["Forecast"])
    if table.empty:
        return empty_frame(OPERATOR_FORECAST_COLUMNS)
    if not {"DateTimeEST", "Value"} <= set(table.columns):
        raise ParseError(f"{SOURCE}: forecast rows lack DateTimeEST or Value (keys: {sorted(table.columns)})")
    local = pd.to_datetime(table["DateTimeEST"].astype(str).str.strip(), format="%Y-%m-%d %I:%M:%S %p", errors="coerce")
    return operator_rows(SOURCE, REGION, kind, issued, local.dt.tz_localize(EST), table["Value"], anomalies)


def _ref_time(ref_id: object) -> datetime | None:
    """`10-Mar-2025 - Interval 06:00 EST` as a time; ParseError for another zone."""
    found = _REF.match(ref_id) if isinstance(ref_id, str) else None
    if not found:
        return None
    if found.group(3).upper() != "EST":
        raise ParseError(f"{SOURCE}: RefId {ref_id!r} is not in EST: the time convention changed")
    return datetime.strptime(f"{found.group(1)} {found.group(2)}", "%d-%b-%Y %H:%M").replace(tzinfo=EST)


def _load_report(payload: Payload, anomalies: list[Anomaly]) -> pd.DataFrame:
    import xlrd  # only this report needs it

    try:
        sheet = xlrd.open_workbook(file_contents=payload.body).sheet_by_index(0)
    except xlrd.XLRDError as exc:
        raise ParseError(f"{SOURCE}: unreadable .xls ({exc})") from None
    cells = [sheet.row_values(i) for i in range(sheet.nrows)]
    published = next((row[1] for row in cells if str(row[0]).strip().lower().startswith("published date")), None)
    if not isinstance(published, float):
        raise ParseError(f"{SOURCE}: no 'Published Date' in the report header")
    published_day = xlrd.xldate.xldate_as_datetime(published, 0).date()
    issued = known_by(payload, datetime.combine(published_day + timedelta(days=1), datetime.min.time(), EST))
    header = next((row for row in cells if str(row[0]).strip() == "Market Day"), None)
    if header is None or MTLF_COLUMN not in header:
        raise ParseError(f"{SOURCE}: no '{MTLF_COLUMN}' column in the report")
    column = header.index(MTLF_COLUMN)
    data = [row for row in cells if isinstance(row[0], float) and isinstance(row[1], float)]
    if not data:
        return empty_frame(OPERATOR_FORECAST_COLUMNS)
    days = np.array([xlrd.xldate.xldate_as_datetime(row[0], 0) for row in data], dtype="datetime64[ns]")
    hour_ending = np.array([row[1] for row in data], dtype="float64")
    starts = pd.DatetimeIndex(days + pd.to_timedelta(hour_ending - 1, unit="h")).tz_localize(EST)
    values = [row[column] if row[column] != "" else None for row in data]
    return operator_rows(SOURCE, REGION, "load", issued, starts, values, anomalies)


# -- fetch ------------------------------------------------------------------------------

def broker_url() -> str:
    return base_url(SOURCE, DEFAULT_BASE_URL) + "/DataBrokerServices.asmx"


def report_url(day: date) -> str:
    return f"{base_url(REPORTS, DEFAULT_REPORTS_URL)}/{day:%Y%m%d}_df_al.xls"


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Wind, solar and today's load report (yesterday's while today's is not out); a part
    that fails is noted, all failing raise."""
    payloads, failures = [], []
    for message in BROKER_KINDS:
        try:
            payloads.append(client.get(broker_url(), params={"messageType": message, "returnType": "json"}))
        except FetchError as exc:
            failures.append(f"{SOURCE} {message}: {exc}")
    today = now.astimezone(EST).date()
    try:
        payloads.append(client.get(report_url(today)))
    except FetchError:
        try:
            payloads.append(client.get(report_url(today - timedelta(days=1))))
        except FetchError as exc:
            failures.append(f"{SOURCE} load report: {exc}")
    if not payloads:
        raise FetchError("; ".join(failures))
    for failure in failures:
        client.note_error(failure)
    return payloads


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """One load report per day."""
    return day_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    return [client.get(report_url(day)) for day, _ in day_chunks(start, end)]
