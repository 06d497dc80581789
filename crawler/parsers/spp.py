"""SPP generation mix: 5-minute generation by fuel for the SWPP balancing authority.

Two products in one format. The recent file `<marketplace>/chart-api/gen-mix/asFile`
holds the last two hours or so; the yearly files `<portal>/file-browser-api/download/
generation-mix-historical?path=/GenMix_YYYY.csv` (`/GenMixYTD.csv` for the current year)
hold one Central-time year each. One row per interval, stamped in UTC (`GMT MKT Interval`,
`GMTTIME` in the newer layout). The stamp is the END of the 5-minute interval: SPP names
its 5-minute market intervals by their end (its price files call the same stamp
`GMTIntervalEnd`), and a yearly file runs from 06:05Z on 1 January to 06:00Z on the next
1 January, which is exactly the Central-time year only when stamps close their intervals.

Each fuel is split into a market-committed and a self-committed column ("Coal Market",
"Coal Self" or COAL_MKT, COAL_SELF); both are generation and are summed. Older files have
one column per fuel. Load columns are not generation and are not stored.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from crawler.bodies import body_text
from crawler.http import HttpClient, base_url
from crawler.model import (
    READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, empty_frame, fold, fuels_of, no_net_imports,
    note,
)
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="SPP",
    module_name=__name__,
    description="SPP generation mix, 5-minute, UTC; yearly history files",
    regions=("SWPP",),
    interval_minutes=5,
    frequency_minutes=5,
    # The recent file gains a row every 5 minutes; an hour without one means it is stuck.
    stale_after_minutes=60,
    time_convention="GMT stamps marking the interval END",
    backfill="Central-time calendar years (one yearly file each)",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://marketplace.spp.org"
HISTORY_SOURCE = "SPP_HISTORY"  # its own <SOURCE>_BASE_URL: the yearly files live on another host
DEFAULT_HISTORY_URL = "https://portal.spp.org"
RECENT_PATH = "/chart-api/gen-mix/asFile"
HISTORY_PATH = "/file-browser-api/download/generation-mix-historical"
CENTRAL = ZoneInfo("America/Chicago")
INTERVAL = timedelta(minutes=INTERVAL_MINUTES)

# Labels after the Market/Self suffix is removed (matched case-insensitively, "_" read as " ").
FUEL_MAP = {
    "Coal": "coal",
    "Diesel Fuel Oil": "oil",
    "Diesel Fuel": "oil",  # the newer layout pairs DIESEL_FUEL_OIL_MKT with DIESEL_FUEL_SELF
    "Hydro": "hydro",
    "Natural Gas": "gas",
    "Gas": "gas",  # the Market/Self layout pairs "Natural Gas Market" with "Gas Self"
    "Nuclear": "nuclear",
    "Solar": "solar",
    "Wind": "wind",
    # Landfill gas and municipal refuse burnt for power: organic fuel, so biomass is the
    # closest factor (as for the refuse in NYISO's "Other Renewables").
    "Waste Disposal Services": "biomass",
    # Power from exhaust heat recovered off gas-fired pipeline compressors and industrial
    # processes: a bottoming cycle, like a combined cycle's steam turbine, which EIA and eGRID
    # count as gas. "other" charged it 700 g/kWh (an unknown fossil mix) for a fuel it never
    # burnt; gas is the fuel whose combustion the heat comes from.
    "Waste Heat": "gas",
    "Other": "other",
}
# Any storage column ("Energy Storage Market", ...) is batteries: SPP has no pumped storage.
STORAGE_WORD = "storage"
TIME_COLUMNS = ("GMT MKT Interval", "GMTTIME")  # compared without spaces or case ("GMTTime" too)
US_STAMP = "%m/%d/%Y %H:%M:%S"
_SPLIT_SUFFIX = re.compile(r"[\s_]+(market|mkt|self)$", re.IGNORECASE)
_LOAD = re.compile(r"\bload\b", re.IGNORECASE)
_FUELS_LOWER = {label.lower(): fuel for label, fuel in FUEL_MAP.items()}
# What str.strip() would remove, but for the newlines that join rows for read_csv.
_SPACE = re.compile(r"[^\S\n]")


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Parse a recent or yearly generation-mix CSV into SWPP readings (MW, UTC interval starts)."""
    text = _text(payload)
    anomalies: list[Anomaly] = []
    names, cells = _read_table(text, anomalies)
    time_column, fuel_columns = _columns(names)
    starts = _interval_starts(cells[:, names.index(time_column)], anomalies)
    values = _numeric(cells[:, [names.index(c) for c in fuel_columns]], fuel_columns, anomalies)
    # Rows without a single value (the empty last row of a yearly file) are no interval at all.
    keep = ~starts.isna() & ~np.isnan(values).all(axis=1)
    starts, values = _unique_intervals(starts[keep], values[keep], anomalies)
    return ParseResult(readings=_readings(fuel_columns, starts, values, anomalies),
                       interval_minutes=INTERVAL_MINUTES, net_imports=no_net_imports(), anomalies=anomalies)


