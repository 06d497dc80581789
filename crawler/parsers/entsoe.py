"""ENTSO-E Transparency Platform: generation per production type, load, cross-border flows and
the operators' wind, solar and load forecasts of every European bidding zone.

REST API at `web-api.tp.entsoe.eu/api` (ENTSOE_BASE_URL overrides it), documented in the
platform's "Transparency Platform RESTful API - user guide". Every request carries the free
token of a platform account (`ENTSOE_TOKEN`) as `securityToken`, shown as REDACTED in every
stored URL; periods are `periodStart`/`periodEnd` in UTC (yyyyMMddHHmm). Queries read here:

- documentType A75, processType A16, in_Domain: actual generation per production type
  (regulation 543/2013 art. 16.1.B&C);
- documentType A65, processType A16 / A01, outBiddingZone_Domain: actual total load / its
  day-ahead forecast (art. 6.1.A / 6.1.B);
- documentType A69, processType A01 (day ahead), A40 (intraday) or A18 (current), in_Domain:
  wind and solar generation forecast (art. 14.1.D);
- documentType A11, in_Domain + out_Domain: cross-border physical flow, out -> in (art. 12.1.G).

Bodies are IEC 62325 XML documents (GL_MarketDocument, Publication_MarketDocument): one
TimeSeries per production type (`MktPSRType/psrType`, B01..B20, B25) and area (an EIC code:
`inBiddingZone_Domain` for production, `outBiddingZone_Domain` for consumption and load,
`in_Domain`/`out_Domain` for flows), each with Periods of their own resolution (PT15M, PT30M,
PT60M). A Point's `position` counts intervals from the Period's start, which is UTC; curveType
A01 gives every interval its point, A03 omits repeats (a point holds until the next one).
A query with no data answers an Acknowledgement_MarketDocument with reason 999.

Every series is stored as hourly means (MW over the hour = MWh), whatever its resolution: an
hour is kept only when each of its intervals is in the body, for every series of the zone, so
that no stored hour is a partial mix (the zone's quarter-hours and hours become one hourly
grid, which the API, the forecasts and the scheduler share). Production types map to fuels in
PSR_FUELS. Consumption of a storage type (pumped storage B10 pumping, B25 charging) is stored
negative, netted with its discharge into one reading (hydro_storage, battery: kept apart from
hydro); consumption reported for any other type (a plant's own use) is not generation and is
left out, counted.
"""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from crawler.chunks import month_chunks
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import (
    FLOW_COLUMNS, LOAD_COLUMNS, OPERATOR_FORECAST_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult,
    Payload, empty_frame, fold_fuels, map_fuels, note,
)
from crawler.source import SourceSpec
from energy_data.fuels import STORAGE_FUELS

