"""How the service is doing: whether its database answers (GET /health) and how fresh each
crawler source's data is (GET /sources/, the dashboard's freshness table)."""
from __future__ import annotations

import logging

from database.connection import DatabaseUnavailable
from database.freshness import SourceFreshness, source_freshness
from database.health import database_health
from database.pool import Pool

__all__ = ["SourceFreshness", "freshness", "health"]

log = logging.getLogger(__name__)


def health(pool: Pool) -> dict | None:
    """The database's details (newest migration, newest data, standby and its lag), or None
    when it does not answer (the reason goes to the log: it names hosts and paths)."""
    try:
        with pool.cursor() as cur:
            return database_health(cur)
    except DatabaseUnavailable as exc:
        log.warning("%s", exc)
        return None


def freshness(pool: Pool) -> list[SourceFreshness]:
    """Every crawler source, by name: its schedule, newest runs and newest data."""
    with pool.cursor() as cur:
        return source_freshness(cur)
