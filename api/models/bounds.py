"""The one range of times the API accepts, checked by every parser of times: the native query
parameters, the Carbon Aware SDK's times, the original service's, the workload body, and the
scheduler's runs.

0001-01-01T00:00+14:00 is valid ISO 8601 but has no UTC equivalent in Python (nor
9999-12-31T23:59-14:00), and no data is that old: a time is checked against this range before
any arithmetic, so that nothing built from it (a window, a slot grid, a run's deadline) can
overflow."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import ValidationError

FIRST_YEAR, LAST_YEAR = 1900, 2199
EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(LAST_YEAR + 1, 1, 1, tzinfo=timezone.utc)  # exclusive: the first moment after the range
OUTSIDE = f"must be between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31"


def within_calendar(moment: datetime) -> None:
    """ValidationError unless the time's own year (read before any conversion, which could
    overflow) is within FIRST_YEAR..LAST_YEAR."""
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValidationError(OUTSIDE)
