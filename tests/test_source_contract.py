"""The contract every source in crawler.crawl.SOURCES keeps (crawler/parsers/__init__.py), checked
the same way for each one, in the spirit of gridstatus' BaseTestISO: a new source adds one line
to RECORDINGS and is covered on its first commit.

1. Its recordings (real ones in ../shared/fixtures, hand-written ones in tests/fixtures) parse
   into frames that keep the contract: the columns of crawler.model, UTC interval starts, fuels
   of the vocabulary, regions its SPEC names (flows: regions or aliases of the region table;
   a provider's zones: upper-case keys, which the write path makes regions of), no key twice,
   finite and plausible values.
2. Bad bodies (empty, an HTML error page, JSON of another shape, a download cut inside a
   number) and the error bodies it has recorded are refused: ParseError, which ingest records
   as the payload's error, and nothing reaches the writer.
3. A run in which nothing is fetched (a loopback server answering 404 to everything, or 200
   with an empty body) records a failed run and writes no data.

What is particular to one source (its values against its file, time conventions, daylight
saving, fuel mapping, fetch plans) stays in its own test file."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from crawler import crawl
from crawler.__main__ import read_payload
from crawler.crawl import REGISTRY, SOURCES, Crawler, utc_now
from crawler.ingest import parse_payloads
from crawler.model import (FLAGGED_COLUMNS, FLOW_COLUMNS, LOAD_COLUMNS, MARGINAL_COLUMNS, MAX_PLAUSIBLE_MW,
                           NET_IMPORT_COLUMNS, OPERATOR_FORECAST_COLUMNS, OPERATOR_FORECAST_KINDS, READING_COLUMNS,
                           REJECTED_COLUMNS, REPORTED_COLUMNS, WEATHER_FORECAST_COLUMNS, WEATHER_VARIABLES, ParseError,
                           ParseResult, Payload)
from crawler.source import SourceSpec
from database.scratch import DATA_TABLES
from energy_data.fuels import FUELS
from energy_data.weather_points import load_points, points_by_region
from tests.conftest import HAND_WRITTEN, shared_dir
from tests.crawlhelp import ENDPOINT_NAMES
from tests.fakeiso import Response

# A fetch long after every recording: the issue times forecast parsers take from a body are
# never clipped by it, and no parser reads the file's modification time.
FETCHED = datetime(2030, 1, 1, tzinfo=timezone.utc)

# The frames a parse fills (ParseResult's attributes), as the write path takes them.
DATA_FRAMES = ("readings", "net_imports", "reported", "marginal", "load", "flows", "operator_forecasts",
               "weather_forecasts")
READINGS = ("readings",)
WITH_IMPORTS = ("readings", "net_imports")
FORECASTS = ("operator_forecasts",)



def open_meteo_request(path: Path) -> str:
    """The request a recorded Open-Meteo answer was fetched with: the parser tells its points by
    the coordinates asked (the region is named in the file's name)."""
    region = path.stem.rsplit("_", 1)[-1]
    region = region if region in points_by_region() else "ISNE"  # an error answer names none
    host = "https://previous-runs-api.open-meteo.com" if "previous_runs" in path.name else "https://api.open-meteo.com"
    points = points_by_region()[region]
    return (f"{host}/v1/forecast?latitude={','.join(f'{p.latitude:g}' for p in points)}"
            f"&longitude={','.join(f'{p.longitude:g}' for p in points)}&timezone=GMT")


def watttime_request(path: Path) -> str:
    """The request of a hand-written WattTime body: handwritten_<endpoint>_<region>.json."""
    _, endpoint, region = path.stem.split("_", 2)
    return f"https://api.watttime.org/v3/{endpoint}?region={region}"


@dataclass(frozen=True)
class Recordings:
    """A source's bodies. `files`: globs, each looked up under tests/fixtures and under
    ../shared/fixtures; `frames`: the frames its recordings fill (every one by some recording,
    no other); `refused`: recorded bodies it must refuse (error answers, another feed);
    `request`: the payload name a file is parsed under, for parsers that read the request from
    it (default: the file's path); `known_failures`: check -> why it fails today."""

    files: tuple[str, ...]
    frames: tuple[str, ...]
    refused: tuple[str, ...] = ()
    request: Callable[[Path], str] | None = None
    known_failures: dict[str, str] = field(default_factory=dict)


RECORDINGS: dict[str, Recordings] = {
    "CAISO": Recordings(("CAISO/handwritten_*_fuelsource*.csv",), WITH_IMPORTS,
                        refused=("CAISO/handwritten_*_error_page.html",)),
    "CAISO_DRW": Recordings(("CAISO/*_DailyRenewablesWatch.txt",), WITH_IMPORTS),
    "NYISO": Recordings(("NYISO/*rtfuelmix*",), READINGS),
    "MISO": Recordings(("MISO/getfuelmix_*/*.json", "MISO/miso_getfuelmix_*.json", "MISO/*DOCTORED.json"),
                       WITH_IMPORTS, refused=("MISO/*_error-no-data_*.json",)),
    "ISONE": Recordings(("ISONE/*genfuelmix_*.json",), READINGS),
    "PJM": Recordings(("PJM/gen_by_fuel.json",), READINGS),
    "BPA": Recordings(("BPA/*baltwg_*.txt",), READINGS),
    "SPP": Recordings(("SPP/*GenMix*.csv",), READINGS, refused=("SPP/RTBM-LMP-*.csv",)),
    "ERCOT": Recordings(("ERCOT/*fuel-mix_*.json", "ERCOT/*energy-storage-resources_*.json"), READINGS),
    "EIA": Recordings(("EIA/*fuel-type-data_*.json", "EIA/synthetic/US_*-*.json"), READINGS,
                      refused=("EIA/synthetic/*exchange*.json", "EIA/synthetic/*consumption*.json",
                               "EIA/synthetic/US_NW_AVRN.json")),
    "ELECTRICITYMAPS": Recordings(("electricitymaps/handwritten_*.json",), ("reported",),
                                  refused=("electricitymaps/handwritten_*_sandbox.json",)),
    "WATTTIME": Recordings(("watttime/handwritten_*_*_*.json",), ("marginal",),
                           refused=("watttime/handwritten_403_*",), request=watttime_request),
    "HI": Recordings(("HI/*islandpulse_mix_*.json",), READINGS),
    "PREPA": Recordings(("PREPA/*dataSource*.js",), READINGS),
    "ENTSOE": Recordings(("ENTSOE/*_production*.xml", "ENTSOE/*_consumption*.xml", "ENTSOE/*_exchange_*.xml",
                          "ENTSOE/wind_solar_forecast_*.xml", "entsoe/handwritten_A75_*.xml",
                          "entsoe/handwritten_acknowledgement_no_data.xml"),
                         ("readings", "load", "flows", "operator_forecasts"),
                         refused=("ENTSOE/*_exchange_forecast_*.xml", "ENTSOE/*_generation_forecast.xml",
                                  "entsoe/handwritten_acknowledgement_refused.xml")),
    "OPENELECTRICITY": Recordings(("OPENELECTRICITY/*.json",), WITH_IMPORTS),
    "HYDROQUEBEC": Recordings(("HYDROQUEBEC/*.json", "hydroquebec/handwritten_*.json"), ("readings", "load")),
    "GB": Recordings(("gb/handwritten_FUELHH_*.json",), WITH_IMPORTS),
    "OPENMETEO": Recordings(("openmeteo/handwritten_forecast_*.json", "openmeteo/handwritten_previous_runs_*.json"),
                            ("weather_forecasts",), refused=("openmeteo/handwritten_error.json",),
                            request=open_meteo_request),
    "CAISO_FORECAST": Recordings(("CAISO/*_FCST_*.zip",), FORECASTS),
    "MISO_FORECAST": Recordings(("MISO/DataBrokerServicesget*Forecast.asmx.json", "MISO/*_df_al.xls"), FORECASTS),
    "PJM_FORECAST": Recordings(("PJM/pjm_*_forecast_*.json", "PJM/compressed_pjm_load_forecast_*.gz"), FORECASTS),
    "ISONE_FORECAST": Recordings(("ISONE/seven_day_*_forecast_*.csv", "ISONE/wsclient_systemload_*.json"), FORECASTS),
    "NYISO_FORECAST": Recordings(("NYISO/*isolf.csv",), FORECASTS),
    "ERCOT_FORECAST": Recordings(("ERCOT/loadForecastVsActual_*.json",), FORECASTS),
    "EIA_FORECAST": Recordings(("EIA/*region-data_*.json",), FORECASTS),
}


def source_params(check: str, names: list[str] | None = None) -> list:
    """Every source (or `names`), as parameters of `check`: an xfail where RECORDINGS names why it
    fails, strict when the recorded fixtures are there (the failing recording may be one of them)."""
    strict = (shared_dir() / "fixtures").is_dir()
    params = []
    for name in names or list(RECORDINGS):
        reason = RECORDINGS[name].known_failures.get(check)
        marks = [pytest.mark.xfail(strict=strict, reason=reason)] if reason else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


# -- the recordings --------------------------------------------------------------------------

def roots() -> list[Path]:
    """Where recordings are looked up: tests/fixtures, and ../shared/fixtures when present."""
    shared = shared_dir() / "fixtures"
    return [HAND_WRITTEN, shared] if shared.is_dir() else [HAND_WRITTEN]


def files_of(globs: tuple[str, ...]) -> list[Path]:
    found = {path for root in roots() for pattern in globs for path in root.glob(pattern) if path.is_file()}
    return sorted(found - {p for p in found if p.suffix in (".md", ".ambr")})


def files_or_skip(name: str, globs: tuple[str, ...]) -> list[Path]:
    files = files_of(globs)
    if not files:
        if not (shared_dir() / "fixtures").is_dir():
            pytest.skip(f"{name}: its recordings are in ../shared/fixtures, which is absent (set ENERGY_DATA_SHARED)")
        pytest.fail(f"{name}: no file matches {globs}: RECORDINGS names recordings that are not there")
    return files


def payload_of(name: str, path: Path, body: bytes | None = None) -> Payload:
    recorded = read_payload(path)
    request = RECORDINGS[name].request
    return Payload(body=recorded.body if body is None else body, name=request(path) if request else recorded.name,
                   fetched_at=FETCHED)


def parse(name: str, payload: Payload) -> ParseResult:
    return REGISTRY[name].module.parse(payload)


@pytest.fixture(scope="module")
def known_places(database_url_session) -> set[str]:
    """Region codes and aliases of the region table (what each end of a flow names)."""
    import psycopg2

    conn = psycopg2.connect(database_url_session)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT code FROM region UNION SELECT alias FROM region_alias")
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def test_every_source_in_the_registry_declares_its_recordings() -> None:
    assert list(RECORDINGS) == [spec.name for spec in SOURCES]
    for name, recordings in RECORDINGS.items():
        assert recordings.frames and set(recordings.frames) <= set(DATA_FRAMES), name
        assert set(recordings.known_failures) <= {"recordings", "bad_bodies", "truncated", "refused", "nothing"}, name


# -- 1. what a parse gives -----------------------------------------------------------------------

@dataclass(frozen=True)
class Frame:
    """What the contract says of one frame of ParseResult."""

    columns: list[str]
    key: list[str]
    times: tuple[str, ...] = ("timestamp",)
    values: tuple[str, ...] = ("mw",)
    regions: tuple[str, ...] = ("region",)  # columns naming a region of the source's SPEC
    places: tuple[str, ...] = ()            # columns naming a region code or alias of the region table
    zones: tuple[str, ...] = ()             # a provider's zone keys: a region's code or alias, or a new
                                            # region the write path makes of it (upper case, as stored)
    on_grid: bool = True                    # timestamps fall on the result's interval grid


FRAMES = {
    "readings": Frame(READING_COLUMNS, ["region", "timestamp", "fuel"]),
    "net_imports": Frame(NET_IMPORT_COLUMNS, ["region", "timestamp"]),
    "reported": Frame(REPORTED_COLUMNS, ["zone", "timestamp"],
                      values=("lifecycle_g_per_kwh", "direct_g_per_kwh", "renewable_share", "low_carbon_share"),
                      regions=(), zones=("zone",)),
    "marginal": Frame(MARGINAL_COLUMNS, ["zone", "timestamp"], times=("timestamp", "forecast_issued_at"),
                      values=("moer_g_per_kwh", "signal_index"), regions=(), zones=("zone",), on_grid=False),
    "load": Frame(LOAD_COLUMNS, ["region", "timestamp"]),
    "flows": Frame(FLOW_COLUMNS, ["from_region", "to_region", "timestamp"], regions=(),
                   places=("from_region", "to_region")),
    "operator_forecasts": Frame(OPERATOR_FORECAST_COLUMNS, ["region", "issued_at", "timestamp", "kind"],
                                times=("issued_at", "timestamp"), on_grid=False),
    "weather_forecasts": Frame(WEATHER_FORECAST_COLUMNS, ["point", "issued_at", "timestamp"],
                               times=("issued_at", "timestamp"), values=WEATHER_VARIABLES, regions=(), on_grid=False),
    "rejected": Frame(REJECTED_COLUMNS, ["region", "timestamp", "fuel"], values=()),
    "flagged": Frame(FLAGGED_COLUMNS, ["region", "timestamp", "fuel"], values=()),
}


def contract_problems(spec: SourceSpec, result: ParseResult, places: set[str]) -> list[str]:
    """Every way `result` breaks the contract, as lines for a human (none: it keeps it)."""
    if not isinstance(result, ParseResult):
        return [f"parse returned {type(result).__name__}, not a ParseResult"]
    problems = []
    if result.interval_minutes != spec.interval_minutes and result.marginal.empty:
        problems.append(f"interval_minutes {result.interval_minutes}, SPEC says {spec.interval_minutes}")
    for name, frame in FRAMES.items():
        problems += [f"{name}: {p}" for p in frame_problems(spec, getattr(result, name), frame, result, places)]
    return problems


def frame_problems(spec: SourceSpec, rows: pd.DataFrame, frame: Frame, result: ParseResult,
                   places: set[str]) -> list[str]:
    if list(rows.columns) != frame.columns:
        return [f"columns {list(rows.columns)}, not {frame.columns}"]
    if rows.empty:
        return []
    problems = []
    for column in frame.times:
        problems += time_problems(rows, column, nullable=column == "forecast_issued_at")
    if "timestamp" in rows and frame.on_grid and not problems:
        step = pd.Timedelta(minutes=result.interval_minutes)
        off = rows["timestamp"][(rows["timestamp"] - pd.Timestamp(0, tz="UTC")) % step != pd.Timedelta(0)]
        if len(off):
            problems.append(f"{len(off)} timestamps off the {result.interval_minutes}-minute grid of interval "
                            f"starts, e.g. {off.iloc[0].isoformat()}")
    if rows.duplicated(frame.key).any():
        first = rows[rows.duplicated(frame.key)].iloc[0]
        problems.append(f"{int(rows.duplicated(frame.key).sum())} rows repeat a key {frame.key}, e.g. "
                        f"{first[frame.key].tolist()}")
    for column in frame.regions:
        strangers = set(rows[column]) - set(spec.regions)
        if strangers:
            problems.append(f"regions {sorted(strangers)} are not in SPEC.regions")
    for column in frame.places:
        unknown = set(rows[column]) - places
        if unknown:
            problems.append(f"{column} {sorted(map(str, unknown))} name no region or alias of the region table")
    for column in frame.zones:
        odd = {z for z in rows[column] if not isinstance(z, str) or not z or z != z.strip().upper()}
        if odd:
            problems.append(f"{column} keys {sorted(map(repr, odd))} are not upper-case zone keys")
    if "fuel" in rows:
        outside = set(rows["fuel"]) - set(FUELS)
        if outside:
            problems.append(f"fuels {sorted(outside)} are outside the vocabulary")
    problems += value_problems(rows, frame)
    if "kind" in rows and frame is FRAMES["operator_forecasts"]:
        kinds = set(rows["kind"]) - set(OPERATOR_FORECAST_KINDS)
        if kinds:
            problems.append(f"kinds {sorted(kinds)} are none of {OPERATOR_FORECAST_KINDS}")
    if "point" in rows:
        points = {p.point: p.region for p in load_points()}
        unknown = set(rows["point"]) - set(points)
        outside = {points[p] for p in set(rows["point"]) & set(points)} - set(spec.regions)
        if unknown or outside:
            problems.append(f"points {sorted(unknown)} unknown, or of regions {sorted(outside)} not in SPEC.regions")
    return problems


def time_problems(rows: pd.DataFrame, column: str, nullable: bool = False) -> list[str]:
    dtype = rows[column].dtype
    if not isinstance(dtype, pd.DatetimeTZDtype) or str(dtype.tz) != "UTC":
        return [f"{column} is {dtype}, not timezone-aware UTC"]
    if not nullable and rows[column].isna().any():
        return [f"{int(rows[column].isna().sum())} rows without a {column}"]
    return []


def value_problems(rows: pd.DataFrame, frame: Frame) -> list[str]:
    """Values are numbers, finite (a missing one stays missing only where the frame allows it)
    and plausible; power flows never negative."""
    problems = []
    for column in frame.values:
        values = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype="float64")
        if np.isinf(values).any() or (np.abs(values[~np.isnan(values)]) > MAX_PLAUSIBLE_MW).any():
            problems.append(f"{column}: {int((~np.isfinite(values) & ~np.isnan(values)).sum())} infinite or "
                            "implausible values")
        blank = np.isnan(values) & rows[column].notna().to_numpy()
        if blank.any():
            problems.append(f"{column}: {int(blank.sum())} values that are not numbers")
        if column == "mw" and np.isnan(values).any():
            problems.append(f"{column}: {int(np.isnan(values).sum())} rows without a value")
    measured = [c for c in frame.values if c in rows]
    if measured and frame.values != ("mw",) and rows[measured].isna().all(axis=1).any():
        problems.append(f"{int(rows[measured].isna().all(axis=1).sum())} rows carry none of {measured}")
    if frame is FRAMES["flows"] and (rows["mw"] < 0).any():
        problems.append(f"{int((rows['mw'] < 0).sum())} negative flows (a flow goes one way, from -> to)")
    return problems


