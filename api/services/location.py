"""Which region a request means: Locator.resolve, the one resolver every face uses (native
region= and location=, legacy iso= and coordinates, the SDK's location, the scheduler's
candidates and origin), so that a string means the same region on every route.

Precedence, for text:
1. the original service's scheme prefix (`watttime:CAISO_NORTH`, `c3lab:US-CAISO`,
   `emap:US-CAL-CISO`) says the rest is a region name: it is looked up in the region table
   only (step 2);
2. a region id, alias or zone key of the region table, any case (CISO, US-CAISO,
   US-CAL-CISO, CAISO_NORTH, EIC codes, NSW1, DE, ...);
3. a cloud region id `provider:name` (providers by name or alias: aws/amazon,
   gcp/gcloud/google, azure/microsoft);
4. a bare cloud region name: Azure's first (the Carbon Aware SDK's own names), then AWS's,
   then Google's.
A cloud region answers from the grid zone the catalogue stores for it: no boundaries needed.
For coordinates (latitude, longitude): the installed boundaries, then WattTime if configured.
A cloud region or a point in a zone that no source here covers is `not_covered`, naming the
zone and why."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from api.services import cloud_locations as cloud_location
from api.services.boundaries import Boundaries, boundaries_from_env, validate_coordinates
from api.services.errors import INVALID, NOT_COVERED, NOT_FOUND, UNAVAILABLE, DomainError
from database.pool import Pool
from database.regions import Region, aliases_by_kind, all_regions, normalise_name, region_names
from energy_data import watttime

log = logging.getLogger(__name__)

_UNSET = object()

# The original service's prefixed region names: watttime:CAISO_NORTH, c3lab:US-CAISO, emap:US-CAL-CISO.
NAME_SCHEMES = ("watttime", "c3lab", "emap")


@dataclass(frozen=True)
class Located:
    region: str
    method: str  # region, cloud, boundaries, watttime
    latitude: float | None = None
    longitude: float | None = None
    cloud_location: str | None = None


class Locator:
    """Per process: region names, regions and boundaries are loaded once, on first use."""

    def __init__(self, pool: Pool, boundaries: Boundaries | None | object = _UNSET):
        self.pool = pool
        self._names: dict[str, str] | None = None
        self._regions: dict[str, Region] | None = None
        self._aliases: dict[str, dict[str, list[str]]] | None = None
        self._boundaries = boundaries
        self._lock = threading.Lock()

    def resolve(self, place: str | tuple[float, float], parameter: str = "location") -> Located:
        """The region `place` (text, or latitude and longitude) means, by the precedence above;
        DomainError naming `parameter` when it means none."""
        if isinstance(place, tuple):
            return self.at(*place)
        scheme, separator, rest = place.partition(":")
        if separator and scheme.strip().lower() in NAME_SCHEMES:
            code = self.region_named(rest)
            if code is None:
                raise _unknown(place, parameter)
            return Located(code, "region")
        code = self.region_named(place)
        if code is not None:
            return Located(code, "region")
        cloud = cloud_location.find_any(place)
        if cloud is None:
            raise _unknown(place, parameter)
        code = self.region_named(cloud.zone)
        if code is None:
            raise DomainError("not_covered", f"{cloud.id}: {cloud_location.not_covered_reason(cloud.zone)}",
                              parameter, NOT_COVERED)
        return Located(code, "cloud", cloud.latitude, cloud.longitude, cloud.id)

    def region_named(self, name: str) -> str | None:
        """Canonical code for a code, alias, zone key or full name of the region table (any
        case), or None."""
        return self.names().get(normalise_name(name))

    def at(self, latitude: float, longitude: float) -> Located:
        """The region at a point: the boundaries, then WattTime if configured."""
        try:
            validate_coordinates(latitude, longitude)
        except ValueError as exc:
            raise DomainError("invalid_parameter", str(exc), "latitude", INVALID) from None
        boundaries = self.boundaries()
        code = boundaries.locate(latitude, longitude) if boundaries else None
        method = "boundaries"
        if code is None and watttime.configured():
            code, method = self._watttime(latitude, longitude), "watttime"
        if code is not None:
            return Located(code, method, latitude, longitude)
        if boundaries is None and not watttime.configured():
            raise DomainError("boundaries_not_installed", "no boundaries are installed for coordinates: run `make "
                              "boundaries` or set ENERGY_DATA_BOUNDARIES (or configure WattTime); region ids and "
                              "cloud regions work without them", kind=UNAVAILABLE)
        zone = boundaries.zone_at(latitude, longitude) if boundaries else None
        if zone is not None:
            raise DomainError("not_covered", f"latitude {latitude}, longitude {longitude}: "
                              f"{cloud_location.not_covered_reason(zone)}", "latitude", NOT_COVERED)
        raise DomainError("no_region_here", f"no known grid region at latitude {latitude}, longitude {longitude}: "
                          "the point is outside every balancing authority we know", "latitude", NOT_FOUND)

    # -- the region table, loaded once ------------------------------------------------------

    def names(self) -> dict[str, str]:
        if self._names is None:
            with self.pool.cursor() as cur:
                self._names = region_names(cur)
        return self._names

    def region(self, code: str) -> Region:
        """The region (name, time zone, aliases) of a canonical code: like the names, loaded
        once per process (regions and aliases change only with a migration)."""
        if self._regions is None:
            with self.pool.cursor() as cur:
                self._regions = {region.code: region for region in all_regions(cur)}
        return self._regions[code]

    def aliases(self, code: str) -> dict[str, list[str]]:
        """The region's aliases by kind (legacy, electricitymaps, watttime, ...), loaded once per
        process like the names."""
        if self._aliases is None:
            with self.pool.cursor() as cur:
                self._aliases = aliases_by_kind(cur)
        return self._aliases.get(code, {})

    def boundaries(self) -> Boundaries | None:
        with self._lock:
            if self._boundaries is _UNSET:
                self._boundaries = boundaries_from_env(self.region_named)
            return self._boundaries

    def _watttime(self, latitude: float, longitude: float) -> str | None:
        try:
            name = watttime.region_from_location(latitude, longitude)
        except watttime.WattTimeError as exc:
            log.warning("WattTime lookup failed: %s", exc)
            return None
        return self.region_named(name) if name else None


def _unknown(text: str, parameter: str) -> DomainError:
    """Unknown text: `unknown_region` when the request named it a region, else `unknown_location`."""
    if parameter == "region":
        return DomainError("unknown_region", f"unknown region {text!r}; GET /regions/ lists every region and alias "
                           "(a cloud region such as aws:us-west-2 or westeurope is taken too)", parameter, NOT_FOUND)
    return DomainError("unknown_location", f"unknown cloud location {text!r}; use provider:name (or a bare name such "
                       "as westeurope) as listed by /metadata/cloud-location/locations/<provider>/, or a region id or "
                       "alias as listed by /regions/", parameter, NOT_FOUND)
