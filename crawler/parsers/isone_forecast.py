"""ISO New England's own forecasts: the seven-day wind and solar power forecast reports and
the system load forecast of its website's load chart.

- `<base>/transform/csv/wphf?start=YYYYMMDD` (wind; `sphf`: solar): a CSV report with lines
  `"C","Report generated 02/25/2025 10:02:35 EST"`, a `"D","Date","Hour Ending",<8 dates>`
  line, then `"D",,<hour ending 01-24>,<MW per date>` (a blank cell: no forecast for that hour,
  e.g. the hours of the report's first day already past). ISO-NE serves the CSV only to a
  session that has opened the report's page, which is fetched first (not archived).
  Hour ending is local prevailing time (America/New_York): hour ending h starts at h-1 on the
  wall clock; "02X" is the repeated hour of the autumn change. Issue time: "Report generated"
  (EST or EDT as stated), capped by the fetch time.
- `<ws>/wsclient` POSTed `_nstmp_requestType=systemload` (the host of crawler.parsers.isone's
  wsclient, ISONE_WSCLIENT_BASE_URL): `[{"data": {"forecast": [{"BeginDate":
  "2025-03-17T00:00:00.000-04:00", "CreationDate": "2025-03-17T09:05:32.000-04:00", "Mw": 9950,
  ...}], "priorDay": [...], "actual": [...], ...}}]`. forecast and priorDay are load forecasts
  for the hour starting at BeginDate, each stating its CreationDate: the issue time.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from crawler.bodies import body_text, complete_lines, load_json
from crawler.chunks import day_chunks
from crawler.forecast_inputs import known_by, operator_rows
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import OPERATOR_FORECAST_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, \
    empty_frame, note
from crawler.parsers import isone
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="ISONE_FORECAST",
    module_name=__name__,
    description="ISO-NE seven-day wind and solar power forecasts and system load forecast",
    regions=("ISNE",),
    interval_minutes=60,
    frequency_minutes=60,
    stale_after_minutes=30 * 60,
    time_convention="hour ending in Eastern prevailing time (reports), BeginDate with its offset (load); "
                    "issued_at = 'Report generated' or CreationDate",
    backfill="days of the wind and solar reports (start=YYYYMMDD)",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://www.iso-ne.com"
EASTERN = ZoneInfo("America/New_York")
REPORTS = {"wphf": ("wind", "seven-day-wind-power-forecast"), "sphf": ("solar", "seven-day-solar-power-forecast")}
ZONES = {"EST": timezone(timedelta(hours=-5)), "EDT": timezone(timedelta(hours=-4))}
_GENERATED = re.compile(r"Report generated\s+(\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2})\s+([A-Z]{3})")
# The report's closing line, "T","24 lines": the recorded reports end with it, and with no line
# break after it, so it is what says that a report is whole.
_TRAILER = re.compile(r'^"?T"?,', re.MULTILINE)
_TITLE = re.compile(r"Seven Day (Wind|Solar) Power Forecast", re.IGNORECASE)


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """A seven-day wind or solar report (CSV) or a wsclient systemload answer (JSON)."""
    anomalies: list[Anomaly] = []
    text = body_text(payload, "CSV or JSON", SOURCE)
    if text.lstrip().startswith(("[", "{")):
        rows = _load(payload, anomalies)
    else:
        rows = _report(text, payload, anomalies)
    return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES,
                       anomalies=anomalies, operator_forecasts=rows)


def _report(text: str, payload: Payload, anomalies: list[Anomaly]) -> pd.DataFrame:
    title = _TITLE.search(text)
    if not title:
        raise ParseError(f"{SOURCE}: not a seven-day wind or solar power forecast report")
    kind = title.group(1).lower()
    generated = _GENERATED.search(text)
    if not generated or generated.group(2) not in ZONES:
        raise ParseError(f"{SOURCE}: no 'Report generated <time> EST|EDT' line")
    made = datetime.strptime(generated.group(1), "%m/%d/%Y %H:%M:%S").replace(tzinfo=ZONES[generated.group(2)])
    # Without its closing line the report is cut: a last line without a line break may end
    # in a cut number, and is left out.
    text = complete_lines(text, SOURCE, anomalies, whole=bool(_TRAILER.search(text)))
    lines = list(csv.reader(io.StringIO(text)))
    header = next((line for line in lines if len(line) > 3 and line[0] == "D" and line[1] == "Date"), None)
    if header is None:
        raise ParseError(f"{SOURCE}: no 'Date' line naming the report's days")
    days = pd.to_datetime(pd.Series(header[3:]), format="%m/%d/%Y", errors="coerce")
    starts, values = [], []
    for line in lines:
        if len(line) < 4 or line[0] != "D" or line[1] or not line[2].strip():
            continue
        hour = line[2].strip()
        repeated = hour.upper().endswith("X")
        hour_ending = int(hour.rstrip("Xx"))
        for day, cell in zip(days, line[3:]):
            if pd.isna(day) or not cell.strip():
                continue
            starts.append((day + pd.Timedelta(hours=hour_ending - 1), repeated))
            values.append(cell)
    if not starts:
        return empty_frame(OPERATOR_FORECAST_COLUMNS)
    wall = pd.Series([s for s, _ in starts])
    # The repeated hour of the autumn change is standard time ("02X"); the first one daylight.
    daylight = np.array([not repeated for _, repeated in starts])
    local = wall.dt.tz_localize(EASTERN, ambiguous=daylight, nonexistent="NaT")
    skipped = local.isna()
    if skipped.any():
        note(anomalies, SOURCE, "missing_interval", f"{int(skipped.sum())} hours that do not exist on the "
             "spring daylight-saving day left out", int(skipped.sum()))
    issued = known_by(payload, made)
    return operator_rows(SOURCE, REGION, kind, issued, pd.DatetimeIndex(local[~skipped]),
                         pd.Series(values)[~skipped.to_numpy()].to_numpy(), anomalies)


def _load(payload: Payload, anomalies: list[Anomaly]) -> pd.DataFrame:
    doc = load_json(payload, SOURCE)
    data = isone._envelope_data(doc) if isinstance(doc, list) else doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict) or not any(isinstance(data.get(k), list) for k in ("forecast", "priorDay")):
        raise ParseError(f"{SOURCE}: a wsclient answer without 'forecast' or 'priorDay' lists")
    records = [r for key in ("priorDay", "forecast") for r in (data.get(key) or []) if isinstance(r, dict)]
    table = pd.DataFrame.from_records(records)
    if table.empty:
        return empty_frame(OPERATOR_FORECAST_COLUMNS)
    missing = [k for k in ("BeginDate", "CreationDate", "Mw") if k not in table]
    if missing:
        raise ParseError(f"{SOURCE}: load forecast records lack {missing} (keys: {sorted(table.columns)})")
    # priorDay repeats today's forecast next to yesterday's: the same record twice is one.
    table = table.drop_duplicates(subset=["BeginDate", "CreationDate", "Mw"]).reset_index(drop=True)
    bound = known_by(payload)
    issued = pd.to_datetime(table["CreationDate"], utc=True, errors="coerce", format="ISO8601")
    issued = issued.where(issued < bound, bound)
    starts = pd.to_datetime(table["BeginDate"], utc=True, errors="coerce", format="ISO8601")
    known = issued.notna()
    if not known.all():
        note(anomalies, SOURCE, "malformed_row", f"{int((~known).sum())} load forecasts without a readable "
             "CreationDate left out", int((~known).sum()))
    return operator_rows(SOURCE, REGION, "load", issued[known], starts[known], table.loc[known, "Mw"], anomalies)


# -- fetch ------------------------------------------------------------------------------

def report_url(report: str) -> str:
    """A report's CSV (ISONE_FORECAST_BASE_URL points it at a mirror or a test server)."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/transform/csv/{report}"


