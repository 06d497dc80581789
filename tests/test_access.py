"""External access (api/access.py, python -m api.keys): keys stored hashed, enforced when
API_KEYS_REQUIRED=1, per-key limits shared between workers, /metrics by address, the key's
name in gunicorn's access log."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from api import create_app
from api.faces import ROUTES
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
    response = app.get("/regions/", headers={"X-API-Key": "ed_made_up"})
    assert response.status_code == 401 and error_of(response) == "invalid_api_key"


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
    assert response.status_code == 403 and error_of(response) == "forbidden"
    monkeypatch.setenv("METRICS_ALLOW", "203.0.113.0/24")
    app = create_app(access_env).test_client()
    assert app.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200
    response = app.get("/metrics")
    assert response.status_code == 403 and error_of(response) == "forbidden"


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


# -- every route in both forms, start-up checks, the metrics folder, the keys CLI (issue 23) ------

def both_forms() -> list[tuple[str, str]]:
    """(method, path) of every route, with and without its trailing slash (path parameters filled)."""
    forms = []
    for route in ROUTES:
        path = re.sub(r"\{[^}]+\}", "aws", route.spec.path)
        bare = path.rstrip("/") or "/"
        for form in {bare, bare + "/"} if bare != "/" else {"/"}:
            forms.append((route.spec.method, form))
    return sorted(forms)


def test_every_route_with_or_without_its_trailing_slash_passes_the_same_access_check(access_env, monkeypatch):
    monkeypatch.setenv("METRICS_ALLOW", "10.9.9.9/32")
    key = new_key("walker", per_minute=100_000)
    app = client(access_env, monkeypatch, required=True)
    elsewhere = {"REMOTE_ADDR": "203.0.113.9"}
    walked = both_forms()
    assert ("get", "/metrics/") in walked and ("get", "/health/") in walked and len(walked) > 60
    for method, path in walked:
        anonymous = getattr(app, method)(path, environ_base=elsewhere)
        keyed = getattr(app, method)(path, environ_base=elsewhere, headers={"X-API-Key": key})
        if path.rstrip("/") == "/health":  # as open as it is: no key, any address
            assert anonymous.status_code == keyed.status_code == 200, path
        elif path.rstrip("/") == "/metrics":  # only METRICS_ALLOW, key or not
            assert (anonymous.status_code, keyed.status_code) == (403, 403), path
            assert error_of(anonymous) == error_of(keyed) == "forbidden"
        else:
            assert anonymous.status_code == 401 and error_of(anonymous) == "api_key_required", path
            assert keyed.status_code not in (401, 403, 429), (path, keyed.status_code)


def test_a_request_with_a_key_is_a_503_not_a_500_when_the_counters_cannot_be_written(access_env, monkeypatch):
    key = new_key("partner-e")
    monkeypatch.setenv("RATE_LIMIT_DB", "/nonexistent/ratelimit.sqlite")
    app = client(access_env, monkeypatch, required=True)
    response = app.get("/regions/", headers={"X-API-Key": key})
    assert response.status_code == 503 and error_of(response) == "rate_limit_unavailable"
    assert app.get("/health").status_code == 200


def gunicorn(env: dict, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config", "deploy/gunicorn.conf.py",
                             "api:create_app()"], cwd=REPO, env=env, **kwargs)


def test_a_rate_limit_db_that_cannot_be_opened_stops_gunicorn_with_one_line(access_env):
    env = {**os.environ, "PORT": str(free_port()), "RATE_LIMIT_DB": "/nonexistent/x.sqlite"}
    server = gunicorn(env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        server.terminate()
        server.communicate(timeout=30)
        pytest.fail("gunicorn kept running with a RATE_LIMIT_DB it cannot open")
    assert server.returncode != 0
    errors = [line for line in stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "RATE_LIMIT_DB=/nonexistent/x.sqlite" in errors[0], stderr
    assert "Traceback" not in stderr


def test_gunicorn_removes_its_metrics_folder_at_exit_and_stale_ones_at_start(access_env):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = Path(tempfile.gettempdir()) / f"energy-data-metrics-{gone.pid}"  # a master killed before its exit
    stale.mkdir(exist_ok=True)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}, "PORT": str(port)}
    server = gunicorn(env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    own = Path(tempfile.gettempdir()) / f"energy-data-metrics-{server.pid}"
    try:
        wait_for_health(f"http://127.0.0.1:{port}/health", server)
        assert own.is_dir() and not stale.exists()
        server.send_signal(signal.SIGHUP)  # a reload keeps the folder: the workers share it
        time.sleep(3)
        assert wait_for_health(f"http://127.0.0.1:{port}/metrics", server)[0] == 200 and own.is_dir()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not own.exists()


@pytest.mark.parametrize("args, words", [
    (["create", "z", "--per-minute", "99999999999"], "outside 1..1,000,000"),
    (["create", "z", "--per-minute", "0"], "outside"),
    (["create", "z", "--per-minute", "lots"], "not a whole number"),
    (["create", "a" * 65], "1-64 letters"),
    (["revoke", "bad name"], "1-64 letters"),
])
def test_the_keys_cli_refuses_bad_arguments_before_the_database(args, words):
    result = subprocess.run([sys.executable, "-m", "api.keys", *args], cwd=REPO, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "ADMIN_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/x",
                                             "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/x"})
    assert result.returncode == 2 and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_limit_past_the_column_is_a_usage_error_not_a_traceback(access_env):
    result = keys_cli("create", "z", "--per-minute", "99999999999")
    assert result.returncode == 2 and "--per-minute: 99999999999 is outside 1..1,000,000" in result.stderr
    assert "Traceback" not in result.stderr
    with psycopg_conn(access_env) as cur:
        cur.execute("SELECT count(*) FROM api_key")
        assert cur.fetchone() == (0,)
    assert new_key("z", per_minute=1_000_000).startswith("ed_")  # the bound itself is taken
