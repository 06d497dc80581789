"""The API's /health, in-process and under a real gunicorn, and `make run`'s service script
starting without network."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from api import create_app
from tests.conftest import REPO
from tests.crawlhelp import ENDPOINT_NAMES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for_health(url: str, process: subprocess.Popen, timeout_s: float = 60) -> tuple[int, bytes]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited"
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            # A worker still booting on a loaded machine may take longer than one read timeout.
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def test_health_reports_the_database(db_url):
    client = create_app(db_url).test_client()
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["database"]["schema"] == sorted(p.name for p in (REPO / "database" / "migrations").glob("*.sql"))[-1]


def test_health_says_when_the_database_is_down():
    client = create_app("postgresql://nobody@127.0.0.1:9/nothing").test_client()
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["database"]["error"] == "database unavailable"  # the detail is logged, not shown


def test_a_database_outage_says_database_unavailable_and_metrics_still_answer(caplog):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = create_app(f"postgresql://nobody@127.0.0.1:{port}/nothing").test_client()
    for path in ("/regions/", "/carbon-intensity/?region=CISO&start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.get_json() == {"error": {"code": "database_unavailable", "message": "database unavailable"}}
    health = client.get("/health")
    assert health.status_code == 503 and health.get_json()["database"]["error"] == "database unavailable"
    assert str(port) not in health.get_data(as_text=True)
    assert str(port) in caplog.text  # the detail is logged
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert b"energy_data_database_up 0.0" in metrics.data and b"energy_data_http_requests_total" in metrics.data


def test_gunicorn_serves_health(db_url):
    port = free_port()
    venv_bin = Path(sys.executable).parent
    server = subprocess.Popen([str(venv_bin / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "api:create_app()"],
                              cwd=REPO, env={**os.environ, "PORT": str(port)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        status, body = wait_for_health(f"http://127.0.0.1:{port}/health", server)
        assert status == 200 and b'"ok"' in body
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_make_run_service_starts_without_network(db_url, tmp_path):
    """deploy/run-local.sh (what `make run` runs): crawl, report unreachable sources, serve."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "VENV": str(Path(sys.executable).parent.parent),
           **{f"{name}_BASE_URL": "http://127.0.0.1:9" for name in ENDPOINT_NAMES},
           # no boundaries file, and nowhere to download one from
           "ENERGY_DATA_BOUNDARIES": str(tmp_path / "boundaries.geojson"), "BOUNDARIES_URL": "http://127.0.0.1:9/query"}
    env.pop("EIA_API_KEY", None)
    log = tmp_path / "service.log"
    with log.open("w") as out:
        service = subprocess.Popen(["deploy/run-local.sh"], cwd=REPO, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        status, body = wait_for_health(f"http://127.0.0.1:{port}/health", service)
        assert status == 200 and json.loads(body)["status"] == "ok"
        text = log.read_text()
        assert "CAISO: failed: unreachable: 127.0.0.1:9 (connection refused)" in text
        assert "NYISO: failed: unreachable: 127.0.0.1:9 (connection refused)" in text
        assert "EIA: disabled (EIA_API_KEY not set)" in text
        (boundaries,) = [line for line in text.splitlines() if line.startswith("boundaries:")]
        assert boundaries.startswith("boundaries: not installed (cannot reach 127.0.0.1:9 (connection refused)")
        assert "Traceback" not in text
    finally:
        os.killpg(service.pid, signal.SIGTERM)
        service.wait(timeout=30)


def test_timeouts_nest_statement_gunicorn_nginx(monkeypatch):
    import re
    import runpy

    from database.pool import STATEMENT_TIMEOUT_MS

    # The file sets PROMETHEUS_MULTIPROC_DIR for gunicorn: in this process only for this test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    gunicorn_timeout = runpy.run_path(str(REPO / "deploy" / "gunicorn.conf.py"))["timeout"]
    nginx = (REPO / "deploy" / "nginx.conf").read_text()
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", nginx).group(1))
    assert STATEMENT_TIMEOUT_MS / 1000 < gunicorn_timeout < read_timeout


def test_metrics_add_up_every_gunicorn_worker(db_url, tmp_path):
    port = free_port()
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "2", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    server = subprocess.Popen([str(venv_bin / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "api:create_app()"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/health", server)
        for _ in range(20):
            get(f"http://127.0.0.1:{port}/regions/")
        _, text = get(f"http://127.0.0.1:{port}/metrics")
        assert b'energy_data_http_requests_total{endpoint="/regions/",method="GET",status="200"} 20.0' in text
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_api_survives_a_database_restart(db_url, database_url_session):
    """Pooled connections die with the server; the next requests must still succeed."""
    import pytest

    from urllib.parse import parse_qs, urlsplit

    socket_dir = parse_qs(urlsplit(database_url_session).query).get("host", [""])[0]
    if not socket_dir.endswith("pgdata"):
        pytest.skip("the database is not this test session's embedded server; it cannot be restarted here")
    client = create_app(db_url).test_client()

    def answers() -> tuple:
        health, regions = client.get("/health"), client.get("/regions/")
        return (health.status_code, health.get_json()["status"], regions.status_code,
                "CISO" in {r["id"] for r in regions.get_json()["regions"]})
    assert answers() == (200, "ok", 200, True)
    restart_embedded(Path(socket_dir))
    assert answers() == (200, "ok", 200, True)  # the pool replaced its dead connections


def restart_embedded(pgdata: Path) -> None:
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import PostmasterInfo

    user = "pgserver" if os.geteuid() == 0 else None
    # No pipes: the restarted server would inherit them and keep run() waiting forever.
    subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "restart",
                    "-l", str(pgdata / "log")], check=True, user=user,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # pgserver stops the session's server by the process it started: tell it the new one.
    PostgresServer._instances[pgdata]._postmaster_info = PostmasterInfo.read_from_pgdata(pgdata)
