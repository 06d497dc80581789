"""The pieces a backfill range [start, end) is fetched in, as the sources publish them."""
from __future__ import annotations

from datetime import date, timedelta


def day_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """One (day, next day) per day in [start, end)."""
    return [(start + timedelta(days=i), start + timedelta(days=i + 1)) for i in range((end - start).days)]


def month_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Calendar months, the first and last clipped to [start, end)."""
    chunks, month = [], start.replace(day=1)
    while month < end:
        following = (month + timedelta(days=32)).replace(day=1)
        chunks.append((max(start, month), min(end, following)))
        month = following
    return chunks
