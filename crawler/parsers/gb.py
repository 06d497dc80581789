"""Great Britain: half-hourly generation by fuel type from Elexon's Insights Solution (BMRS),
dataset FUELHH, keyless.

`GET <base>/datasets/FUELHH?settlementDateFrom=YYYY-MM-DD&settlementDateTo=YYYY-MM-DD&format=json`
(GB_BASE_URL overrides `https://data.elexon.co.uk/bmrs/api/v1`), documented on Elexon's API
reference (bmrs.elexon.co.uk/api-documentation, "Datasets > FUELHH": half-hourly average
generation outturn by fuel type, the settlement-period means of FUELINST). The body is
`{"data": [...]}` (the `/stream` variant a bare list) of rows

    {"dataset": "FUELHH", "publishTime": "2024-03-31T01:00:00Z", "startTime": "2024-03-31T00:30:00Z",
     "settlementDate": "2024-03-31", "settlementPeriod": 2, "fuelType": "CCGT", "generation": 5123}

`startTime` is the settlement period's start in UTC (the period number counts local half hours,
46 or 50 of them on clock-change days; it is not used). `generation` is MW. A period published
twice keeps its newest `publishTime`.

Fuels: CCGT and OCGT gas, COAL coal, OIL oil, NUCLEAR nuclear, WIND wind, NPSHYD (non-pumped
hydro) hydro, PS (pumped storage, negative while pumping) hydro_storage, BIOMASS biomass, SOLAR
solar where listed, OTHER other. The interconnectors (INTFR, INTIRL, INTNED, INTEW, INTNEM,
INTELEC, INTIFA2, INTNSL, INTVKL, INTGRNL, ...: every `INT` type, positive importing) are not
generation: their sum is GB's net import. FUELHH counts transmission-metered output: most
embedded (distribution-connected) solar and wind is not in it.

No response of this endpoint is recorded here: the tests read small bodies written by hand
from the documentation (tests/fixtures/gb/). The source is ready for the real feed but its
first crawl should be watched.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from crawler.bodies import load_json
from crawler.chunks import day_chunks
from crawler.http import HttpClient, base_url, fetch_days
from crawler.model import (
    NET_IMPORT_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, empty_frame, fold_fuels,
    map_fuels, note,
)
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="GB",
    module_name=__name__,
    description="Elexon BMRS FUELHH: Great Britain's half-hourly generation by fuel type (transmission-metered)",
    regions=("GB",),
    interval_minutes=30,
    frequency_minutes=30,
    stale_after_minutes=3 * 60,
    time_convention="startTime = settlement period START, UTC",
    backfill="by settlement day",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://data.elexon.co.uk/bmrs/api/v1"
LONDON = ZoneInfo("Europe/London")
FUEL_MAP = {
    "CCGT": "gas", "OCGT": "gas", "COAL": "coal", "OIL": "oil", "NUCLEAR": "nuclear", "WIND": "wind",
    "NPSHYD": "hydro", "PS": "hydro_storage", "BIOMASS": "biomass", "SOLAR": "solar", "OTHER": "other",
}
INTERCONNECTOR_PREFIX = "INT"
ROW_KEYS = ("startTime", "fuelType", "generation")


# -- parse ----------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """A FUELHH body: half-hourly readings (UTC starts) and net imports of GB."""
    anomalies: list[Anomaly] = []
    rows = _rows(load_json(payload, SOURCE), anomalies)
    if rows.empty:
        return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES,
                           anomalies=anomalies)
    flows = rows["fuelType"].str.upper().str.startswith(INTERCONNECTOR_PREFIX)
    generation = rows[~flows]
    fuels = map_fuels(generation["fuelType"], FUEL_MAP, SOURCE, anomalies)
    readings = fold_fuels(pd.DataFrame({"region": REGION, "timestamp": generation["start"], "fuel": fuels,
                                        "mw": generation["generation"]}))
    imports = rows[flows].groupby("start")["generation"].sum()
    net = (pd.DataFrame({"region": REGION, "timestamp": imports.index, "mw": imports.to_numpy()})
           if len(imports) else empty_frame(NET_IMPORT_COLUMNS))
    return ParseResult(readings=readings, interval_minutes=INTERVAL_MINUTES, net_imports=net, anomalies=anomalies)


def _rows(doc: object, anomalies: list[Anomaly]) -> pd.DataFrame:
    data = doc.get("data") if isinstance(doc, dict) else doc
    if not isinstance(data, list):
        raise ParseError(f"{SOURCE}: no 'data' list (top-level keys: "
                         f"{sorted(doc) if isinstance(doc, dict) else type(doc).__name__})")
    if not data:
        return pd.DataFrame(columns=[*ROW_KEYS, "start"])
    table = pd.DataFrame.from_records([r for r in data if isinstance(r, dict)])
    missing = [k for k in ROW_KEYS if k not in table]
    if missing:
        raise ParseError(f"{SOURCE}: rows lack {', '.join(missing)} (row keys: {sorted(table.columns)})")
    if "dataset" in table and not table["dataset"].isin(["FUELHH"]).all():
        raise ParseError(f"{SOURCE}: rows of dataset {sorted(set(table['dataset'].astype(str)))}, not FUELHH")
    table = table.assign(start=pd.to_datetime(table["startTime"], utc=True, errors="coerce"),
                         generation=pd.to_numeric(table["generation"], errors="coerce"))
    bad = table["start"].isna() | table["generation"].isna() | table["fuelType"].isna()
    if bad.any():
        note(anomalies, SOURCE, "malformed_row", f"{int(bad.sum())} rows without a readable startTime, fuelType or "
             "generation skipped", int(bad.sum()))
        table = table[~bad]
    if "publishTime" in table:
        table = table.assign(published=pd.to_datetime(table["publishTime"], utc=True, errors="coerce")
                             ).sort_values("published", kind="stable", na_position="first")
    repeated = table.duplicated(subset=["start", "fuelType"], keep="last")
    if repeated.any():
        note(anomalies, SOURCE, "duplicate_interval", f"{int(repeated.sum())} periods published again; kept the "
             "newest", int(repeated.sum()), level=20)
        table = table[~repeated]
    return table.sort_values(["start", "fuelType"]).reset_index(drop=True)


# -- fetch ----------------------------------------------------------------------------------

def day_url() -> str:
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/datasets/FUELHH"


def fetch_day(client: HttpClient, day: date) -> Payload:
    """One settlement day (a UK local day) of FUELHH."""
    return client.get(day_url(), params={"settlementDateFrom": day.isoformat(), "settlementDateTo": day.isoformat(),
                                         "format": "json"})


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Yesterday's and today's settlement days (UK time): periods are revised for a while."""
    today = now.astimezone(LONDON).date()
    return fetch_days(client, SOURCE, [today - timedelta(days=1), today], lambda day: fetch_day(client, day))


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Settlement days."""
    return day_chunks(start, end)


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Each settlement day of [start, end); any failure fails the chunk."""
    return [fetch_day(client, day) for day, _ in day_chunks(start, end)]
