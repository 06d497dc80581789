"""PJM hourly generation by fuel type (Data Miner 2 API, feed gen_by_fuel) for the PJM area.

`<base>/gen_by_fuel?fields=datetime_beginning_utc,fuel_type,mw&datetime_beginning_utc=
<first>to<last>&startRow=1&rowCount=...`, paged: a page is `{"items": [{"datetime_beginning_utc":
"2025-02-09T00:00:00", "fuel_type": "Coal", "mw": 16908.0}, ...], "totalRows": 220, "links":
[{"rel": "next", ...}, ...]}`. `datetime_beginning_utc` is the hour's START, in UTC; `mw` is
the hour's mean MW. Every request carries a subscription key in the `Ocp-Apim-Subscription-Key`
header: PJM_API_KEY, or else the public key PJM's own Data Miner web page uses, read at run
time from `<settings>/settings.json` ("subscriptionKey").
"""
from __future__ import annotations

import json
import math
import os
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd

from crawler.bodies import load_json
from crawler.chunks import month_chunks
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import (
    READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, drop_duplicate_labels, empty_frame,
    fold_fuels, fold_rows, map_fuels, no_net_imports, note,
)
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="PJM",
    module_name=__name__,
    description="PJM Data Miner gen_by_fuel, hourly, UTC",
    regions=("PJM",),
    interval_minutes=60,
    frequency_minutes=60,
    # PJM publishes each hour within an hour or two; six hours without one means the feed stalled.
    stale_after_minutes=6 * 60,
    time_convention="datetime_beginning_utc is the hour's START, in UTC",
    backfill="calendar months",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://api.pjm.com/api/v1"
FEED = "/gen_by_fuel"
SETTINGS_SOURCE = "PJM_SETTINGS"
DEFAULT_SETTINGS_URL = "https://dataminer2.pjm.com/config"
KEY_VARIABLE = "PJM_API_KEY"
KEY_HEADER = "Ocp-Apim-Subscription-Key"
FIELDS = ("datetime_beginning_utc", "fuel_type", "mw")
ROW_COUNT = 50_000  # the most rows PJM returns per request
MAX_PAGES = 100  # a guard against a totalRows that never comes within reach
# PJM revises recent hours (metered values replace telemetry), so each run re-reads two days.
LOOKBACK = timedelta(hours=48)
HOUR = timedelta(hours=1)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

FUEL_MAP = {
    "Coal": "coal",
    "Gas": "gas",
    "Oil": "oil",
    "Nuclear": "nuclear",
    "Hydro": "hydro",  # conventional hydro and pumped-storage generation, not split by PJM
    "Wind": "wind",
    "Solar": "solar",
    # PJM's storage fleet outside pumped hydro (reported under Hydro) is batteries.
    "Storage": "battery",
    # Units able to burn more than one fuel whose fuel of the hour PJM does not report: in PJM
    # mostly gas turbines with oil backup, so gas is the likely fuel (as for NYISO's Dual Fuel).
    "Multiple Fuels": "gas",
    # Landfill gas, wood and other biomass, municipal waste: combustion of organic fuel, for
    # which biomass is the closest emission factor (as for NYISO's Other Renewables).
    "Other Renewables": "biomass",
    "Other": "other",
}


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload, general: bool = False) -> ParseResult:
    """Parse one gen_by_fuel page into hourly readings (MW, UTC interval starts).

    `general` takes the general reading where a faster one exists; both give the same result
    (tests/test_parse_paths.py feeds both every recording).
    """
    anomalies: list[Anomaly] = []
    rows = _items(load_json(payload, SOURCE))
    if not rows:
        readings = empty_frame(READING_COLUMNS)
    elif _plain(rows) and not general:
        readings = _plain_readings(rows, anomalies)
    else:
        readings = _readings(_table(rows), anomalies)
    return ParseResult(readings=readings, interval_minutes=INTERVAL_MINUTES, net_imports=no_net_imports(),
                       anomalies=anomalies)


def _items(doc: object) -> list[dict]:
    """The page's rows: `items` of a paged answer, or the bare list a download answer is."""
    if isinstance(doc, dict):
        if doc.get("errors") or ("message" in doc and "items" not in doc):
            raise ParseError(f"{SOURCE}: API error: {_error_text(doc)}")
        if "items" not in doc:
            raise ParseError(f"{SOURCE}: unexpected JSON shape: no 'items' list "
                             f"(top-level keys: {sorted(doc) or 'none'}); PJM changed the format?")
        rows = doc["items"]
    else:
        rows = doc
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ParseError(f"{SOURCE}: unexpected JSON shape: 'items' is not a list of objects")
    return rows


