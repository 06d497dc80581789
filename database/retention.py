"""Retention: what `python -m crawler prune` deletes (archived payloads, issued forecasts,
crawl runs) once it is older than its configured number of days, the thinning of old
forecast-input issues (database.forecast_inputs.thin_issues), and fitted forecast models
beyond the newest few of each series (database.forecast_models.prune_models)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg2.extensions

from database.forecast_inputs import thin_issues
from database.forecast_models import prune_models
from database.forecasts import delete_issued_before

Cursor = psycopg2.extensions.cursor


@dataclass(frozen=True)
class RetentionPolicy:
    """Days to keep each kind of row; None keeps it for ever."""
    payload_days: int | None = 90
    keep_failed_payloads: bool = True  # past payload_days, keep the bodies a run failed to parse
    forecast_days: int | None = 30
    crawl_run_days: int | None = 180
    input_issue_days: int | None = 3  # forecast inputs: every issue kept this long, then one per 6 hours


def prune_payloads(cur: Cursor, before: datetime, keep_failed: bool) -> int:
    """Delete bodies last fetched before `before`; with `keep_failed`, not those fetched during a
    failed or partial run of their source (the ones worth re-parsing after a fix)."""
    cur.execute(
        "DELETE FROM raw_payload p WHERE p.last_fetched_at < %(before)s AND NOT (%(keep_failed)s AND EXISTS ("
        " SELECT 1 FROM crawl_run r WHERE r.source_id = p.source_id AND r.status IN ('failed', 'partial')"
        " AND p.last_fetched_at BETWEEN r.started_at AND coalesce(r.finished_at, 'infinity')))",
        {"before": before, "keep_failed": keep_failed},
    )
    return cur.rowcount


def prune_crawl_runs(cur: Cursor, before: datetime) -> int:
    """Delete finished runs started before `before`, keeping each source's newest run of each
    kind and its newest success (what `status` and the due logic read)."""
    cur.execute(
        "DELETE FROM crawl_run r WHERE r.started_at < %s AND r.status <> 'running' AND r.id NOT IN ("
        " SELECT max(id) FROM crawl_run GROUP BY source_id, kind"
        " UNION SELECT max(id) FROM crawl_run WHERE status IN ('ok', 'partial') GROUP BY source_id, kind)",
        (before,),
    )
    return cur.rowcount


def prune(cur: Cursor, policy: RetentionPolicy, now: datetime) -> dict[str, int]:
    """Apply the policy; returns rows deleted per kind (absent kinds are kept for ever)."""
    deleted: dict[str, int] = {}
    if policy.payload_days is not None:
        deleted["payloads"] = prune_payloads(cur, now - timedelta(days=policy.payload_days),
                                             policy.keep_failed_payloads)
    if policy.forecast_days is not None:
        deleted["forecasts"] = delete_issued_before(cur, now - timedelta(days=policy.forecast_days))
    if policy.crawl_run_days is not None:
        deleted["crawl_runs"] = prune_crawl_runs(cur, now - timedelta(days=policy.crawl_run_days))
    if policy.input_issue_days is not None:
        thinned = thin_issues(cur, now, timedelta(days=policy.input_issue_days))
        deleted["weather forecast rows (thinned)"] = thinned["weather_forecast"]
        deleted["operator forecast rows (thinned)"] = thinned["operator_forecast"]
    deleted["forecast models (older fits)"] = prune_models(cur)
    return deleted
