"""Electricity Maps API v3: carbon intensity (life-cycle and direct) and renewable and
low-carbon shares, reported as intensity, per zone and hour.

Documented at https://docs.electricitymaps.com and in the API reference of
portal.electricitymaps.com (API v3; root https://api.electricitymaps.com,
`ELECTRICITYMAPS_BASE_URL` overrides it). Every request sends the token from
`ELECTRICITYMAPS_TOKEN` in the `auth-token` header (never in a URL, so never archived or
logged). Bodies read here:

- `GET /v3/zones`: {"DE": {"zoneName": "Germany"}, "US-CAL-CISO": {"countryName": "United States
  of America", "zoneName": ...}, ...}: the zones, with their names (a zone outside our regions
  becomes a region so named). Asked with a token, it lists the zones that token may read, each
  with "access": the endpoints it may use there ("*": all); where it does, a zone it does not
  list is not asked for, nor an endpoint it does not list.
- `GET /v3/carbon-intensity/latest?zone=Z&emissionFactorType=lifecycle|direct`: one object
  {"zone", "carbonIntensity", "datetime", "updatedAt", "createdAt", "emissionFactorType",
  "isEstimated", "estimationMethod"}; `/history` (the last 24 hours) wraps such objects in
  {"zone", "history": [...]}, `/past-range?start&end` in {"zone", "data": [...]}: at most 10
  days (240 hours) of hours a request, so a request here spans 9 days at most and ends on the
  hour. A container may say "temporalGranularity" beside its list (never inside an item): any
  other than "hourly" is refused.
- `GET /v3/power-breakdown/latest|history|past-range`: the same containers of objects with
  "renewablePercentage" and "fossilFreePercentage" (0-100; fossil-free is the export's
  "Low Carbon Percentage"), which become renewable_share and low_carbon_share (0-1).

Plans. The free plan reads `latest` and `history` (24 hours) of one zone; `past-range` (so a
gap over a day, and `backfill`) needs a commercial plan. A run asks `past-range` only where the
token has it: refused once (HTTP 403 while `history` of the same zone answers), it is not asked
again for a week (crawler/memory.py; `status` says so). A sandbox token answers HTTP 200 with
synthetic values (`estimationMethod` "SANDBOX_MODE_DATA", a `_disclaimer` saying "SANDBOX
MODE"): such a body is refused, nothing of the run is stored, and `status` says why. Each run
notes how many requests it made. A 403 says "Access denied" for a bad token as for a zone or
endpoint outside the plan, so its message names both.

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
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

from crawler.http import FetchError, HttpClient, base_url
from crawler.memory import fingerprint
from crawler.model import READING_COLUMNS, REPORTED_COLUMNS, ParseError, ParseResult, Payload, empty_frame, note
from crawler.source import SourceSpec
from energy_data.http import redact

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
    backfill="past-range, 9 days a chunk (a plan with past-range only)",
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
PAST_RANGE_LIMIT = timedelta(days=10)  # the most past-range answers with hourly data (240 hours)
PAST_RANGE_DAYS = 9  # a request spans this at most: under the limit, whether `end` counts or not
PAST_RANGE = "carbon-intensity/past-range"  # as /v3/zones names the endpoint in "access"
PAST_RANGE_RETRY = timedelta(days=7)  # a refused past-range is asked again after this (plans change)
HISTORY_SPAN = timedelta(hours=24)
SANDBOX_METHOD, SANDBOX_MARKER = "SANDBOX_MODE_DATA", "SANDBOX MODE"
MAX_G_PER_KWH = 5000.0  # as the CSV importer: a larger figure is a unit error, not an intensity


class Refused(FetchError):
    """HTTP 403: the token may not read this zone or endpoint, or is no valid token at all."""

    def __init__(self, message: str, said: str = ""):
        super().__init__(message)
        self.said = said  # what the body said, shortly


class SandboxData(FetchError):
    """A body of synthetic sandbox data: the token is a sandbox one and no body of it is stored."""


def zones() -> list[str]:
    """The zones to crawl: ELECTRICITYMAPS_ZONES (comma list), else those of our ISO regions."""
    configured = [z.strip().upper() for z in os.environ.get(ZONES_VARIABLE, "").split(",") if z.strip()]
    return configured or list(DEFAULT_ZONES)


# -- fetch ----------------------------------------------------------------------------------

def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Zones, then per zone the hours since the last success: `latest` within its hour,
    `history` (the last 24 hours, catching revisions) later that day and on a first run, and
    after a longer gap `past-range` from it (9 days at most, to the last full hour) where the
    token has past-range, else `history`; hours left out are noted (the run is partial)."""
    account = _account()
    reached: dict[str, datetime] = {}  # after a gap: how far back the zones reached, by why not further
    try:
        payloads = _remembering_sandbox(client, account, now, lambda: _fetch_zones(
            client, lambda zone, access: _since(client, zone, access, now, last_success, account, reached),
            lenient=True))
    finally:
        per_hour = client.requests * 60 // FREQUENCY_MINUTES
        client.memory.remember("requests", account, f"{client.requests} in the last run; at a run every "
                               f"{FREQUENCY_MINUTES} min about {per_hour:,} an hour, {per_hour * 24:,} a day", now)
    _note_missed_hours(client, last_success, reached)
    return payloads


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Pieces of at most 9 days: past-range answers 10 at most."""
    chunks, day = [], start
    while day < end:
        chunks.append((day, min(day + timedelta(days=PAST_RANGE_DAYS), end)))
        day = chunks[-1][1]
    return chunks


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """The bodies of [start, end) (9 days at most) by past-range; any failure fails the chunk,
    at once where the token is known to lack past-range."""
    account, now = _account(), datetime.now(timezone.utc)
    refused = _past_range_refusal(client, account, now)
    if refused is not None:
        raise FetchError(f"past-range was refused to this token on {refused:%Y-%m-%d %H:%M}Z (not asked again "
                         f"before {refused + PAST_RANGE_RETRY:%Y-%m-%d}): backfill needs a plan with past-range")
    first = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
    last = datetime(end.year, end.month, end.day, tzinfo=timezone.utc)

    def fetch_zone(zone: str, access: frozenset[str] | None) -> list[Payload]:
        if not _allows(access, PAST_RANGE):
            raise FetchError(f"/v3/zones does not list past-range among this token's endpoints for {zone}")
        return _past_range(client, zone, first, last)
    return _remembering_sandbox(client, account, now, lambda: _fetch_zones(client, fetch_zone, lenient=False))


def _since(client: HttpClient, zone: str, access: frozenset[str] | None, now: datetime,
           last_success: datetime | None, account: str, reached: dict[str, datetime]) -> list[Payload]:
    """One zone's bodies for a run (see fetch_latest); after a gap, how far back they reach."""
    if last_success is not None and now - last_success <= HISTORY_SPAN:
        return _simple(client, zone, "latest" if _floor_hour(last_success) == _floor_hour(now) else "history")
    if last_success is None:
        return _simple(client, zone, "history")
    end = _floor_hour(now)
    start = max(_floor_hour(last_success), end - timedelta(days=PAST_RANGE_DAYS))
    if not _allows(access, PAST_RANGE):
        why = "/v3/zones does not list past-range among this token's endpoints"
    elif _past_range_refusal(client, account, now):
        why = "this token has no past-range"
    else:
        try:
            bodies = _past_range(client, zone, start, end)
        except Refused as refusal:
            bodies = _simple(client, zone, "history")  # refused too: the token or zone is at fault, not the plan
            client.memory.remember("past-range", account, f"refused (HTTP 403{refusal.said} for {zone}, whose history "
                                   "answered): runs read latest and history (24 h); longer gaps and backfill need a "
                                   f"plan with past-range; asked again after {now + PAST_RANGE_RETRY:%Y-%m-%d}", now)
            reached["this token has no past-range"] = end - HISTORY_SPAN
            return bodies
        client.memory.forget("past-range")
        reached[f"a run reads {PAST_RANGE_DAYS} days back at most"] = start
        return bodies
    reached[why] = end - HISTORY_SPAN
    return _simple(client, zone, "history")


