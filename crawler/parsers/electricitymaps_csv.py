"""Electricity Maps data-portal CSV exports: carbon intensity reported as intensity.

Not a crawled source (there is nothing to fetch: the files are downloaded by hand from
https://www.electricitymaps.com/data-portal, or come with published artefacts), so this
module has only a pure `parse()`; `python -m crawler import-emap-csv FILE...` stores what it
returns as source ELECTRICITYMAPS (database/reported.py).

Format (one file per zone and year; the header as exported, UTF-8, maybe with a BOM):

    Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),
    Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,
    Data Source,Data Estimated,Data Estimation Method
    2022-01-01 00:00:00,USA,CAISO,US-CAL-CISO,209.52,273.77,55.39,41.21,caiso.com,false,

- `Datetime (UTC)` is the start of the hour, in UTC (naive in older exports, ISO 8601 with Z
  in newer ones; both read). Only hourly exports are accepted: daily or monthly ones would
  mix resolutions in one series.
- Intensities are consumption-based (flow-traced) gCO2eq/kWh, direct and life-cycle (LCA);
  percentages 0-100 become shares 0-1.
- `Zone Id` is an Electricity Maps zone key (US-CAL-CISO); the importer maps it through the
  region aliases.

A row that cannot be read (more fields than the header, bad time, a value that is not a
number or out of range, no intensity at all, a time off the hour, a time in the future) is
dropped and counted with its line number; a repeated (zone, hour) keeps the last row and is
counted too. Nothing is dropped silently, and one bad row never refuses its file. A file is
refused only when it is not such an export at all (binary, HTML, missing columns, rows a day
or more apart: a daily or monthly export), or over MAX_EXPORT_BYTES; what it holds is never
echoed at length.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from crawler.model import Anomaly, ParseError, Payload

INTERVAL_MINUTES = 60
TIME = "Datetime (UTC)"
ZONE = "Zone Id"
DIRECT = "Carbon Intensity gCO₂eq/kWh (direct)"
LIFECYCLE = "Carbon Intensity gCO₂eq/kWh (LCA)"
LOW_CARBON = "Low Carbon Percentage"
RENEWABLE = "Renewable Percentage"
ESTIMATED = "Data Estimated"
ESTIMATION_METHOD = "Data Estimation Method"
REQUIRED = (TIME, ZONE, DIRECT, LIFECYCLE)
# Values are kept as the file has them up to this (g/kWh): no grid on Earth is near it, so a
# larger figure is a unit or export error, not an intensity.
MAX_G_PER_KWH = 5000.0
# A year of one zone is ~1 MB; anything far larger is not one export (a 1 GB file of NULs took
# 8.5 GB of memory and echoed its "header" whole). The CLI checks the size before reading.
MAX_EXPORT_BYTES = 50_000_000
# A row may start up to this long after `now` (clock skew, the hour being exported); a row
# dated later is refused: it would push the series' newest data (and /health) into the future.
FUTURE_TOLERANCE = timedelta(hours=1)
SHOWN_CHARACTERS = 40   # of any text of the file an error quotes

ROW_COLUMNS = ["zone", "timestamp", "lifecycle_g_per_kwh", "direct_g_per_kwh", "renewable_share",
               "low_carbon_share", "estimated", "estimation_method"]


@dataclass
class IntensityRows:
    """The readable rows of one or more exports (timestamp: aware UTC interval start) and
    what was dropped or doubtful, counted."""

    rows: pd.DataFrame
    interval_minutes: int = INTERVAL_MINUTES
    bad_rows: int = 0
    anomalies: list[Anomaly] = field(default_factory=list)


def parse(payload: Payload, now: datetime | None = None) -> IntensityRows:
    """Rows of one export; ParseError when the body is not such an export at all. With `now`,
    rows dated more than FUTURE_TOLERANCE after it are refused (counted with their lines)."""
    frame, line, malformed = _read_csv(payload)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ParseError(f"not an Electricity Maps export: column(s) {', '.join(repr(m) for m in missing)} missing "
                         f"(found: {', '.join(_shown(c) for c in frame.columns[:12])})")
    if frame.empty and not malformed:
        raise ParseError("the export holds a header but no data rows")
    times = _times(frame[TIME])
    zones = frame[ZONE].fillna("").astype(str).str.strip().str.upper()
    direct, bad_direct = _numbers(frame[DIRECT], 0, MAX_G_PER_KWH)
    lifecycle, bad_lifecycle = _numbers(frame[LIFECYCLE], 0, MAX_G_PER_KWH)
    low_carbon, bad_low = _numbers(frame.get(LOW_CARBON), 0, 100, len(frame))
    renewable, bad_renewable = _numbers(frame.get(RENEWABLE), 0, 100, len(frame))

    on_the_hour = times.notna() & (times == times.dt.floor("h"))
    _check_hourly(zones[on_the_hour], times[on_the_hour])
    latest = pd.Timestamp(now + FUTURE_TOLERANCE) if now is not None else None
    future = times > latest if latest is not None else pd.Series(False, index=frame.index)
    problems = {
        "unreadable time": times.isna(),
        "time not on the hour": times.notna() & ~on_the_hour,
        f"dated in the future (after {latest:%Y-%m-%d %H:%M}Z)" if latest is not None else "in the future": future,
        "no zone": zones == "",
        "intensity not a number in 0..5000": bad_direct | bad_lifecycle,
        "no intensity": direct.isna() & lifecycle.isna() & ~(bad_direct | bad_lifecycle),
        "percentage not a number in 0..100": bad_low | bad_renewable,
    }
    bad = pd.Series(False, index=frame.index)
    anomalies = [malformed] if malformed else []
    for why, mask in problems.items():
        mask = mask & ~bad  # each bad row is counted once, for its first problem
        if mask.any():
            anomalies.append(Anomaly("bad_row", f"{why}: {_lines(line[mask])}", int(mask.sum())))
        bad |= mask
    rows = pd.DataFrame({
        "zone": zones, "timestamp": times, "lifecycle_g_per_kwh": lifecycle, "direct_g_per_kwh": direct,
        "renewable_share": renewable / 100.0, "low_carbon_share": low_carbon / 100.0,
        "estimated": _flags(frame.get(ESTIMATED), len(frame)),
        "estimation_method": _texts(frame.get(ESTIMATION_METHOD), len(frame)),
    })[~bad]
    rows, repeated = _last_of_repeats(rows)
    if repeated:
        anomalies.append(Anomaly("repeated_interval", "the same zone and hour appear more than once; the last row "
                                 "is kept", repeated))
    skipped = int(bad.sum()) + (malformed.count if malformed else 0)
    return IntensityRows(rows.reset_index(drop=True), INTERVAL_MINUTES, skipped, anomalies)


def concat(parts: list[IntensityRows]) -> IntensityRows:
    """Several exports as one batch; a (zone, hour) in two files keeps the later file's row."""
    rows = pd.concat([p.rows for p in parts], ignore_index=True) if parts else _empty()
    rows, repeated = _last_of_repeats(rows)
    anomalies = [a for p in parts for a in p.anomalies]
    if repeated:
        anomalies.append(Anomaly("repeated_interval", "the same zone and hour appear in more than one file; "
                                 "the later file's row is kept", repeated))
    return IntensityRows(rows, INTERVAL_MINUTES, sum(p.bad_rows for p in parts), anomalies)


