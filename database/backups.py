"""What deploy/run-backup.sh recorded in backup_run, for `crawler status`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg2.extensions

Cursor = psycopg2.extensions.cursor


@dataclass
class BackupRun:
    finished_at: datetime
    status: str
    file: str | None
    bytes: int | None
    copied_to: str | None
    error: str | None


def latest_backups(cur: Cursor) -> tuple[BackupRun | None, BackupRun | None]:
    """(newest successful run, newest failed run if it came after it); None where there is none."""
    cur.execute("SELECT to_regclass('backup_run') IS NOT NULL")
    if not cur.fetchone()[0]:
        return None, None
    runs = {}
    for status in ("ok", "failed"):
        cur.execute("SELECT finished_at, status, file, bytes, copied_to, error FROM backup_run "
                    "WHERE status = %s ORDER BY finished_at DESC LIMIT 1", (status,))
        row = cur.fetchone()
        runs[status] = BackupRun(*row) if row else None
    ok, failed = runs["ok"], runs["failed"]
    if failed and ok and failed.finished_at < ok.finished_at:
        failed = None
    return ok, failed
