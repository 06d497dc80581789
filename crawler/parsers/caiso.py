"""CAISO Today's Outlook fuel source CSV: 5-minute generation by fuel for the CISO area.

One file per Pacific day, `<base>/history/YYYYMMDD/fuelsource.csv` (and `<base>/current/
fuelsource.csv` for today). Rows are `HH:MM` interval starts in America/Los_Angeles local
time; the file itself carries no date, so the day comes from the payload's name.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from crawler.bodies import body_text, complete_lines
from crawler.chunks import day_chunks, days_to_fetch
from crawler.http import HttpClient, base_url, fetch_days
from crawler.model import (
    READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, empty_frame, fold, fuels_of,
    net_imports_of, note, wide_readings,
)
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="CAISO",
    module_name=__name__,
    description="CAISO Today's Outlook fuel source, 5-minute, Pacific time",
    regions=("CISO",),
    interval_minutes=5,
    frequency_minutes=5,
    # The outlook file grows every 5 minutes; an hour without a new row means it is stuck.
    stale_after_minutes=60,
    time_convention="HH:MM interval starts, America/Los_Angeles local time; the day from the file name",
    backfill="one Pacific day (one history file) per chunk",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://www.caiso.com/outlook"
PACIFIC = ZoneInfo("America/Los_Angeles")

# Header labels (matched case-insensitively: CAISO has served "Natural Gas" and "Natural gas").
FUEL_MAP = {
    "Solar": "solar",
    "Wind": "wind",
    "Geothermal": "geothermal",
    "Biomass": "biomass",
    "Biogas": "biomass",
    "Small hydro": "hydro",
    "Large hydro": "hydro",
    "Coal": "coal",
    "Nuclear": "nuclear",
    "Natural gas": "gas",
    "Batteries": "battery",
    "Other": "other",
}
TIME_COLUMN = "time"
IMPORTS_COLUMN = "imports"
# After a day change yesterday's file is fetched until this long past Pacific midnight,
# so that its last intervals (published a few minutes late) are collected.
YESTERDAY_GRACE = timedelta(minutes=20)

_HISTORY_DATE = re.compile(r"/history/(\d{4})(\d{2})(\d{2})/")
_NAME_DATE = re.compile(r"(?<!\d)(20\d{2})-?(\d{2})-?(\d{2})(?!\d)")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_TO_STRIP = re.compile(r'[\s"]')  # what stripping cells of spaces and quotes could remove


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload, general: bool = False) -> ParseResult:
    """Parse one day's fuelsource.csv into readings (MW, UTC interval starts) and net imports.

    `general` takes the general reading where a faster one exists; both give the same result
    (tests/test_parse_paths.py feeds both every recording).
    """
    text = body_text(payload)
    day = day_of(payload)
    anomalies: list[Anomaly] = []
    names, cells = _read_table(text, anomalies)
    if general or len(set(names)) < len(names):
        # A repeated column name: the general reading, pandas throughout.
        return _parse_table(_table(names, cells), day, anomalies)
    times = _utc_times(cells[:, names.index("__time__")], day, anomalies)
    timed = ~times.isna()
    columns = [name for name in names if name != "__time__"]
    values = _numeric(cells[timed][:, [names.index(c) for c in columns]], columns, anomalies)
    times = times[timed]
    imports = [c for c in columns if c.strip().lower() == IMPORTS_COLUMN]
    fuels = [c for c in columns if c not in imports]
    frame = pd.DataFrame(values, index=pd.DatetimeIndex(times, name="timestamp"), columns=columns)
    if times.is_unique:
        readings = _unique_readings(times, fuels, values[:, [columns.index(c) for c in fuels]], anomalies)
    else:  # a repeated time: the general reading (last value wins)
        readings = _readings(frame.drop(columns=imports), anomalies)
    return ParseResult(readings=readings, net_imports=net_imports_of(REGION, frame[imports[0]] if imports else None),
                       interval_minutes=INTERVAL_MINUTES, anomalies=anomalies)


def _parse_table(table: pd.DataFrame, day: date, anomalies: list[Anomaly]) -> ParseResult:
    """The general reading of the table (any repeated column or time), pandas throughout."""
    times = _utc_times(table.pop("__time__"), day, anomalies)
    table = table[times.notna().to_numpy()]
    table.index = pd.DatetimeIndex(times.dropna(), name="timestamp")
    values = table.apply(pd.to_numeric, errors="coerce").astype("float64")
    _note_non_numeric(table, values.isna() & (table != ""), anomalies)
    imports = [c for c in values.columns if c.strip().lower() == IMPORTS_COLUMN]
    return ParseResult(
        readings=_readings(values.drop(columns=imports), anomalies),
        net_imports=net_imports_of(REGION, values[imports[0]] if imports else None),
        interval_minutes=INTERVAL_MINUTES,
        anomalies=anomalies,
    )


def day_of(payload: Payload) -> date:
    """The Pacific day a file describes, from its URL or file name (the CSV has no date)."""
    name = payload.name
    found = _HISTORY_DATE.search(name)
    if found:
        return _date(found.groups(), name)
    if "/current/" in name:
        if payload.fetched_at is None:
            raise ParseError(f"no date for {name!r}: a current/ file needs its fetch time")
        return payload.fetched_at.astimezone(PACIFIC).date()
    # The rightmost date is the file's own (directories may carry unrelated dates).
    for found in reversed(list(_NAME_DATE.finditer(name))):
        try:
            return _date(found.groups(), name)
        except ParseError:
            continue
    raise ParseError(
        f"no date in payload name {name!r}: the CSV carries none, so the name must hold "
        "YYYYMMDD or YYYY-MM-DD (or be a /history/YYYYMMDD/ URL)"
    )


def _date(parts: tuple[str, ...], name: str) -> date:
    try:
        return date(*(int(p) for p in parts))
    except ValueError:
        raise ParseError(f"invalid date {''.join(parts)!r} in payload name {name!r}") from None


def _read_table(text: str, anomalies: list[Anomaly]) -> tuple[list[str], np.ndarray]:
    """Column names (the Time column renamed `__time__`) and all cells (rows x columns) as
    stripped strings; bad rows skipped, blank columns dropped."""
    lines = text.lstrip().splitlines()
    if len(lines) == 1 and not text.endswith(("\n", "\r")):
        raise ParseError("file ends inside the header line (truncated download?)")
    # Every complete file ends with a line break: a last line without one is cut, even when
    # it has all its fields (its last value may be a cut number).
    lines = complete_lines(text, SOURCE, anomalies).lstrip().splitlines()
    names = [h.strip().strip('"').strip() for h in lines[0].split(",")]
    time_columns = [n for n in names if n.lower() == TIME_COLUMN]
    if len(time_columns) != 1:
        problem = "no 'Time' column" if not time_columns else "more than one 'Time' column"
        raise ParseError(f"{problem} in the header {lines[0][:200]!r}")
    rows = _complete_rows(lines[1:], len(names), anomalies)
    if not rows:
        raise ParseError("header only: the file has no data rows")
    # No quoting: CAISO's cells are plain numbers, so a stray quote stays in its own cell
    # (and becomes a non-numeric anomaly) instead of swallowing the lines after it. Every
    # row has the header's width, so the cells are what lies between commas.
    rows[0] = rows[0].removeprefix("\ufeff")  # a byte-order mark left after blank lines
    split = [row.split(",") for row in rows]
    if any(_TO_STRIP.search(row) for row in rows):
        split = [[cell.strip().strip('"') for cell in row] for row in split]
    cells = np.empty((len(split), len(names)), dtype=object)
    cells[:] = split
    names = ["__time__" if n.lower() == TIME_COLUMN else n for n in names]
    if names.count("") > 1:  # several unnamed columns: as the general reading drops them
        table = _drop_blank_columns(_table(names, cells))
        return list(table.columns), table.to_numpy(dtype=object)
    # Drop a column with no header name and no values (a trailing comma), not a real fuel.
    blank = [i for i, n in enumerate(names) if n == "" and (cells[:, i] == "").all()]
    if blank:
        keep = [i for i in range(len(names)) if i not in blank]
        names, cells = [names[i] for i in keep], cells[:, keep]
    return names, cells


def _table(names: list[str], cells: np.ndarray) -> pd.DataFrame:
    """The cells as the frame of string columns that read_csv gives."""
    table = pd.DataFrame(cells, columns=range(len(names)), dtype=str)
    table.columns = names
    return table


def _complete_rows(lines: list[str], width: int, anomalies: list[Anomaly]) -> list[str]:
    """Data lines with the header's field count (a cut last line is already gone)."""
    rows = []
    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        fields = line.count(",") + 1
        if fields == width:
            rows.append(line)
        else:
            note(anomalies, SOURCE, "malformed_row",
                 f"line {number} has {fields} fields, header has {width}: skipped")
    return rows


