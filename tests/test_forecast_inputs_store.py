"""Forecast inputs in PostgreSQL (database/forecast_inputs.py): every row keeps its issue time,
and the reads for a forecast issued at T can never return an input issued at or after T."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from database.forecast_inputs import (input_series, read_operator_forecasts, read_weather_features,
                                      sync_weather_points, thin_issues, write_operator_forecasts,
                                      write_weather_forecasts)
from database.reported import source_id
from energy_data.weather_points import WeatherPoint

T = datetime(2025, 3, 10, 0, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
POINTS = [WeatherPoint("ERCO", "T_WIND_A", 32.0, -100.0, "wind", 3.0, "test"),
          WeatherPoint("ERCO", "T_WIND_B", 33.0, -101.0, "wind", 1.0, "test"),
          WeatherPoint("ERCO", "T_SOLAR", 31.0, -102.0, "solar", 1.0, "test"),
          WeatherPoint("ERCO", "T_LOAD", 29.8, -95.4, "load", 1.0, "test"),
          WeatherPoint("CISO", "T_OTHER_REGION", 35.0, -118.0, "wind", 1.0, "test")]


@pytest.fixture
def cur(db):
    """One transaction, as the crawler's write path has (its batch tables live until commit)."""
    db.autocommit = False
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO source (name, frequency, interval_minutes) VALUES "
                       "('TEST_WEATHER', '1 hour', 60), ('TEST_ISO', '1 hour', 60), ('EIA_FORECAST', '1 hour', 60) "
                       "ON CONFLICT (name) DO NOTHING")
        sync_weather_points(cursor, POINTS)
        yield cursor
    db.rollback()


def weather(point: str, issued_at: datetime, hours: list[int], **values) -> pd.DataFrame:
    frame = pd.DataFrame({"point": point, "issued_at": pd.Timestamp(issued_at),
                          "timestamp": [pd.Timestamp(T + h * H) for h in hours]})
    for name, value in values.items():
        frame[name] = value
    return frame


def operator(region: str, kind: str, issued_at: datetime, hours: list[int], mw) -> pd.DataFrame:
    return pd.DataFrame({"region": region, "issued_at": pd.Timestamp(issued_at),
                         "timestamp": [pd.Timestamp(T + h * H) for h in hours], "kind": kind, "mw": mw})


def test_an_input_issued_at_or_after_t_never_reaches_a_read_for_t(cur):
    """The guarantee the model relies on: issues before T are read, the newest of them wins;
    an issue at T or after it is invisible, however new it is."""
    weather_source, iso = source_id(cur, "TEST_WEATHER"), source_id(cur, "TEST_ISO")
    write_weather_forecasts(cur, weather_source, pd.concat([
        weather("T_LOAD", T - 30 * H, [0, 1, 2], temperature_2m=[10.0, 11.0, 12.0]),
        weather("T_LOAD", T - 2 * H, [0, 1, 2], temperature_2m=[20.0, 21.0, 22.0]),   # newest before T
        weather("T_LOAD", T, [0, 1, 2], temperature_2m=[90.0, 91.0, 92.0]),            # at T: too late
        weather("T_LOAD", T + 5 * H, [0, 1, 2], temperature_2m=[99.0, 99.0, 99.0]),    # after T
    ]))
    write_operator_forecasts(cur, iso, pd.concat([
        operator("ERCO", "load", T - 25 * H, [0, 1, 2], [40_000.0, 41_000.0, 42_000.0]),
        operator("ERCO", "load", T - 1 * H, [0, 1], [43_000.0, 44_000.0]),            # hour 2 not re-issued
        operator("ERCO", "load", T, [0, 1, 2], [1.0, 1.0, 1.0]),
        operator("ERCO", "wind", T + timedelta(minutes=1), [0, 1, 2], [5.0, 5.0, 5.0]),  # only after T
    ]))

    features = read_weather_features(cur, "ERCO", T, T, T + 3 * H)
    assert features["temperature_2m"].tolist() == [20.0, 21.0, 22.0]
    assert features.attrs["issued_at"] == T - 2 * H and features.attrs["issued_at"] < T
    forecasts = read_operator_forecasts(cur, "ERCO", T, T, T + 3 * H)
    assert forecasts["load_forecast_mw"].tolist() == [43_000.0, 44_000.0, 42_000.0]
    assert "wind_forecast_mw" not in forecasts  # issued after T: as if it did not exist
    assert forecasts.attrs["sources"] == {"load": "TEST_ISO"} and forecasts.attrs["issued_at"]["load"] < T

    # The same reads a moment after T see the issue of T, and later ones see the latest.
    later = read_weather_features(cur, "ERCO", T + timedelta(seconds=1), T, T + 3 * H)
    assert later["temperature_2m"].tolist() == [90.0, 91.0, 92.0]
    latest = read_operator_forecasts(cur, "ERCO", T + 6 * H, T, T + 3 * H)
    assert latest["wind_forecast_mw"].tolist() == [5.0, 5.0, 5.0]
    # Before any issue: nothing at all, and the frame still spans the hours asked for.
    early = read_weather_features(cur, "ERCO", T - 40 * H, T, T + 3 * H)
    assert list(early.columns) == [] and len(early) == 3 and early.attrs["issued_at"] is None


