"""MISO real-time fuel mix: 5-minute generation by fuel category for the MISO area.

`<base>/DataBrokerServices.asmx?messageType=getfuelmix&returnType=json` answers with the
CURRENT interval only: `{"RefId": "15-Jan-2024 - Interval 07:15 EST", "TotalMW": "...",
"Fuel": {"Type": [{"INTERVALEST": "2024-01-15 7:15:00 AM", "CATEGORY": "Coal",
"ACT": "35442", ...}, ...]}}`. A series is built by fetching it often; there is no history.

Time: INTERVALEST is labelled EST and is EST all year, a fixed UTC-5 (in summer too, when
Eastern clocks say EDT). It is taken as the START of the 5-minute interval: that is how
gridstatus reads this very field (Interval Start = INTERVALEST, Interval End = +5 min) and
how Electricity Maps stores it, MISO names its real-time dispatch intervals by their start,
and in a day of recordings each stamp shows up 1 to 7.5 minutes after it, as the dispatch
result of the interval beginning then would. Were it the end, readings would sit 5 minutes
early; following the two reference projects keeps cross-checks aligned.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pandas as pd

from crawler.bodies import load_json
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import (
    NET_IMPORT_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload,
    drop_duplicate_labels, empty_frame, fold_fuels, map_fuels, note,
)
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="MISO",
    module_name=__name__,
    description="MISO real-time fuel mix, current 5-minute interval, fixed UTC-5",
    regions=("MISO",),
    interval_minutes=5,
    # Only the current interval is served, visible for ~5 minutes and published 1-7.5 minutes
    # late with jitter: polling every minute is what catches every interval. Identical bodies
    # are archived once, so the repeats cost a request each and nothing more.
    frequency_minutes=1,
    stale_after_minutes=60,
    time_convention="INTERVALEST is the interval START in fixed UTC-5, summer too",
    backfill="none: only the current interval is served",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://api.misoenergy.org/MISORTWDDataBroker"
ENDPOINT = "/DataBrokerServices.asmx"
QUERY = {"messageType": "getfuelmix", "returnType": "json"}
EST = timezone(timedelta(hours=-5), "EST")
STAMP_FORMAT = "%Y-%m-%d %I:%M:%S %p"
INTERVAL = timedelta(minutes=INTERVAL_MINUTES)

FUEL_MAP = {
    "Coal": "coal",
    "Natural Gas": "gas",
    "Nuclear": "nuclear",
    "Wind": "wind",
    "Solar": "solar",
    # MISO: "Other" is hydro, pumped-storage hydro, diesel, demand response, external
    # asynchronous resources and solid-waste, garbage and wood-pulp burners. No single fuel.
    "Other": "other",
    # Not in the recordings; mapped for when MISO splits them out of "Other". Pumped storage
    # is documented as part of "Other", so a separate "Storage" would be the newer batteries.
    "Hydro": "hydro",
    "Storage": "battery",
    "Battery Storage": "battery",
}
IMPORTS_LABEL = "imports"  # net scheduled imports into MISO: not generation
ROW_KEYS = ("INTERVALEST", "CATEGORY", "ACT")
_REF_ZONE = re.compile(r"Interval\s+\d{1,2}:\d{2}\s+([A-Za-z]+)\s*$")


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Parse one getfuelmix answer into readings and net imports (MW, UTC interval starts)."""
    anomalies: list[Anomaly] = []
    rows = _fuel_rows(load_json(payload, SOURCE))
    if not rows:
        return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES)
    table = _table(rows, anomalies)
    imports = table["label"].str.strip().str.lower() == IMPORTS_LABEL
    return ParseResult(
        readings=_readings(table[~imports], anomalies),
        net_imports=_net_imports(table[imports]),
        interval_minutes=INTERVAL_MINUTES,
        anomalies=anomalies,
    )


def _fuel_rows(doc: object) -> list[dict]:
    """`Fuel.Type` as a list of objects, or ParseError naming what is missing."""
    if isinstance(doc, dict) and "error" in doc:
        raise ParseError(f"{SOURCE}: API error: {doc['error']}")
    if not isinstance(doc, dict):
        raise ParseError(f"{SOURCE}: unexpected JSON shape: top level is {type(doc).__name__}, not an object")
    _check_ref_zone(doc.get("RefId"))
    fuel = doc.get("Fuel")
    if not isinstance(fuel, dict) or "Type" not in fuel:
        where = "'Fuel'" if not isinstance(fuel, dict) else "'Fuel.Type'"
        raise ParseError(f"{SOURCE}: unexpected JSON shape: no {where} (top-level keys: {sorted(doc)})")
    rows = fuel["Type"]
    rows = [rows] if isinstance(rows, dict) else rows  # one category comes as a bare object
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ParseError(f"{SOURCE}: unexpected JSON shape: 'Fuel.Type' is not a list of objects")
    return rows


