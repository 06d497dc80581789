"""Open-Meteo hourly weather forecasts (keyless) at the points of energy_data/data/weather_points.csv.

Live, every hour, one request per region: `<base>/v1/forecast?latitude=<a,b,..>&longitude=<..>
&hourly=wind_speed_10m,wind_speed_100m,temperature_2m,dew_point_2m,shortwave_radiation,cloud_cover,
precipitation&forecast_hours=96&timezone=GMT&wind_speed_unit=ms`. With several coordinates the
answer is a JSON list of one object per coordinate, in the order asked (a single coordinate
gives the bare object): `{"latitude": .., "longitude": .. (the model's grid cell),
"utc_offset_seconds": 0, "hourly_units": {..}, "hourly": {"time": ["2025-03-10T00:00", ..],
"<variable>": [..]}}`; an error is `{"error": true, "reason": ".."}`. The body does not name
its points: they are read from the coordinates of the request (the payload's URL).

Time: `time` labels an instant in GMT. Temperature, dew point, wind and cloud cover are
instantaneous values at that instant, stored for the hour starting there; short-wave radiation
(mean) and precipitation (sum) cover the hour BEFORE their label, so they are stored for the
hour starting one hour earlier (our stamps are interval starts).

Issue time. Live: the fetch time; Open-Meteo serves its newest model run and states no run
time, so the fetch is the earliest moment we can vouch for. Backfill: the previous-runs API
(`<base for PREVIOUS_RUNS>/v1/forecast`, variables `<variable>_previous_dayN`, N = 1..4 for the
96-hour horizon, archived from 2024 for most models), whose `_previous_dayN` value is the one
the model predicted N x 24 h before the valid time. The run behind it was initialised by then
and published some hours later (Open-Meteo states 4-6 h for global models), so a value of lead
N for the hour starting at t is stored as issued at t + 1 h - N days + PREVIOUS_RUN_DELAY (the
extra hour covers radiation and precipitation, labelled at the hour's end). The
historical-forecast API is not used: it stitches the first hours of each run, so its values
are known only about when they happen, too late to stand for a forecast.
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from crawler.bodies import load_json
from crawler.chunks import month_chunks
from crawler.forecast_inputs import known_by
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import READING_COLUMNS, WEATHER_FORECAST_COLUMNS, WEATHER_VARIABLES, Anomaly, ParseError, \
    ParseResult, Payload, empty_frame, note
from crawler.source import SourceSpec
from energy_data.weather_points import WeatherPoint, load_points, points_by_region

SPEC = SourceSpec(
    name="OPENMETEO",
    module_name=__name__,
    description="Open-Meteo hourly weather forecasts, next 96 hours, at each region's wind, solar and load points",
    regions=tuple(sorted(points_by_region())),
    interval_minutes=60,
    frequency_minutes=60,
    stale_after_minutes=6 * 60,
    time_convention="time is GMT; radiation and precipitation cover the hour before their label; "
                    "issued_at = fetch time (live) or valid time - N days + 8 h (previous runs, lead N)",
    backfill="calendar months of the previous-runs API (leads of 1-4 days; most models from 2024-01)",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
DEFAULT_BASE_URL = "https://api.open-meteo.com"
PREVIOUS_RUNS = "OPENMETEO_PREVIOUS_RUNS"  # its own host: OPENMETEO_PREVIOUS_RUNS_BASE_URL
DEFAULT_PREVIOUS_RUNS_URL = "https://previous-runs-api.open-meteo.com"
REGIONS_VARIABLE = "OPENMETEO_REGIONS"
HORIZON_HOURS = 96
LEAD_DAYS = (1, 2, 3, 4)
PREVIOUS_RUN_DELAY = timedelta(hours=8)
# Labelled at the end of the hour they describe.
PRECEDING_HOUR = frozenset({"shortwave_radiation", "precipitation"})
UNITS = {"wind_speed_10m": "m/s", "wind_speed_100m": "m/s", "temperature_2m": "°C", "dew_point_2m": "°C",
         "shortwave_radiation": "W/m²", "cloud_cover": "%", "precipitation": "mm"}
# The grid cell Open-Meteo answers with lies near the coordinate asked for; farther means the
# answers are not in the order of the request.
MAX_GRID_OFFSET_DEG = 0.5
HOUR = pd.Timedelta(hours=1)
_LEAD = re.compile(r"^(?P<variable>[a-z0-9_]+?)(?:_previous_day(?P<days>\d+))?$")


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Parse a forecast or previous-runs answer into weather rows by point (UTC hour starts)."""
    anomalies: list[Anomaly] = []
    doc = load_json(payload, SOURCE)
    if isinstance(doc, dict) and doc.get("error"):
        raise ParseError(f"{SOURCE}: API error: {doc.get('reason') or doc}")
    locations = doc if isinstance(doc, list) else [doc]
    points = _requested_points(payload, anomalies)
    if len(locations) != len(points):
        raise ParseError(f"{SOURCE}: {len(locations)} locations in the answer for {len(points)} coordinates asked")
    frames = [_location_rows(location, point, payload, anomalies)
              for location, point in zip(locations, points) if point is not None]
    frames = [f for f in frames if not f.empty]
    rows = pd.concat(frames, ignore_index=True) if frames else empty_frame(WEATHER_FORECAST_COLUMNS)
    return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES,
                       anomalies=anomalies, weather_forecasts=rows[WEATHER_FORECAST_COLUMNS])


