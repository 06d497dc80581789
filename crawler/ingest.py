"""Payloads to stored readings: parse, validate, write in one transaction. Shared by run,
backfill and replay so that recorded files take exactly the crawler's path."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType

import pandas as pd
import psycopg2.extensions

from crawler.model import Anomaly, ParseError, ParseResult, Payload, note
from crawler.validate import anomaly_counts, validate
from database.forecast_inputs import sync_weather_points, write_operator_forecasts, write_weather_forecasts
from database.load_flows import write_flows, write_load
from database.marginal import write_marginal
from database.readings import WriteCounts, region_peaks, write_net_imports, write_readings
from database.reported import ReportedCounts, ensure_zone_regions, write_reported_intensity
from energy_data.fuels import STORAGE_FUELS
from energy_data.weather_points import load_points

log = logging.getLogger(__name__)

# A reading over twice its region's largest total (recorded over a week, or the batch's median
# interval; never below 10 GW, so a small region adding a fuel is not refused) is a unit or
# parsing error.
PEAK_FACTOR, PEAK_FLOOR_MW, PEAK_HISTORY = 2.0, 10_000.0, timedelta(days=7)
BATCH_REFERENCE = 12


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
            results.append(_noted_if_empty(source, payload, module.parse(payload)))
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


def _noted_if_empty(source: str, payload: Payload, result: ParseResult) -> ParseResult:
    """A body that parsed but holds no reading at all (a header-only CSV, an EIA page without
    data) is a success worth counting: a source that keeps sending them has stopped."""
    if all(frame.empty for frame in (result.readings, result.net_imports, result.reported, result.marginal,
                                     result.load, result.flows, result.operator_forecasts,
                                     result.weather_forecasts)):
        note(result.anomalies, source, "empty_body", f"{short_name(payload.name)}: no readings in the body")
    return result


def write_parsed(conn: psycopg2.extensions.connection, source_id: int, parsed: Parsed) -> WriteCounts:
    """Write a parsed batch in one transaction (readings, net imports, intensity; reported and
    marginal intensity, zones outside our regions first made regions; forecast inputs)."""
    if parsed.result is None:
        return WriteCounts()
    result = parsed.result
    with conn:
        with conn.cursor() as cur:
            readings, over_peak = _within_region_peaks(cur, source_id, result)
            rejected = pd.concat([result.rejected, over_peak], ignore_index=True) if len(over_peak) \
                else result.rejected
            counts = write_readings(cur, source_id, readings, result.interval_minutes,
                                    complete_intervals=result.complete_intervals, rejected=rejected,
                                    flagged=result.flagged)
            for kind, count in sorted(counts.anomalies.items()):
                result.anomalies.append(Anomaly(kind, f"{count} readings not taken as measured ({kind}): "
                                                "estimated, or their interval left as a gap", count))
            write_net_imports(cur, source_id, result.net_imports, result.interval_minutes)
            for rows, write in ((result.load, write_load), (result.flows, write_flows)):
                more = write(cur, source_id, rows, result.interval_minutes)
                counts.inserted += more.inserted
                counts.updated += more.updated
                counts.unchanged += more.unchanged
            for rows, write in ((result.reported, write_reported), (result.marginal, write_marginal)):
                if not rows.empty:
                    new_regions = ensure_zone_regions(cur, sorted(rows["zone"].unique()), result.zone_names)
                    if new_regions:
                        log.info("new regions (zones outside ours): %s", ", ".join(new_regions))
                    more = write(cur, source_id, rows, result.interval_minutes)
                    counts.inserted += more.inserted
                    counts.updated += more.updated
                    counts.unchanged += more.unchanged
            if result.has_forecast_inputs():
                for more in write_forecast_inputs(cur, source_id, result):
                    counts.inserted += more.inserted
                    counts.updated += more.updated
                    counts.unchanged += more.unchanged
    return counts


def write_forecast_inputs(cur: psycopg2.extensions.cursor, source_id: int, result: ParseResult) -> list:
    """Weather forecasts (the points of energy_data/data/weather_points.csv synced first) and
    operator forecasts, each row with its issue time (database.forecast_inputs)."""
    written = []
    if not result.weather_forecasts.empty:
        sync_weather_points(cur, load_points())
        written.append(write_weather_forecasts(cur, source_id, result.weather_forecasts))
    if not result.operator_forecasts.empty:
        written.append(write_operator_forecasts(cur, source_id, result.operator_forecasts))
    return written


def _within_region_peaks(cur, source_id: int, result: ParseResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(readings, rejected cells): the readings over PEAK_FACTOR times their region's peak
    total (and PEAK_FLOOR_MW) are a unit or parsing error, counted as `implausible_value`
    anomalies and rejected. The peak is the stored one once a week of history is stored; else,
    when the batch holds BATCH_REFERENCE intervals of the region or more, the median total of
    those intervals (which one absurd interval does not move), so that a first backfill or
    replay is checked too."""
    readings = result.readings
    if readings.empty:
        return readings, readings.iloc[:0][["region", "timestamp", "fuel"]].assign(kind="")
    counted = readings[(readings["mw"] > 0) & ~readings["fuel"].isin(STORAGE_FUELS)]
    totals = counted.groupby(["region", "timestamp"])["mw"].sum().groupby(level="region")
    batch = totals.median()[totals.size() >= BATCH_REFERENCE]
    peaks = pd.Series(region_peaks(cur, source_id, PEAK_HISTORY), dtype="float64")
    peaks = pd.concat([peaks, batch[~batch.index.isin(peaks.index)]])
    limit = readings["region"].map(peaks).mul(PEAK_FACTOR).clip(lower=PEAK_FLOOR_MW)
    absurd = (readings["mw"] > limit).to_numpy()
    if absurd.any():
        example = readings[absurd].iloc[0]
        message = (f"{int(absurd.sum())} readings over {PEAK_FACTOR:g} times their region's peak total "
                   f"rejected (stored values kept), e.g. {example['fuel']} {example['mw']:.0f} MW for "
                   f"{example['region']} (peak {peaks[example['region']]:.0f} MW)")
        log.warning(message)
        result.anomalies.append(Anomaly("implausible_value", message, int(absurd.sum())))
    rejected = readings[absurd][["region", "timestamp", "fuel"]].assign(kind="implausible_value")
    return readings[~absurd], rejected


def write_reported(cur: psycopg2.extensions.cursor, source_id: int, rows: pd.DataFrame,
                   interval_minutes: int) -> ReportedCounts:
    """Reported intensity through the CSV importer's write path, partial rows kept partial."""
    return write_reported_intensity(cur, source_id, rows, interval_minutes, partial=True)


def summary(counts: WriteCounts, anomalies: list[Anomaly]) -> str:
    text = f"{counts.inserted} inserted, {counts.updated} updated, {counts.unchanged} unchanged"
    if counts.removed:
        text += f", {counts.removed} removed (fuels a revision no longer lists)"
    if counts.estimated or counts.gaps:
        text += (f"; {counts.estimated} intervals estimated, {counts.gaps} left as gaps "
                 "(a fuel missing, rejected or anomalous)")
    by_kind = anomaly_counts(anomalies)
    if by_kind:
        text += "; anomalies: " + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items()))
    return text


def short_name(name: str) -> str:
    """The last part of a payload's URL or path, to name it in a message."""
    return name.rsplit("/", 1)[-1] or name
