"""Which source's series answers a query: the one policy every endpoint uses.

Preferred by default, in order: data covering the whole range, finer intervals, a feed that
is still live, newer data. So a 5-minute ISO feed wins over EIA's hourly data where both
exist, and EIA answers where the ISO feed has a hole or has gone stale. "Covering" counts the
intervals actually stored in the range where several sources could answer (a source whose
span includes the range may still have a hole there). A source asked for by name answers if
it has data for the region, else 404.

Marginal intensity (WattTime's MOER) is chosen apart (marginal_series_for): it is never stood
in for by average intensity, nor the other way round.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from api.services.errors import NOT_FOUND, DomainError
from database.marginal import MarginalSeries, marginal_series
from database.regions import Series, all_series, interval_counts


def choose_series(series: list[Series], source: str | None, start: datetime, end: datetime,
                  now: datetime, counts: dict[int, int] | None = None) -> Series | None:
    """The series answering for [start, end): the asked-for source's (404 if it has none here),
    or the default for the range (None when no series overlaps it). With `counts` (source id ->
    intervals stored in the range), a series with none there is not chosen, and coverage is
    measured by what is stored rather than by the series' first and last time."""
    if source is not None:
        return _named(series, source)
    overlapping = [s for s in series if s.first < end and s.last >= start]
    if counts is not None:
        overlapping = [s for s in overlapping if counts.get(s.source_id)]
    if not overlapping:
        return None
    span_minutes = max((min(end, now) - start).total_seconds() / 60, 1.0)

    def rank(s: Series) -> tuple:
        if counts is None:
            covers = s.first <= start and s.last + timedelta(minutes=s.interval_minutes) >= min(end, now)
        else:
            covers = counts[s.source_id] * s.interval_minutes >= 0.99 * span_minutes
        return (not covers, *_preference(s, now))
    return min(overlapping, key=rank)


def series_for_range(cur, region: str, source: str | None, start: datetime, end: datetime, now: datetime,
                     fuel_mix: bool = False) -> Series | None:
    """choose_series over the region's series, with what each has stored in the range counted
    when more than one could answer (or, for `fuel_mix`, always: only sources with generation
    readings have a mix)."""
    series = all_series(cur, region)
    if source is not None:
        return _named(series, source)
    candidates = [s for s in series if s.first < end and s.last >= start]
    counts = (interval_counts(cur, candidates, start, end, fuel_mix)
              if len(candidates) > 1 or fuel_mix else None)
    return choose_series(candidates, None, start, end, now, counts)


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
        raise DomainError("no_history", f"{what} carbon-intensity history for {region} before "
                          f"{before.isoformat()}", "source" if source else "region", NOT_FOUND)
    return chosen


def marginal_series_for(cur, region: str, source: str | None, start: datetime, end: datetime) -> MarginalSeries:
    """The marginal series answering for [start, end) in a region (the named source's, if one
    is named): one overlapping the range, else the first; DomainError where none is stored."""
    candidates = [s for s in marginal_series(cur, region) if source is None or s.source == source.upper()]
    if not candidates:
        what = f"from source {source!r} " if source else ""
        raise DomainError("no_marginal_intensity", f"no marginal intensity {what}is stored for {region}: it comes "
                          "from WattTime (source WATTTIME, regions of WATTTIME_REGIONS); use signal=average for the "
                          "intensity of the whole mix", "signal", NOT_FOUND)
    return next((s for s in candidates if s.first < end and s.last >= start), candidates[0])


def _preference(s: Series, now: datetime) -> tuple:
    return (not s.fresh(now), s.interval_minutes, -s.last.timestamp())


def _named(series: list[Series], source: str) -> Series:
    for s in series:
        if s.source == source.upper():
            return s
    available = ", ".join(s.source for s in series) or "none yet"
    raise DomainError("unknown_source", f"source {source!r} has no data for this region "
                      f"(sources with data: {available})", "source", NOT_FOUND)
