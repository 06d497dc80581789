"""ERCOT dashboards: 5-minute generation by fuel and battery output for the ERCO area.

Two JSON bodies per fetch, each covering yesterday and today (Central time):

- `<base>/fuel-mix.json`: `data` -> day -> stamp -> fuel -> {"gen": MW, ...}. A stamp is
  the SCED run a few seconds before a 5-minute mark, with its UTC offset
  ("2025-10-08 00:04:56-0500"). It describes the interval STARTING at that mark (00:05):
  its "Power Storage" follows the mean of the storage dashboard's discharge at the start
  and the end of that interval (40 MW apart on average over the 2025-10-08 recording,
  against 102 MW for the interval before the mark), so each stamp is rounded to the
  nearest 5 minutes and taken as the interval start.
- `<base>/energy-storage-resources.json`: `previousDay`/`currentDay` -> `data` -> rows with
  `timestamp` ("2025-10-08 00:00:00-0500", on the 5-minute mark, the day running 00:00..23:55)
  and `netOutput` (discharging minus charging, negative while charging). The stamp is the
  interval start.

Battery output comes from the storage dashboard only. The fuel mix's "Power Storage" is
discharge alone (never below zero in any recording), so it would hide charging, and
storing both would count the batteries twice. ERCOT keeps no history on these dashboards:
its history comes through EIA (respondent ERCO).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from crawler.bodies import load_json
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import (
    READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, drop_duplicate_labels, empty_frame,
    fold_fuels, map_fuels, note, note_gaps,
)
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="ERCOT",
    module_name=__name__,
    description="ERCOT fuel-mix and energy-storage dashboards, 5-minute, Central time",
    regions=("ERCO",),
    interval_minutes=5,
    frequency_minutes=5,
    # Both dashboards gain a row every 5 minutes; an hour without one means they are stuck.
    stale_after_minutes=60,
    time_convention="stamps with a UTC offset; a SCED run just before a 5-minute mark starts that interval",
    backfill="none: the dashboards hold yesterday and today only",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://www.ercot.com/api/1/services/read/dashboards"
FUEL_MIX = "fuel-mix.json"
STORAGE = "energy-storage-resources.json"
INTERVAL = timedelta(minutes=INTERVAL_MINUTES)

FUEL_MAP = {
    "Coal and Lignite": "coal",
    "Natural Gas": "gas",
    "Nuclear": "nuclear",
    "Hydro": "hydro",
    "Solar": "solar",
    "Wind": "wind",
    # Biomass, landfill gas, petroleum coke and small units ERCOT does not split further.
    "Other": "other",
}
POWER_STORAGE = "Power Storage"  # left out: see the module docstring
STORAGE_DAYS = ("previousDay", "currentDay")
STAMP_FORMAT = "%Y-%m-%d %H:%M:%S%z"
# A SCED stamp further than this from a 5-minute mark belongs to no interval (an extra run).
STAMP_TOLERANCE = pd.Timedelta(seconds=60)


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Parse a fuel-mix or an energy-storage body (told apart by shape) into ERCO readings."""
    doc = load_json(payload, SOURCE)
    anomalies: list[Anomaly] = []
    if isinstance(doc, dict) and any(key in doc for key in STORAGE_DAYS):
        readings = _storage_readings(doc, anomalies)
    elif isinstance(doc, dict) and "data" in doc:
        readings = _fuel_mix_readings(doc, anomalies)
    else:
        keys = sorted(doc) if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
        raise ParseError(f"{SOURCE}: unexpected JSON shape: missing key 'data' (fuel mix) or "
                         f"'previousDay'/'currentDay' (energy storage); top level: {keys}")
    return ParseResult(readings=readings, interval_minutes=INTERVAL_MINUTES, anomalies=anomalies)


