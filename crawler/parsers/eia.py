"""EIA-930 hourly net generation by fuel for every US balancing authority (EIA API v2).

`<base>/electricity/rto/fuel-type-data/data/`, one request per respondent (balancing
authority) and range, paged by `offset`. `period` is the hour ENDING, in UTC (but for the
respondents of HOUR_START_RESPONDENTS, whose labels are hour starts); values are MWh over
that hour, which is the hour's mean MW.
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
    FLAGGED_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, drop_duplicate_labels, empty_frame,
    fold_fuels, fold_rows, map_fuels, no_net_imports, note,
)
from crawler.source import SourceSpec

DEFAULT_BASE_URL = "https://api.eia.gov/v2"
ROUTE = "/electricity/rto/fuel-type-data/data/"
KEY_VARIABLE = "EIA_API_KEY"
PAGE_LENGTH = 5000  # the most EIA returns per request
MAX_PAGES = 100  # a guard against a `total` that never comes within reach
# EIA revises the last day or two as balancing authorities resubmit, so each run re-reads them.
LOOKBACK = timedelta(hours=48)
HOUR = timedelta(hours=1)

# Every balancing authority of database/migrations/0003_regions.sql except HECO and PREPA,
# which do not report to EIA-930.
RESPONDENTS: tuple[str, ...] = (
    "AEC", "AECI", "AVA", "AVRN", "AZPS", "BANC", "BPAT", "CHPD", "CISO", "CPLE", "CPLW",
    "DEAA", "DOPD", "DUK", "EEI", "EPE", "ERCO", "FMPP", "FPC", "FPL", "GCPD", "GLHB", "GRID",
    "GRIF", "GRMA", "GVL", "GWA", "HGMA", "HST", "IID", "IPCO", "ISNE", "JEA", "LDWP", "LGEE",
    "MISO", "NEVP", "NSB", "NWMT", "NYIS", "OVEC", "PACE", "PACW", "PGE", "PJM", "PNM", "PSCO",
    "PSEI", "SC", "SCEG", "SCL", "SEC", "SEPA", "SOCO", "SPA", "SRP", "SWPP", "TAL", "TEC",
    "TEPC", "TIDC", "TPWR", "TVA", "WACM", "WALC", "WAUW", "WWA", "YAD",
)

SPEC = SourceSpec(
    name="EIA",
    module_name=__name__,
    description="EIA-930 hourly net generation by fuel, every US balancing authority",
    regions=RESPONDENTS,
    interval_minutes=60,
    frequency_minutes=60,
    # EIA-930 lags by an hour or two, some balancing authorities by most of a day.
    stale_after_minutes=24 * 60,
    time_convention="period is the hour ENDING, in UTC",
    backfill="calendar months",
    requires_env=("EIA_API_KEY",),
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes

FUEL_MAP = {
    "COL": "coal",
    "NG": "gas",
    "NUC": "nuclear",
    "OIL": "oil",
    "WAT": "hydro",
    "SUN": "solar",
    "WND": "wind",
    "GEO": "geothermal",
    "BAT": "battery",
    "PS": "hydro_storage",
    "OES": "battery",  # other energy storage: mostly batteries
    "SNB": "solar",  # solar with integrated battery storage
    "WNB": "wind",  # wind with integrated battery storage
    "OTH": "other",
    "UNK": "unknown",
}
ROW_KEYS = ("period", "respondent", "fueltype", "value")
# Respondents whose `period` labels the hour's START, not its end as EIA documents: the
# evidence (solar-noon timing of their SUN series, and the hour-to-hour changes against the
# ISO's own data) is in README "EIA-930 hour labels" and scripts/bench/agreement.py.
HOUR_START_RESPONDENTS = frozenset({"PJM"})
# Respondents with nuclear plants. EIA-930 has filed New York's nuclear under OTH for weeks
# (559 hours of 2022 with NUC under 500 MW and OTH near 2,600 MW): an hour of one of these
# with nuclear under NUCLEAR_FLOOR_MW and other at OTHER_CEILING_MW or more is an anomaly.
NUCLEAR_RESPONDENTS = frozenset({"NYIS", "PJM", "MISO", "ERCO", "SOCO", "TVA", "DUK", "CPLE", "SCEG", "SC",
                                 "FPL", "SWPP", "CISO", "BPAT", "ISNE", "SRP"})
NUCLEAR_FLOOR_MW = 500.0
OTHER_CEILING_MW = 1000.0
# EIA's note that a result holds more rows than one response returns: fetch follows `offset`
# for the rest, so it is no anomaly.
PAGING_WARNING = "incomplete return"


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload, general: bool = False) -> ParseResult:
    """Parse one fuel-type-data page into hourly readings (MW, UTC interval starts).

    `general` takes the general reading where a faster one exists; both give the same result
    (tests/test_parse_paths.py feeds both every recording).
    """
    anomalies: list[Anomaly] = []
    rows = _data_rows(load_json(payload, SOURCE), anomalies)
    if not rows:
        readings = empty_frame(READING_COLUMNS)
    elif _plain(rows) and not general:
        readings = _plain_readings(rows, anomalies)
    else:
        readings = _readings(_table(rows), anomalies)
    flagged = _note_nuclear_filed_as_other(readings, anomalies)
    return ParseResult(readings=readings, interval_minutes=INTERVAL_MINUTES, net_imports=no_net_imports(),
                       anomalies=anomalies, flagged=flagged)


def _data_rows(doc: object, anomalies: list[Anomaly]) -> list[dict]:
    """`response.data`, or ParseError carrying EIA's own error or warning text."""
    if isinstance(doc, dict) and "error" in doc:
        raise ParseError(f"{SOURCE}: API error: {_error_text(doc)}")
    response = doc.get("response") if isinstance(doc, dict) else None
    data = response.get("data") if isinstance(response, dict) else None
    warnings = _warnings(doc) + _warnings(response)
    if not isinstance(data, list):
        if warnings:
            raise ParseError(f"{SOURCE}: API warning: {'; '.join(warnings)}")
        raise ParseError(f"{SOURCE}: unexpected JSON shape: {_shape(doc)}")
    frequency = response.get("frequency", "hourly")
    if frequency != "hourly":
        raise ParseError(f"{SOURCE}: expected hourly (UTC) data, got frequency {frequency!r}")
    for warning in warnings:
        if not warning.lower().startswith(PAGING_WARNING):
            note(anomalies, SOURCE, "source_warning", f"EIA says: {warning}")
    if not all(isinstance(row, dict) for row in data):
        raise ParseError(f"{SOURCE}: unexpected JSON shape: response.data holds non-objects")
    return data


