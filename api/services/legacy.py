"""The original service's computations, answered from our data (its routes, schemas and error
format are the legacy face's: api/faces/legacy/).

What this module knows of the original (c3lab-net/energy-data, read as a specification):
- its names for a region, prefixed by the naming scheme: `watttime:CAISO_NORTH`,
  `c3lab:US-CAISO`, `emap:US-CAL-CISO`; ours are region aliases of the kinds `watttime`,
  `legacy` and `electricitymaps` (a prefixed name is resolved by Locator.resolve, as on every face);
- its time window: closed and padded, from the point at or before `start` to the one at or
  after `end`;
- `desired_renewable_ratio`: each point's intensity recomputed as if renewables had that share,
  from the intensity of its renewable and of its other generation.
Reads go through the same series choice and database reads as the native routes.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

import numpy as np
import pandas as pd

from api.models.forecast import NoHistory
from api.models.times import iso, iso_column
from api.services import forecasting
from api.services.errors import INVALID, NOT_FOUND, NOT_SUPPORTED, TOO_LARGE, DomainError
from api.services.location import Locator
from api.services.sources import choose_series, default_series, history_series
from database.intensity import renewable_split
from database.pool import Pool
from database.readings import emission_factors, fuel_flags
from database.regions import Series, all_series, interval_counts
from database.timeseries import (IntensitySeries, energy_mixture, intensity_series, padded_bounds,
                                 stored_readings_between)
from energy_data import watttime

log = logging.getLogger(__name__)

ISO_FORMATS = ("c3lab", "watttime", "emap")  # the original's order, as its messages list them
CARBON_DATA_SOURCES = ("c3lab", "azure", "emap")
# carbon_data_source -> the naming scheme of the `iso` it answers for coordinates (as the original)
ISO_FORMAT_OF_SOURCE = {"c3lab": "watttime", "azure": "watttime", "emap": "emap"}
EMAP_SOURCE = "ELECTRICITYMAPS"  # the source Electricity Maps data is imported as
FACTOR_SET = "lifecycle"
# The original computed with one global set of lifecycle medians: the IPCC set, which we keep
# beside the regional one (reported intensities, Electricity Maps', carry only their own).
ORIGINAL_FACTORS = "ipcc"
MAX_RANGE = timedelta(days=366)  # the original had no cap; a year of 5-minute points is ~105k
MAX_MIXTURE_RANGE = timedelta(days=31)  # as the native /energy-mixture/
TICK = timedelta(microseconds=1)  # [start, end] closed = [start, end + TICK) half-open

# WattTime splits some ISOs into sub-regions that a point lookup tells apart and our offline
# boundaries do not. With a WattTime account configured, WattTime is asked, as the original
# did; without one, the sub-region the original's own catalogue used for the
# ISO (its Azure regions: westus, centralus, eastus, southcentralus), else the one of the
# largest city. Regions WattTime does not split go by their EIA code, as WattTime names them,
# except where WattTime's name differs (BPA).
REPRESENTATIVE_WATTTIME = {
    "CISO": "CAISO_NORTH", "MISO": "MISO_MASON_CITY", "PJM": "PJM_ROANOKE", "ERCO": "ERCOT_SANANTONIO",
    "NYIS": "NYISO_NYC", "ISNE": "ISONE_NEMA", "SWPP": "SPP_OKCTY", "BPAT": "BPA",
}


# -- names ------------------------------------------------------------------------------

@dataclass(frozen=True)
class LegacyNames:
    """One region under each of the original's naming schemes."""

    code: str  # ours (EIA)
    c3lab: str  # the original's region name, e.g. US-CAISO
    watttime: str  # WattTime's abbreviation, e.g. CAISO_NORTH
    emap: str  # the Electricity Maps zone key, e.g. US-CAL-CISO
    watttime_name: str

    def iso(self, iso_format: str) -> str:
        """The original's `iso` value, e.g. "watttime:CAISO_NORTH"."""
        return f"{iso_format}:{getattr(self, iso_format)}"


