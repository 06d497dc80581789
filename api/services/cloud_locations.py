"""The cloud-region catalogue (AWS, Google Cloud, Azure): where each region is, so that a
request for "aws:us-west-2" can be answered from the grid region at those coordinates.

The data is api/data/cloud_locations.json; every entry cites where its coordinates come from.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from energy_data.cloud_providers import PROVIDER_ALIASES, PROVIDERS, provider_name  # noqa: F401

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "cloud_locations.json"


@dataclass(frozen=True)
class CloudLocation:
    provider: str
    name: str
    display_name: str
    latitude: float
    longitude: float
    citation: str

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


@cache
def _catalogue() -> dict[str, CloudLocation]:
    with open(DATA_FILE, encoding="utf-8") as file:
        entries = json.load(file)["locations"]
    places = [CloudLocation(**entry) for entry in entries]
    places.sort(key=lambda place: (PROVIDERS.index(place.provider), place.name))
    return {place.id: place for place in places}