def _requested_points(payload: Payload, anomalies: list[Anomaly]) -> list[WeatherPoint | None]:
    """The points asked for, from the request's latitude and longitude lists (None: a
    coordinate no point of the data file has any more)."""
    query = parse_qs(urlsplit(payload.name).query)
    try:
        latitudes = [float(x) for x in ",".join(query["latitude"]).split(",")]
        longitudes = [float(x) for x in ",".join(query["longitude"]).split(",")]
    except (KeyError, ValueError):
        raise ParseError(f"{SOURCE}: cannot tell the points: the payload name {payload.name!r} is not a request "
                         "URL with latitude and longitude lists") from None
    if len(latitudes) != len(longitudes):
        raise ParseError(f"{SOURCE}: {len(latitudes)} latitudes but {len(longitudes)} longitudes in {payload.name}")
    by_place = {(round(p.latitude, 4), round(p.longitude, 4)): p for p in load_points()}
    found = [by_place.get((round(lat, 4), round(lon, 4))) for lat, lon in zip(latitudes, longitudes)]
    missing = [f"{lat},{lon}" for (lat, lon), p in zip(zip(latitudes, longitudes), found) if p is None]
    if missing:
        note(anomalies, SOURCE, "unknown_point", f"coordinates of no weather point skipped: {'; '.join(missing)}",
             len(missing))
    return found


def _location_rows(location: object, point: WeatherPoint, payload: Payload, anomalies: list[Anomaly]) -> pd.DataFrame:
    if not isinstance(location, dict) or not isinstance(location.get("hourly"), dict):
        raise ParseError(f"{SOURCE}: a location without an 'hourly' object "
                         f"(keys: {sorted(location) if isinstance(location, dict) else type(location).__name__})")
    _check_grid_cell(location, point)
    hourly, units = location["hourly"], location.get("hourly_units") or {}
    labels = _label_times(hourly.get("time"), location.get("utc_offset_seconds", 0))
    fetched = None
    parts = []
    for key, values in hourly.items():
        if key == "time":
            continue
        match = _LEAD.match(key)
        variable, lead = (match.group("variable"), match.group("days")) if match else (key, None)
        if variable not in UNITS:
            continue  # a variable we did not ask for
        if units.get(key, UNITS[variable]) != UNITS[variable]:
            raise ParseError(f"{SOURCE}: {key} in {units[key]!r}, expected {UNITS[variable]!r} "
                             "(ask wind_speed_unit=ms and the default units)")
        if not isinstance(values, list) or len(values) != len(labels):
            raise ParseError(f"{SOURCE}: {key} holds {len(values) if isinstance(values, list) else 'no'} values "
                             f"for {len(labels)} times")
        starts = labels - HOUR if variable in PRECEDING_HOUR else labels
        if lead is None:
            fetched = fetched if fetched is not None else known_by(payload)
            issued = pd.DatetimeIndex([fetched] * len(starts))
        else:
            issued = starts + HOUR - pd.Timedelta(days=int(lead)) + PREVIOUS_RUN_DELAY
        parts.append(pd.DataFrame({"timestamp": starts, "issued_at": issued, "variable": variable,
                                   "value": pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
                                   .astype("float64").to_numpy()}))
    if not parts:
        return empty_frame(WEATHER_FORECAST_COLUMNS)
    long = pd.concat(parts, ignore_index=True).dropna(subset=["value"])
    if long.empty:
        note(anomalies, SOURCE, "missing_value", f"{point.point}: every value null")
        return empty_frame(WEATHER_FORECAST_COLUMNS)
    wide = long.pivot_table(index=["timestamp", "issued_at"], columns="variable", values="value", aggfunc="last")
    wide = wide.reindex(columns=list(WEATHER_VARIABLES)).reset_index()
    wide.insert(0, "point", point.point)
    return wide[WEATHER_FORECAST_COLUMNS]


