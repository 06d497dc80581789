"""The source registry, when each source is due, and the run / backfill / replay flows.

Each source is isolated: its fetch, parse and write are wrapped so that any failure is
recorded in crawl_run with a readable error and the next source still runs.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from functools import partial
from datetime import date, datetime, timedelta, timezone
from typing import Callable

from crawler.http import FetchError, HttpClient
from energy_data.http import redact
from crawler.ingest import Parsed, parse_payloads, short_name, summary, write_parsed
from crawler.memory import DatabaseMemory
from crawler.model import Payload
from crawler.parsers import (bpa, caiso, caiso_drw, eia, electricitymaps, entsoe, ercot, gb, hawaii, hydroquebec, isone,
                             miso, nyiso, openelectricity, pjm, prepa, spp, watttime)
from crawler.parsers import (caiso_forecast, eia_forecast, ercot_forecast, isone_forecast, miso_forecast,
                             nyiso_forecast, openmeteo, pjm_forecast)
from crawler.source import SourceSpec
from crawler.validate import anomaly_counts
from database import crawl_runs
from database.connection import DatabaseUnavailable, alive, connect
from database.dimensions import sync_source
from database.migrate import migrate
from database.payloads import archive_payload, iter_payloads

log = logging.getLogger(__name__)

# cron fires every minute; a source counts as due this much early so 5 minutes stay 5.
DUE_SLACK = timedelta(seconds=30)
# After a failed attempt a source waits this long (or its frequency, if shorter) before the
# next one, so that a host that is down is not asked every minute.
RETRY_AFTER = timedelta(minutes=5)
# A `run` that is still busy after this long (a server trickling bytes, a lock held somewhere)
# stops, so that the crawl lock never keeps every later cron run out for long.
DEADLINE_VARIABLE = "CRAWLER_RUN_DEADLINE_S"
DEFAULT_RUN_DEADLINE_S = 240.0
# Every crawler session: no statement runs longer, no lock is waited for longer.
SESSION_SETTINGS = {"statement_timeout": "120s", "lock_timeout": "20s"}
# A database restart takes a few seconds: reconnecting tries this often, this far apart.
RECONNECT_ATTEMPTS, RECONNECT_PAUSE_S = 6, 2.0


class RunDeadline(BaseException):
    """The whole-run deadline passed. A BaseException, so that no per-source handler takes it
    for that source's own failure."""


# The registry: one line per source; its module states every fact of it in `SPEC`.
SOURCES: list[SourceSpec] = [
    caiso.SPEC,
    caiso_drw.SPEC,
    nyiso.SPEC,
    miso.SPEC,
    isone.SPEC,
    pjm.SPEC,
    bpa.SPEC,
    spp.SPEC,
    ercot.SPEC,
    eia.SPEC,
    electricitymaps.SPEC,
    watttime.SPEC,
    hawaii.SPEC,
    prepa.SPEC,
    entsoe.SPEC,
    openelectricity.SPEC,
    hydroquebec.SPEC,
    gb.SPEC,
    # Forecast inputs (README "Forecast inputs"): weather and the grid operators' own forecasts.
    openmeteo.SPEC,
    caiso_forecast.SPEC,
    miso_forecast.SPEC,
    pjm_forecast.SPEC,
    isone_forecast.SPEC,
    nyiso_forecast.SPEC,
    ercot_forecast.SPEC,
    eia_forecast.SPEC,
]
REGISTRY: dict[str, SourceSpec] = {spec.name: spec for spec in SOURCES}


def get_source(name: str) -> SourceSpec:
    try:
        return REGISTRY[name.upper()]
    except KeyError:
        raise SystemExit(f"unknown source {name!r}; known: {', '.join(REGISTRY)}") from None


def is_due(source: SourceSpec, last_success: datetime | None, last_attempt: datetime | None,
           now: datetime) -> bool:
    """Due when the last success is a frequency old and the last attempt a retry delay old."""
    if last_success is not None and now - last_success < source.frequency - DUE_SLACK:
        return False
    retry_after = min(source.frequency, RETRY_AFTER) - DUE_SLACK
    return last_attempt is None or now - last_attempt >= retry_after


