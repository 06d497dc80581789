"""API keys of external read-only access: created, listed and revoked by `python -m api.keys`,
checked by api/access.py. Only a key's SHA-256 is stored; the key itself is shown once."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg2.errors
import psycopg2.extensions

Cursor = psycopg2.extensions.cursor
KEY_PREFIX = "ed_"


@dataclass(frozen=True)
class ApiKey:
    name: str
    prefix: str
    requests_per_minute: int
    created_at: datetime | None = None
    revoked_at: datetime | None = None


class KeyNameTaken(ValueError):
    """A key of that name exists already (revoked ones keep their name)."""


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def create_key(cur: Cursor, name: str, requests_per_minute: int) -> str:
    """Store a new key and return it (the only time it is seen in full)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        cur.execute("INSERT INTO api_key (name, prefix, sha256, requests_per_minute) VALUES (%s, %s, %s, %s)",
                    (name, key[:10], key_digest(key), requests_per_minute))
    except psycopg2.errors.UniqueViolation:
        raise KeyNameTaken(f"a key named {name!r} exists already") from None
    return key


def list_keys(cur: Cursor) -> list[ApiKey]:
    cur.execute("SELECT name, prefix, requests_per_minute, created_at, revoked_at FROM api_key ORDER BY created_at, id")
    return [ApiKey(*row) for row in cur.fetchall()]


def revoke_key(cur: Cursor, name: str) -> bool:
    """Revoke the named key; False when there is no such live key."""
    cur.execute("UPDATE api_key SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL", (name,))
    return cur.rowcount == 1


def live_key(cur: Cursor, key: str) -> ApiKey | None:
    """The live (not revoked) key with this value, if any."""
    cur.execute("SELECT name, prefix, requests_per_minute FROM api_key WHERE sha256 = %s AND revoked_at IS NULL",
                (key_digest(key),))
    row = cur.fetchone()
    return ApiKey(*row) if row else None