def names(locator: Locator, code: str, latitude: float | None = None, longitude: float | None = None) -> LegacyNames:
    """The original's names of a region (at a point, if one is given); a scheme without a name
    for it falls back to our code."""
    kinds = locator.aliases(code)
    legacy = [alias for alias in kinds.get("legacy", []) if alias.startswith("US-")]
    watttime = (_watttime_at(locator, code, latitude, longitude) or REPRESENTATIVE_WATTTIME.get(code)
                or next(iter(kinds.get("watttime", [])), code))
    emap = next(iter(kinds.get("electricitymaps", [])), code)
    return LegacyNames(code, legacy[0] if legacy else code, watttime, emap, locator.region(code).name)


def _watttime_at(locator: Locator, code: str, latitude: float | None, longitude: float | None) -> str | None:
    """WattTime's own sub-region at the point, as the original asked it, when a WattTime account
    is configured and WattTime places the point in the same region; else None."""
    if latitude is None or longitude is None or not watttime.configured():
        return None
    try:
        name = watttime.region_from_location(latitude, longitude)
    except watttime.WattTimeError as exc:
        log.warning("WattTime lookup for the legacy names failed: %s", exc)
        return None
    return name if name and locator.region_named(name) == code else None


def region_of_iso(locator: Locator, value: str) -> str:
    """Our region code for the original's `iso` (prefix:name), any of its three prefixes."""
    prefix, _, name = value.partition(":")
    if prefix.strip().lower() not in ISO_FORMATS:
        raise DomainError("invalid_iso", f"Unknown ISO format in {value!r}: use watttime:, c3lab: or emap:", "iso")
    try:
        return locator.resolve(value, "iso").region
    except DomainError as exc:
        if exc.kind != NOT_FOUND:
            raise
        raise DomainError("unknown_region", f"Region {name} doesn't exist.", "iso", NOT_FOUND) from None


# -- series and time window --------------------------------------------------------------

def candidate_series(cur, code: str, carbon_data_source: str) -> list[Series]:
    """Our series for the original's carbon_data_source: emap is imported Electricity Maps data;
    c3lab (and azure, answered from our forecast) is the data we crawl ourselves."""
    series = all_series(cur, code)
    if carbon_data_source == "emap":
        return [s for s in series if s.source == EMAP_SOURCE]
    return [s for s in series if s.source != EMAP_SOURCE]


def check_window(series: list[Series], start: datetime, end: datetime, region: str, cap: timedelta) -> None:
    """The original's checks: the region has data, start is not after end, and the window
    meets the stored data; plus a cap on its length."""
    if not series:
        raise DomainError("unknown_region", f"Region {region} doesn't exist.", kind=NOT_FOUND)
    if start > end:
        raise DomainError("invalid_range", "end must be after start", "end")
    if end - start > cap:
        raise DomainError("range_too_large", f"the window is over {cap.days} days; ask for a shorter one", "end",
                          TOO_LARGE)
    if start > max(s.last for s in series):
        raise DomainError("no_data", "Time range is too new. Data not yet available.", "start")
    if end < min(s.first for s in series):
        raise DomainError("no_data", "Time range is too old. No data available.", "end")


def _series_for(cur, series: list[Series], start: datetime, end: datetime, now: datetime,
                fuel_mix: bool = False) -> Series:
    """The one source policy, on what each candidate has stored in the window."""
    counts = interval_counts(cur, series, start, end + TICK, fuel_mix)
    return choose_series(series, None, start, end + TICK, now, counts) or default_series(series, now)


def _factors_of(series: Series) -> str:
    return "regional" if series.source == EMAP_SOURCE else ORIGINAL_FACTORS


# -- carbon intensity --------------------------------------------------------------------

