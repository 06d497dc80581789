"""The crawler's HTTP client: energy_data.http's session (timeouts, retries, User-Agent,
redaction) plus every body handed to an archiver before anyone parses it."""
from __future__ import annotations

import logging
import os
from datetime import date, datetime, timezone
from typing import Callable, Mapping
from urllib.parse import urlencode, urlsplit

import requests

from crawler.memory import Memory
from crawler.model import Payload
from energy_data.http import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, make_session, redact, redact_body

log = logging.getLogger(__name__)

Archiver = Callable[[Payload], None]


class FetchError(RuntimeError):
    """A fetch failed; the message is one readable line with no secret in it."""


class HttpClient:
    """GETs bodies as Payloads. `archive` (if given) receives each body before it is returned.

    Sources that tolerate a partial failure (one EIA respondent of many) call `note_error`
    so that the run is recorded as partial rather than silently complete. `memory` holds what
    the source learned about its account between runs (crawler.memory); `requests` counts the
    requests made (a provider's plan may limit them; the session's retries are not counted).
    """

    def __init__(self, archive: Archiver | None = None, session: requests.Session | None = None,
                 memory: Memory | None = None):
        self.archive = archive
        self.session = session or make_session()
        self.memory = memory or Memory()
        self.errors: list[str] = []
        self.requests = 0

    def note_error(self, message: str) -> None:
        self.errors.append(redact(message))
        log.warning(redact(message))

    def get(self, url: str, params: Mapping[str, object] | None = None, **kwargs) -> Payload:
        """GET `url`; see `request`."""
        return self.request("GET", url, params, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, object] | None = None,
        secret_params: Mapping[str, str] | None = None,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        accept_status: tuple[int, ...] = (200,),
    ) -> Payload:
        """Fetch `url`; FetchError unless the final status is in `accept_status`.

        `secret_params` are sent but shown as REDACTED in the payload name; header values
        (subscription keys) and `auth` are never shown at all.
        """
        params = dict(params or {})
        shown_url = _url_with(url, {**params, **{k: "REDACTED" for k in (secret_params or {})}})
        self.requests += 1
        try:
            response = self.session.request(
                method,
                url,
                params={**params, **(secret_params or {})},
                data=data,
                headers=headers,
                auth=auth,
                timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
            )
        except requests.ConnectionError as exc:
            raise FetchError(f"unreachable: {urlsplit(url).netloc} ({_root_cause(exc)})") from None
        except requests.Timeout:
            raise FetchError(f"timed out after {READ_TIMEOUT_S}s: {shown_url}") from None
        except requests.RequestException as exc:
            raise FetchError(redact(f"request failed: {shown_url}: {exc}")) from None
        # A body to be archived loses every secret first (EIA echoes the api_key in it), so the
        # stored copy, its hash and what the parser reads are the same redacted bytes.
        payload = Payload(
            body=redact_body(response.content) if self.archive is not None else response.content,
            name=shown_url,
            fetched_at=datetime.now(timezone.utc),
            content_type=response.headers.get("Content-Type"),
            http_status=response.status_code,
        )
        if self.archive is not None:
            self.archive(payload)
        if response.status_code not in accept_status:
            raise FetchError(f"HTTP {response.status_code} from {shown_url}")
        return payload


def _url_with(url: str, params: Mapping[str, object]) -> str:
    if not params:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params, doseq=True)}"


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a connection error, without URLs (which may hold secrets)."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    text = str(exc)
    for marker in ("Failed to resolve", "Name or service not known", "Connection refused",
                   "Temporary failure in name resolution", "Network is unreachable"):
        if marker in text:
            return marker.lower()
    return redact(text.split(": ", 1)[-1])[:200]


def base_url(source: str, default: str) -> str:
    """The source's endpoint root; `<SOURCE>_BASE_URL` points it at a mirror (or a test server)."""
    return os.environ.get(f"{source}_BASE_URL", default).rstrip("/")


def fetch_days(client: HttpClient, source: str, days: list[date], fetch_day: Callable[[date], Payload],
               may_be_missing: Callable[[date], bool] = lambda day: False) -> list[Payload]:
    """One body per day. A day that fails is noted on the client (the run is partial) unless
    `may_be_missing` says it may not be published yet; FetchError only when nothing came,
    said once when every day failed the same way (the host is down)."""
    payloads, failures = [], []
    for day in days:
        try:
            payloads.append(fetch_day(day))
        except FetchError as exc:
            failures.append((day, str(exc)))
    if not payloads:
        raise FetchError("; ".join(dict.fromkeys(message for _, message in failures)))
    for day, message in failures:
        if may_be_missing(day):
            log.info("%s %s: not published yet: %s", source, day, message)
        else:
            client.note_error(f"{source} {day:%Y-%m-%d}: {message}")
    return payloads