def _text(payload: Payload) -> str:
    try:
        return body_text(payload, "CSV")
    except ParseError as exc:
        raise ParseError(f"{SOURCE}: {exc}") from None


def _read_table(text: str, anomalies: list[Anomaly]) -> tuple[list[str], np.ndarray]:
    """Stripped header names and the cells (rows x columns) as stripped strings; rows of the
    wrong width skipped."""
    lines = text.lstrip().splitlines()
    ends_cleanly = text.endswith(("\n", "\r"))
    if len(lines) == 1 and not ends_cleanly:
        raise ParseError(f"{SOURCE}: file ends inside the header line (truncated download?)")
    names = [name.strip().strip('"').strip() for name in next(csv.reader([lines[0]]))]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ParseError(f"{SOURCE}: column(s) {', '.join(map(repr, repeated))} appear more than once "
                         "in the header: which one holds the values is unknowable")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.count(",") + 1
        if fields == len(names):
            rows.append(line)
        elif number == len(lines) and not ends_cleanly:
            note(anomalies, SOURCE, "truncated", f"last line {number} is cut ({fields} of {len(names)} "
                 "fields; truncated download?): skipped")
        elif line.strip():
            note(anomalies, SOURCE, "malformed_row", f"line {number} has {fields} fields, header has "
                 f"{len(names)}: skipped")
    if not rows:
        return names, np.empty((0, len(names)), dtype=object)
    # No quoting: SPP's cells are plain numbers and stamps, and every kept row has the
    # header's width, so splitting at commas is all there is to it.
    if rows[0].startswith("\ufeff"):  # read_csv would drop it: keep to its reading
        table = pd.read_csv(io.StringIO("\n".join(rows)), header=None, names=range(len(names)),
                            dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
        split = table.to_numpy(dtype=object).tolist()
    else:
        split = [line.split(",") for line in rows]
    if any(_SPACE.search(line) for line in rows):
        split = [[cell.strip() for cell in row] for row in split]
    cells = np.empty((len(split), len(names)), dtype=object)
    cells[:] = split
    return names, cells


def _columns(names: list[str]) -> tuple[str, list[str]]:
    """The time column and the generation columns; ParseError naming what is missing."""
    times = [n for n in names if _squeezed(n) in {_squeezed(t) for t in TIME_COLUMNS}]
    fuels = [n for n in names if n not in times and n and not _LOAD.search(n)]
    missing = []
    if not times:
        missing.append("'GMT MKT Interval' (or 'GMTTIME')")
    if not any(_fuel_of(base_label(n)) for n in fuels):
        missing.append("any fuel column (Coal, Natural Gas, Wind, ... or their Market/Self pairs)")
    if missing:
        raise ParseError(f"{SOURCE}: missing column(s) {' and '.join(missing)}: not a generation-mix "
                         f"file? Header is {names[:12]}{' ...' if len(names) > 12 else ''}")
    return times[0], fuels


def _squeezed(name: str) -> str:
    return re.sub(r"[\s_]", "", name).lower()


def base_label(column: str) -> str:
    """The fuel a column is about: "Coal Market", "COAL_SELF" and "Coal" all give Coal."""
    label = _SPLIT_SUFFIX.sub("", column.strip())
    return " ".join(label.replace("_", " ").split())


def _fuel_of(label: str) -> str | None:
    if STORAGE_WORD in label.lower():
        return "battery"
    return _FUELS_LOWER.get(label.lower())


def _interval_starts(stamps: np.ndarray, anomalies: list[Anomaly]) -> pd.DatetimeIndex:
    """UTC stamps (interval ends) to interval starts; unreadable or off-grid stamps become NaT."""
    ends = pd.to_datetime(stamps, utc=True, format="ISO8601", errors="coerce")
    if ends.isna().any():
        # SPP's other files write "MM/DD/YYYY HH:MM:SS" stamps; take those too if one turns up here.
        ends = pd.Series(ends).fillna(pd.Series(pd.to_datetime(stamps, utc=True, format=US_STAMP,
                                                               errors="coerce")))
    ends = pd.DatetimeIndex(ends).as_unit("ns")
    bad = ends.isna()
    if bad.any():
        examples = ", ".join(repr(s) for s in pd.unique(stamps[bad])[:3])
        note(anomalies, SOURCE, "bad_time", f"{int(bad.sum())} rows with an unreadable time ({examples}) "
             "skipped", int(bad.sum()))
    # On the grid: minute a multiple of 5 and second 0 (whole seconds since the epoch, in UTC).
    off_grid = ~bad & (ends.asi8 // 10**9 % (INTERVAL_MINUTES * 60) != 0)
    if off_grid.any():
        note(anomalies, SOURCE, "off_schedule_timestamp", f"{int(off_grid.sum())} stamps off the 5-minute "
             f"grid (e.g. {stamps[off_grid][0]!r}) skipped", int(off_grid.sum()))
        ends = ends.where(~off_grid)
    return ends - INTERVAL


def _numeric(cells: np.ndarray, columns: list[str], anomalies: list[Anomaly]) -> np.ndarray:
    """Cells as floats; empty cells (the empty last row of a yearly file) become NaN silently."""
    # One conversion of all cells at once: per column it costs ten times as much.
    values = pd.to_numeric(cells.ravel(), errors="coerce").astype("float64").reshape(cells.shape)
    if not (np.isnan(values) & (cells != "")).any():
        return values
    table = pd.DataFrame(cells, columns=columns)
    bad = pd.DataFrame(np.isnan(values), columns=columns) & (table != "")
    for column in bad.columns[bad.any()]:
        examples = ", ".join(repr(v) for v in table.loc[bad[column], column].unique()[:3])
        note(anomalies, SOURCE, "non_numeric", f"column {column!r}: non-numeric values {examples} skipped",
             int(bad[column].sum()))
    return values


def _unique_intervals(starts: pd.DatetimeIndex, values: np.ndarray,
                      anomalies: list[Anomaly]) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """One row per interval (the last of repeated ones), sorted: yearly files run newest-first."""
    repeated = starts.duplicated(keep="last")
    if repeated.any():
        note(anomalies, SOURCE, "duplicate_interval", f"{int(repeated.sum())} rows repeat an interval "
             "already in the file; kept the last", int(repeated.sum()))
    starts, values = starts[~repeated], values[~repeated]
    order = starts.argsort()
    starts, values = starts[order], values[order]
    if len(starts) > 1:
        missing = (starts[-1] - starts[0]) // INTERVAL + 1 - len(starts)
        if missing:
            note(anomalies, SOURCE, "missing_interval", f"{missing} intervals between "
                 f"{starts[0]:%Y-%m-%d %H:%M}Z and {starts[-1]:%Y-%m-%d %H:%M}Z are not "
                 "in the file", missing)
    return starts, values


def _readings(columns: list[str], starts: pd.DatetimeIndex, values: np.ndarray,
              anomalies: list[Anomaly]) -> pd.DataFrame:
    """Wide columns to long readings; Market and Self columns fold into one fuel."""
    labels = [base_label(column) for column in columns]
    unique = sorted(set(labels))
    known = {label: fuel for label in unique if (fuel := _fuel_of(label))}
    fuels = fuels_of(unique, known, SOURCE, anomalies)
    code_of_label = {label: code for code, label in enumerate(unique)}
    # Long rows column by column (as melting the wide table gives them): folded sums add
    # their values in that order.
    mw = values.T.ravel()
    if np.isnan(mw).all():
        return empty_frame(READING_COLUMNS)
    rows = len(starts)
    codes = np.repeat([code_of_label[label] for label in labels], rows)
    return fold(REGION, starts[np.tile(np.arange(rows), len(columns))], codes, fuels, mw)


# -- fetch ------------------------------------------------------------------------------

def recent_url() -> str:
    """The file of the last two hours or so, updated every 5 minutes."""
    return base_url(SOURCE, DEFAULT_BASE_URL) + RECENT_PATH


def history_url() -> str:
    """The download route of the yearly files (the file goes in the `path` parameter)."""
    return base_url(HISTORY_SOURCE, DEFAULT_HISTORY_URL) + HISTORY_PATH


def history_file(year: int) -> str:
    """`/GenMix_YYYY.csv` for a past Central-time year; the current year is `/GenMixYTD.csv`."""
    return "/GenMixYTD.csv" if year >= local_today().year else f"/GenMix_{year}.csv"


def local_today() -> date:
    """Today in SPP's Central time (a function so that tests can pin it)."""
    return datetime.now(timezone.utc).astimezone(CENTRAL).date()


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """The recent file; a gap longer than its two hours is for `backfill` (the yearly files)."""
    return [client.get(recent_url())]


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Central-time calendar years clipped to [start, end): one yearly file each."""
    chunks = []
    for year in range(start.year, end.year + 1):
        low, high = max(start, date(year, 1, 1)), min(end, date(year + 1, 1, 1))
        if low < high:
            chunks.append((low, high))
    return chunks


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """The yearly file of every year touching [start, end); any failure fails the range.

    A file covers its whole year even when the range covers part of it: re-writing the same
    values is harmless, and SPP serves no smaller historical unit.
    """
    return [client.get(history_url(), params={"path": history_file(low.year)})
            for low, _ in backfill_chunks(start, end)]
