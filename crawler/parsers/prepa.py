"""Genera PR / PREPA generation dashboard: a snapshot of Puerto Rico's generation by fuel.

`<base>/dataSource.js` is the JavaScript behind the dashboard, a handful of
`const name = [...]` arrays of object literals (unquoted keys, single-quoted strings,
trailing commas). It is read without running it: each array is cut out by bracket
matching and rewritten as JSON.

- `dataFechaAcualizado` ('4/25/2023' + ' 3:11:05 PM'): when the snapshot was taken, in
  Puerto Rico time (AST = UTC-4 all year, no daylight saving). A snapshot is an instant;
  it is stored as the 5-minute interval it falls in.
- `dataByFuel` ({fuel: 'Bunker', value: 28}, ...): whole PERCENTAGES of generation (they
  sum to 100), not MW. In the 2023-04-25 file Coal is 19 against AES's 395 MW out of the
  2,119 MW total (18.6 %), and Renew 4 against 87 MW of renewable sites (4.1 %). MW are
  the shares of `dataMetrics`' "Total de Generación" (its Desc matched without accents,
  which copies of the file garble, else the entry with Index '0').
- `dataLoadPerSite` (site totals in MW by type) splits Renew into solar, wind, hydro and
  landfill gas in proportion to its sites, so each gets its own factor.
The feed is stale (its recordings end in 2023); the registry keeps it disabled.
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

import pandas as pd

from crawler.bodies import body_text
from crawler.http import FetchError, HttpClient, base_url
from crawler.model import (
    READING_COLUMNS, Anomaly, ParseError, ParseResult, Payload, fold_fuels, map_fuels, note,
)
from crawler.source import SourceSpec

SPEC = SourceSpec(
    name="PREPA",
    module_name=__name__,
    description="PREPA / Genera PR generation dashboard, Puerto Rico",
    regions=("PREPA",),
    interval_minutes=5,
    frequency_minutes=5,
    # The dashboard was refreshed within minutes; an hour without a new snapshot means it is stuck.
    stale_after_minutes=60,
    time_convention="one snapshot stamped in Atlantic time (UTC-4), taken as its 5-minute interval start",
    backfill="none: the dashboard holds the current snapshot only",
    disabled="the PREPA dashboard script stopped updating in 2023",
)
SOURCE, INTERVAL_MINUTES = SPEC.name, SPEC.interval_minutes
FREQUENCY_MINUTES, STALE_AFTER_MINUTES = SPEC.frequency_minutes, SPEC.stale_after_minutes
REGION = SPEC.regions[0]
DEFAULT_BASE_URL = "https://aeepr.com/es-pr/generacion/Documents/DataJS"
SCRIPT = "dataSource.js"
ATLANTIC = timezone(timedelta(hours=-4), "AST")
INTERVAL = timedelta(minutes=INTERVAL_MINUTES)
STAMP_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p")
# Whole percentages rounded one by one can miss 100 by a point or two.
PERCENT_TOLERANCE = 3

FUEL_MAP = {
    "Bunker": "oil",  # No. 6 residual fuel oil (Palo Seco, Aguirre, San Juan steam units)
    "Diesel": "oil",  # No. 2 distillate (combustion turbines, combined cycles on diesel)
    "LNG": "gas",  # EcoEléctrica, Costa Sur and San Juan 5/6 on natural gas
    "Coal": "coal",  # AES Guayama
}
RENEWABLES = "Renew"
# dataLoadPerSite sites that make up Renew: by Desc for the Renovable type, by type for hydro.
RENEWABLE_SITES = {"solar": "solar", "wind": "wind", "landfill": "biomass"}  # landfill gas
HYDRO_TYPE = "hidroelectricas"
RENEWABLE_TYPE = "renovable"
# Renew that no site accounts for: "other", counted, rather than a guess at one renewable.
UNSPLIT_RENEWABLES = "other"

_DECLARATION = r"\b(?:const|let|var)\s+{name}\s*=\s*"
_STAMP = re.compile(r"\bdataFechaAct?ualizado\s*=\s*([^;\n]+)")
_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
_JS_TOKEN = re.compile(r"""
      (?P<single>'(?:[^'\\\n]|\\.)*')
    | (?P<double>"(?:[^"\\\n]|\\.)*")
    | (?P<comment>//[^\n]*|/\*.*?\*/)
    | (?P<key>[A-Za-z_$][\w$]*)(?=\s*:)
    | (?P<word>[A-Za-z_$][\w$]*)
    | (?P<trailing>,)(?=\s*[\]}])
    | (?P<open>[\[{])
    | (?P<close>[\]}])
    | (?P<other>[^'"/A-Za-z_$,\[\]{}]+|.)
""", re.VERBOSE | re.DOTALL)


# -- parse ------------------------------------------------------------------------------

class CutScript(ParseError):
    """An array that never closes: the download stopped inside the script."""


def parse(payload: Payload) -> ParseResult:
    """Parse dataSource.js into one snapshot of PREPA readings (MW, UTC 5-minute interval start)."""
    script = _text(payload)
    anomalies: list[Anomaly] = []
    start = _interval_start(script)
    mw = _in_mw(_shares(js_array(script, "dataByFuel"), anomalies), _total(js_array(script, "dataMetrics")))
    listed = mw.drop(RENEWABLES, errors="ignore")
    labels = map_fuels(pd.Series(listed.index), FUEL_MAP, SOURCE, anomalies)
    fuels = pd.Series(listed.to_numpy(), index=labels)
    if RENEWABLES in mw:
        fuels = pd.concat([fuels, _renewables(mw[RENEWABLES], script, anomalies)])
    frame = pd.DataFrame({"fuel": list(fuels.index), "mw": fuels.to_numpy(dtype="float64")})
    frame = frame.assign(region=REGION, timestamp=start)
    frame["timestamp"] = frame["timestamp"].astype("datetime64[ns, UTC]")
    return ParseResult(readings=fold_fuels(frame[READING_COLUMNS]),
                       interval_minutes=INTERVAL_MINUTES, anomalies=anomalies)


def _text(payload: Payload) -> str:
    try:
        return body_text(payload, "the dataSource.js script")
    except ParseError as exc:
        raise ParseError(f"{SOURCE}: {exc}") from None


def js_array(script: str, name: str) -> list:
    """The array literal assigned to `name`, as Python objects; ParseError if absent or cut."""
    found = re.search(_DECLARATION.format(name=re.escape(name)) + r"\[", script)
    if not found:
        raise ParseError(f"{SOURCE}: no `{name} = [...]` array in the script")
    literal = _bracketed(script, found.end() - 1)
    if literal is None:
        raise CutScript(f"{SOURCE}: the `{name}` array never closes (truncated download?)")
    try:
        value = json.loads(js_to_json(literal))
    except json.JSONDecodeError as exc:
        raise ParseError(f"{SOURCE}: the `{name}` array is not a plain data literal ({exc})") from None
    return value


def _bracketed(script: str, opening: int) -> str | None:
    """The text from the `[` at `opening` to its matching `]`, skipping strings and comments."""
    depth = 0
    for token in _JS_TOKEN.finditer(script, opening):
        if token.lastgroup == "open":
            depth += 1
        elif token.lastgroup == "close":
            depth -= 1
            if depth == 0:
                return script[opening:token.end()]
    return None


def js_to_json(literal: str) -> str:
    """A JS data literal as JSON: keys and single-quoted strings double-quoted, comments and
    trailing commas dropped. Anything else (calls, variables) is kept and fails json.loads."""
    out = []
    for token in _JS_TOKEN.finditer(literal):
        kind, text = token.lastgroup, token.group()
        if kind == "single":
            out.append(json.dumps(_unescape(text[1:-1]), ensure_ascii=False))
        elif kind == "key":
            out.append(json.dumps(text))
        elif kind not in ("comment", "trailing"):
            out.append(text)
    return "".join(out)


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _interval_start(script: str) -> pd.Timestamp:
    """dataFechaAcualizado (string pieces joined, Puerto Rico time) to its 5-minute interval in UTC."""
    found = _STAMP.search(script)
    if not found:
        raise ParseError(f"{SOURCE}: no `dataFechaAcualizado = ...` (snapshot time) in the script")
    text = " ".join("".join(a or b for a, b in _STRING.findall(found.group(1))).split())
    for fmt in STAMP_FORMATS:
        try:
            local = datetime.strptime(text, fmt).replace(tzinfo=ATLANTIC)
        except ValueError:
            continue
        return pd.Timestamp(local).tz_convert("UTC").floor(INTERVAL)
    raise ParseError(f"{SOURCE}: dataFechaAcualizado {text!r} is not M/D/YYYY h:mm:ss AM/PM")


def _shares(items: list, anomalies: list[Anomaly]) -> pd.Series:
    """dataByFuel as numbers by fuel label; a repeated label keeps its last value."""
    rows = [item for item in items if isinstance(item, dict)]
    if not rows:
        raise ParseError(f"{SOURCE}: dataByFuel holds no {{fuel, value}} entries")
    missing = [key for key in ("fuel", "value") if any(key not in row for row in rows)]
    if missing:
        raise ParseError(f"{SOURCE}: dataByFuel entries lack {', '.join(map(repr, missing))} "
                         f"(e.g. {rows[0]})")
    table = pd.DataFrame(rows)[["fuel", "value"]]
    table["fuel"] = table["fuel"].astype(str).str.strip()
    repeated = table["fuel"].duplicated(keep="last")
    if repeated.any():
        note(anomalies, SOURCE, "duplicate_interval", f"dataByFuel lists {sorted(set(table.loc[repeated, 'fuel']))} "
             "more than once; kept the last", int(repeated.sum()))
    table = table[~repeated]
    values = pd.to_numeric(table["value"], errors="coerce")
    if values.isna().any():
        note(anomalies, SOURCE, "missing_value", "dataByFuel values that are not numbers skipped: "
             f"{table[values.isna()].to_dict('records')}", int(values.isna().sum()))
    return pd.Series(values.to_numpy(), index=table["fuel"]).dropna()


def _total(metrics: list) -> float:
    """Total generation (MW) from dataMetrics: Desc "Total de Generación", else Index '0'."""
    entries = [m for m in metrics if isinstance(m, dict)]
    chosen = next((m for m in entries if _plain(m.get("Desc", "")).startswith("total de generaci")), None)
    chosen = chosen or next((m for m in entries if str(m.get("Index", "")).strip() == "0"), None)
    total = pd.to_numeric(chosen.get("value"), errors="coerce") if chosen else None
    if total is None or pd.isna(total) or total <= 0:
        raise ParseError(f"{SOURCE}: dataMetrics has no positive 'Total de Generación' value "
                         f"(entries: {[m.get('Desc') for m in entries]})")
    return float(total)


def _plain(text: object) -> str:
    """Lower case without accents, so that "Generación" and a garbled "GeneraciÃ³n" both start alike."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def _in_mw(shares: pd.Series, total: float) -> pd.Series:
    """Percentages (summing to ~100) as MW of the total; MW (summing to ~the total) kept."""
    summed = shares.sum()
    if abs(summed - 100) <= PERCENT_TOLERANCE:
        return shares / summed * total  # rounded shares scaled so that the fuels add up to the total
    if summed > 0 and abs(summed - total) <= 0.05 * total:
        return shares
    raise ParseError(f"{SOURCE}: dataByFuel sums to {summed:g}: neither percentages (100) nor MW "
                     f"(the total generation, {total:g})")


def _renewables(renew: float, script: str, anomalies: list[Anomaly]) -> pd.Series:
    """Renew (MW) split over solar, wind, hydro and landfill gas in proportion to their sites."""
    sites = _renewable_sites(script, anomalies)
    if sites.sum() > 0:
        return renew * sites / sites.sum()
    if renew == 0:
        return sites
    note(anomalies, SOURCE, "unsplit_renewables", f"Renew is {renew:.1f} MW but no renewable site in "
         f"dataLoadPerSite produces: stored as {UNSPLIT_RENEWABLES!r}")
    return pd.Series({UNSPLIT_RENEWABLES: renew})


def _renewable_sites(script: str, anomalies: list[Anomaly]) -> pd.Series:
    """MW of dataLoadPerSite's renewable sites by fuel (a negative site total counts as 0)."""
    try:
        sites = [site for site in js_array(script, "dataLoadPerSite") if isinstance(site, dict)]
    except CutScript:
        # A cut site list would split Renew over the sites that arrived, or leave it unsplit,
        # neither of which the whole script says: the snapshot is refused.
        raise
    except ParseError as exc:
        note(anomalies, SOURCE, "unreadable_sites", f"{exc}: renewables cannot be split")
        sites = []
    labels, totals = [], []
    for site in sites:
        kind = _plain(site.get("Type"))
        if kind in (HYDRO_TYPE, RENEWABLE_TYPE):
            labels.append("hydro" if kind == HYDRO_TYPE else str(site.get("Desc", "")).strip())
            totals.append(site.get("SiteTotal"))
    if not labels:
        return pd.Series(dtype="float64")
    fuels = map_fuels(pd.Series(labels), {**RENEWABLE_SITES, "hydro": "hydro"}, SOURCE, anomalies)
    mw = pd.to_numeric(pd.Series(totals, dtype="object"), errors="coerce").fillna(0).clip(lower=0)
    return mw.groupby(fuels.to_numpy()).sum().astype("float64")


# -- fetch ------------------------------------------------------------------------------

def script_url() -> str:
    """The dashboard's data script."""
    return f"{base_url(SOURCE, DEFAULT_BASE_URL)}/{SCRIPT}"


def fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]:
    """The script as it is now: one snapshot."""
    return [client.get(script_url())]


def backfill_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """None: the dashboard holds the current snapshot only."""
    return []


def fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]:
    """Always a FetchError: the dashboard keeps no history."""
    raise FetchError(f"{SOURCE}: the dashboard holds only its current snapshot, so there is no "
                     "history to backfill")
