"""Requests per key per minute, counted in one SQLite file that every gunicorn worker of the
host shares (the API's database session is read-only, and may be a standby's). A fixed
one-minute window: simple and exact per window; a client may reach twice its rate across a
window's edge, which nginx's per-address limit_req smooths."""
from __future__ import annotations

import math
import os
import random
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

WINDOW_SECONDS = 60


def default_path() -> Path:
    return Path(os.environ.get("RATE_LIMIT_DB") or Path(tempfile.gettempdir()) / f"energy-data-ratelimit-{os.getuid()}.sqlite")


class RateLimiter:
    def __init__(self, path: Path | None = None):
        self.path = path or default_path()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        # One connection per process and thread: a connection opened before gunicorn forks is not reused.
        if getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # counters: losing the last ones in a crash is harmless
            conn.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, window INTEGER NOT NULL, "
                         "count INTEGER NOT NULL, PRIMARY KEY (key, window))")
            self._local.conn, self._local.pid = conn, os.getpid()
        return self._local.conn

    def hit(self, key: str, limit: int, now: float | None = None) -> int | None:
        """Count one request of `key`; None if within `limit` this minute, else seconds until
        the next window (the Retry-After)."""
        now = time.time() if now is None else now
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