def _read_csv(payload: Payload) -> tuple[pd.DataFrame, pd.Series, Anomaly | None]:
    """The rows as text (empty cells NaN), each row's line number, and the rows skipped for
    holding more fields than the header (or a field too long to read). Lines are read one by
    one, so a stray quote spoils its own line only; a short row's missing trailing cells are
    empty."""
    if len(payload.body) > MAX_EXPORT_BYTES:
        raise ParseError(f"{len(payload.body):,} bytes: over the {MAX_EXPORT_BYTES:,} an hourly export may have")
    head = payload.body[:512].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"{", b"[")):
        raise ParseError("not a CSV export: the body is HTML or JSON")
    if b"\x00" in payload.body:
        raise ParseError("not a CSV export: the body holds NUL bytes (binary data)")
    try:
        text = payload.body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise ParseError("not a readable CSV: the body is empty")
    header = _fields(lines[0][1])
    if header is None:
        raise ParseError(f"not a readable CSV: a field of the header (line {lines[0][0]}) is over "
                         f"{csv.field_size_limit():,} characters")
    header = [name.strip() for name in header]
    keep = [header.index(name) for name in dict.fromkeys(header)]   # a repeated column: its first
    rows, numbers, unreadable = [], [], []
    for number, line in lines[1:]:
        cells = _fields(line)
        if cells is None or len(cells) > len(header):
            unreadable.append(number)
            continue
        cells += [""] * (len(header) - len(cells))
        rows.append([cells[i] for i in keep])
        numbers.append(number)
    frame = pd.DataFrame(rows, columns=[header[i] for i in keep], dtype=object)
    frame = frame.where(frame.apply(lambda column: column.str.strip() != ""), np.nan) if len(frame) else frame
    malformed = (Anomaly("bad_row", f"more fields than the header's {len(header)} (or one over "
                         f"{csv.field_size_limit():,} characters): {_lines(pd.Series(unreadable))}", len(unreadable))
                 if unreadable else None)
    return frame, pd.Series(numbers, index=frame.index, dtype="int64"), malformed


