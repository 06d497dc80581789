"""The HTTP-free core: what the faces (api/faces/) call with plain values, answering plain values
or raising the one DomainError (errors.py). Nothing here imports Flask; this is the only part
of api/ that reads the database (database/).

- location: which region a request means (Locator.resolve, the one resolver);
- sources: which source's series answers (the one source policy);
- intensity: the series the answers read (intensity, marginal intensity, mix);
- regions, status: the region table and its data, emission factors; health and freshness;
- forecasting: issuing and reading forecasts;
- scheduler/: where and when to run workloads (places, slots, plan, answer);
- legacy, carbon_aware_sdk: the original service's and the Carbon Aware SDK's computations;
- boundaries, cloud_locations: lookup data (region outlines, the cloud-region catalogue)."""
from __future__ import annotations

from dataclasses import dataclass

from api.services.location import Locator
from database.pool import Pool


@dataclass(frozen=True)
class Services:
    """The core of one app: its database pool and its locator."""

    pool: Pool
    locator: Locator