class Crawler:
    """Database side of a crawl: a bookkeeping connection (autocommit: runs, payloads, the
    lock) and a data connection whose transactions hold each source's writes."""

    def __init__(self, out: Callable[[str], None] = print):
        self.out = out
        self.locked = False  # holds the crawl lock (a `run`)
        meta = connect(application_name="energy-data crawler")
        migrate(meta)  # in a transaction of its own, before autocommit and the timeouts
        meta.close()
        self._connect()
        with self.meta.cursor() as cur:
            self.source_ids = {s.name: sync_source(cur, s.name, s.description, s.frequency,
                                                   s.interval_minutes, s.stale_after)
                               for s in REGISTRY.values()}
            crawl_runs.mark_interrupted(cur)

    def _connect(self) -> None:
        self.meta = connect(application_name="energy-data crawler", settings=SESSION_SETTINGS)
        self.meta.autocommit = True
        self.data = connect(application_name="energy-data crawler writes", settings=SESSION_SETTINGS)

    def close(self) -> None:
        self.data.close()
        self.meta.close()

    def ensure_connected(self) -> None:
        """Reconnect if the server ended either session (a restart): the pool's check, no round
        trip. In a `run` the crawl lock is taken again; if another crawl took it meanwhile,
        DatabaseUnavailable ends this one."""
        if alive(self.meta) and alive(self.data):
            return
        self.close()
        for attempt in range(RECONNECT_ATTEMPTS):
            try:
                self._connect()
                break
            except DatabaseUnavailable:
                if attempt == RECONNECT_ATTEMPTS - 1:
                    raise
                time.sleep(RECONNECT_PAUSE_S)
        log.warning("the database connection was lost; reconnected")
        if self.locked:
            with self.meta.cursor() as cur:
                if not crawl_runs.try_crawl_lock(cur):
                    self.locked = False
                    raise DatabaseUnavailable("database connection lost, and another crawl holds the lock now")

    def client(self, source: SourceSpec, dry_run: bool = False) -> HttpClient:
        if dry_run:
            return HttpClient()
        source_id = self.source_ids[source.name]

        def archive(payload: Payload) -> None:
            with self.meta.cursor() as cur:
                archive_payload(cur, source_id, payload.name, payload.body, payload.fetched_at,
                                payload.http_status, payload.content_type)
        return HttpClient(archive=archive, memory=DatabaseMemory(lambda: self.meta, source_id))

    # -- run ---------------------------------------------------------------------------

    def run(self, names: list[str], force: bool, dry_run: bool, now: datetime) -> int:
        """The cron entry point. Returns the exit code."""
        with self.meta.cursor() as cur:
            if not crawl_runs.try_crawl_lock(cur):
                holder = crawl_runs.crawl_lock_holder(cur)
                since = f" (pid {holder[0]}, since {holder[1]:%Y-%m-%d %H:%M:%S}Z)" if holder else ""
                self.out(f"another crawl is running{since}; exiting")
                return 0
        self.locked = True
        sources = [get_source(n) for n in names] if names else list(REGISTRY.values())
        limit = run_deadline_s()
        try:
            with deadline(limit):
                outcomes = [self._run_source(s, force, dry_run, now) for s in sources]
        except RunDeadline:
            self.out(f"run stopped: past its deadline of {limit:g} s ({DEADLINE_VARIABLE}); "
                     "the sources not done wait for the next run")
            return 1
        finally:
            if self.locked and alive(self.meta):
                with self.meta.cursor() as cur:
                    crawl_runs.release_crawl_lock(cur)
            self.locked = False
        attempted = [o for o in outcomes if o is not None]
        return 1 if attempted and not any(attempted) else 0

    def _run_source(self, source: SourceSpec, force: bool, dry_run: bool, now: datetime) -> bool | None:
        """True on success, False on failure, None when skipped (disabled or not due)."""
        reason = source.disabled_reason()
        if reason:
            self.out(f"{source.name}: disabled ({reason})")
            return None
        source_id = self.source_ids[source.name]
        self.ensure_connected()
        with self.meta.cursor() as cur:
            last = crawl_runs.last_success(cur, source_id)
            last_attempt = crawl_runs.last_attempt(cur, source_id)
        if not force and not is_due(source, last, last_attempt, now):
            return None
        client = self.client(source, dry_run)
        return self._attempt(source, "run", lambda: source.module.fetch_latest(client, now, last),
                             client, now, dry_run)

    def _attempt(self, source: SourceSpec, kind: str, fetch: Callable[[], list[Payload]],
                 client: HttpClient, now: datetime, dry_run: bool, detail: str | None = None) -> bool:
        label = f"{source.name}{f' {detail}' if detail else ''}"
        run_id = None
        if not dry_run:
            self.ensure_connected()
            with self.meta.cursor() as cur:
                run_id = crawl_runs.start_run(cur, self.source_ids[source.name], kind, detail)
        try:
            parsed = parse_payloads(source.name, source.module, fetch(), now)
            errors = client.errors + parsed.errors
            if parsed.result is None:
                raise FetchError("; ".join(errors) or "no data returned")
            if dry_run:
                self.out(f"{label}: dry run: {_describe(parsed)}")
                return True
            counts = write_parsed(self.data, self.source_ids[source.name], parsed)
        except RunDeadline:
            if run_id is not None:
                with self.meta.cursor() as cur:
                    crawl_runs.finish_run(cur, run_id, "interrupted", error="stopped: the run passed its deadline")
            self.out(f"{label}: interrupted: the run passed its deadline")
            raise
        except Exception as exc:  # noqa: BLE001 (any failure is this source's alone)
            if alive(self.meta) and alive(self.data):
                message = _error_text(exc).removeprefix(f"{source.name}: ")  # the line names the source
            else:  # the server went away (a restart): reconnect, record it, go on with the next source
                message = f"database connection lost: {_first_line(exc)}"
                self.ensure_connected()
            if run_id is not None:
                with self.meta.cursor() as cur:
                    crawl_runs.finish_run(cur, run_id, "failed", error=message)
            self.out(f"{label}: failed: {message}")
            return False
        status = "partial" if errors else "ok"
        anomalies = anomaly_counts(parsed.anomalies)
        with self.meta.cursor() as cur:
            stale = (staleness(source, crawl_runs.newest_reading(cur, self.source_ids[source.name]), now)
                     if kind == "run" else None)
            if stale:
                anomalies["stale_feed"] = 1
            crawl_runs.finish_run(cur, run_id, status, counts.inserted, counts.updated, counts.unchanged,
                                  anomalies, "; ".join(errors) or None)
        self.out(f"{label}: {status}: {summary(counts, parsed.anomalies)}"
                 + (f"; errors: {'; '.join(errors)}" if errors else "") + (f"; STALE: {stale}" if stale else ""))
        return True

    # -- backfill ----------------------------------------------------------------------

    def backfill(self, source: SourceSpec, start: date, end: date, now: datetime) -> int:
        """Fetch [start, end) chunk by chunk; failed chunks are listed, never skipped silently."""
        reason = source.disabled_reason()
        if reason and not source.disabled:
            raise SystemExit(f"{source.name}: cannot backfill: {reason}")
        failed = []
        for chunk_start, chunk_end in source.module.backfill_chunks(start, end):
            detail = f"{chunk_start:%Y-%m-%d}..{chunk_end:%Y-%m-%d}"
            client = self.client(source)
            fetch = partial(source.module.fetch_range, client, chunk_start, chunk_end)
            ok = self._attempt(source, "backfill", fetch, client, now, dry_run=False, detail=detail)
            if not ok:
                failed.append(detail)
        if failed:
            self.out(f"{source.name}: {len(failed)} chunk(s) failed: {', '.join(failed)}; "
                     "run the same backfill again to retry them")
            return 1
        return 0

    # -- replay ------------------------------------------------------------------------

    def replay(self, items: list[tuple[SourceSpec, Payload]], now: datetime) -> int:
        """Ingest recorded payloads, one transaction per payload, in the order given."""
        failures = 0
        for source, payload in items:
            client = HttpClient()
            ok = self._attempt(source, "replay", partial(list, [payload]), client, now, dry_run=False,
                               detail=short_name(payload.name))
            failures += not ok
        return 1 if failures else 0


