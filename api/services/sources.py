"""Which source's series answers a query: the one policy every endpoint uses.

Preferred by default, in order: data covering the whole range, finer intervals, a feed that
is still live, newer data. So a 5-minute ISO feed wins over EIA's hourly data where both
exist, and EIA answers where the ISO feed has a hole or has gone stale. A source asked for
by name answers if it has data for the region, else 404.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from api.errors import ApiError
from database.regions import Series


def choose_series(series: list[Series], source: str | None, start: datetime, end: datetime,
                  now: datetime) -> Series | None:
    """The series answering for [start, end): the asked-for source's (404 if it has none here),
    or the default for the range (None when no series overlaps it)."""
    if source is not None:
        return _named(series, source)
    overlapping = [s for s in series if s.first < end and s.last >= start]
    if not overlapping:
        return None

    def rank(s: Series) -> tuple:
        covers = s.first <= start and s.last + timedelta(minutes=s.interval_minutes) >= min(end, now)
        return (not covers, *_preference(s, now))
    return min(overlapping, key=rank)


def default_series(series: list[Series], now: datetime) -> Series | None:
    """The series shown by default for a region now: live feeds first, then finer, then newer."""
    return min(series, key=lambda s: _preference(s, now)) if series else None


def history_series(series: list[Series], source: str | None, before: datetime, now: datetime,
                   region: str) -> Series:
    """The series to fit a forecast on: the asked-for source, or the default among those with
    data before `before`; 404 naming why when there is none."""
    candidates = [s for s in series if s.first < before]
    if source is not None:
        candidates = [s for s in candidates if s.source == source.upper()]
    chosen = default_series(candidates, now)
    if chosen is None:
        what = f"source {source!r} has" if source else "no source has"
        raise ApiError(404, "no_history", f"{what} carbon-intensity history for {region} before "
                       f"{before.isoformat()}", "source" if source else "region")
    return chosen


def _preference(s: Series, now: datetime) -> tuple:
    return (not s.fresh(now), s.interval_minutes, -s.last.timestamp())


def _named(series: list[Series], source: str) -> Series:
    for s in series:
        if s.source == source.upper():
            return s
    available = ", ".join(s.source for s in series) or "none yet"
    raise ApiError(404, "unknown_source", f"source {source!r} has no data for this region "
                   f"(sources with data: {available})", "source")
