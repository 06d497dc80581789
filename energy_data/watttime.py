"""The one WattTime client of the project: login, the cached bearer token and region-from-loc.

Shared below api/ and crawler/: the API falls back on region-from-loc for "which grid region is
here" when the offline boundaries have no answer; the crawler's WATTTIME source
(crawler/parsers/watttime.py) takes its bearer token from here for historical, forecast and
signal-index. Both only when WATTTIME_USERNAME and WATTTIME_PASSWORD are set. The API as
documented at https://docs.watttime.org (v3):
- GET {base}/login with HTTP basic auth answers {"token": "..."}; the token is a bearer
  token that expires after 30 minutes; /login is limited to 100 requests per 5 minutes,
  so the token is cached and reused. An expired or revoked token is refused with 401 or 403
  (the 403 as nginx's HTML page, as aiowatttime notes; the Carbon Aware SDK logs in again on
  both): the client logs in again, once, and retries.
- GET {base}/v3/region-from-loc?latitude=..&longitude=..&signal_type=co2_moer with
  "Authorization: Bearer <token>" answers {"region": "CAISO_NORTH", "region_full_name":
  ..., "signal_type": "co2_moer"}.
The password and the token never appear in logs or error messages.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from energy_data.http import make_session, redact

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.watttime.org"
SIGNAL_TYPE = "co2_moer"
TOKEN_LIFETIME_S = 30 * 60
TOKEN_MARGIN_S = 60  # renew a minute early so a token never expires in flight
TIMEOUT_S = (5, 15)  # connect, read: this runs inside an API request
REFUSED = (401, 403)  # a token refused: expired or revoked (or, after a fresh login, a region outside the plan)


class WattTimeError(RuntimeError):
    """WattTime could not answer; the message is one readable line without secrets."""


def configured() -> bool:
    """Whether WattTime credentials are set (WATTTIME_USERNAME and WATTTIME_PASSWORD)."""
    return bool(os.environ.get("WATTTIME_USERNAME") and os.environ.get("WATTTIME_PASSWORD"))


def base_url() -> str:
    """WATTTIME_BASE_URL (a mirror or the tests' loopback server), else the public API."""
    return os.environ.get("WATTTIME_BASE_URL", DEFAULT_BASE_URL).rstrip("/")


class WattTimeClient:
    """Logs in on first use and reuses the bearer token until shortly before it expires."""

    def __init__(self, username: str, password: str, base: str = DEFAULT_BASE_URL,
                 session: requests.Session | None = None, clock: Callable[[], float] = time.monotonic):
        self.base = base.rstrip("/")
        self._auth = (username, password)
        self._session = session or _session()
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def region_from_location(self, latitude: float, longitude: float) -> str | None:
        """WattTime's region name at this point (e.g. "CAISO_NORTH"), or None where it has none."""
        params = {"latitude": latitude, "longitude": longitude, "signal_type": SIGNAL_TYPE}
        response = self._get("/v3/region-from-loc", params, self._token_header())
        if response.status_code in REFUSED:  # expired or revoked: log in again, once
            response = self._get("/v3/region-from-loc", params, self._token_header(renew=True))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise WattTimeError(f"WattTime region-from-loc answered HTTP {response.status_code}"
                                f"{self._detail(response)}")
        region = _json(response).get("region")
        if not isinstance(region, str) or not region:
            raise WattTimeError("WattTime region-from-loc answered without a region")
        return region

    def auth_header(self, renew: bool = False) -> dict[str, str]:
        """{"Authorization": "Bearer <token>"}: the cached token, logging in first when there is
        none, it is about to expire, or `renew` (the last one was refused: 401 or 403)."""
        return self._token_header(renew)

    def _token_header(self, renew: bool = False) -> dict[str, str]:
        with self._lock:
            if renew or self._token is None or self._clock() >= self._expires_at:
                self._token = self._login()
                self._expires_at = self._clock() + TOKEN_LIFETIME_S - TOKEN_MARGIN_S
            return {"Authorization": f"Bearer {self._token}"}

    def _login(self) -> str:
        response = self._get("/login", None, None, auth=self._auth)
        if response.status_code in (401, 403):
            raise WattTimeError(f"WattTime login refused (HTTP {response.status_code}): "
                                "check WATTTIME_USERNAME and WATTTIME_PASSWORD")
        if response.status_code != 200:
            raise WattTimeError(f"WattTime login answered HTTP {response.status_code}{self._detail(response)}")
        token = _json(response).get("token")
        if not isinstance(token, str) or not token:
            raise WattTimeError("WattTime login answered without a token")
        log.info("WattTime: logged in as %s", self._auth[0])
        return token

    def _get(self, path: str, params: dict | None, headers: dict | None,
             auth: tuple[str, str] | None = None) -> requests.Response:
        try:
            return self._session.get(f"{self.base}{path}", params=params, headers=headers, auth=auth,
                                     timeout=TIMEOUT_S)
        except requests.Timeout:
            raise WattTimeError(f"WattTime timed out on {path}") from None
        except requests.RequestException as exc:
            reason = type(exc).__name__  # the text may quote request details; the type is enough
            raise WattTimeError(f"WattTime unreachable at {self.base} ({reason})") from None

    def _detail(self, response: requests.Response) -> str:
        """The start of an error body, for the message, with any secret taken out."""
        text = redact(" ".join(response.text.split()))
        for secret in (self._auth[1], self._token):
            if secret:
                text = text.replace(secret, "REDACTED")
        text = text[:160]  # cut after redacting, so no secret is left half-shown
        return f": {text}" if text else ""


def _session() -> requests.Session:
    """The crawler's session (User-Agent), with retries short enough for a request in flight:
    the crawler's policy honours Retry-After, which could hold an API worker for minutes."""
    session = make_session()
    retry = Retry(total=2, backoff_factor=0.3, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=frozenset({"GET"}), respect_retry_after_header=False, raise_on_status=False)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        raise WattTimeError(f"WattTime answered HTTP {response.status_code} with a body that is not JSON") from None
    if not isinstance(body, dict):
        raise WattTimeError("WattTime answered JSON that is not an object")
    return body


_clients: dict[tuple[str, str, str], WattTimeClient] = {}
_clients_lock = threading.Lock()


def client() -> WattTimeClient:
    """The process's client for the configured credentials and base URL (WattTimeError if unset)."""
    if not configured():
        raise WattTimeError("WattTime is not configured: set WATTTIME_USERNAME and WATTTIME_PASSWORD")
    key = (base_url(), os.environ["WATTTIME_USERNAME"], os.environ["WATTTIME_PASSWORD"])
    with _clients_lock:
        if key not in _clients:
            _clients.clear()  # credentials changed: the old token is of no use
            _clients[key] = WattTimeClient(key[1], key[2], key[0])
        return _clients[key]


def region_from_location(latitude: float, longitude: float) -> str | None:
    """WattTime's region name at this point with the configured credentials, or None where it has none."""
    return client().region_from_location(latitude, longitude)