def test_region_weather_is_the_weighted_mean_over_the_points_of_each_role(cur):
    source = source_id(cur, "TEST_WEATHER")
    write_weather_forecasts(cur, source, pd.concat([
        weather("T_WIND_A", T - H, [0, 1], wind_speed_100m=[8.0, 8.0], temperature_2m=[50.0, 50.0],
                precipitation=[1.0, 1.0]),
        weather("T_WIND_B", T - H, [0, 1], wind_speed_100m=[4.0, None], precipitation=[0.0, 0.0]),
        weather("T_SOLAR", T - H, [0, 1], shortwave_radiation=[300.0, 500.0], precipitation=[0.0, 0.0]),
        weather("T_LOAD", T - H, [0, 1], temperature_2m=[15.0, 16.0], precipitation=[1.0, 1.0]),
        weather("T_OTHER_REGION", T - H, [0, 1], wind_speed_100m=[100.0, 100.0]),
    ]))
    features = read_weather_features(cur, "erco", T, T, T + 2 * H)
    # wind over the wind points, weights 3:1 (hour 1: B has no value, so A alone)
    assert features["wind_speed_100m"].tolist() == pytest.approx([(3 * 8 + 1 * 4) / 4, 8.0])
    # temperature over the load point only, not the wind point's 50
    assert features["temperature_2m"].tolist() == [15.0, 16.0]
    assert features["shortwave_radiation"].tolist() == [300.0, 500.0]
    # precipitation over every point: (3*1 + 1*0 + 1*0 + 1*1) / 6
    assert features["precipitation"].tolist() == pytest.approx([4 / 6, 4 / 6])
    assert "cloud_cover" not in features
    assert features.index.tz is not None and features.index[0] == pd.Timestamp(T)


def test_an_issue_repeating_the_previous_one_is_not_stored_and_reads_are_unchanged(cur):
    iso = source_id(cur, "TEST_ISO")
    first = write_operator_forecasts(cur, iso, operator("ERCO", "load", T - 3 * H, [0, 1], [100.0, 200.0]))
    again = write_operator_forecasts(cur, iso, operator("ERCO", "load", T - 2 * H, [0, 1], [100.0, 250.0]))
    same = write_operator_forecasts(cur, iso, operator("ERCO", "load", T - 2 * H, [0, 1], [100.0, 250.0]))
    assert (first.inserted, again.inserted, again.unchanged) == (2, 1, 1)
    assert (same.inserted, same.updated, same.unchanged) == (0, 0, 2)
    cur.execute("SELECT ts, issued_at, mw FROM operator_forecast ORDER BY ts, issued_at")
    assert [(r[0], r[1], r[2]) for r in cur.fetchall()] == [(T, T - 3 * H, 100.0), (T + H, T - 3 * H, 200.0),
                                                            (T + H, T - 2 * H, 250.0)]
    assert read_operator_forecasts(cur, "ERCO", T, T, T + 2 * H)["load_forecast_mw"].tolist() == [100.0, 250.0]
    [series] = input_series(cur, "ERCO")
    assert (series.source, series.kind, series.rows, series.newest_issued_at) == ("TEST_ISO", "load", 3, T - 2 * H)


def test_the_operator_s_own_forecast_is_preferred_to_eia_s(cur):
    iso, eia = source_id(cur, "TEST_ISO"), source_id(cur, "EIA_FORECAST")
    write_operator_forecasts(cur, eia, operator("ERCO", "load", T - 2 * H, [0, 1, 2], [1.0, 2.0, 3.0]))
    write_operator_forecasts(cur, iso, operator("ERCO", "load", T - H, [0, 1], [7.0, 8.0]))
    both = read_operator_forecasts(cur, "ERCO", T, T, T + 3 * H)
    assert both["load_forecast_mw"].tolist()[:2] == [7.0, 8.0] and both.attrs["sources"]["load"] == "TEST_ISO"
    assert pd.isna(both["load_forecast_mw"].iloc[2])  # one source per kind: no silent splicing
    only_eia = read_operator_forecasts(cur, "ERCO", T - 90 * timedelta(minutes=1), T, T + 3 * H)
    assert only_eia["load_forecast_mw"].tolist() == [1.0, 2.0, 3.0] and only_eia.attrs["sources"]["load"] == "EIA_FORECAST"


