"""A real HTTP server on loopback that stands in for a remote ISO/EIA endpoint in tests.

Routes map a path (without query string) to a response; every request is logged so tests
can assert what the crawler asked for. Used with the <SOURCE>_BASE_URL overrides.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Response:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/plain"
    delay_s: float = 0.0
    # Serve these statuses first, one per request, before the real response (retry tests).
    fail_first: list[int] = field(default_factory=list)
    # Headers sent with those failures (Retry-After for rate-limit tests).
    fail_headers: dict[str, str] = field(default_factory=dict)
    # The body of those failures (a provider's own error page), and its content type.
    fail_body: bytes = b"busy"
    fail_content_type: str = "text/plain"


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    method: str = "GET"
    form: dict[str, list[str]] = field(default_factory=dict)


class FakeISO:
    def __init__(self) -> None:
        self.routes: dict[str, Response] = {}
        # Routes that also match query parameters (one path, a body per zone): checked first.
        self.query_routes: dict[str, list[tuple[dict[str, str], Response]]] = {}
        self.requests: list[Request] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._answer("GET", {})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self._answer("POST", parse_qs(self.rfile.read(length).decode()))

            def _answer(self, method: str, form: dict[str, list[str]]) -> None:
                parts = urlsplit(self.path)
                fake.requests.append(Request(parts.path, parse_qs(parts.query), dict(self.headers), method, form))
                response = fake.match(parts.path, parse_qs(parts.query))
                if response is None:
                    self._send(404, b"<html><body>Not Found</body></html>", "text/html")
                    return
                if response.fail_first:
                    self._send(response.fail_first.pop(0), response.fail_body, response.fail_content_type,
                               response.fail_headers)
                    return
                if response.delay_s:
                    time.sleep(response.delay_s)
                self._send(response.status, response.body, response.content_type)

            def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeISO":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def serve(self, path: str, body: bytes, query: dict[str, str] | None = None, **kwargs: object) -> None:
        """Answer `path` with `body`; with `query`, only requests carrying those parameters."""
        if "fail_first" in kwargs:  # each route fails on its own count
            kwargs["fail_first"] = list(kwargs["fail_first"])
        if query is None:
            self.routes[path] = Response(body=body, **kwargs)
        else:
            self.query_routes.setdefault(path, []).append((query, Response(body=body, **kwargs)))

    def match(self, path: str, query: dict[str, list[str]]) -> Response | None:
        for wanted, response in self.query_routes.get(path, []):
            if all(query.get(k) == [v] for k, v in wanted.items()):
                return response
        return self.routes.get(path)
