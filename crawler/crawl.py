"""The source registry, when each source is due, and the run / backfill / replay flows.

Each source is isolated: its fetch, parse and write are wrapped so that any failure is
recorded in crawl_run with a readable error and the next source still runs.
"""
from __future__ import annotations

import logging
import traceback
from functools import partial
from datetime import date, datetime, timedelta, timezone
from typing import Callable

from crawler.http import FetchError, HttpClient, redact
from crawler.ingest import Parsed, parse_payloads, short_name, summary, write_parsed
from crawler.model import Payload
from crawler.parsers import (bpa, caiso, caiso_drw, eia, electricitymaps, ercot, hawaii, isone, miso, nyiso, pjm, prepa,
                             spp, watttime)
from crawler.source import SourceSpec
from crawler.validate import anomaly_counts
from database import crawl_runs
from database.connection import connect
from database.dimensions import sync_source
from database.migrate import migrate
from database.payloads import archive_payload, iter_payloads

log = logging.getLogger(__name__)

# cron fires every minute; a source counts as due this much early so 5 minutes stay 5.
DUE_SLACK = timedelta(seconds=30)
# After a failed attempt a source waits this long (or its frequency, if shorter) before the
# next one, so that a host that is down is not asked every minute.
RETRY_AFTER = timedelta(minutes=5)


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
        self.meta = connect(application_name="energy-data crawler")
        migrate(self.meta)  # in a transaction of its own, before autocommit
        self.meta.autocommit = True
        self.data = connect(application_name="energy-data crawler writes")
        with self.meta.cursor() as cur:
            self.source_ids = {s.name: sync_source(cur, s.name, s.description, s.frequency,
                                                   s.interval_minutes, s.stale_after)
                               for s in REGISTRY.values()}

    def close(self) -> None:
        self.data.close()
        self.meta.close()

    def client(self, source: SourceSpec, dry_run: bool = False) -> HttpClient:
        if dry_run:
            return HttpClient()
        source_id = self.source_ids[source.name]

        def archive(payload: Payload) -> None:
            with self.meta.cursor() as cur:
                archive_payload(cur, source_id, payload.name, payload.body, payload.fetched_at,
                                payload.http_status, payload.content_type)
        return HttpClient(archive=archive)

    # -- run ---------------------------------------------------------------------------

    def run(self, names: list[str], force: bool, dry_run: bool, now: datetime) -> int:
        """The cron entry point. Returns the exit code."""
        with self.meta.cursor() as cur:
            if not crawl_runs.try_crawl_lock(cur):
                holder = crawl_runs.crawl_lock_holder(cur)
                since = f" (pid {holder[0]}, since {holder[1]:%Y-%m-%d %H:%M:%S}Z)" if holder else ""
                self.out(f"another crawl is running{since}; exiting")
                return 0
            crawl_runs.mark_interrupted(cur)
        sources = [get_source(n) for n in names] if names else list(REGISTRY.values())
        outcomes = [self._run_source(s, force, dry_run, now) for s in sources]
        attempted = [o for o in outcomes if o is not None]
        return 1 if attempted and not any(attempted) else 0

    def _run_source(self, source: SourceSpec, force: bool, dry_run: bool, now: datetime) -> bool | None:
        """True on success, False on failure, None when skipped (disabled or not due)."""
        reason = source.disabled_reason()
        if reason:
            self.out(f"{source.name}: disabled ({reason})")
            return None
        source_id = self.source_ids[source.name]
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
        except Exception as exc:  # noqa: BLE001 (any failure is this source's alone)
            message = _error_text(exc).removeprefix(f"{source.name}: ")  # the line names the source
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


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