def _past_range_refusal(client: HttpClient, account: str, now: datetime) -> datetime | None:
    """When past-range was refused to this token, while that holds (a week)."""
    refusal = client.memory.recall("past-range", account)
    if refusal is None or now - refusal.noted_at >= PAST_RANGE_RETRY:
        return None
    return refusal.noted_at


def _note_missed_hours(client: HttpClient, last_success: datetime | None, reached: dict[str, datetime]) -> None:
    """After a gap, the hours some zone could not reach: noted (the run is partial), saying
    what fills them."""
    if not reached:
        return
    why, first = max(reached.items(), key=lambda item: item[1])
    missed = _floor_hour(last_success)
    if missed >= first:
        return
    client.note_error(f"{SOURCE}: hours {missed:%Y-%m-%d %H:%M}Z to {first:%Y-%m-%d %H:%M}Z were not fetched "
                      f"({why}): `python -m crawler backfill --source {SOURCE} --start {missed:%Y-%m-%d} --end "
                      f"{first + timedelta(days=1):%Y-%m-%d}` fills them"
                      + ("" if why.startswith("a run") else " on a plan with past-range"))


def _remembering_sandbox(client: HttpClient, account: str, now: datetime,
                         fetch: Callable[[], list[Payload]]) -> list[Payload]:
    """fetch(), noting a sandbox token (for `status`) when a body is sandbox data, and
    forgetting the note once a body is not."""
    try:
        payloads = fetch()
    except SandboxData as exc:
        client.memory.remember("sandbox", account, f"this token is a sandbox token: {exc}", now)
        raise
    client.memory.forget("sandbox")
    return payloads


