"""Electricity Maps API v3: carbon intensity (life-cycle and direct) and renewable and
low-carbon shares, reported as intensity, per zone and hour.

Documented at https://docs.electricitymaps.com (API v3; root https://api.electricitymaps.com,
`ELECTRICITYMAPS_BASE_URL` overrides it). Every request sends the token from
`ELECTRICITYMAPS_TOKEN` in the `auth-token` header (never in a URL, so never archived or
logged). Bodies read here:

- `GET /v3/zones`: {"DE": {"zoneName": "Germany", "countryName": ...}, ...}: the zones the
  token may read, with their names (a zone outside our regions becomes a region so named).
- `GET /v3/carbon-intensity/latest?zone=Z&emissionFactorType=lifecycle|direct`: one object
  {"zone", "carbonIntensity", "datetime", "updatedAt", "emissionFactorType", "isEstimated",
  "estimationMethod"}; `/history` (the last 24 hours) wraps such objects in {"zone",
  "history": [...]}, `/past-range?start&end` (at most 10 days of hours) in {"zone", "data": [...]}.
- `GET /v3/power-breakdown/latest|history|past-range`: the same containers of objects with
  "renewablePercentage" and "fossilFreePercentage" (0-100; fossil-free is the export's
  "Low Carbon Percentage"), which become renewable_share and low_carbon_share (0-1).

`datetime` is the start of the hour, UTC. Values are consumption-based (flow-traced), as in
the data-portal exports that `import-emap-csv` reads into the same source: rows are written
through the same path, so a crawled hour and an imported one are the same row (last write
wins). Each body carries some columns only; the crawl engine combines them per zone and hour,
and a column no body of a batch carried keeps its stored value.
"""
from __future__ import annotations

import json
import logging
import os
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

from crawler.http import FetchError, HttpClient, base_url
from crawler.model import READING_COLUMNS, REPORTED_COLUMNS, ParseError, ParseResult, Payload, empty_frame, note
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="ELECTRICITYMAPS",
    module_name=__name__,
    description="Electricity Maps v3 carbon intensity (lifecycle, direct) and renewable / low-carbon shares, "
                "hourly, consumption-based; also import-emap-csv exports",
    # Those of the default zones; ELECTRICITYMAPS_ZONES may name others (a zone outside ours
    # becomes a region of its own).
    regions=("CISO", "MISO", "ISNE", "NYIS", "PJM", "BPAT", "SWPP", "ERCO"),
    interval_minutes=60,
    # The newest hour appears (and is revised) within the hour: a run every 15 minutes asks for
    # `latest`; the first run of each hour re-reads the last 24 hours (`history`), catching revisions.
    frequency_minutes=15,
    stale_after_minutes=6 * 60,
    time_convention="datetime is the hour START, UTC",
    backfill="past-range, 10 days a chunk",
    requires_env=("ELECTRICITYMAPS_TOKEN",),
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
DEFAULT_BASE_URL = "https://api.electricitymaps.com"
TOKEN_VARIABLE = "ELECTRICITYMAPS_TOKEN"
ZONES_VARIABLE = "ELECTRICITYMAPS_ZONES"
# The zone keys of the regions our ISO sources crawl (aliases of kind electricitymaps).
DEFAULT_ZONES = ("US-CAL-CISO", "US-MIDW-MISO", "US-NE-ISNE", "US-NY-NYIS", "US-MIDA-PJM", "US-NW-BPAT",
                 "US-CENT-SWPP", "US-TEX-ERCO")
FACTOR_TYPES = ("lifecycle", "direct")
PAST_RANGE_DAYS = 10  # the most past-range answers for hourly data
HISTORY_SPAN = timedelta(hours=24)
MAX_G_PER_KWH = 5000.0  # as the CSV importer: a larger figure is a unit error, not an intensity