def measured_intensities(pool: Pool, code: str, region: str, carbon_data_source: str, start: datetime,
                         end: datetime, desired_renewable_ratio: float | None, now: datetime) -> list[dict]:
    """The points of the padded window [start, end] from stored data."""
    _refuse_unsupported(carbon_data_source, desired_renewable_ratio)
    # The original's test is truthiness: a desired ratio of 0 answered the measured values.
    reweigh = carbon_data_source == "c3lab" and bool(desired_renewable_ratio)
    with pool.cursor() as cur:
        series = candidate_series(cur, code, carbon_data_source)
        if not series and carbon_data_source == "emap":
            raise DomainError("no_emap_data", f"no Electricity Maps data is stored for {region}: import its exports "
                              "with `python -m crawler import-emap-csv`, or ask carbon_data_source=c3lab",
                              "carbon_data_source")
        check_window(series, start, end, region, MAX_RANGE)
        chosen = _series_for(cur, series, start, end, now)
        bounds = padded_bounds(cur, chosen.region_id, chosen.source_id, start, end)
        if bounds is None:
            return []
        points = intensity_series(cur, chosen.region_id, chosen.source_id, bounds[0], bounds[1] + TICK,
                                  FACTOR_SET, "native", _factors_of(chosen))
        split = _split(cur, chosen, bounds, points) if reweigh else None
    timestamps = iso_column(points.ts)
    if carbon_data_source == "emap":  # the original's emap points had no ratio
        return [{"timestamp": t, "carbon_intensity": c}
                for t, c in zip(timestamps, _known(points.carbon_intensity, points.carbon_intensity_known))]
    if split is not None:
        return [{"timestamp": t, "carbon_intensity": c, "renewable_ratio": desired_renewable_ratio}
                for t, c in zip(timestamps, _reweighed(*split, desired_renewable_ratio))]
    return [{"timestamp": t, "carbon_intensity": c, "renewable_ratio": r}
            for t, c, r in zip(timestamps, _known(points.carbon_intensity, points.carbon_intensity_known),
                               _known(points.renewable_share, points.renewable_share_known))]


def _refuse_unsupported(carbon_data_source: str, desired_renewable_ratio: float | None) -> None:
    if carbon_data_source == "azure":
        raise DomainError("not_supported", "carbon_data_source=azure: the original read past data from a public API "
                          "that no longer exists; for past windows ask carbon_data_source=c3lab (our data), and "
                          "windows reaching the future are answered from our forecast", "carbon_data_source",
                          NOT_SUPPORTED)
    if carbon_data_source == "emap" and desired_renewable_ratio is not None:
        raise DomainError("not_supported", "Electricity map carbon data source does not support custom renewable "
                          "ratio.", "desired_renewable_ratio", NOT_SUPPORTED)


def _known(values: np.ndarray, known: np.ndarray) -> list[float]:
    """Values as floats, NaN (written as null) where unknown."""
    return np.where(known, values, np.nan).tolist()


def _reweighed(renewable: np.ndarray, other: np.ndarray, ratio: float) -> list[float]:
    """ratio x renewable + (1 - ratio) x other; where one part generated nothing, the other
    part's intensity (nothing to reweigh), as the original did."""
    return np.where(np.isnan(renewable), other,
                    np.where(np.isnan(other), renewable, ratio * renewable + (1 - ratio) * other)).tolist()


def _split(cur, series: Series, bounds: tuple[datetime, datetime],
           points: IntensitySeries) -> tuple[np.ndarray, np.ndarray]:
    """Intensity of the renewable and of the other generation at each point (NaN: none)."""
    readings = stored_readings_between(cur, series.region_id, series.source_id, bounds[0], bounds[1] + TICK)
    factors = emission_factors(cur)
    split = renewable_split(readings, factors[factors["region_id"].isna()], fuel_flags(cur), FACTOR_SET)
    split = split.reindex(pd.to_datetime(points.ts, unit="us", utc=True))
    return (split["renewable_g_per_kwh"].to_numpy(dtype="float64"),
            split["nonrenewable_g_per_kwh"].to_numpy(dtype="float64"))