def _error_text(doc: dict) -> str:
    error = doc["error"]
    if isinstance(error, dict):
        error = error.get("message") or error.get("code") or json.dumps(error)
    code = doc.get("code")
    return f"{error} (code {code})" if code is not None else str(error)


def _warnings(container: object) -> list[str]:
    found = container.get("warnings") if isinstance(container, dict) else None
    if not isinstance(found, list):
        return []
    return [": ".join(str(w[k]) for k in ("warning", "description") if w.get(k))
            if isinstance(w, dict) else str(w) for w in found]


def _shape(doc: object) -> str:
    if not isinstance(doc, dict):
        return f"top level is {type(doc).__name__}, not an object"
    response = doc.get("response")
    if not isinstance(response, dict):
        return f"no 'response' object (top-level keys: {sorted(doc) or 'none'})"
    return f"no 'response.data' list (response keys: {sorted(response) or 'none'})"


def _table(rows: list[dict]) -> pd.DataFrame:
    """The rows as a frame; ParseError when they are not fuel-type-data rows at all."""
    table = pd.DataFrame.from_records(rows)
    if "fueltype" not in table:
        kind = ("an interchange-data" if "fromba" in table
                else "a region-data (demand)" if "type" in table else "another")
        raise ParseError(f"{SOURCE}: rows have no 'fueltype': this looks like {kind} response, "
                         f"not fuel-type-data (row keys: {sorted(table.columns)})")
    missing = [k for k in ROW_KEYS if k not in table]
    if missing:
        raise ParseError(f"{SOURCE}: rows lack {', '.join(map(repr, missing))}")
    return table[list(ROW_KEYS)]


def _plain(rows: list[dict]) -> bool:
    """One respondent, every row with period, respondent and fueltype as text and a value
    that is a number, text or null: the usual page (one request is one respondent), which
    `_plain_readings` reads without building a frame."""
    respondent = rows[0].get("respondent")
    return all(type(r.get("period")) is str and r.get("respondent") == respondent and type(respondent) is str
               and type(r.get("fueltype")) is str
               and (type(r.get("value")) in (int, float, str) or r.get("value", 0) is None) for r in rows)


