"""The crawl engine end to end on a real PostgreSQL, with the remote ISOs replaced by a
loopback server replaying recorded responses: runs, due rules, failures kept to their source,
empty successes counted, and nothing that hangs a crawl (session timeouts, the run deadline,
interrupted runs, a database restart mid-crawl)."""
from __future__ import annotations

import gzip
import hashlib
import signal

import pytest

from crawler.crawl import REGISTRY, Crawler, utc_now
from tests.crawlhelp import (EIA_ROUTE, crawler_cli, eia_body, fresh_count, point_sources_at, serve_caiso, serve_eia,
                             serve_nyiso, start_crawler, wait_for)

# Hand-written: CAISO outlook format, three 5-minute rows.
CAISO_SMALL = (
    b"Time,Solar,Wind,Geothermal,Biomass,Biogas,Small hydro,Coal,Nuclear,Natural gas,Large hydro,Batteries,Imports,Other\n"
    b"00:00,0,1000,800,300,200,100,0,2200,6000,1500,-50,5000,10\n"
    b"00:05,0,1010,800,300,200,100,0,2200,5900,1500,-40,5100,10\n"
    b"00:10,0,1020,800,300,200,100,0,2200,5800,1500,-30,5200,10\n"
)
HTML_ERROR = b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>Sorry</body></html>"
NYISO_HEADER_ONLY = b'"Time Stamp","Time Zone","Fuel Category","Gen MW"\n'  # hand-written


@pytest.fixture
def nyiso_day(shared_fixtures):
    return (shared_fixtures / "NYISO" / "20250219rtfuelmix.csv").read_bytes()


@pytest.fixture
def sources(fake_iso, monkeypatch, db_url):
    point_sources_at(monkeypatch, fake_iso.url)
    return fake_iso


@pytest.fixture
def eia(sources, monkeypatch):
    serve_eia(sources, monkeypatch)
    return sources


def run(*names, force=False, dry_run=False):
    lines: list[str] = []
    crawler = Crawler(out=lines.append)
    try:
        code = crawler.run(list(names), force=force, dry_run=dry_run, now=utc_now())
    finally:
        crawler.close()
    return code, lines


def query(db, sql, *params):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def readings_of(db, source):
    return query(db, "SELECT count(*) FROM generation_reading g JOIN source s ON s.id = g.source_id "
                     "WHERE s.name = %s", source)[0][0]


def test_run_stores_readings_runs_and_raw_payloads(db, sources, nyiso_day):
    serve_nyiso(sources, nyiso_day)
    serve_caiso(sources, CAISO_SMALL)
    code, lines = run("NYISO", "CAISO")
    assert code == 0, lines
    assert readings_of(db, "NYISO") == 288 * 6  # gas, nuclear, oil, biomass, wind, hydro
    assert query(db, "SELECT s.name, r.status FROM crawl_run r JOIN source s ON s.id = r.source_id ORDER BY 1") == [
        ("CAISO", "ok"), ("NYISO", "ok")]
    stored = query(db, "SELECT body_gzip, sha256, url FROM raw_payload p JOIN source s ON s.id = p.source_id "
                       "WHERE s.name = 'NYISO'")
    # Today's and yesterday's files carry the same body: one stored copy, fetched twice.
    assert len(stored) == 1
    body = gzip.decompress(bytes(stored[0][0]))
    assert body == nyiso_day and bytes(stored[0][1]) == hashlib.sha256(nyiso_day).digest()
    assert query(db, "SELECT fetch_count FROM raw_payload p JOIN source s ON s.id = p.source_id "
                     "WHERE s.name = 'NYISO'") == [(2,)]


def test_a_source_is_fetched_again_only_when_due_or_forced(db, sources, nyiso_day):
    serve_nyiso(sources, nyiso_day)
    run("NYISO")
    fetched = len(sources.requests)
    code, lines = run("NYISO")
    assert code == 0 and len(sources.requests) == fetched  # 5-minute source, just crawled
    with db.cursor() as cur:
        cur.execute("UPDATE crawl_run SET started_at = started_at - interval '5 minutes'")
    run("NYISO")
    assert len(sources.requests) > fetched
    fetched = len(sources.requests)
    code, lines = run("NYISO", force=True)
    assert len(sources.requests) > fetched
    assert "0 inserted, 0 updated, 1728 unchanged" in lines[0]


