"""The range of times any request may name. 0001-01-01T00:00+14:00 is valid ISO 8601 but has no
UTC equivalent in Python (nor 9999-12-31T23:59-14:00), and no data is that old: every time
parameter or body field is checked against this before any arithmetic."""
from __future__ import annotations

from datetime import datetime

from marshmallow import ValidationError

FIRST_YEAR, LAST_YEAR = 1900, 2199


def within_calendar(moment: datetime) -> None:
    """ValidationError unless the time's own year (read before any conversion, which could
    overflow) is within FIRST_YEAR..LAST_YEAR."""
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValidationError(f"must be between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31")
