"""Intensity on one UTC slot grid: which series answers each region, and its values on the
grid's slots (measured where it exists, the project's forecast after it; WattTime's stored
marginal intensity with signal=marginal), each region read once per request (RequestCache).

Slot grid: the coarsest native interval of the series used (5 minutes when every region has
5-minute data, else an hour); a slot's value is the time-weighted mean of the stored
intervals in it (at least half of the slot must be covered, else it has no value and nothing
runs in it)."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np
import pandas as pd

from api.models import forecast as forecast_model
from api.models.times import iso
from api.services import forecasting
from api.services.errors import DomainError
from api.services.sources import default_series, series_for_range
from database.forecasts import Accuracy, StoredForecast
from database.marginal import MarginalSeries, marginal_points
from database.regions import Series, all_series
from database.timeseries import intensity_series

# Where a forecast may fill in: the series' newest data must be this recent, else its future
# is unknown (an imported history of 2022 says nothing about next week).
FORECAST_MAX_LAG = timedelta(days=1)
MIN_SLOT_COVERAGE = 0.5
# Original-service data-source names that mean "let the project choose" or a source of ours.
SOURCE_ALIASES = {"c3lab": None, "azure": None, "default": None,
                  "emap": "ELECTRICITYMAPS", "electricitymaps": "ELECTRICITYMAPS"}
# Sources of marginal intensity: a carbon_data_source naming one of these picks it with
# signal=marginal; any other (c3lab, emap, ...) names an average source and is left aside.
MARGINAL_SOURCES = ("WATTTIME",)


@dataclass(frozen=True)
class Grid:
    """Slot k covers [start + k*slot, start + (k+1)*slot)."""

    start: datetime
    slot: timedelta
    count: int

    @property
    def end(self) -> datetime:
        return self.start + self.count * self.slot

    def moment(self, k: int) -> datetime:
        return self.start + k * self.slot

    def floor(self, moment: datetime) -> int:
        return math.floor((moment - self.start) / self.slot + 1e-9)

    def ceil(self, moment: datetime) -> int:
        return math.ceil((moment - self.start) / self.slot - 1e-9)



@dataclass
class RegionData:
    """One region's intensity on the grid and where each value came from."""

    region: str
    series: Series | MarginalSeries | None
    values: np.ndarray                    # g/kWh per slot, NaN = unknown
    measured: np.ndarray                  # bool per slot: from stored data
    forecast: StoredForecast | None = None
    accuracy: list[Accuracy] = field(default_factory=list)
    note: str | None = None


class RequestCache:
    """What one request reads once for all its workloads: each place's region, each region's
    series, its values on a grid, and each series' forecast (100 workloads over three regions
    issued 300 forecasts)."""

    def __init__(self) -> None:
        self._found: dict[tuple, object] = {}

    def once(self, key: tuple, make: Callable[[], object]):
        """make()'s result, or the DomainError or NoHistory it raised, once per key."""
        if key not in self._found:
            try:
                self._found[key] = make()
            except (DomainError, forecast_model.NoHistory) as exc:
                self._found[key] = exc
        found = self._found[key]
        if isinstance(found, Exception):
            raise found
        return found


def source_name(carbon_data_source: str | None) -> str | None:
    """The source a request names (None: the default policy)."""
    if carbon_data_source is None:
        return None
    key = carbon_data_source.strip().lower()
    return SOURCE_ALIASES[key] if key in SOURCE_ALIASES else carbon_data_source.strip().upper()


def pick_series(cur, region: str, source: str | None, start: datetime, end: datetime, now: datetime) -> Series | None:
    """The series answering for [start, end) in a region: the named source (404 if it has no
    data there), else the default for the measured part, else the region's default."""
    if source is not None:
        return series_for_range(cur, region, source, start, end, now)
    chosen = series_for_range(cur, region, None, start, min(end, now), now) if start < now else None
    return chosen or default_series(all_series(cur, region), now)


def make_grid(series: list[Series | None], start: datetime, end: datetime) -> Grid:
    """The slot grid over [start, end): the coarsest native interval among the series."""
    minutes = max([s.interval_minutes for s in series if s is not None] or [60])
    if 60 % minutes:
        minutes = 60
    slot = timedelta(minutes=minutes)
    epoch = datetime(2000, 1, 1, tzinfo=timezone.utc)
    first = epoch + math.floor((start - epoch) / slot) * slot
    count = max(1, math.ceil((end - first) / slot - 1e-9))
    return Grid(first, slot, count)


def region_data(cur, region: str, series: Series | None, grid: Grid, factor_set: str, now: datetime,
                cache: RequestCache | None = None) -> RegionData:
    """Measured slot means of the series over the grid, then its forecast where the grid
    reaches past the data (if the series is live enough to forecast); read once per request
    with a `cache`."""
    if cache is not None:
        key = ("values", region, series and (series.region_id, series.source_id), grid, factor_set)
        found = cache.once(key, lambda: _region_data(cur, region, series, grid, factor_set, now, cache))
        return dataclasses.replace(found)   # a copy: the caller may add a note
    return _region_data(cur, region, series, grid, factor_set, now, None)


