"""Open Electricity (formerly OpenNEM) API v4: power by network region and fueltech for
Australia's National Electricity Market (NEM: New South Wales, Queensland, South Australia,
Tasmania, Victoria) and Western Australia's market (WEM).

`GET <base>/v4/data/network/{NEM|WEM}?metrics=power&interval=5m&date_start=...&date_end=...
&primary_grouping=network_region&secondary_grouping=fueltech` with the account's bearer token
(`OPENELECTRICITY_TOKEN`, sent in the Authorization header, so never in a stored URL).
Documented at docs.openelectricity.org.au (API reference "network data", "metrics", "data
limits": at most 8 days of 5-minute data per request). The body:

    {"version", "created_at", "success", "error", "data": [{"network_code": "NEM",
     "metric": "power", "unit": "MW", "interval": "5m", "results": [{"name": "power_NSW1|WIND",
     "columns": {"region": "NSW1", "fueltech": "WIND"}, "data": [["2025-07-10T21:15:00+10:00",
     2487.4], ...]}, ...]}]}

Time: each stamp is AEMO's settlement time, the END of the interval it describes (Open
Electricity's curtailment guide: "a timestamp of 14:35 represents the period from 14:30 to
14:35"), so the interval starts one `interval` earlier. Stamps carry their offset; NEM time is
AEST, UTC+10 all year (the market ignores daylight saving, so a January stamp 12:00+10:00 is
13:00 on Sydney's clocks), WEM time AWST, UTC+8. A stamp without an offset is read in that
network time, and requests name their range in it too. A body of a longer interval (30-minute
WEM history) stores each value on every 5-minute interval it covers (its mean power).

Fueltechs (FUELTECHS): generation maps to fuels; rooftop solar counts as solar (it supplies the
region's load as Open Electricity and Electricity Maps count it). Imports and exports are not
generation: they are the region's net imports (imports - exports). Storage is not generation
either: battery = discharging - charging (or `battery`, a net series, where a region has no
split ones: WEM lists it beside them for the same units, see _without_redundant_battery),
pumped-hydro pumping (`pumps`) is negative
hydro_storage (the pumped-hydro units' output is inside `hydro`, which Open Electricity does
not split). An interval is stored only when every generation fueltech of its region has a
value in it (WEM's rooftop estimate runs hours ahead of its metered units).
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd

from crawler.bodies import load_json
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import (
    NET_IMPORT_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, empty_frame, fold_fuels,
    map_fuels, note,
)
from crawler.source import SourceSpec

# Open Electricity's network region -> our region (Electricity Maps zone key).
REGIONS = {"NSW1": "AU-NSW", "QLD1": "AU-QLD", "SA1": "AU-SA", "TAS1": "AU-TAS", "VIC1": "AU-VIC",
           "WEM": "AU-WA"}
NETWORKS = {"NEM": timezone(timedelta(hours=10), "AEST"), "WEM": timezone(timedelta(hours=8), "AWST")}

SPEC = SourceSpec(
    name="OPENELECTRICITY",
    module_name=__name__,
    description="Open Electricity v4 power by network region and fueltech, NEM and WEM, 5-minute",
    regions=tuple(REGIONS.values()),
    interval_minutes=5,
    frequency_minutes=15,
    # WEM's metered units arrive hours late (its rooftop estimate runs ahead): a day without any
    # new interval is a stalled feed.
    stale_after_minutes=24 * 60,
    time_convention="stamp = interval END (AEMO settlement time); NEM UTC+10 and WEM UTC+8, no daylight saving",
    backfill="7 days a chunk (the API serves at most 8 days of 5-minute data)",
    requires_env=("OPENELECTRICITY_TOKEN",),
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
DEFAULT_BASE_URL = "https://api.openelectricity.org.au"
TOKEN_VARIABLE = "OPENELECTRICITY_TOKEN"
INTERVAL = timedelta(minutes=INTERVAL_MINUTES)
CHUNK_DAYS = 7
# Each run re-reads the last 3 hours of the NEM (rooftop estimates come in late) and the last
# day of the WEM (its metered units arrive hours late); after an outage, everything since the
# last success, up to one request's worth.
LOOKBACK = {"NEM": timedelta(hours=3), "WEM": timedelta(hours=24)}
MAX_CATCH_UP = timedelta(days=CHUNK_DAYS)

# Generation fueltechs (lower case; the API has written them in both cases) -> fuel.
FUELTECHS = {
    "coal_black": "coal", "coal_brown": "coal",
    "gas_ccgt": "gas", "gas_ocgt": "gas", "gas_recip": "gas", "gas_steam": "gas",
    "gas_wcmg": "gas",  # waste coal mine gas: methane burnt like natural gas
    "distillate": "oil",
    "hydro": "hydro",
    "wind": "wind", "wind_offshore": "wind",
    "solar_utility": "solar", "solar_rooftop": "solar", "solar_thermal": "solar", "solar": "solar",
    "bioenergy_biogas": "biomass", "bioenergy_biomass": "biomass",
    "nuclear": "nuclear",
    "other": "other",
}
# Storage fueltechs -> (fuel, sign): discharge positive, charging negative.
STORAGE = {"battery_discharging": ("battery", 1.0), "battery": ("battery", 1.0),
           "battery_charging": ("battery", -1.0), "pumps": ("hydro_storage", -1.0)}
FLOWS = {"imports": 1.0, "exports": -1.0}
# Not generation, storage or a regional flow: left out, counted.
IGNORED = frozenset({"interconnector", "aggregator_vpp", "aggregator_dr"})
_INTERVAL = re.compile(r"^(\d+)([mh])$")


# -- parse ----------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """One network-data body: 5-minute readings (UTC interval starts) and net imports per region."""
    anomalies: list[Anomaly] = []
    rows = _rows(load_json(payload, SOURCE), anomalies)
    if rows.empty:
        return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES,
                           anomalies=anomalies)
    return ParseResult(readings=_readings(rows, anomalies), interval_minutes=INTERVAL_MINUTES,
                       net_imports=_net_imports(rows), anomalies=anomalies)


def _rows(doc: object, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Every power point of the body: region, label (fueltech, lower case), start (UTC), mw."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise ParseError(f"{SOURCE}: unexpected JSON shape (top-level keys: "
                         f"{sorted(doc) if isinstance(doc, dict) else type(doc).__name__})")
    if doc.get("success") is False or doc.get("error"):
        raise ParseError(f"{SOURCE}: API error: {doc.get('error') or 'success is false'}")
    frames = []
    for dataset in doc["data"]:
        if not isinstance(dataset, dict) or dataset.get("metric") != "power":
            note(anomalies, SOURCE, "skipped_metric", f"a {dataset.get('metric') if isinstance(dataset, dict) else '?'} "
                 "dataset skipped (only power is read)")
            continue
        if str(dataset.get("unit", "MW")).upper() != "MW":
            raise ParseError(f"{SOURCE}: power in {dataset.get('unit')!r}, not MW")
        network = str(dataset.get("network_code", "")).upper()
        if network not in NETWORKS:
            raise ParseError(f"{SOURCE}: unknown network {network!r} (expected NEM or WEM)")
        minutes = _interval_minutes(dataset.get("interval"))
        for result in dataset.get("results") or []:
            frame = _result_points(result, network, minutes, anomalies)
            if frame is not None:
                frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["region", "label", "start", "mw"])
    rows = _without_redundant_battery(pd.concat(frames, ignore_index=True), anomalies)
    repeated = rows.duplicated(subset=["region", "label", "start"], keep="last")
    if repeated.any():
        note(anomalies, SOURCE, "duplicate_interval", f"{int(repeated.sum())} repeated points; kept the last",
             int(repeated.sum()))
    return rows[~repeated].reset_index(drop=True)


def _without_redundant_battery(rows: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """A region's `battery` series left out where it also has battery_charging/_discharging: the
    WEM body of 2026-02 lists all three, and `battery` is the same units' net output (equal to
    discharging - charging in 288 of 973 intervals, half of it in most others), so adding it
    would count them twice."""
    split = rows.loc[rows["label"].isin(["battery_charging", "battery_discharging"]), "region"].unique()
    redundant = (rows["label"] == "battery") & rows["region"].isin(split)
    if redundant.any():
        note(anomalies, SOURCE, "redundant_series", f"{int(redundant.sum())} points of `battery` left out: the "
             "split charging/discharging series carry the same units", int(redundant.sum()), level=20)
    return rows[~redundant]


def _interval_minutes(text: object) -> int:
    match = _INTERVAL.match(str(text or "").strip())
    if not match:
        raise ParseError(f"{SOURCE}: interval {text!r} is not like 5m or 1h")
    minutes = int(match.group(1)) * (60 if match.group(2) == "h" else 1)
    if minutes % INTERVAL_MINUTES:
        raise ParseError(f"{SOURCE}: interval {text!r} is not a whole number of 5-minute intervals")
    return minutes


def _result_points(result: object, network: str, minutes: int, anomalies: list[Anomaly]) -> pd.DataFrame | None:
    columns = result.get("columns") if isinstance(result, dict) else None
    if not isinstance(columns, dict):
        raise ParseError(f"{SOURCE}: a result without columns (region, fueltech)")
    region = REGIONS.get(str(columns.get("region", "")).upper())
    label = str(columns.get("fueltech", "")).strip().lower()
    points = [p for p in result.get("data") or [] if isinstance(p, list) and len(p) >= 2]
    if region is None:
        note(anomalies, SOURCE, "unknown_region", f"{len(points)} points of region {columns.get('region')!r} skipped",
             len(points))
        return None
    if label in IGNORED:
        note(anomalies, SOURCE, "ignored_fueltech", f"{region}: {len(points)} points of {label} (not generation) "
             "left out", len(points), level=20)
        return None
    values = pd.to_numeric(pd.Series([p[1] for p in points], dtype=object), errors="coerce")
    missing = values.isna()
    if missing.any():
        note(anomalies, SOURCE, "missing_value", f"{region} {label}: {int(missing.sum())} points without a value",
             int(missing.sum()), level=20)
    ends = _ends([p[0] for p in points], NETWORKS[network])
    keep = (~missing).to_numpy() & ~ends.isna()
    if not keep.any():
        return None
    ends, values = ends[keep], values[keep].to_numpy(dtype="float64")
    steps = minutes // INTERVAL_MINUTES
    # A longer interval's value holds on each of its 5-minute intervals, which start `minutes` before its end.
    offsets = np.tile(np.arange(steps) * INTERVAL_MINUTES, len(ends)) - minutes
    starts = ends.repeat(steps) + pd.to_timedelta(offsets, unit="min")
    return pd.DataFrame({"region": region, "label": label, "start": starts, "mw": np.repeat(values, steps)})


def _ends(stamps: list, network_time: timezone) -> pd.DatetimeIndex:
    """Stamps (aware ISO 8601, or naive in network time) as UTC."""
    parsed = []
    for stamp in stamps:
        try:
            moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            parsed.append(pd.NaT)
            continue
        parsed.append(moment if moment.tzinfo else moment.replace(tzinfo=network_time))
    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(parsed, dtype=object), utc=True))
    if index.isna().any():
        raise ParseError(f"{SOURCE}: unreadable time stamps, e.g. {stamps[int(np.argmax(index.isna()))]!r}")
    return index


def _readings(rows: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Generation and storage readings of the intervals in which every generation fueltech of
    the region has a value (unknown fueltechs count as generation, stored as `unknown`)."""
    is_storage = rows["label"].isin(STORAGE.keys())
    generation = rows[~is_storage & ~rows["label"].isin(FLOWS.keys())]
    expected = generation.groupby("region")["label"].nunique()
    present = generation.groupby(["region", "start"])["label"].nunique()
    complete = present.to_numpy() == expected.reindex(present.index.get_level_values("region")).to_numpy()
    if (~complete).any():
        note(anomalies, SOURCE, "incomplete_interval", f"{int((~complete).sum())} intervals lacking a generation "
             "fueltech of their region left out", int((~complete).sum()))
    kept = pd.concat([generation, rows[is_storage]], ignore_index=True)
    kept = kept[pd.MultiIndex.from_frame(kept[["region", "start"]]).isin(present.index[complete])]
    if kept.empty:
        return empty_frame(READING_COLUMNS)
    fuels = map_fuels(kept["label"], {**FUELTECHS, **{k: v[0] for k, v in STORAGE.items()}}, SOURCE, anomalies)
    signs = kept["label"].map({k: v[1] for k, v in STORAGE.items()}).fillna(1.0)
    return fold_fuels(pd.DataFrame({"region": kept["region"], "timestamp": kept["start"], "fuel": fuels,
                                    "mw": kept["mw"] * signs}))


