"""CAISO Daily Renewables Watch: hourly production by resource type for the CISO area.

One tab-separated text report per Pacific day, `<base>/YYYYMMDD_DailyRenewablesWatch.txt`,
published the following day. Two tables matter: "Hourly Breakdown of Renewable Resources"
(geothermal, biomass, biogas, small hydro, wind, solar) and "Hourly Breakdown of Total
Production by Resource Type" (renewables total, nuclear, thermal, imports, large hydro).
`Hour` 1..24 is the hour ENDING in Pacific local time, so hour n starts at (n-1):00.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

import pandas as pd

from crawler.bodies import body_text, complete_lines
from crawler.chunks import day_chunks
from crawler.http import HttpClient, base_url, fetch_days
from crawler.model import Anomaly, ParseError, ParseResult, Payload, net_imports_of, note, wide_readings
from crawler.source import SourceSpec
from crawler.parsers.caiso import PACIFIC, REGION, local_to_utc

SPEC = SourceSpec(
    name="CAISO_DRW",
    module_name=__name__,
    description="CAISO Daily Renewables Watch, hourly, published the next day; history since 2010",
    regions=("CISO",),
    interval_minutes=60,
    frequency_minutes=6 * 60,
    # A day's report appears during the next day, so its last hour is up to ~48 h old.
    stale_after_minutes=72 * 60,
    time_convention="Hour 1..24 is the hour ENDING, America/Los_Angeles local time; the day in the report",
    backfill="one Pacific day (one report) per chunk",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
DEFAULT_BASE_URL = "https://content.caiso.com/green/renewrpt"

RENEWABLES_TABLE = "Hourly Breakdown of Renewable Resources"
TOTALS_TABLE = "Hourly Breakdown of Total Production by Resource Type"
FUEL_MAP = {
    "GEOTHERMAL": "geothermal",
    "BIOMASS": "biomass",
    "BIOGAS": "biomass",
    "SMALL HYDRO": "hydro",
    "HYDRO": "hydro",  # large hydro, in the totals table
    "WIND TOTAL": "wind",
    "SOLAR PV": "solar",
    "SOLAR THERMAL": "solar",
    "SOLAR": "solar",  # reports before 2013 have one solar column
    "NUCLEAR": "nuclear",
    # CAISO's "thermal" is overwhelmingly natural gas (coal and oil are a few MW at most),
    # and the report does not split it further.
    "THERMAL": "gas",
}
# The sum of the renewables table: storing it as well would count those MW twice.
RENEWABLES_TOTAL = "RENEWABLES"
IMPORTS = "IMPORTS"

_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{2})$")
_NAME_DATE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")


def parse(payload: Payload) -> ParseResult:
    """Parse one day's report into hourly readings (UTC interval starts) and net imports."""
    anomalies: list[Anomaly] = []
    # Every complete report ends with a line break: a last line without one is cut inside
    # (its last value may be a cut number), and is left out.
    records = _records(complete_lines(body_text(payload, "the Daily Renewables Watch text report"),
                                      SOURCE, anomalies))
    day = _day(records, payload.name, anomalies)
    table = pd.concat([_table(records, RENEWABLES_TABLE, anomalies),
                       _table(records, TOTALS_TABLE, anomalies)], axis=1)
    times = _hour_starts(table.index, day, anomalies)
    table = table[times.notna().to_numpy()]
    table.index = pd.DatetimeIndex(times.dropna(), name="timestamp")
    _note_missing_hours(table.index, day, anomalies)
    values = _numeric(table, anomalies)
    return ParseResult(
        readings=_readings(values.drop(columns=[RENEWABLES_TOTAL, IMPORTS], errors="ignore"), anomalies),
        net_imports=net_imports_of(REGION, values.get(IMPORTS)),
        interval_minutes=INTERVAL_MINUTES,
        anomalies=anomalies,
    )


def _records(text: str) -> list[list[str]]:
    """Tab-separated records with the empty cells dropped: the report pads its columns with
    a varying number of tabs, so only the order of non-empty cells lines up with the header."""
    # Quoting matters: the 2017 spring-forward report has quoted error texts spanning lines.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t")
    try:
        return [[cell.strip() for cell in record if cell.strip()] for record in reader]
    except csv.Error as exc:
        raise ParseError(f"unreadable tab-separated text: {exc}") from None


def _day(records: list[list[str]], name: str, anomalies: list[Anomaly]) -> date:
    """The report's own date (MM/DD/YY in its first cell), else the date in its name."""
    found = _DATE.match(records[0][0]) if records and records[0] else None
    in_file = date(2000 + int(found[3]), int(found[1]), int(found[2])) if found else None
    named = [m for m in _NAME_DATE.finditer(name)]
    in_name = date(*(int(g) for g in named[-1].groups())) if named else None
    if in_file and in_name and in_file != in_name:
        note(anomalies, SOURCE, "date_mismatch", f"report dated {in_file} served as {name!r}: used {in_file}")
    if in_file or in_name:
        return in_file or in_name
    raise ParseError(f"no date: the report has no MM/DD/YY in its first cell and {name!r} no YYYYMMDD")


