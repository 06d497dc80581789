"""Which days a source's files are fetched for: now (`days_to_fetch`) and in a backfill range
[start, end) as the sources publish them (`day_chunks`, `month_chunks`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo


@dataclass(frozen=True)
class DaysToFetch:
    """The local days of a daily-file source a `run` fetches now, oldest first."""

    days: list[date]
    today: date
    in_grace: bool  # now is within the grace period after local midnight

    def may_be_missing(self, day: date) -> bool:
        """Just after midnight today's file often does not exist yet: no error then."""
        return day == self.today and self.in_grace


def days_to_fetch(now: datetime, zone: tzinfo, last_success: datetime | None,
                  grace: timedelta) -> DaysToFetch:
    """Today (in `zone`), plus yesterday until `grace` past local midnight or while the last
    success came before then, so that yesterday's last intervals, published a few minutes
    late, are collected."""
    today = now.astimezone(zone).date()
    cutoff = datetime.combine(today, time(0), zone) + grace
    days = [today]
    if last_success is None or last_success < cutoff:
        days.insert(0, today - timedelta(days=1))
    return DaysToFetch(days, today, now < cutoff)


def day_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """One (day, next day) per day in [start, end)."""
    return [(start + timedelta(days=i), start + timedelta(days=i + 1)) for i in range((end - start).days)]


def next_month(month: date) -> date:
    """The first day of the month after `month`'s."""
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def month_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """Calendar months, the first and last clipped to [start, end)."""
    chunks, month = [], start.replace(day=1)
    while month < end:
        chunks.append((max(start, month), min(end, next_month(month))))
        month = next_month(month)
    return chunks