def _fields(line: str) -> list[str] | None:
    """The fields of one CSV line; None when a field is too long for the csv module."""
    try:
        return next(csv.reader([line], skipinitialspace=True), [])
    except csv.Error:
        return None


def _shown(text: str) -> str:
    """A text of the file as an error quotes it: printable, and cut at SHOWN_CHARACTERS."""
    shown = repr(text)[1:-1]
    return shown if len(shown) <= SHOWN_CHARACTERS else shown[:SHOWN_CHARACTERS] + "..."


def _times(column: pd.Series) -> pd.Series:
    """Aware UTC times; naive stamps are UTC (the column says so); NaT where unreadable."""
    return pd.to_datetime(column.str.strip(), utc=True, errors="coerce", format="ISO8601")


def _numbers(column: pd.Series | None, low: float, high: float, length: int | None = None
             ) -> tuple[pd.Series, pd.Series]:
    """(values with NaN where empty, mask of cells that are present but not a number in range)."""
    if column is None:
        empty = pd.Series(np.nan, index=pd.RangeIndex(length))
        return empty, pd.Series(False, index=empty.index)
    values = pd.to_numeric(column, errors="coerce")
    present = column.notna() & (column.astype(str).str.strip() != "")
    bad = present & (values.isna() | (values < low) | (values > high) | ~np.isfinite(values.fillna(0)))
    return values.where(~bad), bad


def _flags(column: pd.Series | None, length: int) -> pd.Series:
    if column is None:
        return pd.Series(False, index=pd.RangeIndex(length))
    return column.fillna("").astype(str).str.strip().str.lower().isin(("true", "1", "yes"))


def _texts(column: pd.Series | None, length: int) -> pd.Series:
    if column is None:
        return pd.Series(None, index=pd.RangeIndex(length), dtype=object)
    cleaned = column.astype(object).where(column.notna(), None)
    return cleaned.map(lambda v: v.strip() or None if isinstance(v, str) else None)


def _last_of_repeats(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    repeated = rows.duplicated(subset=["zone", "timestamp"], keep="last")
    return rows[~repeated].sort_values(["zone", "timestamp"], kind="stable", ignore_index=True), int(repeated.sum())


def _check_hourly(zones: pd.Series, times: pd.Series) -> None:
    """Refuse exports of another granularity (daily, monthly): their rows are a day or more
    apart. Judged on every row with a time on the hour, so that rows dropped for other reasons
    leave no gap that looks like another granularity (rows 2 h apart were refused as such)."""
    ordered = pd.DataFrame({"zone": zones, "timestamp": times}).drop_duplicates().sort_values(["zone", "timestamp"])
    steps = ordered.groupby("zone")["timestamp"].diff().dropna()
    if len(steps) and steps.min() >= pd.Timedelta(days=1):
        raise ParseError(f"not an hourly export: consecutive rows are at least {steps.min()} apart (a daily or "
                         "monthly export); only hourly data-portal exports can be imported")


def _lines(numbers: pd.Series, shown: int = 5) -> str:
    values = [str(int(n)) for n in numbers.head(shown)]
    more = f" and {len(numbers) - shown} more" if len(numbers) > shown else ""
    return f"line{'s' if len(numbers) > 1 else ''} {', '.join(values)}{more}"


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ROW_COLUMNS})
