"""NYISO real-time fuel mix: 5-minute generation by fuel category for the NYIS area.

A daily CSV `<base>/YYYYMMDDrtfuelmix.csv` (today's grows every 5 minutes) and a monthly
archive `<base>/YYYYMM01rtfuelmix_csv.zip` holding one such CSV per day. Rows are
`Time Stamp,Time Zone,Fuel Category,Gen MW`: the stamp is local time, marks the END of the
5-minute dispatch interval, and the Time Zone column (EST or EDT) gives its UTC offset.
"""
from __future__ import annotations

import io
import logging
import re
import zipfile
import zlib
from datetime import date, datetime, timedelta, timezone
from itertools import repeat
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from crawler.bodies import body_text, complete_lines
from crawler.chunks import day_chunks, days_to_fetch, month_chunks, next_month
from crawler.http import HttpClient, base_url, fetch_days
from crawler.model import Anomaly, ParseError, ParseResult, Payload, fold_rows, no_net_imports, note
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="NYISO",
    module_name=__name__,
    description="NYISO real-time fuel mix, 5-minute, Eastern time",
    regions=("NYIS",),
    interval_minutes=5,
    frequency_minutes=5,
    stale_after_minutes=60,
    time_convention="local stamps marking the interval END, the Time Zone column (EST/EDT) giving the offset",
    backfill="a settled month's zip per chunk, one daily CSV per chunk for recent days",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://mis.nyiso.com/public/csv/rtfuelmix"
EASTERN = ZoneInfo("America/New_York")

FUEL_MAP = {
    # Dual-fuel units can burn gas or oil; NYISO does not say which, and gas is the usual one.
    "Dual Fuel": "gas",
    "Natural Gas": "gas",
    "Nuclear": "nuclear",
    "Other Fossil Fuels": "oil",
    # NYISO's "Other Renewables" is wood, refuse (waste-to-energy), landfill gas and some
    # solar. Most of it is combustion of organic fuel, so biomass is the closest emission
    # factor the vocabulary offers (solar would understate it, other would overstate it).
    "Other Renewables": "biomass",
    "Wind": "wind",
    "Hydro": "hydro",
}
# Hours to add to a local stamp to reach UTC. The column, not a time-zone database, is what
# tells the two passes through 01:00-02:00 apart on the fall-back day.
HOURS_BEHIND_UTC = {"EST": 5, "EDT": 4}
STAMP, ZONE, FUEL = "Time Stamp", "Time Zone", "Fuel Category"
# Old files (2016's) call the column "Gen MWh", but the figures are MW: they sum to NYISO's
# load (~14 GW), where 5-minute energies would sum to a twelfth of it.
VALUE_COLUMNS = ("Gen MW", "Gen MWh")
STAMP_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M")
INTERVAL = timedelta(minutes=INTERVAL_MINUTES)
# The stamp 00:00 that closes yesterday's file is published a few minutes after midnight.
YESTERDAY_GRACE = timedelta(minutes=20)
# Backfill uses a month's zip only once the month ended this long ago: the current month's
# zip is still growing, and the margin leaves its last days time to be complete.
ARCHIVE_SETTLED = timedelta(days=10)
RAW = ("stamp", "zone", "label", "value")  # the four columns read from each CSV, as strings
# Every value of every recorded file (2016 to 2025) has one decimal, 1709.0: a last value
# without it is a number cut short by a dropped download.
_WHOLE_VALUE = re.compile(r'"?-?[0-9]+\.[0-9]"?')
_PLAIN_STAMP = r"[0-9]{2}/[0-9]{2}/(?:19|20|21)[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
_PLAIN_STAMPS = re.compile(rf"(?:{_PLAIN_STAMP}\n)*{_PLAIN_STAMP}")  # a list of them, one a line


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload, general: bool = False) -> ParseResult:
    """Parse a daily CSV or a monthly zip of daily CSVs into NYIS readings (MW, UTC starts).

    `general` takes the general reading where a faster one exists; both give the same result
    (tests/test_parse_paths.py feeds both every recording).
    """
    anomalies: list[Anomaly] = []
    tables = [_read_csv(body, where, anomalies, general) for where, body in _csv_bodies(payload.body)]
    raw = {column: np.concatenate([table[column] for table in tables]) for column in RAW}
    return ParseResult(readings=_readings(raw, anomalies), interval_minutes=INTERVAL_MINUTES,
                       net_imports=no_net_imports(), anomalies=anomalies)