def test_a_failing_source_does_not_stop_the_others(db, sources, nyiso_day):
    serve_nyiso(sources, nyiso_day)
    serve_caiso(sources, HTML_ERROR, content_type="text/html")  # CAISO's 200-status error page
    code, lines = run("CAISO", "NYISO")
    assert code == 0
    caiso_line = next(line for line in lines if line.startswith("CAISO"))
    assert "failed" in caiso_line and "HTML" in caiso_line
    assert readings_of(db, "NYISO") == 1728 and readings_of(db, "CAISO") == 0
    (status, error), = query(db, "SELECT r.status, r.error FROM crawl_run r JOIN source s ON s.id = r.source_id "
                                 "WHERE s.name = 'CAISO'")
    assert status == "failed" and "HTML" in error
    # The error page itself was archived for whoever investigates.
    assert query(db, "SELECT count(*) FROM raw_payload p JOIN source s ON s.id = p.source_id "
                     "WHERE s.name = 'CAISO'") == [(1,)]


def test_retries_server_errors_with_backoff(db, sources, nyiso_day):
    serve_nyiso(sources, nyiso_day, fail_first=[503, 502])
    code, lines = run("NYISO")
    assert code == 0 and readings_of(db, "NYISO") == 1728
    today = sorted({r.path for r in sources.requests})[-1]
    assert sum(1 for r in sources.requests if r.path == today) == 3
    assert all(r.headers["User-Agent"].startswith("energy-data/") for r in sources.requests)


def test_every_source_failing_exits_non_zero_with_one_line_each(db_url, monkeypatch):
    point_sources_at(monkeypatch, "http://127.0.0.1:9")  # nothing listens on port 9
    result = crawler_cli("run")
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == list(REGISTRY)
    for source, line in zip(REGISTRY.values(), lines):
        reason = source.disabled_reason()
        if reason:
            assert line == f"{source.name}: disabled ({reason})"
        else:
            assert line.startswith(f"{source.name}: failed: ")
            assert line.endswith("unreachable: 127.0.0.1:9 (connection refused)")
    assert "EIA: disabled (EIA_API_KEY not set)" in lines
    assert "HI: disabled (the Island Pulse feed stopped updating in 2021)" in lines