def _error_text(doc: dict) -> str:
    errors = doc.get("errors")
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    status = doc.get("statusCode")
    return f"{doc.get('message', errors)}" + (f" (status {status})" if status else "")


def _table(rows: list[dict]) -> pd.DataFrame:
    """Rows as a frame of the three fields; ParseError naming any field the rows lack."""
    table = pd.DataFrame.from_records(rows)
    missing = [f for f in FIELDS if f not in table]
    if missing:
        hint = ""
        if "datetime_beginning_utc" in missing and "datetime_beginning_ept" in table:
            hint = " (rows carry datetime_beginning_ept, Eastern prevailing time; ask for the UTC field)"
        raise ParseError(f"{SOURCE}: gen_by_fuel rows lack {', '.join(map(repr, missing))}{hint} "
                         f"(row keys: {sorted(table.columns)}); PJM changed the format?")
    return table[list(FIELDS)]


def _plain(rows: list[dict]) -> bool:
    """Every row has the three fields, time and fuel as text, mw a number or null: the usual
    page, which `_plain_readings` reads without building a frame."""
    return all(type(r.get("datetime_beginning_utc")) is str and type(r.get("fuel_type")) is str
               and (type(r.get("mw")) in (int, float) or r.get("mw", 0) is None) for r in rows)


def _plain_readings(rows: list[dict], anomalies: list[Anomaly]) -> pd.DataFrame:
    """`_readings(_table(rows))` for `_plain` rows: each distinct time and fuel read once."""
    stamp_codes, stamps = pd.factorize(np.array([r["datetime_beginning_utc"] for r in rows], dtype=object))
    stamps = pd.Series(stamps, dtype=object).str.strip().str[:19]
    times = pd.to_datetime(stamps, format=TIME_FORMAT, errors="coerce", utc=True).astype("datetime64[ns, UTC]")
    starts = pd.DatetimeIndex(times)[stamp_codes]
    label_codes, labels = pd.factorize(np.array([r["fuel_type"] for r in rows], dtype=object))
    labels = [label.strip() for label in labels]
    values = np.array([r["mw"] for r in rows], dtype=object)
    mw = pd.to_numeric(values, errors="coerce").astype("float64")
    null = np.array([v is None or (type(v) is float and math.isnan(v)) for v in values], dtype=bool)
    unreadable = starts.isna() | (np.array([label == "" for label in labels])[label_codes]) | (np.isnan(mw) & ~null)
    if unreadable.any():
        examples = _table(rows)[unreadable].head(3).to_dict("records")
        note(anomalies, SOURCE, "malformed_row", f"{int(unreadable.sum())} rows with an unreadable time, "
             f"fuel type or value skipped, e.g. {examples}", int(unreadable.sum()))
    # Fuel types equal once stripped are one label.
    cleaned = {label: i for i, label in enumerate(dict.fromkeys(labels))}
    label_codes = np.array([cleaned[label] for label in labels], dtype="intp")[label_codes]
    labels = list(cleaned)
    keep = ~unreadable
    return fold_rows(REGION, starts[keep], label_codes[keep], labels, mw[keep], FUEL_MAP, SOURCE, anomalies,
                     null=null[keep], null_text="mw")