def _fuel_mix_readings(doc: dict, anomalies: list[Anomaly]) -> pd.DataFrame:
    """`data` -> day -> stamp -> fuel -> {"gen": MW} to readings; Power Storage left out."""
    rows = [(stamp, label, entry) for stamps in _objects(doc["data"], "data", anomalies).values()
            for stamp, fuels in stamps.items() for label, entry in fuels.items()]
    if not rows:
        return empty_frame(READING_COLUMNS)
    frame = pd.DataFrame(rows, columns=["stamp", "label", "entry"])
    frame["mw"] = [entry.get("gen") if isinstance(entry, dict) else None for entry in frame["entry"]]
    if frame["mw"].isna().all():
        raise ParseError(f"{SOURCE}: no fuel entry has the key 'gen' (e.g. {frame['entry'].iloc[0]!r})")
    frame = frame[frame["label"].str.strip() != POWER_STORAGE]
    starts = _rounded_starts(frame["stamp"], anomalies)
    return _readings(frame.assign(timestamp=starts), anomalies)


def _objects(data: object, where: str, anomalies: list[Anomaly]) -> dict:
    """The days of `data` whose stamps and fuels are objects; anything else is counted and skipped."""
    if not isinstance(data, dict):
        raise ParseError(f"{SOURCE}: '{where}' is a {type(data).__name__}, not an object of days")
    good = {day: {stamp: fuels for stamp, fuels in stamps.items() if isinstance(fuels, dict)}
            for day, stamps in data.items() if isinstance(stamps, dict)}
    skipped = len(data) - len(good) + sum(len(data[day]) - len(good[day]) for day in good)
    if skipped:
        note(anomalies, SOURCE, "malformed_row", f"{skipped} days or stamps in '{where}' that are not "
             "objects skipped", skipped)
    return good


def _rounded_starts(stamps: pd.Series, anomalies: list[Anomaly]) -> pd.Series:
    """SCED stamps to interval starts: the nearest 5-minute mark; unreadable or far off -> NaT."""
    parsed = pd.to_datetime(stamps, format=STAMP_FORMAT, utc=True, errors="coerce")
    starts = parsed.dt.round(INTERVAL)
    off = parsed.notna() & ((parsed - starts).abs() > STAMP_TOLERANCE)
    _count_bad_stamps(stamps, parsed.isna(), off, anomalies)
    return starts.where(~off).astype("datetime64[ns, UTC]")


def _storage_readings(doc: dict, anomalies: list[Anomaly]) -> pd.DataFrame:
    """`previousDay`/`currentDay` rows to battery readings (netOutput, negative = charging)."""
    rows: list = []
    for day in STORAGE_DAYS:
        part = doc.get(day)
        data = part.get("data") if isinstance(part, dict) else None
        if part is not None and not isinstance(data, list):
            raise ParseError(f"{SOURCE}: missing key '{day}.data' (a list of rows)")
        rows.extend(data or [])
    if any(not isinstance(row, dict) for row in rows):
        note(anomalies, SOURCE, "malformed_row", "storage rows that are not objects skipped",
             sum(not isinstance(row, dict) for row in rows))
        rows = [row for row in rows if isinstance(row, dict)]
    if not rows:
        return empty_frame(READING_COLUMNS)
    frame = pd.DataFrame.from_records(rows)
    missing = [key for key in ("timestamp", "netOutput") if key not in frame]
    if missing:
        raise ParseError(f"{SOURCE}: storage rows lack {', '.join(map(repr, missing))} "
                         f"(row keys: {sorted(frame.columns)})")
    stamps = frame["timestamp"].astype(str)
    parsed = _fall_back_repaired(pd.to_datetime(stamps, format=STAMP_FORMAT, utc=True, errors="coerce"),
                                 stamps, anomalies)
    off = parsed.notna() & (parsed != parsed.dt.floor(INTERVAL))
    _count_bad_stamps(stamps, parsed.isna(), off, anomalies)
    frame = pd.DataFrame({"timestamp": parsed.where(~off).astype("datetime64[ns, UTC]"),
                          "label": "netOutput", "mw": pd.to_numeric(frame["netOutput"], errors="coerce")})
    return _readings(frame, anomalies, fuel="battery")