def _table(records: list[list[str]], title: str, anomalies: list[Anomaly]) -> pd.DataFrame:
    """The rows under `title`'s `Hour` header as strings, indexed by hour number."""
    start = next((i for i, r in enumerate(records) if any(c.startswith(title) for c in r)), None)
    if start is None or start + 1 >= len(records) or records[start + 1][:1] != ["Hour"]:
        raise ParseError(f"no {title!r} table with an 'Hour' header: not a Daily Renewables Watch report?")
    header = records[start + 1]
    rows = {}
    for record in records[start + 2:]:
        if not record or not record[0].isdigit():
            break
        if len(record) != len(header):
            note(anomalies, SOURCE, "malformed_row",
                 f"{title}: hour {record[0]} has {len(record)} values for {len(header)} columns: skipped")
            continue
        rows[int(record[0])] = record[1:]
    if not rows:
        raise ParseError(f"the {title!r} table has no rows")
    return pd.DataFrame.from_dict(rows, orient="index", columns=header[1:])


def _hour_starts(hours: pd.Index, day: date, anomalies: list[Anomaly]) -> pd.Series:
    """Hour-ending numbers to UTC interval starts.

    Hour n is the local clock hour (n-1):00, which is what the real 2017 DST reports show:
    the spring day lists hour 3 (02:00, skipped by the clock) with an error text instead of
    values, and the fall-back day has only 24 rows, its solar ramp following the PST clock.
    A 25-row report can only be consecutive hours from midnight, so it is read that way.
    """
    midnight = local_to_utc(day, 0)
    consecutive = hours.max() == 25
    starts = []
    for hour in map(int, hours):
        if consecutive:
            start = midnight + timedelta(hours=hour - 1)
        elif 1 <= hour <= 24:
            start = local_to_utc(day, (hour - 1) * 60)
            if start is None:
                note(anomalies, SOURCE, "nonexistent_time",
                     f"{day} hour {hour} starts at {hour - 1:02d}:00, which the DST change skips: "
                     "row skipped")
        else:
            start = None
            note(anomalies, SOURCE, "bad_time", f"{day}: hour {hour} outside 1..24: row skipped")
        starts.append(start)
    return pd.Series(pd.to_datetime(starts, utc=True), index=hours).astype("datetime64[ns, UTC]")


def _note_missing_hours(index: pd.DatetimeIndex, day: date, anomalies: list[Anomaly]) -> None:
    """Say which hours of the day the report has no row for (the fall-back day's 25th)."""
    start, end = local_to_utc(day, 0), local_to_utc(day + timedelta(days=1), 0)
    expected = pd.date_range(start, end, freq="1h", inclusive="left")
    missing = expected.difference(index)
    if len(missing):
        shown = ", ".join(t.strftime("%H:%MZ") for t in missing[:5])
        note(anomalies, SOURCE, "missing_interval",
             f"{day}: {len(expected)}-hour day, no row for {len(missing)} hour(s) starting {shown}",
             len(missing))


def _numeric(table: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Cells as floats; Excel error texts (#VALUE!) and other non-numbers become anomalies."""
    values = table.apply(pd.to_numeric, errors="coerce").astype("float64")
    bad = values.isna() & table.notna()
    for column in bad.columns[bad.any()]:
        examples = ", ".join(repr(v[:40]) for v in table.loc[bad[column], column].unique()[:3])
        note(anomalies, SOURCE, "non_numeric", f"column {column!r}: non-numeric values {examples} skipped",
             int(bad[column].sum()))
    return values


def _readings(values: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Wide resource columns to long readings, mapped and folded into the vocabulary."""
    return wide_readings(values, REGION, FUEL_MAP, SOURCE, anomalies)



# -- fetch ------------------------------------------------------------------------------

def report_url(day: date) -> str:
    """The URL of one Pacific day's report."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/{day:%Y%m%d}_DailyRenewablesWatch.txt"


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """The two most recent reports: yesterday's (once published) and the day before's,
    so that a report published late is still collected on a later run."""
    yesterday = now.astimezone(PACIFIC).date() - timedelta(days=1)
    # Yesterday's report appears some time during today.
    return fetch_days(client, SOURCE, [yesterday - timedelta(days=1), yesterday],
                      lambda day: client.get(report_url(day)), may_be_missing=lambda day: day == yesterday)


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """One chunk per Pacific day in [start, end), matching one report per day."""
    return day_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Every day's report in [start, end); any failure fails the whole range."""
    return [client.get(report_url(day)) for day, _ in backfill_chunks(start, end)]
