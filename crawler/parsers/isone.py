"""ISO New England generation fuel mix: snapshots of generation by fuel for the ISNE area.

Two ways in, the same data:

- ISO Express web services (a free ISO-NE account: ISONE_USERNAME / ISONE_PASSWORD, HTTP basic
  auth): `<base>/genfuelmix/day/YYYYMMDD` (and `/genfuelmix/current`), JSON when asked with
  `Accept: application/json`: `{"GenFuelMixes": {"GenFuelMix": [{"BeginDate":
  "2024-03-10T00:02:39.000-05:00", "GenMw": 1049, "FuelCategory": "Hydro", ...}, ...]}}`.
- Without an account, the public form endpoint behind ISO-NE's website charts: `<ws>/wsclient`
  POSTed `_nstmp_requestType=genfuelmix` and a day range. Its answers share one envelope for
  every request type, `[{"data": ..., "namespace": "_nstmp_"}]` (as recorded for externalflow
  and systemload); for genfuelmix `data` holds one object per report with a key per fuel,
  `{"BeginDate": ..., "BeginDateMs": ..., "NaturalGas": 8586, "LandfillGas": 35, ...,
  "Renewables": 1226}`. An envelope around the web-service shape is read too.

Time: BeginDate carries its own UTC offset (-05:00 or -04:00), so daylight-saving days need
no guessing. Reports come at irregular instants (00:02:39, 00:05:53, ...), every 5-6 minutes
with silences of up to ~17 minutes. They become 5-minute interval starts (UTC) like this:
- a report belongs to the interval it falls in (its time floored to the 5-minute grid);
- several reports in one interval: the last one wins, as a whole report (a fuel it does not
  list is not taken from an earlier one); the others are counted (`merged_reports`);
- an interval without a report takes the last report before it if that is at most 15 minutes
  old (ISO-NE's mix stands until its next report); counted (`filled_interval`). Longer
  silences stay gaps (`missing_interval`). Nothing is made up before a body's first report or
  after its last, so a day file can lack its first or last interval or two.
"""
from __future__ import annotations

import logging
import os
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from crawler.bodies import load_json
from crawler.chunks import day_chunks, days_to_fetch
from crawler.http import FetchError, HttpClient, base_url, fetch_days
from crawler.model import (
    READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, drop_duplicate_labels, empty_frame,
    fold, map_codes, no_net_imports, note,
)
from crawler.source import SourceSpec

log = logging.getLogger(__name__)

