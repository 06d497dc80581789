"""NYISO real-time fuel mix: 5-minute generation by fuel category for the NYIS area.

A daily CSV `<base>/YYYYMMDDrtfuelmix.csv` (today's grows every 5 minutes) and a monthly
archive `<base>/YYYYMM01rtfuelmix_csv.zip` holding one such CSV per day. Rows are
`Time Stamp,Time Zone,Fuel Category,Gen MW`: the stamp is local time, marks the END of the
5-minute dispatch interval, and the Time Zone column (EST or EDT) gives its UTC offset.
"""
from __future__ import annotations

import io
import logging
import zipfile
import zlib
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd

from crawler.http import FetchError, HttpClient, base_url
from crawler.model import (
    READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, drop_duplicate_labels,
    empty_frame, fold_fuels, map_fuels,
)

log = logging.getLogger(__name__)

SOURCE = "NYISO"
INTERVAL_MINUTES = 5
FREQUENCY_MINUTES = 5
STALE_AFTER_MINUTES = 60
REGION = "NYIS"
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


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Parse a daily CSV or a monthly zip of daily CSVs into NYIS readings (MW, UTC starts)."""
    anomalies: list[Anomaly] = []
    tables = [_read_csv(body, where, anomalies) for where, body in _csv_bodies(payload.body)]
    raw = pd.concat(tables, ignore_index=True)
    return ParseResult(readings=_readings(raw, anomalies), interval_minutes=INTERVAL_MINUTES,
                       anomalies=anomalies)


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


def _read_csv(body: bytes, where: str, anomalies: list[Anomaly]) -> pd.DataFrame:
    """One CSV as string columns stamp, zone, label, value; rows with a wrong field count skipped."""
    text = body.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise ParseError(f"{SOURCE}: {where}empty body: no CSV at all")
    head = text.lstrip()[:512].lower()
    if head.startswith(("<!doctype", "<html", "<?xml")) or "<html" in head:
        raise ParseError(f"{SOURCE}: {where}HTML page, not CSV (starts {text.strip()[:60]!r})")
    bad_lines: list[list[str]] = []
    table = pd.read_csv(io.StringIO(text), dtype=str, engine="python", keep_default_na=False,
                        na_values=[""], on_bad_lines=lambda line: bad_lines.append(line))
    table.columns = [str(c).strip() for c in table.columns]
    value = next((c for c in VALUE_COLUMNS if c in table.columns), None)
    missing = [c for c in (STAMP, ZONE, FUEL) if c not in table.columns] + ([] if value else ["Gen MW"])
    if missing:
        raise ParseError(f"{SOURCE}: {where}missing column(s) {', '.join(map(repr, missing))}; "
                         f"header is {list(table.columns)}")
    if bad_lines:
        _note(anomalies, "malformed_row", f"{where}{len(bad_lines)} rows with more fields than "
              "the header skipped", len(bad_lines))
    table = table.rename(columns={STAMP: "stamp", ZONE: "zone", FUEL: "label", value: "value"})
    return _drop_cut_tail(table[["stamp", "zone", "label", "value"]], where, anomalies)


def _drop_cut_tail(table: pd.DataFrame, where: str, anomalies: list[Anomaly]) -> pd.DataFrame:
    """A cut download ends inside a row or inside an interval: drop the cut row, and the last
    interval when it lists fewer fuels than the one before (its gas would be half a sum)."""
    if table.empty:
        return table
    if table.iloc[-1].isna().any():
        _note(anomalies, "truncated", f"{where}last row {','.join(table.iloc[-1].dropna())!r} is cut "
              "(truncated download?): skipped")
        table = table.iloc[:-1]
    runs = (table["stamp"] != table["stamp"].shift()).cumsum()  # rows come grouped by stamp
    sizes = runs.value_counts(sort=False).sort_index()
    if len(sizes) >= 2 and sizes.iloc[-1] < sizes.iloc[-2]:
        _note(anomalies, "incomplete_interval", f"{where}the last stamp {table['stamp'].iloc[-1]} lists "
              f"{sizes.iloc[-1]} of {sizes.iloc[-2]} fuels (cut download?): skipped")
        table = table[runs != runs.iloc[-1]]
    return table


def _readings(raw: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Raw rows to folded readings: unreadable and off-schedule rows dropped and counted."""
    frame = pd.DataFrame({
        "end_local": _parse_stamps(raw["stamp"]),
        "hours": raw["zone"].str.strip().str.upper().map(HOURS_BEHIND_UTC),
        "label": raw["label"].str.strip(),
        "mw": pd.to_numeric(raw["value"].str.strip(), errors="coerce"),
    })
    readable = frame.notna().all(axis=1) & (frame["label"] != "")
    if not readable.all():
        examples = raw[~readable].head(3).fillna("").agg(",".join, axis=1).tolist()
        _note(anomalies, "malformed_row", f"{int((~readable).sum())} rows with a missing or "
              f"unreadable stamp, time zone or value skipped, e.g. {examples}", int((~readable).sum()))
    frame = _on_schedule(frame[readable], anomalies)
    end_utc = (frame["end_local"] + pd.to_timedelta(frame["hours"], unit="h")).dt.tz_localize("UTC")
    frame = frame.assign(region=REGION, timestamp=(end_utc - INTERVAL).astype("datetime64[ns, UTC]"))
    frame = drop_duplicate_labels(frame, ["timestamp", "label"], SOURCE, anomalies)
    if frame.empty:
        return empty_frame(READING_COLUMNS)
    _note_gaps(frame["timestamp"], anomalies)
    frame = frame.assign(fuel=map_fuels(frame["label"], FUEL_MAP, SOURCE, anomalies))
    return fold_fuels(frame[READING_COLUMNS]).reset_index(drop=True)


