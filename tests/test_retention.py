"""`python -m crawler prune`: retention of archived payloads, issued forecasts and crawl runs, and
its place in the nightly schedule."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from database.forecasts import save_forecast
from database.payloads import archive_payload
from tests.crawlhelp import REPO, crawler_cli, query
from tests.test_api_forecast import long_history, now_hour  # noqa: F401 (fixtures)

NOW = datetime.now(timezone.utc)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def seed(db) -> dict[str, int]:
    """Payloads, runs and forecasts of known ages; returns the ids the tests look for."""
    assert crawler_cli("status").returncode == 0  # registers the sources
    ids = {}
    with db.cursor() as cur:
        cur.execute("SELECT id FROM source WHERE name = 'CAISO'")
        source = cur.fetchone()[0]
        cur.execute("SELECT id FROM region WHERE code = 'CISO'")
        region = cur.fetchone()[0]

        def run(started: datetime, status: str) -> int:
            cur.execute("INSERT INTO crawl_run (source_id, kind, started_at, finished_at, status) "
                        "VALUES (%s, 'run', %s, %s, %s) RETURNING id",
                        (source, started, started + timedelta(seconds=30), status))
            return cur.fetchone()[0]

        ids["old_ok_run"] = run(days_ago(200), "ok")
        ids["old_failed_run"] = run(days_ago(100), "failed")
        ids["newest_ok_run"] = run(days_ago(190), "ok")  # the newest success, old as it is
        ids["recent_failed_run"] = run(days_ago(1), "failed")

        def payload(name: str, fetched: datetime) -> None:
            ids[name] = archive_payload(cur, source, f"https://example.invalid/{name}", name.encode(), fetched, 200, "text/csv")

        payload("old_payload", days_ago(120))
        payload("old_failed_payload", days_ago(100) + timedelta(seconds=10))  # during the failed run
        payload("recent_payload", days_ago(5))

        frame = pd.DataFrame({"timestamp": [NOW], "value": [300.0], "lower": [None], "upper": [None]})
        for name, issued in (("old_forecast", days_ago(40)), ("recent_forecast", days_ago(2))):
            ids[name] = save_forecast(cur, region_id=region, source_id=source, factor_set="lifecycle",
                                      issued_at=issued, history_end=issued - timedelta(hours=1),
                                      model_name="test", model_version="1", frame=frame)
    return ids


def remaining(db, table: str) -> set[int]:
    with db.cursor() as cur:
        cur.execute(f"SELECT id FROM {table}")
        return {r[0] for r in cur.fetchall()}


def test_prune_deletes_what_is_past_retention_and_keeps_failed_bodies(db, monkeypatch):
    ids = seed(db)
    monkeypatch.setenv("RETAIN_PAYLOAD_DAYS", "30")
    monkeypatch.setenv("RETAIN_FORECAST_DAYS", "30")
    monkeypatch.setenv("RETAIN_CRAWL_RUN_DAYS", "60")
    result = crawler_cli("prune")
    assert result.returncode == 0, result.stderr
    assert "deleted 1 payloads, 1 forecasts, 2 crawl_runs" in result.stdout
    assert remaining(db, "raw_payload") == {ids["old_failed_payload"], ids["recent_payload"]}
    assert remaining(db, "forecast") == {ids["recent_forecast"]}
    runs = remaining(db, "crawl_run")
    assert {ids["newest_ok_run"], ids["recent_failed_run"]} <= runs
    assert not runs & {ids["old_ok_run"], ids["old_failed_run"]}
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM forecast_value")
        assert cur.fetchone()[0] == 1  # the old forecast's values went with it


def test_prune_without_keeping_failed_bodies_and_zero_keeps_for_ever(db, monkeypatch):
    ids = seed(db)
    monkeypatch.setenv("RETAIN_PAYLOAD_DAYS", "30")
    monkeypatch.setenv("RETAIN_FAILED_PAYLOADS", "0")
    monkeypatch.setenv("RETAIN_FORECAST_DAYS", "0")
    monkeypatch.setenv("RETAIN_CRAWL_RUN_DAYS", "0")
    result = crawler_cli("prune")
    assert result.returncode == 0, result.stderr
    assert "deleted 2 payloads" in result.stdout and "kept for ever: forecasts, crawl_runs" in result.stdout
    assert remaining(db, "raw_payload") == {ids["recent_payload"]}
    assert len(remaining(db, "forecast")) == 2 and len(remaining(db, "crawl_run")) >= 4


def test_dry_run_and_bad_settings_delete_nothing(db, monkeypatch):
    seed(db)
    before = {t: remaining(db, t) for t in ("raw_payload", "forecast", "crawl_run")}
    monkeypatch.setenv("RETAIN_PAYLOAD_DAYS", "1")
    result = crawler_cli("prune", "--dry-run")
    assert result.returncode == 0 and "would delete 2 payloads, 1 forecasts" in result.stdout
    monkeypatch.setenv("RETAIN_FORECAST_DAYS", "a month")
    result = crawler_cli("prune")
    assert result.returncode != 0 and "RETAIN_FORECAST_DAYS must be a whole number" in result.stderr
    assert {t: remaining(db, t) for t in before} == before


def test_old_issued_forecasts_are_pruned_on_a_schedule(db_url, db, long_history, now_hour, monkeypatch):
    frame = pd.DataFrame({"timestamp": pd.date_range(now_hour, periods=3, freq="h"), "value": [1.0, 2.0, 3.0],
                          "lower": [0.5] * 3, "upper": [4.0] * 3})
    region, source = query(db, "SELECT region_id, source_id FROM series")[0]
    with db.cursor() as cur:
        for days in (40, 31, 2):
            issued = (now_hour - pd.Timedelta(days=days)).to_pydatetime()
            save_forecast(cur, region_id=region, source_id=source, factor_set="lifecycle", issued_at=issued,
                          history_end=issued - pd.Timedelta(hours=1), model_name="m", model_version="1", frame=frame)
    monkeypatch.setenv("RETAIN_FORECAST_DAYS", "30")
    result = crawler_cli("prune")
    assert result.returncode == 0 and "2 forecasts" in result.stdout, result.stdout + result.stderr
    assert query(db, "SELECT issued_at FROM forecast") == [((now_hour - pd.Timedelta(days=2)).to_pydatetime(),)]
    assert query(db, "SELECT count(*) FROM forecast_value") == [(3,)]
    assert "run-crawler.sh prune" in (REPO / "deploy" / "crontab.example").read_text()  # nightly
