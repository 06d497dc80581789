"""Island Pulse (Hawaiian Electric, Oahu): half-hourly generation by fuel for the HECO area.

`<base>/mix?date=YYYY-MM-DD` answers a JSON list of readings of one Hawaii day, newest
first; `limit=1` answers the newest alone. Each reading is {"dateTime": ..., "Fossil_Fuel":
MW, "Waste2Energy": MW, "Solar": MW, "WindFarm": MW, "BioFuel": MW, "Coal": MW}.

Time: the first reading's dateTime is UTC ("2013-12-05T09:30:00.000Z"); the others are
Hawaii local time without an offset ("2013-12-04 09:30:00"), HST = UTC-10 all year (no
daylight saving). Readings are 30 minutes apart (08:30, 09:00, 09:30 in the 2013
recording). Island Pulse never said which end of the half hour a stamp marks; it is
taken as the END, as electricityMaps' parser read it (a request for 23:45 took the
reading stamped 00:00 of the next day), so no reading is dated before its half hour began.
The feed stopped updating years ago; the registry keeps it disabled.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pandas as pd

from crawler.bodies import body_text
from crawler.chunks import day_chunks, days_to_fetch
from crawler.http import HttpClient, base_url, fetch_days
from crawler.model import (
    READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, drop_duplicate_labels, empty_frame,
    fold_fuels, map_fuels, note,
)
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="HI",
    module_name=__name__,
    description="Island Pulse generation mix of Oahu, half-hourly",
    regions=("HECO",),
    interval_minutes=30,
    frequency_minutes=30,
    # Three missed half hours in a row: the feed is not just late.
    stale_after_minutes=180,
    time_convention="first dateTime in UTC, the others in HST (UTC-10); each marks its half hour's END",
    backfill="one Hawaii day per chunk",
    disabled="the Island Pulse feed stopped updating in 2021",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://www.islandpulse.org/api"
HAWAII = timezone(timedelta(hours=-10), "HST")
INTERVAL = timedelta(minutes=INTERVAL_MINUTES)
TIME_KEY = "dateTime"
# After Hawaii midnight yesterday's last readings are fetched as well, until this long after.
YESTERDAY_GRACE = timedelta(minutes=40)

FUEL_MAP = {
    # Oahu's fossil plants other than the coal plant (Kahe, Waiau, Kalaeloa, the CIP and
    # Schofield peakers) burn low-sulfur fuel oil and diesel.
    "Fossil_Fuel": "oil",
    "Coal": "coal",  # AES Hawaii, Barbers Point (closed 2022)
    # H-POWER burns municipal refuse: organic fuel for the most part, so biomass is the
    # closest factor (as for the refuse in NYISO's and SPP's waste categories).
    "Waste2Energy": "biomass",
    "BioFuel": "biomass",  # biodiesel burnt at Campbell Industrial Park
    "Solar": "solar",
    "WindFarm": "wind",
}


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Parse one `mix` answer into HECO readings (MW, UTC starts of half hours)."""
    records = _records(payload)
    anomalies: list[Anomaly] = []
    if not records:
        return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES)
    table = pd.DataFrame.from_records(records)
    if TIME_KEY not in table:
        raise ParseError(f"{SOURCE}: readings lack the key {TIME_KEY!r} (keys: {sorted(table.columns)})")
    starts = _starts(table.pop(TIME_KEY), anomalies)
    if table.columns.empty:
        raise ParseError(f"{SOURCE}: readings carry no fuel besides {TIME_KEY!r}")
    long = table.assign(timestamp=starts).melt(id_vars="timestamp", var_name="label", value_name="raw")
    return ParseResult(readings=_readings(long, anomalies), interval_minutes=INTERVAL_MINUTES,
                       anomalies=anomalies)


def _records(payload: Payload) -> list[dict]:
    """The JSON list of reading objects; ParseError for anything else."""
    try:
        doc = json.loads(body_text(payload, "JSON"))
    except ParseError as exc:
        raise ParseError(f"{SOURCE}: {exc}") from None
    except json.JSONDecodeError as exc:
        start = payload.body[:60].decode("utf-8", errors="replace").strip()
        raise ParseError(f"{SOURCE}: body is not JSON ({exc}; starts {start!r}; truncated "
                         "download?)") from None
    if not isinstance(doc, list) or not all(isinstance(item, dict) for item in doc):
        shown = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
        raise ParseError(f"{SOURCE}: unexpected JSON shape: expected a list of readings, got {shown}")
    return doc


def _starts(stamps: pd.Series, anomalies: list[Anomaly]) -> pd.Series:
    """dateTime (UTC with Z, or naive Hawaii time) to the UTC start of its half hour."""
    ends = stamps.map(_end_utc)
    unreadable = ends.isna()
    if unreadable.any():
        note(anomalies, SOURCE, "bad_time", f"{int(unreadable.sum())} readings with an unreadable "
             f"{TIME_KEY} (e.g. {stamps[unreadable].iloc[0]!r}) skipped", int(unreadable.sum()))
    ends = pd.to_datetime(ends, utc=True)
    off = ends.notna() & ((ends.dt.minute % INTERVAL_MINUTES != 0) | (ends.dt.second != 0))
    if off.any():
        note(anomalies, SOURCE, "off_schedule_timestamp", f"{int(off.sum())} readings off the half-hour "
             f"grid (e.g. {stamps[off].iloc[0]!r}) skipped", int(off.sum()))
    return (ends.where(~off) - INTERVAL).astype("datetime64[ns, UTC]")


def _end_utc(stamp: object) -> datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        parsed = datetime.fromisoformat(stamp.strip())
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=HAWAII)).astimezone(timezone.utc)


def _readings(long: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Long (timestamp, label, raw) rows to folded readings; bad values and repeats counted."""
    long = long.dropna(subset=["timestamp"])
    numeric = pd.to_numeric(long["raw"], errors="coerce").astype("float64")
    bad = numeric.isna()
    if bad.any():
        examples = long.loc[bad, ["label", "raw"]].head(3).to_dict("records")
        note(anomalies, SOURCE, "missing_value", f"{int(bad.sum())} values that are missing or not numbers "
             f"skipped, e.g. {examples}", int(bad.sum()))
    long = long.assign(mw=numeric)[~bad]
    long = drop_duplicate_labels(long, ["timestamp", "label"], SOURCE, anomalies)
    if long.empty:
        return empty_frame(READING_COLUMNS)
    long = long.assign(region=REGION, fuel=map_fuels(long["label"], FUEL_MAP, SOURCE, anomalies))
    return fold_fuels(long[READING_COLUMNS])


# -- fetch ------------------------------------------------------------------------------

def mix_url() -> str:
    """The `mix` endpoint (the day goes in the `date` parameter)."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/mix"


def fetch_day(client: HttpClient, day: date) -> Payload:
    """Every reading of one Hawaii day."""
    return client.get(mix_url(), params={"date": day.isoformat()})


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Today's readings, plus yesterday's when the last success may have missed its end."""
    due = days_to_fetch(now, HAWAII, last_success, YESTERDAY_GRACE)
    return fetch_days(client, SOURCE, due.days, lambda day: fetch_day(client, day))


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """One chunk per Hawaii day in [start, end), one request each."""
    return day_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Every day's readings in [start, end); any failure fails the range."""
    return [fetch_day(client, day) for day, _ in backfill_chunks(start, end)]