def _parse_stamps(stamps: pd.Series) -> pd.Series:
    """`MM/DD/YYYY HH:MM:SS` (or without seconds, as in old files) to naive local datetimes."""
    text = stamps.str.strip()
    parsed = pd.to_datetime(text, format=STAMP_FORMATS[0], errors="coerce")
    for fmt in STAMP_FORMATS[1:]:
        parsed = parsed.fillna(pd.to_datetime(text, format=fmt, errors="coerce"))
    return parsed


def _on_schedule(frame: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Drop stamps off the 5-minute grid: extra RTD runs (02:47:37, 16:38) between intervals."""
    stamps = frame["end_local"]
    on_grid = (stamps.dt.second == 0) & (stamps.dt.minute % INTERVAL_MINUTES == 0)
    if not on_grid.all():
        off = frame.loc[~on_grid, ["end_local", "hours"]].drop_duplicates()
        examples = ", ".join(f"{s:%H:%M:%S}" for s in off["end_local"].head(3))
        _note(anomalies, "off_schedule_timestamp", f"{len(off)} stamps off the 5-minute grid "
              f"(extra dispatch runs, e.g. {examples}) skipped", len(off), level=logging.INFO)
    return frame[on_grid]


def _note_gaps(starts: pd.Series, anomalies: list[Anomaly]) -> None:
    """Count 5-minute intervals absent between the first and last one (real files lack a few)."""
    first, last = starts.min(), starts.max()
    missing = (last - first) // INTERVAL + 1 - starts.nunique()
    if missing:
        _note(anomalies, "missing_interval", f"{missing} intervals between {first:%Y-%m-%d %H:%M}Z "
              f"and {last:%Y-%m-%d %H:%M}Z are not in the file", missing)


def _note(anomalies: list[Anomaly], kind: str, message: str, count: int = 1,
          level: int = logging.WARNING) -> None:
    message = f"{SOURCE}: {message}"
    log.log(level, message)
    anomalies.append(Anomaly(kind, message, count))


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
    today = now.astimezone(EASTERN).date()
    cutoff = datetime.combine(today, time(0), EASTERN) + YESTERDAY_GRACE
    days = [today]
    if last_success is None or last_success < cutoff:
        days.append(today - timedelta(days=1))
    payloads, failures = [], []
    for day in days:
        try:
            payloads.append(client.get(daily_url(day)))
        except FetchError as exc:
            failures.append((day, str(exc)))
    if not payloads:
        # Both files fail the same way when the host is down: say it once.
        raise FetchError("; ".join(dict.fromkeys(message for _, message in failures)))
    for day, message in failures:
        if day == today and now < cutoff:
            # Just after midnight today's file often does not exist yet.
            log.info("%s: today's file not published yet: %s", SOURCE, message)
        else:
            client.note_error(f"{SOURCE} {day:%Y-%m-%d}: {message}")
    return payloads


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Settled months as one chunk (one zip), recent days one chunk per daily CSV."""
    chunks: list[tuple[date, date]] = []
    for month in _months(start, end):
        low, high = max(start, month), min(end, _next_month(month))
        if _settled(month):
            chunks.append((low, high))
        else:
            chunks.extend((day, day + timedelta(days=1)) for day in _days(low, high))
    return chunks


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """The zip of each settled month touching [start, end), daily CSVs for the other days.

    A zip covers its whole month even when the range covers part of it: re-writing the same
    values is harmless and one request is kinder to NYISO than thirty. Any failure fails the
    range, so that backfill lists it instead of leaving a silent hole.
    """
    payloads = []
    for month in _months(start, end):
        if _settled(month):
            payloads.append(client.get(monthly_url(month)))
        else:
            low, high = max(start, month), min(end, _next_month(month))
            payloads.extend(client.get(daily_url(day)) for day in _days(low, high))
    return payloads


def _settled(month: date) -> bool:
    return _next_month(month) + ARCHIVE_SETTLED <= local_today()


def _months(start: date, end: date) -> list[date]:
    months, month = [], start.replace(day=1)
    while month < end:
        months.append(month)
        month = _next_month(month)
    return months


def _next_month(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]
