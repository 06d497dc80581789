"""Which region a request means: a region name or alias, coordinates (offline lookup in the
installed boundaries, WattTime as an optional fallback), or a cloud region (the catalogue's
stored grid zone: no boundaries needed). A zone that is no region of ours is "not covered"."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from api.errors import ApiError
from energy_data import watttime
from api.services import cloud_locations as cloud_location
from api.services.boundaries import Boundaries, boundaries_from_env, validate_coordinates
from api.params import location_choice
from database.pool import Pool
from database.regions import Region, aliases_by_kind, all_regions, normalise_name, region_names

log = logging.getLogger(__name__)

_UNSET = object()


# The original service's prefixed region names: watttime:CAISO_NORTH, c3lab:US-CAISO, emap:US-CAL-CISO.
NAME_SCHEMES = ("watttime", "c3lab", "emap")


def without_scheme(name: str) -> str:
    """A region name without the original service's naming-scheme prefix, if it has one."""
    scheme, separator, rest = name.partition(":")
    return rest if separator and scheme.strip().lower() in NAME_SCHEMES else name


@dataclass(frozen=True)
class Located:
    region: str
    method: str  # region, boundaries, watttime, cloud
    latitude: float | None = None
    longitude: float | None = None
    cloud_location: str | None = None


class Locator:
    """Per-process: region names, regions and boundaries are loaded once, on first use."""

    def __init__(self, pool: Pool, boundaries: Boundaries | None | object = _UNSET):
        self.pool = pool
        self._names: dict[str, str] | None = None
        self._regions: dict[str, Region] | None = None
        self._aliases: dict[str, dict[str, list[str]]] | None = None
        self._boundaries = boundaries
        self._lock = threading.Lock()

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

    def resolve_name(self, name: str) -> str | None:
        """Canonical code for a code, alias or full name (any case), or None."""
        return self.names().get(normalise_name(name))

    def boundaries(self) -> Boundaries | None:
        with self._lock:
            if self._boundaries is _UNSET:
                self._boundaries = boundaries_from_env(self.resolve_name)
            return self._boundaries

    def locate(self, args: dict) -> Located:
        """The region meant by region / latitude+longitude / location in `args`."""
        choice = location_choice(args)
        if choice == "region":
            code = self.resolve_name(without_scheme(args["region"]))
            if code is None:
                raise ApiError(404, "unknown_region", f"unknown region {args['region']!r}; "
                               "GET /regions/ lists every region and alias", "region")
            return Located(code, "region")
        if choice == "location":
            place = cloud_location.find_any(args["location"])
            if place is None:
                raise ApiError(404, "unknown_location", f"unknown cloud location {args['location']!r}; use "
                               "provider:name (or a region name such as westeurope) as listed by "
                               "/metadata/cloud-location/locations/<provider>/", "location")
            return Located(self.cloud_region(place), "cloud", place.latitude, place.longitude, place.id)
        return self.at(args["latitude"], args["longitude"])

    def cloud_region(self, place: cloud_location.CloudLocation, parameter: str = "location") -> str:
        """Our region for a cloud region: its stored grid zone, when that zone is one of our
        regions; ApiError 404 `not_covered`, with the reason, when it is not."""
        code = self.resolve_name(place.zone)
        if code is None:
            raise ApiError(404, "not_covered", f"{place.id}: {cloud_location.not_covered_reason(place.zone)}",
                           parameter)
        return code

    def at(self, latitude: float, longitude: float) -> Located:
        try:
            validate_coordinates(latitude, longitude)
        except ValueError as exc:
            raise ApiError(400, "invalid_parameter", str(exc), "latitude") from None
        boundaries = self.boundaries()
        code = boundaries.locate(latitude, longitude) if boundaries else None
        method = "boundaries"
        if code is None and watttime.configured():
            code, method = self._watttime(latitude, longitude), "watttime"
        if code is not None:
            return Located(code, method, latitude, longitude)
        if boundaries is None and not watttime.configured():
            raise ApiError(503, "boundaries_not_installed", "no boundaries are installed for coordinates: "
                           "run `make boundaries` or set ENERGY_DATA_BOUNDARIES (or configure WattTime); "
                           "region ids and cloud regions work without them")
        zone = boundaries.zone_at(latitude, longitude) if boundaries else None
        if zone is not None:
            raise ApiError(404, "not_covered", f"latitude {latitude}, longitude {longitude}: "
                           f"{cloud_location.not_covered_reason(zone)}", "latitude")
        raise ApiError(404, "no_region_here", f"no known grid region at latitude {latitude}, longitude "
                       f"{longitude}: the point is outside every balancing authority we know", "latitude")

    def _watttime(self, latitude: float, longitude: float) -> str | None:
        try:
            name = watttime.region_from_location(latitude, longitude)
        except watttime.WattTimeError as exc:
            log.warning("WattTime lookup failed: %s", exc)
            return None
        return self.resolve_name(name) if name else None