def _csv_bodies(body: bytes) -> list[tuple[str, bytes]]:
    """The CSV files in a body: the body itself, or each CSV member of a zip (PK magic)."""
    if not body.startswith(b"PK"):
        return [("", body)]
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            names = sorted(n for n in archive.namelist() if n.lower().endswith(".csv"))
            members = [(f"{n}: ", archive.read(n)) for n in names]
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise ParseError(f"{SOURCE}: unreadable zip archive ({exc})") from None
    if not members:
        raise ParseError(f"{SOURCE}: the zip archive holds no CSV file")
    return members


def _read_csv(body: bytes, where: str, anomalies: list[Anomaly], general: bool = False) -> dict[str, np.ndarray]:
    """One CSV as string columns stamp, zone, label, value (NaN for a missing cell); rows
    with more fields than the header skipped."""
    text = body_text(Payload(body=body, name=where), "CSV", f"{SOURCE}: {where}".removesuffix(": "))
    text = complete_lines(text, SOURCE, anomalies, _ends_whole(text), where)
    header, rows, bad_lines = (not general and _split(text)) or _read_with_pandas(text)
    columns = [str(c).strip() for c in header]
    value = next((c for c in VALUE_COLUMNS if c in columns), None)
    missing = [c for c in (STAMP, ZONE, FUEL) if c not in columns] + ([] if value else ["Gen MW"])
    if missing:
        raise ParseError(f"{SOURCE}: {where}missing column(s) {', '.join(map(repr, missing))}; "
                         f"header is {columns}")
    repeated = [c for c in (STAMP, ZONE, FUEL, value) if columns.count(c) > 1]
    if repeated:
        raise ParseError(f"{SOURCE}: {where}column(s) {', '.join(map(repr, repeated))} appear more than "
                         f"once in the header {columns}: which one holds the values is unknowable")
    if bad_lines:
        note(anomalies, SOURCE, "malformed_row", f"{where}{bad_lines} rows with more fields than "
             "the header skipped", bad_lines)
    table = {name: rows[columns.index(column)] for name, column in zip(RAW, (STAMP, ZONE, FUEL, value))}
    return _drop_cut_tail(table, where, anomalies)


def _ends_whole(text: str) -> bool:
    """Whether the body ends with a complete row. NYISO's files end without a line break, so
    the last value says it: one with its decimal (1709.0) is whole, anything else is cut."""
    last_line = text.rsplit("\n", 1)[-1]
    return not last_line.strip() or bool(_WHOLE_VALUE.fullmatch(last_line.rsplit(",", 1)[-1].strip()))


