"""A connection pool for the API: connections are checked before use, so a restarted
database costs one failed check, not a failed request."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import psycopg2
import psycopg2.pool

from database.connection import DatabaseUnavailable, database_url

STATEMENT_TIMEOUT_MS = 10_000


class Pool:
    def __init__(self, url: str | None = None, maxconn: int = 8):
        self._url = url
        self._maxconn = maxconn
        self._pool: psycopg2.pool.ThreadedConnectionPool | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        with self._lock:
            if self._pool is None:
                try:
                    self._pool = psycopg2.pool.ThreadedConnectionPool(
                        0, self._maxconn, self._url or database_url(),
                        application_name="energy-data api", connect_timeout=5,
                        options=f"-c timezone=UTC -c statement_timeout={STATEMENT_TIMEOUT_MS}")
                except psycopg2.OperationalError as exc:
                    raise DatabaseUnavailable(f"database unreachable: {str(exc).strip().splitlines()[0]}") from None
            return self._pool

    @contextmanager
    def cursor(self):
        """A cursor in a read-only-by-convention transaction, from a live pooled connection."""
        pool = self._get_pool()
        conn = self._live_connection(pool)
        try:
            with conn, conn.cursor() as cur:
                yield cur
        except psycopg2.OperationalError as exc:
            pool.putconn(conn, close=True)
            raise DatabaseUnavailable(f"database unreachable: {str(exc).strip().splitlines()[0]}") from None
        else:
            pool.putconn(conn)

    def _live_connection(self, pool: psycopg2.pool.ThreadedConnectionPool):
        for _ in range(self._maxconn + 1):
            try:
                conn = pool.getconn()
            except psycopg2.OperationalError as exc:
                raise DatabaseUnavailable(f"database unreachable: {str(exc).strip().splitlines()[0]}") from None
            if conn.closed == 0 and _alive(conn):
                return conn
            pool.putconn(conn, close=True)
        raise DatabaseUnavailable("database unreachable: no live connection")


def _alive(conn) -> bool:
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        conn.rollback()
        return True
    except psycopg2.Error:
        return False
