"""CAISO's own forecasts from OASIS: day-ahead wind and solar (SLD_REN_FCST, market DAM) and
demand (SLD_FCST, markets DAM and 7DA) for CAISO and the Western EIM areas it publishes.

`<base>/SingleZip?queryname=SLD_REN_FCST&market_run_id=DAM&startdatetime=20250204T08:00-0000
&enddatetime=20250211T08:00-0000&version=1&resultformat=6` answers a zip holding one CSV,
`<start>_<end>_<query>_<market>_<generated>_v1.csv` (`generated` as YYYYMMDD_HH_MM_SS,
Pacific time), or an XML error file. Renewables: one row per interval, trading hub (NP15,
SP15, ZP26) and RENEWABLE_TYPE (Solar, Wind); the hubs are summed into CISO's wind and solar.
Demand: one row per interval and TAC_AREA_NAME; "CA ISO-TAC" is CISO's, areas named like a
balancing authority of ours (BPAT, PACW, ...; LADWP is LDWP) are those areas' own forecasts
as published by CAISO, sub-areas (PGE-TAC, BANCMID, ...) are left out.

Time: INTERVALSTARTTIME_GMT is the interval START in GMT. Issue time, the earliest of: the
time the file was generated (its name, read as Pacific time: the later of the two readings),
the fetch time, and for a DAM value of operating day D, D-1 at 13:00 Pacific, when CAISO
publishes the day-ahead market's results (the market closes at 10:00, so every forecast it
used is public by then). 7DA values carry no run time: the generation time bounds them.
"""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd

from crawler.chunks import month_chunks
from crawler.forecast_inputs import known_by, operator_rows
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import (OPERATOR_FORECAST_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload,
                           empty_frame, note)
from crawler.parsers.eia import RESPONDENTS
from crawler.source import SourceSpec

# TAC areas of the demand forecast that are balancing authorities of ours, by their EIA code.
AREA_REGIONS = {"CA ISO-TAC": "CISO", "LADWP": "LDWP",
                **{code: code for code in ("AVA", "AVRN", "AZPS", "BANC", "BPAT", "EPE", "IPCO", "NEVP", "NWMT",
                                           "PACE", "PACW", "PGE", "PNM", "PSEI", "SCL", "SRP", "TEPC", "TIDC",
                                           "TPWR", "WALC")}}
assert set(AREA_REGIONS.values()) <= set(RESPONDENTS)

