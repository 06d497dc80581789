"""Great Britain (Elexon FUELHH): hand-written bodies from Elexon's API documentation
(tests/fixtures/gb/, see its README: no recording exists), and the fetch against a loopback server."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from crawler.http import HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import gb
from tests.conftest import HAND_WRITTEN

SAMPLES = HAND_WRITTEN / "gb"
SPRING = SAMPLES / "handwritten_FUELHH_2024-03-31_spring_clock_change.json"
AUTUMN = SAMPLES / "handwritten_FUELHH_stream_2024-10-27_autumn_clock_change.json"
FUELS = {"CCGT": "gas", "OCGT": "gas", "NUCLEAR": "nuclear", "WIND": "wind", "BIOMASS": "biomass", "NPSHYD": "hydro",
         "PS": "hydro_storage", "OTHER": "other"}


def parse_path(path: Path) -> ParseResult:
    return gb.parse(Payload(body=path.read_bytes(), name=str(path)))


def test_every_period_is_the_body_s_generation_by_fuel_with_interconnectors_as_net_imports():
    result = parse_path(SPRING)
    rows = json.loads(SPRING.read_text())["data"]
    newest: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (row["startTime"], row["fuelType"])
        if key not in newest or row["publishTime"] > newest[key]["publishTime"]:
            newest[key] = row
    mix: dict[tuple[pd.Timestamp, str], float] = {}
    net: dict[pd.Timestamp, float] = {}
    for (start, fuel), row in newest.items():
        stamp = pd.Timestamp(start)
        if fuel.startswith("INT"):
            net[stamp] = net.get(stamp, 0) + row["generation"]
        else:
            mix[(stamp, FUELS[fuel])] = mix.get((stamp, FUELS[fuel]), 0) + row["generation"]
    assert {(r.timestamp, r.fuel): r.mw for r in result.readings.itertuples()} == mix
    assert {r.timestamp: r.mw for r in result.net_imports.itertuples()} == net
    gas = result.readings[result.readings["fuel"] == "gas"].set_index("timestamp")["mw"]
    assert gas[pd.Timestamp("2024-03-31T00:30Z")] == 6150 + 10  # the revised CCGT, plus OCGT
    storage = result.readings[result.readings["fuel"] == "hydro_storage"].set_index("timestamp")["mw"]
    assert storage[pd.Timestamp("2024-03-31T00:00Z")] == -500  # pumping, stored as reported


@pytest.mark.parametrize("path, first, periods", [(SPRING, "2024-03-31T00:00Z", 4),
                                                  (AUTUMN, "2024-10-26T23:00Z", 6)])
def test_clock_change_days_give_every_utc_half_hour_once(path, first, periods):
    result = parse_path(path)
    starts = sorted(result.readings["timestamp"].unique())
    assert starts == list(pd.date_range(first, periods=periods, freq="30min"))


@pytest.mark.parametrize("body, message", [(b'{"error": "x"}', "no 'data' list"),
                                           (b'{"data": [{"startTime": "2024-01-01T00:00Z"}]}', "fuelType"),
                                           (b'{"data": [{"dataset": "FUELINST", "startTime": "2024-01-01T00:00Z", '
                                            b'"fuelType": "CCGT", "generation": 1}]}', "FUELINST")])
def test_bad_bodies_are_refused(body, message):
    with pytest.raises(ParseError, match=message):
        gb.parse(Payload(body=body, name="x.json"))


def test_fetch_asks_yesterday_and_today_as_settlement_days_keyless(fake_iso, monkeypatch):
    monkeypatch.setenv("GB_BASE_URL", fake_iso.url)
    fake_iso.serve("/datasets/FUELHH", SPRING.read_bytes())
    now = datetime(2024, 6, 30, 23, 30, tzinfo=timezone.utc)  # already 1 July in London (BST)
    payloads = gb.fetch_latest(HttpClient(), now, None)
    assert len(payloads) == 2
    assert [r.query["settlementDateFrom"] for r in fake_iso.requests] == [["2024-06-30"], ["2024-07-01"]]
    assert all(r.query["format"] == ["json"] and "Authorization" not in r.headers for r in fake_iso.requests)
    assert gb.backfill_chunks(date(2024, 1, 1), date(2024, 1, 3)) == [(date(2024, 1, 1), date(2024, 1, 2)),
                                                                      (date(2024, 1, 2), date(2024, 1, 3))]