def forecast_intensities(pool: Pool, code: str, region: str, carbon_data_source: str, start: datetime,
                         end: datetime, desired_renewable_ratio: float | None, now: datetime) -> list[dict]:
    """The points of our forecast in the padded window [start, end] (use_prediction, azure)."""
    if desired_renewable_ratio is not None:
        raise DomainError("not_supported", "desired_renewable_ratio cannot be applied to a forecast: the forecast is "
                          "of intensity only, not of the fuel mix; ask without use_prediction for past data",
                          "desired_renewable_ratio", NOT_SUPPORTED)
    if start > end:
        raise DomainError("invalid_range", "end must be after start", "end")
    if end <= now:
        asked = "carbon_data_source=azure" if carbon_data_source == "azure" else "use_prediction=true"
        raise DomainError("window_in_past", f"{asked} answers from our forecast, which starts now ({iso(now)}); this "
                          "window ends before it: ask carbon_data_source=c3lab without use_prediction for past data",
                          "end", INVALID)
    issued_at = pd.Timestamp(now).floor("h").to_pydatetime()
    with pool.cursor() as cur:  # reads only: the stored forecast of the hour, else one computed on the fly
        series = candidate_series(cur, code, carbon_data_source)
        if not series:
            raise DomainError("unknown_region", f"Region {region} doesn't exist.", kind=NOT_FOUND)
        chosen = history_series(series, None, issued_at, now, code)
        try:
            issued = forecasting.issue(cur, chosen, FACTOR_SET, issued_at, now)
        except NoHistory as exc:
            raise DomainError("no_history", f"{exc} for {region}", kind=NOT_FOUND) from None
    rows = list(issued.frame.itertuples(index=False))
    moments = [row.timestamp.to_pydatetime() for row in rows]
    low, high = padded_indices(moments, start, end)
    with_ratio = carbon_data_source != "azure"  # the original's azure points had no ratio
    return [{"timestamp": iso(moments[i]), "carbon_intensity": float(rows[i].value),
             **({"renewable_ratio": None} if with_ratio else {})} for i in range(low, high + 1)]


def padded_indices(moments: list[datetime], start: datetime, end: datetime) -> tuple[int, int]:
    """First and last index of the padded window [start, end] in sorted moments: the last at or
    before start (else the first), the first at or after end (else the last)."""
    low = max((i for i, m in enumerate(moments) if m <= start), default=0)
    high = min((i for i, m in enumerate(moments) if m >= end), default=len(moments) - 1)
    return low, high


# -- energy mixture ----------------------------------------------------------------------

def power_by_fuel_type(pool: Pool, code: str, region: str, start: datetime, end: datetime,
                       now: datetime) -> list[dict]:
    """MW by fuel of every interval starting in the closed window [start, end]."""
    with pool.cursor() as cur:
        series = candidate_series(cur, code, "c3lab")
        check_window(series, start, end, region, MAX_MIXTURE_RANGE)
        chosen = _series_for(cur, series, start, end, now, fuel_mix=True)
        rows = energy_mixture(cur, chosen.region_id, chosen.source_id, start, end + TICK)
    return [{"timestamp": iso(ts), "values": [{"type": fuel, "power_mw": mw}
                                              for _, fuel, mw, _ in sorted(group, key=lambda row: row[1])]}
            for ts, group in groupby(rows, key=lambda row: row[0])]


# -- cloud catalogue ---------------------------------------------------------------------

# The original's provider names -> ours (it had Nautilus too, a research cluster we do not carry).
LEGACY_PROVIDERS = {"AWS": "aws", "Azure": "azure", "gcloud": "gcp"}


def legacy_provider(name: str) -> str | None:
    """Our provider for the original's name (any case; our own names are accepted too), or None."""
    for legacy, ours in LEGACY_PROVIDERS.items():
        if name.lower() in (legacy.lower(), ours):
            return ours
    return None