SPEC = SourceSpec(
    name="ISONE",
    module_name=__name__,
    description="ISO-NE generation by fuel (web service with ISONE_USERNAME, else the public form)",
    regions=("ISNE",),
    interval_minutes=5,
    frequency_minutes=5,
    stale_after_minutes=60,
    time_convention="report times with their UTC offset, each floored to the 5-minute interval it falls in",
    backfill="one Eastern day per chunk",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://webservices.iso-ne.com/api/v1.1"
# The public form endpoint has its own root: ISONE_WSCLIENT_BASE_URL overrides it.
WSCLIENT_SOURCE = "ISONE_WSCLIENT"
DEFAULT_WSCLIENT_URL = "https://www.iso-ne.com/ws"
USER_VARIABLE, PASSWORD_VARIABLE = "ISONE_USERNAME", "ISONE_PASSWORD"
EASTERN = ZoneInfo("America/New_York")
INTERVAL = timedelta(minutes=INTERVAL_MINUTES)
MAX_CARRY = timedelta(minutes=15)
YESTERDAY_GRACE = timedelta(minutes=20)

# Web-service FuelCategory values and the chart keys of wsclient (no spaces), one table.
FUEL_MAP = {
    "Coal": "coal",
    "Natural Gas": "gas",
    "NaturalGas": "gas",
    "Nuclear": "nuclear",
    "Oil": "oil",
    "Hydro": "hydro",
    "Solar": "solar",
    "Wind": "wind",
    # ISO-NE's "Renewables" rollup besides wind and solar: all combustion of organic fuel.
    "Wood": "biomass",
    "Refuse": "biomass",
    "Landfill Gas": "biomass",
    "LandfillGas": "biomass",
    # ISO-NE: "other, which includes demand response". Not storage (batteries have their own
    # category since ISO-NE added them to its resource mix charts).
    "Other": "other",
    # No recording shows the battery label; these are the spellings ISO-NE uses elsewhere.
    # Any other one is stored as unknown and logged.
    "Battery": "battery",
    "Batteries": "battery",
    "Battery Storage": "battery",
    "Energy Storage": "battery",
}
# wsclient chart keys that are not fuels: the time twice, and totals (storing the
# "Renewables" rollup would count wood, refuse, landfill gas, wind and solar twice).
CHART_NON_FUEL_KEYS = frozenset({"BeginDate", "BeginDateMs", "Renewables", "Total"})
WEB_KEYS = ("BeginDate", "FuelCategory", "GenMw")
_OFFSET = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z)$")


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Parse a genfuelmix answer (web service or wsclient) into readings (MW, UTC starts)."""
    anomalies: list[Anomaly] = []
    doc = load_json(payload, SOURCE)
    columns = _web_columns(doc)
    if columns is None:
        reports = _readable(_rows(doc), anomalies)
        report = pd.DatetimeIndex(reports["report"])
        label_codes, labels = pd.factorize(reports["label"])
        labels, mw = list(labels), reports["mw"].to_numpy()
    else:
        report, label_codes, labels, mw = _readable_web(*columns, doc, anomalies)
    # A label repeated in one report: the last row wins.
    repeated = pd.Series(pd.factorize(report)[0] * max(len(labels), 1) + label_codes).duplicated(keep="last")
    if repeated.any():
        frame = pd.DataFrame({"report": report, "label": np.array(labels, dtype=object)[label_codes]})
        drop_duplicate_labels(frame, ["report", "label"], SOURCE, anomalies)  # its note and log line
        keep = ~repeated.to_numpy()
        report, label_codes, mw = report[keep], label_codes[keep], mw[keep]
    if not len(report):
        return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES,
                           net_imports=no_net_imports(), anomalies=anomalies)
    starts, taken = _report_of_interval(report, anomalies)
    rows, times = _rows_of_reports(report.asi8, taken.asi8)
    codes, fuels = map_codes(label_codes[rows], labels, FUEL_MAP, SOURCE, anomalies)
    readings = fold(REGION, starts[times], codes, fuels, mw[rows])
    return ParseResult(readings=readings, interval_minutes=INTERVAL_MINUTES, net_imports=no_net_imports(),
                       anomalies=anomalies)


def _rows_of_reports(report: np.ndarray, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each interval (in order) the rows of the report it takes (in file order): the
    rows joining intervals to reports, in the order an inner merge on the report gives."""
    order = np.argsort(report, kind="stable")
    first = np.searchsorted(report[order], taken, side="left")
    count = np.searchsorted(report[order], taken, side="right") - first
    times = np.repeat(np.arange(len(taken)), count)
    # Offsets 0..count-1 within each interval's block of rows.
    within = np.arange(len(times)) - np.repeat(np.cumsum(count) - count, count)
    return order[np.repeat(first, count) + within], times


def _rows(doc: object) -> pd.DataFrame:
    """Report rows as columns stamp, label, value, from either shape; ParseError otherwise."""
    if isinstance(doc, list):
        doc = _envelope_data(doc)
        if isinstance(doc, list):
            return _chart_rows(doc)
    if isinstance(doc, dict) and "GenFuelMixes" in doc:
        return _web_rows(doc["GenFuelMixes"])
    keys = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
    raise ParseError(f"{SOURCE}: unexpected JSON shape: no 'GenFuelMixes' object and no wsclient "
                     f"envelope (top level: {keys})")


def _envelope_data(doc: list) -> object:
    """`data` of the wsclient envelope `[{"data": ..., "namespace": "_nstmp_"}]`."""
    if not doc:
        raise ParseError(f"{SOURCE}: wsclient answer is an empty list")
    first = doc[0]
    if not isinstance(first, dict) or "data" not in first:
        shown = sorted(first) if isinstance(first, dict) else type(first).__name__
        raise ParseError(f"{SOURCE}: unexpected wsclient envelope: first element has no 'data' ({shown})")
    return first["data"]


def _web_rows(mixes: object) -> pd.DataFrame:
    """GenFuelMixes.GenFuelMix rows; an empty GenFuelMixes (a day without data) has none."""
    if mixes in ("", None) or mixes == {}:
        return pd.DataFrame(columns=["stamp", "label", "value"])
    items = mixes.get("GenFuelMix") if isinstance(mixes, dict) else None
    items = [items] if isinstance(items, dict) else items  # one row comes as a bare object
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ParseError(f"{SOURCE}: unexpected JSON shape: 'GenFuelMixes.GenFuelMix' is not a list "
                         "of objects")
    table = pd.DataFrame.from_records(items)
    missing = [k for k in WEB_KEYS if k not in table] if items else []
    if missing:
        raise ParseError(f"{SOURCE}: GenFuelMix rows lack {', '.join(map(repr, missing))} "
                         f"(row keys: {sorted(table.columns)})")
    if table.empty:
        return pd.DataFrame(columns=["stamp", "label", "value"])
    return pd.DataFrame({"stamp": table["BeginDate"], "label": table["FuelCategory"], "value": table["GenMw"]})


