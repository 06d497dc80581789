"""The series the answers read: carbon intensity (average, or marginal where WattTime's is
stored) and the generation mix of a region over a range, from the source the one policy
chooses (sources.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

import numpy as np

from api.services.errors import NOT_SUPPORTED, DomainError
from api.services.sources import default_series, marginal_series_for, series_for_range
from database.marginal import MarginalPoint, MarginalSeries, marginal_points
from database.pool import Pool
from database.regions import Series, all_series
from database.reported import is_reported
from database.timeseries import (IntensitySeries, NewestIntensity, energy_mixture, intensity_series, net_imports,
                                 newest_intensities)
from energy_data.fuels import STORAGE_FUELS

__all__ = ["IntensitySeries", "MarginalPoint", "MarginalSeries", "Mixture", "NewestIntensity", "average", "latest",
           "marginal", "mixtures", "time_weighted"]


def average(pool: Pool, region: str, source: str | None, start: datetime, end: datetime, factor_type: str,
            resolution: str, factors: str, estimated: bool,
            now: datetime) -> tuple[Series | None, IntensitySeries | None]:
    """The series answering for [start, end) and its points (None: no source has data there).
    `factors` ipcc is refused for a series that reports its own intensity (it has no IPCC variant)."""
    with pool.cursor() as cur:
        series = series_for_range(cur, region, source, start, end, now)
        if series is None:
            return None, None
        if factors == "ipcc" and is_reported(cur, series.region_id, series.source_id):
            raise DomainError("not_supported", f"{series.source} reports intensity computed with its own factors: it "
                              "has no IPCC variant; ask emission_factors=regional, or another source",
                              "emission_factors", NOT_SUPPORTED)
        return series, intensity_series(cur, series.region_id, series.source_id, start, end, factor_type,
                                         resolution, factors, include_estimated=estimated)


def time_weighted(points: IntensitySeries) -> tuple[float | None, float | None]:
    """Mean intensity and renewable ratio, each point weighted by the minutes it covers, over
    the points with a value (None without any)."""
    def mean(values: np.ndarray, known: np.ndarray) -> float | None:
        weights = np.where(known, points.minutes, 0)
        total = int(weights.sum())
        return float(np.dot(np.where(known, values, 0.0), weights) / total) if total else None
    return (mean(points.carbon_intensity, points.carbon_intensity_known),
            mean(points.renewable_share, points.renewable_share_known))


def marginal(pool: Pool, region: str, source: str | None, start: datetime, end: datetime,
             resolution: str) -> tuple[MarginalSeries, list[MarginalPoint], float | None]:
    """Marginal intensity (WattTime's MOER) over [start, end): the series, its points and their
    time-weighted mean; DomainError where none is stored for the region (never average intensity)."""
    with pool.cursor() as cur:
        series = marginal_series_for(cur, region, source, start, end)
        points = marginal_points(cur, series, start, end, resolution)
    known = [p for p in points if p.moer_g_per_kwh is not None and p.minutes]
    total = sum(p.minutes for p in known)
    return series, points, sum(p.moer_g_per_kwh * p.minutes for p in known) / total if total else None


@dataclass(frozen=True)
class Mixture:
    """One interval's generation by fuel (MW), net import, and its estimated fuels (fuel -> method)."""

    ts: datetime
    fuels: dict[str, float]
    net_import_mw: float | None
    estimated_fuels: dict[str, str]

    @property
    def total_generation_mw(self) -> float:
        """Non-negative generation without storage: the intensity's denominator."""
        return sum(mw for fuel, mw in self.fuels.items() if mw >= 0 and fuel not in STORAGE_FUELS)


def mixtures(pool: Pool, region: str, source: str | None, start: datetime, end: datetime, estimated: bool,
             now: datetime) -> tuple[Series | None, list[Mixture]]:
    """The series answering for [start, end) (among those with a mix) and each interval's mix."""
    with pool.cursor() as cur:
        series = series_for_range(cur, region, source, start, end, now, fuel_mix=True)
        if series is None:
            return None, []
        rows = energy_mixture(cur, series.region_id, series.source_id, start, end, estimated)
        imports = net_imports(cur, series.region_id, series.source_id, start, end)
    return series, [Mixture(ts, {fuel: mw for _, fuel, mw, _ in group}, imports.get(ts),
                            {fuel: method for _, fuel, _, method in group if method})
                    for ts, group in ((ts, list(g)) for ts, g in groupby(rows, key=lambda row: row[0]))]


def latest(pool: Pool, factor_type: str, now: datetime) -> list[tuple[Series, NewestIntensity | None]]:
    """Each region's default series (the one /regions/ marks `default`), by region id, with its
    newest interval starting at or before `now` whose intensity is known (None: it has none)."""
    with pool.cursor() as cur:
        by_region: dict[str, list[Series]] = {}
        for s in all_series(cur):
            by_region.setdefault(s.region, []).append(s)
        chosen = [default_series(items, now) for _, items in sorted(by_region.items())]
        newest = newest_intensities(cur, [(s.region_id, s.source_id) for s in chosen], factor_type, now)
    return [(s, newest.get((s.region_id, s.source_id))) for s in chosen]