def _plain_readings(rows: list[dict], anomalies: list[Anomaly]) -> pd.DataFrame:
    """`_readings(_table(rows))` for `_plain` rows: each distinct period and fuel read once."""
    period_codes, periods = pd.factorize(np.array([r["period"] for r in rows], dtype=object))
    ending = pd.to_datetime(pd.Series(periods, dtype=object), format="%Y-%m-%dT%H", errors="coerce", utc=True)
    label_offset = timedelta(0) if rows[0]["respondent"] in HOUR_START_RESPONDENTS else HOUR
    starts = pd.DatetimeIndex((ending - label_offset).astype("datetime64[ns, UTC]"))[period_codes]
    label_codes, labels = pd.factorize(np.array([r["fueltype"] for r in rows], dtype=object))
    values = np.array([r["value"] for r in rows], dtype=object)
    mw = pd.to_numeric(values, errors="coerce").astype("float64")
    null = np.array([v is None or (type(v) is float and math.isnan(v)) for v in values], dtype=bool)
    unreadable = starts.isna() | (np.isnan(mw) & ~null)
    if unreadable.any():
        examples = _table(rows)[unreadable].head(3).to_dict("records")
        note(anomalies, SOURCE, "malformed_row", f"{int(unreadable.sum())} rows with an unreadable period, "
             f"respondent, fueltype or value skipped, e.g. {examples}", int(unreadable.sum()))
    region = rows[0]["respondent"]
    if region not in RESPONDENTS:
        _known_regions(pd.DataFrame({"region": [region] * int((~unreadable).sum())}), anomalies)  # its note
        return empty_frame(READING_COLUMNS)
    keep = ~unreadable
    return fold_rows(region, starts[keep], label_codes[keep], list(labels), mw[keep], FUEL_MAP, SOURCE, anomalies,
                     null=null[keep])


