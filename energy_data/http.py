"""The one way this project speaks HTTP to the outside (crawler sources, WattTime, boundary
downloads): timeouts, retries with backoff for 429/5xx, an honest User-Agent, and secrets
kept out of every URL, log line and error text."""
from __future__ import annotations

import logging
import os
import re

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from energy_data import __version__

log = logging.getLogger(__name__)

USER_AGENT = (
    f"energy-data/{__version__} (carbon-intensity crawler; "
    "https://github.com/energy-data/energy-data)"
)
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 60
# Environment variables whose values must never be written anywhere.
SECRET_VARIABLES = ("EIA_API_KEY", "PJM_API_KEY", "ISONE_PASSWORD", "WATTTIME_PASSWORD", "ELECTRICITYMAPS_TOKEN",
                    "ENTSOE_TOKEN", "OPENELECTRICITY_TOKEN")
# Longest wait a Retry-After may impose per retry (urllib3's default is 6 hours): a crawl run
# holds the crawl lock, so a long wait would hold every other source back; the run fails
# instead and the source is tried again after its retry delay.
RETRY_AFTER_MAX_S = 30
_SECRET_PARAM = re.compile(r"(?i)((?:api_key|apikey|subscription-key|password|token)=)[^&\s'\"]+")
# JSON fields that carry a credential (EIA echoes `api_key` in every body it returns).
_SECRET_FIELD = re.compile(rb'(?i)("(?:api_?key|subscription_?key|subscription-key|password|access_token|token)"\s*:\s*")'
                           rb'(?:[^"\\]|\\.)*(")')
_SECRET_PARAM_BYTES = re.compile(_SECRET_PARAM.pattern.encode())


def redact(text: str) -> str:
    """Remove configured secret values and secret-looking query parameters from text."""
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "REDACTED")
    return _SECRET_PARAM.sub(r"\1REDACTED", text)


def redact_body(body: bytes) -> bytes:
    """A fetched body without configured secret values, credential-like JSON fields or query
    parameters: what may be hashed, archived and parsed."""
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            body = body.replace(value.encode(), b"REDACTED")
    body = _SECRET_FIELD.sub(rb"\1REDACTED\2", body)
    return _SECRET_PARAM_BYTES.sub(rb"\1REDACTED", body)


class RedactingFilter(logging.Filter):
    """Installed on log handlers so that no library's log line leaks a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _retry_policy() -> Retry:
    return Retry(
        total=4,
        connect=1,  # a host that cannot be resolved or reached rarely is a moment later
        read=2,
        status=3,
        backoff_factor=1.0,
        backoff_max=20,
        status_forcelist=(429, 500, 502, 503, 504),
        # The POSTs we send (ISO-NE's wsclient) are reads, safe to repeat.
        allowed_methods=frozenset({"GET", "POST"}),
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX_S,
        raise_on_status=False,
    )


class TimedSession(requests.Session):
    """A session whose requests always time out: a missing or None timeout (which requests
    takes as "wait for ever") becomes the default, so no caller can hang on a silent server."""

    def request(self, method, url, *args, **kwargs):  # noqa: D102 (requests' signature)
        kwargs["timeout"] = bounded_timeout(kwargs.get("timeout"))
        return super().request(method, url, *args, **kwargs)


def bounded_timeout(timeout) -> tuple[float, float]:
    """(connect, read) seconds: what was asked for, a missing or None part the default."""
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return (connect or CONNECT_TIMEOUT_S, read or READ_TIMEOUT_S)


def make_session() -> requests.Session:
    session = TimedSession()
    adapter = HTTPAdapter(max_retries=_retry_policy())
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session
