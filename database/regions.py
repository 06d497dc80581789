"""Reads about regions for the API: codes, aliases, which sources hold data for them, and
(which of them answers is the API's policy, api/services/sources.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg2.extensions

Cursor = psycopg2.extensions.cursor


@dataclass(frozen=True)
class Series:
    """One source's data for one region."""

    region: str
    region_id: int
    source: str
    source_id: int
    interval_minutes: int
    first: datetime
    last: datetime
    stale_after: timedelta
    updated_at: datetime  # when data of this series was last written

    def fresh(self, now: datetime) -> bool:
        return now - self.last <= self.stale_after


@dataclass(frozen=True)
class Region:
    id: int
    code: str
    name: str
    time_zone: str
    aliases: tuple[str, ...]


def all_regions(cur: Cursor) -> list[Region]:
    cur.execute(
        "SELECT r.id, r.code, r.name, r.time_zone, "
        "coalesce(array_agg(a.alias ORDER BY a.alias) FILTER (WHERE a.alias IS NOT NULL), '{}') "
        "FROM region r LEFT JOIN region_alias a ON a.region_id = r.id GROUP BY r.id ORDER BY r.code"
    )
    return [Region(i, code, name, tz, tuple(aliases)) for i, code, name, tz, aliases in cur.fetchall()]


_CORPORATE = {"INC", "LLC", "LP", "CO", "CORP", "CORPORATION", "COMPANY", "THE"}


def normalise_name(name: str) -> str:
    """A region name as compared: case, punctuation, '&' and corporate suffixes ignored, so
    that 'PJM INTERCONNECTION, LLC' (HIFLD) meets 'PJM Interconnection, LLC' (EIA)."""
    words = re.sub(r"[^A-Z0-9]+", " ", name.upper().replace("&", " AND ")).split()
    while words and words[-1] in _CORPORATE:
        words.pop()
    return " ".join(words)


def region_names(cur: Cursor) -> dict[str, str]:
    """Every way to name a region (code, alias, full name), normalised, to its code."""
    cur.execute(
        "SELECT name, code FROM region UNION ALL SELECT code, code FROM region "
        "UNION ALL SELECT a.alias, r.code FROM region_alias a JOIN region r ON r.id = a.region_id"
    )
    return {normalise_name(name): code for name, code in cur.fetchall()}


def all_series(cur: Cursor, region_code: str | None = None) -> list[Series]:
    """Every (region, source) with stored data, optionally for one region."""
    cur.execute(
        "SELECT r.code, r.id, s.name, s.id, s.interval_minutes, x.first_ts, x.last_ts, s.stale_after, x.updated_at "
        "FROM series x JOIN region r ON r.id = x.region_id JOIN source s ON s.id = x.source_id "
        "WHERE %(code)s IS NULL OR r.code = %(code)s ORDER BY r.code, s.interval_minutes, s.name",
        {"code": region_code},
    )
    return [Series(*row) for row in cur.fetchall()]


def aliases_by_kind(cur: Cursor) -> dict[str, dict[str, list[str]]]:
    """Region code -> alias kind (legacy, electricitymaps, watttime, ...) -> its aliases, sorted:
    the names other services (the original one, Electricity Maps, WattTime) give each region."""
    cur.execute(
        "SELECT r.code, a.kind, a.alias FROM region_alias a JOIN region r ON r.id = a.region_id "
        "ORDER BY r.code, a.kind, a.alias"
    )
    kinds: dict[str, dict[str, list[str]]] = {}
    for code, kind, alias in cur.fetchall():
        kinds.setdefault(code, {}).setdefault(kind, []).append(alias)
    return kinds


def interval_counts(cur: Cursor, series: list[Series], start: datetime, end: datetime,
                    fuel_mix: bool = False) -> dict[int, int]:
    """How many intervals each series (source id -> count) serves in [start, end): of carbon
    intensity, or with `fuel_mix` those computed from a mix (reported intensities have none).
    One round trip; each count runs on the primary key's (region, source, ts) prefix."""
    if not series:
        return {}
    if fuel_mix:
        one = ("SELECT %s, count(*) FROM carbon_intensity WHERE region_id = %s AND source_id = %s "
               "AND ts >= %s AND ts < %s AND total_mw IS NOT NULL")
    else:
        one = "SELECT %s, count(*) FROM carbon_intensity WHERE region_id = %s AND source_id = %s AND ts >= %s AND ts < %s"
    cur.execute(" UNION ALL ".join([one] * len(series)),
                [value for s in series for value in (s.source_id, s.region_id, s.source_id, start, end)])
    return {source_id: count for source_id, count in cur.fetchall()}