@pytest.mark.parametrize("name", source_params("recordings"))
def test_recordings_parse_into_frames_that_keep_the_contract(name: str, known_places: set[str]) -> None:
    spec, recordings = REGISTRY[name], RECORDINGS[name]
    refused = set(files_of(recordings.refused))
    files = [f for f in files_or_skip(name, recordings.files) if f not in refused]
    problems, filled = [], set()
    for path in files:
        result = parse(name, payload_of(name, path))
        problems += [f"{path.name}: {p}" for p in contract_problems(spec, result, known_places)]
        filled |= {frame for frame in DATA_FRAMES if not getattr(result, frame).empty}
    assert not problems, "\n".join(problems)
    if (shared_dir() / "fixtures").is_dir():  # with only the hand-written ones, some frames go unfilled
        assert filled == set(recordings.frames), f"the recordings fill {sorted(filled)}; RECORDINGS: {recordings.frames}"


# -- 2. bad bodies -------------------------------------------------------------------------------

TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
BAD_BODIES = {
    "empty": b"",
    "blank": b" \r\n\r\n",
    "html_error_page": (b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>"
                        b"<body><h1>Service Unavailable</h1></body></html>\n"),
    "json_of_another_shape": b'{"message": "Service Unavailable", "status": 503}',
    "not_text": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
}