def _check_ref_zone(ref_id: object) -> None:
    """RefId ends `Interval 07:15 EST`; another zone would mean MISO changed its convention."""
    found = _REF_ZONE.search(ref_id) if isinstance(ref_id, str) else None
    if found and found.group(1).upper() != "EST":
        raise ParseError(f"{SOURCE}: RefId {ref_id!r} is in {found.group(1)}, not EST: the time "
                         "convention (fixed UTC-5) changed; check before storing")


def _table(rows: list[dict], anomalies: list[Anomaly]) -> pd.DataFrame:
    """Rows as (timestamp, label, mw); ParseError when a key is missing from every row."""
    table = pd.DataFrame.from_records(rows)
    missing = [k for k in ROW_KEYS if k not in table]
    if missing:
        raise ParseError(f"{SOURCE}: 'Fuel.Type' rows lack {', '.join(map(repr, missing))} "
                         f"(row keys: {sorted(table.columns)})")
    local = pd.to_datetime(table["INTERVALEST"].astype(str).str.strip(), format=STAMP_FORMAT, errors="coerce")
    frame = pd.DataFrame({
        "timestamp": local.dt.tz_localize(EST).dt.tz_convert("UTC").astype("datetime64[ns, UTC]"),
        "label": table["CATEGORY"].fillna("").astype(str).str.strip(),
        "mw": pd.to_numeric(table["ACT"], errors="coerce").astype("float64"),
    })
    readable = frame.notna().all(axis=1) & (frame["label"] != "")
    if not readable.all():
        examples = table.loc[~readable, list(ROW_KEYS)].head(3).to_dict("records")
        note(anomalies, SOURCE, "malformed_row", f"{int((~readable).sum())} rows with an unreadable "
             f"INTERVALEST, CATEGORY or ACT skipped, e.g. {examples}", int((~readable).sum()))
    frame = frame[readable]
    on_grid = (frame["timestamp"] - frame["timestamp"].dt.floor(INTERVAL)) == pd.Timedelta(0)
    if not on_grid.all():
        note(anomalies, SOURCE, "off_schedule_timestamp", f"{int((~on_grid).sum())} rows stamped off the "
             "5-minute grid skipped", int((~on_grid).sum()))
    return frame[on_grid].assign(region=REGION)


def _readings(table: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    table = drop_duplicate_labels(table, ["timestamp", "label"], SOURCE, anomalies)
    if table.empty:
        return empty_frame(READING_COLUMNS)
    table = table.assign(fuel=map_fuels(table["label"], FUEL_MAP, SOURCE, anomalies))
    return fold_fuels(table[READING_COLUMNS])


def _net_imports(imports: pd.DataFrame) -> pd.DataFrame:
    """MISO's "Imports" category (net scheduled imports, MW) kept apart from generation."""
    if imports.empty:
        return empty_frame(NET_IMPORT_COLUMNS)
    imports = imports.drop_duplicates(subset=["timestamp"], keep="last")
    return imports[NET_IMPORT_COLUMNS].reset_index(drop=True)


# -- fetch ------------------------------------------------------------------------------

def fuel_mix_url() -> str:
    """The data broker endpoint (MISO_BASE_URL points it at a mirror or a test server)."""
    return base_url(SOURCE, DEFAULT_BASE_URL) + ENDPOINT


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """The current interval's fuel mix: the only thing this endpoint serves."""
    return [client.get(fuel_mix_url(), params=QUERY)]


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """None: the endpoint serves the current interval only, so there is nothing to backfill."""
    return []


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Always fails: MISO publishes no history of this feed that could be fetched by range."""
    raise FetchError(
        f"{SOURCE} real-time fuel mix has no history endpoint: getfuelmix serves the current "
        f"5-minute interval only, so {start}..{end} cannot be fetched; the series builds up "
        "from regular runs (recorded captures can be loaded with `replay`)")