def _region_data(cur, region: str, series: Series | None, grid: Grid, factor_set: str, now: datetime,
                 cache: RequestCache | None) -> RegionData:
    values = np.full(grid.count, np.nan)
    if series is None:
        return RegionData(region, None, values, np.zeros(grid.count, bool), note=f"no data for {region}")
    points = intensity_series(cur, series.region_id, series.source_id, grid.start, min(grid.end, now + grid.slot),
                              factor_set, "native")
    values = _slot_means(points, grid)
    measured = np.isfinite(values)
    data = RegionData(region, series, values, measured)
    if grid.end > series.last + timedelta(minutes=series.interval_minutes):
        _fill_forecast(cur, data, grid, factor_set, now, cache)
    missing = int((~np.isfinite(data.values)).sum())
    if missing and data.note is None:
        data.note = (f"{series.source} has no value for {region} in {missing} of {grid.count} slots (its data spans "
                     f"{iso(series.first)} to {iso(series.last)}); nothing runs there then")
    return data


def marginal_region_data(cur, region: str, series, grid: Grid) -> RegionData:
    """Slot means of the stored marginal intensity: measured values, then WattTime's own stored
    forecast (the project's forecast models average intensity only, so none is made here)."""
    if series is None:  # none stored for the region: every slot unknown
        return RegionData(region, None, np.full(grid.count, np.nan), np.zeros(grid.count, bool),
                          note=f"no marginal intensity for {region}")
    points = marginal_points(cur, series, grid.start, grid.end, "native")
    known = np.array([p.moer_g_per_kwh is not None for p in points], bool)
    columns = SimpleNamespace(
        ts=np.array([int((p.ts - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(microseconds=1))
                     for p in points], dtype=np.int64),
        minutes=np.array([p.minutes for p in points], dtype=np.int64),
        carbon_intensity=np.array([p.moer_g_per_kwh or 0.0 for p in points], dtype=float),
        carbon_intensity_known=known)
    values = _slot_means(columns, grid)
    forecast = np.zeros(grid.count, bool)
    for p in points:
        k = grid.floor(p.ts)
        if p.forecast_issued_at is not None and 0 <= k < grid.count:
            forecast[k] = True
    data = RegionData(region, series, values, np.isfinite(values) & ~forecast)
    missing = int((~np.isfinite(values)).sum())
    if missing:
        data.note = (f"{series.source} has no marginal value for {region} in {missing} of {grid.count} slots "
                     f"(stored from {iso(series.first)} to {iso(series.last)}); nothing runs there then")
    return data


def _slot_means(points, grid: Grid) -> np.ndarray:
    """Time-weighted mean of the known points in each slot; NaN under MIN_SLOT_COVERAGE."""
    slot_us = int(grid.slot / timedelta(microseconds=1))
    start_us = int((grid.start - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(microseconds=1))
    index = (points.ts - start_us) // slot_us
    keep = points.carbon_intensity_known & (index >= 0) & (index < grid.count)
    weights = points.minutes[keep].astype(float)
    covered = np.bincount(index[keep], weights=weights, minlength=grid.count)
    total = np.bincount(index[keep], weights=weights * points.carbon_intensity[keep], minlength=grid.count)
    enough = covered >= MIN_SLOT_COVERAGE * grid.slot.total_seconds() / 60
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(enough, total / covered, np.nan)


def _fill_forecast(cur, data: RegionData, grid: Grid, factor_set: str, now: datetime,
                   cache: RequestCache | None = None) -> None:
    series = data.series
    if now - series.last > FORECAST_MAX_LAG:
        data.note = (f"{series.source} data for {data.region} ends {iso(series.last)}: no forecast after it, so "
                     "later slots have no value")
        return
    issued_at = pd.Timestamp(now).floor("h").to_pydatetime()

    def issue():
        return (forecasting.issue(cur, series, factor_set, issued_at, now),
                forecasting.measured_accuracy(cur, series, factor_set, now))
    try:
        if cache is None:
            issued, accuracy = issue()
        else:  # one forecast per series and request, whatever the workloads' grids
            issued, accuracy = cache.once(("forecast", series.region_id, series.source_id, factor_set, issued_at),
                                          issue)
    except forecast_model.NoHistory as exc:
        data.note = f"no forecast for {data.region}: {exc}"
        return
    frame = issued.frame
    hours = pd.DatetimeIndex(frame["timestamp"]).tz_convert("UTC")
    slot_hours = pd.DatetimeIndex([grid.moment(k) for k in range(grid.count)]).floor("h")
    position = hours.get_indexer(slot_hours)
    fill = (position >= 0) & ~np.isfinite(data.values) & (slot_hours >= pd.Timestamp(issued_at))
    if not fill.any():
        return
    data.values[fill] = frame["value"].to_numpy(dtype=float)[position[fill]]
    data.forecast = issued
    data.accuracy = accuracy