def _net_imports(rows: pd.DataFrame) -> pd.DataFrame:
    """Imports minus exports per region and interval (an interval with only one of them counts it alone)."""
    flows = rows[rows["label"].isin(FLOWS.keys())]
    if flows.empty:
        return empty_frame(NET_IMPORT_COLUMNS)
    net = flows.assign(mw=flows["mw"] * flows["label"].map(FLOWS)).groupby(["region", "start"], as_index=False)["mw"].sum()
    return pd.DataFrame({"region": net["region"], "timestamp": net["start"], "mw": net["mw"]})


# -- fetch ----------------------------------------------------------------------------------

def data_url(network: str) -> str:
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/v4/data/network/{network}"


def network_query(network: str, first_start: datetime, end: datetime) -> dict[str, str]:
    """The query of the intervals starting in [first_start, end): stamps are interval ends,
    in network time, without an offset (as the API reads them)."""
    zone = NETWORKS[network]
    stamp = lambda moment: moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="minutes")  # noqa: E731
    return {"metrics": "power", "interval": "5m", "primary_grouping": "network_region",
            "secondary_grouping": "fueltech", "date_start": stamp(first_start + INTERVAL), "date_end": stamp(end)}


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Each network from its lookback before now (or before the last success, up to a week)."""
    end = _floor(now)
    starts = {}
    for network, lookback in LOOKBACK.items():
        start = end - lookback
        if last_success is not None:
            start = max(min(start, _floor(last_success) - lookback), end - MAX_CATCH_UP)
        starts[network] = start
    return _fetch_networks(client, starts, end, lenient=True)


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Pieces of at most 7 days."""
    chunks, day = [], start
    while day < end:
        chunks.append((day, min(day + timedelta(days=CHUNK_DAYS), end)))
        day = chunks[-1][1]
    return chunks


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Both networks' intervals starting in [start, end) (UTC days)."""
    first = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
    last = datetime(end.year, end.month, end.day, tzinfo=timezone.utc)
    return _fetch_networks(client, dict.fromkeys(NETWORKS, first), last, lenient=False)


def _fetch_networks(client: HttpClient, starts: dict[str, datetime], end: datetime, lenient: bool) -> list[Payload]:
    """Each network's intervals starting in [starts[network], end)."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise FetchError(f"{TOKEN_VARIABLE} is not set")
    payloads, failures = [], []
    for network in NETWORKS:
        try:
            payloads.append(client.get(data_url(network), params=network_query(network, starts[network], end),
                                       headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}))
        except FetchError as exc:
            if not lenient:
                raise
            failures.append(f"{SOURCE} {network}: {exc}")
    if not payloads:
        raise FetchError("; ".join(failures))
    for failure in failures:
        client.note_error(failure)
    return payloads


def _floor(moment: datetime) -> datetime:
    moment = moment.astimezone(timezone.utc)
    return moment.replace(minute=moment.minute - moment.minute % INTERVAL_MINUTES, second=0, microsecond=0)
