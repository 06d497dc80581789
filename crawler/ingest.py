"""Payloads to stored readings: parse, validate, write in one transaction. Shared by run,
backfill and replay so that recorded files take exactly the crawler's path."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType

import pandas as pd
import psycopg2.extensions

from crawler.model import Anomaly, ParseError, ParseResult, Payload
from crawler.validate import anomaly_counts, validate
from database.marginal import write_marginal
from database.readings import WriteCounts, write_net_imports, write_readings
from database.reported import ReportedCounts, ensure_zone_regions, write_reported_intensity

log = logging.getLogger(__name__)


@dataclass
class Parsed:
    """The valid part of a batch of payloads, and what could not be parsed."""

    result: ParseResult | None
    errors: list[str] = field(default_factory=list)

    @property
    def anomalies(self) -> list[Anomaly]:
        return self.result.anomalies if self.result else []


def parse_payloads(source: str, module: ModuleType, payloads: list[Payload], now: datetime) -> Parsed:
    """Parse each payload; a body that cannot be parsed is reported, the others still count."""
    results, errors = [], []
    for payload in payloads:
        try:
            results.append(module.parse(payload))
        except ParseError as exc:
            errors.append(f"{short_name(payload.name)}: {exc}" if len(payloads) > 1 else str(exc))
            log.info("%s: cannot parse %s: %s", source, payload.name, exc)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            # A body of a shape the parser did not foresee (a stamp in the year 4016, say) is
            # refused like a ParseError: the other bodies still count, the raw payload stays
            # archived for a replay once the parser knows better, and the traceback is logged.
            text = f"{source}: unreadable body ({type(exc).__name__}: {exc})"
            errors.append(f"{short_name(payload.name)}: {text}" if len(payloads) > 1 else text)
            log.info("%s: parser failed on %s", source, payload.name, exc_info=True)
    if not results:
        return Parsed(None, errors)
    return Parsed(validate(source, ParseResult.concat(results), now), errors)


def write_parsed(conn: psycopg2.extensions.connection, source_id: int, parsed: Parsed) -> WriteCounts:
    """Write a parsed batch in one transaction (readings, net imports, intensity; reported and
    marginal intensity, zones outside our regions first made regions)."""
    if parsed.result is None:
        return WriteCounts()
    result = parsed.result
    with conn:
        with conn.cursor() as cur:
            counts = write_readings(cur, source_id, result.readings, result.interval_minutes)
            write_net_imports(cur, source_id, result.net_imports, result.interval_minutes)
            for rows, write in ((result.reported, write_reported), (result.marginal, write_marginal)):
                if not rows.empty:
                    new_regions = ensure_zone_regions(cur, sorted(rows["zone"].unique()), result.zone_names)
                    if new_regions:
                        log.info("new regions (zones outside ours): %s", ", ".join(new_regions))
                    more = write(cur, source_id, rows, result.interval_minutes)
                    counts.inserted += more.inserted
                    counts.updated += more.updated
                    counts.unchanged += more.unchanged
    return counts


def write_reported(cur: psycopg2.extensions.cursor, source_id: int, rows: pd.DataFrame,
                   interval_minutes: int) -> ReportedCounts:
    """Reported intensity through the CSV importer's write path, partial rows kept partial."""
    return write_reported_intensity(cur, source_id, rows, interval_minutes, partial=True)


def summary(counts: WriteCounts, anomalies: list[Anomaly]) -> str:
    text = f"{counts.inserted} inserted, {counts.updated} updated, {counts.unchanged} unchanged"
    by_kind = anomaly_counts(anomalies)
    if by_kind:
        text += "; anomalies: " + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items()))
    return text


def short_name(name: str) -> str:
    """The last part of a payload's URL or path, to name it in a message."""
    return name.rsplit("/", 1)[-1] or name