def _drop_blank_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Drop columns with no header name and no values (a trailing comma), not real fuels."""
    blank = [c for c in table.columns if c == "" and (table[c] == "").all()]
    return table.drop(columns=blank)


def _utc_times(clock, day: date, anomalies: list[Anomaly]) -> pd.DatetimeIndex | pd.Series:
    """Local `HH:MM` interval starts to UTC; a repeated hour on the fall-back day is told
    apart by row order (the clock going backwards means the second, standard-time pass).

    Takes the Time cells (an array, or a Series for the general reading, which gets a
    Series back); unreadable or nonexistent times are NaT, each noted.
    """
    start, end = local_to_utc(day, 0), local_to_utc(day + timedelta(days=1), 0)
    if start is not None and end is not None and end - start == timedelta(days=1) \
            and _offset(day, 0) == _offset(day, 23 * 60 + 59):
        # No clock change that day: each time is the day's UTC start plus its minutes.
        minutes = _next_midnight_after_the_day(
            np.array([_minutes_or_note(value, anomalies) for value in clock], dtype="float64"))
        nanos = np.where(np.isnan(minutes), np.iinfo("int64").min,
                         pd.Timestamp(start).value + np.nan_to_num(minutes).astype("int64") * 60_000_000_000)
        times = pd.DatetimeIndex(nanos.view("M8[ns]")).tz_localize("UTC")
    else:
        result, fold, previous = [], 0, -1
        for value in clock:
            minutes = _minutes_or_note(value, anomalies)
            if minutes is None:
                result.append(None)
                continue
            if minutes == 0 and previous >= 0:
                # A 00:00 after the day's rows is the next midnight, not this one (see below).
                result.append(local_to_utc(day + timedelta(days=1), 0))
                continue
            if minutes < previous:
                fold = 1
            previous = minutes
            utc = local_to_utc(day, minutes, fold)
            if utc is None:
                note(anomalies, SOURCE, "nonexistent_time",
                     f"{day} {value} does not exist in Pacific time (DST gap): row skipped")
            result.append(utc)
        times = pd.DatetimeIndex(pd.to_datetime(result, utc=True)).as_unit("ns")
    if isinstance(clock, pd.Series):
        return pd.Series(times, index=clock.index).astype("datetime64[ns, UTC]")
    return times


def _next_midnight_after_the_day(minutes: np.ndarray) -> np.ndarray:
    """CAISO has served a day's file with a last row `00:00` that is the next midnight: read
    as the day's own 00:00 it overwrote the first interval. A 00:00 after any earlier row
    is the next midnight, 24 h on (the fall-back day repeats 01:00, never 00:00)."""
    seen = np.cumsum(~np.isnan(minutes)) > 1
    return np.where((minutes == 0) & seen, 24 * 60, minutes)


def _offset(day: date, minutes: int) -> timedelta | None:
    return datetime.combine(day, time(minutes // 60, minutes % 60), PACIFIC).utcoffset()


def _minutes_or_note(value: str, anomalies: list[Anomaly]) -> int | None:
    minutes = _minutes(value)
    if minutes is None:
        note(anomalies, SOURCE, "bad_time", f"time {value!r} is not HH:MM: row skipped")
    return minutes


def _minutes(value: str) -> int | None:
    found = _CLOCK.match(value)
    if not found or int(found.group(1)) > 23 or int(found.group(2)) > 59:
        return None
    return int(found.group(1)) * 60 + int(found.group(2))


def local_to_utc(day: date, minutes: int, fold: int = 0) -> datetime | None:
    """Pacific wall-clock time on `day` to UTC; None for a time skipped by spring-forward.

    `fold` picks the pass of an hour the fall-back day repeats (0 = daylight, 1 = standard).
    """
    local = datetime.combine(day, time(minutes // 60, minutes % 60), PACIFIC).replace(fold=fold)
    utc = local.astimezone(timezone.utc)
    if utc.astimezone(PACIFIC).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return utc


def _numeric(cells: np.ndarray, columns: list[str], anomalies: list[Anomaly]) -> np.ndarray:
    """Cells as floats; empty cells (future rows of today's file) become NaN silently."""
    # One conversion of all cells at once: per column it costs ten times as much.
    values = pd.to_numeric(cells.ravel(), errors="coerce").astype("float64").reshape(cells.shape)
    bad = np.isnan(values) & (cells != "")
    if bad.any():
        table = _table(columns, cells)
        _note_non_numeric(table, pd.DataFrame(bad, columns=columns), anomalies)
    return values


def _note_non_numeric(table: pd.DataFrame, bad: pd.DataFrame, anomalies: list[Anomaly]) -> None:
    for column in bad.columns[bad.any()]:
        examples = ", ".join(repr(v) for v in table.loc[bad[column], column].unique()[:3])
        note(anomalies, SOURCE, "non_numeric", f"column {column!r}: non-numeric values {examples} skipped",
             int(bad[column].sum()))


def _unique_readings(times: pd.DatetimeIndex, columns: list[str], values: np.ndarray,
                     anomalies: list[Anomaly]) -> pd.DataFrame:
    """`_readings` for distinct times and column names (then no (time, label) repeats)."""
    if not columns:
        raise ParseError("no fuel columns besides Time and Imports in the header")
    fuels = fuels_of(columns, FUEL_MAP, SOURCE, anomalies)
    # Long rows column by column, as melting the wide table gives them: folded sums add
    # their values in that order.
    mw = values.T.ravel()
    if np.isnan(mw).all():
        return empty_frame(READING_COLUMNS)
    rows = len(times)
    return fold(REGION, times[np.tile(np.arange(rows), len(columns))],
                np.repeat(np.arange(len(columns)), rows), fuels, mw)


def _readings(values: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Wide fuel columns to long readings, labels mapped and folded into the vocabulary."""
    if values.columns.empty:
        raise ParseError("no fuel columns besides Time and Imports in the header")
    return wide_readings(values, REGION, FUEL_MAP, SOURCE, anomalies)



# -- fetch ------------------------------------------------------------------------------

def history_url(day: date) -> str:
    """The URL of one Pacific day's fuel source file (today's is updated every 5 minutes)."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/history/{day:%Y%m%d}/fuelsource.csv"


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Today's file, plus yesterday's when the last success may have missed its final rows."""
    due = days_to_fetch(now, PACIFIC, last_success, YESTERDAY_GRACE)
    return fetch_days(client, SOURCE, due.days, lambda day: client.get(history_url(day)),
                      may_be_missing=due.may_be_missing)


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """One chunk per Pacific day in [start, end), matching one file per day."""
    return day_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Every day's history file in [start, end); any failure fails the whole range."""
    return [client.get(history_url(day)) for day, _ in backfill_chunks(start, end)]