def refusal(name: str, payload: Payload) -> str:
    """The error ingest records for a body the source refuses; AssertionError if it does not."""
    try:
        result = parse(name, payload)
    except ParseError as exc:
        message = str(exc)
    else:
        raise AssertionError(f"{name} accepted the body: {sum(len(getattr(result, f)) for f in DATA_FRAMES)} rows")
    assert message.strip(), "a ParseError without a message"
    if not payload.body:
        assert "empty" in message or "''" in message, message  # says so, or shows the empty start
    title = TITLE.search(payload.body.decode("utf-8", "replace"))
    if "HTML page" in message and title:
        assert " ".join(title.group(1).split()) in message, message  # what the server meant
    parsed = parse_payloads(name, REGISTRY[name].module, [payload], utc_now())
    assert parsed.result is None and parsed.errors == [message], parsed.errors
    return message


@pytest.mark.parametrize("kind", list(BAD_BODIES))
@pytest.mark.parametrize("name", source_params("bad_bodies"))
def test_bad_bodies_are_refused_with_a_parse_error_saying_why(name: str, kind: str) -> None:
    path = files_of(RECORDINGS[name].files)[:1]
    payload = payload_of(name, path[0], BAD_BODIES[kind]) if path else Payload(BAD_BODIES[kind], "body", FETCHED)
    message = refusal(name, payload)
    if kind == "html_error_page":
        assert "html" in message.lower(), message  # says it got a web page, not the data


