"""Requests per key per minute, counted in one SQLite file that every gunicorn worker of the
host shares (the API's database session is read-only, and may be a standby's). A fixed
one-minute window: simple and exact per window; a client may reach twice its rate across a
window's edge, which nginx's per-address limit_req smooths."""
from __future__ import annotations

import math
import os
import random
import sqlite3
import threading
import time
from pathlib import Path

from api.configuration import rate_limit_path

WINDOW_SECONDS = 60


class RateLimitUnavailable(RuntimeError):
    """The counters' SQLite file cannot be opened or written; the message names it."""


def _prepare(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # counters: losing the last ones in a crash is harmless
    conn.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, window INTEGER NOT NULL, "
                 "count INTEGER NOT NULL, PRIMARY KEY (key, window))")


class RateLimiter:
    def __init__(self, path: Path | None = None):
        self.path = path or rate_limit_path()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        # One connection per process and thread: a connection opened before gunicorn forks is not reused.
        if getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            _prepare(conn)
            self._local.conn, self._local.pid = conn, os.getpid()
        return self._local.conn

    def hit(self, key: str, limit: int, now: float | None = None) -> int | None:
        """Count one request of `key`; None if within `limit` this minute, else seconds until
        the next window (the Retry-After). RateLimitUnavailable when the file fails."""
        try:
            return self._hit(key, limit, time.time() if now is None else now)
        except sqlite3.Error as exc:
            self._local.pid = None  # reconnect next time
            raise RateLimitUnavailable(f"RATE_LIMIT_DB={self.path}: {exc}") from None

    def _hit(self, key: str, limit: int, now: float) -> int | None:
        window = int(now // WINDOW_SECONDS)
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            count = conn.execute("INSERT INTO hits VALUES (?, ?, 1) ON CONFLICT (key, window) "
                                 "DO UPDATE SET count = count + 1 RETURNING count", (key, window)).fetchone()[0]
            if random.random() < 0.01:
                conn.execute("DELETE FROM hits WHERE window < ?", (window - 1,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if count <= limit:
            return None
        return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
