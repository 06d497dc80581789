"""A connection pool for the API: connections are kept open between requests and checked
before reuse, so a restarted database costs a reconnect, not a failed request.

The check costs no round trip: an idle connection has nothing to read, so a socket that is
readable (the server's "terminating connection" message, or end of file) means the server
has ended the session, and the connection is replaced. (psycopg2's own pools close every
returned connection beyond `minconn`, which cost a new connection per request.)
"""
from __future__ import annotations

import select
import threading
from contextlib import contextmanager, nullcontext

import psycopg2
import psycopg2.extensions
import psycopg2.pool

from database.connection import DatabaseUnavailable, api_database_url

STATEMENT_TIMEOUT_MS = 10_000
# Pages of recent series sit in memory or on SSD, where a random read costs about what a
# sequential one does; at PostgreSQL's default of 4 the planner reads a week of points with a
# bitmap scan and sorts them, where the primary key's index scan yields them in order.
RANDOM_PAGE_COST = 1.1

_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
# The API never writes: even connected as a role that may (DATABASE_URL as a fallback), its
# sessions refuse to, and a standby (API_DATABASE_URL) accepts them unchanged.
_READ_ONLY = "-c default_transaction_read_only=on"


class Pool:
    def __init__(self, url: str | None = None, maxconn: int = 8, read_only: bool = True):
        self._url = url
        self._read_only = read_only
        self._maxconn = maxconn
        self._idle: list[psycopg2.extensions.connection] = []  # most recently used last
        self._in_use = 0
        self._lock = threading.Lock()
        self._url_lock = threading.Lock()

    @contextmanager
    def cursor(self, transaction: bool = False):
        """A cursor from a live pooled connection. Each statement commits on its own, which
        spares a read the BEGIN and COMMIT round trips; with `transaction`, the statements
        are one transaction, committed on success."""
        conn = self._checkout()
        try:
            conn.autocommit = not transaction  # a client-side switch: no round trip
            # Not `with conn` outside a transaction: since psycopg2 2.9 it opens one even in autocommit.
            with conn if transaction else nullcontext(), conn.cursor() as cur:
                yield cur
        except psycopg2.OperationalError as exc:
            self._checkin(conn, close=True)
            raise DatabaseUnavailable(f"database unreachable: {_first_line(exc)}") from None
        except BaseException:
            self._checkin(conn)  # the transaction was rolled back: the connection is reusable
            raise
        else:
            self._checkin(conn)

    def _checkout(self) -> psycopg2.extensions.connection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if _alive(conn):
                    self._in_use += 1
                    return conn
                _close(conn)
            if self._in_use >= self._maxconn:
                raise psycopg2.pool.PoolError("connection pool exhausted")
            self._in_use += 1
        try:
            return psycopg2.connect(self._database_url(), application_name="energy-data api", connect_timeout=5,
                                    options=f"-c timezone=UTC -c statement_timeout={STATEMENT_TIMEOUT_MS} "
                                            f"-c random_page_cost={RANDOM_PAGE_COST}"
                                            + (f" {_READ_ONLY}" if self._read_only else ""))
        except BaseException as exc:
            with self._lock:
                self._in_use -= 1
            if isinstance(exc, psycopg2.OperationalError):
                raise DatabaseUnavailable(f"database unreachable: {_first_line(exc)}") from None
            raise

    def _checkin(self, conn: psycopg2.extensions.connection, close: bool = False) -> None:
        reusable = not close and conn.closed == 0 and conn.info.transaction_status == _IDLE
        with self._lock:
            self._in_use -= 1
            if reusable:
                self._idle.append(conn)
        if not reusable:
            _close(conn)

    def _database_url(self) -> str:
        with self._url_lock:  # database_url() may start the embedded server: once
            if self._url is None:
                self._url = api_database_url(as_reader=self._read_only)
            return self._url


def _alive(conn: psycopg2.extensions.connection) -> bool:
    """Open, idle, and nothing waiting on its socket (which would be the server ending it)."""
    if conn.closed != 0 or conn.info.transaction_status != _IDLE:
        return False
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError, psycopg2.Error):
        return False


def _close(conn: psycopg2.extensions.connection) -> None:
    try:
        conn.close()
    except psycopg2.Error:
        pass


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else repr(exc)
