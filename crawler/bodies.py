"""Checks every parser makes on a body before reading its format: not empty, not the HTML
error page some ISOs serve with status 200, for JSON feeds valid JSON, and for line-based
formats whether the download stopped inside the last line."""
from __future__ import annotations

import json
import re

from crawler.model import Anomaly, ParseError, Payload, note

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


def complete_lines(text: str, source: str, anomalies: list[Anomaly], whole: bool | None = None,
                   where: str = "") -> str:
    """`text` without a cut last line. A download that stopped inside the last line leaves a
    row whose last value may be a cut number (2395 read as 2): that line is dropped and noted
    'truncated', the complete lines before it kept. `whole` says whether the body is complete
    (its format's own closing mark found); by default a body is whole when nothing but spaces
    follows its last line break, as in every complete recording of the formats relying on
    it. A body with no line break at all is returned as it is: it is a header at most, which
    the parser's header check judges."""
    end = max(text.rfind("\n"), text.rfind("\r"))
    cut = text[end + 1:]
    if whole is None:
        whole = not cut.strip()  # spaces after the last line break are no cut line
    if whole or end < 0:
        return text
    if cut.strip():
        note(anomalies, source, "truncated", f"{where}the body ends inside the line {cut[:60]!r} "
             "(truncated download?): skipped")
    else:
        note(anomalies, source, "truncated", f"{where}the body ends before its closing line "
             "(truncated download?): the complete lines kept")
    return text[:end + 1]
