"""Where a workload may run: its candidates and its original location, each resolved to a grid
region by Locator.resolve (once per request: workloads naming the same place share it). A place
a request body names that cannot be used is a 400 naming its field."""
from __future__ import annotations

from dataclasses import dataclass

from api.models.workload import Workload
from api.services import cloud_locations
from api.services.errors import INVALID, NOT_COVERED, UNAVAILABLE, DomainError
from api.services.location import Located, Locator
from api.services.scheduler.slots import RequestCache


@dataclass(frozen=True)
class Place:
    """A location of a request resolved to a grid region."""

    id: str                  # as the request gave it (aws:us-west-2, AWS:us-west-2, CISO, ...)
    region: str              # canonical region code
    method: str              # region, cloud, boundaries, watttime
    capacity: int | None = None


def resolve_place(locator: Locator, ident: str, latitude: float | None, longitude: float | None,
                  parameter: str, capacity: int | None = None, cache: RequestCache | None = None) -> Place:
    """The grid region of a location, by Locator.resolve: its coordinates when given (they win),
    else its id; a place that cannot be used is a 400 naming `parameter`, like every other
    unusable field of a request body (503 when coordinates need boundaries not installed)."""
    place = (latitude, longitude) if latitude is not None and longitude is not None else ident
    try:
        located: Located = (locator.resolve(place) if cache is None
                            else cache.once(("place", place), lambda: locator.resolve(place)))
    except DomainError as exc:
        if exc.kind == UNAVAILABLE:
            raise
        if exc.code == "unknown_location":
            raise DomainError("unknown_location", f"{parameter}: unknown location {ident!r}: give a cloud region "
                              "(aws:us-west-2, gcp:us-central1, azure:eastus, or a bare name such as westeurope), a "
                              "region id or alias (CISO, US-CAISO), or latitude and longitude", parameter) from None
        raise exc.at(parameter, INVALID) from None
    return Place(ident, located.region, located.method, capacity)


def provider_places(locator: Locator, provider: str, parameter: str) -> tuple[list[Place], list[str]]:
    """A provider's regions whose grid zone we cover, and a warning naming those left out."""
    places, outside = [], []
    for cloud in cloud_locations.locations(provider):
        try:
            places.append(Place(cloud.id, locator.resolve(cloud.id).region, "cloud"))
        except DomainError as exc:
            if exc.kind != NOT_COVERED:
                raise
            outside.append(f"{cloud.id} ({cloud.zone})")
    if not places:
        raise DomainError("no_candidates", f"{parameter}: no region of {provider} lies in a grid zone covered "
                          "here", parameter)
    return places, ([f"{len(outside)} {provider} regions are in grid zones not covered here and were left "
                     f"out: {', '.join(outside)}"] if outside else [])


def workload_places(locator: Locator, workload: Workload, prefix: str,
                    cache: RequestCache | None = None) -> tuple[list[Place], Place | None, list[str]]:
    """(candidates, origin or None, warnings) of one workload; field names in errors start with
    `prefix`. An origin among the candidates is that candidate (resolved once)."""
    warnings: list[str] = []
    if workload.candidate_locations:
        candidates = [resolve_place(locator, c.id, c.latitude, c.longitude, f"{prefix}candidate_locations.{i}.id",
                                    c.capacity, cache) for i, c in enumerate(workload.candidate_locations)]
    else:
        candidates = []
        for i, provider in enumerate(workload.candidate_providers):
            found, notes = provider_places(locator, provider, f"{prefix}candidate_providers.{i}")
            candidates += found
            warnings += notes
    origin = None
    if workload.original_location:
        same = [c for c in candidates if c.id.lower() == workload.original_location.lower()]
        origin = same[0] if same else resolve_place(locator, workload.original_location, None, None,
                                                    f"{prefix}original_location", cache=cache)
    return candidates, origin, warnings
