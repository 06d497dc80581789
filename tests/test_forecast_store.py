"""Storing issued forecasts and measured error (database/forecasts.py) on a real PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg2
import pytest

from api.models import forecast as fc
from database.dimensions import region_ids, sync_source
from database.forecasts import (
    Accuracy,
    accuracy_rows,
    delete_issued_before,
    forecast_issued_at,
    read_accuracy,
    save_accuracy,
    save_forecast,
)

T0 = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def cur(db):
    """A cursor on the emptied test database, with the forecast tables emptied too."""
    with db.cursor() as cursor:
        cursor.execute("DELETE FROM forecast")
        cursor.execute("DELETE FROM forecast_accuracy")
        yield cursor


@pytest.fixture
def ids(cur):
    regions = region_ids(cur)
    return {"CISO": regions["CISO"], "PJM": regions["PJM"],
            "EIA": sync_source(cur, "FCTEST", "test source", timedelta(hours=1), 60),
            "OTHER": sync_source(cur, "FCTEST2", "second test source", timedelta(hours=1), 60)}


def frame(issued_at: datetime, hours: int = 72, offset: float = 0.0, bounds: bool = True) -> pd.DataFrame:
    values = 200.0 + offset + 10 * np.sin(np.arange(hours) / 4)
    return pd.DataFrame({"timestamp": pd.date_range(issued_at, periods=hours, freq="h"), "value": values,
                         "lower": values - 20 if bounds else np.nan, "upper": values + 25 if bounds else np.nan})


def save(cur, ids, issued_at, region="CISO", factor_set="lifecycle", source="EIA", model=fc.MODEL_NAME,
         offset=0.0, **extra):
    return save_forecast(cur, region_id=ids[region], source_id=ids[source], factor_set=factor_set,
                         issued_at=issued_at, history_end=issued_at - timedelta(hours=1), model_name=model,
                         model_version="1", frame=frame(issued_at, offset=offset, bounds=extra.pop("bounds", True)),
                         interval_level=0.8, **extra)


def test_a_forecast_reads_back_as_saved(cur, ids):
    forecast_id = save(cur, ids, T0)
    stored = forecast_issued_at(cur, ids["CISO"], "lifecycle", T0)
    assert stored.id == forecast_id
    assert (stored.region_id, stored.source_id, stored.factor_set) == (ids["CISO"], ids["EIA"], "lifecycle")
    assert (stored.issued_at, stored.history_end) == (T0, T0 - timedelta(hours=1))
    assert (stored.model_name, stored.model_version, stored.fallback_reason, stored.interval_level) == \
        (fc.MODEL_NAME, "1", None, 0.8)
    pd.testing.assert_frame_equal(stored.frame, frame(T0))


def test_the_forecast_issued_at_or_before_a_time(cur, ids):
    for hour in range(3):
        save(cur, ids, T0 + timedelta(hours=hour), offset=hour)
    save(cur, ids, T0 + timedelta(hours=1, minutes=30), factor_set="direct")
    save(cur, ids, T0 + timedelta(hours=1, minutes=30), region="PJM")
    got = forecast_issued_at(cur, ids["CISO"], "lifecycle", T0 + timedelta(hours=1, minutes=59))
    assert got.issued_at == T0 + timedelta(hours=1) and got.frame["value"][0] == 201.0
    newest = forecast_issued_at(cur, ids["CISO"], "lifecycle", T0 + timedelta(hours=2))
    assert newest.issued_at == T0 + timedelta(hours=2)
    assert forecast_issued_at(cur, ids["CISO"], "lifecycle", T0 - timedelta(seconds=1)) is None
    assert forecast_issued_at(cur, ids["CISO"], "direct", T0 + timedelta(hours=5)).factor_set == "direct"


def test_source_and_model_narrow_the_lookup(cur, ids):
    save(cur, ids, T0, source="OTHER")
    save(cur, ids, T0 + timedelta(hours=1), model=fc.SAME_HOUR_YESTERDAY, bounds=False,
         fallback_reason="only 12.0 days of history")
    later = T0 + timedelta(days=1)
    assert forecast_issued_at(cur, ids["CISO"], "lifecycle", later).model_name == fc.SAME_HOUR_YESTERDAY
    assert forecast_issued_at(cur, ids["CISO"], "lifecycle", later, source_id=ids["OTHER"]).issued_at == T0
    assert forecast_issued_at(cur, ids["CISO"], "lifecycle", later, model_name=fc.MODEL_NAME).issued_at == T0
    assert forecast_issued_at(cur, ids["CISO"], "lifecycle", later, source_id=ids["OTHER"],
                              model_name=fc.SAME_HOUR_YESTERDAY) is None


def test_a_fallback_keeps_its_reason_and_has_no_bounds(cur, ids):
    save(cur, ids, T0, model=fc.SAME_HOUR_YESTERDAY, bounds=False, fallback_reason="too little history")
    stored = forecast_issued_at(cur, ids["CISO"], "lifecycle", T0)
    assert stored.fallback_reason == "too little history"
    assert stored.frame[["lower", "upper"]].isna().all().all()
    cur.execute("SELECT count(*) FROM forecast_value WHERE lower_g_per_kwh IS NULL AND upper_g_per_kwh IS NULL")
    assert cur.fetchone()[0] == 72


def test_saving_the_same_forecast_again_replaces_it(cur, ids):
    first = save(cur, ids, T0)
    second = save(cur, ids, T0, offset=50.0)
    assert first == second
    cur.execute("SELECT count(*), min(g_per_kwh) FROM forecast_value WHERE forecast_id = %s", (first,))
    count, low = cur.fetchone()
    assert count == 72 and low >= 240.0
    cur.execute("SELECT count(*) FROM forecast")
    assert cur.fetchone()[0] == 1


def test_deleting_old_forecasts_takes_their_values(cur, ids):
    save(cur, ids, T0)
    save(cur, ids, T0 + timedelta(days=2))
    assert delete_issued_before(cur, T0 + timedelta(days=1)) == 1
    cur.execute("SELECT count(*) FROM forecast_value")
    assert cur.fetchone()[0] == 72


def test_the_lookup_is_served_by_an_index(cur, ids):
    save(cur, ids, T0)
    cur.execute("SET enable_seqscan = off")
    cur.execute("EXPLAIN SELECT id FROM forecast WHERE region_id = %s AND factor_set = 'lifecycle' "
                "AND issued_at <= %s ORDER BY issued_at DESC LIMIT 1", (ids["CISO"], T0))
    plan = "\n".join(row[0] for row in cur.fetchall())
    cur.execute("RESET enable_seqscan")
    assert "Index" in plan and "Sort" not in plan


@pytest.mark.parametrize("bad, message", [
    ({"factor_set": "marginal"}, "factor_set"),
    ({"frame": pd.DataFrame({"timestamp": [T0], "value": [1.0]})}, "lower, upper"),
    ({"frame": pd.DataFrame({"timestamp": [T0], "value": [np.nan], "lower": [0.0], "upper": [1.0]})},
     "without a value"),
])
def test_bad_input_is_refused_before_writing(cur, ids, bad, message):
    args = {"region_id": ids["CISO"], "source_id": ids["EIA"], "factor_set": "lifecycle", "issued_at": T0,
            "history_end": T0 - timedelta(hours=1), "model_name": "m", "model_version": "1", "frame": frame(T0)}
    with pytest.raises(ValueError, match=message):
        save_forecast(cur, **{**args, **bad})


def test_bounds_that_do_not_enclose_the_value_are_rejected(cur, ids):
    crossed = frame(T0).assign(lower=lambda f: f["value"] + 1)
    with pytest.raises(psycopg2.errors.CheckViolation):
        save_forecast(cur, region_id=ids["CISO"], source_id=ids["EIA"], factor_set="lifecycle", issued_at=T0,
                      history_end=T0 - timedelta(hours=1), model_name="m", model_version="1", frame=crossed)


def test_a_model_forecast_round_trips(cur, ids):
    index = pd.date_range("2025-01-01", periods=60 * 24, freq="h", tz="UTC")
    history = pd.Series(300 + 50 * np.sin(index.hour.to_numpy() / 24 * 2 * np.pi)
                        + np.random.default_rng(4).normal(0, 5, len(index)), index=index)
    made = fc.forecast(history, pd.Timestamp(T0), 72)
    save_forecast(cur, region_id=ids["CISO"], source_id=ids["EIA"], factor_set="direct", issued_at=made.issued_at,
                  history_end=made.history_end, model_name=made.model_name, model_version=made.model_version,
                  frame=made.frame, fallback_reason=made.fallback_reason, interval_level=made.interval_level)
    stored = forecast_issued_at(cur, ids["CISO"], "direct", T0 + timedelta(minutes=5))
    pd.testing.assert_frame_equal(stored.frame, made.frame.astype({"timestamp": "datetime64[us, UTC]"}),
                                  check_dtype=False)
    assert stored.model_name == fc.MODEL_NAME and stored.fallback_reason is None


def accuracy(ids, window: int, mape: float, **extra) -> Accuracy:
    return Accuracy(region_id=ids["CISO"], source_id=ids["EIA"], factor_set="lifecycle", model_name=fc.MODEL_NAME,
                    model_version="1", window_hours=window, period_start=T0, period_end=T0 + timedelta(days=30),
                    forecasts=31, mape=mape, mae=mape * 2.5, baseline_name=fc.SAME_HOUR_YESTERDAY,
                    baseline_mape=mape / 0.8, baseline_mae=mape * 3, **extra)


def test_measured_error_is_stored_per_window_and_replaced_by_a_newer_measurement(cur, ids):
    assert save_accuracy(cur, [accuracy(ids, 24, 7.5, interval_coverage=0.81), accuracy(ids, 72, 9.0)]) == 2
    save_accuracy(cur, [accuracy(ids, 24, 7.0)])
    rows = read_accuracy(cur, ids["CISO"])
    assert [(r.window_hours, r.mape, r.interval_coverage) for r in rows] == [(24, 7.0, None), (72, 9.0, None)]
    assert rows[0].measured_at is not None and rows[0].baseline_name == fc.SAME_HOUR_YESTERDAY
    assert read_accuracy(cur, ids["CISO"], factor_set="direct") == []
    assert read_accuracy(cur, ids["PJM"]) == []
    assert len(read_accuracy(cur, ids["CISO"], source_id=ids["EIA"], model_name=fc.MODEL_NAME,
                             model_version="1")) == 2


def test_the_model_s_accuracy_table_is_stored_beside_its_best_baseline(cur, ids):
    index = pd.date_range("2025-01-01", periods=50 * 24, freq="h", tz="UTC")
    history = pd.Series(300 + 50 * np.sin(index.hour.to_numpy() / 24 * 2 * np.pi)
                        + np.random.default_rng(5).normal(0, 5, len(index)), index=index)
    issues = pd.date_range("2025-02-10", periods=5, freq="D", tz="UTC")
    table = fc.accuracy(fc.backtest(history, issues, 48), (24, 48))
    rows = accuracy_rows(table, region_id=ids["PJM"], source_id=ids["EIA"], factor_set="direct",
                         model_name=fc.MODEL_NAME, model_version=fc.MODEL_VERSION,
                         period_start=issues[0], period_end=issues[-1])
    save_accuracy(cur, rows)
    stored = read_accuracy(cur, ids["PJM"], factor_set="direct")
    assert [r.window_hours for r in stored] == [24, 48] and all(r.forecasts == 5 for r in stored)
    first = table.iloc[0]
    best = min(fc.BASELINES, key=lambda name: first[f"{name}_mape"])
    assert (stored[0].mape, stored[0].baseline_name, stored[0].baseline_mape) == \
        (pytest.approx(first["model_mape"]), best, pytest.approx(first[f"{best}_mape"]))
    assert 0 <= stored[0].interval_coverage <= 1