def _fall_back_repaired(parsed: pd.Series, stamps: pd.Series, anomalies: list[Anomaly]) -> pd.Series:
    """Relabel a row whose stamp repeats another and breaks an otherwise 5-minute sequence.

    On the fall-back day ERCOT has written the first standard-time interval as
    "02:00:00-0600" (the stamp of the interval an hour later) instead of "01:00:00-0600";
    its place in the list, between 01:55 CDT and 01:05 CST, says which interval it is.
    """
    before, after = parsed.shift(1), parsed.shift(-1)
    fits = (after - before == 2 * INTERVAL) & (parsed != before + INTERVAL)
    misplaced = fits & parsed.notna() & parsed.duplicated(keep=False)
    for index in parsed.index[misplaced]:
        note(anomalies, SOURCE, "relabelled_interval", f"storage row stamped {stamps[index]!r} sits between "
             f"{before[index]:%H:%M}Z and {after[index]:%H:%M}Z: taken as {before[index] + INTERVAL:%H:%M}Z")
    return parsed.where(~misplaced, before + INTERVAL)


def _count_bad_stamps(stamps: pd.Series, unreadable: pd.Series, off: pd.Series,
                      anomalies: list[Anomaly]) -> None:
    if unreadable.any():
        examples = ", ".join(repr(s) for s in stamps[unreadable].unique()[:3])
        note(anomalies, SOURCE, "bad_time", f"{int(unreadable.sum())} values with an unreadable stamp "
             f"({examples}) skipped", int(unreadable.sum()))
    if off.any():
        examples = ", ".join(repr(s) for s in stamps[off].unique()[:3])
        note(anomalies, SOURCE, "off_schedule_timestamp", f"{int(off.sum())} values stamped off the "
             f"5-minute grid ({examples}) skipped", int(off.sum()))


def _readings(frame: pd.DataFrame, anomalies: list[Anomaly], fuel: str | None = None) -> pd.DataFrame:
    """Rows (timestamp, label, mw) to folded readings; null values and repeats counted."""
    frame = frame.dropna(subset=["timestamp"])
    values = pd.to_numeric(frame["mw"], errors="coerce")
    if values.isna().any():
        note(anomalies, SOURCE, "missing_value", f"{int(values.isna().sum())} values that are missing or not "
             "numbers skipped", int(values.isna().sum()))
    frame = frame.assign(mw=values.astype("float64")).dropna(subset=["mw"])
    frame = drop_duplicate_labels(frame, ["timestamp", "label"], SOURCE, anomalies)
    if frame.empty:
        return empty_frame(READING_COLUMNS)
    note_gaps(anomalies, SOURCE, frame["timestamp"], INTERVAL, "body")
    labels = frame["label"].astype(str)
    frame = frame.assign(region=REGION, fuel=fuel if fuel else map_fuels(labels, FUEL_MAP, SOURCE, anomalies))
    return fold_fuels(frame[READING_COLUMNS])


# -- fetch ------------------------------------------------------------------------------

def dashboard_url(name: str) -> str:
    """The URL of one dashboard body (FUEL_MIX or STORAGE)."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/{name}"


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Both dashboards (yesterday and today each); one failing is noted, both failing raises."""
    payloads, failures = [], []
    for name in (FUEL_MIX, STORAGE):
        try:
            payloads.append(client.get(dashboard_url(name)))
        except FetchError as exc:
            failures.append(f"{SOURCE} {name}: {exc}")
    if not payloads:
        raise FetchError("; ".join(failures))
    for message in failures:
        client.note_error(message)
    return payloads


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """None: the dashboards hold yesterday and today only."""
    return []


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Always a FetchError: ERCOT's dashboards keep no history."""
    raise FetchError(f"{SOURCE}: the dashboards hold only yesterday and today, so there is no "
                     "history to backfill; backfill ERCOT's balancing area through EIA (respondent ERCO)")