def _check_grid_cell(location: dict, point: WeatherPoint) -> None:
    try:
        offset = max(abs(float(location["latitude"]) - point.latitude), abs(float(location["longitude"]) - point.longitude))
    except (KeyError, TypeError, ValueError):
        return  # no coordinates to check against; the order of the request stands
    if offset > MAX_GRID_OFFSET_DEG:
        raise ParseError(f"{SOURCE}: answer at {location['latitude']},{location['longitude']} for point "
                         f"{point.point} at {point.latitude},{point.longitude}: locations out of order?")


def _label_times(times: object, offset_seconds: object) -> pd.DatetimeIndex:
    if not isinstance(times, list) or not times:
        raise ParseError(f"{SOURCE}: 'hourly.time' is not a list of times")
    local = pd.to_datetime(pd.Series(times, dtype=object), format="%Y-%m-%dT%H:%M", errors="coerce")
    if local.isna().any():
        raise ParseError(f"{SOURCE}: unreadable times in 'hourly.time', e.g. {times[int(local.isna().argmax())]!r} "
                         "(ask timeformat=iso8601, the default)")
    utc = local - pd.Timedelta(seconds=int(offset_seconds or 0))
    return pd.DatetimeIndex(utc).tz_localize("UTC").astype("datetime64[ns, UTC]")


# -- fetch ------------------------------------------------------------------------------

def forecast_url() -> str:
    """The forecast endpoint (OPENMETEO_BASE_URL points it at a mirror or a test server)."""
    return base_url(SOURCE, DEFAULT_BASE_URL) + "/v1/forecast"


def previous_runs_url() -> str:
    return base_url(PREVIOUS_RUNS, DEFAULT_PREVIOUS_RUNS_URL) + "/v1/forecast"


def regions() -> list[str]:
    """The regions to fetch: every region of the points file, or the comma list in OPENMETEO_REGIONS."""
    known = points_by_region()
    wanted = [r.strip().upper() for r in os.environ.get(REGIONS_VARIABLE, "").split(",") if r.strip()]
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise FetchError(f"{REGIONS_VARIABLE} names regions without weather points: {', '.join(unknown)}")
    return wanted or list(known)


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """The next 96 hours at every point, one request per region; a region that fails is noted."""
    params = {"hourly": ",".join(WEATHER_VARIABLES), "forecast_hours": HORIZON_HOURS}
    return _fetch_regions(client, forecast_url(), params, keep_partial=True)


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Calendar months: per region about 744 hours x 28 series, well under a megabyte."""
    return month_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Leads of 1-4 days for the hours of [start, end), every region; any failure fails the chunk."""
    hourly = [f"{variable}_previous_day{days}" for days in LEAD_DAYS for variable in WEATHER_VARIABLES]
    params = {"hourly": ",".join(hourly), "start_date": f"{start:%Y-%m-%d}",
              "end_date": f"{end - timedelta(days=1):%Y-%m-%d}"}  # Open-Meteo's end_date is inclusive
    return _fetch_regions(client, previous_runs_url(), params, keep_partial=False)


def _fetch_regions(client: HttpClient, url: str, params: dict, keep_partial: bool) -> list[Payload]:
    payloads, failures = [], []
    chosen = regions()
    by_region = points_by_region()
    for region in chosen:
        points = by_region[region]
        query = {"latitude": ",".join(f"{p.latitude:g}" for p in points),
                 "longitude": ",".join(f"{p.longitude:g}" for p in points),
                 **params, "timezone": "GMT", "wind_speed_unit": "ms"}
        try:
            payloads.append(client.get(url, params=query))
        except FetchError as exc:
            if not keep_partial:
                raise FetchError(f"{SOURCE} {region}: {exc}") from None
            failures.append(f"{SOURCE} {region}: {exc}")
            client.note_error(failures[-1])
    if len(failures) == len(chosen):
        raise FetchError(f"{SOURCE}: all {len(chosen)} regions failed, e.g. {failures[0]}")
    return payloads
