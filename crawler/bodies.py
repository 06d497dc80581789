"""Checks every parser makes on a body before reading its format: not empty, not the HTML
error page some ISOs serve with status 200, and, for JSON feeds, valid JSON."""
from __future__ import annotations

import json
import re

from crawler.model import ParseError, Payload

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def body_text(payload: Payload, expected: str = "CSV", source: str | None = None) -> str:
    """The body as text; ParseError for an empty body or an HTML page served in its place."""
    prefix = f"{source}: " if source else ""
    text = payload.body.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise ParseError(f"{prefix}empty body: no data at all")
    head = text.lstrip()[:2048].lower()
    if head.startswith(("<!doctype", "<html", "<?xml")) or "<html" in head:
        title = _TITLE.search(text)
        shown = " ".join(title.group(1).split())[:120] if title else ""
        raise ParseError(f"{prefix}HTML page, not {expected}" + (f" (title: {shown!r})" if shown else ""))
    return text


def load_json(payload: Payload, source: str) -> object:
    """The body as JSON; ParseError (prefixed with the source) for anything else."""
    text = body_text(payload, "JSON", source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{source}: body is not JSON, truncated download? ({exc}; "
                         f"starts {text.strip()[:60]!r})") from None