def run_deadline_s() -> float:
    """Seconds a `run` may take: CRAWLER_RUN_DEADLINE_S, default a few minutes; never unlimited."""
    text = os.environ.get(DEADLINE_VARIABLE, "").strip()
    try:
        seconds = float(text) if text else DEFAULT_RUN_DEADLINE_S
    except ValueError:
        seconds = -1
    if not 0 < seconds < 86400:
        raise SystemExit(f"{DEADLINE_VARIABLE} must be a number of seconds between 0 and 86400, got {text!r}")
    return seconds


@contextmanager
def deadline(seconds: float):
    """Raise RunDeadline in this (main) thread once `seconds` have passed, wherever it is waiting:
    a signal interrupts a blocked socket read, which a timeout per read does not bound."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only; the per-request and statement timeouts still hold
        return

    def expire(signum, frame):
        raise RunDeadline()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def staleness(source: SourceSpec, newest: datetime | None, now: datetime) -> str | None:
    """Why the feed counts as stale (its newest reading is older than its threshold), or None."""
    if newest is None or now - newest <= source.stale_after:
        return None
    return (f"newest reading {newest:%Y-%m-%d %H:%M}Z is {_duration(now - newest)} old "
            f"(threshold {_duration(source.stale_after)})")


def _duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:.0f} days"
    return f"{hours:.1f} h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f} min"


def archived_payloads(crawler: "Crawler", source: SourceSpec | None,
                      since: datetime | None) -> list[tuple[SourceSpec, Payload]]:
    """Bodies the crawler archived (HTTP 200 only), oldest first, as replay items."""
    source_id = crawler.source_ids[source.name] if source else None
    with crawler.meta.cursor() as cur:
        rows = list(iter_payloads(cur, source_id, since))
    return [(REGISTRY[name], Payload(body=body, name=url, fetched_at=fetched_at, content_type=content_type,
                                     http_status=status))
            for name, url, fetched_at, status, content_type, body in rows
            if status == 200 and name in REGISTRY]


def _describe(parsed: Parsed) -> str:
    readings = parsed.result.readings
    if readings.empty:
        other = [f"{len(frame)} {what} rows, {frame['zone'].nunique()} zone(s)"
                 for what, frame in (("reported intensity", parsed.result.reported),
                                     ("marginal intensity", parsed.result.marginal)) if len(frame)]
        other += [f"{len(frame)} {what} rows, issued {frame['issued_at'].min():%Y-%m-%d %H:%M}Z.."
                  f"{frame['issued_at'].max():%Y-%m-%d %H:%M}Z"
                  for what, frame in (("operator forecast", parsed.result.operator_forecasts),
                                      ("weather forecast", parsed.result.weather_forecasts)) if len(frame)]
        return "; ".join(other) or "no readings"
    span = f"{readings['timestamp'].min().isoformat()} .. {readings['timestamp'].max().isoformat()}"
    return (f"{len(readings)} readings, {readings['timestamp'].nunique()} intervals, "
            f"{readings['region'].nunique()} region(s), {span}; {len(parsed.result.net_imports)} net imports; "
            f"{sum(a.count for a in parsed.anomalies)} anomalies")


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, (FetchError, ValueError)) and str(exc):
        return redact(str(exc))
    log.error("unexpected error:\n%s", redact(traceback.format_exc()))
    return redact(f"{type(exc).__name__}: {exc}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return redact(text.splitlines()[0]) if text else type(exc).__name__


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
