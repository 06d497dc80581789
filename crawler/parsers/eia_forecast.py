"""EIA-930 day-ahead demand forecast (type DF) of every US balancing authority (EIA API v2).

`<base>/electricity/rto/region-data/data/?frequency=hourly&data[0]=value&facets[type][]=DF
&facets[respondent][]=CISO&...`, paged by `offset` like the EIA source (crawler.parsers.eia,
whose key handling, EIA_API_KEY and EIA_RESPONDENTS this source shares): `{"response":
{"data": [{"period": "2025-03-10T05", "respondent": "CISO", "type": "DF", "value": "23456",
"value-units": "megawatthours"}, ...]}}`. `period` is the hour ENDING in UTC (the hour's start
for the respondents of eia.HOUR_START_RESPONDENTS); the value is MWh over the hour, its mean MW.

Issue time: EIA-930's instructions have each balancing authority post "the prior day's hourly
day-ahead demand forecast for today" by 7:00 a.m. Eastern time. So a value for an hour of day D
(its Eastern date, never earlier than the balancing authority's own) is known by D 07:00
Eastern: that, or the fetch time if earlier (a forecast for tomorrow fetched today).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from crawler.bodies import load_json
from crawler.chunks import month_chunks
from crawler.forecast_inputs import known_by, operator_rows
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import OPERATOR_FORECAST_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, \
    empty_frame, note
from crawler.parsers import eia
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="EIA_FORECAST",
    module_name=__name__,
    description="EIA-930 day-ahead demand forecast (DF), every US balancing authority",
    regions=eia.RESPONDENTS,
    interval_minutes=60,
    frequency_minutes=60,
    stale_after_minutes=36 * 60,
    time_convention="period is the hour ENDING in UTC; issued_at = 07:00 Eastern of the hour's Eastern date, "
                    "or the fetch time if earlier",
    backfill="calendar months",
    requires_env=(eia.KEY_VARIABLE,),
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
DEFAULT_BASE_URL = eia.DEFAULT_BASE_URL
ROUTE = "/electricity/rto/region-data/data/"
EASTERN = ZoneInfo("America/New_York")
POSTED_BY = time(7, 0)  # Eastern, on the day the forecast is for
HOUR = pd.Timedelta(hours=1)
# Each run reads yesterday to the day after tomorrow (forecasts are revised and late).
BEHIND, AHEAD = timedelta(hours=24), timedelta(hours=48)


def parse(payload: Payload) -> ParseResult:
    """One region-data page into load forecasts; rows of another type are left out."""
    anomalies: list[Anomaly] = []
    rows = eia._data_rows(load_json(payload, SOURCE), anomalies)
    table = pd.DataFrame.from_records(rows)
    if table.empty:
        frame = empty_frame(OPERATOR_FORECAST_COLUMNS)
    else:
        frame = _forecasts(table, payload, anomalies)
    return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES, anomalies=anomalies,
                       operator_forecasts=frame)


def _forecasts(table: pd.DataFrame, payload: Payload, anomalies: list[Anomaly]) -> pd.DataFrame:
    missing = [k for k in ("period", "respondent", "type", "value") if k not in table]
    if missing:
        raise ParseError(f"{SOURCE}: region-data rows lack {missing} (row keys: {sorted(table.columns)})")
    table = table[table["type"] == "DF"]
    known = table["respondent"].isin(eia.RESPONDENTS)
    if not known.all():
        others = ", ".join(sorted(set(table.loc[~known, "respondent"].astype(str))))
        note(anomalies, SOURCE, "unknown_region", f"{int((~known).sum())} rows of respondents not in the region "
             f"list ({others}) skipped", int((~known).sum()))
        table = table[known]
    labels = pd.to_datetime(table["period"], format="%Y-%m-%dT%H", errors="coerce", utc=True)
    hour_start = table["respondent"].isin(eia.HOUR_START_RESPONDENTS).to_numpy()
    starts = pd.Series(np.where(hour_start, labels, labels - HOUR), index=table.index).astype("datetime64[ns, UTC]")
    eastern_days = starts.dt.tz_convert(EASTERN).dt.tz_localize(None).dt.normalize()
    posted = (eastern_days + pd.Timedelta(hours=POSTED_BY.hour)).dt.tz_localize(EASTERN).dt.tz_convert("UTC")
    issued = posted if payload.fetched_at is None else posted.clip(upper=known_by(payload))
    frames = [operator_rows(SOURCE, region, "load", issued[part.index], starts[part.index], part["value"], anomalies)
              for region, part in table.groupby("respondent")]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty_frame(OPERATOR_FORECAST_COLUMNS)


def data_url() -> str:
    """The region-data endpoint (EIA_FORECAST_BASE_URL points it at a mirror or a test server)."""
    return base_url(SOURCE, DEFAULT_BASE_URL) + ROUTE


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    hour = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return _fetch(client, hour - BEHIND, hour + AHEAD)


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    return month_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    first = datetime.combine(start, time(0), timezone.utc) + HOUR.to_pytimedelta()
    return _fetch(client, first, datetime.combine(end, time(0), timezone.utc))


def _fetch(client: HttpClient, first: datetime, last: datetime) -> list[Payload]:
    """All pages of the DF rows of every chosen respondent for periods first..last."""
    key = eia._api_key()
    payloads: list[Payload] = []
    offset = 0
    while len(payloads) < eia.MAX_PAGES:
        params = {"frequency": "hourly", "data[0]": "value", "facets[type][]": "DF",
                  "facets[respondent][]": list(eia.respondents()), "start": f"{first:%Y-%m-%dT%H}",
                  "end": f"{last:%Y-%m-%dT%H}", "sort[0][column]": "period", "sort[0][direction]": "asc",
                  "offset": offset, "length": eia.PAGE_LENGTH}
        payload = client.get(data_url(), params=params, secret_params={"api_key": key})
        payloads.append(payload)
        rows, total = eia._page_counts(payload.body)
        offset += rows
        if rows == 0 or offset >= total:
            return payloads
    raise FetchError(f"{SOURCE}: more than {eia.MAX_PAGES} pages of {eia.PAGE_LENGTH} rows")