def page_url(report: str) -> str:
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/isoexpress/web/reports/operations/-/tree/{REPORTS[report][1]}"


def fetch_report(client: HttpClient, report: str, day: date) -> Payload:
    """The report of `day`, after opening its page in the same session (for its cookies; the
    page itself is not archived)."""
    HttpClient(session=client.session).get(page_url(report))
    return client.get(report_url(report), params={"start": f"{day:%Y%m%d}"})


def fetch_load(client: HttpClient, day: date) -> Payload:
    stamp = f"{day:%m/%d/%Y}"
    return client.request("POST", isone.wsclient_url(), data={
        "_nstmp_requestType": "systemload", "_nstmp_startDate": stamp,
        "_nstmp_endDate": f"{day + timedelta(days=1):%m/%d/%Y}"})


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Today's wind and solar reports (yesterday's until today's is out, about 10:00 Eastern)
    and the load forecast; a part that fails is noted, all failing raise."""
    today = now.astimezone(EASTERN).date()
    payloads, failures = [], []
    for report in REPORTS:
        for day in (today, today - timedelta(days=1)):
            try:
                payloads.append(fetch_report(client, report, day))
                break
            except FetchError as exc:
                error = f"{SOURCE} {report}: {exc}"
        else:
            failures.append(error)
    try:
        payloads.append(fetch_load(client, today))
    except FetchError as exc:
        failures.append(f"{SOURCE} systemload: {exc}")
    if not payloads:
        raise FetchError("; ".join(failures))
    for failure in failures:
        client.note_error(failure)
    return payloads


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    return day_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    return [fetch_report(client, report, day) for day, _ in day_chunks(start, end) for report in REPORTS]
