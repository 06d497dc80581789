"""The cloud-region catalogue (AWS, Google Cloud, Azure, worldwide): where each region is and
the grid zone it draws from, so that "aws:eu-west-1" or "westeurope" is answered with no
boundaries file installed.

The data is api/data/cloud_locations.json. Every entry cites where its coordinates come from;
its `zone` (our region id in the US, the Electricity Maps zone key elsewhere) was derived once
from those coordinates (scripts/setup/build_cloud_zones.py) and `zone_source` says how. Whether
a zone is covered is the region table's business: a zone is covered when it names one of our
regions (api/services/location.py asks).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from energy_data.cloud_providers import PROVIDER_ALIASES, PROVIDERS, provider_name  # noqa: F401

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "cloud_locations.json"
# Bare names (the Carbon Aware SDK's `westeurope`, AWS's `eu-west-1`, Google's `europe-west1`) are
# looked up in this order; the three providers' names do not collide today.
BARE_NAME_ORDER = ("azure", "aws", "gcp")


@dataclass(frozen=True)
class CloudLocation:
    provider: str
    name: str
    display_name: str
    latitude: float
    longitude: float
    citation: str
    zone: str  # our region id (US) or Electricity Maps zone key (elsewhere)
    zone_source: str  # how the zone was derived from the coordinates

    @property
    def id(self) -> str:
        """The id clients pass as `location`, e.g. "aws:us-west-2"."""
        return f"{self.provider}:{self.name}"


def providers() -> list[str]:
    """The canonical provider names, in a fixed order."""
    return list(PROVIDERS)


def locations(provider: str) -> list[CloudLocation]:
    """Every region of a provider (name or alias), sorted by name; ValueError for an unknown provider."""
    canonical = provider_name(provider)
    if canonical is None:
        raise ValueError(f"unknown cloud provider {provider!r}; one of {', '.join(PROVIDERS)}")
    return [place for place in _catalogue().values() if place.provider == canonical]


def find(location_id: str) -> CloudLocation | None:
    """The region for an id like "aws:us-west-2" (any case, provider aliases allowed), else None."""
    if not isinstance(location_id, str) or location_id.count(":") != 1:
        return None
    prefix, name = (part.strip().lower() for part in location_id.split(":"))
    provider = PROVIDER_ALIASES.get(prefix)
    if provider is None or not name:
        return None
    return _catalogue().get(f"{provider}:{name}")


def find_any(text: str) -> CloudLocation | None:
    """The region for a provider:name id or a bare region name ("westeurope", "eu-west-1"), else None."""
    if not isinstance(text, str):
        return None
    if ":" in text:
        return find(text)
    for provider in BARE_NAME_ORDER:
        place = find(f"{provider}:{text}")
        if place is not None:
            return place
    return None


def zone_name(zone: str) -> str | None:
    """The name of a zone outside the US that some cloud region lies in (e.g. IE: Ireland), else None."""
    return _zone_names().get(zone)


def not_covered_reason(zone: str) -> str:
    """Why a zone has no data here, in one sentence an API answer can carry."""
    name = zone_name(zone)
    label = f"{zone} ({name})" if name else zone
    return (f"grid zone {label} is not covered: no source for its generation mix is crawled here "
            "(GET /regions/ lists the covered regions)")


@cache
def _data() -> dict:
    with open(DATA_FILE, encoding="utf-8") as file:
        return json.load(file)


@cache
def _zone_names() -> dict[str, str]:
    return dict(_data().get("zones", {}))


@cache
def _catalogue() -> dict[str, CloudLocation]:
    places = [CloudLocation(**entry) for entry in _data()["locations"]]
    places.sort(key=lambda place: (PROVIDERS.index(place.provider), place.name))
    return {place.id: place for place in places}
