"""BPA balancing authority load and generation: 5-minute MW by resource for the BPAT area.

One rolling file, `<base>/baltwg.txt`, holding the last 7 days: a few title lines, a
tab-separated header `Date/Time<TAB>Load<TAB>Wind<TAB>Hydro<TAB>...`, then one row per 5 minutes,
`MM/DD/YYYY HH:MM` in Pacific local time. Rows for the rest of the current day are listed with
empty values. Old files have Load, Wind, Hydro, Thermal; newer ones Fossil/Biomass and Nuclear
instead of Thermal (and some VER, wind plus solar, instead of Wind).

Time: a stamp is the END of its 5-minute interval: the recorded file "last updated 11:07:06"
already holds the 11:05 row, so 11:05 cannot start an interval still running; it closes
11:00-11:05 (the SCADA readings are 5-minute values, as NYISO's). On the fall-back day the
hour 01:00-01:55 is listed twice, told apart by row order as caiso.py does (the clock going
backwards starts the standard-time pass); stamps that do not exist (02:xx on the spring day)
are skipped and counted.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from crawler.bodies import body_text
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import Anomaly, ParseError, ParseResult, Payload, note, note_gaps, wide_readings
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="BPA",
    module_name=__name__,
    description="BPA balancing-authority generation, 5-minute, Pacific time, rolling 7 days",
    regions=("BPAT",),
    interval_minutes=5,
    frequency_minutes=5,
    stale_after_minutes=60,
    time_convention="MM/DD/YYYY HH:MM marking the interval END, America/Los_Angeles local time",
    backfill="none: the file holds its last 7 days only",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://transmission.bpa.gov/business/operations/Wind"
FILE = "/baltwg.txt"
PACIFIC = ZoneInfo("America/Los_Angeles")
STAMP_COLUMN = "date/time"
STAMP_FORMAT = "%m/%d/%Y %H:%M"
INTERVAL = pd.Timedelta(minutes=INTERVAL_MINUTES)

# Load is demand, not generation: never stored.
NOT_GENERATION = frozenset({"load"})
THERMAL_NUCLEAR = "Thermal (Columbia nuclear)"
THERMAL_REST = "Thermal (gas and biomass)"
FUEL_MAP = {
    "Wind": "wind",
    # "Variable energy resources": BPA's wind plus its much smaller solar (about 700 MW of
    # wind to 30 MW of solar on average in EIA-930's 2022 BPAT figures). Wind is the fuel.
    "VER": "wind",
    "Solar": "solar",
    "Hydro": "hydro",
    "Nuclear": "nuclear",
    # Gas plants and some biomass; BPA's area has no coal left (EIA-930 2022 BPAT: gas 633 MW,
    # other 185 MW, coal 0 on average). Gas is by far the largest part and the closest factor.
    "Fossil/Biomass": "gas",
    # Old files' Thermal is split by _split_thermal into these two.
    THERMAL_NUCLEAR: "nuclear",
    THERMAL_REST: "gas",
}
# Old files' Thermal adds the Columbia Generating Station (nuclear, about 1,150 MW net; Energy
# Northwest quotes 1,170-1,207 MW over the years) to gas and some biomass. Columbia runs at
# full power or not at all, bar ramps and the coast-down before its refuelling outages, so a
# Thermal reading of at least its output holds it: 1,150 MW nuclear and the rest gas; below,
# all gas (Columbia off). On the 2014 excerpt (Thermal ~1,600 MW) the region's intensity is
# ~33 g/kWh where "unknown" at 700 made it ~86. Wrong when Columbia is off and gas alone tops
# 1,150 MW, or during its ramps: rare, and bounded by the gas-nuclear gap of that hour.
COLUMBIA_MW = 1150.0
THERMAL = "Thermal"


# -- parse ------------------------------------------------------------------------------

def parse(payload: Payload) -> ParseResult:
    """Parse baltwg.txt into readings (MW, UTC interval starts); Load is left out."""
    anomalies: list[Anomaly] = []
    lines, ends_cleanly = _lines(payload.body)
    names, rows = _header_and_rows(lines, ends_cleanly, anomalies)
    table = _table(names, rows, anomalies)
    starts = _utc_starts(table.pop("__stamp__"), anomalies)
    table = table[starts.notna().to_numpy()]
    table.index = pd.DatetimeIndex(starts.dropna(), name="timestamp")
    readings = _readings(_split_thermal(_numeric(table, anomalies)), anomalies)
    return ParseResult(readings=readings, interval_minutes=INTERVAL_MINUTES, anomalies=anomalies)


def _lines(body: bytes) -> tuple[list[str], bool]:
    """The body's lines and whether it ends with a line break; ParseError for an empty body or
    an HTML page in the file's place."""
    text = body_text(Payload(body=body, name=""), "the tab-separated file", SOURCE)
    return text.splitlines(), text.endswith(("\n", "\r"))


