"""Fitted forecast models in PostgreSQL (database/forecast_models.py, migration 0022): a fit is
stored with what it was trained on and read back byte for byte; the newest fit answers, and
pruning keeps the newest few of each series."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from database.forecast_models import model_fits, newest_model, prune_models, save_model
from database.reported import source_id

T = datetime(2025, 3, 10, tzinfo=timezone.utc)


@pytest.fixture
def cur(db):
    db.autocommit = False
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO source (name, frequency, interval_minutes) VALUES ('EIA', '1 hour', 60) "
                       "ON CONFLICT (name) DO NOTHING")
        yield cursor
    db.rollback()


def region_id(cur, code: str) -> int:
    cur.execute("SELECT id FROM region WHERE code = %s", (code,))
    return cur.fetchone()[0]


def fit(cur, region: str, body: bytes, days: int, version: str = "1") -> int:
    return save_model(cur, region_id=region_id(cur, region), source_id=source_id(cur, "EIA"), model_name="mix_gbdt",
                      model_version=version, training_start=T - timedelta(days=540),
                      training_end=T + timedelta(days=days), inputs={"fuels": ["gas", "wind"], "weather": ["wind_speed_10m"]},
                      validation={"mape_24h": 7.5}, fit_seconds=42.0, body=body)


def test_a_fit_is_read_back_whole_and_the_newest_answers(cur):
    body = bytes(range(256)) * 10  # binary, NUL bytes included
    fit(cur, "ERCO", b"old", 0)
    fit(cur, "ERCO", body, 1)
    newest = newest_model(cur, region_id(cur, "ERCO"), source_id(cur, "EIA"), "mix_gbdt")
    assert newest.body == body and newest.training_end == T + timedelta(days=1)
    assert newest.inputs == {"fuels": ["gas", "wind"], "weather": ["wind_speed_10m"]}
    assert newest.validation == {"mape_24h": 7.5} and newest.fit_seconds == 42.0
    assert newest_model(cur, region_id(cur, "ERCO"), source_id(cur, "EIA"), "mix_gbdt", "2") is None
    assert newest_model(cur, region_id(cur, "PJM"), source_id(cur, "EIA"), "mix_gbdt") is None
    assert [m.body for m in model_fits(cur, region_id(cur, "ERCO"))] == [body]


def test_pruning_keeps_the_newest_fits_of_each_series(cur):
    for day in range(5):
        fit(cur, "ERCO", f"erco {day}".encode(), day)
        fit(cur, "PJM", f"pjm {day}".encode(), day)
    assert prune_models(cur, keep=2) == 6
    cur.execute("SELECT r.code, m.body FROM forecast_model m JOIN region r ON r.id = m.region_id ORDER BY 1, 2")
    assert [(code, bytes(body)) for code, body in cur.fetchall()] == [
        ("ERCO", b"erco 3"), ("ERCO", b"erco 4"), ("PJM", b"pjm 3"), ("PJM", b"pjm 4")]