def test_unreachable_database_is_one_line_and_non_zero(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/nothing")
    result = crawler_cli("run")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: database unreachable")


def test_dry_run_writes_nothing(db, sources, nyiso_day):
    serve_nyiso(sources, nyiso_day)
    code, lines = run("NYISO", dry_run=True)
    assert code == 0 and "dry run: 1728 readings, 288 intervals" in lines[0]
    assert readings_of(db, "NYISO") == 0
    assert query(db, "SELECT count(*) FROM crawl_run") == [(0,)]
    assert query(db, "SELECT count(*) FROM raw_payload") == [(0,)]


def test_a_second_concurrent_run_exits_at_once(db, sources, nyiso_day):
    serve_nyiso(sources, nyiso_day, delay_s=4)
    first = start_crawler("run", "--source", "NYISO")
    wait_for(lambda: query(db, "SELECT count(*) FROM crawl_run WHERE status = 'running'")[0][0] == 1)
    second = crawler_cli("run", "--source", "NYISO", "--force", timeout=30)
    assert second.returncode == 0
    assert second.stdout.startswith("another crawl is running (pid ")
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert readings_of(db, "NYISO") == 1728
    assert query(db, "SELECT count(*) FROM crawl_run") == [(1,)]


def test_a_killed_run_leaves_no_partial_data(db, sources, nyiso_day):
    serve_nyiso(sources, nyiso_day)
    with db.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("LOCK TABLE carbon_intensity IN EXCLUSIVE MODE")
        crawler = start_crawler("run", "--source", "NYISO")
        # Once the writer waits for this lock it has copied its readings, uncommitted.
        wait_for(lambda: fresh_count(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                           "'energy-data crawler writes' AND wait_event_type = 'Lock'") == 1)
        crawler.send_signal(signal.SIGKILL)
        crawler.wait(timeout=10)
        cur.execute("COMMIT")
    wait_for(lambda: fresh_count(db, "SELECT count(*) FROM pg_stat_activity "
                                       "WHERE application_name LIKE 'energy-data crawler%'") == 0)
    assert readings_of(db, "NYISO") == 0
    assert query(db, "SELECT count(*) FROM carbon_intensity") == [(0,)]
    assert query(db, "SELECT status FROM crawl_run") == [("running",)]
    run("NYISO")  # the next run records the interruption, then does the work
    assert query(db, "SELECT status FROM crawl_run ORDER BY id") == [("interrupted",), ("ok",)]
    assert readings_of(db, "NYISO") == 1728


def test_a_failed_source_waits_before_it_is_tried_again(db, sources):
    serve_nyiso(sources, HTML_ERROR, content_type="text/html")
    assert run("NYISO")[0] == 1
    asked = len(sources.requests)
    assert run("NYISO") == (0, [])  # a minute later: not yet
    assert len(sources.requests) == asked
    with db.cursor() as cur:
        cur.execute("UPDATE crawl_run SET started_at = started_at - interval '5 minutes'")
    run("NYISO")
    assert len(sources.requests) > asked


def test_due_rules():
    from datetime import timedelta

    from crawler.crawl import REGISTRY, is_due

    now = utc_now()
    eia, nyiso = REGISTRY["EIA"], REGISTRY["NYISO"]
    assert is_due(nyiso, None, None, now)
    assert not is_due(nyiso, now - timedelta(minutes=4), now - timedelta(minutes=4), now)
    assert is_due(nyiso, now - timedelta(minutes=4, seconds=40), now - timedelta(minutes=4, seconds=40), now)
    # An hourly source that failed 6 minutes ago is retried; 2 minutes ago it is not.
    assert is_due(eia, now - timedelta(hours=3), now - timedelta(minutes=6), now)
    assert not is_due(eia, now - timedelta(hours=3), now - timedelta(minutes=2), now)
    assert not is_due(eia, now - timedelta(minutes=30), now - timedelta(minutes=30), now)


def test_the_api_key_never_reaches_storage_output_or_logs(db, sources, shared_fixtures, monkeypatch):
    secret = "sekrit" + "-key-0123456789"  # fake, split so no scanner mistakes it for a real one
    monkeypatch.setenv("EIA_API_KEY", secret)
    monkeypatch.setenv("EIA_RESPONDENTS", "PACW,CISO")
    route = "/eia/electricity/rto/fuel-type-data/data/"
    sources.serve(route, (shared_fixtures / "EIA" / "PACW_fuel-type-data_2023-01-01_2023-01-08.json").read_bytes())
    ok = crawler_cli("-v", "run", "--source", "EIA")
    sources.serve(route, b'{"error": "API_KEY_INVALID"}', status=403)
    failed = crawler_cli("-v", "run", "--source", "EIA", "--force")
    assert ok.returncode == 0 and failed.returncode == 1
    assert all(r.query["api_key"] == [secret] for r in sources.requests)  # it was sent...
    assert "HTTP 403 from" in failed.stdout and "api_key=REDACTED" in failed.stdout
    stored = query(db, "SELECT url FROM raw_payload UNION ALL SELECT coalesce(error, '') FROM crawl_run")
    for text in [ok.stdout, ok.stderr, failed.stdout, failed.stderr, *[row[0] for row in stored]]:
        assert secret not in text  # ...and written nowhere
    assert any("api_key=REDACTED" in row[0] for row in stored)


def caiso_until_now() -> bytes:
    """Hand-written CAISO outlook body with rows from local midnight up to the current time."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    local = datetime.now(ZoneInfo("America/Los_Angeles"))
    rows = [CAISO_SMALL.splitlines()[0].decode()]
    for minutes in range(0, local.hour * 60 + local.minute - 5, 5):
        rows.append(f"{minutes // 60:02d}:{minutes % 60:02d},0,1000,800,300,200,100,0,2200,6000,1500,-50,5000,10")
    return ("\n".join(rows) + "\n").encode()


def test_a_feed_that_stopped_moving_is_reported_stale(db, sources, nyiso_day):
    serve_nyiso(sources, nyiso_day)  # served as today's file, but its data is of February 2025
    code, lines = run("NYISO")
    assert code == 0
    assert "; STALE: newest reading 2025-02-20 04:55Z is " in lines[0] and "(threshold 1.0 h)" in lines[0]
    assert query(db, "SELECT anomalies->>'stale_feed' FROM crawl_run") == [("1",)]
    status = crawler_cli("status").stdout
    assert "STALE: newest reading 2025-02-20 04:55Z" in next(line for line in status.splitlines() if line.startswith("NYISO"))


def test_a_live_feed_is_not_stale(db, sources):
    body = caiso_until_now()
    if body.count(b"\n") < 2:
        pytest.skip("right after Pacific midnight there is no interval of today yet")
    serve_caiso(sources, body)
    code, lines = run("CAISO")
    assert code == 0 and "STALE" not in lines[0], lines
    assert query(db, "SELECT anomalies ? 'stale_feed' FROM crawl_run") == [(False,)]


def test_archived_payloads_can_be_replayed(db, sources, nyiso_day):
    serve_nyiso(sources, nyiso_day)
    run("NYISO")
    with db.cursor() as cur:
        cur.execute("TRUNCATE generation_reading, carbon_intensity, series")
    result = crawler_cli("replay", "--archived", "--source", "NYISO")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1728 inserted" in result.stdout
    assert readings_of(db, "NYISO") == 1728
    assert crawler_cli("replay").returncode != 0  # neither files nor --archived


# -- empty successes --------------------------------------------------------------------------

def test_a_source_that_keeps_returning_nothing_is_counted_and_shown(db, sources, eia):
    serve_nyiso(sources, NYISO_HEADER_ONLY)
    for _ in range(2):
        code, lines = run("NYISO", force=True)
        assert code == 0 and "empty_body" in lines[0], lines
    assert query(db, "SELECT count(*) FROM crawl_run WHERE (anomalies->>'empty_body')::int > 0") == [(2,)]
    line = next(l for l in crawler_cli("status").stdout.splitlines() if l.startswith("NYISO "))
    assert "EMPTY: the last 2 runs returned no data" in line
    eia.serve(EIA_ROUTE, eia_body([]))  # an EIA page without data: counted the same way
    assert "empty_body 1" in run("EIA", force=True)[1][0]
    # One run with data ends the streak.
    serve_nyiso(sources, NYISO_HEADER_ONLY + b'"02/19/2025 00:05:00","EST","Hydro",3000\n')
    assert "1 inserted" in run("NYISO", force=True)[1][0]
    line = next(l for l in crawler_cli("status").stdout.splitlines() if l.startswith("NYISO "))
    assert "EMPTY" not in line


# -- nothing hangs a crawl ----------------------------------------------------------------------

def test_crawler_sessions_have_statement_and_lock_timeouts(db_url):
    crawler = Crawler(out=lambda line: None)
    try:
        for conn in (crawler.meta, crawler.data):
            with conn.cursor() as cur:
                cur.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
                assert cur.fetchone() == ("2min", "20s")
            conn.rollback()
    finally:
        crawler.close()


def test_a_run_past_its_deadline_stops_records_interrupted_and_releases_the_lock(db, sources, monkeypatch):
    serve_nyiso(sources, NYISO_HEADER_ONLY, delay_s=20)  # a server that takes its time
    monkeypatch.setenv("CRAWLER_RUN_DEADLINE_S", "2")
    result = crawler_cli("run", "--source", "NYISO")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NYISO: interrupted: the run passed its deadline" in result.stdout
    assert "run stopped: past its deadline of 2 s (CRAWLER_RUN_DEADLINE_S)" in result.stdout
    assert query(db, "SELECT status, error FROM crawl_run") == [
        ("interrupted", "stopped: the run passed its deadline")]
    # The lock is free at once: the next run is not told that another one is running.
    serve_nyiso(sources, NYISO_HEADER_ONLY)
    monkeypatch.setenv("CRAWLER_RUN_DEADLINE_S", "60")
    again = crawler_cli("run", "--source", "NYISO", "--force")
    assert again.returncode == 0 and again.stdout.startswith("NYISO: ok"), again.stdout


def test_a_killed_replay_is_marked_interrupted(db, shared_fixtures):
    import subprocess
    import sys

    from tests.crawlhelp import REPO

    day = shared_fixtures / "NYISO" / "20250219rtfuelmix.csv"
    with db.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("LOCK TABLE carbon_intensity IN EXCLUSIVE MODE")
        replay = subprocess.Popen([sys.executable, "-m", "crawler", "replay", str(day)], cwd=REPO,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: fresh_count(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                        "'energy-data crawler writes' AND wait_event_type = 'Lock'") == 1)
        replay.send_signal(signal.SIGKILL)
        replay.wait(timeout=10)
        cur.execute("COMMIT")
    wait_for(lambda: fresh_count(db, "SELECT count(*) FROM pg_stat_activity "
                                     "WHERE application_name LIKE 'energy-data crawler%'") == 0)
    assert query(db, "SELECT kind, status FROM crawl_run") == [("replay", "running")]
    assert crawler_cli("run", "--source", "HI").returncode == 0  # any later crawler command notices
    assert query(db, "SELECT kind, status FROM crawl_run") == [("replay", "interrupted")]


def test_a_backfill_still_running_elsewhere_is_left_alone(db_url, db):
    from database import crawl_runs

    busy = Crawler(out=lambda line: None)  # another process's backfill, mid-way
    with busy.meta.cursor() as cur:
        crawl_runs.start_run(cur, busy.source_ids["EIA"], "backfill", "2025-01-01..2025-02-01")
    Crawler(out=lambda line: None).close()  # a cron run starting meanwhile
    assert query(db, "SELECT status FROM crawl_run") == [("running",)]
    busy.close()
    wait_for(lambda: fresh_count(db, "SELECT count(*) FROM pg_stat_activity "
                                     "WHERE application_name LIKE 'energy-data crawler%'") == 0)
    Crawler(out=lambda line: None).close()
    assert query(db, "SELECT status FROM crawl_run") == [("interrupted",)]


# -- the database restarting in the middle of a crawl ---------------------------------------------

def test_sessions_ended_by_the_server_mid_crawl_are_reconnected_and_the_other_sources_run(db, sources):
    serve_nyiso(sources, NYISO_HEADER_ONLY, delay_s=3)
    serve_caiso(sources, CAISO_SMALL)
    crawl = start_crawler("run", "--source", "NYISO", "--source", "CAISO")
    wait_for(lambda: any(r.path.startswith("/nyiso/") for r in sources.requests))
    # What a restart does to the crawler's sessions: the server ends them while NYISO is fetched.
    query(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
          "energy-data crawler%")
    out, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, out + err
    assert "Traceback" not in err and "InterfaceError" not in out + err
    assert "NYISO: failed: database connection lost: " in out
    assert query(db, "SELECT s.name, r.status FROM crawl_run r JOIN source s ON s.id = r.source_id ORDER BY r.id") == [
        ("NYISO", "failed"), ("CAISO", "ok")]
    assert query(db, "SELECT count(*) FROM generation_reading")[0][0] > 0


def test_a_database_restart_mid_crawl_ends_in_a_reconnect_or_one_line(db, sources, database_url_session):
    from pathlib import Path
    from urllib.parse import parse_qs, urlsplit

    from tests.test_service import restart_embedded

    socket_dir = parse_qs(urlsplit(database_url_session).query).get("host", [""])[0]
    if not socket_dir.endswith("pgdata"):
        pytest.skip("the database is not this test session's embedded server; it cannot be restarted here")
    serve_nyiso(sources, NYISO_HEADER_ONLY, delay_s=3)
    serve_caiso(sources, CAISO_SMALL)
    crawl = start_crawler("run", "--source", "NYISO", "--source", "CAISO")
    wait_for(lambda: any(r.path.startswith("/nyiso/") for r in sources.requests))
    db.close()
    restart_embedded(Path(socket_dir))
    out, err = crawl.communicate(timeout=120)
    assert "Traceback" not in err, err
    if crawl.returncode == 2:  # the server was not back within the reconnect attempts
        assert err.count("\n") == 1 and err.startswith("error: database"), err
    else:
        assert crawl.returncode == 0 and "CAISO: ok" in out, out + err
