"""Raw payloads: every fetched body, gzip-compressed, one row per distinct body and source."""
from __future__ import annotations

import gzip
import hashlib
from datetime import datetime

import psycopg2
import psycopg2.extensions

Cursor = psycopg2.extensions.cursor


def archive_payload(cur: Cursor, source_id: int, url: str, body: bytes, fetched_at: datetime,
                    http_status: int | None, content_type: str | None) -> int:
    """Store a body (or count one more fetch of an identical body); returns the payload id."""
    digest = hashlib.sha256(body).digest()
    cur.execute(
        "UPDATE raw_payload SET last_fetched_at = greatest(last_fetched_at, %s), "
        "fetch_count = fetch_count + 1, url = %s, http_status = %s "
        "WHERE source_id = %s AND sha256 = %s RETURNING id",
        (fetched_at, url, http_status, source_id, digest),
    )
    row = cur.fetchone()
    if row:
        return row[0]
    cur.execute(
        "INSERT INTO raw_payload (source_id, url, first_fetched_at, last_fetched_at, http_status, "
        "content_type, body_gzip, body_bytes, sha256) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (source_id, sha256) DO UPDATE SET fetch_count = raw_payload.fetch_count + 1 "
        "RETURNING id",
        (source_id, url, fetched_at, fetched_at, http_status, content_type,
         psycopg2.Binary(gzip.compress(body, compresslevel=6)), len(body), digest),
    )
    return cur.fetchone()[0]


def iter_payloads(cur: Cursor, source_id: int | None = None, since: datetime | None = None):
    """Yield (source name, url, last_fetched_at, http_status, content_type, body) oldest first."""
    cur.execute(
        "SELECT s.name, p.url, p.last_fetched_at, p.http_status, p.content_type, p.body_gzip "
        "FROM raw_payload p JOIN source s ON s.id = p.source_id "
        "WHERE (%(source)s IS NULL OR p.source_id = %(source)s) "
        "AND (%(since)s IS NULL OR p.last_fetched_at >= %(since)s) "
        "ORDER BY p.last_fetched_at, p.id",
        {"source": source_id, "since": since},
    )
    for name, url, fetched_at, status, content_type, body in cur:
        yield name, url, fetched_at, status, content_type, gzip.decompress(bytes(body))


def payload_ids(cur: Cursor, after: int = 0, limit: int = 100) -> list[int]:
    """Ids of archived payloads above `after`, ascending, `limit` at a time."""
    cur.execute("SELECT id FROM raw_payload WHERE id > %s ORDER BY id LIMIT %s", (after, limit))
    return [row[0] for row in cur.fetchall()]


def payload_body(cur: Cursor, payload_id: int) -> bytes:
    cur.execute("SELECT body_gzip FROM raw_payload WHERE id = %s", (payload_id,))
    return gzip.decompress(bytes(cur.fetchone()[0]))


def replace_body(cur: Cursor, payload_id: int, body: bytes) -> None:
    """Store `body` in place of a payload's body (a scrubbed copy). Should the source already
    hold that body, the two rows become one, their fetch counts and times added up."""
    digest = hashlib.sha256(body).digest()
    cur.execute(
        "UPDATE raw_payload k SET fetch_count = k.fetch_count + o.fetch_count, "
        "first_fetched_at = least(k.first_fetched_at, o.first_fetched_at), "
        "last_fetched_at = greatest(k.last_fetched_at, o.last_fetched_at) "
        "FROM raw_payload o WHERE o.id = %s AND k.source_id = o.source_id AND k.sha256 = %s AND k.id <> o.id",
        (payload_id, digest),
    )
    if cur.rowcount:
        cur.execute("DELETE FROM raw_payload WHERE id = %s", (payload_id,))
        return
    cur.execute("UPDATE raw_payload SET body_gzip = %s, body_bytes = %s, sha256 = %s WHERE id = %s",
                (psycopg2.Binary(gzip.compress(body, compresslevel=6)), len(body), digest, payload_id))
