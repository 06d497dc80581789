"""`SourceSpec`: every fact of one source in one place, stated by its module as `SPEC`.

The registry (crawler.crawl.SOURCES) is a list of these; the crawl engine, `status` and
the `source` table read a source's name, cadence and state from here and nowhere else.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType


@dataclass(frozen=True)
class SourceSpec:
    """What the crawler knows of a source without running it."""

    name: str                  # the registry name (CAISO, NYISO, EIA, ...), also `<name>_BASE_URL`
    module_name: str           # the module implementing the contract of crawler.parsers (__name__)
    description: str           # one line, stored in the `source` table
    regions: tuple[str, ...]   # EIA BA codes it writes; empty: any region of the region table
    interval_minutes: int      # the native interval length of its readings
    frequency_minutes: int     # how often `run` fetches it
    stale_after_minutes: int   # newest reading older than this: reported stale
    time_convention: str       # in one line: what the source's stamps mean
    backfill: str              # in one line: the chunks `backfill` fetches, or why there are none
    requires_env: tuple[str, ...] = ()  # environment variables it cannot run without
    disabled: str | None = None         # why the source is switched off, if it is

    @property
    def module(self) -> ModuleType:
        """The module with parse, fetch_latest, backfill_chunks and fetch_range."""
        return importlib.import_module(self.module_name)

    @property
    def frequency(self) -> timedelta:
        return timedelta(minutes=self.frequency_minutes)

    @property
    def stale_after(self) -> timedelta:
        """Newest reading older than this: the feed is reported stale."""
        return timedelta(minutes=self.stale_after_minutes)

    def disabled_reason(self) -> str | None:
        """Why the source does not run now: switched off, or a required variable unset."""
        if self.disabled:
            return self.disabled
        missing = [v for v in self.requires_env if not os.environ.get(v)]
        return f"{', '.join(missing)} not set" if missing else None
