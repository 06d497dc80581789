"""Fitted forecast models (migration 0022): store one, read the newest of a series, keep the
newest few. Every function runs in the caller's transaction."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg2.extensions

Cursor = psycopg2.extensions.cursor

KEEP_PER_SERIES = 3  # older fits are deleted by prune_models


@dataclass(frozen=True)
class StoredModel:
    """A fitted model as stored: `body` is what the model's to_bytes() gave."""

    id: int
    region_id: int
    source_id: int
    model_name: str
    model_version: str
    fitted_at: datetime
    training_start: datetime
    training_end: datetime
    inputs: dict
    validation: dict
    fit_seconds: float
    body: bytes


_COLUMNS = ("id, region_id, source_id, model_name, model_version, fitted_at, training_start, training_end, "
            "inputs, validation, fit_seconds, body")


def save_model(cur: Cursor, *, region_id: int, source_id: int, model_name: str, model_version: str,
               training_start: datetime, training_end: datetime, inputs: dict, validation: dict,
               fit_seconds: float, body: bytes) -> int:
    """Store a fit; its id."""
    cur.execute(
        "INSERT INTO forecast_model (region_id, source_id, model_name, model_version, training_start, training_end, "
        "inputs, validation, fit_seconds, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (region_id, source_id, model_name, model_version, training_start, training_end,
         json.dumps(inputs), json.dumps(validation), fit_seconds, psycopg2.Binary(body)))
    return cur.fetchone()[0]


def newest_model(cur: Cursor, region_id: int, source_id: int, model_name: str,
                 model_version: str | None = None) -> StoredModel | None:
    """The newest fit of a series by that model (and version, if given), or None."""
    version = "AND model_version = %(version)s " if model_version is not None else ""
    cur.execute(f"SELECT {_COLUMNS} FROM forecast_model WHERE region_id = %(region)s AND source_id = %(source)s "
                f"AND model_name = %(name)s {version}ORDER BY fitted_at DESC, id DESC LIMIT 1",
                {"region": region_id, "source": source_id, "name": model_name, "version": model_version})
    row = cur.fetchone()
    return _stored(row) if row else None


def newest_model_ref(cur: Cursor, region_id: int, source_id: int, model_name: str,
                     trained_before: datetime) -> tuple[int, datetime] | None:
    """(id, fitted_at) of the newest fit of a series by that model whose training hours all end
    by `trained_before` (a forecast issued then may use it: it saw nothing later), without its
    body (a request asks this every time and loads a body only for an id it has not loaded
    yet); None when there is none."""
    cur.execute("SELECT id, fitted_at FROM forecast_model WHERE region_id = %s AND source_id = %s "
                "AND model_name = %s AND training_end + interval '1 hour' <= %s "
                "ORDER BY fitted_at DESC, id DESC LIMIT 1", (region_id, source_id, model_name, trained_before))
    row = cur.fetchone()
    return (row[0], row[1]) if row else None


def model_by_id(cur: Cursor, model_id: int) -> StoredModel | None:
    """One stored fit, body included, or None if it was pruned."""
    cur.execute(f"SELECT {_COLUMNS} FROM forecast_model WHERE id = %s", (model_id,))
    row = cur.fetchone()
    return _stored(row) if row else None


def model_fits(cur: Cursor, region_id: int | None = None) -> list[StoredModel]:
    """The newest fit of every series (of one region, if given), without their bodies' use."""
    cur.execute(f"SELECT DISTINCT ON (region_id, source_id, model_name) {_COLUMNS} FROM forecast_model "
                "WHERE %(region)s::smallint IS NULL OR region_id = %(region)s "
                "ORDER BY region_id, source_id, model_name, fitted_at DESC, id DESC", {"region": region_id})
    return [_stored(row) for row in cur.fetchall()]


def prune_models(cur: Cursor, keep: int = KEEP_PER_SERIES) -> int:
    """Delete all but the newest `keep` fits of each series and model; how many went."""
    cur.execute(
        "DELETE FROM forecast_model WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER ("
        "PARTITION BY region_id, source_id, model_name ORDER BY fitted_at DESC, id DESC) AS n FROM forecast_model) "
        "ranked WHERE n > %s)", (keep,))
    return cur.rowcount


def _stored(row: tuple) -> StoredModel:
    *head, body = row
    return StoredModel(*head, bytes(body))