SPEC = SourceSpec(
    name="CAISO_FORECAST",
    module_name=__name__,
    description="CAISO OASIS forecasts: day-ahead wind and solar, day-ahead and 7-day demand (CAISO and WEIM areas)",
    regions=("CISO", *sorted(set(AREA_REGIONS.values()) - {"CISO"})),
    interval_minutes=60,
    frequency_minutes=60,
    stale_after_minutes=30 * 60,
    time_convention="INTERVALSTARTTIME_GMT is the START in GMT; issued_at = min(file generated, fetch, "
                    "DAM: D-1 13:00 Pacific)",
    backfill="calendar months of the DAM wind, solar and demand forecasts",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = "CISO"
DEFAULT_BASE_URL = "https://oasis.caiso.com/oasisapi"
PACIFIC = ZoneInfo("America/Los_Angeles")
DAM_PUBLISHED = time(13, 0)  # Pacific, the day before the operating day
RENEWABLE_KINDS = {"solar": "solar", "wind": "wind"}
# Live: the day-ahead products for yesterday..tomorrow, the 7-day demand forecast ahead.
QUERIES_LATEST = (("SLD_REN_FCST", "DAM", -1, 2), ("SLD_FCST", "DAM", -1, 2), ("SLD_FCST", "7DA", 0, 8))
QUERIES_BACKFILL = (("SLD_REN_FCST", "DAM"), ("SLD_FCST", "DAM"))
_GENERATED = re.compile(r"_(\d{8}_\d{2}_\d{2}_\d{2})_v\d+\.(?:csv|xml)$", re.IGNORECASE)
_ERROR = re.compile(r"<(?:m:)?ERR_DESC>(.*?)</(?:m:)?ERR_DESC>", re.DOTALL)


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Parse one SingleZip answer (renewable or demand forecast) into operator forecasts."""
    anomalies: list[Anomaly] = []
    name, text = _member(payload)
    generated = _generated_at(name)
    table = pd.read_csv(io.StringIO(text))
    for column in ("INTERVALSTARTTIME_GMT", "MARKET_RUN_ID", "MW", "OPR_DT"):
        if column not in table:
            raise ParseError(f"{SOURCE}: {name} has no {column} column (columns: {list(table.columns)})")
    table["start"] = pd.to_datetime(table["INTERVALSTARTTIME_GMT"], utc=True, errors="coerce")
    table["issued"] = _issue_times(payload, table, generated)
    if "RENEWABLE_TYPE" in table:
        rows = _renewables(table, anomalies)
    elif "TAC_AREA_NAME" in table:
        rows = _demand(table, anomalies)
    else:
        raise ParseError(f"{SOURCE}: {name} is neither a renewable (RENEWABLE_TYPE) nor a demand (TAC_AREA_NAME) "
                         "forecast")
    return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES,
                       anomalies=anomalies, operator_forecasts=rows)


def _member(payload: Payload) -> tuple[str, str]:
    """The one file in the zip, as text; ParseError carrying OASIS's own error message."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload.body))
    except zipfile.BadZipFile:
        raise ParseError(f"{SOURCE}: not a zip file (OASIS answers SingleZip requests with one); "
                         f"starts {payload.body[:60]!r}") from None
    names = archive.namelist()
    if len(names) != 1:
        raise ParseError(f"{SOURCE}: expected one file in the zip, found {names}")
    text = archive.read(names[0]).decode("utf-8-sig", errors="replace")
    if names[0].lower().endswith(".xml"):
        found = _ERROR.search(text)
        raise ParseError(f"{SOURCE}: OASIS error: {found.group(1).strip() if found else text[:200]}")
    return names[0], text


def _generated_at(name: str) -> datetime | None:
    found = _GENERATED.search(name)
    if not found:
        return None
    return datetime.strptime(found.group(1), "%Y%m%d_%H_%M_%S").replace(tzinfo=PACIFIC)


def _issue_times(payload: Payload, table: pd.DataFrame, generated: datetime | None) -> pd.Series:
    bound = known_by(payload, generated)
    issued = pd.Series(bound, index=table.index, dtype="datetime64[ns, UTC]")
    dam = table["MARKET_RUN_ID"].astype(str).str.upper() == "DAM"
    if dam.any():
        days = pd.to_datetime(table.loc[dam, "OPR_DT"], errors="coerce") - pd.Timedelta(days=1)
        published = (days + pd.Timedelta(hours=DAM_PUBLISHED.hour)).dt.tz_localize(PACIFIC).dt.tz_convert("UTC")
        issued.loc[dam] = published.where(published < bound, bound).astype("datetime64[ns, UTC]")
    return issued


def _renewables(table: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    kinds = table["RENEWABLE_TYPE"].astype(str).str.strip().str.lower().map(RENEWABLE_KINDS)
    if kinds.isna().any():
        others = sorted(set(table.loc[kinds.isna(), "RENEWABLE_TYPE"].astype(str)))
        note(anomalies, SOURCE, "unknown_label", f"renewable types {others} left out", int(kinds.isna().sum()))
    table = table.assign(kind=kinds).dropna(subset=["kind", "start"])
    # The trading hubs together are CAISO's fleet: one sum per kind, interval and issue.
    summed = table.groupby(["kind", "start", "issued"], as_index=False)["MW"].agg(lambda mw: mw.sum(min_count=1))
    return _concat([operator_rows(SOURCE, REGION, kind, part["issued"], part["start"], part["MW"], anomalies)
                     for kind, part in summed.groupby("kind")])


def _demand(table: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    areas = table["TAC_AREA_NAME"].astype(str).str.strip()
    table = table.assign(region=areas.map(AREA_REGIONS)).dropna(subset=["region", "start"])
    # One forecast per area, interval and issue: a file of several markets keeps them apart by issue time.
    return _concat([operator_rows(SOURCE, region, "load", part["issued"], part["start"], part["MW"], anomalies)
                    for region, part in table.groupby("region")])


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty_frame(OPERATOR_FORECAST_COLUMNS)


# -- fetch ------------------------------------------------------------------------------

def single_zip_url() -> str:
    """OASIS's SingleZip endpoint (CAISO_FORECAST_BASE_URL points it at a mirror or a test server)."""
    return base_url(SOURCE, DEFAULT_BASE_URL) + "/SingleZip"


def _params(query: str, market: str, first: date, last: date) -> dict[str, object]:
    """Operating days [first, last) as GMT instants of their Pacific midnights."""
    start, end = (datetime.combine(d, time(0), PACIFIC).astimezone(timezone.utc) for d in (first, last))
    return {"queryname": query, "market_run_id": market, "startdatetime": f"{start:%Y%m%dT%H:%M}-0000",
            "enddatetime": f"{end:%Y%m%dT%H:%M}-0000", "version": 1, "resultformat": 6}


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Day-ahead wind, solar and demand for yesterday to tomorrow and the 7-day demand; a
    query that fails is noted (the run is partial), all failing raise."""
    today = now.astimezone(PACIFIC).date()
    payloads, failures = [], []
    for query, market, first, last in QUERIES_LATEST:
        try:
            payloads.append(client.get(single_zip_url(), params=_params(query, market, today + timedelta(days=first),
                                                                        today + timedelta(days=last))))
        except FetchError as exc:
            failures.append(f"{SOURCE} {query} {market}: {exc}")
    if not payloads:
        raise FetchError("; ".join(failures))
    for failure in failures:
        client.note_error(failure)
    return payloads


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Calendar months: OASIS answers at most 31 days per request."""
    return month_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    return [client.get(single_zip_url(), params=_params(query, market, start, end))
            for query, market in QUERIES_BACKFILL]