def _split(text: str) -> tuple[list[str], list[np.ndarray], int] | None:
    """The header, the columns (object arrays, NaN for an empty or missing cell) and the
    number of rows with more fields than the header, for the plain CSV NYISO writes:
    what read_csv's python engine reads from it, at a fraction of the cost. None for
    anything that engine would read differently (quotes, odd line ends, an unnamed or
    repeated column, a first row wider than the header): that goes to the engine itself."""
    if '"' in text or "\x00" in text or "\ufeff" in text or text.count("\r") != text.count("\r\n"):
        return None
    lines = text.replace("\r\n", "\n").split("\n")
    header = lines[0].split(",")
    width = len(header)
    if not lines[0].strip() or "" in header or len(set(header)) < width:
        return None
    data = lines[1:]
    if data and data[-1] == "":
        data.pop()  # the final newline
    if data and set(map(str.count, data, repeat(","))) == {width - 1}:
        # The usual file, every row as wide as the header: all fields in one split.
        cells = np.array(",".join(data).split(","), dtype=object).reshape(len(data), width)
        cells[cells == ""] = np.nan
        return header, [cells[:, i].copy() for i in range(width)], 0
    rows = [line.split(",") for line in data]
    kept, bad_lines, first = [], 0, True
    for fields in rows:
        if len(fields) == width:
            kept.append(fields)
        elif len(fields) == 1 and not fields[0].strip():
            continue  # a blank line
        elif len(fields) > width:
            if first:
                return None  # the engine would take the extra first fields as an index
            bad_lines += 1
        else:
            kept.append(fields + [""] * (width - len(fields)))
        first = False
    return header, _columns(kept, width), bad_lines


def _columns(rows: list[list[str]], width: int) -> list[np.ndarray]:
    """Rows of fields (each `width` long) as columns, an empty field read as missing (NaN)."""
    columns = [np.array(column, dtype=object) for column in zip(*rows)] if rows else \
        [np.empty(0, dtype=object) for _ in range(width)]
    for column in columns:
        column[column == ""] = np.nan
    return columns


def _read_with_pandas(text: str) -> tuple[list[str], list[np.ndarray], int]:
    """`_split` for any CSV: read_csv's python engine, which copes with quoting."""
    bad_lines: list[list[str]] = []
    table = pd.read_csv(io.StringIO(text), dtype=str, engine="python", keep_default_na=False,
                        na_values=[""], on_bad_lines=lambda line: bad_lines.append(line))
    return list(table.columns), [table[c].to_numpy(dtype=object) for c in table.columns], len(bad_lines)


def _drop_cut_tail(table: dict[str, np.ndarray], where: str, anomalies: list[Anomaly]) -> dict[str, np.ndarray]:
    """A cut download ends inside a row or inside an interval: drop the cut row, and the last
    interval when it lists fewer fuels than the one before (its gas would be half a sum)."""
    rows = len(table["stamp"])
    if not rows:
        return table
    last = [table[c][-1] for c in RAW]
    if not all(isinstance(cell, str) for cell in last):
        note(anomalies, SOURCE, "truncated", f"{where}last row {','.join(c for c in last if isinstance(c, str))!r} "
             "is cut (truncated download?): skipped")
        table, rows = {c: v[:-1] for c, v in table.items()}, rows - 1
    stamps = table["stamp"]
    # Rows come grouped by stamp: the runs of one stamp (a missing stamp, NaN, is a run of its own).
    starts = np.flatnonzero(np.r_[True, stamps[1:] != stamps[:-1]]) if rows else np.array([], dtype=int)
    sizes = np.diff(np.r_[starts, rows])
    if len(sizes) >= 2 and sizes[-1] < sizes[-2]:
        note(anomalies, SOURCE, "incomplete_interval", f"{where}the last stamp {stamps[-1]} lists "
             f"{sizes[-1]} of {sizes[-2]} fuels (cut download?): skipped")
        table = {c: v[:starts[-1]] for c, v in table.items()}
    return table


