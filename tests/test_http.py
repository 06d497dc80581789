"""Outbound HTTP (energy_data/http.py, crawler/http.py): no request waits for ever, and no secret
is stored: a key a provider echoes in its body is redacted before the body is archived, and
`python -m crawler scrub-secrets` cleans bodies archived before that. (The key in URLs, output
and logs: tests/test_crawl_engine.py.)"""
from __future__ import annotations

import gzip
import hashlib

import pytest

from crawler.crawl import Crawler, utc_now
from tests.crawlhelp import EIA_ROUTE, FAKE_EIA_KEY, crawler_cli, eia_body, query, recent_periods, run_now, serve_eia


@pytest.fixture
def eia(fake_iso, monkeypatch, db_url):
    serve_eia(fake_iso, monkeypatch)
    return fake_iso


def archived_bodies(db) -> list[bytes]:
    return [gzip.decompress(bytes(row[0])) for row in query(db, "SELECT body_gzip FROM raw_payload ORDER BY id")]


# -- no stored secret -----------------------------------------------------------------------

def test_the_key_eia_echoes_in_its_body_is_never_archived(db, eia):
    eia.serve(EIA_ROUTE, eia_body([(p, "NG", 100) for p in recent_periods(3)]))
    code, lines = run_now("EIA")
    assert code == 0, lines
    bodies = archived_bodies(db)
    assert bodies and all(FAKE_EIA_KEY.encode() not in body for body in bodies)
    assert all(b'"api_key": "REDACTED"' in body for body in bodies)
    # The stored hash is the hash of the stored (redacted) body, and the readings still count.
    assert [bytes(r[0]) for r in query(db, "SELECT sha256 FROM raw_payload ORDER BY id")] == [
        hashlib.sha256(b).digest() for b in bodies]
    assert query(db, "SELECT count(*) FROM generation_reading") == [(3,)]


def test_scrub_secrets_cleans_bodies_archived_before_the_fix(db, eia):
    from database.payloads import archive_payload

    with_key = eia_body([("2025-01-01T01", "NG", 1)])
    other_key = eia_body([("2025-01-01T01", "NG", 1)], echo_key="an-older-rotated-key")
    plain = b"Time,Solar\n00:00,1\n"
    Crawler(out=lambda line: None).close()  # registers the sources
    eia_id = query(db, "SELECT id FROM source WHERE name = 'EIA'")[0][0]
    now = utc_now()
    with db.cursor() as cur:  # as the crawler archived bodies before the fix: verbatim
        for body in (with_key, other_key, plain):
            archive_payload(cur, eia_id, "https://api.eia.gov/?api_key=REDACTED", body, now, 200, "application/json")
    result = crawler_cli("scrub-secrets")
    assert result.returncode == 0, result.stderr
    assert "3 archived bodies checked, 2 scrubbed" in result.stdout
    bodies = archived_bodies(db)
    assert all(FAKE_EIA_KEY.encode() not in b and b"an-older-rotated-key" not in b for b in bodies)
    # The two bodies differed only in their key: scrubbed, they are one body fetched twice.
    assert sorted(r[0] for r in query(db, "SELECT fetch_count FROM raw_payload")) == [1, 2]
    assert plain in bodies
    assert [bytes(r[0]) for r in query(db, "SELECT sha256 FROM raw_payload ORDER BY id")] == [
        hashlib.sha256(b).digest() for b in archived_bodies(db)]


# -- nothing waits for ever -------------------------------------------------------------------

def test_a_request_cannot_be_made_without_a_timeout(fake_iso, monkeypatch):
    import requests

    from energy_data import http

    monkeypatch.setattr(http, "READ_TIMEOUT_S", 0.5)
    fake_iso.serve("/slow", b"late", delay_s=5)
    session = http.make_session()
    session.mount("http://", requests.adapters.HTTPAdapter(max_retries=0))  # one attempt is enough here
    with pytest.raises(requests.Timeout):
        session.get(f"{fake_iso.url}/slow", timeout=None)  # "wait for ever", as requests reads it
