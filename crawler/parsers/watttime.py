"""WattTime v3: marginal operating emissions rate (co2_moer), a signal of its own.

Documented at https://docs.watttime.org (root https://api.watttime.org, `WATTTIME_BASE_URL`
overrides it). Login and the bearer token (cached until shortly before its 30 minutes run
out) are energy_data/watttime.py's, shared with the API; the login goes through that client's
own session, so its body (which holds the token) is never archived or logged. The bodies
archived and read here, for each region of `WATTTIME_REGIONS` (WattTime region names, default
CAISO_NORTH, the region every account reads in full):

- `GET /v3/historical?region&signal_type=co2_moer&start&end` (at most 32 days; `end` is
  inclusive, as the official client's chunks show: it ends each one a period early):
  {"data": [{"point_time": "2024-01-01T00:00:00+00:00", "value": 912.0}, ...],
   "meta": {"region", "signal_type": "co2_moer", "units": "lbs_co2_per_mwh",
            "data_point_period_seconds": 300, "model": {...}, "warnings": [...]}}
- `GET /v3/forecast?region&signal_type=co2_moer&horizon_hours=24`: the same, with
  meta.generated_at: the values are stored as forecasts issued then.
- `GET /v3/signal-index?region&signal_type=co2_moer`: the same, units "percentile" (0-100:
  where the current MOER stands within the forecast of the next 24 hours; v2's index compared
  it with the last 30 days instead).

`data_point_period_seconds` is 300 or 3600 (/v3/my-access gives each region's): `point_time`
is the start of a 5-minute or an hourly interval, UTC, and each row is stored with its own
interval length. lbs/MWh x 0.45359237 = g/kWh. MOER counts combustion emissions of the
marginal generators: it is stored in marginal_intensity and served as ?signal=marginal, never
mixed with average intensity. A WattTime region is stored on the region it is an alias of
(CAISO_NORTH: CISO); one not known becomes a region of its own. WattTime's sub-regions are
finer than balancing authorities, so name at most one per region of ours.

A refused token (401, or 403 with nginx's HTML page) is renewed by logging in again, once
per request; a 403 that still comes, as JSON, after a fresh login means this account has no
access to the region (a free account reads CAISO_NORTH only): that region fails, the run is
partial. Anything else refused after a fresh login fails the run, saying to check the account.
"""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from crawler.http import FetchError, HttpClient, base_url
from crawler.model import MARGINAL_COLUMNS, READING_COLUMNS, ParseError, ParseResult, Payload, empty_frame, note
from crawler.source import SourceSpec
from energy_data import watttime
from energy_data.http import redact