def cut_inside(body: bytes, number: re.Match) -> bytes:
    """The body up to the first digit of `number`: a download that stopped inside a value."""
    return body[:number.start() + 1]


def truncations(body: bytes) -> dict[str, bytes]:
    """The body cut inside a number in its middle, and inside its last number."""
    numbers = list(re.finditer(rb"\d[\d.]*\d", body))
    middle = next((n for n in numbers if n.start() >= len(body) // 2), None)
    return {"middle": cut_inside(body, middle) if middle else body[:len(body) // 2],
            "last_value": cut_inside(body, numbers[-1]) if numbers else body[:-2]}


def rows_not_in(part: ParseResult, whole: ParseResult) -> dict[str, int]:
    """Per frame, the rows of `part` that `whole` does not hold with the same values."""
    invented = {}
    for frame in DATA_FRAMES:
        rows, reference = getattr(part, frame), getattr(whole, frame)
        if rows.empty:
            continue
        merged = rows.merge(reference, how="left", on=list(rows.columns), indicator=True)
        missing = int((merged["_merge"] == "left_only").sum())
        if missing:
            invented[frame] = missing
    return invented


@pytest.mark.parametrize("name", source_params("truncated"))
def test_a_cut_download_is_refused_or_keeps_only_what_the_whole_body_says(name: str, known_places: set[str]) -> None:
    """A body cut inside a value (a dropped connection) raises ParseError, or parses into rows
    the whole body also holds, with the same values: never a shortened number."""
    spec = REGISTRY[name]
    refused = set(files_of(RECORDINGS[name].refused))
    problems = []
    for path in [f for f in files_or_skip(name, RECORDINGS[name].files) if f not in refused]:
        whole_payload = payload_of(name, path)
        whole = parse(name, whole_payload)
        for where, body in truncations(whole_payload.body).items():
            payload = dataclasses.replace(whole_payload, body=body)
            try:
                part = parse(name, payload)
            except ParseError:
                continue
            except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
                # Not a ParseError, but ingest still refuses it as an unreadable body.
                errors = parse_payloads(name, spec.module, [payload], utc_now()).errors
                assert errors and type(exc).__name__ in errors[0], errors
                continue
            problems += [f"{path.name} cut in the {where}: {p}" for p in contract_problems(spec, part, known_places)]
            invented = rows_not_in(part, whole)
            if invented:
                problems.append(f"{path.name} cut in the {where}: rows the whole body does not hold: {invented}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", source_params("refused", [n for n, r in RECORDINGS.items() if r.refused]))
def test_recorded_error_bodies_are_refused(name: str) -> None:
    for path in files_or_skip(name, RECORDINGS[name].refused):
        refusal(name, payload_of(name, path))


# -- 3. nothing fetched, nothing written -----------------------------------------------------------

# Tables a failed run may write: its run, the bodies it fetched (archived for whoever
# investigates) and a source's notes about its account.
BOOKKEEPING = ("crawl_run", "raw_payload", "source_note")


def answer_everything_with(fake, response: Response) -> None:
    fake.match = lambda path, query: response


@pytest.fixture
def nowhere(fake_iso, monkeypatch, db_url):
    """Every endpoint of every source at the loopback server, every credential set (to a fake)."""
    for endpoint in {*ENDPOINT_NAMES, *(spec.name for spec in SOURCES)}:
        monkeypatch.setenv(f"{endpoint}_BASE_URL", f"{fake_iso.url}/{endpoint.lower()}")
    for spec in SOURCES:
        for variable in spec.requires_env:
            monkeypatch.setenv(variable, "contract-test-fake")
    return fake_iso


def counts(db) -> dict[str, int]:
    with db.cursor() as cur:
        found = {}
        for table in (*DATA_TABLES, "region", "region_alias"):
            cur.execute(f"SELECT count(*) FROM {table}")
            found[table] = cur.fetchone()[0]
    return found


@pytest.mark.parametrize("answer", ["404", "empty_200"])
@pytest.mark.parametrize("name", source_params("nothing"))
def test_a_run_that_fetches_nothing_records_a_failure_and_writes_nothing(name, answer, nowhere, db, monkeypatch):
    spec = REGISTRY[name]
    if spec.disabled:  # switched off in the registry; its fetch is still checked
        monkeypatch.setitem(crawl.REGISTRY, name, dataclasses.replace(spec, disabled=None))
    if answer == "empty_200":
        answer_everything_with(nowhere, Response(b"", content_type="application/json"))
    Crawler(out=lambda line: None).close()  # the sources registered before counting
    before = counts(db)
    lines: list[str] = []
    crawler = Crawler(out=lines.append)
    try:
        code = crawler.run([name], force=True, dry_run=False, now=utc_now())
    finally:
        crawler.close()
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"{name}: failed: "), lines
    assert nowhere.requests, f"{name} asked the loopback server nothing: did it reach another host?"
    with db.cursor() as cur:
        cur.execute("SELECT s.name, r.status, r.error, r.rows_inserted, r.rows_updated FROM crawl_run r "
                    "JOIN source s ON s.id = r.source_id")
        (source, status, error, inserted, updated), = cur.fetchall()
    assert (source, status, inserted, updated) == (name, "failed", 0, 0) and error
    assert not re.match(r"[A-Z]\w*(Error|Exception): ", error), f"a crash, not a refusal: {error}"
    after = counts(db)
    written = {t: after[t] - before[t] for t in after if t not in BOOKKEEPING and after[t] != before[t]}
    assert written == {}, f"a run that fetched nothing wrote {written}"