def _readings(raw: dict[str, np.ndarray], anomalies: list[Anomaly]) -> pd.DataFrame:
    """Raw rows to folded readings: unreadable and off-schedule rows dropped and counted.

    Every column repeats a few values (a month holds 6,000 stamps, 2 zones, 7 labels and
    6,000 values in 41,000 rows): each distinct value (or each run of one, for stamps and
    zones, which come in runs) is cleaned and read once.
    """
    stamp_codes, stamps = _runs(raw["stamp"])
    end_local = _parse_stamps(pd.Series(stamps, dtype=object).str.strip())
    zone_codes, zones = _runs(raw["zone"])
    hours = pd.Series(zones, dtype=object).str.strip().str.upper().map(HOURS_BEHIND_UTC).to_numpy(dtype="float64")
    label_codes, labels = _distinct(raw["label"])
    labels = [label.strip() if isinstance(label, str) else label for label in labels]
    value_codes, values = _distinct(raw["value"])
    mw = pd.to_numeric(pd.Series(values, dtype=object).str.strip(), errors="coerce").to_numpy()
    # Back to one value per row; code -1 (a missing label or value cell) reads as missing.
    row_end = _take(end_local.to_numpy(), stamp_codes, np.datetime64("NaT"))
    row_hours = _take(hours, zone_codes, np.nan)
    # Whole numbers in every row stay integers, as read_csv + to_numeric of the column gave them.
    row_mw = mw[value_codes] if mw.dtype.kind in "iu" and (value_codes >= 0).all() \
        else _take(mw.astype("float64"), value_codes, np.nan)
    readable_label = np.array([isinstance(label, str) and label != "" for label in labels] + [False])
    readable = ~np.isnat(row_end) & ~np.isnan(row_hours) & readable_label[label_codes]
    if not readable.all():
        bad = np.flatnonzero(~readable)
        examples = [",".join(raw[c][i] if isinstance(raw[c][i], str) else "" for c in RAW) for i in bad[:3]]
        note(anomalies, SOURCE, "malformed_row", f"{len(bad)} rows with a missing or "
             f"unreadable stamp, time zone or fuel skipped, e.g. {examples}", len(bad))
    # A row naming its interval and fuel without a readable value says the fuel has no value
    # there: folded as missing, so that the fuel is rejected (a stored value kept, never a
    # partial sum such as Dual Fuel without Natural Gas stored as the interval's gas).
    valueless = readable & np.isnan(np.asarray(row_mw, dtype="float64"))
    if valueless.any():
        examples = [",".join(raw[c][i] if isinstance(raw[c][i], str) else "" for c in RAW)
                    for i in np.flatnonzero(valueless)[:3]]
        note(anomalies, SOURCE, "missing_value", f"{int(valueless.sum())} rows without a readable value: no value "
             f"taken (a stored one is kept), e.g. {examples}", int(valueless.sum()))
    on_grid = _on_schedule(end_local, stamp_codes, row_end, row_hours, readable, anomalies)
    keep = readable & on_grid
    end = pd.DatetimeIndex(row_end[keep])
    end_utc = (end + pd.to_timedelta(row_hours[keep], unit="h")).tz_localize("UTC")
    starts = (end_utc - INTERVAL).astype("datetime64[ns, UTC]")
    label_codes, mw = label_codes[keep], row_mw[keep]
    # Repeated (interval, label): the last row wins.
    cleaned = {label: i for i, label in enumerate(dict.fromkeys(labels))}
    label_codes = np.array([cleaned[label] for label in labels], dtype="int64")[label_codes]
    labels = list(cleaned)
    return fold_rows(REGION, starts, label_codes, labels, mw, FUEL_MAP, SOURCE, anomalies, interval=INTERVAL)


def _runs(column: np.ndarray) -> tuple[np.ndarray, list]:
    """(codes, values) of a column by runs of equal values: row i holds values[codes[i]]
    (a missing value, NaN, is a run of its own)."""
    if not len(column):
        return np.zeros(0, dtype="intp"), []
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    return np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(column)])), list(column[starts])


def _distinct(column: np.ndarray) -> tuple[np.ndarray, list]:
    """(codes, distinct values) of a column; a missing value has code -1."""
    codes, uniques = pd.factorize(column)
    return codes, list(uniques)


def _take(values: np.ndarray, codes: np.ndarray, missing) -> np.ndarray:
    """values[codes], and `missing` where the code is -1."""
    return np.append(values, np.array([missing], dtype=values.dtype))[codes]


