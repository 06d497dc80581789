"""Least-privilege roles (migration 0010) on the real scratch PostgreSQL: the API's role reads
and cannot write, the crawler's writes data but no schema, new tables stay covered."""
from __future__ import annotations

import psycopg2
import psycopg2.errors
import pytest

from database.connection import ADMIN_ROLE, READER_ROLE, WRITER_ROLE, api_database_url, with_user
from database.pool import Pool
from tests.conftest import HAND_WRITTEN
from tests.crawlhelp import crawler_cli


def connect_as(db_url: str, role: str):
    conn = psycopg2.connect(with_user(db_url, role))
    conn.autocommit = True
    return conn


def test_the_api_role_reads_but_cannot_write(db_url):
    conn = connect_as(db_url, READER_ROLE)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM region")
        assert cur.fetchone()[0] > 60
        cur.execute("SHOW default_transaction_read_only")
        assert cur.fetchone()[0] == "on"
        cur.execute("SET default_transaction_read_only = off")  # the role's default, not its limit
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("INSERT INTO crawl_run (source_id, kind) SELECT id, 'run' FROM source LIMIT 1")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("DELETE FROM region")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("CREATE TABLE intruder (x int)")
    conn.close()


def test_api_sessions_are_read_only_even_as_a_role_that_may_write(db_url, monkeypatch):
    monkeypatch.delenv("API_DATABASE_URL", raising=False)
    assert api_database_url() == db_url  # falls back to DATABASE_URL (here the owner)
    with Pool().cursor() as cur:
        cur.execute("SELECT count(*) FROM source")
        with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
            cur.execute("DELETE FROM region")


def test_api_database_url_wins_over_database_url(db_url, monkeypatch):
    reader = with_user(db_url, READER_ROLE)
    monkeypatch.setenv("API_DATABASE_URL", reader)
    assert api_database_url() == reader
    with Pool().cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == READER_ROLE


def test_the_crawler_role_writes_readings_in_a_new_year_but_no_schema(db, db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", with_user(db_url, WRITER_ROLE))
    result = crawler_cli("replay", "--source", "CAISO", str(HAND_WRITTEN / "CAISO" / "handwritten_20250209_fuelsource.csv"))
    assert result.returncode == 0, result.stdout + result.stderr
    with db.cursor() as cur:
        cur.execute("SELECT count(*), min(ts) FROM generation_reading")
        count, first = cur.fetchone()
        cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = %s", (f"generation_reading_{first.year}",))
        owner = cur.fetchone()[0]
    assert count > 0
    assert owner != WRITER_ROLE  # made by ensure_reading_partition, as the table's owner
    conn = connect_as(db_url, WRITER_ROLE)
    with conn.cursor() as cur:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("CREATE TABLE intruder (x int)")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("DELETE FROM schema_migration")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("ALTER TABLE region ADD COLUMN intruder int")
    conn.close()


def test_tables_created_later_by_the_migrating_role_are_covered(db, db_url):
    with db.cursor() as cur:
        cur.execute("CREATE TABLE later_table (x int)")
        cur.execute("INSERT INTO later_table VALUES (1)")
    try:
        writer = connect_as(db_url, WRITER_ROLE)
        with writer.cursor() as cur:
            cur.execute("INSERT INTO later_table VALUES (2)")
        writer.close()
        reader = connect_as(db_url, READER_ROLE)
        with reader.cursor() as cur:
            cur.execute("SELECT count(*) FROM later_table")
            assert cur.fetchone()[0] == 2
        reader.close()
    finally:
        with db.cursor() as cur:
            cur.execute("DROP TABLE later_table")


def test_the_three_roles_exist_and_none_is_a_superuser(db):
    with db.cursor() as cur:
        cur.execute("SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = ANY(%s)",
                    ([READER_ROLE, WRITER_ROLE, ADMIN_ROLE],))
        rows = cur.fetchall()
    assert sorted(r[0] for r in rows) == sorted([READER_ROLE, WRITER_ROLE, ADMIN_ROLE])
    assert not any(r[1] or r[2] for r in rows)


def test_the_embedded_server_gets_the_roles_and_the_api_reads_as_energy_reader(tmp_path, monkeypatch):
    from database.__main__ import main as database_cli
    from database.connection import stop_embedded

    for name in ("DATABASE_URL", "API_DATABASE_URL", "ADMIN_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    tmp_path.chmod(0o755)  # the embedded server runs as its own user when we are root
    monkeypatch.setenv("ENERGY_DATA_HOME", str(tmp_path / "home"))
    try:
        assert database_cli(["migrate"]) == 0
        url = api_database_url()
        assert url.startswith(f"postgresql://{READER_ROLE}@")
        with Pool(url).cursor() as cur:
            cur.execute("SELECT current_user, count(*) FROM region")
            user, regions = cur.fetchone()
            assert user == READER_ROLE and regions > 60
            with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
                cur.execute("DELETE FROM region")
    finally:
        stop_embedded(tmp_path / "home" / "pgdata")