def _fetch_zones(client: HttpClient, fetch_zone: Callable[[str, frozenset[str] | None], list[Payload]],
                 lenient: bool) -> list[Payload]:
    """The zones body, then each zone's bodies. `lenient`: a zone that fails is noted (the run is
    partial) and the others still count; sandbox data fails everything."""
    payloads = [_get(client, "/v3/zones", {})]
    access = _access(payloads[0])
    failures = []
    for zone in zones():
        try:
            if access is not None and zone not in access:
                raise FetchError(f"/v3/zones does not list {zone} among this token's zones "
                                 f"({', '.join(sorted(access)[:8])}{' ...' if len(access) > 8 else ''})")
            payloads.extend(fetch_zone(zone, None if access is None else access[zone]))
        except SandboxData:
            raise
        except FetchError as exc:
            if not lenient:
                raise
            failures.append(f"{zone}: {exc}")
    if len(payloads) == 1:
        raise FetchError("; ".join(failures) or "no zone to crawl")
    for failure in failures:
        client.note_error(f"{SOURCE} {failure}")
    return payloads


def _access(zones_payload: Payload) -> dict[str, frozenset[str]] | None:
    """Per zone, the endpoints /v3/zones lets the token use; None when it lists none (a body
    fetched without a token): then every zone and endpoint is asked."""
    try:
        body = json.loads(zones_payload.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    access = {str(key).upper(): frozenset(str(path).strip("/") for path in value["access"])
              for key, value in body.items() if isinstance(value, dict) and isinstance(value.get("access"), list)}
    return access or None


def _allows(access: frozenset[str] | None, endpoint: str) -> bool:
    return access is None or "*" in access or endpoint in access


def _simple(client: HttpClient, zone: str, kind: str) -> list[Payload]:
    """`latest` or `history` of both intensities and the power breakdown of one zone."""
    return ([_get(client, f"/v3/carbon-intensity/{kind}", {"zone": zone, "emissionFactorType": factor})
             for factor in FACTOR_TYPES]
            + [_get(client, f"/v3/power-breakdown/{kind}", {"zone": zone})])


def _past_range(client: HttpClient, zone: str, start: datetime, end: datetime) -> list[Payload]:
    if end - start > PAST_RANGE_LIMIT:  # never sent: the API refuses it, so a run asking it again would never end
        raise ValueError(f"past-range of {end - start} asked; the API answers {PAST_RANGE_LIMIT} at most")
    window = {"zone": zone, "start": _stamp(start), "end": _stamp(end)}
    return ([_get(client, "/v3/carbon-intensity/past-range", {**window, "emissionFactorType": factor})
             for factor in FACTOR_TYPES]
            + [_get(client, "/v3/power-breakdown/past-range", window)])


def _get(client: HttpClient, path: str, params: dict[str, str]) -> Payload:
    """A body of the API, or FetchError saying what to check (Refused for a 403, SandboxData
    for sandbox data)."""
    token = os.environ.get(TOKEN_VARIABLE)
    if not token:
        raise FetchError(f"{TOKEN_VARIABLE} not set")
    # 429 (rate limit) is retried by the session with backoff, honouring Retry-After.
    payload = client.get(f"{base_url(SOURCE, DEFAULT_BASE_URL)}{path}", params, headers={"auth-token": token},
                         accept_status=(200, 400, 401, 403, 404))
    where = f"{path}{_zone_of(params)}"
    if payload.http_status == 401:
        raise FetchError(f"Electricity Maps refused the token (HTTP 401 on {where}{_said(payload)}): "
                         f"check {TOKEN_VARIABLE}")
    if payload.http_status == 403:  # "Access denied" for a bad token as for a zone or endpoint outside the plan
        raise Refused(f"Electricity Maps refused access (HTTP 403 on {where}{_said(payload)}): check "
                      f"{TOKEN_VARIABLE}, and that its plan covers this zone and endpoint", _said(payload))
    if payload.http_status != 200:
        raise FetchError(f"HTTP {payload.http_status} on {where}{_said(payload)}")
    reason = sandbox_reason(_loaded(payload.body))
    if reason:
        raise SandboxData(f"Electricity Maps answered synthetic sandbox data on {where} ({reason}); nothing of the "
                          f"run was stored: set {TOKEN_VARIABLE} to a token with real data")
    return payload


def sandbox_reason(body: object) -> str | None:
    """Why a (decoded) body is sandbox data, or None: a `_disclaimer` saying "SANDBOX MODE", or
    an item whose estimationMethod is "SANDBOX_MODE_DATA" (what sandbox tokens answer)."""
    if not isinstance(body, dict):
        return None
    disclaimer = body.get("_disclaimer")
    if isinstance(disclaimer, str) and SANDBOX_MARKER in disclaimer.upper():
        return f"_disclaimer {' '.join(disclaimer.split())[:100]!r}"
    items = next((body[k] for k in ("history", "data", "forecast") if isinstance(body.get(k), list)), [body])
    if any(isinstance(item, dict) and item.get("estimationMethod") == SANDBOX_METHOD for item in items):
        return f"estimationMethod {SANDBOX_METHOD}"
    return None


def _loaded(body: bytes) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _said(payload: Payload) -> str:
    """What an error body says, shortly (its "error" or "message", else its start)."""
    body = _loaded(payload.body)
    text = next((body[k] for k in ("error", "message") if isinstance(body, dict) and isinstance(body.get(k), str)),
                None) or payload.body[:200].decode("utf-8", "replace")
    text = redact(" ".join(text.split()))[:120]
    return f': "{text}"' if text else ""


def _account() -> str:
    """Which token the memory's notes are about."""
    return fingerprint(os.environ.get(TOKEN_VARIABLE, ""))


def _zone_of(params: dict[str, str]) -> str:
    return f" for {params['zone']}" if "zone" in params else ""


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


# -- parse ----------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Rows of one body (zones, carbon-intensity or power-breakdown, any of latest, history
    and past-range); ParseError for a body of another shape, of another granularity than
    hourly, or of sandbox data (synthetic values, never stored)."""
    body = _json(payload)
    anomalies: list = []
    if isinstance(body, dict) and "error" in body and len(body) <= 2:
        raise ParseError(f"Electricity Maps answered an error: {str(body['error'])[:200]}")
    sandbox = sandbox_reason(body)
    if sandbox:
        raise ParseError(f"sandbox data ({sandbox}): synthetic values from a sandbox token, not stored")
    granularity = body.get("temporalGranularity", "hourly") if isinstance(body, dict) else "hourly"
    if granularity != "hourly":
        raise ParseError(f"temporalGranularity {granularity!r}: only hourly data is read")
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
