"""The WattTime fallback against the loopback server: login, token reuse and renewal,
region lookup, and errors that never show the password or the token."""
from __future__ import annotations

import base64
import json
import logging

import pytest

from energy_data import watttime
from energy_data.watttime import WattTimeClient, WattTimeError
from tests.conftest import HAND_WRITTEN

USER, PASSWORD, TOKEN = "loopback-user", "s3cret" + "-Passw0rd", "tok-abc-123"  # fakes for the loopback server
REGION = {"region": "CAISO_NORTH", "region_full_name": "California ISO - North", "signal_type": "co2_moer"}


@pytest.fixture
def api(fake_iso, monkeypatch):
    """The loopback server as WattTime, with credentials in the environment."""
    fake_iso.serve("/login", json.dumps({"token": TOKEN}).encode(), content_type="application/json")
    fake_iso.serve("/v3/region-from-loc", json.dumps(REGION).encode(), content_type="application/json")
    monkeypatch.setenv("WATTTIME_USERNAME", USER)
    monkeypatch.setenv("WATTTIME_PASSWORD", PASSWORD)
    monkeypatch.setenv("WATTTIME_BASE_URL", fake_iso.url)
    monkeypatch.setattr(watttime, "_clients", {})
    return fake_iso


def requests_to(server, path):
    return [request for request in server.requests if request.path == path]


def test_login_with_basic_auth_then_lookup_with_the_bearer_token(api):
    assert watttime.region_from_location(37.7749, -122.4194) == "CAISO_NORTH"
    login, = requests_to(api, "/login")
    expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert login.headers["Authorization"] == f"Basic {expected}"
    lookup, = requests_to(api, "/v3/region-from-loc")
    assert lookup.headers["Authorization"] == f"Bearer {TOKEN}"
    assert lookup.query == {"latitude": ["37.7749"], "longitude": ["-122.4194"], "signal_type": ["co2_moer"]}
    assert "energy-data" in lookup.headers["User-Agent"]


def test_the_token_is_reused(api):
    for _ in range(3):
        assert watttime.region_from_location(37.7749, -122.4194) == "CAISO_NORTH"
    assert len(requests_to(api, "/login")) == 1
    assert len(requests_to(api, "/v3/region-from-loc")) == 3


def test_the_token_is_renewed_before_it_expires(api):
    now = [1000.0]
    client = WattTimeClient(USER, PASSWORD, api.url, clock=lambda: now[0])
    client.region_from_location(37.7749, -122.4194)
    now[0] += 28 * 60  # still inside the 30 minutes, less the safety margin
    client.region_from_location(37.7749, -122.4194)
    assert len(requests_to(api, "/login")) == 1
    now[0] += 2 * 60  # 30 minutes after login
    client.region_from_location(37.7749, -122.4194)
    assert len(requests_to(api, "/login")) == 2


def test_a_refused_token_is_renewed_once(api):
    api.serve("/v3/region-from-loc", json.dumps(REGION).encode(), fail_first=[401])
    assert watttime.region_from_location(37.7749, -122.4194) == "CAISO_NORTH"
    assert len(requests_to(api, "/login")) == 2
    assert len(requests_to(api, "/v3/region-from-loc")) == 2


def test_a_token_refused_with_nginx_403_page_is_renewed_once(api):
    """An expired or revoked token may get nginx's HTML 403 page instead of a 401 (aiowatttime
    notes it; the Carbon Aware SDK logs in again on both)."""
    page = (HAND_WRITTEN / "watttime" / "handwritten_403_forbidden_nginx.html").read_bytes()
    api.serve("/v3/region-from-loc", json.dumps(REGION).encode(), fail_first=[403], fail_body=page,
              fail_content_type="text/html")
    assert watttime.region_from_location(37.7749, -122.4194) == "CAISO_NORTH"
    assert [r.path for r in api.requests] == ["/login", "/v3/region-from-loc", "/login", "/v3/region-from-loc"]
    tokens = [r.headers["Authorization"] for r in requests_to(api, "/v3/region-from-loc")]
    assert tokens == [f"Bearer {TOKEN}"] * 2