def test_quarter_hour_operator_forecasts_are_averaged_into_their_hour(cur):
    iso = source_id(cur, "TEST_ISO")
    quarters = pd.DataFrame({"region": "ERCO", "issued_at": pd.Timestamp(T - H), "kind": "wind",
                             "timestamp": [pd.Timestamp(T + i * timedelta(minutes=15)) for i in range(4)],
                             "mw": [10.0, 20.0, 30.0, 40.0]})
    write_operator_forecasts(cur, iso, quarters)
    assert read_operator_forecasts(cur, "ERCO", T, T, T + H)["wind_forecast_mw"].tolist() == [25.0]


def test_thinning_keeps_every_recent_issue_and_the_newest_of_each_6_hour_bin_before(cur):
    """Hourly issues over two days; thinned with 'now' a week later every 6-hour bin keeps one
    issue, and a read for a bin boundary answers as before."""
    iso = source_id(cur, "TEST_ISO")
    start = T - 48 * H
    for i in range(48):
        write_operator_forecasts(cur, iso, operator("ERCO", "load", start + i * H, [0, 1, 2], [float(i)] * 3))
    before = read_operator_forecasts(cur, "ERCO", T - 6 * H, T, T + 3 * H)
    recent = thin_issues(cur, now=T + timedelta(days=1), keep_every=timedelta(days=3))
    assert recent == {"weather_forecast": 0, "operator_forecast": 0}  # all younger than 3 days
    deleted = thin_issues(cur, now=T + timedelta(days=7), keep_every=timedelta(days=3))
    assert deleted["operator_forecast"] == 48 * 3 - 8 * 3  # 8 bins of 6 hours, one issue each
    cur.execute("SELECT DISTINCT issued_at FROM operator_forecast ORDER BY 1")
    assert [r[0] for r in cur.fetchall()] == [start + (6 * b + 5) * H for b in range(8)]
    after = read_operator_forecasts(cur, "ERCO", T - 6 * H, T, T + 3 * H)
    assert after["load_forecast_mw"].tolist() == before["load_forecast_mw"].tolist() == [41.0] * 3
    [series] = input_series(cur, "ERCO")
    assert series.rows == 8 * 3
    assert thin_issues(cur, now=T + timedelta(days=7), keep_every=timedelta(days=3))["operator_forecast"] == 0


def test_bad_rows_are_refused_with_a_reason(cur):
    iso = source_id(cur, "TEST_ISO")
    with pytest.raises(ValueError, match="kinds outside"):
        write_operator_forecasts(cur, iso, operator("ERCO", "hydro", T, [0], [1.0]))
    naive = operator("ERCO", "load", T, [0], [1.0]).assign(issued_at=pd.Timestamp("2025-03-09 12:00"))
    with pytest.raises(ValueError, match="naive issued_at"):
        write_operator_forecasts(cur, iso, naive)
    with pytest.raises(ValueError, match="unknown points"):
        write_weather_forecasts(cur, iso, weather("NOWHERE", T, [0], temperature_2m=[1.0]))
    with pytest.raises(ValueError, match="timezone-aware"):
        read_weather_features(cur, "ERCO", T.replace(tzinfo=None), T, T + H)


def test_the_storage_and_the_crawler_name_the_same_variables_and_kinds():
    from crawler import model
    from database import forecast_inputs

    assert forecast_inputs.WEATHER_VARIABLES == model.WEATHER_VARIABLES
    assert forecast_inputs.OPERATOR_KINDS == model.OPERATOR_FORECAST_KINDS


def test_a_read_with_a_lead_gives_each_hour_what_was_known_that_long_before_it(cur):
    """Training histories: with lead L, hour T + h sees only issues before T + h - L, however
    late the read; without a lead the newest issue before the read wins for every hour."""
    weather_source = source_id(cur, "TEST_WEATHER")
    write_weather_forecasts(cur, weather_source, pd.concat([
        weather("T_LOAD", T - 30 * H, [0, 1, 2], temperature_2m=[10.0, 11.0, 12.0]),
        weather("T_LOAD", T - 23 * H, [0, 1, 2], temperature_2m=[20.0, 21.0, 22.0]),
        weather("T_LOAD", T - 1 * H, [0, 1, 2], temperature_2m=[30.0, 31.0, 32.0]),
    ]))
    read_at = T + 48 * H
    assert read_weather_features(cur, "ERCO", read_at, T, T + 3 * H)["temperature_2m"].tolist() == [30.0, 31.0, 32.0]
    # Over 24 h ahead: hours 0 and 1 take the issue of T - 30 h (T - 23 h is only 23 and 24 h
    # ahead of them: strictly before T + h - 24 h is required); hour 2 the issue of T - 23 h.
    ahead = read_weather_features(cur, "ERCO", read_at, T, T + 3 * H, lead=24 * H)
    assert ahead["temperature_2m"].tolist() == [10.0, 11.0, 22.0]
    with pytest.raises(ValueError, match="lead"):
        read_weather_features(cur, "ERCO", read_at, T, T + 3 * H, lead=-H)