# Our region (Electricity Maps zone key) -> the EIC of the area its generation, load and
# forecasts are asked for: the bidding zone, or the control area where Electricity Maps' zone
# is one (DE and LU share the DE-LU bidding zone; IE and GB-NIR the SEM). The same codes are
# aliases of kind `eic` in database/migrations/0017_global_zones.sql.
ZONES: dict[str, str] = {
    "AL": "10YAL-KESH-----5", "AT": "10YAT-APG------L", "BA": "10YBA-JPCC-----D", "BE": "10YBE----------2",
    "BG": "10YCA-BULGARIA-R", "CH": "10YCH-SWISSGRIDZ", "CY": "10YCY-1001A0003J", "CZ": "10YCZ-CEPS-----N",
    "DE": "10Y1001A1001A83F", "DK-DK1": "10YDK-1--------W", "DK-DK2": "10YDK-2--------M",
    "EE": "10Y1001A1001A39I", "ES": "10YES-REE------0", "FI": "10YFI-1--------U", "FR": "10YFR-RTE------C",
    "GB-NIR": "10Y1001A1001A016", "GE": "10Y1001A1001B012", "GR": "10YGR-HTSO-----Y",
    "HR": "10YHR-HEP------M", "HU": "10YHU-MAVIR----U", "IE": "10YIE-1001A00010",
    "IT-NO": "10Y1001A1001A73I", "IT-CNO": "10Y1001A1001A70O", "IT-CSO": "10Y1001A1001A71M",
    "IT-SO": "10Y1001A1001A788", "IT-CA": "10Y1001C--00096J", "IT-SIC": "10Y1001A1001A75E",
    "IT-SAR": "10Y1001A1001A74G", "LT": "10YLT-1001A0008Q", "LU": "10YLU-CEGEDEL-NQ", "LV": "10YLV-1001A00074",
    "MD": "10Y1001A1001A990", "ME": "10YCS-CG-TSO---S", "MK": "10YMK-MEPSO----8", "MT": "10Y1001A1001A93C",
    "NL": "10YNL----------L", "NO-NO1": "10YNO-1--------2", "NO-NO2": "10YNO-2--------T",
    "NO-NO3": "10YNO-3--------J", "NO-NO4": "10YNO-4--------9", "NO-NO5": "10Y1001A1001A48H",
    "PL": "10YPL-AREA-----S", "PT": "10YPT-REN------W", "RO": "10YRO-TEL------P", "RS": "10YCS-SERBIATSOV",
    "SE-SE1": "10Y1001A1001A44P", "SE-SE2": "10Y1001A1001A45N", "SE-SE3": "10Y1001A1001A46L",
    "SE-SE4": "10Y1001A1001A47J", "SI": "10YSI-ELES-----O", "SK": "10YSK-SEPS-----K", "TR": "10YTR-TEIAS----W",
    "UA": "10Y1001C--000182", "XK": "10Y1001C--00100H",
}
# Flows are measured at bidding-zone borders: Germany's are the DE-LU bidding zone's. GB is no
# zone ENTSO-E publishes generation for since 2021, but the continental side of its borders
# still reports their flows.
FLOW_EICS: dict[str, str] = {**ZONES, "DE": "10Y1001A1001A82H", "GB": "10YGB----------A"}
# Every EIC a body may name -> our region (the Ukraine bidding zone besides its IPS area).
EIC_REGIONS: dict[str, str] = {**{eic: zone for zone, eic in FLOW_EICS.items()},
                               **{eic: zone for zone, eic in ZONES.items()}, "10Y1001C--00003F": "UA"}
# The borders whose physical flows are crawled, both ways: those of Electricity Maps' exchange
# list (electricitymaps-contrib config/exchanges, read 2026-08) between two of our zones, with
# Calabria (IT-CA, its own bidding zone since 2021) between Sicily and South Italy.
BORDERS: tuple[tuple[str, str], ...] = tuple(tuple(pair.split("_")) for pair in (
    "AL_GR AL_ME AL_RS AL_XK AT_CH AT_CZ AT_DE AT_HU AT_IT-NO AT_SI BA_HR BA_ME BA_RS BE_DE BE_FR BE_GB BE_LU "
    "BE_NL BG_GR BG_MK BG_RO BG_RS BG_TR CH_DE CH_FR CH_IT-NO CZ_DE CZ_PL CZ_SK DE_DK-DK1 DE_DK-DK2 DE_FR DE_LU "
    "DE_NL DE_NO-NO2 DE_PL DE_SE-SE4 DK-DK1_DK-DK2 DK-DK1_GB DK-DK1_NL DK-DK1_NO-NO2 DK-DK1_SE-SE3 DK-DK2_SE-SE4 "
    "EE_FI EE_LV ES_FR ES_PT FI_NO-NO4 FI_SE-SE1 FI_SE-SE3 FR_GB FR_IT-NO FR_LU GB-NIR_IE GB_GB-NIR GB_IE GB_NL "
    "GB_NO-NO2 GE_TR GR_IT-SO GR_MK GR_TR HR_HU HR_RS HR_SI HU_RO HU_RS HU_SI HU_SK HU_UA IT-CNO_IT-CSO "
    "IT-CNO_IT-NO IT-CSO_IT-SAR IT-CSO_IT-SO IT-CSO_ME IT-NO_SI IT-CA_IT-SIC IT-CA_IT-SO IT-SIC_MT LT_LV LT_PL "
    "LT_SE-SE4 MD_RO MD_UA ME_RS ME_XK MK_RS MK_XK NL_NO-NO2 NO-NO1_NO-NO2 NO-NO1_NO-NO3 NO-NO1_NO-NO5 "
    "NO-NO1_SE-SE3 NO-NO2_NO-NO5 NO-NO3_NO-NO4 NO-NO3_NO-NO5 NO-NO3_SE-SE2 NO-NO4_SE-SE1 NO-NO4_SE-SE2 PL_SE-SE4 "
    "PL_SK PL_UA RO_RS RO_UA RS_XK SE-SE1_SE-SE2 SE-SE2_SE-SE3 SE-SE3_SE-SE4 SK_UA").split())

