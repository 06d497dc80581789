"""Hydro-Québec open data: the recorded files of ../shared/fixtures/HYDROQUEBEC/ parsed exactly
(against the JSON read here on its own), Montréal local time with daylight saving on hand-written
clock-change days (tests/fixtures/hydroquebec/, see its README), and the fetch."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from crawler.http import FetchError, HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import hydroquebec as hq
from tests.conftest import HAND_WRITTEN

SAMPLES = HAND_WRITTEN / "hydroquebec"
FUELS = {"hydraulique": "hydro", "eolien": "wind", "solaire": "solar", "thermique": "gas", "autres": "biomass"}
MONTREAL = ZoneInfo("America/Montreal")


def parse_path(path: Path) -> ParseResult:
    return hq.parse(Payload(body=path.read_bytes(), name=str(path)))


def test_production_is_the_json_s_values_an_hour_before_their_mid_hour_stamp(shared_fixtures):
    path = shared_fixtures / "HYDROQUEBEC" / "production.json"
    result = parse_path(path)
    expected = {}
    for entry in json.loads(path.read_text())["details"]:
        values = {k: v for k, v in entry["valeurs"].items() if k != "total"}
        if not values:
            continue  # a future hour: only a zero total
        # August: EDT, UTC-4. 00:30 local is 04:30Z, the middle of the hour 04:00Z-05:00Z.
        stamp = datetime.fromisoformat(entry["date"]).replace(tzinfo=MONTREAL).astimezone(timezone.utc)
        for label, mw in values.items():
            expected[(stamp - timedelta(minutes=30), FUELS[label])] = mw
    got = {(r.timestamp.to_pydatetime(), r.fuel): r.mw for r in result.readings.itertuples()}
    assert got == expected
    assert result.readings["timestamp"].min() == pd.Timestamp("2023-08-15T04:00Z")
    assert result.readings["timestamp"].nunique() == 32 and set(result.readings["region"]) == {"CA-QC"}
    assert result.load.empty


def test_demand_is_load_in_hourly_means_of_whole_hours(shared_fixtures):
    path = shared_fixtures / "HYDROQUEBEC" / "consumption.json"
    result = parse_path(path)
    assert result.readings.empty
    quarters = {}
    for entry in json.loads(path.read_text())["details"]:
        if "demandeTotal" in entry["valeurs"]:
            quarters[datetime.fromisoformat(entry["date"]).replace(tzinfo=MONTREAL).astimezone(timezone.utc)] = \
                entry["valeurs"]["demandeTotal"]
    hours = {}
    for start, mw in quarters.items():
        hours.setdefault(start.replace(minute=0), []).append(mw)
    expected = {h: sum(v) / 4 for h, v in hours.items() if len(v) == 4}
    assert {r.timestamp.to_pydatetime(): r.mw for r in result.load.itertuples()} == pytest.approx(expected)
    assert len(expected) == 30  # 123 quarter-hours: 30 whole hours and three quarters of the 31st


def test_the_repeated_autumn_hour_is_two_hours():
    result = parse_path(SAMPLES / "handwritten_production_2023-11-05_fall_back.json")
    hydro = result.readings[result.readings["fuel"] == "hydro"].set_index("timestamp")["mw"]
    assert list(hydro.index) == list(pd.date_range("2023-11-05T04:00Z", periods=5, freq="h"))
    assert list(hydro) == [20000.0, 20100.0, 20200.0, 20300.0, 20400.0]  # in file order: EDT first


def test_the_skipped_spring_hour_is_dropped_and_no_hour_is_missing():
    result = parse_path(SAMPLES / "handwritten_production_2024-03-10_spring_forward.json")
    hours = sorted(result.readings["timestamp"].unique())
    assert hours == list(pd.date_range("2024-03-10T05:00Z", periods=3, freq="h"))
    assert {a.kind for a in result.anomalies} == {"nonexistent_time"}


def test_demand_on_the_autumn_night_makes_two_whole_hours_of_the_repeated_one():
    result = parse_path(SAMPLES / "handwritten_demande_2023-11-05_fall_back.json")
    load = result.load.set_index("timestamp")["mw"]
    # 01:00-01:45 EDT is 05:00Z, 01:00-01:45 EST is 06:00Z, 02:00-02:45 EST is 07:00Z; 00:45 alone is partial.
    assert list(load.index) == list(pd.date_range("2023-11-05T05:00Z", periods=3, freq="h"))
    assert list(load) == [18025.0, 18065.0, 18105.0]


def test_an_hour_whose_sources_do_not_add_up_to_its_total_is_left_out():
    doc = {"details": [
        {"date": "2023-08-15T00:30:00", "valeurs": {"total": 100.0, "hydraulique": 90.0, "eolien": 10.0}},
        {"date": "2023-08-15T01:30:00", "valeurs": {"total": 100.0, "hydraulique": 90.0}},
    ]}
    result = hq.parse(Payload(body=json.dumps(doc).encode(), name="production.json"))
    assert result.readings["timestamp"].tolist() == [pd.Timestamp("2023-08-15T04:00Z")] * 2
    assert {a.kind for a in result.anomalies} == {"incomplete_interval"}


@pytest.mark.parametrize("body, message", [(b"[]", "no 'details'"), (b'{"details": [{"valeurs": {}}]}', "date"),
                                           (b'{"details": [{"date": "nope", "valeurs": {"total": 1, "eolien": 1}}]}',
                                            "unreadable date")])
def test_bad_bodies_are_refused(body, message):
    with pytest.raises(ParseError, match=message):
        hq.parse(Payload(body=body, name="x.json"))


def test_fetch_reads_both_files_keyless(fake_iso, monkeypatch, shared_fixtures):
    monkeypatch.setenv("HYDROQUEBEC_BASE_URL", f"{fake_iso.url}/json")
    fake_iso.serve("/json/production.json", (shared_fixtures / "HYDROQUEBEC" / "production.json").read_bytes())
    client = HttpClient()
    payloads = hq.fetch_latest(client, datetime.now(timezone.utc), None)
    assert [p.name.rsplit("/", 1)[-1] for p in payloads] == ["production.json"]
    assert len(client.errors) == 1 and "demande.json" in client.errors[0]  # the run is partial, not failed
    fake_iso.serve("/json/demande.json", (shared_fixtures / "HYDROQUEBEC" / "consumption.json").read_bytes())
    assert len(hq.fetch_latest(HttpClient(), datetime.now(timezone.utc), None)) == 2
    assert hq.backfill_chunks(date(2024, 1, 1), date(2024, 2, 1)) == []
    with pytest.raises(FetchError, match="no history"):
        hq.fetch_range(HttpClient(), date(2024, 1, 1), date(2024, 1, 2))
