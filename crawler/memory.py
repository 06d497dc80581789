"""What a source learned about its account between runs ("this token has no past-range
access", "this token is a sandbox one"), so that the next run does not ask again for what was
refused and `python -m crawler status` can say it.

Each source's fetch functions reach it as `client.memory` (crawler.http.HttpClient): kept in
the database (table source_note, database/source_notes.py) for what the crawl engine runs, in
the process for a dry run or a fetch function called on its own. A note names the account it
is about by a fingerprint of the credential, so a new token starts with no notes.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Callable

import psycopg2.extensions

from database.source_notes import SourceNote, delete_note, read_note, write_note


def fingerprint(secret: str) -> str:
    """A few hex digits of the secret's SHA-256: tells two tokens apart, reveals neither."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


class Memory:
    """Notes kept in this process only."""

    def __init__(self) -> None:
        self._notes: dict[str, SourceNote] = {}

    def recall(self, topic: str, account: str) -> SourceNote | None:
        """The note on `topic`, if it is about this account."""
        note = self._read(topic)
        return note if note is not None and note.account == account else None

    def remember(self, topic: str, account: str, note: str, at: datetime) -> None:
        """Set the note on `topic` (one line, shown by `status`), replacing the one before."""
        self._notes[topic] = SourceNote(topic, account, note, at)

    def forget(self, topic: str) -> None:
        self._notes.pop(topic, None)

    def _read(self, topic: str) -> SourceNote | None:
        return self._notes.get(topic)


class DatabaseMemory(Memory):
    """Notes of one source in the database, through the crawl engine's bookkeeping connection
    (autocommit: a note stays even when the source's data transaction fails)."""

    def __init__(self, connection: Callable[[], psycopg2.extensions.connection], source_id: int) -> None:
        super().__init__()
        self._connection = connection  # a callable: the engine reconnects after a server restart
        self._source_id = source_id

    def remember(self, topic: str, account: str, note: str, at: datetime) -> None:
        with self._connection().cursor() as cur:
            write_note(cur, self._source_id, topic, account, note, at)

    def forget(self, topic: str) -> None:
        with self._connection().cursor() as cur:
            delete_note(cur, self._source_id, topic)

    def _read(self, topic: str) -> SourceNote | None:
        with self._connection().cursor() as cur:
            return read_note(cur, self._source_id, topic)
