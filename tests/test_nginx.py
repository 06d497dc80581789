"""deploy/nginx.conf as deployed: a real nginx in front of a real gunicorn. The nginx binary
comes from ENERGY_DATA_NGINX (set by `make test` through scripts/setup/nginx.sh) or PATH."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_service import free_port, get, wait_for_health


def nginx_binary() -> str:
    path = os.environ.get("ENERGY_DATA_NGINX") or shutil.which("nginx")
    if path and Path(path).is_file():
        return path
    if os.environ.get("CI"):
        pytest.fail("no nginx: `make test` fetches one with scripts/setup/nginx.sh")
    pytest.skip("no nginx (run the tests with `make test`, or put nginx on PATH)")


@pytest.fixture
def gunicorn(db_url):
    """(port, process) of a gunicorn serving the API as deployed."""
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config", "deploy/gunicorn.conf.py",
                               "api:create_app()"], cwd=REPO, env={**os.environ, "PORT": str(port)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/health", server)
        yield port, server
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def nginx(gunicorn, tmp_path, request):
    """The template with only its addresses and cache folder changed (and the edits a test
    passes as its parameter), inside a minimal main configuration."""
    gunicorn_port, _ = gunicorn
    port = free_port()
    site = (REPO / "deploy" / "nginx.conf").read_text()
    for old, new in getattr(request, "param", {}).items():
        assert old in site
        site = site.replace(old, new)
    cache = "/var/cache/nginx-energy-data"
    assert "server 127.0.0.1:8000;" in site and "listen 80;" in site and cache in site
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{gunicorn_port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};").replace(cache, str(tmp_path / "cache"))
    (tmp_path / "site.conf").write_text(site)
    temp_paths = "".join(f"{kind}_temp_path {tmp_path / kind};\n"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "") +
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\naccess_log {tmp_path / 'access.log'};\n{temp_paths}include {tmp_path / 'site.conf'};\n}}\n")
    command = [nginx_binary(), "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")]
    check = subprocess.run(command + ["-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    server = subprocess.Popen(command + ["-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/health", server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def request(url: str, **headers: str):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_answers_pass_through_gzipped_with_their_etag_and_304(nginx):
    status, headers, plain = request(f"{nginx}/openapi.json")
    assert status == 200 and len(plain) > 1024
    status, headers, body = request(f"{nginx}/openapi.json", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in headers["Vary"]
    assert gzip.decompress(body) == plain and len(body) < len(plain) / 3
    status, headers, _ = request(f"{nginx}/regions/")
    etag = headers["ETag"]
    assert status == 200 and etag
    status, _, body = request(f"{nginx}/regions/", **{"If-None-Match": etag})
    assert status == 304 and body == b""


def test_answers_that_may_be_cached_are_served_from_nginx_and_the_rest_never(nginx):
    statuses = [request(f"{nginx}/regions/")[1]["X-Cache-Status"] for _ in range(2)]
    assert statuses == ["MISS", "HIT"]
    status, _, body = request(f"{nginx}/regions/", **{"If-None-Match": request(f"{nginx}/regions/")[1]["ETag"]})
    assert status == 304 and body == b""
    assert [request(f"{nginx}/health")[1]["X-Cache-Status"] for _ in range(2)] == ["MISS", "MISS"]
    bad = "/carbon-intensity/?region=NOWHERE&start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z"
    status, headers, body = [request(nginx + bad) for _ in range(2)][1]
    assert status == 404 and headers["X-Cache-Status"] == "MISS"
    error = json.loads(body)["error"]
    assert (error["code"], error["parameter"]) == ("unknown_region", "region")


def test_api_errors_pass_through_as_the_api_wrote_them(nginx, gunicorn):
    gunicorn_port, _ = gunicorn
    path = "/carbon-intensity/?region=CISO&start=2025-01-02T00:00:00Z&end=2025-01-01T00:00:00Z"
    direct = get(f"http://127.0.0.1:{gunicorn_port}{path}")
    status, _, body = request(nginx + path)
    assert (status, body) == direct and status == 400
    assert json.loads(body)["error"]["parameter"] == "end"


def test_a_request_line_over_8k_is_a_json_414(nginx):
    status, headers, body = request(f"{nginx}/carbon-intensity/?region={'C' * 9000}")
    assert status == 414 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "uri_too_long"


def test_a_stopped_api_is_a_json_503_from_nginx(nginx, gunicorn):
    _, server = gunicorn
    server.terminate()
    server.wait(timeout=30)
    status, headers, body = request(f"{nginx}/regions/")
    assert status == 503 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "api_unavailable"


@pytest.mark.parametrize("length", [4200, 8000])
def test_request_lines_nginx_passes_are_answered_in_json_by_the_api(nginx, length):
    """Lines between gunicorn's default limit (4,094) and nginx's 8 kB reach the API."""
    path = "/carbon-intensity/?region=CISO&start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&source="
    path += "S" * (length - len(f"GET {path} HTTP/1.1"))
    status, headers, body = request(nginx + path)
    assert status == 400 and headers["Content-Type"] == "application/json", body[:200]
    assert json.loads(body)["error"]["code"] == "query_too_long"  # the API's answer, not gunicorn's HTML 414


@pytest.mark.parametrize("nginx", [{"rate=10r/s": "rate=1r/m", "burst=20": "burst=4"}], indirect=True)
def test_a_burst_from_one_address_over_the_limit_is_a_json_429_with_retry_after(nginx):
    answers = [request(f"{nginx}/health") for _ in range(8)]
    # 1 + a burst of 4, one of which the fixture spent waiting for /health
    assert [status for status, _, _ in answers] == [200] * 4 + [429] * 4
    _, headers, body = answers[-1]
    assert headers["Content-Type"] == "application/json" and headers["Retry-After"] == "1"
    assert json.loads(body)["error"]["code"] == "rate_limited"


def test_requests_with_an_api_key_always_reach_the_api(nginx):
    assert [request(f"{nginx}/regions/")[1]["X-Cache-Status"] for _ in range(2)] == ["MISS", "HIT"]
    status, headers, body = request(f"{nginx}/regions/", **{"X-API-Key": "ed_made_up"})
    assert status == 401 and headers["X-Cache-Status"] == "BYPASS"  # not the cached answer
    assert json.loads(body)["error"]["code"] == "invalid_api_key"