SPEC = SourceSpec(
    name="ENTSOE",
    module_name=__name__,
    description="ENTSO-E Transparency Platform: generation per production type (A75), load (A65), physical "
                "flows (A11), wind/solar and load forecasts (A69, A65), every bidding zone; stored hourly",
    regions=tuple(ZONES),
    interval_minutes=60,
    frequency_minutes=60,
    # Most TSOs publish within an hour or two; a zone-wide stall of six hours is worth a look.
    stale_after_minutes=6 * 60,
    time_convention="Period start + (position - 1) x resolution, UTC; PT15M/PT30M/PT60M stored as hourly means",
    backfill="calendar months (the API allows a year per query)",
    requires_env=("ENTSOE_TOKEN",),
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
DEFAULT_BASE_URL = "https://web-api.tp.entsoe.eu/api"
TOKEN_VARIABLE = "ENTSOE_TOKEN"
ZONES_VARIABLE = "ENTSOE_ZONES"
HOUR = timedelta(hours=1)
# Each run re-reads the last 6 hours (TSOs fill in late quarter-hours), the first run of a UTC
# day the last 72 (revisions a day or two later, as Electricity Maps re-reads), and after an
# outage everything since the last success, up to a week.
LOOKBACK, REVISION_LOOKBACK, MAX_CATCH_UP = timedelta(hours=6), timedelta(hours=72), timedelta(days=7)
# Flows serve later work (consumption-based intensity), not the live mix: fetched once every six
# hours, the last 30 of them.
FLOW_EVERY, FLOW_WINDOW = timedelta(hours=6), timedelta(hours=30)
BRUSSELS = ZoneInfo("Europe/Brussels")
# Day-ahead forecasts are published by these times (Brussels) on the day before delivery
# (regulation 543/2013: wind and solar art. 14.1.D "no later than 18.00 Brussels time";
# load art. 6.1.B "two hours before the gate closure of the day-ahead market", 12.00 CET).
# A run after FORECASTS_AFTER fetches today's and tomorrow's.
WIND_SOLAR_DEADLINE, LOAD_DEADLINE, FORECASTS_AFTER = time(18), time(10), time(18, 30)
# Requests in flight at once (the platform allows 400 a minute per user).
CONCURRENCY = 4

# psrType -> fuel. Lignite, hard coal, oil shale and peat burn like coal; coal-derived gas
# (blast-furnace and coke-oven gas, emitting more per kWh than coal) is coal too, not gas.
# Waste (mostly municipal incineration) and "other renewable" (biogas, landfill and sewage
# gas) are biomass, as Electricity Maps files waste. Marine (tidal, wave) is water-driven with
# no combustion: hydro. "Other" (B20, mostly unnamed thermal) is other. Pumped storage (B10)
# is hydro_storage, apart from run-of-river (B11) and reservoirs (B12); B25 energy storage is
# battery.
PSR_FUELS = {
    "B01": "biomass", "B02": "coal", "B03": "coal", "B04": "gas", "B05": "coal", "B06": "oil", "B07": "coal",
    "B08": "coal", "B09": "geothermal", "B10": "hydro_storage", "B11": "hydro", "B12": "hydro", "B13": "hydro",
    "B14": "nuclear", "B15": "biomass", "B16": "solar", "B17": "biomass", "B18": "wind", "B19": "wind",
    "B20": "other", "B25": "battery",
}
FORECAST_KINDS = {"B16": "solar", "B18": "wind", "B19": "wind"}
PROCESS_NAMES = {"A01": "day-ahead", "A16": "realised", "A18": "current", "A40": "intraday"}
NO_DATA_REASON = "999"
_RESOLUTION = re.compile(r"^PT(\d+)([MH])$")


# -- parse ----------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """One ENTSO-E document: A75 to hourly readings, A65 to load or load forecasts, A69 to
    wind and solar forecasts, A11 to flows; an acknowledgement of no data to nothing."""
    anomalies: list[Anomaly] = []
    root = _document(payload)
    kind = root.tag
    if kind == "Acknowledgement_MarketDocument":
        return _acknowledgement(root, anomalies)
    doc_type, process = root.findtext("type"), root.findtext("process.processType")
    series = root.findall("TimeSeries")
    if doc_type == "A75":
        readings = _generation(series, anomalies)
        return _result(anomalies, readings=readings)
    if doc_type == "A65" and process == "A16":
        return _result(anomalies, load=_load(series, anomalies))
    if doc_type == "A65" and process == "A01":
        return _result(anomalies, operator_forecasts=_load_forecast(series, _created(root), anomalies))
    if doc_type == "A69" and process in ("A01", "A40", "A18"):
        return _result(anomalies, operator_forecasts=_wind_solar_forecast(series, process, _created(root),
                                                                          anomalies))
    if doc_type == "A11":
        return _result(anomalies, flows=_flows(series, anomalies))
    what = f"documentType {doc_type}" + (f", processType {process}" if process else "")
    raise ParseError(f"{SOURCE}: {what} is not one this source reads (A75; A65 with A16 or A01; A69 with A01, "
                     "A40 or A18; A11)")


def _result(anomalies: list[Anomaly], readings: pd.DataFrame | None = None, **frames: pd.DataFrame) -> ParseResult:
    return ParseResult(readings=empty_frame(READING_COLUMNS) if readings is None else readings,
                       interval_minutes=INTERVAL_MINUTES, anomalies=anomalies, **frames)


def _document(payload: Payload) -> ET.Element:
    """The body's root element with namespaces stripped; ParseError for anything but XML."""
    body = payload.body.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not body:
        raise ParseError(f"{SOURCE}: empty body: no data at all")
    if body[:1] != b"<" or b"<html" in body[:2048].lower():
        raise ParseError(f"{SOURCE}: not an XML document (starts {body[:60]!r})")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ParseError(f"{SOURCE}: body is not well-formed XML, truncated download? ({exc})") from None
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return root


def _acknowledgement(root: ET.Element, anomalies: list[Anomaly]) -> ParseResult:
    """ENTSO-E's answer to a query it did not serve: reason 999 (no data for the area and
    period) is an empty success; any other reason is an error naming the platform's text."""
    reasons = [(r.findtext("code") or "", " ".join((r.findtext("text") or "").split())) for r in root.iter("Reason")]
    if reasons and all(code == NO_DATA_REASON for code, _ in reasons):
        note(anomalies, SOURCE, "no_data", f"no matching data: {reasons[0][1][:200]}")
        return _result(anomalies)
    text = "; ".join(f"{code}: {reason}" for code, reason in reasons) or "no reason given"
    raise ParseError(f"{SOURCE}: the platform refused the query ({text[:300]})")


def _created(root: ET.Element) -> pd.Timestamp:
    """When the platform made the document: forecasts were out by then at the latest."""
    return _utc(root.findtext("createdDateTime"))


def _utc(text: str | None) -> pd.Timestamp:
    stamp = pd.Timestamp((text or "").strip())
    if stamp is pd.NaT or stamp.tzinfo is None:
        raise ParseError(f"{SOURCE}: time {text!r} is not an aware ISO 8601 time")
    return stamp.tz_convert("UTC")


def _minutes(resolution: str | None) -> int:
    match = _RESOLUTION.match((resolution or "").strip())
    if not match:
        raise ParseError(f"{SOURCE}: resolution {resolution!r} is not PTnM or PTnH")
    minutes = int(match.group(1)) * (60 if match.group(2) == "H" else 1)
    if minutes <= 0 or 60 % minutes:
        raise ParseError(f"{SOURCE}: resolution {resolution!r} does not divide an hour")
    return minutes


def series_points(series: ET.Element, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Every interval of one TimeSeries as rows (start UTC, minutes, mw), at its Periods' own
    resolution; an A03 curve's omitted positions repeat the point before them."""
    compressed = (series.findtext("curveType") or "A01").strip() == "A03"
    frames = []
    for period in series.findall("Period"):
        start, end = _utc(period.findtext("timeInterval/start")), _utc(period.findtext("timeInterval/end"))
        minutes = _minutes(period.findtext("resolution"))
        count = int((end - start) / timedelta(minutes=minutes))
        points = [(int(p.findtext("position")), float(p.findtext("quantity"))) for p in period.findall("Point")]
        if not points:
            continue
        positions, values = np.array([p for p, _ in points]), np.array([v for _, v in points])
        order = np.argsort(positions, kind="stable")
        positions, values = positions[order], values[order]
        outside = (positions < 1) | (positions > count)
        if outside.any():
            note(anomalies, SOURCE, "malformed_row", f"{int(outside.sum())} points outside their Period skipped",
                 int(outside.sum()))
            positions, values = positions[~outside], values[~outside]
        if compressed and len(positions):
            runs = np.diff(np.append(positions, count + 1))
            positions = np.concatenate([np.arange(p, p + n) for p, n in zip(positions, runs)])
            values = np.repeat(values, runs)
        frames.append(pd.DataFrame({"start": start + pd.to_timedelta((positions - 1) * minutes, unit="min"),
                                    "minutes": minutes, "mw": values}))
    if not frames:
        return pd.DataFrame({"start": pd.Series(dtype="datetime64[ns, UTC]"), "minutes": pd.Series(dtype="int64"),
                             "mw": pd.Series(dtype="float64")})
    return pd.concat(frames, ignore_index=True)


def hourly_means(points: pd.DataFrame, keys: list[str], anomalies: list[Anomaly], what: str) -> pd.DataFrame:
    """Points (keys..., start, minutes, mw) as hourly means per keys: an hour only when its
    intervals cover all 60 minutes (the incomplete ones counted); a repeated interval keeps its last point."""
    if points.empty:
        return pd.DataFrame(columns=[*keys, "hour", "mw"])
    repeated = points.duplicated(subset=[*keys, "start"], keep="last")
    if repeated.any():
        note(anomalies, SOURCE, "duplicate_interval", f"{int(repeated.sum())} repeated {what} intervals; kept the last",
             int(repeated.sum()))
        points = points[~repeated]
    points = points.assign(hour=points["start"].dt.floor("h"), energy=points["mw"] * points["minutes"])
    grouped = points.groupby([*keys, "hour"], sort=True, as_index=False).agg(covered=("minutes", "sum"),
                                                                             energy=("energy", "sum"))
    whole = grouped["covered"] == 60
    if not whole.all():
        note(anomalies, SOURCE, "partial_hour", f"{int((~whole).sum())} {what} hours not wholly in the body left "
             "out", int((~whole).sum()))
    grouped = grouped[whole]
    return grouped.assign(mw=grouped["energy"] / 60.0)[[*keys, "hour", "mw"]].reset_index(drop=True)


def _region_of(eic: str | None, anomalies: list[Anomaly], count: int) -> str | None:
    region = EIC_REGIONS.get((eic or "").strip())
    if region is None:
        note(anomalies, SOURCE, "unknown_region", f"{count} points of area {eic!r}, no region of ours, skipped",
             count)
    return region


def _generation(series: list[ET.Element], anomalies: list[Anomaly]) -> pd.DataFrame:
    """A75: hourly readings per region and fuel, storage consumption netted in negative."""
    frames = []
    for element in series:
        psr = (element.findtext("MktPSRType/psrType") or "").strip()
        produced = element.findtext("inBiddingZone_Domain.mRID")
        eic = produced if produced is not None else element.findtext("outBiddingZone_Domain.mRID")
        points = series_points(element, anomalies)
        region = _region_of(eic, anomalies, len(points))
        if region is None or points.empty:
            continue
        consumption = produced is None
        if consumption and PSR_FUELS.get(psr) not in STORAGE_FUELS:
            note(anomalies, SOURCE, "consumption_not_generation", f"{region}: {len(points)} consumption points of "
                 f"{psr} (not storage) left out", len(points))
            continue
        frames.append(points.assign(region=region, psr=psr, sign=-1.0 if consumption else 1.0))
    if not frames:
        return empty_frame(READING_COLUMNS)
    hourly = _whole_hours(hourly_means(pd.concat(frames, ignore_index=True), ["region", "psr", "sign"], anomalies,
                                       "generation"), anomalies)
    if hourly.empty:
        return empty_frame(READING_COLUMNS)
    fuels = map_fuels(hourly["psr"], PSR_FUELS, SOURCE, anomalies)
    return fold_fuels(pd.DataFrame({"region": hourly["region"], "timestamp": hourly["hour"], "fuel": fuels,
                                    "mw": hourly["mw"] * hourly["sign"]}))


def _whole_hours(hourly: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """The hours of a region for which every series of that region in the body has a mean: a
    production type missing from an hour would make its mix look cleaner or dirtier than it was."""
    if hourly.empty:
        return hourly
    series_count = hourly.groupby("region")[["psr", "sign"]].apply(lambda f: len(f.drop_duplicates()))
    present = hourly.groupby(["region", "hour"])["psr"].transform("size")
    whole = present.to_numpy() == hourly["region"].map(series_count).to_numpy()
    if not whole.all():
        hours = hourly[~whole][["region", "hour"]].drop_duplicates()
        note(anomalies, SOURCE, "incomplete_interval", f"{len(hours)} hours lacking some production type of their "
             "zone left out", len(hours))
    return hourly[whole]


def _load(series: list[ET.Element], anomalies: list[Anomaly]) -> pd.DataFrame:
    """A65 realised: hourly total load per region."""
    hourly = _area_hourly(series, "outBiddingZone_Domain.mRID", anomalies, "load")
    if hourly.empty:
        return empty_frame(LOAD_COLUMNS)
    return pd.DataFrame({"region": hourly["region"], "timestamp": hourly["hour"], "mw": hourly["mw"]})


def _area_hourly(series: list[ET.Element], domain: str, anomalies: list[Anomaly], what: str,
                 key: str | None = None) -> pd.DataFrame:
    frames = []
    for element in series:
        points = series_points(element, anomalies)
        region = _region_of(element.findtext(domain), anomalies, len(points))
        if region is not None and len(points):
            extra = {"key": (element.findtext(key) or "").strip()} if key else {}
            frames.append(points.assign(region=region, **extra))
    if not frames:
        return pd.DataFrame(columns=["region", "hour", "mw"])
    return hourly_means(pd.concat(frames, ignore_index=True), ["region", *(["key"] if key else [])], anomalies, what)


def _load_forecast(series: list[ET.Element], created: pd.Timestamp, anomalies: list[Anomaly]) -> pd.DataFrame:
    """A65 day-ahead: the load forecast of each target hour, issued by the deadline."""
    hourly = _area_hourly(series, "outBiddingZone_Domain.mRID", anomalies, "load forecast")
    return _forecast_rows(hourly.assign(kind="load"), _issued_day_ahead(hourly["hour"], LOAD_DEADLINE, created))


def _wind_solar_forecast(series: list[ET.Element], process: str, created: pd.Timestamp,
                         anomalies: list[Anomaly]) -> pd.DataFrame:
    """A69: wind (onshore + offshore) and solar forecasts per target hour. Day-ahead ones count
    as issued by the publication deadline; intraday and current ones when the document was made."""
    hourly = _area_hourly(series, "inBiddingZone_Domain.mRID", anomalies, "wind/solar forecast",
                          key="MktPSRType/psrType")
    if hourly.empty:
        return empty_frame(OPERATOR_FORECAST_COLUMNS)
    kinds = hourly["key"].map(FORECAST_KINDS)
    if kinds.isna().any():
        note(anomalies, SOURCE, "unknown_fuel", f"{int(kinds.isna().sum())} forecast hours of production types "
             f"{sorted(set(hourly.loc[kinds.isna(), 'key']))} skipped", int(kinds.isna().sum()))
    hourly = hourly.assign(kind=kinds).dropna(subset=["kind"])
    # Wind is onshore plus offshore: an hour only when every wind series of the zone has it.
    counts = hourly.groupby(["region", "kind", "hour"])["key"].transform("size")
    expected = hourly.groupby(["region", "kind"])["key"].transform("nunique")
    hourly = hourly[counts == expected].groupby(["region", "kind", "hour"], as_index=False)["mw"].sum()
    issued = (_issued_day_ahead(hourly["hour"], WIND_SOLAR_DEADLINE, created) if process == "A01"
              else pd.Series(created, index=hourly.index))
    return _forecast_rows(hourly, issued)


def _issued_day_ahead(hours: pd.Series, deadline: time, created: pd.Timestamp) -> pd.Series:
    """When a day-ahead forecast of each target hour was out at the latest: its publication
    deadline on the day before (Brussels), or the document's creation if that came first."""
    if hours.empty:
        return pd.Series(dtype="datetime64[ns, UTC]")
    # Wall-clock arithmetic on the Brussels date: a day is not 24 hours on a clock change.
    days = hours.dt.tz_convert(BRUSSELS).dt.tz_localize(None).dt.normalize() - pd.Timedelta(days=1)
    deadlines = (days + pd.Timedelta(hours=deadline.hour, minutes=deadline.minute)
                 ).dt.tz_localize(BRUSSELS).dt.tz_convert("UTC")
    return deadlines.where(deadlines < created, created)


def _forecast_rows(hourly: pd.DataFrame, issued: pd.Series) -> pd.DataFrame:
    if hourly.empty:
        return empty_frame(OPERATOR_FORECAST_COLUMNS)
    return pd.DataFrame({"region": hourly["region"].to_numpy(), "issued_at": issued.to_numpy(),
                         "timestamp": hourly["hour"].to_numpy(), "kind": hourly["kind"].to_numpy(),
                         "mw": hourly["mw"].to_numpy()}).astype({"issued_at": "datetime64[ns, UTC]",
                                                                   "timestamp": "datetime64[ns, UTC]"})


def _flows(series: list[ET.Element], anomalies: list[Anomaly]) -> pd.DataFrame:
    """A11: hourly physical flow out_Domain -> in_Domain."""
    frames = []
    for element in series:
        points = series_points(element, anomalies)
        source = _region_of(element.findtext("out_Domain.mRID"), anomalies, len(points))
        target = _region_of(element.findtext("in_Domain.mRID"), anomalies, len(points))
        if source is None or target is None or points.empty:
            continue
        frames.append(points.assign(from_region=source, to_region=target))
    if not frames:
        return empty_frame(FLOW_COLUMNS)
    hourly = hourly_means(pd.concat(frames, ignore_index=True), ["from_region", "to_region"], anomalies, "flow")
    negative = hourly["mw"] < 0
    if negative.any():
        note(anomalies, SOURCE, "negative_flow", f"{int(negative.sum())} negative one-way flows left out",
             int(negative.sum()))
    hourly = hourly[~negative]
    return pd.DataFrame({"from_region": hourly["from_region"], "to_region": hourly["to_region"],
                         "timestamp": hourly["hour"], "mw": hourly["mw"]}).reset_index(drop=True)


# -- fetch ----------------------------------------------------------------------------------

def zones() -> list[str]:
    """The zones to crawl: ENTSOE_ZONES (comma list of region ids), else every zone."""
    wanted = [z.strip().upper() for z in os.environ.get(ZONES_VARIABLE, "").split(",") if z.strip()]
    unknown = sorted(set(wanted) - set(ZONES))
    if unknown:
        raise FetchError(f"{ZONES_VARIABLE} names zones ENTSO-E has no data for here: {', '.join(unknown)} "
                         f"(known: {', '.join(ZONES)})")
    return wanted or list(ZONES)


def api_url() -> str:
    return base_url(SOURCE, DEFAULT_BASE_URL)


def generation_query(zone: str, start: datetime, end: datetime) -> dict[str, str]:
    return {"documentType": "A75", "processType": "A16", "in_Domain": ZONES[zone], **_period(start, end)}


def load_query(zone: str, start: datetime, end: datetime, process: str = "A16") -> dict[str, str]:
    return {"documentType": "A65", "processType": process, "outBiddingZone_Domain": ZONES[zone],
            **_period(start, end)}


def wind_solar_query(zone: str, start: datetime, end: datetime, process: str = "A01") -> dict[str, str]:
    return {"documentType": "A69", "processType": process, "in_Domain": ZONES[zone], **_period(start, end)}


def flow_query(from_zone: str, to_zone: str, start: datetime, end: datetime) -> dict[str, str]:
    return {"documentType": "A11", "in_Domain": FLOW_EICS[to_zone], "out_Domain": FLOW_EICS[from_zone],
            **_period(start, end)}


def _period(start: datetime, end: datetime) -> dict[str, str]:
    return {"periodStart": f"{start.astimezone(timezone.utc):%Y%m%d%H%M}",
            "periodEnd": f"{end.astimezone(timezone.utc):%Y%m%d%H%M}"}


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Generation and load of every zone since a little before the last success; flows every
    six hours; the day-ahead forecasts once a day, after their publication."""
    chosen = zones()
    end = _floor(now, HOUR) + HOUR
    start = _floor(now, HOUR) - (REVISION_LOOKBACK if _passed(_floor(now, timedelta(days=1)), last_success)
                                 else LOOKBACK)
    if last_success is not None:
        start = min(start, _floor(last_success, HOUR) - LOOKBACK)
    start = max(start, _floor(now, HOUR) - MAX_CATCH_UP)
    queries = [(f"{zone} {what}", query(zone, start, end)) for zone in chosen
               for what, query in (("generation", generation_query), ("load", load_query))]
    if _passed(_floor(now, FLOW_EVERY), last_success):
        queries += _flow_queries(chosen, now - FLOW_WINDOW, end)
    if _passed(_latest_publication(now), last_success):
        queries += _forecast_queries(chosen, *_forecast_days(now))
    return fetch_queries(client, queries, lenient=True)


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Calendar months, the first and last clipped to [start, end)."""
    return month_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Every zone's generation, load and day-ahead forecasts, and every border's flows, of
    [start, end) (UTC days); any failure fails the chunk."""
    first = datetime.combine(start, time(0), timezone.utc)
    last = datetime.combine(end, time(0), timezone.utc)
    chosen = zones()
    queries = [(f"{zone} {what}", query(zone, first, last)) for zone in chosen
               for what, query in (("generation", generation_query), ("load", load_query))]
    queries += _forecast_queries(chosen, first, last) + _flow_queries(chosen, first, last)
    return fetch_queries(client, queries, lenient=False)


def _flow_queries(chosen: list[str], start: datetime, end: datetime) -> list[tuple[str, dict[str, str]]]:
    """Both directions of every border with a crawled zone on at least one side."""
    wanted = set(chosen)
    return [(f"flow {a}->{b}", flow_query(a, b, start, end)) for x, y in BORDERS if {x, y} & wanted
            for a, b in ((x, y), (y, x))]


def _forecast_queries(chosen: list[str], start: datetime, end: datetime) -> list[tuple[str, dict[str, str]]]:
    return [q for zone in chosen for q in ((f"{zone} load forecast", load_query(zone, start, end, "A01")),
                                           (f"{zone} wind/solar forecast", wind_solar_query(zone, start, end)))]


def _forecast_days(now: datetime) -> tuple[datetime, datetime]:
    """Today and tomorrow, Brussels days, as UTC times."""
    today = now.astimezone(BRUSSELS).date()
    return (datetime.combine(today, time(0), BRUSSELS).astimezone(timezone.utc),
            datetime.combine(today + timedelta(days=2), time(0), BRUSSELS).astimezone(timezone.utc))


def _latest_publication(now: datetime) -> datetime:
    """The newest FORECASTS_AFTER (Brussels) at or before now."""
    local = now.astimezone(BRUSSELS)
    moment = datetime.combine(local.date(), FORECASTS_AFTER, BRUSSELS)
    if moment > local:
        moment = datetime.combine(local.date() - timedelta(days=1), FORECASTS_AFTER, BRUSSELS)
    return moment.astimezone(timezone.utc)


def _passed(moment: datetime, last_success: datetime | None) -> bool:
    """True when `moment` came after the last success (or there was none)."""
    return last_success is None or last_success < moment


def _floor(moment: datetime, step: timedelta) -> datetime:
    moment = moment.astimezone(timezone.utc)
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return epoch + ((moment - epoch) // step) * step


def fetch_queries(client: HttpClient, queries: list[tuple[str, dict[str, str]]], lenient: bool) -> list[Payload]:
    """The bodies of the queries, CONCURRENCY at a time, in the order asked. `lenient`: a query
    that fails is noted on the client (the run is partial) and the rest still count; else the
    first failure raises. FetchError when nothing at all came back."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise FetchError(f"{TOKEN_VARIABLE} is not set")
    url = api_url()
    pool = ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="entsoe")
    try:
        # 400 is ENTSO-E's status for a query it answers with an acknowledgement (no data, or a
        # reason the query was refused): parse reads the reason from the body.
        futures = [pool.submit(client.get, url, params=params, secret_params={"securityToken": token},
                               accept_status=(200, 400)) for _, params in queries]
        payloads, failures = [], []
        for (label, _), future in zip(queries, futures):
            try:
                payloads.append(future.result())
            except FetchError as exc:
                if not lenient:
                    raise FetchError(f"{label}: {exc}") from None
                failures.append(f"{SOURCE} {label}: {exc}")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if not payloads:
        raise FetchError(f"all {len(failures)} queries failed, e.g. {failures[0]}" if failures else "nothing to fetch")
    for failure in failures:
        client.note_error(failure)
    return payloads
