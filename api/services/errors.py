"""The one error the core raises: a request it cannot answer as asked.

It says what is wrong (`code`, a machine-readable word, and `message`, which says what to
change), which parameter or body field is at fault, and what kind of refusal it is. Each face
renders it in its own format and status: the native {"error": {"code", "message",
"parameter"}}, the original service's {"error": message, "code"}, the Carbon Aware SDK's
RFC 7807 problem details (api/faces/). Beside it the core lets one other error through:
DatabaseUnavailable, when the database does not answer (each face answers it with a 503)."""
from __future__ import annotations

from database.connection import DatabaseUnavailable

__all__ = ["DomainError", "DatabaseUnavailable", "KINDS"]

INVALID = "invalid"              # the input is wrong, or inconsistent with itself
TOO_LARGE = "too_large"          # more work, data or range than one request may ask for
NOT_SUPPORTED = "not_supported"  # a well-formed request this service does not answer
NOT_FOUND = "not_found"          # no such region, place or source, or no data to answer from
NOT_COVERED = "not_covered"      # a place in a grid zone that no source here covers
UNAVAILABLE = "unavailable"      # something the answer needs is not installed here
KINDS = (INVALID, TOO_LARGE, NOT_SUPPORTED, NOT_FOUND, NOT_COVERED, UNAVAILABLE)


class DomainError(Exception):
    """A request the core cannot answer as asked; `problems` names several parameters at fault
    at once (parameter -> messages), when there are."""

    def __init__(self, code: str, message: str, parameter: str | None = None, kind: str = INVALID,
                 problems: dict[str, list[str]] | None = None):
        if kind not in KINDS:
            raise ValueError(f"unknown kind of error {kind!r}")
        super().__init__(message)
        self.code, self.message, self.parameter, self.kind = code, message, parameter, kind
        self.problems = problems

    def at(self, parameter: str, kind: str | None = None) -> DomainError:
        """The same error about a field of a request body: its message starts with the field."""
        return DomainError(self.code, f"{parameter}: {self.message}", parameter, kind or self.kind)
