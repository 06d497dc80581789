"""External access (api/access.py, python -m api.keys): keys stored hashed, enforced when
API_KEYS_REQUIRED=1, per-key limits shared between workers, /metrics by address, the key's
name in gunicorn's access log."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from api import create_app
from database.api_keys import key_digest
from tests.conftest import REPO
from tests.test_service import free_port, wait_for_health


def keys_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.keys", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60)


def new_key(name: str, per_minute: int = 60) -> str:
    result = keys_cli("create", name, "--per-minute", str(per_minute))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def access_env(db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("RATE_LIMIT_DB", str(tmp_path / "ratelimit.sqlite"))
    monkeypatch.setenv("API_KEY_CACHE_SECONDS", "0")
    monkeypatch.delenv("METRICS_ALLOW", raising=False)
    monkeypatch.delenv("API_DATABASE_URL", raising=False)
    with psycopg_conn(db_url) as cur:
        cur.execute("DELETE FROM api_key")
    return db_url


class psycopg_conn:
    def __init__(self, url):
        import psycopg2
        self.conn = psycopg2.connect(url)

    def __enter__(self):
        return self.conn.cursor()

    def __exit__(self, *exc):
        self.conn.commit()
        self.conn.close()


def away_from_a_minute_edge() -> None:
    """Limits count per clock minute: start a burst where it cannot straddle two of them."""
    second = time.time() % 60
    if second > 50:
        time.sleep(61 - second)


def client(url: str, monkeypatch, required: bool):
    monkeypatch.setenv("API_KEYS_REQUIRED", "1" if required else "0")
    return create_app(url).test_client()


def error_of(response) -> str:
    assert response.headers["Content-Type"] == "application/json"
    return response.json["error"]["code"]


def test_keys_are_created_listed_revoked_and_stored_hashed(access_env):
    key = new_key("partner-a", per_minute=5)
    assert key.startswith("ed_") and len(key) > 40
    with psycopg_conn(access_env) as cur:
        cur.execute("SELECT sha256, prefix, requests_per_minute FROM api_key WHERE name = 'partner-a'")
        digest, prefix, per_minute = cur.fetchone()
        cur.execute("SELECT count(*) FROM api_key t WHERE t::text LIKE %s", (f"%{key[12:]}%",))
        assert cur.fetchone()[0] == 0  # the key itself is nowhere in the table
    assert bytes(digest) == key_digest(key) and key.startswith(prefix) and per_minute == 5
    assert keys_cli("create", "partner-a").returncode == 1  # names are unique
    assert "1-64 letters" in keys_cli("create", "no spaces please").stderr
    listed = keys_cli("list").stdout
    assert "partner-a" in listed and prefix in listed and key not in listed
    assert keys_cli("revoke", "partner-a").returncode == 0
    assert keys_cli("revoke", "partner-a").returncode == 1  # no live key of that name any more
    [line] = [line for line in keys_cli("list").stdout.splitlines() if line.startswith("partner-a ")]
    assert not line.endswith(" -")  # a revocation time


def test_required_keys_401_without_or_with_a_bad_key_and_health_stays_open(access_env, monkeypatch):
    key = new_key("partner-b")
    app = client(access_env, monkeypatch, required=True)
    assert app.get("/health").status_code == 200
    response = app.get("/regions/")
    assert response.status_code == 401 and error_of(response) == "api_key_required"
    assert "X-API-Key" in response.headers["WWW-Authenticate"]
    response = app.get("/regions/", headers={"X-API-Key": key + "x"})
    assert response.status_code == 401 and error_of(response) == "invalid_api_key"
    assert app.get("/regions/", headers={"X-API-Key": key}).status_code == 200
    assert keys_cli("revoke", "partner-b").returncode == 0
    response = app.get("/regions/", headers={"X-API-Key": key})
    assert response.status_code == 401 and error_of(response) == "invalid_api_key"


def test_keys_are_optional_unless_required_but_a_bad_one_is_refused(access_env, monkeypatch):
    app = client(access_env, monkeypatch, required=False)
    assert app.get("/regions/").status_code == 200
    assert app.get("/regions/", headers={"X-API-Key": "ed_made_up"}).status_code == 401


def test_the_per_key_limit_is_shared_by_workers_and_answers_429_with_retry_after(access_env, monkeypatch):
    key = new_key("partner-c", per_minute=3)
    worker_1 = client(access_env, monkeypatch, required=True)
    worker_2 = create_app(access_env).test_client()  # a second app: its own pool and limiter connection
    headers = {"X-API-Key": key}
    away_from_a_minute_edge()
    statuses = [worker_1.get("/regions/", headers=headers).status_code,
                worker_2.get("/regions/", headers=headers).status_code,
                worker_1.get("/regions/", headers=headers).status_code]
    assert statuses == [200, 200, 200]
    response = worker_2.get("/regions/", headers=headers)
    assert response.status_code == 429 and error_of(response) == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    other = new_key("partner-d", per_minute=3)
    assert worker_2.get("/regions/", headers={"X-API-Key": other}).status_code == 200  # per key


def test_metrics_only_from_allowed_addresses(access_env, monkeypatch):
    app = client(access_env, monkeypatch, required=True)
    assert app.get("/metrics").status_code == 200  # loopback, and no key needed
    response = app.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403 and error_of(response) == "forbidden"
    # Behind nginx: the address nginx appended, not the one the client wrote first.
    response = app.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.9"})
    assert response.status_code == 403
    monkeypatch.setenv("METRICS_ALLOW", "203.0.113.0/24")
    app = create_app(access_env).test_client()
    assert app.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200
    assert app.get("/metrics").status_code == 403


def test_gunicorn_workers_share_the_limit_and_log_the_key_name(access_env, tmp_path):
    key = new_key("partner-log", per_minute=4)
    port = free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "2", "API_KEYS_REQUIRED": "1",
           "ACCESS_LOG": str(log)}
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config", "deploy/gunicorn.conf.py",
                               "api:create_app()"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/health", server)
        statuses = []
        away_from_a_minute_edge()
        for _ in range(10):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/regions/", headers={"X-API-Key": key})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    statuses.append(response.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert statuses == [200] * 4 + [429] * 6
    lines = [line for line in log.read_text().splitlines() if "/regions/" in line]
    assert len(lines) == 10 and all(line.endswith("key=partner-log") for line in lines)
    health = [line for line in log.read_text().splitlines() if "/health" in line]
    assert health and all(line.endswith("key=-") for line in health)


def test_the_openapi_document_declares_the_key_and_the_refusals(access_env, monkeypatch):
    document = client(access_env, monkeypatch, required=False).get("/openapi.json").json
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        **document["components"]["securitySchemes"]["ApiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    regions = document["paths"]["/regions/"]["get"]
    assert {"401", "429"} <= set(regions["responses"]) and {"ApiKey": []} in regions["security"]
    assert "403" in document["paths"]["/metrics"]["get"]["responses"]
    assert "security" not in document["paths"]["/health"]["get"]
