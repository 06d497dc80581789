"""deploy/run-backup.sh and deploy/restore-backup.sh against the real scratch PostgreSQL: a
backup -> drop -> restore round trip keeps every row of every table; rotation; the result
shown by `crawler status`."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psycopg2
import pytest

from database.migrate import migrate
from database.payloads import archive_payload
from database.scratch import _admin, _with_database
from tests.conftest import HAND_WRITTEN, REPO
from tests.crawlhelp import crawler_cli


def pg_bin() -> str:
    """The client programs of the server's own version (pg_dump refuses a newer server)."""
    from pgserver._commands import POSTGRES_BIN_PATH

    return os.environ.get("PG_BIN") or str(POSTGRES_BIN_PATH)


@pytest.fixture
def own_database(database_url_session, monkeypatch):
    """A database of this test's own (it gets dropped), migrated and filled through the crawler."""
    name = f"energy_data_backup_{uuid.uuid4().hex[:10]}"
    _admin(database_url_session, f'CREATE DATABASE "{name}"')
    url = _with_database(database_url_session, name)
    conn = psycopg2.connect(url)
    migrate(conn)
    conn.close()
    monkeypatch.setenv("DATABASE_URL", url)
    for folder in ("CAISO", "BPA"):
        result = crawler_cli("replay", "--source", folder, str(HAND_WRITTEN / folder))
        assert ": ok: " in result.stdout, result.stdout + result.stderr
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:  # replays archive nothing; a crawl would have
        cur.execute("SELECT id FROM source WHERE name = 'CAISO'")
        body = (HAND_WRITTEN / "CAISO" / "handwritten_20250209_fuelsource.csv").read_bytes()
        archive_payload(cur, cur.fetchone()[0], "https://example.invalid/fuelsource.csv", body,
                        datetime(2025, 2, 9, 12, tzinfo=timezone.utc), 200, "text/csv")
    conn.close()
    try:
        yield name, url
    finally:
        _admin(database_url_session, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def snapshot(url: str, skip: tuple[str, ...] = ("backup_run",)) -> dict[str, tuple[int, str]]:
    """Per table (partitions included): row count and an MD5 over its rows in a fixed order."""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        tables = [r[0] for r in cur.fetchall() if r[0] not in skip]
        result = {}
        for table in tables:
            cur.execute(f'SELECT count(*), md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), \'\')) '
                        f'FROM "{table}" t')
            result[table] = cur.fetchone()
    conn.close()
    return result


def script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "ENERGY_DATA_ENV": "/nonexistent", "PG_BIN": pg_bin(), **env}
    return subprocess.run([str(REPO / "deploy" / name), *args], env=environment, capture_output=True,
                          text=True, timeout=300)


def test_backup_drop_restore_keeps_every_row(own_database, database_url_session, tmp_path):
    name, url = own_database
    before = snapshot(url)
    partitions = sum(count for table, (count, _) in before.items() if table.startswith("generation_reading_"))
    assert before["generation_reading"][0] == partitions > 500  # the parent reads its partitions
    assert before["raw_payload"][0] > 0 and before["carbon_intensity"][0] > 0

    result = script("run-backup.sh", DATABASE_URL=url, BACKUP_DIR=str(tmp_path / "b"),
                    BACKUP_COPY_TO=str(tmp_path / "copy"))
    assert result.returncode == 0, result.stderr
    [dump] = list((tmp_path / "b" / "daily").glob("energy-data-*.dump"))
    assert (tmp_path / "b" / "weekly" / dump.name).samefile(dump)  # the first backup starts the weeklies
    assert (tmp_path / "copy" / dump.name).read_bytes() == dump.read_bytes()
    status = crawler_cli("status")
    backup_line = next(line for line in status.stdout.splitlines() if line.startswith("BACKUP"))
    assert "last ok" in backup_line and str(dump) in backup_line and f"copied to {tmp_path / 'copy'}" in backup_line

    _admin(database_url_session, f'DROP DATABASE "{name}" WITH (FORCE)')
    _admin(database_url_session, f'CREATE DATABASE "{name}"')
    assert snapshot(url) == {}
    result = script("restore-backup.sh", str(dump), RESTORE_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert snapshot(url) == before


def test_restore_into_the_live_database_replaces_what_changed(own_database, tmp_path):
    _, url = own_database
    before = snapshot(url)
    assert script("run-backup.sh", DATABASE_URL=url, BACKUP_DIR=str(tmp_path)).returncode == 0
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM carbon_intensity")
        cur.execute("UPDATE region SET name = 'changed'")
    conn.close()
    [dump] = list((tmp_path / "daily").glob("*.dump"))
    result = script("restore-backup.sh", str(dump), RESTORE_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert snapshot(url) == before


def fake_dumps(folder: Path, stamps: list[str], age_days: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    moment = time.time() - age_days * 86400
    for stamp in stamps:
        path = folder / f"energy-data-{stamp}.dump"
        path.write_bytes(b"old")
        os.utime(path, (moment, moment))


def test_rotation_keeps_n_daily_and_m_weekly(own_database, tmp_path):
    _, url = own_database
    old = ["20200101T000000Z", "20200102T000000Z", "20200103T000000Z", "20200104T000000Z"]
    fake_dumps(tmp_path / "daily", old, age_days=10)
    fake_dumps(tmp_path / "weekly", old, age_days=10)
    result = script("run-backup.sh", DATABASE_URL=url, BACKUP_DIR=str(tmp_path), KEEP_DAILY="2", KEEP_WEEKLY="3")
    assert result.returncode == 0, result.stderr
    daily = sorted(p.name for p in (tmp_path / "daily").iterdir())
    weekly = sorted(p.name for p in (tmp_path / "weekly").iterdir())
    assert len(daily) == 2 and daily[0] == "energy-data-20200104T000000Z.dump"
    assert weekly[:2] == ["energy-data-20200103T000000Z.dump", "energy-data-20200104T000000Z.dump"]
    assert len(weekly) == 3 and weekly[2] == daily[1]  # the weeklies were 10 days old: a new one

    recent = tmp_path / "recent"
    fake_dumps(recent / "weekly", ["20200105T000000Z"], age_days=1)
    assert script("run-backup.sh", DATABASE_URL=url, BACKUP_DIR=str(recent)).returncode == 0
    assert [p.name for p in (recent / "weekly").iterdir()] == ["energy-data-20200105T000000Z.dump"]


def test_a_failed_copy_fails_the_run_and_status_says_so(own_database, tmp_path):
    _, url = own_database
    (tmp_path / "a-file").write_text("not a folder")
    result = script("run-backup.sh", DATABASE_URL=url, BACKUP_DIR=str(tmp_path / "b"),
                    BACKUP_COPY_TO=str(tmp_path / "a-file" / "sub"))
    assert result.returncode == 1 and "copy to" in result.stderr
    status = crawler_cli("status")
    backup_line = next(line for line in status.stdout.splitlines() if line.startswith("BACKUP"))
    assert "FAILED" in backup_line and "copy to" in backup_line
    assert "last ok" not in backup_line


def test_a_truncated_dump_fails_and_leaves_the_database_as_it_was(own_database, tmp_path):
    _, url = own_database
    assert script("run-backup.sh", DATABASE_URL=url, BACKUP_DIR=str(tmp_path)).returncode == 0
    before = snapshot(url)
    [dump] = list((tmp_path / "daily").glob("*.dump"))
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(dump.read_bytes()[: dump.stat().st_size * 2 // 3])
    result = script("restore-backup.sh", str(truncated), RESTORE_DATABASE_URL=url)
    assert result.returncode != 0
    assert snapshot(url) == before