def zones() -> list[str]:
    """The zones to crawl: ELECTRICITYMAPS_ZONES (comma list), else those of our ISO regions."""
    configured = [z.strip().upper() for z in os.environ.get(ZONES_VARIABLE, "").split(",") if z.strip()]
    return configured or list(DEFAULT_ZONES)


# -- fetch ----------------------------------------------------------------------------------

def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Zones, then per zone: `latest` within the hour of the last success, `history` on the
    first run of an hour, `past-range` from the last success when it is over a day old."""
    if last_success is None or now - last_success > HISTORY_SPAN:
        start = max(_floor_hour(last_success or now - HISTORY_SPAN), _floor_hour(now) - timedelta(days=PAST_RANGE_DAYS))
        return _fetch_zones(client, lambda zone: _past_range(client, zone, start, now), lenient=True)
    kind = "latest" if _floor_hour(last_success) == _floor_hour(now) else "history"
    return _fetch_zones(client, lambda zone: _simple(client, zone, kind), lenient=True)


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Pieces of at most 10 days, the longest range past-range answers with hours."""
    chunks, day = [], start
    while day < end:
        chunks.append((day, min(day + timedelta(days=PAST_RANGE_DAYS), end)))
        day = chunks[-1][1]
    return chunks


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """The bodies of [start, end) (at most 10 days); any failure fails the chunk."""
    first = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
    last = datetime(end.year, end.month, end.day, tzinfo=timezone.utc)
    return _fetch_zones(client, lambda zone: _past_range(client, zone, first, last), lenient=False)


def _fetch_zones(client: HttpClient, fetch_zone, lenient: bool) -> list[Payload]:
    """The zones body, then each zone's bodies. `lenient`: a zone that fails is noted (the run is
    partial) and the others still count."""
    payloads = [_get(client, "/v3/zones", {})]
    failures = []
    for zone in zones():
        try:
            payloads.extend(fetch_zone(zone))
        except FetchError as exc:
            if not lenient:
                raise
            failures.append(f"{zone}: {exc}")
    if len(payloads) == 1:
        raise FetchError("; ".join(failures) or "no zone to crawl")
    for failure in failures:
        client.note_error(f"{SOURCE} {failure}")
    return payloads


def _simple(client: HttpClient, zone: str, kind: str) -> list[Payload]:
    """`latest` or `history` of both intensities and the power breakdown of one zone."""
    return ([_get(client, f"/v3/carbon-intensity/{kind}", {"zone": zone, "emissionFactorType": factor})
             for factor in FACTOR_TYPES]
            + [_get(client, f"/v3/power-breakdown/{kind}", {"zone": zone})])


def _past_range(client: HttpClient, zone: str, start: datetime, end: datetime) -> list[Payload]:
    window = {"zone": zone, "start": _stamp(start), "end": _stamp(end)}
    return ([_get(client, "/v3/carbon-intensity/past-range", {**window, "emissionFactorType": factor})
             for factor in FACTOR_TYPES]
            + [_get(client, "/v3/power-breakdown/past-range", window)])


def _get(client: HttpClient, path: str, params: dict[str, str]) -> Payload:
    token = os.environ.get(TOKEN_VARIABLE)
    if not token:
        raise FetchError(f"{TOKEN_VARIABLE} not set")
    # 429 (rate limit) is retried by the session with backoff, honouring Retry-After.
    payload = client.get(f"{base_url(SOURCE, DEFAULT_BASE_URL)}{path}", params, headers={"auth-token": token},
                         accept_status=(200, 401, 403))
    if payload.http_status == 401:
        raise FetchError(f"Electricity Maps refused the token (HTTP 401 on {path}): check {TOKEN_VARIABLE}")
    if payload.http_status == 403:
        raise FetchError(f"HTTP 403 on {path}{_zone_of(params)}: not in the token's plan")
    return payload


def _zone_of(params: dict[str, str]) -> str:
    return f" for {params['zone']}" if "zone" in params else ""


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