def test_a_403_after_a_fresh_login_is_an_error_not_a_third_login(api):
    api.serve("/v3/region-from-loc", b'{"error": "Forbidden", "message": "no access"}', status=403)
    with pytest.raises(WattTimeError, match='HTTP 403: {"error": "Forbidden", "message": "no access"}'):
        watttime.region_from_location(37.7749, -122.4194)
    assert len(requests_to(api, "/login")) == 2 and len(requests_to(api, "/v3/region-from-loc")) == 2


def test_no_region_here_is_none(api):
    api.serve("/v3/region-from-loc", b'{"error": "Coordinates not found"}', status=404)
    assert watttime.region_from_location(0.0, -30.0) is None


def test_wrong_credentials_are_a_clear_error_without_the_password(api, caplog):
    api.serve("/login", b'{"error": "invalid credentials"}', status=401, content_type="application/json")
    with caplog.at_level(logging.DEBUG), pytest.raises(WattTimeError) as raised:
        watttime.region_from_location(37.7749, -122.4194)
    message = str(raised.value)
    assert "HTTP 401" in message and "WATTTIME_USERNAME" in message
    assert PASSWORD not in message and PASSWORD not in caplog.text
    assert requests_to(api, "/v3/region-from-loc") == []


def test_other_failures_are_errors_without_secrets(api, caplog):
    api.serve("/v3/region-from-loc", f"boom {PASSWORD} {TOKEN}".encode(), status=500)
    with caplog.at_level(logging.DEBUG), pytest.raises(WattTimeError, match="HTTP 500") as raised:
        watttime.region_from_location(37.7749, -122.4194)
    assert PASSWORD not in str(raised.value) and TOKEN not in str(raised.value)
    assert PASSWORD not in caplog.text and TOKEN not in caplog.text
    assert len(requests_to(api, "/v3/region-from-loc")) == 3  # retried twice


@pytest.mark.parametrize("body, reason", [
    (b"<html>maintenance</html>", "not JSON"),
    (b'{"region_full_name": "x"}', "without a region"),
])
def test_unexpected_answers_are_errors(api, body, reason):
    api.serve("/v3/region-from-loc", body)
    with pytest.raises(WattTimeError, match=reason):
        watttime.region_from_location(37.7749, -122.4194)


def test_login_without_a_token_is_an_error(api):
    api.serve("/login", b'{"message": "ok"}')
    with pytest.raises(WattTimeError, match="without a token"):
        watttime.region_from_location(37.7749, -122.4194)


def test_unreachable_is_an_error(monkeypatch):
    monkeypatch.setenv("WATTTIME_USERNAME", USER)
    monkeypatch.setenv("WATTTIME_PASSWORD", PASSWORD)
    monkeypatch.setenv("WATTTIME_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(watttime, "_clients", {})
    with pytest.raises(WattTimeError, match="unreachable") as raised:
        watttime.region_from_location(37.7749, -122.4194)
    assert PASSWORD not in str(raised.value)


def test_configured(monkeypatch):
    monkeypatch.delenv("WATTTIME_USERNAME", raising=False)
    monkeypatch.delenv("WATTTIME_PASSWORD", raising=False)
    assert not watttime.configured()
    with pytest.raises(WattTimeError, match="not configured"):
        watttime.region_from_location(37.7749, -122.4194)
    monkeypatch.setenv("WATTTIME_USERNAME", USER)
    assert not watttime.configured()
    monkeypatch.setenv("WATTTIME_PASSWORD", PASSWORD)
    assert watttime.configured()


def test_base_url_defaults_to_the_public_api(monkeypatch):
    monkeypatch.delenv("WATTTIME_BASE_URL", raising=False)
    assert watttime.base_url() == "https://api.watttime.org"
    monkeypatch.setenv("WATTTIME_BASE_URL", "http://mirror.example/")
    assert watttime.base_url() == "http://mirror.example"