def _readings(table: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Rows to folded readings; unreadable, unknown-region, repeated and null rows counted."""
    ending = pd.to_datetime(table["period"], format="%Y-%m-%dT%H", errors="coerce", utc=True)
    frame = pd.DataFrame({
        "region": table["respondent"],
        "timestamp": (ending - HOUR + HOUR * table["respondent"].isin(HOUR_START_RESPONDENTS).astype(int)
                      ).astype("datetime64[ns, UTC]"),
        "label": table["fueltype"],
        "mw": pd.to_numeric(table["value"], errors="coerce").astype("float64"),
        "null": table["value"].isna(),
    })
    not_text = ~(table["respondent"].map(type).eq(str) & table["fueltype"].map(type).eq(str))
    unreadable = (frame[["region", "timestamp", "label"]].isna().any(axis=1) | not_text
                  | (frame["mw"].isna() & ~frame["null"]))
    if unreadable.any():
        examples = table[unreadable].head(3).to_dict("records")
        note(anomalies, SOURCE, "malformed_row", f"{int(unreadable.sum())} rows with an unreadable period, "
             f"respondent, fueltype or value skipped, e.g. {examples}", int(unreadable.sum()))
    frame = _known_regions(frame[~unreadable], anomalies)
    frame = drop_duplicate_labels(frame, ["timestamp", "region", "label"], SOURCE, anomalies)
    if frame["null"].any():  # folded as missing values: the fuel is rejected, a stored value kept
        note(anomalies, SOURCE, "missing_value", f"{int(frame['null'].sum())} rows with a null value: no value "
             "taken (a stored one is kept)", int(frame["null"].sum()))
    if frame.empty:
        return empty_frame(READING_COLUMNS)
    frame = frame.assign(fuel=map_fuels(frame["label"], FUEL_MAP, SOURCE, anomalies))
    return fold_fuels(frame[READING_COLUMNS], frame["label"])


def nuclear_filed_as_other(readings: pd.DataFrame) -> pd.Series:
    """Per (region, timestamp) of nuclear respondents: True where the nuclear output seems
    filed under OTH (see NUCLEAR_RESPONDENTS). Also used by scripts/bench/agreement.py."""
    mix = readings[readings["region"].isin(NUCLEAR_RESPONDENTS) & readings["fuel"].isin(("nuclear", "other"))]
    if mix.empty:
        return pd.Series(dtype=bool)
    wide = mix.pivot_table(index=["region", "timestamp"], columns="fuel", values="mw", aggfunc="sum")
    nuclear = wide["nuclear"].fillna(0.0) if "nuclear" in wide else pd.Series(0.0, index=wide.index)
    other = wide["other"] if "other" in wide else pd.Series(float("nan"), index=wide.index)
    return (nuclear < NUCLEAR_FLOOR_MW) & (other >= OTHER_CEILING_MW)


def _note_nuclear_filed_as_other(readings: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Count the hours of a nuclear respondent with its nuclear output under OTH, and flag their
    nuclear and other readings (FLAGGED_COLUMNS): stored as reported, they are estimated in the
    intensity like any anomaly (database/completeness.py), or the hour is left as a gap."""
    filed = nuclear_filed_as_other(readings)
    if not filed.any():
        return empty_frame(FLAGGED_COLUMNS)
    for region, hours in filed[filed].groupby(level="region").size().items():
        when = filed[filed].xs(region, level="region").index
        note(anomalies, SOURCE, "nuclear_filed_as_other",
             f"{region}: {hours} hours with nuclear under {NUCLEAR_FLOOR_MW:.0f} MW and other at "
             f"{OTHER_CEILING_MW:.0f} MW or more ({when.min():%Y-%m-%d %H:%M}Z to {when.max():%Y-%m-%d %H:%M}Z): "
             "EIA-930 seems to file the nuclear output under OTH; stored as reported, estimated where it "
             "can be, else left as a gap", int(hours))
    hours = filed[filed].index
    cells = readings.set_index(["region", "timestamp"])
    cells = cells[cells.index.isin(hours) & cells["fuel"].isin(("nuclear", "other")).to_numpy()].reset_index()
    return cells[["region", "timestamp", "fuel"]].assign(kind="nuclear_filed_as_other")


def _known_regions(frame: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    known = frame["region"].isin(RESPONDENTS)
    if not known.all():
        others = ", ".join(sorted(set(frame.loc[~known, "region"].astype(str))))
        note(anomalies, SOURCE, "unknown_region", f"{int((~known).sum())} rows of respondents not in the "
             f"region list ({others}) skipped", int((~known).sum()))
    return frame[known]


# -- fetch ------------------------------------------------------------------------------

def data_url() -> str:
    """The fuel-type-data endpoint (EIA_BASE_URL points it at a mirror or a test server)."""
    return base_url(SOURCE, DEFAULT_BASE_URL) + ROUTE


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """The last 48 hours of every respondent, since EIA revises recent hours."""
    key = _api_key()
    last = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return _fetch_all(client, key, last - LOOKBACK, last)


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Calendar months (clipped to [start, end)): about 7,000 rows per respondent, two pages."""
    return month_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Every respondent's hours starting in [start, end)."""
    key = _api_key()
    # `period` names the hour's end, so hours starting in [start, end) end in (start, end].
    first = datetime.combine(start, time(0), timezone.utc) + HOUR
    last = datetime.combine(end, time(0), timezone.utc)
    return _fetch_all(client, key, first, last)


def respondents() -> tuple[str, ...]:
    """The balancing authorities to crawl: all, or the comma list in EIA_RESPONDENTS."""
    wanted = [code.strip().upper() for code in os.environ.get("EIA_RESPONDENTS", "").split(",") if code.strip()]
    unknown = sorted(set(wanted) - set(RESPONDENTS))
    if unknown:
        raise FetchError(f"EIA_RESPONDENTS names unknown balancing authorities: {', '.join(unknown)}")
    return tuple(wanted) or RESPONDENTS


def _api_key() -> str:
    key = os.environ.get(KEY_VARIABLE, "").strip()
    if not key:
        raise FetchError(f"{KEY_VARIABLE} is not set")
    return key


def _fetch_all(client: HttpClient, key: str, first: datetime, last: datetime) -> list[Payload]:
    """Every respondent's pages for periods first..last (inclusive).

    One respondent failing is noted on the client (the run is partial); all failing raises.
    """
    payloads, failures = [], []
    chosen = respondents()
    for respondent in chosen:
        try:
            payloads.extend(_fetch_respondent(client, key, respondent, first, last))
        except FetchError as exc:
            failures.append(f"{SOURCE} {respondent}: {exc}")
            client.note_error(failures[-1])
    if len(failures) == len(chosen):
        raise FetchError(f"{SOURCE}: all {len(failures)} respondents failed, e.g. {failures[0]}")
    return payloads


def _fetch_respondent(client: HttpClient, key: str, respondent: str, first: datetime,
                      last: datetime) -> list[Payload]:
    """All pages of one respondent's range, following `offset` while rows remain."""
    payloads: list[Payload] = []
    offset = 0
    while len(payloads) < MAX_PAGES:
        payload = client.get(data_url(), params=_params(respondent, first, last, offset),
                             secret_params={"api_key": key})
        payloads.append(payload)
        rows, total = _page_counts(payload.body)
        offset += rows
        if rows == 0 or offset >= total:
            return payloads
    raise FetchError(f"more than {MAX_PAGES} pages of {PAGE_LENGTH} rows (total keeps growing?)")


def _params(respondent: str, first: datetime, last: datetime, offset: int) -> dict[str, object]:
    return {
        "frequency": "hourly",
        "data[0]": "value",
        "facets[respondent][]": respondent,
        "start": f"{first:%Y-%m-%dT%H}",
        "end": f"{last:%Y-%m-%dT%H}",
        "sort[0][column]": "period",
        "sort[0][direction]": "asc",
        "offset": offset,
        "length": PAGE_LENGTH,
    }


def _page_counts(body: bytes) -> tuple[int, int]:
    """(rows in this page, total rows) of a body; (0, 0) when it cannot tell (parse will say why)."""
    try:
        response = json.loads(body)["response"]
        return len(response["data"]), int(response["total"])
    except (ValueError, KeyError, TypeError):
        return 0, 0