def _parse_stamps(stamps: pd.Series) -> pd.Series:
    """`MM/DD/YYYY HH:MM:SS` (or without seconds, as in old files) to naive local datetimes."""
    if len(stamps) and all(isinstance(s, str) for s in stamps) and _PLAIN_STAMPS.fullmatch("\n".join(stamps)):
        # Reordered as ISO 8601 for numpy, which parses them in one go (and refuses what
        # is no time, 02/30 or 24:00, where to_datetime below is the judge).
        try:
            iso = np.array([f"{s[6:10]}-{s[:2]}-{s[3:5]}T{s[11:]}" for s in stamps], dtype="datetime64[s]")
        except ValueError:
            pass
        else:
            return pd.Series(iso.astype("datetime64[us]"), index=stamps.index)
    parsed = pd.to_datetime(stamps, format=STAMP_FORMATS[0], errors="coerce")
    for fmt in STAMP_FORMATS[1:]:
        if parsed.isna().any():
            parsed = parsed.fillna(pd.to_datetime(stamps, format=fmt, errors="coerce"))
    return parsed


def _on_schedule(end_local: pd.Series, stamp_codes: np.ndarray, row_end: np.ndarray, row_hours: np.ndarray,
                 readable: np.ndarray, anomalies: list[Anomaly]) -> np.ndarray:
    """Rows on the 5-minute grid; stamps off it are extra RTD runs (02:47:37, 16:38), counted
    once per stamp and zone."""
    grid = ((end_local.dt.second == 0) & (end_local.dt.minute % INTERVAL_MINUTES == 0)).to_numpy()
    on_grid = _take(grid, stamp_codes, False)
    off = readable & ~on_grid
    if off.any():
        pairs = pd.DataFrame({"end_local": row_end[off], "hours": row_hours[off]}).drop_duplicates()
        examples = ", ".join(f"{s:%H:%M:%S}" for s in pairs["end_local"].head(3))
        note(anomalies, SOURCE, "off_schedule_timestamp", f"{len(pairs)} stamps off the 5-minute grid "
             f"(extra dispatch runs, e.g. {examples}) skipped", len(pairs), level=logging.INFO)
    return on_grid | ~readable


# -- fetch ------------------------------------------------------------------------------

def daily_url(day: date) -> str:
    """The URL of one Eastern day's CSV."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/{day:%Y%m%d}rtfuelmix.csv"


def monthly_url(month: date) -> str:
    """The URL of the zip holding every daily CSV of `month`'s month."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/{month:%Y%m}01rtfuelmix_csv.zip"


def local_today() -> date:
    """Today in New York (a function so that tests can pin it)."""
    return datetime.now(timezone.utc).astimezone(EASTERN).date()


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Today's daily CSV, plus yesterday's when the last success may have missed its end."""
    due = days_to_fetch(now, EASTERN, last_success, YESTERDAY_GRACE)
    return fetch_days(client, SOURCE, due.days[::-1], lambda day: client.get(daily_url(day)),
                      may_be_missing=due.may_be_missing)


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Settled months as one chunk (one zip), recent days one chunk per daily CSV."""
    chunks: list[tuple[date, date]] = []
    for low, high in month_chunks(start, end):
        chunks.extend([(low, high)] if _settled(low) else day_chunks(low, high))
    return chunks


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """The zip of each settled month touching [start, end), daily CSVs for the other days.

    A zip covers its whole month even when the range covers part of it: re-writing the same
    values is harmless and one request is kinder to NYISO than thirty. Any failure fails the
    range, so that backfill lists it instead of leaving a silent hole.
    """
    payloads = []
    for low, high in month_chunks(start, end):
        if _settled(low):
            payloads.append(client.get(monthly_url(low)))
        else:
            payloads.extend(client.get(daily_url(day)) for day, _ in day_chunks(low, high))
    return payloads


def _settled(month: date) -> bool:
    """The zip of the month holding `month` is complete."""
    return next_month(month) + ARCHIVE_SETTLED <= local_today()
