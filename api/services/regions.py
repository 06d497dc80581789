"""The region table and what is stored for it: every region with its series (GET /regions/,
the region document of /balancing-authority/), and the emission factors a region's intensity
uses at a time (GET /emission-factors/)."""
from __future__ import annotations

from datetime import datetime

from api.services.location import Locator
from database.emission_factors import AnsweringFactor, factors_at
from database.pool import Pool
from database.regions import Region, Series, all_regions, all_series

__all__ = ["AnsweringFactor", "Region", "Series", "every_region", "factors", "series_of"]


def every_region(pool: Pool) -> list[tuple[Region, list[Series]]]:
    """Every region of the table, each with the series stored for it."""
    with pool.cursor() as cur:
        regions = all_regions(cur)
        series = all_series(cur)
    by_region: dict[str, list[Series]] = {}
    for s in series:
        by_region.setdefault(s.region, []).append(s)
    return [(region, by_region.get(region.code, [])) for region in regions]


def series_of(pool: Pool, code: str) -> list[Series]:
    """The series stored for one region."""
    with pool.cursor() as cur:
        return all_series(cur, code)


def factors(pool: Pool, locator: Locator, code: str, at: datetime, factor_type: str,
            choice: str) -> list[AnsweringFactor]:
    """One factor per fuel: the one the region's intensity uses at `at`, and why."""
    with pool.cursor() as cur:
        return factors_at(cur, locator.region(code).id, at, factor_type, choice)
