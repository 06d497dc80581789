"""External access: API keys (X-API-Key header; required when API_KEYS_REQUIRED=1), a per-key
rate limit shared by every worker of the host, and /metrics only from METRICS_ALLOW. One
before_request hook; refusals are 401/403/429 in the API's JSON error shape, with Retry-After
on 429. The key's name goes into the WSGI environ as `energy_data.api_key`, which the
gunicorn access log prints (deploy/gunicorn.conf.py)."""
from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time

from flask import Flask, request

from api.configuration import DEFAULT_METRICS_ALLOW, DEFAULT_TRUSTED_PROXIES, networks as _networks
from api.faces.native.errors import error_answer
from api.ratelimit import RateLimiter, RateLimitUnavailable
from database.api_keys import ApiKey, live_key
from database.pool import Pool

OPEN_PATHS = ("/health",)  # anonymous even when keys are required: load balancers probe it
METRICS_PATH = "/metrics"
KEY_HEADER = "X-API-Key"
ENVIRON_KEY = "energy_data.api_key"

log = logging.getLogger(__name__)


def _within(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


class KeyCache:
    """Keys checked in the last `ttl` seconds, per worker: a revoked key stops working within
    that time (API_KEY_CACHE_SECONDS, default 30) without a query per request."""

    def __init__(self, pool: Pool, ttl: float):
        self.pool, self.ttl = pool, ttl
        self._entries: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, key: str) -> ApiKey | None:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit and hit[0] > now:
            return hit[1]
        with self.pool.cursor() as cur:
            found = live_key(cur, key)
        with self._lock:
            if len(self._entries) > 10_000:  # a flood of made-up keys cannot grow it for ever
                self._entries.clear()
            self._entries[key] = (now + self.ttl, found)
        return found


class AccessPolicy:
    def __init__(self, pool: Pool, env: dict[str, str]):
        self.keys_required = env.get("API_KEYS_REQUIRED", "0") == "1"
        self.metrics_allow = _networks(env.get("METRICS_ALLOW", DEFAULT_METRICS_ALLOW))
        self.trusted_proxies = _networks(env.get("TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES))
        self.cache = KeyCache(pool, float(env.get("API_KEY_CACHE_SECONDS", "30")))
        self.limiter = RateLimiter()

    def client_address(self) -> str:
        """The caller's address: behind a trusted proxy (nginx), the address it appended last
        to X-Forwarded-For (what a client writes there itself comes before it)."""
        address = request.remote_addr or ""
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded and _within(address, self.trusted_proxies):
            address = forwarded.split(",")[-1].strip()
        return address

    def check(self):
        """None to let the request through, else the refusal."""
        path = route_path()
        if path in OPEN_PATHS:
            return None
        if path == METRICS_PATH and not _within(self.client_address(), self.metrics_allow):
            return refusal(403, "forbidden", "/metrics is served only to the addresses in METRICS_ALLOW")
        key = request.headers.get(KEY_HEADER, "").strip()
        if not key:
            if self.keys_required and path != METRICS_PATH:
                return refusal(401, "api_key_required", f"send your API key in the {KEY_HEADER} header")
            return None
        found = self.cache.lookup(key)
        if found is None:
            return refusal(401, "invalid_api_key", "this API key is unknown or has been revoked")
        request.environ[ENVIRON_KEY] = found.name
        try:
            wait = self.limiter.hit(f"key:{found.name}", found.requests_per_minute)
        except RateLimitUnavailable as exc:  # checked at start-up; the file may still go away later
            log.error("%s", exc)
            return refusal(503, "rate_limit_unavailable", "requests with a key cannot be counted now; retry later")
        if wait is not None:
            return refusal(429, "rate_limited", f"more than {found.requests_per_minute} requests a minute with "
                                                f"the key {found.name!r}; retry in {wait} s", retry_after=wait)
        return None


def route_path() -> str:
    """The route a request reaches, whatever path spelled it: the matched rule (so /metrics/
    is /metrics: routes take both forms), else the path without its trailing slash."""
    path = request.url_rule.rule if request.url_rule is not None else request.path
    return path.rstrip("/") or "/"


def refusal(status: int, code: str, message: str, retry_after: int | None = None):
    response = error_answer(status, code, message)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    if status == 401:
        response.headers["WWW-Authenticate"] = f'ApiKey header="{KEY_HEADER}"'
    return response


_HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def document(openapi: dict) -> dict:
    """Declare the key header and the refusals of this module in the OpenAPI document."""
    schemes = openapi.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["ApiKey"] = {"type": "apiKey", "in": "header", "name": KEY_HEADER,
                         "description": "needed when the server sets API_KEYS_REQUIRED=1 (not for /health); "
                                        "a key sent is always checked and rate-limited"}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    refusals = {"401": "No API key where one is required, or an unknown or revoked key",
                "429": "The key's requests a minute are used up; see Retry-After"}
    for path, operations in openapi.get("paths", {}).items():
        if path in OPEN_PATHS:
            continue
        for method, operation in operations.items():
            if method not in _HTTP_METHODS:
                continue
            operation.setdefault("security", [{}, {"ApiKey": []}])  # optional unless the server requires it
            responses = operation.setdefault("responses", {})
            for status, description in refusals.items():
                responses.setdefault(status, {"description": description, "content": error})
            if path == METRICS_PATH:
                responses.setdefault("403", {"description": "The caller's address is not in METRICS_ALLOW",
                                             "content": error})
    return openapi


def install(app: Flask, pool: Pool) -> None:
    """Check every request against the access policy read from the environment now."""
    policy = AccessPolicy(pool, dict(os.environ))

    @app.before_request
    def check_access():
        return policy.check()