SPEC = SourceSpec(
    name="WATTTIME",
    module_name=__name__,
    description="WattTime v3 marginal emissions (co2_moer): historical, forecast, signal index; 5-minute or hourly",
    regions=("CISO",),  # CAISO_NORTH's, the default; WATTTIME_REGIONS may name others
    interval_minutes=5,  # most regions; an hourly region's rows carry 60
    frequency_minutes=15,
    stale_after_minutes=6 * 60,
    time_convention="point_time is the 5-minute (or hourly) interval START, UTC",
    backfill="historical, 30 days a chunk",
    requires_env=("WATTTIME_USERNAME", "WATTTIME_PASSWORD"),
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
DEFAULT_BASE_URL = watttime.DEFAULT_BASE_URL
SIGNAL_TYPE = watttime.SIGNAL_TYPE
REGIONS_VARIABLE = "WATTTIME_REGIONS"
DEFAULT_REGIONS = ("CAISO_NORTH",)
LBS_PER_MWH_TO_G_PER_KWH = 0.45359237  # 1 lb = 453.59237 g; 1 MWh = 1000 kWh
UNITS = {"lbs_co2_per_mwh": LBS_PER_MWH_TO_G_PER_KWH, "kg_co2_per_mwh": 1.0, "g_co2_per_kwh": 1.0}
HISTORICAL_DAYS = 30  # a request may span 32 days; pieces of 30 leave a margin
PERIODS = {300: 5, 3600: 60}  # data_point_period_seconds -> interval minutes (/v3/my-access: one of these)
LAST_POINT = timedelta(minutes=5)  # `end` is inclusive: a range [start, end) asks up to end less the shortest period
REVISION_SPAN = timedelta(hours=1)  # re-read before the last success: late values arrive
FIRST_SPAN = timedelta(hours=24)
FORECAST_HOURS = 24
MAX_G_PER_KWH = 5000.0


def regions() -> list[str]:
    """The WattTime regions to crawl: WATTTIME_REGIONS (comma list), else CAISO_NORTH."""
    configured = [r.strip().upper() for r in os.environ.get(REGIONS_VARIABLE, "").split(",") if r.strip()]
    return configured or list(DEFAULT_REGIONS)


# -- fetch ----------------------------------------------------------------------------------

def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Per region: historical since the last success (less an hour, for late values; a day on
    the first run; at most 30 days), the current forecast and the signal index."""
    start = now - FIRST_SPAN if last_success is None else last_success - REVISION_SPAN
    start = max(start, now - timedelta(days=HISTORICAL_DAYS))
    payloads, failures = [], []
    for region in regions():
        for path, params in (("/v3/historical", {"start": _stamp(start), "end": _stamp(now)}),
                             ("/v3/forecast", {"horizon_hours": FORECAST_HOURS}),
                             ("/v3/signal-index", {})):
            try:
                payloads.append(_get(client, path, {"region": region, "signal_type": SIGNAL_TYPE, **params}))
            except FetchError as exc:
                failures.append(f"{region} {path.rsplit('/', 1)[-1]}: {exc}")
            except watttime.WattTimeError as exc:  # login refused or unreachable: no request can succeed
                raise FetchError(str(exc)) from None
    if not payloads:
        raise FetchError("; ".join(failures))
    for failure in failures:  # a plan without this region's data answers 403: the run is partial
        client.note_error(f"{SOURCE} {failure}")
    return payloads


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Pieces of at most 30 days (historical answers up to 32)."""
    chunks, day = [], start
    while day < end:
        chunks.append((day, min(day + timedelta(days=HISTORICAL_DAYS), end)))
        day = chunks[-1][1]
    return chunks


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Historical values of [start, end) for every region; any failure fails the chunk. The
    API's `end` is inclusive, so the request ends 5 minutes before `end`: the last 5-minute
    point, or the last hourly one, of the day before."""
    last = datetime(end.year, end.month, end.day, tzinfo=timezone.utc) - LAST_POINT
    window = {"start": f"{start:%Y-%m-%d}T00:00Z", "end": _stamp(last)}
    try:
        return [_get(client, "/v3/historical", {"region": region, "signal_type": SIGNAL_TYPE, **window})
                for region in regions()]
    except watttime.WattTimeError as exc:
        raise FetchError(str(exc)) from None


class RegionRefused(FetchError):
    """A JSON 403 after a fresh login: this account has no access to the region (its plan)."""


def _get(client: HttpClient, path: str, params: dict) -> Payload:
    """GET with the shared bearer token, logging in again once if it was refused (401 or 403);
    RegionRefused for a JSON 403 after that, WattTimeError for any other refusal."""
    account = watttime.client()
    url = f"{base_url(SOURCE, DEFAULT_BASE_URL)}{path}"
    payload = client.get(url, params, headers=account.auth_header(), accept_status=(200, *watttime.REFUSED))
    if payload.http_status in watttime.REFUSED:  # expired or revoked (a 403 comes as an HTML page)
        payload = client.get(url, params, headers=account.auth_header(renew=True),
                             accept_status=(200, *watttime.REFUSED))
    if payload.http_status == 200:
        return payload
    said = _said(payload)
    if payload.http_status == 403 and said is not None:
        raise RegionRefused(f"no access to {params.get('region')} with this account (HTTP 403 after a fresh login: "
                            f"{said!r}); /v3/my-access lists what it may read (a free account: CAISO_NORTH)")
    what = (f"saying {said!r}" if said is not None
            else "an HTML page" if payload.body.lstrip()[:1] == b"<" else "no JSON")
    raise watttime.WattTimeError(f"WattTime refused a fresh token (HTTP {payload.http_status}, {what}, on {path}): "
                                 "check the account (WATTTIME_USERNAME, WATTTIME_PASSWORD) at WattTime")


def _said(payload: Payload) -> str | None:
    """What a JSON error body says (its "message", else "error"), shortly; None for no JSON."""
    try:
        body = json.loads(payload.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    text = next((str(body[k]) for k in ("message", "error") if body.get(k)), json.dumps(body))
    return redact(" ".join(text.split()))[:160]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


# -- parse ----------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Marginal rows of one historical, forecast or signal-index body (g/kWh); ParseError for
    a body of another shape, signal or unit."""
    body = _json(payload)
    meta, data = body.get("meta"), body.get("data")
    if not isinstance(meta, dict) or not isinstance(data, list):
        raise ParseError("not a WattTime v3 data body (no meta and data)")
    if meta.get("signal_type", SIGNAL_TYPE) != SIGNAL_TYPE:
        raise ParseError(f"signal_type {meta.get('signal_type')!r}, not {SIGNAL_TYPE}")
    period = meta.get("data_point_period_seconds", INTERVAL_MINUTES * 60)
    if period not in PERIODS:
        raise ParseError(f"data_point_period_seconds {period!r}: only 300 (5-minute) and 3600 (hourly) are read")
    minutes = PERIODS[period]
    region = str(meta.get("region") or "").upper()
    if not region:
        raise ParseError("meta.region is missing")
    units = str(meta.get("units") or "")
    is_index = units == "percentile" or urlsplit(payload.name).path.endswith("/signal-index")
    if not is_index and units not in UNITS:
        raise ParseError(f"units {units!r} not understood (known: {', '.join(UNITS)}, percentile)")
    issued = pd.to_datetime(meta.get("generated_at"), utc=True, errors="coerce") if not is_index else pd.NaT
    anomalies: list = []
    times = pd.to_datetime(pd.Series([p.get("point_time") if isinstance(p, dict) else None for p in data],
                                     dtype=object), utc=True, errors="coerce", format="ISO8601")
    values = pd.to_numeric(pd.Series([p.get("value") if isinstance(p, dict) else None for p in data],
                                     dtype=object), errors="coerce")
    if is_index:
        index, moer = values.where((values >= 0) & (values <= 100)), pd.Series(np.nan, index=values.index)
    else:
        moer, index = values * UNITS[units], pd.Series(np.nan, index=values.index)
        moer = moer.where((moer >= 0) & (moer <= MAX_G_PER_KWH))
    bad = times.isna() | (times != times.dt.floor(f"{minutes}min")) | (moer.isna() & index.isna())
    if bad.any():
        note(anomalies, SOURCE, "bad_row", f"{region}: {int(bad.sum())} points without a readable {minutes}-minute "
             "time or a plausible value skipped", int(bad.sum()))
    frame = pd.DataFrame({"zone": region, "timestamp": times, "moer_g_per_kwh": moer, "signal_index": index,
                          "forecast_issued_at": pd.Series(issued, index=values.index, dtype="datetime64[ns, UTC]"),
                          "interval_minutes": minutes},
                         columns=MARGINAL_COLUMNS)[~bad].reset_index(drop=True)
    return ParseResult(empty_frame(READING_COLUMNS), minutes, anomalies=anomalies, marginal=frame)


def _json(payload: Payload) -> dict:
    try:
        body = json.loads(payload.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"not JSON ({exc}): {payload.body[:60].decode('utf-8', 'replace')!r}") from None
    if not isinstance(body, dict):
        raise ParseError("not a JSON object")
    return body
