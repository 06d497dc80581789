"""The API's connection pool: reads outside a transaction, writes inside one."""
from __future__ import annotations

import psycopg2
import psycopg2.extensions
import pytest

from database.pool import Pool

IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
IN_TRANSACTION = psycopg2.extensions.TRANSACTION_STATUS_INTRANS


def test_a_read_opens_no_transaction(db_url):
    pool = Pool(db_url)
    with pool.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.connection.info.transaction_status == IDLE
        cur.execute("SELECT now() = statement_timestamp()")  # each statement is its own transaction
        assert cur.fetchone()[0] is True


def test_a_transaction_commits_on_success_and_rolls_back_on_error(db_url):
    pool = Pool(db_url, read_only=False)  # the API's pools are read-only
    with pool.cursor(transaction=True) as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS pool_probe (n int)")
        cur.execute("INSERT INTO pool_probe VALUES (1)")
        assert cur.connection.info.transaction_status == IN_TRANSACTION
    with pytest.raises(RuntimeError), pool.cursor(transaction=True) as cur:
        cur.execute("INSERT INTO pool_probe VALUES (2)")
        raise RuntimeError("the request failed half-way")
    with pool.cursor() as cur:
        cur.execute("SELECT array_agg(n) FROM pool_probe")
        assert cur.fetchone()[0] == [1]
        cur.execute("DROP TABLE pool_probe")


def test_connections_are_reused_and_keep_the_session_settings(db_url):
    pool = Pool(db_url)
    with pool.cursor() as cur:
        backend = cur.connection.info.backend_pid
    with pool.cursor(transaction=True) as cur:
        assert cur.connection.info.backend_pid == backend
        cur.execute("SELECT current_setting('TimeZone'), current_setting('random_page_cost')")
        assert cur.fetchone() == ("UTC", "1.1")