def _header_and_rows(lines: list[str], ends_cleanly: bool,
                     anomalies: list[Anomaly]) -> tuple[list[str], list[list[str]]]:
    """Header names and data rows as stripped cells; title lines before the header skipped."""
    header = next((i for i, line in enumerate(lines)
                   if line.split("\t", 1)[0].strip().lower() == STAMP_COLUMN), None)
    if header is None:
        raise ParseError(f"{SOURCE}: no 'Date/Time' header line (the file starts "
                         f"{' | '.join(lines[:3])[:160]!r})")
    names = [cell.strip() for cell in lines[header].split("\t")]
    while names and not names[-1]:
        names.pop()
    rows = [[cell.strip() for cell in line.split("\t")] for line in lines[header + 1:] if line.strip()]
    if rows and not ends_cleanly:
        # A download cut inside the last line: its last value may be cut short too.
        last = rows.pop()
        if any(last[1:]):
            note(anomalies, SOURCE, "truncated", f"the file ends inside the row {chr(9).join(last)[:60]!r} "
                 "(truncated download?): skipped")
    return names, rows


def _table(names: list[str], rows: list[list[str]], anomalies: list[Anomaly]) -> pd.DataFrame:
    """Cells under their header names (short rows padded: BPA lists future rows bare)."""
    generation = [n for n in names[1:] if n and n.lower() not in NOT_GENERATION]
    if not generation:
        raise ParseError(f"{SOURCE}: no generation column in the header {names} (expected e.g. "
                         "Wind, Hydro, Fossil/Biomass, Nuclear)")
    width = len(names)
    long_rows = [r for r in rows if len(r) > width and any(r[width:])]
    if long_rows:
        note(anomalies, SOURCE, "malformed_row", f"{len(long_rows)} rows with more values than the header "
             f"has columns skipped, e.g. {long_rows[0][:8]}", len(long_rows))
    cells = [(r + [""] * width)[:width] for r in rows if not (len(r) > width and any(r[width:]))]
    table = pd.DataFrame(cells, columns=["__stamp__", *names[1:]], dtype=str)
    if table.empty:
        raise ParseError(f"{SOURCE}: header only: the file has no data rows")
    return table[["__stamp__", *generation]]


def _utc_starts(stamps: pd.Series, anomalies: list[Anomaly]) -> pd.Series:
    """Local interval-end stamps to UTC interval starts; the repeated fall-back hour by row order."""
    local = pd.to_datetime(stamps, format=STAMP_FORMAT, errors="coerce")
    if local.isna().any():
        examples = stamps[local.isna()].head(3).tolist()
        note(anomalies, SOURCE, "bad_time", f"{int(local.isna().sum())} rows whose Date/Time is not "
             f"MM/DD/YYYY HH:MM skipped, e.g. {examples}", int(local.isna().sum()))
    ambiguous = local.notna() & local.dt.tz_localize(PACIFIC, ambiguous="NaT", nonexistent="shift_forward").isna()
    # The clock going backwards into an ambiguous hour starts its second (standard-time) pass.
    second_pass = ((local.diff() < pd.Timedelta(0)) & ambiguous).cumsum() > 0
    aware = local.dt.tz_localize(PACIFIC, ambiguous=(~second_pass).to_numpy(), nonexistent="NaT")
    nonexistent = local.notna() & aware.isna()
    if nonexistent.any():
        note(anomalies, SOURCE, "nonexistent_time", f"{int(nonexistent.sum())} stamps that do not exist in "
             f"Pacific time (spring-forward gap, e.g. {stamps[nonexistent].iloc[0]}) skipped",
             int(nonexistent.sum()))
    return (aware.dt.tz_convert("UTC") - INTERVAL).astype("datetime64[ns, UTC]")


def _numeric(table: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Cells as floats; empty cells (the rest of today) become NaN silently."""
    values = table.apply(lambda column: pd.to_numeric(column, errors="coerce"))
    bad = values.isna() & (table != "")
    for column in bad.columns[bad.any()]:
        examples = ", ".join(repr(v) for v in table.loc[bad[column].to_numpy(), column].unique()[:3])
        note(anomalies, SOURCE, "non_numeric", f"column {column!r}: non-numeric values {examples} skipped",
             int(bad[column].sum()))
    return values.astype("float64")


def _split_thermal(values: pd.DataFrame) -> pd.DataFrame:
    """Old files' Thermal as Columbia's nuclear output and the rest (see COLUMBIA_MW)."""
    if THERMAL not in values.columns:
        return values
    thermal = values.pop(THERMAL)
    nuclear = thermal.where(thermal.isna(), np.where(thermal >= COLUMBIA_MW, COLUMBIA_MW, 0.0))
    return values.assign(**{THERMAL_NUCLEAR: nuclear, THERMAL_REST: thermal - nuclear})


def _readings(values: pd.DataFrame, anomalies: list[Anomaly]) -> pd.DataFrame:
    """Wide columns to long readings, labels mapped and folded; gaps counted."""
    readings = wide_readings(values, REGION, FUEL_MAP, SOURCE, anomalies)
    if not readings.empty:
        note_gaps(anomalies, SOURCE, readings["timestamp"], INTERVAL)
    return readings


# -- fetch ------------------------------------------------------------------------------

def file_url() -> str:
    """The rolling 7-day file (BPA_BASE_URL points it at a mirror or a test server)."""
    return base_url(SOURCE, DEFAULT_BASE_URL) + FILE


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """The rolling file: each run re-reads 7 days, so short outages heal by themselves."""
    return [client.get(file_url())]


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """None: BPA serves no history of this file, only its last 7 days."""
    return []


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Always fails: there is no endpoint for a past range of this feed."""
    raise FetchError(
        f"{SOURCE} balancing authority load and generation has no history endpoint: baltwg.txt "
        f"holds only the last 7 days, so {start}..{end} cannot be fetched; a regular run reads "
        "those 7 days each time")