# -- parse ----------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Rows of one body (zones, carbon-intensity or power-breakdown, any of latest, history
    and past-range); ParseError for a body of another shape."""
    body = _json(payload)
    anomalies: list = []
    if isinstance(body, dict) and "error" in body and len(body) <= 2:
        raise ParseError(f"Electricity Maps answered an error: {str(body['error'])[:200]}")
    if _is_zones(body):
        names = {key.upper(): str(v.get("zoneName") or key) for key, v in body.items()}
        return ParseResult(empty_frame(READING_COLUMNS), INTERVAL_MINUTES, zone_names=names)
    items = _items(body)
    rows = [_row(item, payload, anomalies) for item in items]
    rows = [r for r in rows if r is not None]
    frame = pd.DataFrame(rows, columns=REPORTED_COLUMNS) if rows else empty_frame(REPORTED_COLUMNS)
    if rows:
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
        for column in REPORTED_COLUMNS[2:7]:
            frame[column] = frame[column].astype("float64")
    return ParseResult(empty_frame(READING_COLUMNS), INTERVAL_MINUTES, anomalies=anomalies,
                       reported=frame)


def _json(payload: Payload):
    try:
        return json.loads(payload.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        head = payload.body[:60].decode("utf-8", "replace")
        raise ParseError(f"not JSON ({exc}): {head!r}") from None


def _is_zones(body) -> bool:
    return (isinstance(body, dict) and bool(body) and "zone" not in body
            and all(isinstance(v, dict) and ("zoneName" in v or "access" in v) for v in body.values()))


def _items(body) -> list[dict]:
    if isinstance(body, dict) and isinstance(body.get("history"), list):
        return body["history"]
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return body["data"]
    if isinstance(body, dict) and "datetime" in body:
        return [body]
    raise ParseError("not an Electricity Maps zones, carbon-intensity or power-breakdown body "
                     f"(keys: {', '.join(list(body)[:8]) if isinstance(body, dict) else type(body).__name__})")


def _row(item: dict, payload: Payload, anomalies: list) -> list | None:
    """One partial row; None (counted) when the item has no zone, no readable hour or no value."""
    zone = str(item.get("zone") or _query(payload, "zone") or "").upper()
    moment = pd.to_datetime(item.get("datetime"), utc=True, errors="coerce")
    if not zone or pd.isna(moment) or moment != moment.floor("h"):
        note(anomalies, SOURCE, "bad_row", f"an item without zone or with a time off the hour: {str(item)[:120]}")
        return None
    lifecycle = direct = renewable = low_carbon = np.nan
    if "carbonIntensity" in item:
        value = _number(item["carbonIntensity"], MAX_G_PER_KWH)
        factor = item.get("emissionFactorType") or _query(payload, "emissionFactorType") or "lifecycle"
        if factor == "direct":
            direct = value
        else:
            lifecycle = value
    if "renewablePercentage" in item or "fossilFreePercentage" in item:
        renewable = _number(item.get("renewablePercentage"), 100) / 100
        low_carbon = _number(item.get("fossilFreePercentage"), 100) / 100
    if all(np.isnan(v) for v in (lifecycle, direct, renewable, low_carbon)):
        note(anomalies, SOURCE, "missing_value", f"{zone} {moment:%Y-%m-%d %H:%M}Z: no value in the item",
             level=logging.INFO)
        return None
    estimated = item.get("isEstimated")
    return [zone, moment, lifecycle, direct, renewable, low_carbon,
            np.nan if estimated is None else float(bool(estimated)), item.get("estimationMethod") or None]


def _number(value, high: float) -> float:
    """A number in 0..high, else NaN (a missing or absurd value is not stored)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return np.nan
    return number if 0 <= number <= high else np.nan


def _query(payload: Payload, name: str) -> str | None:
    values = parse_qs(urlsplit(payload.name).query).get(name)
    return values[0] if values else None