def _readings(table: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Rows to folded readings; unreadable, null and repeated rows counted."""
    starts = pd.to_datetime(table["datetime_beginning_utc"].astype(str).str.strip().str[:19],
                            format=TIME_FORMAT, errors="coerce", utc=True)
    frame = pd.DataFrame({
        "region": REGION,
        "timestamp": starts.astype("datetime64[ns, UTC]"),
        "label": table["fuel_type"].fillna("").astype(str).str.strip(),
        "mw": pd.to_numeric(table["mw"], errors="coerce").astype("float64"),
        "null": table["mw"].isna(),
    })
    unreadable = frame["timestamp"].isna() | (frame["label"] == "") | (frame["mw"].isna() & ~frame["null"])
    if unreadable.any():
        examples = table[unreadable].head(3).to_dict("records")
        note(anomalies, SOURCE, "malformed_row", f"{int(unreadable.sum())} rows with an unreadable time, "
             f"fuel type or value skipped, e.g. {examples}", int(unreadable.sum()))
    frame = frame[~unreadable]
    frame = drop_duplicate_labels(frame, ["timestamp", "label"], SOURCE, anomalies)
    if frame["null"].any():  # folded as missing values: the fuel is rejected, a stored value kept
        note(anomalies, SOURCE, "missing_value", f"{int(frame['null'].sum())} rows with a null mw: no value "
             "taken (a stored one is kept)", int(frame["null"].sum()))
    if frame.empty:
        return empty_frame(READING_COLUMNS)
    frame = frame.assign(fuel=map_fuels(frame["label"], FUEL_MAP, SOURCE, anomalies))
    return fold_fuels(frame[READING_COLUMNS], frame["label"])


# -- fetch ------------------------------------------------------------------------------

def feed_url() -> str:
    """The gen_by_fuel feed (PJM_BASE_URL points it at a mirror or a test server)."""
    return base_url(SOURCE, DEFAULT_BASE_URL) + FEED


def settings_url() -> str:
    """Where PJM's Data Miner page reads its public subscription key."""
    return base_url(SETTINGS_SOURCE, DEFAULT_SETTINGS_URL) + "/settings.json"


def subscription_key(client: HttpClient) -> str:
    """PJM_API_KEY, or the public key of PJM's Data Miner page, fetched now.

    The settings body holds the key, so it is fetched on the client's session but NOT through
    its archiver: the key must not end up in the stored payloads.
    """
    key = os.environ.get(KEY_VARIABLE, "").strip()
    if key:
        return key
    try:
        body = HttpClient(session=client.session).get(settings_url()).body
    except FetchError as exc:
        raise FetchError(f"{SOURCE}: {KEY_VARIABLE} is not set and the public key could not be read: {exc}") from None
    try:
        key = json.loads(body).get("subscriptionKey")
    except (ValueError, AttributeError):
        key = None
    if not isinstance(key, str) or not key.strip():
        raise FetchError(f"{SOURCE}: {KEY_VARIABLE} is not set and {settings_url()} holds no "
                         "'subscriptionKey' (PJM moved it?)")
    return key.strip()


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """The last 48 hours, since PJM revises recent hours; a failed later page is noted."""
    last = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return _fetch_hours(client, last - LOOKBACK, last, keep_partial=True)


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Calendar months (clipped to [start, end)): about 8,000 rows, one page each."""
    return month_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Every hour starting in [start, end) (UTC days); any failed page fails the range."""
    first = datetime.combine(start, time(0), timezone.utc)
    return _fetch_hours(client, first, datetime.combine(end, time(0), timezone.utc) - HOUR)


def _fetch_hours(client: HttpClient, first: datetime, last: datetime,
                 keep_partial: bool = False) -> list[Payload]:
    """All pages of the hours starting first..last (inclusive, as PJM's range filter is).

    Pages are asked for by startRow on our own base URL rather than by following the `next`
    link, so that a mirror or test server stays in use and no URL ever needs the key. With
    `keep_partial`, a page failing after the first keeps the pages before it (noted on the
    client, so the run is partial); a backfill chunk fails as a whole instead.
    """
    headers = {KEY_HEADER: subscription_key(client)}
    payloads: list[Payload] = []
    start_row = 1
    while len(payloads) < MAX_PAGES:
        try:
            payload = client.get(feed_url(), params=_params(first, last, start_row), headers=headers)
        except FetchError as exc:
            if not (keep_partial and payloads):
                raise
            client.note_error(f"{SOURCE}: the page from row {start_row} failed, kept the rows before "
                              f"it: {exc}")
            return payloads
        payloads.append(payload)
        rows, total, has_next = _page_counts(payload.body)
        start_row += rows
        if rows == 0 or (start_row > total and not has_next):
            return payloads
    raise FetchError(f"{SOURCE}: more than {MAX_PAGES} pages of {ROW_COUNT} rows (totalRows keeps growing?)")


def _params(first: datetime, last: datetime, start_row: int) -> dict[str, object]:
    return {
        "rowCount": ROW_COUNT,
        "startRow": start_row,
        "sort": "datetime_beginning_utc",
        "order": "Asc",
        "fields": ",".join(FIELDS),
        "datetime_beginning_utc": f"{first:%m/%d/%Y %H:%M}to{last:%m/%d/%Y %H:%M}",
    }


def _page_counts(body: bytes) -> tuple[int, int, bool]:
    """(rows in this page, totalRows, a `next` link present); zeros when it cannot tell
    (parse will say why)."""
    try:
        doc = json.loads(body)
        links = doc.get("links") or []
        has_next = any(isinstance(link, dict) and link.get("rel") == "next" for link in links)
        return len(doc["items"]), int(doc.get("totalRows", 0)), has_next
    except (ValueError, KeyError, TypeError, AttributeError):
        return 0, 0, False