def _chart_rows(records: list) -> pd.DataFrame:
    """wsclient chart records (a key per fuel) as long rows; totals and time keys left out."""
    if not all(isinstance(r, dict) for r in records):
        raise ParseError(f"{SOURCE}: unexpected wsclient data: not a list of objects")
    table = pd.DataFrame.from_records(records)
    if records and "BeginDate" not in table:
        raise ParseError(f"{SOURCE}: wsclient records lack 'BeginDate' (keys: {sorted(table.columns)})")
    if table.empty:
        return pd.DataFrame(columns=["stamp", "label", "value"])
    fuels = [c for c in table.columns if c not in CHART_NON_FUEL_KEYS]
    long = table.melt(id_vars="BeginDate", value_vars=fuels, var_name="label", value_name="value")
    # A fuel a report does not list (ISO-NE leaves out fuels producing nothing) is no row.
    long = long[long["value"].notna()]
    return long.rename(columns={"BeginDate": "stamp"})[["stamp", "label", "value"]]


def _web_columns(doc: object) -> tuple[list, list, list] | None:
    """BeginDate, FuelCategory and GenMw of the web service's rows, when every row is an
    object with a text time and fuel and a number (or null) as value: the usual answer,
    read without building a frame. None for anything else (wsclient, odd rows), which
    `_rows` reads or rejects."""
    mixes = doc.get("GenFuelMixes") if isinstance(doc, dict) else None
    items = mixes.get("GenFuelMix") if isinstance(mixes, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return None
    try:
        stamps = [i["BeginDate"] for i in items]
        labels = [i["FuelCategory"] for i in items]
        values = [i["GenMw"] for i in items]
    except KeyError:
        return None
    if not (all(type(s) is str for s in stamps) and all(type(label) is str for label in labels)
            and all(type(v) in (int, float) or v is None for v in values)):
        return None
    return stamps, labels, values


def _readable_web(stamps: list, labels: list, values: list, doc: dict,
                  anomalies: list[Anomaly]) -> tuple[pd.DatetimeIndex, np.ndarray, list, np.ndarray]:
    """`_readable` for `_web_columns`: each distinct time and label read once. Returns the
    readable rows as report times, label codes, the labels, MW."""
    stamp_codes, distinct = pd.factorize(np.array(stamps, dtype=object))
    distinct = pd.Series(distinct, dtype=object).str.strip()
    zoned = distinct.str.contains(_OFFSET)
    times = pd.to_datetime(distinct.where(zoned, ""), format="ISO8601", utc=True, errors="coerce")
    report = pd.DatetimeIndex(times.astype("datetime64[ns, UTC]"))[stamp_codes]
    label_codes, names = pd.factorize(np.array(labels, dtype=object))
    names = [name.strip() for name in names]
    mw = pd.to_numeric(np.array(values, dtype=object), errors="coerce").astype("float64")
    readable = ~report.isna() & ~np.isnan(mw) & (np.array([name != "" for name in names], dtype=bool)[label_codes]
                                                  if names else np.zeros(len(mw), dtype=bool))
    if not readable.all():
        examples = _rows(doc)[~readable].head(3).to_dict("records")
        note(anomalies, SOURCE, "malformed_row", f"{int((~readable).sum())} rows without a time with UTC "
             f"offset, a fuel or a number skipped, e.g. {examples}", int((~readable).sum()))
    # Labels equal once stripped are one label.
    cleaned = {name: i for i, name in enumerate(dict.fromkeys(names))}
    label_codes = np.array([cleaned[name] for name in names], dtype="intp")[label_codes]
    return report[readable], label_codes[readable], list(cleaned), mw[readable]


def _readable(rows: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Rows as (report time UTC, label, mw); rows without a zoned time or a number counted."""
    stamps = rows["stamp"].fillna("").astype(str).str.strip()
    zoned = stamps.str.contains(_OFFSET)
    report = pd.to_datetime(stamps.where(zoned, ""), format="ISO8601", utc=True, errors="coerce")
    frame = pd.DataFrame({
        "report": report.astype("datetime64[ns, UTC]"),
        "label": rows["label"].fillna("").astype(str).str.strip(),
        "mw": pd.to_numeric(rows["value"], errors="coerce").astype("float64"),
    })
    readable = frame["report"].notna() & frame["mw"].notna() & (frame["label"] != "")
    if not readable.all():
        examples = rows[~readable.to_numpy()].head(3).to_dict("records")
        note(anomalies, SOURCE, "malformed_row", f"{int((~readable).sum())} rows without a time with UTC "
             f"offset, a fuel or a number skipped, e.g. {examples}", int((~readable).sum()))
    return frame[readable].reset_index(drop=True)


def _report_of_interval(reports: pd.DatetimeIndex,
                        anomalies: list[Anomaly]) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """(interval starts, the report each takes): which report each 5-minute interval takes
    (module docstring)."""
    times = np.unique(reports.asi8)
    step = INTERVAL // timedelta(microseconds=1) * 1000
    bins = times // step * step
    last = np.flatnonzero(np.r_[bins[1:] != bins[:-1], True])  # the last report of each bin
    own, last_in_bin = bins[last], times[last]
    grid = np.arange(own[0], own[-1] + 1, step)
    latest = np.searchsorted(own, grid, side="right") - 1  # the bin each interval takes from
    taken = last_in_bin[latest]
    has_own = own[latest] == grid
    usable = has_own | (grid - taken <= MAX_CARRY // timedelta(microseconds=1) * 1000)
    merged, filled = len(times) - len(own), int((usable & ~has_own).sum())
    if merged:
        note(anomalies, SOURCE, "merged_reports", f"{merged} reports superseded by a later one in the same "
             "5-minute interval", merged, logging.INFO)
    if filled:
        note(anomalies, SOURCE, "filled_interval", f"{filled} intervals without a report took the previous "
             "report (at most 15 minutes old)", filled, logging.INFO)
    if not usable.all():
        first_gap = pd.Timestamp(grid[~usable][0], tz="UTC")
        note(anomalies, SOURCE, "missing_interval", f"{int((~usable).sum())} intervals more than 15 minutes "
             f"after the previous report left empty, first {first_gap:%Y-%m-%d %H:%M}Z", int((~usable).sum()))
    return _utc(grid[usable]), _utc(taken[usable])


def _utc(nanos: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(nanos.view("M8[ns]")).tz_localize("UTC")


# -- fetch ------------------------------------------------------------------------------

def day_url(day: date) -> str:
    """The web-service URL of one Eastern day's reports."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/genfuelmix/day/{day:%Y%m%d}"


def wsclient_url() -> str:
    """The public form endpoint used without an ISO Express account."""
    return f"{base_url(WSCLIENT_SOURCE, DEFAULT_WSCLIENT_URL)}/wsclient"


def credentials() -> tuple[str, str] | None:
    """ISO Express basic-auth credentials, or None to use the public form endpoint."""
    user, password = os.environ.get(USER_VARIABLE, "").strip(), os.environ.get(PASSWORD_VARIABLE, "")
    if bool(user) != bool(password):
        log.warning("%s: only one of %s and %s is set; using the public form endpoint", SOURCE,
                    USER_VARIABLE, PASSWORD_VARIABLE)
    return (user, password) if user and password else None


def fetch_day(client: HttpClient, day: date) -> Payload:
    """One Eastern day's reports: the web service with credentials, the form endpoint without."""
    auth = credentials()
    if auth is None:
        return client.request("POST", wsclient_url(), data=_form(day))
    try:
        return client.get(day_url(day), headers={"Accept": "application/json"}, auth=auth)
    except FetchError as exc:
        if str(exc).startswith(("HTTP 401", "HTTP 403")):
            raise FetchError(f"{exc} (check {USER_VARIABLE} and {PASSWORD_VARIABLE})") from None
        raise


def _form(day: date) -> dict[str, str]:
    # The fields ISO-NE's own fuel mix chart posts; the chart's title and size are left out.
    stamp = f"{day:%m/%d/%Y}"
    return {"_nstmp_requestType": "genfuelmix", "_nstmp_fuelType": "all",
            "_nstmp_startDate": stamp, "_nstmp_endDate": stamp,
            "_nstmp_twodays": "false", "_nstmp_showtwodays": "false"}


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Today's reports, plus yesterday's when the last success may have missed its end."""
    due = days_to_fetch(now, EASTERN, last_success, YESTERDAY_GRACE)
    return fetch_days(client, SOURCE, due.days[::-1], lambda day: fetch_day(client, day),
                      may_be_missing=due.may_be_missing)


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """One chunk per Eastern day in [start, end): one request each."""
    return day_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Every day's reports in [start, end); any failure fails the range (no silent holes)."""
    return [fetch_day(client, day) for day, _ in backfill_chunks(start, end)]
