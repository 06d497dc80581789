"""Notes a source keeps about its account between runs (migration 0015): read and written by
crawler/memory.py, shown by `python -m crawler status`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg2.extensions

Cursor = psycopg2.extensions.cursor


@dataclass(frozen=True)
class SourceNote:
    topic: str
    account: str  # fingerprint of the credential the note is about
    note: str     # one line, for `status`
    noted_at: datetime


def write_note(cur: Cursor, source_id: int, topic: str, account: str, note: str, noted_at: datetime) -> None:
    """Set the source's note on `topic`, replacing the one before."""
    cur.execute(
        "INSERT INTO source_note (source_id, topic, account, note, noted_at) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (source_id, topic) DO UPDATE SET account = EXCLUDED.account, note = EXCLUDED.note, "
        "noted_at = EXCLUDED.noted_at",
        (source_id, topic, account, note, noted_at))


def read_note(cur: Cursor, source_id: int, topic: str) -> SourceNote | None:
    cur.execute("SELECT topic, account, note, noted_at FROM source_note WHERE source_id = %s AND topic = %s",
                (source_id, topic))
    row = cur.fetchone()
    return SourceNote(*row) if row else None


def delete_note(cur: Cursor, source_id: int, topic: str) -> None:
    cur.execute("DELETE FROM source_note WHERE source_id = %s AND topic = %s", (source_id, topic))


def notes_by_source(cur: Cursor) -> dict[str, list[SourceNote]]:
    """Every source's notes by source name, by topic."""
    cur.execute("SELECT s.name, n.topic, n.account, n.note, n.noted_at FROM source_note n "
                "JOIN source s ON s.id = n.source_id ORDER BY s.name, n.topic")
    notes: dict[str, list[SourceNote]] = {}
    for name, *row in cur.fetchall():
        notes.setdefault(name, []).append(SourceNote(*row))
    return notes
