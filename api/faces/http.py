"""What every face shares over HTTP: the core of the app handling a request, JSON answers
(with HTTP caching of the settled past), and request input bounded before it is parsed or
looked up: JSON bodies of at most MAX_BODY_BYTES nested at most MAX_JSON_DEPTH deep (a 2 kB
body nested ~980 levels deep was a RecursionError, a 500), and no control character in any
identifier: query values, path parts, body strings (`CISO\\u0000` resolved to CISO). Each face
renders the DomainError raised here in its own format."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson
from flask import Flask, Response, current_app, request

from api.models.times import utc_now
from api.services import Services
from api.services.errors import (INVALID, NOT_COVERED, NOT_FOUND, NOT_SUPPORTED, TOO_LARGE, UNAVAILABLE,
                                 DomainError)

# The HTTP status of each kind of DomainError, for the faces that answer it plainly (native, legacy).
HTTP_STATUS = {INVALID: 400, TOO_LARGE: 400, NOT_SUPPORTED: 400, NOT_FOUND: 404, NOT_COVERED: 404, UNAVAILABLE: 503}
_CORE = "energy_data"
_OPENAPI = "energy_data.openapi"
# ISOs and EIA revise the last day or two; older answers are final enough to cache.
FINAL_AFTER = timedelta(days=3)
MAX_BODY_BYTES = 1_000_000
# The deepest body any route takes is 4 levels (a list of workloads, each with a list of
# candidate locations); a few more leave room without letting a parser recurse far.
MAX_JSON_DEPTH = 10

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_OPEN = np.zeros(256, np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


# -- the app's core ---------------------------------------------------------------------------

def install(app: Flask, services: Services, openapi: dict) -> None:
    app.extensions[_CORE] = services
    app.extensions[_OPENAPI] = openapi


def core() -> Services:
    """The core (database pool, locator) of the app handling the current request."""
    return current_app.extensions[_CORE]


def openapi() -> dict:
    """The app's OpenAPI document."""
    return current_app.extensions[_OPENAPI]


# -- answers ----------------------------------------------------------------------------------

def json_answer(body: Any, end: datetime | None = None) -> Response:
    """A JSON response; answers about the settled past get an ETag, long caching and 304s."""
    # orjson: a week of 5-minute points encodes in a fraction of json.dumps' time; NaN and
    # infinities (never stored, but possible in arithmetic) come out as null.
    payload = orjson.dumps(body)
    response = current_app.response_class(payload, mimetype="application/json")
    if end is not None and end <= utc_now() - FINAL_AFTER:
        response.headers["Cache-Control"] = "public, max-age=86400"
    else:
        response.headers["Cache-Control"] = "public, max-age=60"
    response.set_etag(hashlib.sha256(payload).hexdigest()[:32])
    return response.make_conditional(request)


def no_store_json(body: Any, status: int = 200) -> Response:
    """A JSON answer that depends on the request body (and the clock): never cached."""
    response = current_app.response_class(orjson.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


# -- bounded input ----------------------------------------------------------------------------

def json_body() -> Any | None:
    """The request's JSON body; None when there is none or it is not JSON (no JSON content
    type, or not parseable); DomainError naming the bound it passes (size, depth) or the
    string holding a control character."""
    if not request.is_json:
        return None
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise _too_large(length)
    data = request.stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise _too_large(None)
    depth = json_depth(data)
    if depth > MAX_JSON_DEPTH:
        raise DomainError("body_too_deep", f"the body nests arrays and objects {depth} levels deep; at most "
                          f"{MAX_JSON_DEPTH} are accepted", "body", TOO_LARGE)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    where = control_character_path(value)
    if where is not None:
        raise DomainError("invalid_body", f"{where}: control characters are not allowed in a string", where)
    return value


def _too_large(length: int | None) -> DomainError:
    size = f"{length:,} bytes" if length is not None else "over that"
    return DomainError("body_too_large", f"the body is {size}; at most {MAX_BODY_BYTES:,} bytes are accepted: "
                       "send fewer workloads or requests at once", "body", TOO_LARGE)


def json_depth(data: bytes) -> int:
    """How deep arrays and objects nest in JSON text, counted without parsing it: brackets
    outside strings (a malformed text gets some count; the parser refuses it anyway)."""
    bare = np.frombuffer(_JSON_STRING.sub(b"", data), np.uint8)
    if bare.size == 0:
        return 0
    return int(np.cumsum(_OPEN[bare], dtype=np.int64).max(initial=0))


def has_control_character(text: str) -> bool:
    return _CONTROL.search(text) is not None


def control_character_path(value: Any) -> str | None:
    """The dotted path of the first string (key or value) holding a control character, else
    None; without recursion (the depth is bounded anyway)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if has_control_character(item):
                return path or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                if has_control_character(key):
                    return where
                stack.append((where, child))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), child) for i, child in enumerate(item))
    return None


def control_character_parameter(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The first (name, value) pair of a query or path with a control character: its name."""
    for name, value in pairs:
        if has_control_character(name) or has_control_character(str(value)):
            return name
    return None


def request_parameters() -> list[tuple[str, str]]:
    """Every query parameter and path part of the request, as (name, value)."""
    return list(request.args.items(multi=True)) + list((request.view_args or {}).items())
