"""Hydro-Québec open data: electricity production by source and total demand on Québec's
integrated grid, keyless.

`<base>/production.json` and `<base>/demande.json` (Hydro-Québec's open-data JSON files, the
current and previous day; HYDROQUEBEC_BASE_URL overrides the folder):

    {"dateStart": "2023-08-15T00:00:00", "dateEnd": "2023-08-17T00:00:00", "recentHour": ...,
     "details": [{"date": "2023-08-15T00:30:00", "valeurs": {"total": 16494.0,
     "hydraulique": 15660.0, "eolien": 201.0, "autres": 633.0, "solaire": 0.0, "thermique": 0.0}}, ...]}

and for demand `{"date": "2023-08-15T00:00:00", "valeurs": {"demandeTotal": 15812.0}}` every
15 minutes. Hours still to come are listed with only a zero `total`, quarter-hours with empty
`valeurs`: neither is data.

Time: local time of Montréal (America/Toronto, with daylight saving), no offset. Production is
hourly and stamped at the half hour (24 stamps from 00:30 to 23:30 for the day that
`dateStart` opens at 00:00): the stamp is the middle of the hour it describes, which starts 30
minutes earlier. Demand stamps open their quarter-hour; demand is stored as hourly means (load,
not generation), an hour when its four quarters are in. On the autumn night the repeated local
hour comes twice, in order (daylight time first, as CAISO's files do); a stamp that does not
exist (the spring-forward hour) is dropped, counted.

Fuels: hydraulique hydro, eolien wind, solaire solar; thermique gas (the Bécancour plant, as
Electricity Maps maps it: electricitymaps-contrib issue #3218); autres biomass (other
renewables, mostly biomass: same issue). An hour is stored only when its sources add up to its
`total` (within 1 MW): a source missing from an hour that still adds up produced nothing.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd

from crawler.bodies import load_json
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import (
    LOAD_COLUMNS, READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, empty_frame, fold_fuels, map_fuels,
    note,
)
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="HYDROQUEBEC",
    module_name=__name__,
    description="Hydro-Québec open data: hourly production by source and demand, Québec's integrated grid",
    regions=("CA-QC",),
    interval_minutes=60,
    frequency_minutes=30,
    # The files trail the clock by an hour or two.
    stale_after_minutes=6 * 60,
    time_convention="local time (America/Toronto, DST); production stamped mid-hour (HH:30), demand at quarter starts",
    backfill="none: the open-data files hold only the current and previous day",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://www.hydroquebec.com/data/documents-donnees/donnees-ouvertes/json"
FILES = ("production.json", "demande.json")
LOCAL = ZoneInfo("America/Toronto")  # America/Montreal links to it
MID_HOUR = timedelta(minutes=30)
TOTAL_TOLERANCE_MW = 1.0
FUEL_MAP = {"hydraulique": "hydro", "eolien": "wind", "solaire": "solar", "thermique": "gas", "autres": "biomass"}
DEMAND_KEY = "demandeTotal"


# -- parse ----------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """production.json to hourly readings, demande.json to hourly load (both UTC interval starts)."""
    anomalies: list[Anomaly] = []
    details = _details(load_json(payload, SOURCE))
    if any(DEMAND_KEY in entry["valeurs"] for entry in details):
        return ParseResult(readings=empty_frame(READING_COLUMNS), interval_minutes=INTERVAL_MINUTES,
                           load=_load(details, anomalies), anomalies=anomalies)
    return ParseResult(readings=_readings(details, anomalies), interval_minutes=INTERVAL_MINUTES,
                       anomalies=anomalies)


def _details(doc: object) -> list[dict]:
    details = doc.get("details") if isinstance(doc, dict) else None
    if not isinstance(details, list):
        raise ParseError(f"{SOURCE}: no 'details' list (top-level keys: "
                         f"{sorted(doc) if isinstance(doc, dict) else type(doc).__name__})")
    for entry in details:
        if not isinstance(entry, dict) or not isinstance(entry.get("date"), str) \
                or not isinstance(entry.get("valeurs", {}), dict):
            raise ParseError(f"{SOURCE}: a detail is not {{'date': text, 'valeurs': {{...}}}}: {str(entry)[:80]}")
    return [{"date": entry["date"], "valeurs": entry.get("valeurs") or {}} for entry in details]


def local_stamps_to_utc(stamps: list[str], anomalies: list[Anomaly]) -> list[datetime | None]:
    """Naive Montréal times, in file order, as UTC: a repeated stamp of the autumn night is
    daylight time the first time and standard time the second; a stamp of the skipped spring
    hour is None (noted)."""
    seen: dict[datetime, int] = {}
    result: list[datetime | None] = []
    for text in stamps:
        try:
            wall = datetime.fromisoformat(text)
        except ValueError:
            raise ParseError(f"{SOURCE}: unreadable date {text!r}") from None
        if wall.tzinfo is not None:
            result.append(wall.astimezone(timezone.utc))
            continue
        fold = min(seen.get(wall, 0), 1)
        seen[wall] = seen.get(wall, 0) + 1
        moment = wall.replace(tzinfo=LOCAL, fold=fold).astimezone(timezone.utc)
        if moment.astimezone(LOCAL).replace(tzinfo=None) != wall:  # a wall time the spring jump skips
            note(anomalies, SOURCE, "nonexistent_time", f"local time {text} does not exist (daylight saving); skipped")
            result.append(None)
            continue
        result.append(moment)
    return result


def _readings(details: list[dict], anomalies: list[Anomaly]) -> pd.DataFrame:
    data = [e for e in details if set(e["valeurs"]) - {"total"}]
    if not data:
        return empty_frame(READING_COLUMNS)
    starts = local_stamps_to_utc([e["date"] for e in data], anomalies)
    rows = []
    unbalanced = 0
    for entry, moment in zip(data, starts):
        if moment is None:
            continue
        values = {k: float(v) for k, v in entry["valeurs"].items() if k != "total" and v is not None}
        total = entry["valeurs"].get("total")
        if total is not None and abs(sum(values.values()) - float(total)) > TOTAL_TOLERANCE_MW:
            unbalanced += 1
            continue
        start = moment - MID_HOUR
        rows.extend((REGION, start, label, mw) for label, mw in values.items())
    if unbalanced:
        note(anomalies, SOURCE, "incomplete_interval", f"{unbalanced} hours whose sources do not add up to their "
             "total left out", unbalanced)
    if not rows:
        return empty_frame(READING_COLUMNS)
    frame = pd.DataFrame(rows, columns=["region", "timestamp", "label", "mw"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    repeated = frame.duplicated(subset=["timestamp", "label"], keep="last")
    if repeated.any():
        note(anomalies, SOURCE, "duplicate_interval", f"{int(repeated.sum())} repeated values; kept the last",
             int(repeated.sum()))
        frame = frame[~repeated]
    fuels = map_fuels(frame["label"], FUEL_MAP, SOURCE, anomalies)
    return fold_fuels(frame.assign(fuel=fuels)[READING_COLUMNS])


def _load(details: list[dict], anomalies: list[Anomaly]) -> pd.DataFrame:
    data = [e for e in details if e["valeurs"].get(DEMAND_KEY) is not None]
    if not data:
        return empty_frame(LOAD_COLUMNS)
    starts = local_stamps_to_utc([e["date"] for e in data], anomalies)
    quarters = pd.DataFrame([(moment, float(e["valeurs"][DEMAND_KEY])) for e, moment in zip(data, starts)
                             if moment is not None], columns=["start", "mw"])
    quarters["start"] = pd.to_datetime(quarters["start"], utc=True)
    quarters = quarters.drop_duplicates(subset="start", keep="last")
    hourly = quarters.groupby(quarters["start"].dt.floor("h")).agg(count=("mw", "size"), mw=("mw", "mean"))
    whole = hourly["count"] == 4
    if not whole.all():
        note(anomalies, SOURCE, "partial_hour", f"{int((~whole).sum())} demand hours without all four quarters "
             "left out", int((~whole).sum()), level=20)
    hourly = hourly[whole]
    return pd.DataFrame({"region": REGION, "timestamp": hourly.index, "mw": hourly["mw"].to_numpy()})


# -- fetch ----------------------------------------------------------------------------------

def file_url(name: str) -> str:
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/{name}"


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """Both files; demand failing alone makes the run partial."""
    production = client.get(file_url(FILES[0]))
    try:
        return [production, client.get(file_url(FILES[1]))]
    except FetchError as exc:
        client.note_error(f"{SOURCE} {FILES[1]}: {exc}")
        return [production]


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """None: the files hold only the current and previous day."""
    return []


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    raise FetchError(f"{SOURCE} has no history to backfill: {SPEC.backfill}")
